/* SPDX-License-Identifier: MIT */
/*
 * Compiled for test-fastpath.sh, which counts the instructions of these
 * functions' valid paths with objdump; never run.
 */
#include <vrseq.h>

uint64_t fastpath_slot_load(const struct vrseq_slot *slot);
uint32_t fastpath_raw_cpu_id_start(void);

/* The documented fast path: VRSEQ_X86_64_SLOT_LOAD_INSNS. */
uint64_t fastpath_slot_load(const struct vrseq_slot *slot)
{
	uint64_t v;

	return vrseq_slot_load(slot, &v) ? v : 0;
}

extern const ptrdiff_t __rseq_offset;

/* For comparison: what legacy code pays to read cpu_id_start. */
uint32_t fastpath_raw_cpu_id_start(void)
{
	return *(volatile uint32_t *)((char *)__builtin_thread_pointer() +
				      __rseq_offset);
}
