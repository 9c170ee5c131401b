/* SPDX-License-Identifier: MIT */
/*
 * The legacy twin (percpu-legacy.c) under the same stress as test-stress:
 * tcmalloc's cpu_id_start protocol, to show on which kernels it corrupts the
 * cache. A plain program -- no CUnit -- so that a kernel matrix can boot it
 * statically linked in a minimal VM.
 *
 * Run with GLIBC_TUNABLES=glibc.pthread.rseq=0 (each thread registers its own
 * area, as tcmalloc does). Where the registration fails -- glibc's area is
 * there (EBUSY/EINVAL), vrseq-run's seccomp filter (ENOSYS), no rseq at all
 * -- it does what tcmalloc does: the same stress without per-CPU caching,
 * every object through the mutex-protected global list, with the same
 * invariants checked, and it says "per-CPU caching off: rseq registration
 * failed (ERRNO)". Exit: 0 clean, 1 corruption detected, 77 rseq works but
 * membarrier-rseq does not (4.18 to 5.9: the fast path has no fence), 99
 * set-up error or a run that exercised nothing. Environment:
 * VRSEQ_TEST_SECONDS (default 5), VRSEQ_TEST_LONG (seconds, or 20x),
 * VRSEQ_TEST_QUICK (a quarter).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

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

/*
 * Can a thread register a 32-byte area of its own at all (what the legacy
 * backend does first)? 0 or -errno; the area is unregistered again.
 */
static __thread struct vrseq_rseq_area try_area;

static void *try_main(void *arg)
{
	try_area.cpu_id = (uint32_t)VRSEQ_RSEQ_CPU_ID_UNINITIALIZED;
	if (syscall(__NR_rseq, &try_area, VRSEQ_RSEQ_ORIG_SIZE, 0,
		    VRSEQ_RSEQ_SIG) < 0) {
		*(int *)arg = -errno;
		return NULL;
	}
	*(int *)arg = 0;
	syscall(__NR_rseq, &try_area, VRSEQ_RSEQ_ORIG_SIZE, 1, VRSEQ_RSEQ_SIG);
	return NULL;
}

static int in_thread(void *(*fn)(void *))
{
	pthread_t tid;
	int ret = -EINVAL;

	if (pthread_create(&tid, NULL, fn, &ret))
		return -EAGAIN;
	pthread_join(tid, NULL);
	return ret;
}

/*
 * tcmalloc without rseq: no per-CPU caching. Every operation finds "no
 * cached slab" and takes the global list under its mutex; a fence has no
 * cached slab pointer to invalidate, so it is complete at once. The
 * resizer, the signals and the audit run as in the fast-path run.
 */
static int slow_thread_init(struct pc_thread *t)
{
	(void)t;
	return 1;	/* fallback: no per-CPU caching */
}

static int slow_refresh(struct pc_thread *t)
{
	(void)t;
	return PC_INVALID;
}

static int slow_pop(struct pc_thread *t, struct pc_obj **out)
{
	(void)t;
	*out = NULL;
	return PC_INVALID;
}

static int slow_push(struct pc_thread *t, struct pc_obj *obj)
{
	(void)t;
	(void)obj;
	return PC_INVALID;
}

static int slow_load_hdr(struct pc_thread *t, struct pc_slab **slab,
			 uint64_t *hdr)
{
	(void)t;
	(void)slab;
	(void)hdr;
	return PC_INVALID;
}

static int slow_cas_hdr(struct pc_thread *t, struct pc_slab *slab,
			uint64_t expected, uint64_t desired)
{
	(void)t;
	(void)slab;
	(void)expected;
	(void)desired;
	return PC_INVALID;
}

static struct pc_slab *slow_cached(struct pc_thread *t)
{
	(void)t;
	return NULL;
}

static int slow_fence_cpu(int cpu)
{
	(void)cpu;
	return 0;
}

static int slow_fence_all(void)
{
	return 0;
}

static const struct pc_backend slow_backend = {
	.name = "legacy-slow",
	.has_fast_path = false,
	.thread_init = slow_thread_init,
	.refresh = slow_refresh,
	.pop = slow_pop,
	.push = slow_push,
	.load_hdr = slow_load_hdr,
	.cas_hdr = slow_cas_hdr,
	.cached = slow_cached,
	.fence_cpu = slow_fence_cpu,
	.fence_all = slow_fence_all,
};

static const char *errno_name(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "unknown errno";
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
	bool slow = false;
	int ret, rseq_err = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (uname(&u) < 0)
		strcpy(u.release, "?");
	printf("test-legacy: tcmalloc-style cpu_id_start cache, kernel %s, "
	       "%.1f s, GLIBC_TUNABLES=%s\n", u.release, p.seconds,
	       tun ? tun : "(unset)");

	ret = in_thread(try_main);
	if (ret < 0) {
		/* tcmalloc's answer: run, without per-CPU caches. */
		rseq_err = -ret;
		slow = true;
		p.backend = &slow_backend;
		printf("test-legacy: per-CPU caching off: rseq registration "
		       "failed (%s)\n", errno_name(rseq_err));
	} else {
		ret = in_thread(probe_main);
		if (ret < 0) {
			printf("test-legacy: SKIP: rseq works but membarrier-rseq "
			       "does not (%s): the fast path has no fence\n",
			       errno_name(-ret));
			return EXIT_SKIP;
		}
	}

	ret = pc_stress_run(&p, &r);
	if (ret < 0 || r.error < 0) {
		printf("test-legacy: ERROR: set-up failed: %s\n",
		       strerror(-(ret < 0 ? ret : r.error)));
		return EXIT_HARD;
	}
	pc_stress_print(&r);
	pc_stress_metrics(slow ? "legacy-slow" : "legacy", &r, 0);

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
	if (r.bind_errors || (!slow && r.workers_fallback) || r.fence_errors) {
		printf("test-legacy: ERROR: %d workers could not register, "
		       "%llu fences failed\n", r.bind_errors + r.workers_fallback,
		       (unsigned long long)r.fence_errors);
		return EXIT_HARD;
	}
	if (slow) {
		if (st->global_pops == 0 || st->global_pushes == 0 ||
		    r.workers_fallback != r.workers || r.resizes == 0) {
			printf("test-legacy: ERROR: the run without caching "
			       "exercised nothing (global pops %llu, pushes %llu, "
			       "resizes %llu)\n",
			       (unsigned long long)st->global_pops,
			       (unsigned long long)st->global_pushes,
			       (unsigned long long)r.resizes);
			return EXIT_HARD;
		}
		printf("test-legacy: PASS: audit clean, nothing handed out "
		       "twice (per-CPU caching off: rseq registration failed "
		       "(%s))\n", errno_name(rseq_err));
		return 0;
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
