/* SPDX-License-Identifier: MIT */
/* Timing helpers shared by the benchmarks. */
#ifndef VRSEQ_BENCH_H
#define VRSEQ_BENCH_H

#include <stdlib.h>
#include <time.h>

static inline double bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sort n samples in place; median in *med, extremes in *lo and *hi. */
static inline void bench_summary(double *v, int n, double *med, double *lo,
				 double *hi)
{
	qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
	*med = v[n / 2];
	*lo = v[0];
	*hi = v[n - 1];
}

#endif
