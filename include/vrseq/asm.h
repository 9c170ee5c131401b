/* SPDX-License-Identifier: MIT */
/*
 * <vrseq/asm.h>: vrseq's critical-section building blocks for preprocessed
 * assembly files (.S), 0.4.0+. C and C++ include <vrseq.h>, whose string
 * macros have the same names; both are instantiated from one definition of
 * each encoding (<vrseq/arch/x86_64-cs.h>, <vrseq/arch/aarch64-cs.h>), so
 * a section in a .S file and one in C assemble to the same instructions
 * and descriptors. See vrseq_cs(7), ASSEMBLY FILES.
 *
 * In C the blocks name their operands ([area], [vrseq_scratch] ...); in
 * .S there are no operands, so each block takes the registers it uses as
 * arguments. Every block expands to several statements on one line,
 * separated by ';'. Labels 1-4 (and 5-7 with VRSEQ_CS_END_STATUS) belong
 * to the blocks: the section's own code must not define them.
 *
 * x86_64 (AT&T syntax):
 *   VRSEQ_CS_BEGIN(area, scratch)
 *   VRSEQ_CS_SLOT_CHECK(id, tags, slot, scratch, scratch32, target)
 *   VRSEQ_CS_SLOT_LOAD(id, tags, slot, scratch, scratch32, dst, target)
 *   VRSEQ_CS_BEGIN_M(tp, scratch, tmp)
 *   VRSEQ_CS_SLOT_CHECK_M(tp, scratch, tmp, tmp32, target)
 *   VRSEQ_CS_SLOT_LOAD_M(tp, scratch, dst, dst32, target)
 *   VRSEQ_CS_SLOT_CHECK_CID_M, VRSEQ_CS_SLOT_LOAD_CID_M (the same)
 *   VRSEQ_CS_END(target), VRSEQ_CS_END_STATUS(status32)
 *   VRSEQ_CS_LEAVE(area), VRSEQ_CS_LEAVE_M(tp, scratch)
 * where area, id, tags and slot hold the slot's area, id pointer, tag
 * array and address (struct vrseq_slot's fields); tp holds the slot's
 * address minus the thread pointer, which for an initial-exec TLS slot is
 * "movq slot@gottpoff(%rip), tp" (the blocks then address its fields as
 * %fs:OFF(tp), as C's VRSEQ_CS_INPUTS_M does); scratch and tmp are
 * registers the block may change, scratch32/tmp32/dst32 their 32-bit
 * names (%eax for %rax).
 *
 * aarch64:
 *   VRSEQ_CS_BEGIN(area, scratch)
 *   VRSEQ_CS_SLOT_CHECK(id, tags, slot, scratch, scratch32, scratch2,
 *                       target)
 *   VRSEQ_CS_SLOT_LOAD(id, tags, slot, scratch, scratch32, scratch2, dst,
 *                      target)
 *   VRSEQ_CS_BEGIN_M(slot, scratch, tmp)
 *   VRSEQ_CS_SLOT_CHECK_M(slot, scratch, tmp, tmp32, target)
 *   VRSEQ_CS_SLOT_LOAD_M(slot, scratch, dst, dst32, target)
 *   VRSEQ_CS_SLOT_CHECK_CID_M, VRSEQ_CS_SLOT_LOAD_CID_M (the same)
 *   VRSEQ_CS_END(target), VRSEQ_CS_END_STATUS(status32)
 *   VRSEQ_CS_LEAVE(area), VRSEQ_CS_LEAVE_M(slot, scratch)
 * where the _M blocks' slot holds the slot's address (a TLS slot's is
 * tpidr_el0 plus its offset) and the others are as on x86_64 (scratch32 =
 * w9 for x9).
 *
 * On both, target is a label (".Lmiss", "9f"); VRSEQ_CS_END's is where an
 * abort goes, and the code there must clear rseq_cs (VRSEQ_CS_LEAVE) unless
 * it restarts the section. The status form: jump to VRSEQ_CS_FAIL from the
 * checks and end with VRSEQ_CS_END_STATUS(status32), which leaves
 * VRSEQ_COMMITTED, VRSEQ_INVALIDATED or VRSEQ_ABORTED in status32 and
 * falls through on every path; then VRSEQ_CS_LEAVE.
 *
 * The struct offsets (VRSEQ_SLOT_OFF_*, VRSEQ_AREA_OFF_*) and results
 * (VRSEQ_COMMITTED ...) are usable from assembly too; <vrseq.h> checks them
 * against the C definitions with _Static_assert.
 */
#ifndef VRSEQ_ASM_H
#define VRSEQ_ASM_H

#ifndef __ASSEMBLER__
# error "<vrseq/asm.h> is for .S files; C and C++ include <vrseq.h>"
#endif

#include <vrseq/arch/cs.h>

#define VRSEQ_COMMITTED		VRSEQ_CS_ST_COMMITTED
#define VRSEQ_INVALIDATED	VRSEQ_CS_ST_INVALIDATED
#define VRSEQ_ABORTED		VRSEQ_CS_ST_ABORTED
#define VRSEQ_CS_FAIL		5f

#if defined(__x86_64__)
# include <vrseq/arch/x86_64-cs.h>

# define VRSEQ_RSEQ_SIG		VRSEQ_X86_SIG_T

# define VRSEQ_CS_BEGIN(area, scratch)					\
	VRSEQ_X86_BEGIN_T(VRSEQ_CS_A_, %rip, area, scratch)
# define VRSEQ_CS_END_TO(target)					\
	VRSEQ_X86_END_T(VRSEQ_CS_A_, target)
# define VRSEQ_CS_LEAVE(area)						\
	VRSEQ_X86_LEAVE_T(VRSEQ_CS_A_, area)
# define VRSEQ_CS_SLOT_CHECK_TO(id, tags, slot, scratch, scratch32,	\
				target)					\
	VRSEQ_X86_SLOT_CHECK_T(VRSEQ_CS_A_, id, tags,			\
			       VRSEQ_SLOT_OFF_TAG(slot), scratch, scratch32, \
			       target)
# define VRSEQ_CS_SLOT_LOAD_TO(id, tags, slot, scratch, scratch32, dst,	\
			       target)					\
	VRSEQ_X86_SLOT_LOAD_T(VRSEQ_CS_A_, id, tags,			\
			      VRSEQ_SLOT_OFF_TAG(slot),			\
			      VRSEQ_SLOT_OFF_VALUE(slot), scratch, scratch32, \
			      dst, target)

# define VRSEQ_CS_BEGIN_M(tp, scratch, tmp)				\
	VRSEQ_X86_BEGIN_M_T(VRSEQ_CS_A_, %rip,				\
			    %fs:VRSEQ_SLOT_OFF_AREA(tp), scratch, tmp)
# define VRSEQ_ASM_CHECK_M_(idoff, tp, scratch, tmp, tmp32, target)	\
	VRSEQ_X86_CHECK_M_T(VRSEQ_CS_A_, idoff,				\
			    %fs:VRSEQ_SLOT_OFF_TAGS(tp),		\
			    %fs:VRSEQ_SLOT_OFF_TAG(tp), scratch, tmp, tmp32, \
			    target)
# define VRSEQ_ASM_LOAD_M_(idoff, tp, scratch, dst, dst32, target)	\
	VRSEQ_X86_LOAD_M_T(VRSEQ_CS_A_, idoff,				\
			   %fs:VRSEQ_SLOT_OFF_TAGS(tp),			\
			   %fs:VRSEQ_SLOT_OFF_TAG(tp),			\
			   %fs:VRSEQ_SLOT_OFF_VALUE(tp), scratch, dst, dst32, \
			   target)
# define VRSEQ_CS_LEAVE_M(tp, scratch)					\
	VRSEQ_X86_LEAVE_M_T(VRSEQ_CS_A_, %fs:VRSEQ_SLOT_OFF_AREA(tp),	\
			    scratch)
# define VRSEQ_CS_END_STATUS(status32)					\
	VRSEQ_X86_END_STATUS_T(VRSEQ_CS_A_, status32)

#elif defined(__aarch64__)
# include <vrseq/arch/aarch64-cs.h>

# define VRSEQ_RSEQ_SIG		VRSEQ_A64_SIG_T

# define VRSEQ_CS_BEGIN(area, scratch)					\
	VRSEQ_A64_BEGIN_T(VRSEQ_CS_A_, area, scratch)
# define VRSEQ_CS_END_TO(target)					\
	VRSEQ_A64_END_T(VRSEQ_CS_A_, target)
# define VRSEQ_CS_LEAVE(area)						\
	VRSEQ_A64_LEAVE_T(VRSEQ_CS_A_, area)
# define VRSEQ_CS_SLOT_CHECK_TO(id, tags, slot, scratch, scratch32,	\
				scratch2, target)			\
	VRSEQ_A64_SLOT_CHECK_T(VRSEQ_CS_A_, id, tags, slot, scratch,	\
			       scratch32, scratch2, target)
# define VRSEQ_CS_SLOT_LOAD_TO(id, tags, slot, scratch, scratch32,	\
			       scratch2, dst, target)			\
	VRSEQ_A64_SLOT_LOAD_T(VRSEQ_CS_A_, id, tags, slot, scratch,	\
			      scratch32, scratch2, dst, target)

/* The slot's fields as parenthesized operands (see F##P in cs.h). */
# define VRSEQ_CS_BEGIN_M(slot, scratch, tmp)				\
	VRSEQ_A64_BEGIN_M_T(VRSEQ_CS_A_, ([slot, VRSEQ_SLOT_OFF_AREA]),	\
			    scratch, tmp)
# define VRSEQ_ASM_CHECK_M_(idoff, slot, scratch, tmp, tmp32, target) \
	VRSEQ_A64_CHECK_M_T(VRSEQ_CS_A_, idoff,				\
			    ([slot, VRSEQ_SLOT_OFF_TAGS]),		\
			    ([slot, VRSEQ_SLOT_OFF_TAG]), scratch, tmp, tmp32, \
			    target)
# define VRSEQ_ASM_LOAD_M_(idoff, slot, scratch, dst, dst32, target)	\
	VRSEQ_A64_LOAD_M_T(VRSEQ_CS_A_, idoff,				\
			   ([slot, VRSEQ_SLOT_OFF_TAGS]),		\
			   ([slot, VRSEQ_SLOT_OFF_TAG]),		\
			   ([slot, VRSEQ_SLOT_OFF_VALUE]), scratch, dst, dst32, \
			   target)
# define VRSEQ_CS_LEAVE_M(slot, scratch)				\
	VRSEQ_A64_LEAVE_M_T(VRSEQ_CS_A_, ([slot, VRSEQ_SLOT_OFF_AREA]),	\
			    scratch)
# define VRSEQ_CS_END_STATUS(status32)					\
	VRSEQ_A64_END_STATUS_T(VRSEQ_CS_A_, status32)

#else
# error "<vrseq/asm.h>: vrseq has critical sections for x86_64 and aarch64 only"
#endif

/*
 * The _M checks and loads, for cpu_id_start and mm_cid, from the
 * architecture's VRSEQ_ASM_CHECK_M_/VRSEQ_ASM_LOAD_M_(idoff, ...): base is
 * tp on x86_64, the slot's address on aarch64.
 */
#define VRSEQ_CS_SLOT_CHECK_M_TO(base, scratch, tmp, tmp32, target)	\
	VRSEQ_ASM_CHECK_M_(VRSEQ_AREA_OFF_CPU_ID_START, base, scratch, tmp,	\
			   tmp32, target)
#define VRSEQ_CS_SLOT_LOAD_M_TO(base, scratch, dst, dst32, target)	\
	VRSEQ_ASM_LOAD_M_(VRSEQ_AREA_OFF_CPU_ID_START, base, scratch, dst,	\
			  dst32, target)
#define VRSEQ_CS_SLOT_CHECK_CID_M_TO(base, scratch, tmp, tmp32, target)	\
	VRSEQ_ASM_CHECK_M_(VRSEQ_AREA_OFF_MM_CID, base, scratch, tmp,	\
			   tmp32, target)
#define VRSEQ_CS_SLOT_LOAD_CID_M_TO(base, scratch, dst, dst32, target)	\
	VRSEQ_ASM_LOAD_M_(VRSEQ_AREA_OFF_MM_CID, base, scratch, dst, dst32, \
			  target)

/*
 * In C the forms without _TO take a C label; in assembly every target is
 * a label already, so they are the same macros.
 */
#define VRSEQ_CS_END(target)		VRSEQ_CS_END_TO(target)
#define VRSEQ_CS_SLOT_CHECK(...)	VRSEQ_CS_SLOT_CHECK_TO(__VA_ARGS__)
#define VRSEQ_CS_SLOT_LOAD(...)		VRSEQ_CS_SLOT_LOAD_TO(__VA_ARGS__)
#define VRSEQ_CS_SLOT_CHECK_M(...)	VRSEQ_CS_SLOT_CHECK_M_TO(__VA_ARGS__)
#define VRSEQ_CS_SLOT_LOAD_M(...)	VRSEQ_CS_SLOT_LOAD_M_TO(__VA_ARGS__)
#define VRSEQ_CS_SLOT_CHECK_CID_M(...)	VRSEQ_CS_SLOT_CHECK_CID_M_TO(__VA_ARGS__)
#define VRSEQ_CS_SLOT_LOAD_CID_M(...)	VRSEQ_CS_SLOT_LOAD_CID_M_TO(__VA_ARGS__)

#endif /* VRSEQ_ASM_H */
