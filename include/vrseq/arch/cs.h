/* SPDX-License-Identifier: MIT */
/*
 * What the critical-section encodings of every architecture share, written
 * once for C (<vrseq.h>) and for preprocessed assembly (<vrseq/asm.h>):
 * preprocessor text only, no C. Include one of those two, not this file.
 *
 * HOW ONE DEFINITION SERVES BOTH. Each building block is written once, in
 * <vrseq/arch/x86_64-cs.h> or <vrseq/arch/aarch64-cs.h>, as a macro named
 * VRSEQ_<ARCH>_<BLOCK>_T(F, ...) whose first argument F is a *form*, the
 * prefix of five emitter macros, and whose other arguments are the
 * registers, memory operands and jump targets it works on:
 *
 *	F##S(text)	one whole statement
 *	F##T(text)	the start or middle of a statement that a string
 *			argument (see below) continues
 *	F##E		the end of such a statement
 *	F##Q(label)	a jump target written in the block itself ("6f")
 *	F##LP F##RP	( and ) around a string argument
 *	F##P (text)	an operand that the caller put in parentheses so that
 *			its commas do not split it ("([x1, 8])" in .S): the
 *			text without them
 *
 * The C form (VRSEQ_CS_C_) turns each statement into a string literal
 * ending in "\n\t" for an asm statement: S, T and Q stringize their text
 * *without* expanding it (# on __VA_ARGS__), so no macro of the program's
 * can reach a mnemonic, a directive or a label; the block's arguments are
 * expanded once, as arguments always are, before the text is stringized,
 * which is how operands ("%[area]", "%%rax"), offsets and section flags get
 * in. The assembly form (VRSEQ_CS_A_) emits the text itself with ';' after
 * every statement (GNU as and LLVM's assembler take ';' as a statement
 * separator on x86_64 and aarch64), so one macro call is one line of .S.
 *
 * Rules that follow for the encoding files:
 *  - No macro name inside S(), T() or Q() text: it would be stringized,
 *    not expanded. What must be expanded comes in as an argument.
 *  - No '#' (stringizing in a function-like macro): aarch64 immediates are
 *    written without it ("[x0, 8]", "uxtw 3", "mov w0, 1"), which GNU as
 *    and LLVM's assembler both accept; x86_64 immediates are "$0" or
 *    "$(arg)".
 *  - No '%' of x86_64 register syntax in the text: registers are arguments
 *    ("%%rax" in C's extended asm, "%rax" in .S).
 *  - Arguments whose names end in '_' are C *strings* in the C form (the
 *    jump target of the _TO blocks, the dst register of VRSEQ_CS_SLOT_LOAD,
 *    the operand names of the _M blocks, all passed by the caller as
 *    strings): they stand outside S()/T(), between a T() and the next T()
 *    or E. In .S they are register or label text like the others.
 *  - Section flags are single string-literal tokens, chosen with #if below:
 *    the assembler does not concatenate "aw" "?".
 * The C form's strings assemble to the same bytes as before the encodings
 * were shared (checked object by object when they were introduced).
 */
#ifndef VRSEQ_ARCH_CS_H
#define VRSEQ_ARCH_CS_H

#define VRSEQ_CS_STR_(x)	#x
#define VRSEQ_CS_STR(x)		VRSEQ_CS_STR_(x)

/* The C form: string literals for an asm statement. */
#define VRSEQ_CS_C_S(...)	#__VA_ARGS__ "\n\t"
#define VRSEQ_CS_C_T(...)	#__VA_ARGS__ " "
#define VRSEQ_CS_C_E		"\n\t"
#define VRSEQ_CS_C_Q(...)	#__VA_ARGS__
#define VRSEQ_CS_C_LP		"("
#define VRSEQ_CS_C_RP		")"
#define VRSEQ_CS_C_P(...)	#__VA_ARGS__

/* The assembly form: the text, statements separated by ';'. */
#define VRSEQ_CS_A_S(...)	__VA_ARGS__ ;
#define VRSEQ_CS_A_T(...)	__VA_ARGS__
#define VRSEQ_CS_A_E		;
#define VRSEQ_CS_A_Q(...)	__VA_ARGS__
#define VRSEQ_CS_A_LP		(
#define VRSEQ_CS_A_RP		)
#define VRSEQ_CS_A_P(...)	__VA_ARGS__

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
 * (A .S file is preprocessed by the compiler driver, which defines the
 * same version macros, so it gets the same choice.)
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
 * in one object only), =1 forces it. In a .S file "?" does the same for a
 * function you put in a group yourself (.section ...,"axG",...,comdat).
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

/*
 * The flags of the three sections, each one string literal: the
 * descriptors (__rseq_cs), the abort stubs (__rseq_failure) and the list
 * of descriptors (__rseq_cs_ptr_array).
 */
#if VRSEQ_CS_COMDAT
# define VRSEQ_CS_FLAGS_DESC	"aw?"
# define VRSEQ_CS_FLAGS_ABORT	"ax?"
# if VRSEQ_CS_RETAIN
#  define VRSEQ_CS_FLAGS_PTRS	"awR?"
# else
#  define VRSEQ_CS_FLAGS_PTRS	"aw?"
# endif
#else
# define VRSEQ_CS_FLAGS_DESC	"aw"
# define VRSEQ_CS_FLAGS_ABORT	"ax"
# if VRSEQ_CS_RETAIN
#  define VRSEQ_CS_FLAGS_PTRS	"awR"
# else
#  define VRSEQ_CS_FLAGS_PTRS	"aw"
# endif
#endif

/*
 * struct vrseq_slot as assembly sees it (checked against the C structure
 * with _Static_assert in <vrseq.h>'s arch headers), and the fields of the
 * kernel's area the blocks use (the same as VRSEQ_RSEQ_OFF_* of
 * <vrseq/abi.h>, checked there too).
 */
#define VRSEQ_SLOT_OFF_VALUE		0
#define VRSEQ_SLOT_OFF_TAG		8
#define VRSEQ_SLOT_OFF_ID		16
#define VRSEQ_SLOT_OFF_TAGS		24
#define VRSEQ_SLOT_OFF_OBSERVE_TAGS	32
#define VRSEQ_SLOT_OFF_AREA		40
#define VRSEQ_AREA_OFF_CPU_ID_START	0
#define VRSEQ_AREA_OFF_RSEQ_CS		8	/* written in the blocks as 8 */
#define VRSEQ_AREA_OFF_MM_CID		24

/* The status form's results (VRSEQ_COMMITTED ... in C, checked there). */
#define VRSEQ_CS_ST_COMMITTED		0
#define VRSEQ_CS_ST_INVALIDATED		1
#define VRSEQ_CS_ST_ABORTED		3

/*
 * The descriptor and its entry in __rseq_cs_ptr_array, the same on every
 * architecture: version 0, flags 0, start_ip label 1, post_commit_offset
 * up to label 2, abort_ip label 4; the descriptor itself is label 3.
 */
#define VRSEQ_CS_DESCRIPTOR_T(F)					\
	VRSEQ_CS_DESCRIPTOR_T_(F, VRSEQ_CS_FLAGS_DESC, VRSEQ_CS_FLAGS_PTRS)
#define VRSEQ_CS_DESCRIPTOR_T_(F, desc_flags, ptrs_flags)		\
	F##S(.pushsection __rseq_cs, desc_flags)			\
	F##S(.balign 32)						\
	F##S(3:)							\
	F##S(.long 0x0, 0x0)						\
	F##S(.quad 1f, (2f - 1f), 4f)					\
	F##S(.popsection)						\
	F##S(.pushsection __rseq_cs_ptr_array, ptrs_flags)		\
	F##S(.balign 8)							\
	F##S(.quad 3b)							\
	F##S(.popsection)

#endif /* VRSEQ_ARCH_CS_H */
