/* SPDX-License-Identifier: MIT */
/*
 * A program without any libc (-nostdlib -static, its own _start), so that
 * vrseq-run finds no "glibc.pthread.rseq" in it and must filter rseq():
 * registers a 32-byte area (flags 0), then unregisters it (flags 1), and
 * prints both results ("register R\nunregister R\n", R = 0 or -errno).
 * Built by tests/test-run.sh. x86_64 and aarch64.
 */
#include <stdint.h>

#if defined(__x86_64__)
#define NR_RSEQ		334
#define NR_WRITE	1
#define NR_EXIT		60
#define SIG		0x53053053
static long sys4(long nr, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long ret;

	__asm__ volatile ("syscall" : "=a" (ret)
			  : "a" (nr), "D" (a), "S" (b), "d" (c), "r" (r10)
			  : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define NR_RSEQ		293
#define NR_WRITE	64
#define NR_EXIT		93
#define SIG		0xd428bc00
static long sys4(long nr, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;

	__asm__ volatile ("svc #0" : "+r" (x0)
			  : "r" (x8), "r" (x1), "r" (x2), "r" (x3) : "memory");
	return x0;
}
#else
#error "x86_64 and aarch64 only"
#endif

static struct {
	uint32_t cpu_id_start, cpu_id;
	uint64_t rseq_cs;
	uint32_t flags, node_id, mm_cid, pad;
} area __attribute__((aligned(32))) = { 0, (uint32_t)-1, 0, 0, 0, 0, 0 };

static void put(const char *label, long v)
{
	char buf[64];
	int n = 0, i;
	unsigned long u;
	char digits[24];
	int nd = 0;

	while (label[n])
		buf[n] = label[n], n++;
	buf[n++] = ' ';
	if (v < 0)
		buf[n++] = '-';
	u = v < 0 ? (unsigned long)-v : (unsigned long)v;
	do {
		digits[nd++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	for (i = nd - 1; i >= 0; i--)
		buf[n++] = digits[i];
	buf[n++] = '\n';
	sys4(NR_WRITE, 1, (long)buf, n, 0);
}

void _start(void);
__attribute__((used, noreturn)) void run_main(void);

void run_main(void)
{
	put("register", sys4(NR_RSEQ, (long)&area, sizeof(area), 0, SIG));
	put("unregister", sys4(NR_RSEQ, (long)&area, sizeof(area), 1, SIG));
	sys4(NR_EXIT, 0, 0, 0, 0);
	for (;;)
		;
}

/* The stack pointer is 16-byte aligned at entry; run_main never returns. */
#if defined(__x86_64__)
__asm__(".text\n.globl _start\n_start:\n\txorl %ebp, %ebp\n\tandq $-16, %rsp\n\tcall run_main\n\thlt\n");
#else
__asm__(".text\n.globl _start\n_start:\n\tbl run_main\n\tbrk #0\n");
#endif
