/* SPDX-License-Identifier: MIT */
/*
 * Legacy-shaped views over a vrseq slot, so that ported per-CPU code keeps
 * its logic while it stops writing the kernel's cpu_id_start.
 * Installed as <vrseq/compat.h>.
 *
 * Each function names the legacy expression it replaces. The views are
 * exactly as valid as the slot: a value survives until the thread is on
 * another CPU at read time, or a vrseq fence covering its CPU ran (see
 * vrseq(7)). Preemption and signals on the same CPU no longer invalidate --
 * see doc/porting.md for the legacy habits that relied on that.
 */
#ifndef VRSEQ_COMPAT_H
#define VRSEQ_COMPAT_H

#include <vrseq.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * The 32-bit "virtual cpu_id_start".
 */

/*
 * Replaces a read of `__rseq_abi.cpu_id_start` (or `rs->cpu_id_start`):
 * what was stored there while it is valid, else the current CPU number --
 * what a pre-6.19 kernel left after overwriting it.
 */
VRSEQ_INLINE uint32_t vrseq_compat_cpu_id_start(const struct vrseq_slot *slot)
{
	return vrseq_slot_cpu_view(slot);
}

/*
 * Replaces `__rseq_abi.cpu_id_start = value` (a store into the kernel's
 * field): the value goes to the slot instead, valid on this CPU until it
 * changes or a fence runs. Returns VRSEQ_COMMITTED, VRSEQ_INVALIDATED (the
 * CPU changed or a fence ran meanwhile), or VRSEQ_UNCACHED in fallback mode
 * (then reads keep returning the CPU number).
 */
VRSEQ_INLINE int vrseq_compat_cpu_id_start_store(struct vrseq_slot *slot,
						  uint32_t value)
{
	return vrseq_slot_store(slot, value);
}

/* Replaces `__rseq_abi.cpu_id_start |= bits`. */
VRSEQ_INLINE int vrseq_compat_cpu_id_start_or(struct vrseq_slot *slot,
					       uint32_t bits)
{
	return vrseq_slot_store(slot, vrseq_slot_cpu_view(slot) | bits);
}

/* Replaces `__rseq_abi.cpu_id_start &= mask`. */
VRSEQ_INLINE int vrseq_compat_cpu_id_start_and(struct vrseq_slot *slot,
						uint32_t mask)
{
	return vrseq_slot_store(slot, vrseq_slot_cpu_view(slot) & mask);
}

/* ------------------------------------------------------------------------
 * The tcmalloc-style 64-bit cached word: its top 32 bits overlaid
 * cpu_id_start, bit 63 meant "cached", and the kernel's overwrite with a CPU
 * number (< 2^31) cleared it.
 */

#define VRSEQ_COMPAT_CACHED	(UINT64_C(1) << 63)

/*
 * Replaces a load of the cached word (`tcmalloc_slabs`): the cached value
 * with VRSEQ_COMPAT_CACHED set while valid, else (cpu << 32) with the bit
 * clear -- the word as the kernel's overwrite left it.
 */
VRSEQ_INLINE uint64_t vrseq_compat_word_load(const struct vrseq_slot *slot)
{
	uint64_t value;

	if (vrseq_slot_load(slot, &value))
		return value | VRSEQ_COMPAT_CACHED;
	return (uint64_t)vrseq_slot_cpu_view(slot) << 32;
}

/* True while the word would have had its cached bit set. */
VRSEQ_INLINE bool vrseq_compat_word_cached(const struct vrseq_slot *slot)
{
	return vrseq_slot_valid(slot);
}

/*
 * Replaces step 1 of caching, `word = CACHED` (the sentinel): take an
 * observation instead. Nothing is parked in the slot, so a signal handler's
 * fast path can never see a half-made cache entry.
 */
VRSEQ_INLINE vrseq_token_t vrseq_compat_word_begin(const struct vrseq_slot *slot)
{
	return vrseq_slot_observe(slot);
}

/* The CPU the observation was taken on: compute the value for this one. */
VRSEQ_INLINE uint32_t vrseq_compat_word_cpu(vrseq_token_t token)
{
	return vrseq_token_id(token);
}

/*
 * Replaces step 3, the critical section "if (word & CACHED) word = value |
 * CACHED": commits if nothing invalidated the slot since begin(). The cached
 * bit is not stored. Returns true when committed.
 */
VRSEQ_INLINE bool vrseq_compat_word_commit(struct vrseq_slot *slot,
					    vrseq_token_t token, uint64_t value)
{
	return vrseq_slot_commit(slot, token, value & ~VRSEQ_COMPAT_CACHED) ==
	       VRSEQ_COMMITTED;
}

/* Replaces `word = 0` (uncaching this thread's entry). */
VRSEQ_INLINE void vrseq_compat_word_uncache(struct vrseq_slot *slot)
{
	vrseq_slot_clear(slot);
}

#ifdef __cplusplus
}
#endif

#endif /* VRSEQ_COMPAT_H */
