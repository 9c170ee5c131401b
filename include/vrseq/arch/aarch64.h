/* SPDX-License-Identifier: MIT */
/*
 * aarch64 critical sections. Include <vrseq.h>, not this file.
 *
 * Same shape and the same building-block names as the x86_64 file (read its
 * comment for how to use them, and for UNLOADING: what a section in an
 * object that can be dlclose()d must do, VRSEQ_CS_LEAVE and
 * vrseq_cs_leave(), and why clearing rseq_cs after the section is safe):
 * descriptor in __rseq_cs, rseq_cs set with an adrp/add pair, one
 * committing store last, the abort handler out of line after the signature
 * (a brk instruction, so falling into it traps). Scratch registers: x9 and
 * x10. Labels 1-4 are taken.
 *
 * VRSEQ_CS_CLOBBERS also names x16 and x17: the abort handler branches back
 * from __rseq_failure into your function, and when the two are more than
 * 128 MiB apart the linker routes that branch through a veneer that uses
 * x16 (AAPCS64 lets it, "IP0/IP1"). The compiler must not keep a value there
 * across a section. GCC never allocates an operand to a clobbered register,
 * so no input can land in x9/x10/x16/x17; an output you write before the
 * commit must still be early-clobber ("=&r") so that it cannot share a
 * register with an input.
 */
#ifndef VRSEQ_ARCH_AARCH64_H
#define VRSEQ_ARCH_AARCH64_H

/*
 * "brk #0x45e0". The kernel compares the 32-bit word before abort_ip, read
 * in data byte order, with the signature the area was registered with
 * (glibc's RSEQ_SIG on aarch64 is the same). Instructions are little-endian
 * even on big-endian aarch64, where the word therefore reads byte-swapped.
 */
#ifdef __AARCH64EB__
# define VRSEQ_RSEQ_SIG		0x00bc28d4u
#else
# define VRSEQ_RSEQ_SIG		0xd428bc00u
#endif
#include <vrseq/arch/aarch64-cs.h>

#define VRSEQ_HAVE_CS		1	/* the building blocks exist here */
/* The instruction word, for ".inst" (no C suffix): VRSEQ_A64_SIG_T. */
#define VRSEQ_RSEQ_SIG_ASM	VRSEQ_CS_STR(VRSEQ_A64_SIG_T)

#include <vrseq/arch/sections.h>

/*
 * The blocks are written once, in <vrseq/arch/aarch64-cs.h>, for C and for
 * .S files (<vrseq/asm.h>); here they get the operands of the asm: [area],
 * [id], [tags], [slot], and x9 and x10 as scratch registers.
 */
#define VRSEQ_CS_BEGIN							\
	VRSEQ_A64_BEGIN_T(VRSEQ_CS_C_, %[area], x9)

#define VRSEQ_CS_END_TO(abort_target)					\
	VRSEQ_A64_END_T(VRSEQ_CS_C_, abort_target)

/*
 * rseq_cs = 0, right after VRSEQ_CS_END: the exit that falls through
 * clears it outside the section (UNLOADING in the x86_64 file). Uses [area].
 */
#define VRSEQ_CS_LEAVE							\
	VRSEQ_A64_LEAVE_T(VRSEQ_CS_C_, %[area])

#define VRSEQ_CS_SLOT_CHECK_TO(target)					\
	VRSEQ_A64_SLOT_CHECK_T(VRSEQ_CS_C_, %[id], %[tags], %[slot],	\
			       x9, w9, x10, target)

#define VRSEQ_CS_SLOT_LOAD_TO(dst, target)				\
	VRSEQ_A64_SLOT_LOAD_T(VRSEQ_CS_C_, %[id], %[tags], %[slot],	\
			      x9, w9, x10, dst, target)

#define VRSEQ_CS_INPUTS(s)						\
	[area] "r" ((s)->area), [id] "r" ((s)->id),			\
	[tags] "r" ((s)->tags), [slot] "r" (s)

/*
 * For VRSEQ_SLOT_CPU slots only, as on x86_64: the id is cpu_id_start, the
 * first field of the area, so one register serves as both and a load is
 * saved. (A fallback slot's area is unregistered memory whose first field
 * reads 0, the index its one-entry tag array expects.)
 */
#define VRSEQ_CS_INPUTS_CPU(s)						\
	[area] "r" ((s)->area), [id] "r" ((s)->area),			\
	[tags] "r" ((s)->tags), [slot] "r" (s)

#define VRSEQ_CS_CLOBBERS	"memory", "cc", "x9", "x10", "x16", "x17"

/*
 * SLOT-OPERAND BLOCKS (0.4.0+): the same names, operands and use as on
 * x86_64 (read the comment there). Here the slot's fields are plain memory
 * operands: a TLS slot's address is computed into a register by the
 * compiler (mrs tpidr_el0 and an add or a GOT load), hoisted out of loops
 * and shared by every section on that slot, and GCC's x86_64 TLS problem
 * does not arise. Register cost: that address register, [vrseq_scratch]
 * and the tmp/dst you name; the scratch is free again after
 * VRSEQ_CS_SLOT_LOAD_M/_CHECK_M. Clobbers: x16 and x17 (the abort
 * branch's veneer, see above), nothing else.
 */
#define VRSEQ_CS_INPUTS_M(s)						\
	[vrseq_area] "m" ((s).area), [vrseq_tags] "m" ((s).tags),	\
	[vrseq_tag] "m" ((s).tag), [vrseq_value] "m" ((s).value)
#define VRSEQ_CS_SCRATCH_M(var)	[vrseq_scratch] "=&r" (var)
#define VRSEQ_CS_CLOBBERS_M	"memory", "cc", "x16", "x17"

#define VRSEQ_CS_BEGIN_M(tmp)						\
	VRSEQ_A64_BEGIN_M_T(VRSEQ_CS_C_, (%[vrseq_area]), %[vrseq_scratch], \
			    "%x[" tmp "]")

#define VRSEQ_CS_SLOT_CHECK_M_TO(tmp, target)				\
	VRSEQ_A64_CHECK_M_T(VRSEQ_CS_C_, VRSEQ_AREA_OFF_CPU_ID_START,	\
			    (%[vrseq_tags]), (%[vrseq_tag]), %[vrseq_scratch], \
			    "%x[" tmp "]", "%w[" tmp "]", target)
#define VRSEQ_CS_SLOT_LOAD_M_TO(dst, target)				\
	VRSEQ_A64_LOAD_M_T(VRSEQ_CS_C_, VRSEQ_AREA_OFF_CPU_ID_START,	\
			   (%[vrseq_tags]), (%[vrseq_tag]), (%[vrseq_value]),	\
			   %[vrseq_scratch], "%x[" dst "]", "%w[" dst "]", \
			   target)
#define VRSEQ_CS_SLOT_CHECK_CID_M_TO(tmp, target)			\
	VRSEQ_A64_CHECK_M_T(VRSEQ_CS_C_, VRSEQ_AREA_OFF_MM_CID,		\
			    (%[vrseq_tags]), (%[vrseq_tag]), %[vrseq_scratch], \
			    "%x[" tmp "]", "%w[" tmp "]", target)
#define VRSEQ_CS_SLOT_LOAD_CID_M_TO(dst, target)			\
	VRSEQ_A64_LOAD_M_T(VRSEQ_CS_C_, VRSEQ_AREA_OFF_MM_CID,		\
			   (%[vrseq_tags]), (%[vrseq_tag]), (%[vrseq_value]),	\
			   %[vrseq_scratch], "%x[" dst "]", "%w[" dst "]", \
			   target)

#define VRSEQ_CS_LEAVE_M						\
	VRSEQ_A64_LEAVE_M_T(VRSEQ_CS_C_, (%[vrseq_area]), %[vrseq_scratch])

/* The status form, as on x86_64. Labels 5-7 are taken. */
#define VRSEQ_CS_FAIL		"5f"
#define VRSEQ_CS_STATUS(var)	[vrseq_status] "=&r" (var)
#define VRSEQ_CS_END_STATUS						\
	VRSEQ_A64_END_STATUS_T(VRSEQ_CS_C_, %w[vrseq_status])

/*
 * The sections of vrseq_slot_commit() and vrseq_slot_cas(). Every exit but
 * the abort clears rseq_cs: the commit in the asm, right after the section,
 * the others at their labels.
 */
static inline int vrseq_arch_commit(struct vrseq_slot *slot, uint64_t token,
				    uint64_t value)
{
	__asm__ __volatile__ goto (
		"mov x10, %[token]\n\t"
		VRSEQ_CS_BEGIN
		VRSEQ_A64_CHECK_TAG_T(VRSEQ_CS_C_, %[id], %[tags], x9, w9, x10,
				      VRSEQ_CS_GOTO("invalid"))
		"str %[value], [%[slot]]\n\t"
		"str %[token], [%[slot], #8]\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [token] "r" (token), [value] "r" (value)
		: VRSEQ_CS_CLOBBERS
		: invalid, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
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
		"ldr x9, [%[word]]\n\t"
		"cmp x9, %[expected]\n\t"
		"b.ne %l[changed]\n\t"
		"str %[desired], [%[word]]\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [word] "r" (word),
		  [expected] "r" (expected), [desired] "r" (desired)
		: VRSEQ_CS_CLOBBERS
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
changed:
	vrseq_cs_leave(slot);
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

/*
 * 0.4.0+: the same on a 32-bit word (vrseq_slot_cas32()): loaded, compared
 * and stored 32 bits wide (w registers), so the neighbouring half of a
 * 64-bit word is neither read nor written. The str w is the committing
 * store, last in the section.
 */
static inline int vrseq_arch_cas32(const struct vrseq_slot *slot,
				   uint32_t *word, uint32_t expected,
				   uint32_t desired)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_CHECK("invalid")
		"ldr w9, [%[word]]\n\t"
		"cmp w9, %w[expected]\n\t"
		"b.ne %l[changed]\n\t"
		"str %w[desired], [%[word]]\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [word] "r" (word),
		  [expected] "r" (expected), [desired] "r" (desired)
		: VRSEQ_CS_CLOBBERS
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
changed:
	vrseq_cs_leave(slot);
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

/*
 * 0.4.0+: vrseq_arch_cas() that also requires the slot's committed value to
 * be `value` (vrseq_slot_cas_value()); a valid slot holding another value
 * leaves through `invalid`. x10 holds the value after the check.
 */
static inline int vrseq_arch_cas_value(const struct vrseq_slot *slot,
				       uint64_t value, uint64_t *word,
				       uint64_t expected, uint64_t desired)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("x10", "invalid")
		"cmp x10, %[value]\n\t"
		"b.ne %l[invalid]\n\t"
		"ldr x9, [%[word]]\n\t"
		"cmp x9, %[expected]\n\t"
		"b.ne %l[changed]\n\t"
		"str %[desired], [%[word]]\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [value] "r" (value), [word] "r" (word),
		  [expected] "r" (expected), [desired] "r" (desired)
		: VRSEQ_CS_CLOBBERS
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
changed:
	vrseq_cs_leave(slot);
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

/* The same on a 32-bit word (vrseq_slot_cas32_value()). */
static inline int vrseq_arch_cas32_value(const struct vrseq_slot *slot,
					 uint64_t value, uint32_t *word,
					 uint32_t expected, uint32_t desired)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("x10", "invalid")
		"cmp x10, %[value]\n\t"
		"b.ne %l[invalid]\n\t"
		"ldr w9, [%[word]]\n\t"
		"cmp w9, %w[expected]\n\t"
		"b.ne %l[changed]\n\t"
		"str %w[desired], [%[word]]\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [value] "r" (value), [word] "r" (word),
		  [expected] "r" (expected), [desired] "r" (desired)
		: VRSEQ_CS_CLOBBERS
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
changed:
	vrseq_cs_leave(slot);
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

#endif /* VRSEQ_ARCH_AARCH64_H */
