/* SPDX-License-Identifier: MIT */
/*
 * x86_64 critical sections used by <vrseq.h>. Not a public interface on its
 * own: include <vrseq.h>.
 *
 * Each critical section publishes a descriptor in the __rseq_cs section, stores
 * its address in the thread's rseq_cs (the one field user space owns), and
 * ends with a single committing store. The abort handler lives out of line in
 * __rseq_failure, preceded by the signature the kernel checks; the signature is
 * the immediate of a ud1 instruction so that falling into it traps.
 */
#ifndef VRSEQ_ARCH_X86_64_H
#define VRSEQ_ARCH_X86_64_H

#define VRSEQ_RSEQ_SIG	0x53053053u
/* The same, spelled for the assembler (no C suffix). */
#define VRSEQ_RSEQ_SIG_ASM	"0x53053053"

#define VRSEQ_X86_STR_(x)	#x
#define VRSEQ_X86_STR(x)	VRSEQ_X86_STR_(x)

/* Descriptor for a section that starts at 1:, commits at 2: and aborts to 4:. */
#define VRSEQ_X86_CS_BEGIN(area_reg)					\
	".pushsection __rseq_cs, \"aw\"\n\t"				\
	".balign 32\n\t"						\
	"3:\n\t"							\
	".long 0x0, 0x0\n\t"						\
	".quad 1f, (2f - 1f), 4f\n\t"					\
	".popsection\n\t"						\
	".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"			\
	".quad 3b\n\t"							\
	".popsection\n\t"						\
	"leaq 3b(%%rip), %%rax\n\t"					\
	"movq %%rax, 8(%[" area_reg "])\n\t"				\
	"1:\n\t"

#define VRSEQ_X86_CS_END(abort_label)					\
	"2:\n\t"							\
	".pushsection __rseq_failure, \"ax\"\n\t"			\
	".byte 0x0f, 0xb9, 0x3d\n\t"					\
	".long " VRSEQ_RSEQ_SIG_ASM "\n\t"			\
	"4:\n\t"							\
	"jmp %l[" abort_label "]\n\t"					\
	".popsection\n\t"

/*
 * Inside the section: %eax = *id, then compare tags[id] with `expected_tag`
 * (a register or memory operand string) and leave through `fail_label` when
 * they differ. Clobbers rax.
 */
#define VRSEQ_X86_CS_CHECK_TAG(expected_tag, fail_label)		\
	"movl (%[id]), %%eax\n\t"					\
	"movq (%[tags], %%rax, 8), %%rax\n\t"				\
	"cmpq " expected_tag ", %%rax\n\t"				\
	"jne %l[" fail_label "]\n\t"

static inline int vrseq_arch_commit(struct vrseq_slot *slot, uint64_t token,
				    uint64_t value)
{
	__asm__ __volatile__ goto (
		VRSEQ_X86_CS_BEGIN("area")
		VRSEQ_X86_CS_CHECK_TAG("%[token]", "invalid")
		"movq %[value], (%[slot])\n\t"
		"movq %[token], 8(%[slot])\n\t"
		VRSEQ_X86_CS_END("aborted")
		:
		: [area] "r" (slot->area), [id] "r" (slot->id),
		  [tags] "r" (slot->tags), [token] "r" (token),
		  [value] "r" (value), [slot] "r" (slot)
		: "memory", "cc", "rax"
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
		VRSEQ_X86_CS_BEGIN("area")
		VRSEQ_X86_CS_CHECK_TAG("8(%[slot])", "invalid")
		"cmpq %[expected], (%[word])\n\t"
		"jne %l[changed]\n\t"
		"movq %[desired], (%[word])\n\t"
		VRSEQ_X86_CS_END("aborted")
		:
		: [area] "r" (slot->area), [id] "r" (slot->id),
		  [tags] "r" (slot->tags), [slot] "r" (slot),
		  [word] "r" (word), [expected] "r" (expected),
		  [desired] "r" (desired)
		: "memory", "cc", "rax"
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	return VRSEQ_INVALIDATED;
changed:
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

#endif /* VRSEQ_ARCH_X86_64_H */
