/* SPDX-License-Identifier: MIT */
/*
 * Legacy sample: glibc's area reached through __rseq_offset and the thread
 * pointer, written through directly and through a local pointer.
 */
#include <linux/rseq.h>
#include <vrseq/compat.h>
#include <stddef.h>

#include "legacy-common.h"

extern const ptrdiff_t __rseq_offset;

static struct rseq *area(void)
{
	return (struct rseq *)((char *)__builtin_thread_pointer() + __rseq_offset);
}

static void mark(uint32_t v)
{
	vrseq_compat_cpu_id_start_store(vrseq_thread_slot(), v);
}

static uint32_t peek(void)
{
	return vrseq_compat_cpu_id_start(vrseq_thread_slot());
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
	vrseq_compat_cpu_id_start_store(vrseq_thread_slot(), 0x80000008u);
	LEGACY_CHECK(vrseq_compat_cpu_id_start(vrseq_thread_slot()) == 0x80000008u);
	/* The real CPU number is still there to read. */
	LEGACY_CHECK(rs->cpu_id == (uint32_t)a);
	LEGACY_CHECK(legacy_pin(b) == 0);
	LEGACY_CHECK(peek() == (uint32_t)b);
	LEGACY_CHECK(rs->cpu_id == (uint32_t)b);
	return 0;
}
