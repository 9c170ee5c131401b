/* SPDX-License-Identifier: MIT */
/*
 * What every architecture's critical sections share: the assembler flags of
 * the sections that hold descriptors, pointers and abort stubs, and the clear
 * of rseq_cs after a section. Include <vrseq.h>, not this file.
 */
#ifndef VRSEQ_ARCH_SECTIONS_H
#define VRSEQ_ARCH_SECTIONS_H

#include <vrseq/arch/cs.h>

/*
 * VRSEQ_CS_RETAIN ("R" on __rseq_cs_ptr_array) and VRSEQ_CS_COMDAT ("?" on
 * every section the blocks push) are chosen in <vrseq/arch/cs.h>, which
 * explains both. The flags as strings, for asm written by hand:
 */
#if VRSEQ_CS_COMDAT
# define VRSEQ_CS_GROUP		"?"
#else
# define VRSEQ_CS_GROUP		""
#endif
#define VRSEQ_CS_PTR_ARRAY_FLAGS	VRSEQ_CS_STR(VRSEQ_CS_FLAGS_PTRS)

/*
 * Every block that can leave the section has a _TO form that takes the
 * assembler's jump target (what VRSEQ_CS_FAIL is, in the status form) and
 * the goto form below, which takes the name of an asm goto label.
 */
#define VRSEQ_CS_GOTO(label)	"%l[" label "]"
#define VRSEQ_CS_END(abort_label)					\
	VRSEQ_CS_END_TO(VRSEQ_CS_GOTO(abort_label))
#define VRSEQ_CS_SLOT_CHECK(fail_label)					\
	VRSEQ_CS_SLOT_CHECK_TO(VRSEQ_CS_GOTO(fail_label))
#define VRSEQ_CS_SLOT_LOAD(dst, fail_label)				\
	VRSEQ_CS_SLOT_LOAD_TO(dst, VRSEQ_CS_GOTO(fail_label))
#define VRSEQ_CS_SLOT_CHECK_M(tmp, fail_label)				\
	VRSEQ_CS_SLOT_CHECK_M_TO(tmp, VRSEQ_CS_GOTO(fail_label))
#define VRSEQ_CS_SLOT_LOAD_M(dst, fail_label)				\
	VRSEQ_CS_SLOT_LOAD_M_TO(dst, VRSEQ_CS_GOTO(fail_label))
#define VRSEQ_CS_SLOT_CHECK_CID_M(tmp, fail_label)			\
	VRSEQ_CS_SLOT_CHECK_CID_M_TO(tmp, VRSEQ_CS_GOTO(fail_label))
#define VRSEQ_CS_SLOT_LOAD_CID_M(dst, fail_label)			\
	VRSEQ_CS_SLOT_LOAD_CID_M_TO(dst, VRSEQ_CS_GOTO(fail_label))

/*
 * What the assembly side (<vrseq/arch/cs.h>, <vrseq/asm.h>) assumes of the
 * C structures and constants.
 */
#define VRSEQ_CS_ASSERT_(cond, msg)	VRSEQ_STATIC_ASSERT(cond, msg)
#define VRSEQ_CS_ASSERT_OFF_(type, field, off)				\
	VRSEQ_ASSERT_OFFSET_(type, field, off)
VRSEQ_CS_ASSERT_OFF_(struct vrseq_slot, value, VRSEQ_SLOT_OFF_VALUE);
VRSEQ_CS_ASSERT_OFF_(struct vrseq_slot, flags, 48);
VRSEQ_CS_ASSERT_OFF_(struct vrseq_slot, tag, VRSEQ_SLOT_OFF_TAG);
VRSEQ_CS_ASSERT_OFF_(struct vrseq_slot, id, VRSEQ_SLOT_OFF_ID);
VRSEQ_CS_ASSERT_OFF_(struct vrseq_slot, tags, VRSEQ_SLOT_OFF_TAGS);
VRSEQ_CS_ASSERT_OFF_(struct vrseq_slot, observe_tags,
		     VRSEQ_SLOT_OFF_OBSERVE_TAGS);
VRSEQ_CS_ASSERT_OFF_(struct vrseq_slot, area, VRSEQ_SLOT_OFF_AREA);
VRSEQ_CS_ASSERT_OFF_(struct vrseq_rseq_area, cpu_id_start,
		     VRSEQ_AREA_OFF_CPU_ID_START);
VRSEQ_CS_ASSERT_OFF_(struct vrseq_rseq_area, rseq_cs,
		     VRSEQ_AREA_OFF_RSEQ_CS);
VRSEQ_CS_ASSERT_OFF_(struct vrseq_rseq_area, mm_cid, VRSEQ_AREA_OFF_MM_CID);
VRSEQ_CS_ASSERT_(VRSEQ_AREA_OFF_RSEQ_CS == VRSEQ_RSEQ_OFF_RSEQ_CS &&
		 VRSEQ_AREA_OFF_CPU_ID_START == VRSEQ_RSEQ_OFF_CPU_ID_START &&
		 VRSEQ_AREA_OFF_MM_CID == VRSEQ_RSEQ_OFF_MM_CID,
		 "<vrseq/arch/cs.h> and <vrseq/abi.h> agree");
VRSEQ_CS_ASSERT_(VRSEQ_CS_ST_COMMITTED == VRSEQ_COMMITTED &&
		 VRSEQ_CS_ST_INVALIDATED == VRSEQ_INVALIDATED &&
		 VRSEQ_CS_ST_ABORTED == VRSEQ_ABORTED,
		 "the status form's results are vrseq's");

/*
 * rseq_cs = 0 first thing at a label a section left to (not the abort
 * label); the exit that falls through uses VRSEQ_CS_LEAVE. See UNLOADING in
 * <vrseq/arch/x86_64.h>.
 */
static inline void vrseq_cs_leave(const struct vrseq_slot *slot)
{
	__atomic_store_n(&slot->area->rseq_cs, 0, __ATOMIC_RELAXED);
}

#endif /* VRSEQ_ARCH_SECTIONS_H */
