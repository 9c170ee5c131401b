/* SPDX-License-Identifier: MIT */
/*
 * Shared by the legacy samples: checks of the behaviour legacy code expects
 * from cpu_id_start (a value it stored survives on the same CPU; after a
 * migration the field holds the new CPU number), so that a rewritten sample
 * shows the rewrite kept it. Never run the samples unrewritten: they write
 * the kernel's field. Build with -D_GNU_SOURCE.
 */
#ifndef LEGACY_COMMON_H
#define LEGACY_COMMON_H

#include <sched.h>
#include <stdint.h>
#include <stdio.h>

static int legacy_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/*
 * Two CPUs we may run on, or -1. Both are written on every path: GCC 14
 * (-O2 -Wall) cannot see that n == 2 implies both were set in the loop and
 * rejects every caller with -Werror=maybe-uninitialized otherwise.
 */
static int legacy_two_cpus(int *a, int *b)
{
	cpu_set_t set;
	int n = 0;

	*a = *b = -1;
	if (sched_getaffinity(0, sizeof(set), &set))
		return -1;
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			*(n++ ? b : a) = c;
	return n == 2 ? 0 : -1;
}

#define LEGACY_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
		return 1;						\
	}								\
} while (0)

#endif
