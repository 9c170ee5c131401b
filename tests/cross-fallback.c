/* SPDX-License-Identifier: MIT */
/*
 * The fallback-only library of an architecture without critical sections
 * (<vrseq/arch/generic.h>), as tests/test-cross-generic.sh builds it for
 * riscv64 and runs it under qemu-user: it initialises, every slot is
 * bound in fallback mode with the reason VRSEQ_FALLBACK_ARCH, nothing ever
 * reads valid or commits, compare-and-store refuses, fences succeed, and
 * the unbound constant behaves the same. Exit 0 or 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <vrseq.h>
#include <vrseq/compat.h>

VRSEQ_STATIC_ASSERT(!VRSEQ_HAVE_CS, "built for an architecture with sections");

static int failures;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("FAIL line %d: %s\n", __LINE__, #cond);		\
		failures++;						\
	}								\
} while (0)

static void check_slot(struct vrseq_slot *s)
{
	uint64_t v = 1, word = 5;
	uint32_t word32 = 5;
	void *p = NULL;

	CHECK(!vrseq_slot_usable(s));
	CHECK(vrseq_slot_store(s, 42) == VRSEQ_UNCACHED);
	CHECK(!vrseq_slot_load(s, &v));
	CHECK(!vrseq_slot_valid(s));
	CHECK(vrseq_slot_commit(s, vrseq_slot_observe(s), 7) == VRSEQ_UNCACHED);
	CHECK(vrseq_slot_cas(s, &word, 5, 6) == VRSEQ_UNCACHED && word == 5);
	CHECK(vrseq_slot_cas32(s, &word32, 5, 6) == VRSEQ_UNCACHED &&
	      word32 == 5);
	CHECK(vrseq_slot_cas_ptr(s, &p, NULL, &word) == VRSEQ_UNCACHED &&
	      p == NULL);
	CHECK(vrseq_slot_cas_value(s, 0, &word, 5, 6) == VRSEQ_UNCACHED);
	CHECK(vrseq_slot_cas32_value(s, 0, &word32, 5, 6) == VRSEQ_UNCACHED);
}

static void *worker(void *arg)
{
	struct vrseq_slot *s = vrseq_thread_slot();
	uint64_t v;
	long bad = 0;

	(void)arg;
	for (int i = 0; i < 10000; i++) {
		if (vrseq_slot_store(s, (uint64_t)i) != VRSEQ_UNCACHED ||
		    vrseq_slot_load(s, &v))
			bad++;
		if (i % 1000 == 0 && vrseq_fence_all() != 0)
			bad++;
	}
	return (void *)bad;
}

int main(void)
{
	struct vrseq_slot s, unbound = VRSEQ_SLOT_UNBOUND;
	struct vrseq_info info;
	pthread_t th[2];

	CHECK(vrseq_init() == 0);
	CHECK(vrseq_get_info(&info, sizeof(info)) == 0);
	CHECK(info.fallback == VRSEQ_FALLBACK_ARCH);
	CHECK(!info.guarantee);
	CHECK(info.fence_method == VRSEQ_FENCE_NONE);
	CHECK(strcmp(vrseq_fallback_name(VRSEQ_FALLBACK_ARCH), "unknown") != 0);
	CHECK(vrseq_slot_init(&s, VRSEQ_SLOT_CPU) == 1);
	check_slot(&s);
	check_slot(&unbound);
	check_slot(vrseq_thread_slot());
	CHECK(vrseq_fence_cpu(0) == 0);
	CHECK(vrseq_fence_all() == 0);
	CHECK(vrseq_fence_cpu(-1) == -EINVAL);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&th[i], NULL, worker, NULL) == 0);
	for (int i = 0; i < 2; i++) {
		void *bad;

		pthread_join(th[i], &bad);
		CHECK(bad == NULL);
	}
	printf("%s: owner %s, fallback \"%s\", fence method %s, %u ids: %s\n",
	       vrseq_version(), vrseq_owner_name(info.owner),
	       vrseq_fallback_name((int)info.fallback),
	       vrseq_fence_method_name(info.fence_method), info.nr_ids,
	       failures ? "FAILED" : "all fallback, as it must be");
	return failures ? 1 : 0;
}
