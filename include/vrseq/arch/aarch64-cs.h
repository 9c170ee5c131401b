/* SPDX-License-Identifier: MIT */
/*
 * The aarch64 building blocks, each written once for C and for .S files
 * (how: <vrseq/arch/cs.h>). <vrseq/arch/aarch64.h> instantiates them as the
 * C string macros, <vrseq/asm.h> as assembler macros. Include one of those,
 * not this file. Preprocessor text only; immediates without '#'.
 *
 * Arguments: F the form; area, id, tags registers holding the slot's area,
 * id pointer and tag array; m_* memory operands of the slot's fields
 * (m_value, m_tag, m_tags, m_area), each in parentheses so that the comma
 * of "[x1, 8]" cannot split it: "([x1, 8])" in .S, "(%[vrseq_tag])" for a
 * C "m" operand;
 * scratch/scratch32 one register in its x and w names, scratch2 another;
 * names ending in '_' are strings in C. Labels 1-4 (5-7 in the status
 * form) are the blocks'.
 */
#ifndef VRSEQ_ARCH_AARCH64_CS_H
#define VRSEQ_ARCH_AARCH64_CS_H

#include <vrseq/arch/cs.h>

/* "brk 0x45e0", the instruction word before every abort handler. */
#define VRSEQ_A64_SIG_T		0xd428bc00

/* Descriptor; rseq_cs (at 8 in the area) = its address; label 1. */
#define VRSEQ_A64_BEGIN_T(F, area, scratch)				\
	VRSEQ_CS_DESCRIPTOR_T(F)					\
	F##S(adrp scratch, 3b)						\
	F##S(add scratch, scratch, :lo12:3b)				\
	F##S(str scratch, [area, 8])					\
	F##S(1:)

/* Label 2 ends the section; the abort handler branches to target_. */
#define VRSEQ_A64_END_T(F, target_)					\
	VRSEQ_A64_END_T_(F, target_, VRSEQ_CS_FLAGS_ABORT, VRSEQ_A64_SIG_T)
#define VRSEQ_A64_END_T_(F, target_, abort_flags, sig)			\
	F##S(2:)							\
	F##S(.pushsection __rseq_failure, abort_flags)			\
	F##S(.inst sig)							\
	F##S(4:)							\
	F##T(b) target_ F##E						\
	F##S(.popsection)

/* rseq_cs = 0, after the section. */
#define VRSEQ_A64_LEAVE_T(F, area)					\
	F##S(str xzr, [area, 8])

/* scratch = tags[*id]; to target_ unless it equals `expected`. */
#define VRSEQ_A64_CHECK_TAG_T(F, id, tags, scratch, scratch32, expected, \
			      target_)					\
	F##S(ldr scratch32, [id])					\
	F##S(ldr scratch, [tags, scratch32, uxtw 3])			\
	F##S(cmp scratch, expected)					\
	F##T(b.ne) target_ F##E

/*
 * scratch2 = the slot's tag, then the check; slot is the register holding
 * the slot's address (a "[reg, off]" operand cannot be an argument: its
 * comma would split it).
 */
#define VRSEQ_A64_SLOT_CHECK_T(F, id, tags, slot, scratch, scratch32,	\
			       scratch2, target_)			\
	VRSEQ_A64_SLOT_CHECK_T_(F, id, tags, slot, VRSEQ_SLOT_OFF_TAG,	\
				scratch, scratch32, scratch2, target_)
#define VRSEQ_A64_SLOT_CHECK_T_(F, id, tags, slot, tagoff, scratch,	\
				scratch32, scratch2, target_)		\
	F##S(ldr scratch2, [slot, tagoff])				\
	VRSEQ_A64_CHECK_TAG_T(F, id, tags, scratch, scratch32, scratch2,	\
			      target_)

/* The check, then dst_ = the slot's value. */
#define VRSEQ_A64_SLOT_LOAD_T(F, id, tags, slot, scratch, scratch32,	\
			      scratch2, dst_, target_)			\
	VRSEQ_A64_SLOT_LOAD_T_(F, id, tags, slot, VRSEQ_SLOT_OFF_VALUE,	\
			       scratch, scratch32, scratch2, dst_, target_)
#define VRSEQ_A64_SLOT_LOAD_T_(F, id, tags, slot, valoff, scratch,	\
			       scratch32, scratch2, dst_, target_)	\
	VRSEQ_A64_SLOT_CHECK_T(F, id, tags, slot, scratch, scratch32,	\
			       scratch2, target_)			\
	F##T(ldr) dst_ F##T(, [slot, valoff]) F##E

/*
 * The slot-operand blocks: scratch ends up holding the area (BEGIN_M) and
 * tags[id] (the check); tmp_ the descriptor's address, then the id, then
 * the tag. idoff: where the id is in the area (cpu_id_start or mm_cid).
 */
#define VRSEQ_A64_BEGIN_M_T(F, m_area, scratch, tmp_)			\
	VRSEQ_CS_DESCRIPTOR_T(F)					\
	F##T(ldr scratch,) F##P m_area F##E				\
	F##T(adrp) tmp_ F##T(, 3b) F##E					\
	F##T(add) tmp_ F##T(,) tmp_ F##T(, :lo12:3b) F##E		\
	F##T(str) tmp_ F##T(, [scratch, 8]) F##E			\
	F##S(1:)

#define VRSEQ_A64_CHECK_M_T(F, idoff, m_tags, m_tag, scratch, tmp_,	\
			    tmp32_, target_)				\
	F##T(ldr) tmp32_ F##T(, [scratch, idoff]) F##E			\
	F##T(ldr scratch,) F##P m_tags F##E				\
	F##T(ldr scratch, [scratch,) tmp32_ F##T(, uxtw 3]) F##E	\
	F##T(ldr) tmp_ F##T(,) F##P m_tag F##E				\
	F##T(cmp scratch,) tmp_ F##E					\
	F##T(b.ne) target_ F##E

#define VRSEQ_A64_LOAD_M_T(F, idoff, m_tags, m_tag, m_value, scratch,	\
			   dst_, dst32_, target_)			\
	VRSEQ_A64_CHECK_M_T(F, idoff, m_tags, m_tag, scratch, dst_,	\
			    dst32_, target_)				\
	F##T(ldr) dst_ F##T(,) F##P m_value F##E

#define VRSEQ_A64_LEAVE_M_T(F, m_area, scratch)				\
	F##T(ldr scratch,) F##P m_area F##E				\
	F##S(str xzr, [scratch, 8])

/*
 * The status form's end: status32 = VRSEQ_COMMITTED (fell through),
 * VRSEQ_INVALIDATED (branched to label 5) or VRSEQ_ABORTED; label 7 joins.
 */
#define VRSEQ_A64_END_STATUS_T(F, status32)				\
	VRSEQ_A64_END_STATUS_T_(F, status32, VRSEQ_CS_ST_COMMITTED,	\
				VRSEQ_CS_ST_INVALIDATED, VRSEQ_CS_ST_ABORTED)
#define VRSEQ_A64_END_STATUS_T_(F, status32, committed, invalidated,	\
				aborted)				\
	VRSEQ_A64_END_T(F, F##Q(6f))					\
	F##S(mov status32, committed)					\
	F##S(b 7f)							\
	F##S(5:)							\
	F##S(mov status32, invalidated)					\
	F##S(b 7f)							\
	F##S(6:)							\
	F##S(mov status32, aborted)					\
	F##S(7:)

#endif /* VRSEQ_ARCH_AARCH64_CS_H */
