/* SPDX-License-Identifier: MIT */
/*
 * The legacy views of <vrseq/compat.h> behave like the legacy expressions
 * they replace did on a pre-6.19 kernel, within the slot's contract.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>

#include <vrseq/compat.h>

#include "harness.h"

static int cpus[64];
static int nr_cpus;

static void test_cpu_id_start_view(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();

	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	vrseq_compat_cpu_id_start_store(slot, 0x80000000u | 9);
	if (!harness_rseq()) {
		/* Fallback: the field keeps reading the CPU number. */
		CU_ASSERT_EQUAL(vrseq_compat_cpu_id_start(slot), (uint32_t)sched_getcpu());
		harness_pin_restore();
		return;
	}
	CU_ASSERT_EQUAL(vrseq_compat_cpu_id_start(slot), 0x80000000u | 9);
	CU_ASSERT_EQUAL(vrseq_compat_cpu_id_start_and(slot, ~0x80000000u),
			VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(vrseq_compat_cpu_id_start(slot), 9);
	CU_ASSERT_EQUAL(vrseq_compat_cpu_id_start_or(slot, 0x40000000u),
			VRSEQ_COMMITTED);
	CU_ASSERT_EQUAL(vrseq_compat_cpu_id_start(slot), 0x40000000u | 9);
	if (nr_cpus > 1) {
		/* What the kernel's overwrite left: the new CPU. */
		CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[1]), 0);
		CU_ASSERT_EQUAL(vrseq_compat_cpu_id_start(slot), (uint32_t)cpus[1]);
	}
	vrseq_compat_cpu_id_start_store(slot, 0x80000000u);
	CU_ASSERT_EQUAL(vrseq_fence_cpu(sched_getcpu()), 0);
	CU_ASSERT_EQUAL(vrseq_compat_cpu_id_start(slot), (uint32_t)sched_getcpu());
	CU_ASSERT_ABI();
	harness_pin_restore();
}

static void test_cached_word_view(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	uint64_t slabs = 0x7f0012345000ull;
	vrseq_token_t t;
	uint64_t w;

	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	vrseq_compat_word_uncache(slot);
	w = vrseq_compat_word_load(slot);
	CU_ASSERT_FALSE(w & VRSEQ_COMPAT_CACHED);
	CU_ASSERT_EQUAL(w >> 32, (uint64_t)sched_getcpu());
	CU_ASSERT_FALSE(vrseq_compat_word_cached(slot));

	t = vrseq_compat_word_begin(slot);
	if (harness_rseq())
		CU_ASSERT_EQUAL(vrseq_compat_word_cpu(t), (uint32_t)cpus[0]);
	/* The cached bit in the argument is tolerated and not stored. */
	CU_ASSERT_EQUAL(vrseq_compat_word_commit(slot, t, slabs | VRSEQ_COMPAT_CACHED),
			harness_rseq());
	if (harness_rseq()) {
		CU_ASSERT_EQUAL(vrseq_compat_word_load(slot), slabs | VRSEQ_COMPAT_CACHED);
		CU_ASSERT_TRUE(vrseq_compat_word_cached(slot));
	}
	/* A fence between begin and commit refuses the commit. */
	t = vrseq_compat_word_begin(slot);
	CU_ASSERT_EQUAL(vrseq_fence_cpu(cpus[0]), 0);
	CU_ASSERT_FALSE(vrseq_compat_word_commit(slot, t, slabs));
	CU_ASSERT_FALSE(vrseq_compat_word_load(slot) & VRSEQ_COMPAT_CACHED);
	if (nr_cpus > 1 && harness_rseq()) {
		t = vrseq_compat_word_begin(slot);
		CU_ASSERT_TRUE(vrseq_compat_word_commit(slot, t, slabs));
		CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[1]), 0);
		w = vrseq_compat_word_load(slot);
		CU_ASSERT_FALSE(w & VRSEQ_COMPAT_CACHED);
		CU_ASSERT_EQUAL(w >> 32, (uint64_t)cpus[1]);
	}
	vrseq_compat_word_uncache(slot);
	CU_ASSERT_FALSE(vrseq_compat_word_cached(slot));
	CU_ASSERT_ABI();
	harness_pin_restore();
}

static const struct test_case cases[] = {
	{ "32-bit cpu_id_start view", test_cpu_id_start_view },
	{ "tcmalloc-style cached word view", test_cached_word_view },
	{ NULL, NULL },
};

int main(void)
{
	nr_cpus = harness_cpus(cpus, 64);
	if (nr_cpus < 1)
		return EXIT_HARD;
	return harness_run("compat", cases);
}
