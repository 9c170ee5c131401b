/* SPDX-License-Identifier: MIT */
/*
 * Critical sections written in assembly with <vrseq/asm.h>, the .S twins
 * of tests/test-blocks.c's C functions, which compares them with those and
 * with vrseq_slot_load(), and runs the counter increments in its stress
 * test beside the C ones. The slots are test-blocks.c's initial-exec TLS
 * blocks_cpu_slot and blocks_cid_slot.
 *
 *   int64_t asm_load_m(void)             blocks_cpu_slot's value or -1
 *   int64_t asm_load_status(int *status) the same, status form
 *   int64_t asm_load_cid_m(void)         blocks_cid_slot, _CID_M blocks
 *   int64_t asm_load_cid_status(void)
 *   int asm_inc_m(void)                  ++*value: VRSEQ_COMMITTED,
 *   int asm_inc_status(void)             _INVALIDATED or _ABORTED
 *   int64_t asm_load_reg(const struct vrseq_slot *)  register blocks
 *
 * Local labels are .L names: 1-7 belong to the blocks.
 */
#include <vrseq/asm.h>

#define FUNC(name)							\
	.globl name;							\
	.type name, %function;						\
	.p2align 4;							\
name:

#define ENDFUNC(name)							\
	.size name, . - name

	.text

#if defined(__x86_64__)

#if defined(__CET__) && (__CET__ & 1)
# define ENTRY_BRANCH	endbr64
#else
# define ENTRY_BRANCH
#endif

/* %rdx = the slot's offset from %fs (initial-exec TLS). */
#define TLS_SLOT(sym)	movq sym@gottpoff(%rip), %rdx

/* A load with the goto form: the value or -1; an abort restarts. */
#define LOAD_M(name, sym, LOAD)						\
FUNC(name)								\
	ENTRY_BRANCH;							\
	TLS_SLOT(sym);							\
.L##name##_restart:							\
	VRSEQ_CS_BEGIN_M(%rdx, %rcx, %rax)				\
	LOAD(%rdx, %rcx, %rax, %eax, .L##name##_miss)			\
	VRSEQ_CS_END(.L##name##_restart)				\
	VRSEQ_CS_LEAVE_M(%rdx, %rcx)					\
	ret;								\
.L##name##_miss:							\
	VRSEQ_CS_LEAVE_M(%rdx, %rcx)					\
	movq $-1, %rax;							\
	ret;								\
ENDFUNC(name)

/* The status form; the status goes to *%rdi unless %rdi is 0. */
#define LOAD_STATUS(name, sym, LOAD)					\
FUNC(name)								\
	ENTRY_BRANCH;							\
	TLS_SLOT(sym);							\
.L##name##_restart:							\
	VRSEQ_CS_BEGIN_M(%rdx, %rcx, %rax)				\
	LOAD(%rdx, %rcx, %rax, %eax, VRSEQ_CS_FAIL)			\
	VRSEQ_CS_END_STATUS(%esi)					\
	VRSEQ_CS_LEAVE_M(%rdx, %rcx)					\
	cmpl $(VRSEQ_ABORTED), %esi;					\
	je .L##name##_restart;						\
	testq %rdi, %rdi;						\
	jz .L##name##_nostatus;						\
	movl %esi, (%rdi);						\
.L##name##_nostatus:							\
	testl %esi, %esi;						\
	jz .L##name##_done;						\
	movq $-1, %rax;							\
.L##name##_done:							\
	ret;								\
ENDFUNC(name)

/* asm_load_cid_status: the status form without a status pointer. */
#define NO_STATUS_THEN(target)	ENTRY_BRANCH; xorl %edi, %edi; jmp target

/* One increment, the goto form: a result code per exit. */
FUNC(asm_inc_m)
	ENTRY_BRANCH
	TLS_SLOT(blocks_cpu_slot)
	VRSEQ_CS_BEGIN_M(%rdx, %rcx, %rax)
	VRSEQ_CS_SLOT_LOAD_M(%rdx, %rcx, %rax, %eax, .Linc_invalid)
	movq (%rax), %rcx
	addq $1, %rcx
	movq %rcx, (%rax)	/* the commit: last in the section */
	VRSEQ_CS_END(.Linc_aborted)
	VRSEQ_CS_LEAVE_M(%rdx, %rcx)
	movl $(VRSEQ_COMMITTED), %eax
	ret
.Linc_invalid:
	VRSEQ_CS_LEAVE_M(%rdx, %rcx)
	movl $(VRSEQ_INVALIDATED), %eax
	ret
.Linc_aborted:
	VRSEQ_CS_LEAVE_M(%rdx, %rcx)
	movl $(VRSEQ_ABORTED), %eax
	ret
ENDFUNC(asm_inc_m)

/* The same, status form. */
FUNC(asm_inc_status)
	ENTRY_BRANCH
	TLS_SLOT(blocks_cpu_slot)
	VRSEQ_CS_BEGIN_M(%rdx, %rcx, %rax)
	VRSEQ_CS_SLOT_LOAD_M_TO(%rdx, %rcx, %rax, %eax, VRSEQ_CS_FAIL)
	movq (%rax), %rcx
	addq $1, %rcx
	movq %rcx, (%rax)
	VRSEQ_CS_END_STATUS(%esi)
	VRSEQ_CS_LEAVE_M(%rdx, %rcx)
	movl %esi, %eax
	ret
ENDFUNC(asm_inc_status)

/* The register blocks, on the slot at %rdi. */
FUNC(asm_load_reg)
	ENTRY_BRANCH
	movq VRSEQ_SLOT_OFF_AREA(%rdi), %r8
	movq VRSEQ_SLOT_OFF_ID(%rdi), %r9
	movq VRSEQ_SLOT_OFF_TAGS(%rdi), %r10
.Lreg_restart:
	VRSEQ_CS_BEGIN(%r8, %rax)
	VRSEQ_CS_SLOT_LOAD(%r9, %r10, %rdi, %rax, %eax, %rdx, .Lreg_miss)
	VRSEQ_CS_END(.Lreg_restart)
	VRSEQ_CS_LEAVE(%r8)
	movq %rdx, %rax
	ret
.Lreg_miss:
	VRSEQ_CS_LEAVE(%r8)
	movq $-1, %rax
	ret
ENDFUNC(asm_load_reg)

#elif defined(__aarch64__)

/* x1 = the slot's address (initial-exec TLS). */
#define TLS_SLOT(sym)							\
	mrs x1, tpidr_el0;						\
	adrp x2, :gottprel:sym;						\
	ldr x2, [x2, :gottprel_lo12:sym];				\
	add x1, x1, x2

#define LOAD_M(name, sym, LOAD)						\
FUNC(name)								\
	TLS_SLOT(sym);							\
.L##name##_restart:							\
	VRSEQ_CS_BEGIN_M(x1, x9, x0)					\
	LOAD(x1, x9, x0, w0, .L##name##_miss)				\
	VRSEQ_CS_END(.L##name##_restart)				\
	VRSEQ_CS_LEAVE_M(x1, x9)					\
	ret;								\
.L##name##_miss:							\
	VRSEQ_CS_LEAVE_M(x1, x9)					\
	mov x0, -1;							\
	ret;								\
ENDFUNC(name)

/* The status form; the status goes to *x0 (on entry) unless it is 0. */
#define LOAD_STATUS(name, sym, LOAD)					\
FUNC(name)								\
	mov x3, x0;							\
	TLS_SLOT(sym);							\
.L##name##_restart:							\
	VRSEQ_CS_BEGIN_M(x1, x9, x0)					\
	LOAD(x1, x9, x0, w0, VRSEQ_CS_FAIL)				\
	VRSEQ_CS_END_STATUS(w4)						\
	VRSEQ_CS_LEAVE_M(x1, x9)					\
	cmp w4, VRSEQ_ABORTED;						\
	b.eq .L##name##_restart;					\
	cbz x3, .L##name##_nostatus;					\
	str w4, [x3];							\
.L##name##_nostatus:							\
	cbz w4, .L##name##_done;					\
	mov x0, -1;							\
.L##name##_done:							\
	ret;								\
ENDFUNC(name)

#define NO_STATUS_THEN(target)	mov x0, 0; b target

FUNC(asm_inc_m)
	TLS_SLOT(blocks_cpu_slot)
	VRSEQ_CS_BEGIN_M(x1, x9, x0)
	VRSEQ_CS_SLOT_LOAD_M(x1, x9, x0, w0, .Linc_invalid)
	ldr x10, [x0]
	add x10, x10, 1
	str x10, [x0]		/* the commit: last in the section */
	VRSEQ_CS_END(.Linc_aborted)
	VRSEQ_CS_LEAVE_M(x1, x9)
	mov w0, VRSEQ_COMMITTED
	ret
.Linc_invalid:
	VRSEQ_CS_LEAVE_M(x1, x9)
	mov w0, VRSEQ_INVALIDATED
	ret
.Linc_aborted:
	VRSEQ_CS_LEAVE_M(x1, x9)
	mov w0, VRSEQ_ABORTED
	ret
ENDFUNC(asm_inc_m)

FUNC(asm_inc_status)
	TLS_SLOT(blocks_cpu_slot)
	VRSEQ_CS_BEGIN_M(x1, x9, x0)
	VRSEQ_CS_SLOT_LOAD_M_TO(x1, x9, x0, w0, VRSEQ_CS_FAIL)
	ldr x10, [x0]
	add x10, x10, 1
	str x10, [x0]
	VRSEQ_CS_END_STATUS(w4)
	VRSEQ_CS_LEAVE_M(x1, x9)
	mov w0, w4
	ret
ENDFUNC(asm_inc_status)

FUNC(asm_load_reg)
	ldr x5, [x0, VRSEQ_SLOT_OFF_AREA]
	ldr x6, [x0, VRSEQ_SLOT_OFF_ID]
	ldr x7, [x0, VRSEQ_SLOT_OFF_TAGS]
.Lreg_restart:
	VRSEQ_CS_BEGIN(x5, x9)
	VRSEQ_CS_SLOT_LOAD(x6, x7, x0, x9, w9, x10, x11, .Lreg_miss)
	VRSEQ_CS_END(.Lreg_restart)
	VRSEQ_CS_LEAVE(x5)
	mov x0, x11
	ret
.Lreg_miss:
	VRSEQ_CS_LEAVE(x5)
	mov x0, -1
	ret
ENDFUNC(asm_load_reg)

#else
# error "tests/asm-sections.S: x86_64 and aarch64 only"
#endif

/* The loads, on both architectures. */
LOAD_M(asm_load_m, blocks_cpu_slot, VRSEQ_CS_SLOT_LOAD_M)
LOAD_STATUS(asm_load_status, blocks_cpu_slot, VRSEQ_CS_SLOT_LOAD_M_TO)
LOAD_M(asm_load_cid_m, blocks_cid_slot, VRSEQ_CS_SLOT_LOAD_CID_M)
FUNC(asm_load_cid_status)
	NO_STATUS_THEN(asm_load_cid_status_)
ENDFUNC(asm_load_cid_status)
LOAD_STATUS(asm_load_cid_status_, blocks_cid_slot, VRSEQ_CS_SLOT_LOAD_CID_M_TO)

	.section .note.GNU-stack, "", %progbits

#if defined(__x86_64__) && defined(__CET__)
/*
 * With -fcf-protection the C objects carry a GNU property note saying they
 * are IBT/SHSTK-ready, and the linker drops the marking from a program
 * whose objects do not all carry it: this file says so too (its functions
 * start with endbr64 and return normally).
 */
	.pushsection .note.gnu.property, "a"
	.p2align 3
	.long 4			/* name size: "GNU" */
	.long 16		/* descriptor size */
	.long 5			/* NT_GNU_PROPERTY_TYPE_0 */
	.asciz "GNU"
	.long 0xc0000002	/* GNU_PROPERTY_X86_FEATURE_1_AND */
	.long 4
	.long __CET__		/* 1 IBT, 2 SHSTK */
	.p2align 3
	.popsection
#endif
