/* SPDX-License-Identifier: MIT */
/*
 * Every inline fast path of <vrseq.h> and the per-CPU cache fixture in one
 * small program with no CUnit, so that test-cross-aarch64.sh can build it
 * statically for each architecture and check the critical-section
 * descriptors of the result with rseq-cs-lint. It also runs (natively, or in
 * an aarch64 guest): exit 0 when everything held, 1 otherwise, 77 when vrseq
 * cannot even initialise.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include <vrseq.h>

#include "percpu-cache.h"

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "cross-smoke: line %d: %s\n", __LINE__, #cond); \
		failures++;						\
	}								\
} while (0)

/* A migration between two steps makes a step fail; retry a few times. */
#define TRIES	1000

static void slot_paths(struct vrseq_slot *slot, bool cacheable)
{
	uint64_t value = 0, word = 7;
	int i, ret = VRSEQ_INVALIDATED;

	/* observe, token id, current id, commit, valid, load, cpu view */
	for (i = 0; i < TRIES; i++) {
		vrseq_token_t token = vrseq_slot_observe(slot);

		if (vrseq_token_id(token) != vrseq_slot_current_id(slot))
			continue;
		ret = vrseq_slot_commit(slot, token, 0x1234);
		if (ret == VRSEQ_COMMITTED && vrseq_slot_valid(slot) &&
		    vrseq_slot_load(slot, &value) &&
		    vrseq_slot_cpu_view(slot) == 0x1234)
			break;
	}
	if (cacheable) {
		CHECK(i < TRIES);
		CHECK(value == 0x1234);
	} else {
		CHECK(ret == VRSEQ_UNCACHED);
		CHECK(!vrseq_slot_valid(slot));
	}

	/* store, then cas: the word changes only while the slot is valid */
	for (i = 0; i < TRIES; i++) {
		if (vrseq_slot_store(slot, 42) != VRSEQ_COMMITTED)
			continue;
		ret = vrseq_slot_cas(slot, &word, 7, 8);
		if (ret == VRSEQ_COMMITTED)
			break;
	}
	if (cacheable) {
		CHECK(word == 8);
		CHECK(vrseq_slot_cas(slot, &word, 7, 9) != VRSEQ_COMMITTED);
		CHECK(word == 8);
	} else {
		CHECK(ret == VRSEQ_UNCACHED);
		CHECK(word == 7);
	}

	/* 32-bit, pointer and value-checked cas: the neighbour stays put */
	{
		uint32_t hdr[2] = { 3, 0xfeed };
		uint64_t w64 = 11;
		void *ptr = &w64;

		for (i = 0; i < TRIES; i++) {
			if (vrseq_slot_store(slot, 42) != VRSEQ_COMMITTED)
				continue;
			ret = vrseq_slot_cas32(slot, &hdr[0], 3, 4);
			if (ret != VRSEQ_COMMITTED)
				continue;
			ret = vrseq_slot_cas_ptr(slot, &ptr, &w64, &value);
			if (ret != VRSEQ_COMMITTED)
				continue;
			if (vrseq_slot_cas_value(slot, 43, &w64, 11, 13) !=
			    VRSEQ_INVALIDATED)
				continue;
			ret = vrseq_slot_cas_value(slot, 42, &w64, 11, 12);
			if (ret != VRSEQ_COMMITTED)
				continue;
			ret = vrseq_slot_cas32_value(slot, 42, &hdr[0], 4, 5);
			if (ret == VRSEQ_COMMITTED)
				break;
		}
		if (cacheable) {
			CHECK(i < TRIES);
			CHECK(hdr[0] == 5 && hdr[1] == 0xfeed);
			CHECK(ptr == (void *)&value);
			CHECK(w64 == 12);
			CHECK(vrseq_slot_cas32(slot, &hdr[0], 4, 6) != VRSEQ_COMMITTED);
			CHECK(vrseq_slot_cas32_value(slot, 41, &hdr[0], 5, 6) !=
			      VRSEQ_COMMITTED);
			CHECK(hdr[0] == 5 && hdr[1] == 0xfeed);
		} else {
			CHECK(ret == VRSEQ_UNCACHED);
			CHECK(vrseq_slot_cas32(slot, &hdr[0], 3, 4) == VRSEQ_UNCACHED);
			CHECK(vrseq_slot_cas_ptr(slot, &ptr, &w64, NULL) ==
			      VRSEQ_UNCACHED);
			CHECK(vrseq_slot_cas_value(slot, 42, &w64, 11, 12) ==
			      VRSEQ_UNCACHED);
			CHECK(vrseq_slot_cas32_value(slot, 42, &hdr[0], 3, 4) ==
			      VRSEQ_UNCACHED);
			CHECK(hdr[0] == 3 && hdr[1] == 0xfeed);
			CHECK(ptr == (void *)&w64 && w64 == 11);
		}
	}

	/* clear and fences invalidate */
	vrseq_slot_clear(slot);
	CHECK(!vrseq_slot_load(slot, &value));
	for (i = 0; i < TRIES; i++)
		if (vrseq_slot_store(slot, 0x5555) == VRSEQ_COMMITTED)
			break;
	CHECK(vrseq_fence_all() == 0);
	CHECK(!vrseq_slot_valid(slot));
	CHECK(vrseq_slot_cpu_view(slot) != 0x5555);
	CHECK(vrseq_fence_cpu(vrseq_current_cpu()) == 0);
}

static void cache_paths(void)
{
	struct pc_stress_params p = {
		.backend = &pc_backend_vrseq,
		.seconds = 0.5,
		.workers = 3,
		.nobjs = 512,
		.resize_us = 2000,
		.signal_us = 2000,
	};
	struct pc_stress_result r;
	struct pc_cache c;
	struct pc_thread t;
	struct pc_obj *objs[100];
	struct pc_audit a;

	/* The fast pop/push of this thread, then the audit. */
	CHECK(pc_cache_init(&c, &pc_backend_vrseq, 256) == 0);
	CHECK(pc_thread_attach(&c, &t, 1) >= 0);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 100; i++)
			objs[i] = pc_alloc(&t);
		for (int i = 0; i < 100; i++)
			if (objs[i])
				pc_free(&t, objs[i]);
	}
	pc_thread_detach(&t);
	pc_audit(&c, &a);
	CHECK(pc_audit_clean(&a));
	CHECK(t.st.duplicates == 0 && t.st.corruption == 0);
	if (c.backend->has_fast_path && t.bind_result == 0)
		CHECK(t.st.fast_pops > 0 && t.st.fast_pushes > 0);
	pc_cache_destroy(&c);

	/* A short stress run: resizer, migrations, signals. */
	CHECK(pc_stress_run(&p, &r) == 0);
	CHECK(pc_audit_clean(&r.audit));
	CHECK(r.st.duplicates + r.sst.duplicates == 0);
	CHECK(r.st.stale_pops + r.sst.stale_pops == 0);
	CHECK(r.audit.lost == 0);
	pc_stress_metrics("cross-smoke", &r, 0);
}

int main(void)
{
	struct vrseq_slot slot;
	int ret;

	if (vrseq_init() < 0) {
		fprintf(stderr, "cross-smoke: vrseq_init failed: skipped\n");
		return 77;
	}
	ret = vrseq_slot_init(&slot, VRSEQ_SLOT_CPU);
	CHECK(ret == 0 || ret == 1);
	slot_paths(&slot, ret == 0);
	slot_paths(vrseq_thread_slot(), ret == 0);
	cache_paths();
	printf("cross-smoke: %s (%s)\n", failures ? "FAILED" : "passed",
	       ret == 0 ? "rseq slots" : "fallback slots");
	return failures ? 1 : 0;
}
