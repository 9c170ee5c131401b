/* SPDX-License-Identifier: MIT */
/*
 * Legacy sample: glibc's area reached through __rseq_offset and the thread
 * pointer, written through directly and through a local pointer.
 */
#include <linux/rseq.h>
#include <stddef.h>

#include "legacy-common.h"

extern const ptrdiff_t __rseq_offset;

static struct rseq *area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static void mark(uint32_t v)
{
	((struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset))->cpu_id_start = v;
}

static uint32_t peek(void)
{
	return ((struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset))->cpu_id_start;
}

int main(void)
{
	struct rseq *rs = area();
	int a, b;

	if (legacy_two_cpus(&a, &b))
		return 77;
	LEGACY_CHECK(legacy_pin(a) == 0);
	mark(0x80000007u);
	LEGACY_CHECK(peek() == 0x80000007u);
	rs->cpu_id_start = 0x80000008u;
	LEGACY_CHECK(rs->cpu_id_start == 0x80000008u);
	/* The real CPU number is still there to read. */
	LEGACY_CHECK(rs->cpu_id == (uint32_t)a);
	LEGACY_CHECK(legacy_pin(b) == 0);
	LEGACY_CHECK(peek() == (uint32_t)b);
	LEGACY_CHECK(rs->cpu_id == (uint32_t)b);
	return 0;
}
