/* SPDX-License-Identifier: MIT */
/*
 * Legacy sample: helpers that take a struct rseq pointer and set or clear
 * the cached bit with compound assignments.
 */
#include <linux/rseq.h>
#include <stddef.h>

#include "legacy-common.h"

#define CACHED 0x80000000u

extern const ptrdiff_t __rseq_offset;

static void set_cached(struct rseq *rs)
{
	rs->cpu_id_start |= CACHED;
}

static void clear_cached(struct rseq *rs)
{
	rs->cpu_id_start &= ~CACHED;
}

static int cached(const struct rseq *rs)
{
	return !!(rs->cpu_id_start & CACHED);
}

static int real_cpu(const struct rseq *rs)
{
	return (int)rs->cpu_id;
}

int main(void)
{
	struct rseq *rs = (struct rseq *)((char *)__builtin_thread_pointer() +
					  __rseq_offset);
	int a, b;

	if (legacy_two_cpus(&a, &b))
		return 77;
	LEGACY_CHECK(legacy_pin(a) == 0);
	set_cached(rs);
	LEGACY_CHECK(cached(rs));
	clear_cached(rs);
	LEGACY_CHECK(!cached(rs));
	LEGACY_CHECK(real_cpu(rs) == a);
	set_cached(rs);
	LEGACY_CHECK(legacy_pin(b) == 0);
	LEGACY_CHECK(!cached(rs));
	LEGACY_CHECK(real_cpu(rs) == b);
	return 0;
}
