/* SPDX-License-Identifier: MIT */
/*
 * A tcmalloc-style per-CPU cache (percpu-cache.c) built on vrseq slots and
 * fences, under migrations, preemption, signals and a resizer that keeps
 * replacing slabs. The audit at the end finds every object exactly once.
 */
#define _GNU_SOURCE
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "percpu-cache.h"

static void bind_harness(void)
{
	/* Bind the harness's thread slot outside the signal handler. */
	(void)harness_abi_ok();
}

/* The correctness of one run: every object exactly once, nothing handed
 * out twice. */
static void check_run(const struct pc_stress_result *r, bool rseq, bool fast,
		      unsigned int nobjs)
{
	const struct pc_stats *st = &r->st;
	const struct pc_sig_stats *ss = &r->sst;

	CU_ASSERT_TRUE(pc_audit_clean(&r->audit));
	CU_ASSERT_EQUAL(r->audit.duplicates, 0);
	CU_ASSERT_EQUAL(r->audit.lost, 0);
	CU_ASSERT_EQUAL(r->audit.in_slabs + r->audit.in_global, nobjs);
	CU_ASSERT_EQUAL(r->audit.held_at_end, 0);
	CU_ASSERT_EQUAL(r->audit.poison_broken, 0);
	CU_ASSERT_EQUAL(r->audit.bad_headers, 0);
	CU_ASSERT_EQUAL(r->audit.bad_entries, 0);
	CU_ASSERT_EQUAL(st->duplicates + ss->duplicates, 0);
	CU_ASSERT_EQUAL(st->corruption + ss->corruption, 0);
	CU_ASSERT_EQUAL(st->stale_pops + ss->stale_pops, 0);
	CU_ASSERT_EQUAL(st->bad_pointers + ss->bad_pointers, 0);
	CU_ASSERT_EQUAL(r->fence_errors, 0);
	CU_ASSERT_EQUAL(r->bind_errors, 0);
	CU_ASSERT_EQUAL(r->workers_fallback, rseq ? 0 : r->workers);
	if (!fast) {
		/* Nothing may ever have gone through a slab. */
		CU_ASSERT_EQUAL(st->fast_pops, 0);
		CU_ASSERT_EQUAL(st->fast_pushes, 0);
		CU_ASSERT_EQUAL(st->grow_ok, 0);
		CU_ASSERT_EQUAL(ss->pops + ss->pushes, 0);
		CU_ASSERT_EQUAL(r->audit.in_slabs, 0);
		CU_ASSERT_EQUAL(r->drained, 0);
	}
	if (!rseq) {
		/* Fallback slots: every commit reports VRSEQ_UNCACHED. */
		CU_ASSERT_EQUAL(st->refresh_ok, 0);
	}
}

/*
 * It ran: a pass that exercised nothing would prove nothing. With `report`
 * false, only says whether every path has been taken yet (naming those
 * that have not); with it true, asserts each one.
 */
static bool check_ran(const struct pc_stress_result *r, bool rseq, bool fast,
		      bool report)
{
	const struct pc_stats *st = &r->st;
	const struct pc_sig_stats *ss = &r->sst;
	bool all = true;

#define RAN(cond) do {							\
	if (report) {							\
		CU_ASSERT(cond);					\
	} else if (!(cond)) {						\
		printf("  not yet: %s\n", #cond);			\
	}								\
	all = all && (cond);						\
} while (0)
	RAN(st->loops > 0);
	RAN(r->fences > 0);
	RAN(r->resizes > 0);
	RAN(r->resize_alls > 0);
	RAN(ss->handled > 0);
	RAN(st->global_pops > 0);
	RAN(st->global_pushes > 0);
	if (r->ncpus > 1)
		RAN(st->migrations > 0);
	if (fast) {
		RAN(st->fast_pops > 0);
		RAN(st->fast_pushes > 0);
		RAN(st->refresh_ok > 0);
		RAN(st->grow_ok > 0);
		RAN(st->grow_changed > 0);	/* the CAS said no */
		RAN(st->pop_empty > 0);
		RAN(st->push_full > 0);
		RAN(st->fast_invalid > 0);	/* fences and hops bit */
		RAN(r->drained > 0);
		RAN(ss->pops > 0);
	}
	if (!rseq)
		RAN(st->refresh_invalid > 0);
#undef RAN
	return all;
}

_Static_assert(sizeof(struct pc_stats) % sizeof(uint64_t) == 0, "u64 only");
_Static_assert(sizeof(struct pc_sig_stats) % sizeof(uint64_t) == 0, "u64 only");
_Static_assert(sizeof(struct pc_audit) % sizeof(uint64_t) == 0, "u64 only");

static void add_u64s(void *sum, const void *x, size_t size)
{
	uint64_t *dst = (uint64_t *)sum;
	const uint64_t *src = (const uint64_t *)x;

	for (size_t i = 0; i < size / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

/* The counters of several runs, added up (counts, not ratios). */
static void add_result(struct pc_stress_result *sum,
		       const struct pc_stress_result *r)
{
	add_u64s(&sum->st, &r->st, sizeof(r->st));
	add_u64s(&sum->sst, &r->sst, sizeof(r->sst));
	add_u64s(&sum->audit, &r->audit, sizeof(r->audit));
	sum->resizes += r->resizes;
	sum->resize_alls += r->resize_alls;
	sum->fences += r->fences;
	sum->fence_errors += r->fence_errors;
	sum->drained += r->drained;
	sum->signals_sent += r->signals_sent;
	sum->recycled += r->recycled;
	sum->workers += r->workers;
	sum->workers_fallback += r->workers_fallback;
	sum->bind_errors += r->bind_errors;
	sum->ncpus = r->ncpus;
	sum->seconds += r->seconds;
}

/*
 * The stress run lasts harness_seconds(10). On a slow or overloaded
 * machine (qemu TCG, a loaded kernel-matrix host) that may not be enough
 * for every path to be taken: the resizer sleeps resize_us between rounds
 * and fences all CPUs only every 16th round (a starved one has been seen to
 * manage 12), and a worker that waits longer for a CPU than the resizer
 * takes to fence it always finds its slot invalid, so its signal handler
 * never pops (seen with four busy loops on the one CPU of the test). So
 * further runs follow until every path has been taken or all runs together
 * have lasted ten times the planned time (at least 30 s): each as long as
 * all before it (the resizer's round count restarts with each run) and,
 * while the handlers have not popped yet but the resize-all rounds are in,
 * with a resizer four times slower than the last (up to 1 s). Each run is
 * audited on its own; whether it ran is judged on the sum, and fails when
 * the cap comes first.
 */
static void test_stress(void)
{
	struct pc_stress_params p = {
		.backend = &pc_backend_vrseq,
		.seconds = harness_seconds(10.0),
		.workers = 8,
		.nobjs = 4096,
		.resize_us = 1000,
		.signal_us = 1000,
		.signal_hook = harness_abi_ok,
		.thread_hook = bind_harness,
	};
	const double cap = p.seconds * 10 > 30 ? p.seconds * 10 : 30;
	struct pc_stress_result r, sum;
	bool rseq = harness_rseq();
	bool fast = p.backend->has_fast_path && rseq;
	int runs = 0;

	memset(&sum, 0, sizeof(sum));
	for (;;) {
		CU_ASSERT_EQUAL_FATAL(pc_stress_run(&p, &r), 0);
		runs++;
		pc_stress_print(&r);
		check_run(&r, rseq, fast, p.nobjs);
		add_result(&sum, &r);
		if (check_ran(&sum, rseq, fast, false) || sum.seconds >= cap)
			break;
		p.seconds = sum.seconds < cap - sum.seconds ?
			    sum.seconds : cap - sum.seconds;
		/* Fewer fences, once the resize-all rounds are in. */
		if (sum.resize_alls > 0 && sum.sst.pops == 0 &&
		    p.resize_us < 1000000)
			p.resize_us *= 4;
		printf("  run %d: not every path taken in %.2f s; another "
		       "%.2f s, resizer period %u us (cap %.0f s)\n", runs,
		       sum.seconds, p.seconds, p.resize_us, cap);
	}
	if (runs > 1) {
		printf("\n  %d runs, together:", runs);
		pc_stress_print(&sum);
	}
	pc_stress_metrics("stress", &sum, harness_abi_violations);
	CU_ASSERT_EQUAL(harness_abi_violations, 0);
	check_ran(&sum, rseq, fast, true);
}

/*
 * Deterministic: thread A, pinned to CPU c, caches slab S0 and goes to sleep
 * (descheduled, as in the failure reported on Linux 6.19). B replaces the
 * slab without a fence: A, back on c, still pushes into S0 -- a slot is not
 * invalidated by preemption. B then fences c and retires S0: A's next push
 * must fail, and A re-caches the new slab. Then a full pc_resize_cpu() round.
 */
struct det {
	struct pc_cache c;
	int cpu;
	sem_t to_a, to_b;
	int pin, bind;
	int refresh1, push1;
	struct pc_slab *cached1;
	int push2;
	struct pc_slab *cached2;
	int push3, pop3, refresh3, push3b;
	struct pc_slab *cached3;
	struct pc_obj *popped3;
	int push4, refresh4, push4b;
	struct pc_slab *cached4;
};

static int det_push(struct pc_thread *t, struct pc_obj *o)
{
	int ret = t->cache->backend->push(t, o);

	if (ret != PC_OK)
		pc_global_push(t->cache, o);
	return ret;
}

static void det_handoff(struct det *d)
{
	sem_post(&d->to_b);
	while (sem_wait(&d->to_a) < 0)
		;
}

static void *det_thread_a(void *arg)
{
	struct det *d = (struct det *)arg;
	const struct pc_backend *b = d->c.backend;
	struct pc_thread t;
	struct pc_obj *o[4];

	d->pin = harness_pin(d->cpu);
	d->bind = pc_thread_attach(&d->c, &t, 42);
	for (int i = 0; i < 4; i++)
		o[i] = pc_global_pop(&d->c);

	d->refresh1 = b->refresh(&t);
	d->cached1 = b->cached(&t);
	d->push1 = det_push(&t, o[0]);
	det_handoff(d);		/* B: new slab, no fence */

	d->push2 = det_push(&t, o[1]);
	d->cached2 = b->cached(&t);
	det_handoff(d);		/* B: fence, retire S0 */

	d->push3 = b->push(&t, o[2]);
	d->pop3 = b->pop(&t, &d->popped3);
	d->refresh3 = b->refresh(&t);
	d->cached3 = b->cached(&t);
	d->push3b = det_push(&t, o[2]);
	det_handoff(d);		/* B: pc_resize_cpu() */

	d->push4 = b->push(&t, o[3]);
	d->refresh4 = b->refresh(&t);
	d->cached4 = b->cached(&t);
	d->push4b = det_push(&t, o[3]);
	pc_thread_detach(&t);
	sem_post(&d->to_b);
	return NULL;
}

static void det_wait_a(struct det *d)
{
	while (sem_wait(&d->to_b) < 0)
		;
}

static void test_fence_deterministic(void)
{
	struct det *d = (struct det *)calloc(1, sizeof(*d));
	struct pc_slab *s0, *s1, *s2, *old = NULL;
	struct pc_audit a;
	pthread_t ta;
	int cpus[64];

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT_FATAL(harness_cpus(cpus, 64) > 0);
	CU_ASSERT_EQUAL_FATAL(pc_cache_init(&d->c, &pc_backend_vrseq, 64), 0);
	d->cpu = cpus[0];
	sem_init(&d->to_a, 0, 0);
	sem_init(&d->to_b, 0, 0);
	s0 = pc_current_slab(&d->c, d->cpu);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&ta, NULL, det_thread_a, d), 0);

	det_wait_a(d);
	/* A cached S0 and pushed into it. Replace S0 without a fence. */
	CU_ASSERT_EQUAL(pc_resize_cpu(&d->c, d->cpu,
				      PC_RESIZE_NO_FENCE | PC_RESIZE_KEEP_OLD,
				      &old), 0);
	CU_ASSERT_PTR_EQUAL(old, s0);
	s1 = pc_current_slab(&d->c, d->cpu);
	CU_ASSERT_PTR_NOT_EQUAL(s1, s0);
	sem_post(&d->to_a);

	det_wait_a(d);
	/* Now the fence, then S0 is drained and poisoned. */
	CU_ASSERT_EQUAL(d->c.backend->fence_cpu(d->cpu), 0);
	pc_retire_slab(&d->c, s0);
	sem_post(&d->to_a);

	det_wait_a(d);
	CU_ASSERT_EQUAL(pc_resize_cpu(&d->c, d->cpu, 0, &old), 0);
	CU_ASSERT_PTR_EQUAL(old, s1);
	s2 = pc_current_slab(&d->c, d->cpu);
	sem_post(&d->to_a);

	det_wait_a(d);
	pthread_join(ta, NULL);

	CU_ASSERT_EQUAL(d->pin, 0);
	CU_ASSERT(d->bind >= 0);
	printf("\n  cpu %d, bind %d: refresh %d push %d | no fence: push %d "
	       "(cached S0: %d) | fence: push %d pop %d refresh %d push %d | "
	       "resize: push %d refresh %d push %d\n", d->cpu, d->bind,
	       d->refresh1, d->push1, d->push2, d->cached2 == s0, d->push3,
	       d->pop3, d->refresh3, d->push3b, d->push4, d->refresh4,
	       d->push4b);

	/* Whatever the mode: A never wrote into a retired slab. */
	CU_ASSERT_TRUE(pc_slab_poison_intact(s0));
	CU_ASSERT_TRUE(pc_slab_poison_intact(s1));
	CU_ASSERT_NOT_EQUAL(d->push3, PC_OK);
	CU_ASSERT_NOT_EQUAL(d->pop3, PC_OK);
	CU_ASSERT_NOT_EQUAL(d->push4, PC_OK);

	if (!d->c.backend->has_fast_path || d->bind != 0) {
		/* Fallback or no critical sections: nothing is ever cached. */
		CU_ASSERT_EQUAL(d->bind, harness_rseq() ? 0 : 1);
		CU_ASSERT_NOT_EQUAL(d->push1, PC_OK);
		CU_ASSERT_NOT_EQUAL(d->push2, PC_OK);
		if (d->bind != 0) {
			CU_ASSERT_PTR_NULL(d->cached1);
			CU_ASSERT_EQUAL(d->refresh1, PC_INVALID);
			CU_ASSERT_EQUAL(d->refresh3, PC_INVALID);
		}
	} else {
		CU_ASSERT_EQUAL(d->refresh1, PC_OK);
		CU_ASSERT_PTR_EQUAL(d->cached1, s0);
		CU_ASSERT_EQUAL(d->push1, PC_OK);
		/* The control: without a fence the stale slab is still used. */
		CU_ASSERT_EQUAL(d->push2, PC_OK);
		CU_ASSERT_PTR_EQUAL(d->cached2, s0);
		/* After the fence: invalid, re-cached, into S1. */
		CU_ASSERT_EQUAL(d->push3, PC_INVALID);
		CU_ASSERT_EQUAL(d->pop3, PC_INVALID);
		CU_ASSERT_EQUAL(d->refresh3, PC_OK);
		CU_ASSERT_PTR_EQUAL(d->cached3, s1);
		CU_ASSERT_EQUAL(d->push3b, PC_OK);
		/* And through pc_resize_cpu(). */
		CU_ASSERT_EQUAL(d->push4, PC_INVALID);
		CU_ASSERT_EQUAL(d->refresh4, PC_OK);
		CU_ASSERT_PTR_EQUAL(d->cached4, s2);
		CU_ASSERT_EQUAL(d->push4b, PC_OK);
		CU_ASSERT_EQUAL(PC_HDR_COUNT(s2->hdr), 1);
		/* S0 held both pushes when it was drained, S1 one. */
		CU_ASSERT_EQUAL(d->c.drained, 3);
	}

	pc_audit(&d->c, &a);
	CU_ASSERT_TRUE(pc_audit_clean(&a));
	CU_ASSERT_EQUAL(a.in_slabs + a.in_global, 64);
	CU_ASSERT_EQUAL(a.dead_slabs, 2);
	pc_cache_destroy(&d->c);
	sem_destroy(&d->to_a);
	sem_destroy(&d->to_b);
	free(d);
}

int main(void)
{
	static const struct test_case cases[] = {
		{ "fence_deterministic", test_fence_deterministic },
		{ "percpu_cache_stress", test_stress },
		{ NULL, NULL },
	};

	return harness_run("stress", cases);
}
