/* SPDX-License-Identifier: MIT */
/*
 * The body of cs-abort.c's critical section, the library's only assembly
 * outside <vrseq/arch/>: between VRSEQ_CS_BEGIN and VRSEQ_CS_END it sets
 * *inside, spins until *go is set, and commits by setting *done, its last
 * instruction. Operands [inside], [go], [done] (registers holding the
 * addresses); it uses the scratch registers VRSEQ_CS_CLOBBERS names.
 * Labels 1-7 are the blocks', so the loop is 8.
 */
#ifndef VRSEQ_CS_ABORT_ASM_H
#define VRSEQ_CS_ABORT_ASM_H

#include "vrseq.h"

#if VRSEQ_HAVE_CS && defined(__x86_64__)
# define VRSEQ_CS_ABORT_BODY						\
	"movl $1, (%[inside])\n\t"					\
	"8:\n\t"							\
	"pause\n\t"							\
	"cmpl $0, (%[go])\n\t"						\
	"je 8b\n\t"							\
	"movl $1, (%[done])\n\t"
#elif VRSEQ_HAVE_CS && defined(__aarch64__)
# define VRSEQ_CS_ABORT_BODY						\
	"mov w10, #1\n\t"						\
	"str w10, [%[inside]]\n\t"					\
	"8:\n\t"							\
	"yield\n\t"							\
	"ldr w10, [%[go]]\n\t"						\
	"cbz w10, 8b\n\t"						\
	"str w10, [%[done]]\n\t"
#endif

#endif /* VRSEQ_CS_ABORT_ASM_H */
