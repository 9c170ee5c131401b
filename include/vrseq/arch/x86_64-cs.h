/* SPDX-License-Identifier: MIT */
/*
 * The x86_64 building blocks, each written once for C and for .S files
 * (how: <vrseq/arch/cs.h>). <vrseq/arch/x86_64.h> instantiates them as the
 * C string macros, <vrseq/asm.h> as assembler macros. Include one of those,
 * not this file. Preprocessor text only.
 *
 * Arguments: F the form; rip the instruction pointer register ("%%rip" in
 * C, "%rip" in .S); area, id, tags, slot registers holding the slot's area,
 * id pointer, tag array and address; scratch/scratch32 one register, in
 * its 64- and 32-bit names; m_* memory operands of the slot's fields
 * (m_value, m_tag, m_tags, m_area); names ending in '_' are strings in C.
 * Labels 1-4 (5-7 in the status form) are the blocks'.
 */
#ifndef VRSEQ_ARCH_X86_64_CS_H
#define VRSEQ_ARCH_X86_64_CS_H

#include <vrseq/arch/cs.h>

/*
 * The signature before every abort handler, the immediate of a ud1 so that
 * falling into it traps (VRSEQ_RSEQ_SIG in C).
 */
#define VRSEQ_X86_SIG_T		0x53053053

/* Descriptor; rseq_cs (at 8 in the area) = its address; label 1. */
#define VRSEQ_X86_BEGIN_T(F, rip, area, scratch)			\
	VRSEQ_CS_DESCRIPTOR_T(F)					\
	F##S(leaq 3b(rip), scratch)					\
	F##S(movq scratch, 8(area))					\
	F##S(1:)

/* Label 2 ends the section; the abort handler jumps to target_. */
#define VRSEQ_X86_END_T(F, target_)					\
	VRSEQ_X86_END_T_(F, target_, VRSEQ_CS_FLAGS_ABORT, VRSEQ_X86_SIG_T)
#define VRSEQ_X86_END_T_(F, target_, abort_flags, sig)			\
	F##S(2:)							\
	F##S(.pushsection __rseq_failure, abort_flags)			\
	F##S(.byte 0x0f, 0xb9, 0x3d)					\
	F##S(.long sig)							\
	F##S(4:)							\
	F##T(jmp) target_ F##E						\
	F##S(.popsection)

/* rseq_cs = 0, after the section. */
#define VRSEQ_X86_LEAVE_T(F, area)					\
	F##S(movq $0, 8(area))

/* tags[*id] compared with the operand `expected`; else to target_. */
#define VRSEQ_X86_CHECK_TAG_T(F, id, tags, scratch, scratch32, expected, \
			      target_)					\
	F##S(movl (id), scratch32)					\
	F##S(movq (tags, scratch, 8), scratch)				\
	F##S(cmpq expected, scratch)					\
	F##T(jne) target_ F##E

#define VRSEQ_X86_SLOT_CHECK_T(F, id, tags, m_tag, scratch, scratch32,	\
			       target_)					\
	VRSEQ_X86_CHECK_TAG_T(F, id, tags, scratch, scratch32, m_tag, target_)

/* The check, then dst_ = the slot's value. */
#define VRSEQ_X86_SLOT_LOAD_T(F, id, tags, m_tag, m_value, scratch,	\
			      scratch32, dst_, target_)			\
	VRSEQ_X86_SLOT_CHECK_T(F, id, tags, m_tag, scratch, scratch32,	\
			       target_)					\
	F##T(movq m_value,) dst_ F##E

/*
 * The slot-operand blocks: the slot's fields are memory operands (in C
 * %fs-relative through [vrseq_tp]); scratch ends up holding the area
 * (BEGIN_M) and tags[id] (the check); tmp_ the descriptor's address, then
 * the id. idoff: where the id is in the area (cpu_id_start or mm_cid).
 */
#define VRSEQ_X86_BEGIN_M_T(F, rip, m_area, scratch, tmp_)		\
	VRSEQ_CS_DESCRIPTOR_T(F)					\
	F##S(movq m_area, scratch)					\
	F##T(leaq 3b(rip),) tmp_ F##E					\
	F##T(movq) tmp_ F##T(, 8(scratch)) F##E				\
	F##S(1:)

#define VRSEQ_X86_CHECK_M_T(F, idoff, m_tags, m_tag, scratch, tmp_,	\
			    tmp32_, target_)				\
	F##T(movl idoff(scratch),) tmp32_ F##E				\
	F##S(movq m_tags, scratch)					\
	F##T(movq) F##LP F##T(scratch,) tmp_ F##T(, 8) F##RP		\
		F##T(, scratch) F##E					\
	F##S(cmpq m_tag, scratch)					\
	F##T(jne) target_ F##E

#define VRSEQ_X86_LOAD_M_T(F, idoff, m_tags, m_tag, m_value, scratch,	\
			   dst_, dst32_, target_)			\
	VRSEQ_X86_CHECK_M_T(F, idoff, m_tags, m_tag, scratch, dst_,	\
			    dst32_, target_)				\
	F##T(movq m_value,) dst_ F##E

#define VRSEQ_X86_LEAVE_M_T(F, m_area, scratch)				\
	F##S(movq m_area, scratch)					\
	F##S(movq $0, 8(scratch))

/*
 * The status form's end: status32 = VRSEQ_COMMITTED (fell through),
 * VRSEQ_INVALIDATED (jumped to label 5) or VRSEQ_ABORTED; label 7 joins.
 */
#define VRSEQ_X86_END_STATUS_T(F, status32)				\
	VRSEQ_X86_END_STATUS_T_(F, status32, VRSEQ_CS_ST_INVALIDATED,	\
				VRSEQ_CS_ST_ABORTED)
#define VRSEQ_X86_END_STATUS_T_(F, status32, invalidated, aborted)	\
	VRSEQ_X86_END_T(F, F##Q(6f))					\
	F##S(xorl status32, status32)					\
	F##S(jmp 7f)							\
	F##S(5:)							\
	F##S(movl $(invalidated), status32)				\
	F##S(jmp 7f)							\
	F##S(6:)							\
	F##S(movl $(aborted), status32)					\
	F##S(7:)

#endif /* VRSEQ_ARCH_X86_64_CS_H */
