/* SPDX-License-Identifier: MIT */
/*
 * The slot contract: what keeps a value valid, what invalidates it, what a
 * conditional commit refuses. Without rseq (valgrind) the same cases check
 * the fallback contract instead: never valid, every commit refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int cpus[64];
static int nr_cpus;
static cpu_set_t saved_mask;

static void restore_mask(void)
{
	sched_setaffinity(0, sizeof(saved_mask), &saved_mask);
}

static void *fence_cpu_thread(void *arg)
{
	return (void *)(intptr_t)vrseq_fence_cpu((int)(intptr_t)arg);
}

/* Fence `cpu` from a fresh thread; returns the fence's result. */
static int fence_from_other_thread(int cpu)
{
	pthread_t th;
	void *res;

	if (pthread_create(&th, NULL, fence_cpu_thread, (void *)(intptr_t)cpu))
		return -EAGAIN;
	pthread_join(th, &res);
	return (int)(intptr_t)res;
}

static void test_init_modes(void)
{
	struct vrseq_slot slot;
	int ret = vrseq_slot_init(&slot, VRSEQ_SLOT_CPU);

	CU_ASSERT_EQUAL(ret, harness_rseq() ? 0 : 1);
	CU_ASSERT_TRUE(slot.flags & VRSEQ_SLOT_F_BOUND);
	CU_ASSERT_EQUAL(!!(slot.flags & VRSEQ_SLOT_F_FALLBACK), !harness_rseq());
	CU_ASSERT_FALSE(vrseq_slot_valid(&slot));
	CU_ASSERT_EQUAL(vrseq_slot_init(&slot, 7), -EINVAL);
	CU_ASSERT_EQUAL(vrseq_slot_init(NULL, VRSEQ_SLOT_CPU), -EINVAL);
	CU_ASSERT_PTR_EQUAL(vrseq_thread_slot(), vrseq_thread_slot());
	CU_ASSERT_EQUAL(vrseq_fence_cpu(-1), -EINVAL);
	CU_ASSERT_EQUAL(vrseq_fence_cpu(1 << 21), -EINVAL);
	CU_ASSERT_EQUAL(vrseq_fence_mm_cid(-1), -EINVAL);
	CU_ASSERT_ABI();
}

static void test_survives_same_cpu(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	struct timespec ts = { 0, 1000000 };
	uint64_t v = 0;

	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	if (!harness_rseq()) {
		CU_ASSERT_EQUAL(vrseq_slot_store(slot, 42), VRSEQ_UNCACHED);
		CU_ASSERT_FALSE(vrseq_slot_load(slot, &v));
		restore_mask();
		return;
	}
	CU_ASSERT_EQUAL(vrseq_slot_store(slot, 42), VRSEQ_COMMITTED);
	for (int i = 0; i < 1000; i++) {
		getppid();
		if (i % 100 == 0) {
			sched_yield();
			nanosleep(&ts, NULL);
		}
		CU_ASSERT_TRUE(vrseq_slot_load(slot, &v));
		CU_ASSERT_EQUAL(v, 42);
	}
	CU_ASSERT_EQUAL(vrseq_slot_cpu_view(slot), 42);
	CU_ASSERT_ABI();
	restore_mask();
}

static void test_migration(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	uint64_t v;

	if (nr_cpus < 2) {
		CU_PASS("one CPU: nothing to migrate to");
		return;
	}
	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	vrseq_slot_store(slot, 0x80000000u | 7);
	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[1]), 0);
	CU_ASSERT_FALSE(vrseq_slot_valid(slot));
	CU_ASSERT_FALSE(vrseq_slot_load(slot, &v));
	/* The legacy view reads what a pre-6.19 kernel left there. */
	CU_ASSERT_EQUAL(vrseq_slot_cpu_view(slot), (uint32_t)cpus[1]);
	CU_ASSERT_ABI();
	/* The contract: a CPU change is seen at read time only. */
	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	CU_ASSERT_EQUAL(vrseq_slot_valid(slot), harness_rseq());
	restore_mask();
}

static void test_fence_other_thread(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();

	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	vrseq_slot_store(slot, 1);
	if (nr_cpus > 1) {
		/* A fence covering another CPU leaves this one alone. */
		CU_ASSERT_EQUAL(fence_from_other_thread(cpus[1]), 0);
		CU_ASSERT_EQUAL(vrseq_slot_valid(slot), harness_rseq());
	}
	CU_ASSERT_EQUAL(fence_from_other_thread(cpus[0]), 0);
	CU_ASSERT_FALSE(vrseq_slot_valid(slot));
	CU_ASSERT_EQUAL(vrseq_slot_cpu_view(slot), (uint32_t)cpus[0]);

	vrseq_slot_store(slot, 2);
	CU_ASSERT_EQUAL(vrseq_slot_valid(slot), harness_rseq());
	CU_ASSERT_EQUAL(vrseq_fence_all(), 0);
	CU_ASSERT_FALSE(vrseq_slot_valid(slot));
	/* The caller's own fence, on its own CPU. */
	vrseq_slot_store(slot, 3);
	CU_ASSERT_EQUAL(vrseq_fence_cpu(cpus[0]), 0);
	CU_ASSERT_FALSE(vrseq_slot_valid(slot));
	CU_ASSERT_ABI();
	restore_mask();
}

static void test_commit_refused(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	vrseq_token_t token;
	uint64_t v;

	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	token = vrseq_slot_observe(slot);
	if (harness_rseq())
		CU_ASSERT_EQUAL(vrseq_token_id(token), (uint32_t)cpus[0]);
	CU_ASSERT_EQUAL(fence_from_other_thread(cpus[0]), 0);
	CU_ASSERT_EQUAL(vrseq_slot_commit(slot, token, 5),
			harness_rseq() ? VRSEQ_INVALIDATED : VRSEQ_UNCACHED);
	CU_ASSERT_FALSE(vrseq_slot_load(slot, &v));

	/* A fresh observation commits. */
	token = vrseq_slot_observe(slot);
	CU_ASSERT_EQUAL(vrseq_slot_commit(slot, token, 6),
			harness_rseq() ? VRSEQ_COMMITTED : VRSEQ_UNCACHED);

	if (nr_cpus > 1) {
		token = vrseq_slot_observe(slot);
		CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[1]), 0);
		CU_ASSERT_EQUAL(vrseq_slot_commit(slot, token, 7),
				harness_rseq() ? VRSEQ_INVALIDATED : VRSEQ_UNCACHED);
		CU_ASSERT_FALSE(vrseq_slot_valid(slot));
		/* Refused commits leave nothing valid, even back home. */
		CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
		CU_ASSERT_FALSE(vrseq_slot_valid(slot));
	}
	CU_ASSERT_ABI();
	restore_mask();
}

static void test_cas(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	uint64_t word = 5;

	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	vrseq_slot_store(slot, 1);
	if (!harness_rseq()) {
		CU_ASSERT_EQUAL(vrseq_slot_cas(slot, &word, 5, 6), VRSEQ_UNCACHED);
		CU_ASSERT_EQUAL(word, 5);
		restore_mask();
		return;
	}
	CU_ASSERT_EQUAL(vrseq_slot_cas(slot, &word, 5, 6), VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(word, 6);
	CU_ASSERT_EQUAL(vrseq_slot_cas(slot, &word, 5, 7), VRSEQ_CHANGED);
	CU_ASSERT_EQUAL(word, 6);
	CU_ASSERT_EQUAL(fence_from_other_thread(cpus[0]), 0);
	CU_ASSERT_EQUAL(vrseq_slot_cas(slot, &word, 6, 8), VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(word, 6);
	if (nr_cpus > 1) {
		vrseq_slot_store(slot, 1);
		CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[1]), 0);
		CU_ASSERT_EQUAL(vrseq_slot_cas(slot, &word, 6, 9), VRSEQ_INVALIDATED);
		CU_ASSERT_EQUAL(word, 6);
	}
	CU_ASSERT_ABI();
	restore_mask();
}

/*
 * 32-bit, pointer-sized and value-checked compare-and-store (0.4.0+). Two
 * adjacent 32-bit slab headers share a 64-bit word, as in tcmalloc: a cas32
 * on one neither sees nor touches the other. rseq_cs is clear after every
 * exit (the kernel may clear it too, but not reliably this soon).
 */
struct hdr_pair {
	uint32_t mine;
	uint32_t neighbour;
} __attribute__((aligned(8)));

static bool cs_clear(const struct vrseq_slot *slot)
{
	return __atomic_load_n(&slot->area->rseq_cs, __ATOMIC_RELAXED) == 0;
}

static void test_cas32(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	struct vrseq_slot unbound = VRSEQ_SLOT_UNBOUND;
	struct hdr_pair h = { 5, 0xfeedu };
	uint64_t slab = 0x5ab0000ull, word = 5;
	void *ptrs[2] = { &h, NULL };

	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	if (!harness_rseq()) {
		CU_ASSERT_EQUAL(vrseq_slot_store(slot, slab), VRSEQ_UNCACHED);
		CU_ASSERT_EQUAL(vrseq_slot_cas32(slot, &h.mine, 5, 6), VRSEQ_UNCACHED);
		CU_ASSERT_EQUAL(vrseq_slot_cas_ptr(slot, &ptrs[0], &h, &word),
				VRSEQ_UNCACHED);
		CU_ASSERT_EQUAL(vrseq_slot_cas_value(slot, slab, &word, 5, 6),
				VRSEQ_UNCACHED);
		CU_ASSERT_EQUAL(vrseq_slot_cas32_value(slot, slab, &h.mine, 5, 6),
				VRSEQ_UNCACHED);
		CU_ASSERT_EQUAL(h.mine, 5);
		CU_ASSERT_EQUAL(h.neighbour, 0xfeedu);
		CU_ASSERT_PTR_EQUAL(ptrs[0], &h);
		CU_ASSERT_EQUAL(word, 5);
		restore_mask();
		return;
	}

	/* cas32: the neighbour is neither compared nor written. */
	CU_ASSERT_EQUAL(vrseq_slot_store(slot, slab), VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(vrseq_slot_cas32(slot, &h.mine, 5, 6), VRSEQ_COMMITTED);
	CU_ASSERT_TRUE(cs_clear(slot));
	CU_ASSERT_EQUAL(h.mine, 6);
	CU_ASSERT_EQUAL(h.neighbour, 0xfeedu);
	h.neighbour = 0xbeefu;	/* the other size class moved meanwhile */
	CU_ASSERT_EQUAL(vrseq_slot_cas32(slot, &h.mine, 6, 0x80000001u),
			VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(h.mine, 0x80000001u);
	CU_ASSERT_EQUAL(vrseq_slot_cas32(slot, &h.mine, 0x80000001u, 7),
			VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(vrseq_slot_cas32(slot, &h.mine, 5, 8), VRSEQ_CHANGED);
	CU_ASSERT_TRUE(cs_clear(slot));
	CU_ASSERT_EQUAL(h.mine, 7);
	CU_ASSERT_EQUAL(vrseq_slot_cas32(slot, &h.neighbour, 0xbeefu, 0xbee0u),
			VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(h.mine, 7);
	CU_ASSERT_EQUAL(h.neighbour, 0xbee0u);

	/* cas_ptr: the second pointer is untouched. */
	CU_ASSERT_EQUAL(vrseq_slot_cas_ptr(slot, &ptrs[0], &h, &word),
			VRSEQ_COMMITTED);
	CU_ASSERT_PTR_EQUAL(ptrs[0], &word);
	CU_ASSERT_PTR_NULL(ptrs[1]);
	CU_ASSERT_EQUAL(vrseq_slot_cas_ptr(slot, &ptrs[0], &h, NULL), VRSEQ_CHANGED);
	CU_ASSERT_PTR_EQUAL(ptrs[0], &word);
	CU_ASSERT_TRUE(cs_clear(slot));

	/* _value: the slot must hold the slab the caller computed with. */
	CU_ASSERT_EQUAL(vrseq_slot_cas_value(slot, slab + 64, &word, 5, 6),
			VRSEQ_INVALIDATED);
	CU_ASSERT_TRUE(cs_clear(slot));
	CU_ASSERT_EQUAL(word, 5);
	CU_ASSERT_EQUAL(vrseq_slot_cas_value(slot, slab, &word, 5, 6),
			VRSEQ_COMMITTED);
	CU_ASSERT_TRUE(cs_clear(slot));
	CU_ASSERT_EQUAL(word, 6);
	CU_ASSERT_EQUAL(vrseq_slot_cas_value(slot, slab, &word, 5, 7), VRSEQ_CHANGED);
	CU_ASSERT_EQUAL(word, 6);
	/* A stale value wins over a differing word. */
	CU_ASSERT_EQUAL(vrseq_slot_cas_value(slot, slab + 64, &word, 5, 7),
			VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(vrseq_slot_cas32_value(slot, slab + 64, &h.mine, 7, 9),
			VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(h.mine, 7);
	CU_ASSERT_EQUAL(vrseq_slot_cas32_value(slot, slab, &h.mine, 7, 9),
			VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(h.mine, 9);
	CU_ASSERT_EQUAL(h.neighbour, 0xbee0u);
	CU_ASSERT_EQUAL(vrseq_slot_cas32_value(slot, slab, &h.mine, 7, 10),
			VRSEQ_CHANGED);
	CU_ASSERT_TRUE(cs_clear(slot));
	CU_ASSERT_EQUAL(h.mine, 9);

	/* A fence from another thread invalidates every form. */
	CU_ASSERT_EQUAL(fence_from_other_thread(cpus[0]), 0);
	CU_ASSERT_EQUAL(vrseq_slot_cas32(slot, &h.mine, 9, 11), VRSEQ_INVALIDATED);
	CU_ASSERT_TRUE(cs_clear(slot));
	CU_ASSERT_EQUAL(vrseq_slot_cas_ptr(slot, &ptrs[0], &word, &h),
			VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(vrseq_slot_cas_value(slot, slab, &word, 6, 12),
			VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(vrseq_slot_cas32_value(slot, slab, &h.mine, 9, 13),
			VRSEQ_INVALIDATED);
	CU_ASSERT_TRUE(cs_clear(slot));
	CU_ASSERT_EQUAL(h.mine, 9);
	CU_ASSERT_EQUAL(h.neighbour, 0xbee0u);
	CU_ASSERT_PTR_EQUAL(ptrs[0], &word);
	CU_ASSERT_EQUAL(word, 6);
	if (nr_cpus > 1) {
		CU_ASSERT_EQUAL(vrseq_slot_store(slot, slab), VRSEQ_COMMITTED);
		CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[1]), 0);
		CU_ASSERT_EQUAL(vrseq_slot_cas32(slot, &h.mine, 9, 14),
				VRSEQ_INVALIDATED);
		CU_ASSERT_EQUAL(vrseq_slot_cas32_value(slot, slab, &h.mine, 9, 15),
				VRSEQ_INVALIDATED);
		CU_ASSERT_EQUAL(h.mine, 9);
	}

	/* Unbound: refused in C, and the sections' own check fails too. */
	CU_ASSERT_EQUAL(vrseq_slot_cas32(&unbound, &h.mine, 9, 16), VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(vrseq_slot_cas_ptr(&unbound, &ptrs[0], &word, NULL),
			VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(vrseq_slot_cas_value(&unbound, 0, &word, 6, 17),
			VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(vrseq_slot_cas32_value(&unbound, 0, &h.mine, 9, 18),
			VRSEQ_UNCACHED);
	CU_ASSERT_EQUAL(vrseq_arch_cas32(&unbound, &h.mine, 9, 19), VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(vrseq_arch_cas_value(&unbound, 0, &word, 6, 20),
			VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(vrseq_arch_cas32_value(&unbound, 0, &h.mine, 9, 21),
			VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(h.mine, 9);
	CU_ASSERT_PTR_EQUAL(ptrs[0], &word);
	CU_ASSERT_EQUAL(word, 6);
	CU_ASSERT_ABI();
	restore_mask();
}

struct iso {
	pthread_barrier_t *barrier;
	uint64_t mine;
	int ok;
};

static void *isolation_thread(void *arg)
{
	struct iso *s = (struct iso *)arg;
	struct vrseq_slot *slot = vrseq_thread_slot();
	uint64_t v = 0;

	harness_pin(cpus[0]);
	vrseq_slot_store(slot, s->mine);
	pthread_barrier_wait(s->barrier);	/* both stored */
	if (s->mine == 1)
		vrseq_slot_clear(slot);
	pthread_barrier_wait(s->barrier);	/* one cleared its own */
	if (s->mine == 1)
		s->ok = !vrseq_slot_valid(slot);
	else
		s->ok = vrseq_slot_load(slot, &v) == harness_rseq() &&
			(!harness_rseq() || v == s->mine);
	s->ok = s->ok && harness_abi_ok();
	return NULL;
}

static void test_isolation(void)
{
	pthread_barrier_t barrier;
	struct iso a = { &barrier, 1, 0 }, b = { &barrier, 2, 0 };
	pthread_t ta, tb;

	pthread_barrier_init(&barrier, NULL, 2);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&ta, NULL, isolation_thread, &a), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tb, NULL, isolation_thread, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&barrier);
	CU_ASSERT_TRUE(a.ok);
	CU_ASSERT_TRUE(b.ok);
	/* Two threads on one CPU: each slot is its thread's own. */
	CU_ASSERT_PTR_NOT_EQUAL(vrseq_thread_slot(), NULL);
}

static void test_fork(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	int status;
	pid_t pid;

	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	vrseq_slot_store(slot, 77);
	pid = fork();
	CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
	if (pid == 0) {
		uint64_t v = 0;
		int bad = 0;

		/* Inherited: same thread image, same CPU mask. */
		bad |= vrseq_slot_load(slot, &v) != harness_rseq();
		bad |= harness_rseq() && v != 77;
		bad |= !harness_abi_ok() << 1;
		bad |= (vrseq_fence_cpu(cpus[0]) != 0) << 2;
		bad |= vrseq_slot_valid(slot) << 3;
		bad |= (vrseq_slot_store(slot, 78) !=
			(harness_rseq() ? VRSEQ_COMMITTED : VRSEQ_UNCACHED)) << 4;
		bad |= (vrseq_slot_valid(slot) != harness_rseq()) << 5;
		_exit(bad);
	}
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
	/* The child's fence was its own process's business. */
	CU_ASSERT_EQUAL(vrseq_slot_valid(slot), harness_rseq());
	CU_ASSERT_ABI();
	restore_mask();
}

static void test_mm_cid(void)
{
	struct vrseq_info info;
	struct vrseq_slot slot;
	uint32_t cid;
	int ret;

	CU_ASSERT_EQUAL_FATAL(vrseq_get_info(&info, sizeof(info)), 0);
	ret = vrseq_slot_init(&slot, VRSEQ_SLOT_MM_CID);
	if (!info.mm_cid_usable || !info.guarantee) {
		CU_ASSERT(ret == -EOPNOTSUPP || ret == 1);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	CU_ASSERT_TRUE(slot.flags & VRSEQ_SLOT_F_MM_CID);
	cid = vrseq_slot_current_id(&slot);
	CU_ASSERT(cid < info.nr_ids);
	CU_ASSERT_EQUAL(vrseq_slot_store(&slot, 9), VRSEQ_COMMITTED);
	/* A CPU fence is not a cid fence... */
	vrseq_fence_cpu(vrseq_current_cpu() == 0 && info.nr_ids > 1 ? 1 : 0);
	/* ...but the cid may have moved meanwhile; recheck from a store. */
	vrseq_slot_store(&slot, 10);
	CU_ASSERT_EQUAL(vrseq_fence_mm_cid((int)vrseq_slot_current_id(&slot)), 0);
	CU_ASSERT_FALSE(vrseq_slot_valid(&slot));
	CU_ASSERT_EQUAL(vrseq_slot_cpu_view(&slot), vrseq_slot_current_id(&slot));
	CU_ASSERT_ABI();
}

/* The thread's own MM_CID slot: stable, cid mode, fenced by cid. */
static void test_thread_slot_mm_cid(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot_mm_cid();
	struct vrseq_info info;
	uint64_t v;

	CU_ASSERT_EQUAL_FATAL(vrseq_get_info(&info, sizeof(info)), 0);
	CU_ASSERT_PTR_EQUAL(slot, vrseq_thread_slot_mm_cid());
	CU_ASSERT_PTR_NOT_EQUAL(slot, vrseq_thread_slot());
	CU_ASSERT_TRUE(slot->flags & VRSEQ_SLOT_F_MM_CID);
	CU_ASSERT_EQUAL(vrseq_slot_usable(slot), info.mm_cid_usable && info.guarantee);
	if (!vrseq_slot_usable(slot)) {
		CU_ASSERT_EQUAL(vrseq_slot_store(slot, 1), VRSEQ_UNCACHED);
		CU_ASSERT_FALSE(vrseq_slot_load(slot, &v));
		return;
	}
	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	for (int tries = 0; tries < 100; tries++)
		if (vrseq_slot_store(slot, 11) == VRSEQ_COMMITTED &&
		    vrseq_slot_load(slot, &v) && v == 11)
			break;
	CU_ASSERT_TRUE(vrseq_slot_load(slot, &v) && v == 11);
	CU_ASSERT_EQUAL(vrseq_fence_mm_cid((int)vrseq_slot_current_id(slot)), 0);
	CU_ASSERT_FALSE(vrseq_slot_valid(slot));
	restore_mask();
}

/*
 * VRSEQ_SLOT_UNBOUND: safe from the first instruction, before any binding.
 * It is checked in a fresh process (fork of a process that may have bound
 * is fine: the unbound slot never refers to the library's state).
 */
static __thread struct vrseq_slot unbound_slot = VRSEQ_SLOT_UNBOUND;

static void test_unbound(void)
{
	struct vrseq_slot *slot = &unbound_slot;
	uint64_t v = 0, word = 3;
	int cpu;

	CU_ASSERT_FALSE(vrseq_slot_usable(slot));
	CU_ASSERT_FALSE(vrseq_slot_valid(slot));
	CU_ASSERT_FALSE(vrseq_slot_load(slot, &v));
	CU_ASSERT_EQUAL(vrseq_slot_store(slot, 5), VRSEQ_UNCACHED);
	CU_ASSERT_FALSE(vrseq_slot_valid(slot));
	CU_ASSERT_EQUAL(vrseq_slot_cas(slot, &word, 3, 4), VRSEQ_UNCACHED);
	/* The building blocks' own check fails too (no C-level shortcut). */
	CU_ASSERT_EQUAL(vrseq_arch_cas(slot, &word, 3, 4), VRSEQ_INVALIDATED);
	CU_ASSERT_EQUAL(word, 3);
	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[nr_cpus - 1]), 0);
	cpu = cpus[nr_cpus - 1];
	CU_ASSERT_EQUAL(vrseq_slot_current_id(slot), (uint32_t)cpu);
	CU_ASSERT_EQUAL(vrseq_slot_cpu_view(slot), (uint32_t)cpu);
	CU_ASSERT_EQUAL(vrseq_token_id(vrseq_slot_observe(slot)), (uint32_t)cpu);
	/* Binding turns it into a real slot. */
	CU_ASSERT(vrseq_slot_init(slot, VRSEQ_SLOT_CPU) >= 0);
	CU_ASSERT_EQUAL(vrseq_slot_usable(slot), harness_rseq());
	CU_ASSERT_EQUAL(vrseq_slot_store(slot, 6),
			harness_rseq() ? VRSEQ_COMMITTED : VRSEQ_UNCACHED);
	restore_mask();
	CU_ASSERT_ABI();
}

/* ---- signals: a handler commits on the slot its thread is committing to */

static volatile sig_atomic_t handled;
static volatile uint64_t handler_bad;

static void on_signal(int sig)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	uint64_t v, mine = 0x5157ull << 32 | (uint32_t)handled;

	handled++;
	if (!harness_abi_ok())
		handler_bad++;
	/* Whatever is valid must be a value some commit wrote. */
	if (vrseq_slot_load(slot, &v) && (v >> 32) != 0xabcd && (v >> 32) != 0x5157)
		handler_bad++;
	/* SIGUSR1 is blocked in here: nothing can commit between these two. */
	if (vrseq_slot_store(slot, mine) == VRSEQ_COMMITTED &&
	    vrseq_slot_load(slot, &v) && v != mine)
		handler_bad++;
}

static void test_signals(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	struct sigaction sa;
	timer_t timer;
	struct sigevent sev;
	struct itimerspec its = { { 0, 50000 }, { 0, 50000 } };
	struct timespec end, now;
	uint64_t bad = 0, i = 0, committed = 0, v;

	vrseq_slot_clear(slot);	/* earlier cases left their values */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGUSR1;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGUSR1, &sa, NULL), 0);
	sev._sigev_un._tid = gettid();
	CU_ASSERT_EQUAL_FATAL(timer_create(CLOCK_MONOTONIC, &sev, &timer), 0);
	timer_settime(timer, 0, &its, NULL);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 1;
	do {
		uint64_t mine = 0xabcdull << 32 | (i++ & 0xffffffff);
		sig_atomic_t before = handled;
		int ret = vrseq_slot_store(slot, mine);
		bool valid = vrseq_slot_load(slot, &v);

		/* Keep the compiler from sinking the value load past the
		 * re-read of `handled` below. */
		__atomic_signal_fence(__ATOMIC_SEQ_CST);

		/* Untouched by a handler, a valid slot holds our commit. */
		if (ret == VRSEQ_COMMITTED && valid && before == handled && v != mine)
			bad++;
		if (valid && (v >> 32) != 0xabcd && (v >> 32) != 0x5157)
			bad++;
		committed += ret == VRSEQ_COMMITTED;
		if (i % 64 == 0)
			CU_ASSERT_ABI();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	timer_delete(timer);
	signal(SIGUSR1, SIG_IGN);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(handler_bad, 0);
	CU_ASSERT(handled > 10);
	CU_ASSERT(i > 1000);
	CU_ASSERT(harness_rseq() ? committed > i / 2 : committed == 0);
}

/*
 * Generation wrap-around, fast-forwarded: CPU c's tag is set to the last
 * live generation, as if 2^44 - 2 fences of c had run, in a fork child (the
 * tag arrays are the child's copy). No fence after that may bring back the
 * "nothing stored" tag 0 or any tag seen before, so neither a cleared slot
 * nor one committed at the start reads valid again; the retired id takes no
 * commit, and other ids are unaffected.
 */
static int wrap_child(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	struct vrseq_slot cleared, last;
	uint64_t *tags = (uint64_t *)(uintptr_t)slot->tags;
	int cpu = sched_getcpu();
	vrseq_token_t t0;
	uint64_t fences;

	if (harness_pin(cpu) || vrseq_slot_init(&cleared, VRSEQ_SLOT_CPU) ||
	    vrseq_slot_init(&last, VRSEQ_SLOT_CPU))
		return 2;
	t0 = vrseq_slot_observe(slot);
	if (vrseq_slot_commit(slot, t0, 0xaa) != VRSEQ_COMMITTED ||
	    vrseq_slot_store(&cleared, 0xbb) != VRSEQ_COMMITTED)
		return 3;
	vrseq_slot_clear(&cleared);
	tags[cpu] = (VRSEQ_TAG_GEN_MASK - VRSEQ_TAG_GEN_ONE) | (uint32_t)cpu;
	if (vrseq_slot_store(&last, 0xcc) != VRSEQ_COMMITTED || !vrseq_slot_valid(&last))
		return 4;
	/* Enough fences for a wrapped counter to come back to t0. */
	fences = (t0 >> VRSEQ_TAG_ID_BITS) + 16;
	for (uint64_t i = 0; i < fences; i++) {
		if (vrseq_fence_cpu(cpu) != 0)
			return 5;
		if (tags[cpu] == 0 || tags[cpu] == t0)
			return 6;
		if (vrseq_slot_valid(slot) || vrseq_slot_valid(&cleared) ||
		    vrseq_slot_valid(&last))
			return 7;
		if (vrseq_slot_store(&last, 0xdd) != VRSEQ_UNCACHED ||
		    vrseq_slot_store(&cleared, 0xee) != VRSEQ_UNCACHED)
			return 8;
	}
	if ((tags[cpu] & VRSEQ_TAG_GEN_MASK) != VRSEQ_TAG_GEN_MASK ||
	    vrseq_token_id(tags[cpu]) != (uint32_t)cpu)
		return 9;
	for (int i = 0; i < nr_cpus; i++) {
		if (cpus[i] == cpu)
			continue;
		if (harness_pin(cpus[i]) ||
		    vrseq_slot_store(slot, 1) != VRSEQ_COMMITTED || !vrseq_slot_valid(slot))
			return 10;
		break;
	}
	return 0;
}

static void test_generation_wrap(void)
{
	int status;
	pid_t pid;

	if (!harness_rseq())
		return;
	pid = fork();
	if (pid == 0)
		_exit(wrap_child());
	CU_ASSERT_FATAL(pid > 0);
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &status, 0), pid);
	CU_ASSERT_TRUE(WIFEXITED(status));
	if (WIFEXITED(status) && WEXITSTATUS(status))
		fprintf(stderr, "wrap child: check %d failed\n", WEXITSTATUS(status));
	CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
}

static const struct test_case cases[] = {
	{ "init and argument errors", test_init_modes },
	{ "survives same-CPU work, syscalls, yields", test_survives_same_cpu },
	{ "invalid after forced migration; legacy view = new CPU", test_migration },
	{ "invalid after a fence from another thread", test_fence_other_thread },
	{ "commit refused after a fence or on another CPU", test_commit_refused },
	{ "compare-and-store checks word and slot", test_cas },
	{ "32-bit, pointer and value-checked compare-and-store", test_cas32 },
	{ "per-thread isolation", test_isolation },
	{ "fork child", test_fork },
	{ "mm_cid mode", test_mm_cid },
	{ "signal handlers commit on the same slot", test_signals },
	{ "generation wrap-around retires, never reuses", test_generation_wrap },
	{ "the thread's own mm_cid slot", test_thread_slot_mm_cid },
	{ "VRSEQ_SLOT_UNBOUND is safe before binding", test_unbound },
	{ NULL, NULL },
};

int main(void)
{
	sched_getaffinity(0, sizeof(saved_mask), &saved_mask);
	nr_cpus = harness_cpus(cpus, 64);
	if (nr_cpus < 1)
		return EXIT_HARD;
	return harness_run("slot", cases);
}
