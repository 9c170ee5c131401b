/* SPDX-License-Identifier: MIT */
/*
 * The seeds of fuzz/corpus/ (clang --target=T -Os -ffreestanding
 * -fno-asynchronous-unwind-tables -c, then llvm-strip --strip-debug -R .comment),
 * and tests/test-scan.sh's cross objects: one right descriptor, one wrong one
 * (version 1, abort_ip inside), a TLS __rseq_abi and an rseq syscall() call;
 * -DGOOD keeps only the right descriptor and no marker (-DGOOD -DLEGACY:
 * the right descriptor, the marker, the syscall() call and, on x86_64 and
 * aarch64, an inline rseq system call), -DNOARRAY drops
 * __rseq_cs_ptr_array.
 */
#if defined(__x86_64__) || defined(__i386__)
# define SIG "0x53053053"
#elif defined(__aarch64__) && defined(__AARCH64EB__)
# define SIG "0x00bc28d4"
#elif defined(__aarch64__)
# define SIG "0xd428bc00"
#elif defined(__riscv)
# define SIG "0xf1401073"
#else
# define SIG "0x0fe5000b"
#endif
/* The rseq system call's number. */
#if defined(__x86_64__)
# define NR_RSEQ 334
#elif defined(__i386__)
# define NR_RSEQ 386
#elif defined(__powerpc__)
# define NR_RSEQ 387
#else
# define NR_RSEQ 293	/* the generic table: aarch64, riscv */
#endif
#if defined(__i386__)
# define Q(x) ".long " x ", 0"
#else
# define Q(x) ".quad " x
#endif
__asm__(
	".pushsection .text.cs, \"ax\"\n"
	".balign 4\n"
	"10: .long 0, 0, 0\n"
	"11: .long " SIG "\n"
	"12: .long 0\n"
	"13: .long 0x12345678\n"
	".popsection\n"
	".pushsection __rseq_cs, \"aw\"\n"
	".balign 32\n"
	"20: .long 0, 0\n" Q("10b") "\n" Q("11b - 10b") "\n" Q("12b") "\n"
#ifndef GOOD
	"21: .long 1, 0\n" Q("10b") "\n" Q("13b - 10b") "\n" Q("12b") "\n"
#endif
	".popsection\n"
#ifndef NOARRAY
	".pushsection __rseq_cs_ptr_array, \"aw\"\n"
	Q("20b") "\n"
# ifndef GOOD
	Q("21b") "\n"
# endif
	".popsection\n"
#endif
	);
#if !defined(GOOD) || defined(LEGACY)
__thread char __rseq_abi[32];
long syscall(long, ...);
extern long __rseq_offset;
int reg(void *a) { return (int)syscall(NR_RSEQ, a, 32, 0, 0x53053053) + (int)__rseq_offset; }
# if defined(LEGACY) && defined(__x86_64__)
/* And an inline system call, as a self-registering library makes it. */
long reg_inline(void *a);
long reg_inline(void *a)
{
	long r;

	__asm__ volatile("movl $334, %%eax\n\tsyscall" : "=a"(r) : "D"(a)
			 : "rcx", "r11", "memory");
	return r;
}
# elif defined(LEGACY) && defined(__aarch64__)
long reg_inline(void *a);
long reg_inline(void *a)
{
	register long x0 __asm__("x0") = (long)a;

	__asm__ volatile("mov x8, #293\n\tsvc #0" : "+r"(x0) : : "x8", "memory");
	return x0;
}
# endif
#else
int nothing(void);
int nothing(void) { return 0; }
#endif
