/* SPDX-License-Identifier: MIT */
/*
 * Legacy sample: a tcmalloc-style private rseq area in TLS, __rseq_abi,
 * whose cpu_id_start doubles as a "cached" flag.
 */
#include <linux/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "legacy-common.h"

#define CACHED 0x80000000u

__thread volatile struct rseq __rseq_abi __attribute__((aligned(32))) = {
	.cpu_id = (uint32_t)-1,
};

/* Legacy registration: fails (and is harmless) where glibc owns the area. */
static void register_area(void)
{
	syscall(__NR_rseq, &__rseq_abi, sizeof(__rseq_abi), 0, 0x53053053);
}

static int is_cached(void)
{
	return (__rseq_abi.cpu_id_start & CACHED) != 0;
}

static void cache(uint32_t token)
{
	__rseq_abi.cpu_id_start = CACHED | token;
}

static uint32_t cpu_now(void)
{
	return __rseq_abi.cpu_id_start;
}

/* Not cpu_id_start: must be left alone by the rewrite. */
static uint32_t flags(void)
{
	return __rseq_abi.flags;
}

int main(void)
{
	int a, b;

	register_area();
	if (legacy_two_cpus(&a, &b))
		return 77;
	LEGACY_CHECK(legacy_pin(a) == 0);
	cache(42);
	LEGACY_CHECK(is_cached());
	LEGACY_CHECK(cpu_now() == (CACHED | 42));
	LEGACY_CHECK(legacy_pin(b) == 0);
	LEGACY_CHECK(!is_cached());
	LEGACY_CHECK(cpu_now() == (uint32_t)b);
	LEGACY_CHECK(flags() == 0);
	return 0;
}
