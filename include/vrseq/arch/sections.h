/* SPDX-License-Identifier: MIT */
/*
 * What every architecture's critical sections share: the assembler flags of
 * the sections that hold descriptors, pointers and abort stubs, and the clear
 * of rseq_cs after a section. Include <vrseq.h>, not this file.
 */
#ifndef VRSEQ_ARCH_SECTIONS_H
#define VRSEQ_ARCH_SECTIONS_H

#define VRSEQ_CS_STR_(x)	#x
#define VRSEQ_CS_STR(x)		VRSEQ_CS_STR_(x)

/*
 * __rseq_cs_ptr_array lists every descriptor, for debuggers, checkpointing
 * tools and tests/rseq-cs-lint.c. Nothing refers to it, so --gc-sections
 * drops it unless it carries "R" (SHF_GNU_RETAIN), which keeps it in the
 * link. Assemblers older than GNU as 2.36 and clang 13 reject the letter
 * (GNU as stops with "unrecognized .section attribute"), and a compiler
 * cannot tell which assembler it drives, so "R" is used from GCC 12 and
 * clang 13 on, whose toolchains carry an assembler that knows it. Build
 * with -DVRSEQ_CS_RETAIN=0 for an older assembler (the array then survives
 * only links without --gc-sections), or -DVRSEQ_CS_RETAIN=1 to use "R"
 * with an older compiler. Other code that emits
 * __rseq_cs_ptr_array without "R" (librseq's headers) cannot share a
 * translation unit with these sections under clang, which rejects the
 * changed flags; GNU as makes two sections of that name, and --gc-sections
 * drops the one without "R". Build such a unit with -DVRSEQ_CS_RETAIN=0.
 */
#ifndef VRSEQ_CS_RETAIN
# if defined(__clang__)
#  define VRSEQ_CS_RETAIN	(__clang_major__ >= 13)
# elif defined(__GNUC__)
#  define VRSEQ_CS_RETAIN	(__GNUC__ >= 12)
# else
#  define VRSEQ_CS_RETAIN	0
# endif
#endif

/*
 * COMDAT. A C++ inline or template function (and a static function GCC
 * moves into the group of its only caller) is emitted in a COMDAT section
 * group in every object that uses it; the linker keeps one copy of the
 * group and discards the others whole. A descriptor, pointer or abort stub
 * in an ordinary section would outlive its discarded code and fail the link
 * ("... referenced in section `__rseq_cs' ...: defined in discarded
 * section"), so each is pushed with "?": into the group of the section the
 * asm is emitted into (the function's, or its cold part's), or into none
 * when that is in none, as in C, whose objects are the same byte for byte
 * as without "?". Each copy's metadata is then kept or discarded with it,
 * and --gc-sections, which keeps or drops a group whole (ld.bfd, lld),
 * cannot separate them either; "R" keeps a group, and so its function, as
 * it keeps any function that holds a section. Naming the group instead
 * (",@progbits,NAME,comdat") is impossible from a macro: NAME is the mangled
 * name, or a caller's. "?" needs GNU as 2.26 or LLVM's integrated assembler
 * (checked with clang 14, binutils 2.40 and aarch64-linux-gnu-as), so it is
 * used from GCC 6 and clang 13 on; -DVRSEQ_CS_COMDAT=0 drops it for an older
 * assembler (C++ inline functions that hold sections must then be emitted
 * in one object only), =1 forces it.
 */
#ifndef VRSEQ_CS_COMDAT
# if defined(__clang__)
#  define VRSEQ_CS_COMDAT	(__clang_major__ >= 13)
# elif defined(__GNUC__)
#  define VRSEQ_CS_COMDAT	(__GNUC__ >= 6)
# else
#  define VRSEQ_CS_COMDAT	0
# endif
#endif
#if VRSEQ_CS_COMDAT
# define VRSEQ_CS_GROUP		"?"
#else
# define VRSEQ_CS_GROUP		""
#endif

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

#if VRSEQ_CS_RETAIN
# define VRSEQ_CS_PTR_ARRAY_FLAGS	"\"awR" VRSEQ_CS_GROUP "\""
#else
# define VRSEQ_CS_PTR_ARRAY_FLAGS	"\"aw" VRSEQ_CS_GROUP "\""
#endif

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
