/* SPDX-License-Identifier: MIT */
/*
 * Architectures without vrseq critical sections (0.4.0+): the library
 * builds and every slot is bound in fallback mode (vrseq_info.fallback ==
 * VRSEQ_FALLBACK_ARCH), so reads are invalid, commits and compare-and-store
 * return VRSEQ_UNCACHED and fences are correct and cheap -- the contract of
 * vrseq(7), Fallback. A portable allocator can depend on vrseq everywhere
 * and take its uncached path there. VRSEQ_HAVE_CS is 0 and no building
 * block (VRSEQ_CS_*) is defined: code with its own sections must be
 * conditional on VRSEQ_HAVE_CS.
 */
#ifndef VRSEQ_ARCH_GENERIC_H
#define VRSEQ_ARCH_GENERIC_H

#define VRSEQ_HAVE_CS		0

/*
 * The signature vrseq registers its own area with where glibc registers
 * none; nothing ever aborts to it. The kernel's rseq selftests use this
 * value for architectures they know no better encoding for.
 */
#define VRSEQ_RSEQ_SIG		0x53053053u

/* Never reached: the callers return VRSEQ_UNCACHED for fallback slots. */
static inline int vrseq_arch_commit(struct vrseq_slot *slot, uint64_t token,
				    uint64_t value)
{
	(void)slot, (void)token, (void)value;
	return VRSEQ_UNCACHED;
}

static inline int vrseq_arch_cas(const struct vrseq_slot *slot, uint64_t *word,
				 uint64_t expected, uint64_t desired)
{
	(void)slot, (void)word, (void)expected, (void)desired;
	return VRSEQ_UNCACHED;
}

static inline int vrseq_arch_cas32(const struct vrseq_slot *slot,
				   uint32_t *word, uint32_t expected,
				   uint32_t desired)
{
	(void)slot, (void)word, (void)expected, (void)desired;
	return VRSEQ_UNCACHED;
}

static inline int vrseq_arch_cas_value(const struct vrseq_slot *slot,
				       uint64_t value, uint64_t *word,
				       uint64_t expected, uint64_t desired)
{
	(void)slot, (void)value, (void)word, (void)expected, (void)desired;
	return VRSEQ_UNCACHED;
}

static inline int vrseq_arch_cas32_value(const struct vrseq_slot *slot,
					 uint64_t value, uint32_t *word,
					 uint32_t expected, uint32_t desired)
{
	(void)slot, (void)value, (void)word, (void)expected, (void)desired;
	return VRSEQ_UNCACHED;
}

/* Sections never run, so there is never an rseq_cs to clear. */
static inline void vrseq_cs_leave(const struct vrseq_slot *slot)
{
	(void)slot;
}

#endif /* VRSEQ_ARCH_GENERIC_H */
