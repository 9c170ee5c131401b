/* SPDX-License-Identifier: MIT */
/*
 * The legacy twin (percpu-legacy.c) under the same stress as test-stress:
 * tcmalloc's cpu_id_start protocol, to show on which kernels it corrupts the
 * cache. A plain program -- no CUnit -- so that a kernel matrix can boot it
 * statically linked in a minimal VM.
 *
 * Run with GLIBC_TUNABLES=glibc.pthread.rseq=0 (each thread registers its own
 * area, as tcmalloc does). Exit: 0 clean, 1 corruption detected, 77 the rseq
 * or membarrier registration could not be made, 99 set-up error or a run
 * that exercised nothing. Environment: VRSEQ_TEST_SECONDS (default 5),
 * VRSEQ_TEST_LONG (seconds, or 20x), VRSEQ_TEST_QUICK (a quarter).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "percpu-cache.h"
#include "seconds.h"

#define EXIT_CORRUPT	1
#define EXIT_SKIP	77
#define EXIT_HARD	99

/* Probe in a thread of its own, so that main stays free for libvrseq. */
static void *probe_main(void *arg)
{
	*(int *)arg = pc_legacy_probe();
	return NULL;
}

static int probe(void)
{
	pthread_t tid;
	int ret = -EINVAL;

	if (pthread_create(&tid, NULL, probe_main, &ret))
		return -EAGAIN;
	pthread_join(tid, NULL);
	return ret;
}

int main(void)
{
	struct pc_stress_params p = {
		.backend = &pc_backend_legacy,
		.seconds = test_seconds(5.0),
		.workers = 8,
		.nobjs = 4096,
		.resize_us = 1000,	/* a fence about every millisecond */
		.signal_us = 1000,	/* a signal every 1-2 ms */
	};
	struct pc_stress_result r;
	const struct pc_stats *st = &r.st;
	const struct pc_sig_stats *ss = &r.sst;
	const char *tun = getenv("GLIBC_TUNABLES");
	struct utsname u;
	uint64_t dups, bad;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("test-legacy: tcmalloc-style cpu_id_start cache, kernel %s, "
	       "%.1f s, GLIBC_TUNABLES=%s\n", u.release, p.seconds,
	       tun ? tun : "(unset)");

	ret = probe();
	if (ret < 0) {
		printf("test-legacy: SKIP: cannot register %s: %s\n",
		       ret == -EINVAL || ret == -EBUSY ?
		       "an rseq area (another one, probably glibc's, is "
		       "registered: run with GLIBC_TUNABLES=glibc.pthread.rseq=0)" :
		       "rseq / membarrier-rseq", strerror(-ret));
		return EXIT_SKIP;
	}

	ret = pc_stress_run(&p, &r);
	if (ret < 0 || r.error < 0) {
		printf("test-legacy: ERROR: set-up failed: %s\n",
		       strerror(-(ret < 0 ? ret : r.error)));
		return EXIT_HARD;
	}
	pc_stress_print(&r);
	pc_stress_metrics("legacy", &r, 0);

	dups = st->duplicates + ss->duplicates + r.audit.duplicates;
	bad = st->corruption + ss->corruption + st->stale_pops +
	      ss->stale_pops + st->bad_pointers + ss->bad_pointers;
	if (dups || bad || !pc_audit_clean(&r.audit)) {
		printf("test-legacy: FAIL: corruption: %llu duplicates, "
		       "%llu lost, %llu stale pops, %llu broken poison, "
		       "%llu released twice, %llu bad pointers/entries, "
		       "%llu bad headers\n",
		       (unsigned long long)dups,
		       (unsigned long long)r.audit.lost,
		       (unsigned long long)(st->stale_pops + ss->stale_pops),
		       (unsigned long long)r.audit.poison_broken,
		       (unsigned long long)(st->corruption + ss->corruption),
		       (unsigned long long)(st->bad_pointers +
					    ss->bad_pointers +
					    r.audit.bad_entries),
		       (unsigned long long)r.audit.bad_headers);
		return EXIT_CORRUPT;
	}
	if (r.bind_errors || r.workers_fallback || r.fence_errors) {
		printf("test-legacy: ERROR: %d workers could not register, "
		       "%llu fences failed\n", r.bind_errors + r.workers_fallback,
		       (unsigned long long)r.fence_errors);
		return EXIT_HARD;
	}
	if (!p.backend->has_fast_path || st->fast_pops == 0 ||
	    st->refresh_ok == 0 || r.fences == 0 || r.resizes == 0) {
		printf("test-legacy: ERROR: the run exercised nothing "
		       "(fast pops %llu, slab caches %llu, fences %llu)\n",
		       (unsigned long long)st->fast_pops,
		       (unsigned long long)st->refresh_ok,
		       (unsigned long long)r.fences);
		return EXIT_HARD;
	}
	printf("test-legacy: PASS: audit clean, nothing handed out twice\n");
	return 0;
}
