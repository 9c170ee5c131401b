/* SPDX-License-Identifier: MIT */
/*
 * x86_64 critical sections. Include <vrseq.h>, not this file.
 *
 * A section publishes a descriptor in the __rseq_cs section, stores its
 * address in the thread's rseq_cs (the one field user space owns), runs from
 * label 1 to label 2, and ends with a single committing store. The abort
 * handler lives out of line in __rseq_failure after the signature the kernel
 * checks, encoded as the immediate of a ud1 so that falling into it traps.
 *
 * BUILDING BLOCKS for your own sections (the same names on every
 * architecture; see vrseq(7) and tests/percpu-cache.c for pop and push):
 *
 *	__asm__ __volatile__ goto (
 *		VRSEQ_CS_BEGIN
 *		VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")	// rcx = cached value
 *		... your loads, at most one committing store, last ...
 *		VRSEQ_CS_END("aborted")
 *		: outputs : VRSEQ_CS_INPUTS(slot), more inputs
 *		: VRSEQ_CS_CLOBBERS, your clobbers : invalid, aborted, ...);
 *
 * VRSEQ_CS_SLOT_CHECK/LOAD leave through `fail` unless the slot is valid
 * *now*: same CPU (or cid) as at its commit and no fence since. Because the
 * check runs inside the section, a migration or fence after it aborts the
 * section, so whatever you do with the value until the commit is covered.
 * Scratch register: rax. Labels 1-4 are taken. The fast path of a slot load
 * is VRSEQ_X86_64_SLOT_LOAD_INSNS instructions (checked by make check).
 */
#ifndef VRSEQ_ARCH_X86_64_H
#define VRSEQ_ARCH_X86_64_H

#define VRSEQ_RSEQ_SIG		0x53053053u
/* The same, spelled for the assembler (no C suffix). */
#define VRSEQ_RSEQ_SIG_ASM	"0x53053053"

/*
 * Instructions on the valid path of
 *	uint64_t f(const struct vrseq_slot *s)
 *	{ uint64_t v; return vrseq_slot_load(s, &v) ? v : 0; }
 * up to and including ret: 2 pointer loads, the id, the tag, compare,
 * branch, the value, ret. A raw cpu_id_start load through __rseq_offset is 3
 * instructions plus ret.
 */
#define VRSEQ_X86_64_SLOT_LOAD_INSNS	8

#define VRSEQ_CS_STR_(x)	#x
#define VRSEQ_CS_STR(x)		VRSEQ_CS_STR_(x)

#define VRSEQ_CS_BEGIN							\
	".pushsection __rseq_cs, \"aw\"\n\t"				\
	".balign 32\n\t"						\
	"3:\n\t"							\
	".long 0x0, 0x0\n\t"						\
	".quad 1f, (2f - 1f), 4f\n\t"					\
	".popsection\n\t"						\
	".pushsection __rseq_cs_ptr_array, \"aw\"\n\t"			\
	".balign 8\n\t"							\
	".quad 3b\n\t"							\
	".popsection\n\t"						\
	"leaq 3b(%%rip), %%rax\n\t"					\
	"movq %%rax, 8(%[area])\n\t"					\
	"1:\n\t"

#define VRSEQ_CS_END(abort_label)					\
	"2:\n\t"							\
	".pushsection __rseq_failure, \"ax\"\n\t"			\
	".byte 0x0f, 0xb9, 0x3d\n\t"					\
	".long " VRSEQ_RSEQ_SIG_ASM "\n\t"				\
	"4:\n\t"							\
	"jmp %l[" abort_label "]\n\t"					\
	".popsection\n\t"

/* tags[*id] compared with `expected` (an operand string). */
#define VRSEQ_X86_CHECK_TAG(expected, fail_label)			\
	"movl (%[id]), %%eax\n\t"					\
	"movq (%[tags], %%rax, 8), %%rax\n\t"				\
	"cmpq " expected ", %%rax\n\t"					\
	"jne %l[" fail_label "]\n\t"

#define VRSEQ_CS_SLOT_CHECK(fail_label)					\
	VRSEQ_X86_CHECK_TAG("8(%[slot])", fail_label)

#define VRSEQ_CS_SLOT_LOAD(dst, fail_label)				\
	VRSEQ_CS_SLOT_CHECK(fail_label)					\
	"movq (%[slot]), " dst "\n\t"

#define VRSEQ_CS_INPUTS(s)						\
	[area] "r" ((s)->area), [id] "r" ((s)->id),			\
	[tags] "r" ((s)->tags), [slot] "r" (s)

/*
 * For VRSEQ_SLOT_CPU slots only: the id is cpu_id_start, the first field
 * of the area, so one register serves as both and a load is saved. (A
 * fallback slot's area is unregistered memory whose first field reads 0,
 * the index its one-entry tag array expects.)
 */
#define VRSEQ_CS_INPUTS_CPU(s)						\
	[area] "r" ((s)->area), [id] "r" ((s)->area),			\
	[tags] "r" ((s)->tags), [slot] "r" (s)

#define VRSEQ_CS_CLOBBERS	"memory", "cc", "rax"

static inline int vrseq_arch_commit(struct vrseq_slot *slot, uint64_t token,
				    uint64_t value)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_X86_CHECK_TAG("%[token]", "invalid")
		"movq %[value], (%[slot])\n\t"
		"movq %[token], 8(%[slot])\n\t"
		VRSEQ_CS_END("aborted")
		:
		: VRSEQ_CS_INPUTS(slot), [token] "r" (token), [value] "r" (value)
		: VRSEQ_CS_CLOBBERS
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
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_CHECK("invalid")
		"cmpq %[expected], (%[word])\n\t"
		"jne %l[changed]\n\t"
		"movq %[desired], (%[word])\n\t"
		VRSEQ_CS_END("aborted")
		:
		: VRSEQ_CS_INPUTS(slot), [word] "r" (word),
		  [expected] "r" (expected), [desired] "r" (desired)
		: VRSEQ_CS_CLOBBERS
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
