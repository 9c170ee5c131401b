/* SPDX-License-Identifier: MIT */
/*
 * aarch64 critical sections used by <vrseq.h>. Not a public interface on its
 * own: include <vrseq.h>.
 *
 * Same shape as the x86_64 file: descriptor in __rseq_cs, rseq_cs set with an
 * adrp/add pair, one committing store, the abort handler out of line after the
 * signature (a brk instruction, so falling into it traps).
 */
#ifndef VRSEQ_ARCH_AARCH64_H
#define VRSEQ_ARCH_AARCH64_H

#define VRSEQ_RSEQ_SIG	0xd428bc00u
/* The same, spelled for the assembler (no C suffix). */
#define VRSEQ_RSEQ_SIG_ASM	"0xd428bc00"

#define VRSEQ_A64_CS_BEGIN(area_reg)					\
	".pushsection __rseq_cs, \"aw\"\n\t"				\
	".balign 32\n\t"						\
	"3:\n\t"							\
	".long 0x0, 0x0\n\t"						\
	".quad 1f, (2f - 1f), 4f\n\t"					\
	".popsection\n\t"						\
	".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"			\
	".quad 3b\n\t"							\
	".popsection\n\t"						\
	"adrp x9, 3b\n\t"						\
	"add x9, x9, :lo12:3b\n\t"					\
	"str x9, [%[" area_reg "], #8]\n\t"				\
	"1:\n\t"

#define VRSEQ_A64_CS_END(abort_label)					\
	"2:\n\t"							\
	".pushsection __rseq_failure, \"ax\"\n\t"			\
	".inst " VRSEQ_RSEQ_SIG_ASM "\n\t"			\
	"4:\n\t"							\
	"b %l[" abort_label "]\n\t"					\
	".popsection\n\t"

/* x9 = tags[*id]; leaves through fail_label unless it equals x10. */
#define VRSEQ_A64_CS_CHECK_TAG(fail_label)				\
	"ldr w9, [%[id]]\n\t"						\
	"ldr x9, [%[tags], w9, uxtw #3]\n\t"				\
	"cmp x9, x10\n\t"						\
	"b.ne %l[" fail_label "]\n\t"

static inline int vrseq_arch_commit(struct vrseq_slot *slot, uint64_t token,
				    uint64_t value)
{
	__asm__ __volatile__ goto (
		"mov x10, %[token]\n\t"
		VRSEQ_A64_CS_BEGIN("area")
		VRSEQ_A64_CS_CHECK_TAG("invalid")
		"str %[value], [%[slot]]\n\t"
		"str %[token], [%[slot], #8]\n\t"
		VRSEQ_A64_CS_END("aborted")
		:
		: [area] "r" (slot->area), [id] "r" (slot->id),
		  [tags] "r" (slot->tags), [token] "r" (token),
		  [value] "r" (value), [slot] "r" (slot)
		: "memory", "cc", "x9", "x10"
		: invalid, aborted);
	return VRSEQ_COMMITTED;
invalid:
	return VRSEQ_INVALIDATED;
aborted:
	return VRSEQ_ABORTED;
}

static inline int vrseq_arch_cas(const struct vrseq_slot *slot, uint64_t *word,
				 uint64_t expected, uint64_t desired)
{
	__asm__ __volatile__ goto (
		VRSEQ_A64_CS_BEGIN("area")
		"ldr x10, [%[slot], #8]\n\t"
		VRSEQ_A64_CS_CHECK_TAG("invalid")
		"ldr x9, [%[word]]\n\t"
		"cmp x9, %[expected]\n\t"
		"b.ne %l[changed]\n\t"
		"str %[desired], [%[word]]\n\t"
		VRSEQ_A64_CS_END("aborted")
		:
		: [area] "r" (slot->area), [id] "r" (slot->id),
		  [tags] "r" (slot->tags), [slot] "r" (slot),
		  [word] "r" (word), [expected] "r" (expected),
		  [desired] "r" (desired)
		: "memory", "cc", "x9", "x10"
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	return VRSEQ_INVALIDATED;
changed:
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

#endif /* VRSEQ_ARCH_AARCH64_H */
