/* SPDX-License-Identifier: MIT */
/*
 * For tests that define syscall() themselves (the executable's definition
 * wins over libc's, and libvrseq makes its system calls through it): take
 * the arguments apart, and forward the call to libc's syscall() -- or, in
 * a static link (the kernel matrix), where dlsym() finds none, make it.
 */
#ifndef VRSEQ_TEST_SYSCALL_HOOK_H
#define VRSEQ_TEST_SYSCALL_HOOK_H

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>

static long (*real_syscall)(long, ...);

/* The six argument registers; syscall(3) passes that many at most. */
#define SYSCALL_HOOK_ARGS(a, nr) do {					\
	va_list ap_;							\
									\
	va_start(ap_, nr);						\
	for (int i_ = 0; i_ < 6; i_++)					\
		(a)[i_] = va_arg(ap_, long);				\
	va_end(ap_);							\
} while (0)

/* libc's syscall(), looked up once; NULL in a static program. */
static inline long (*syscall_hook_real(void))(long, ...)
{
	/* libvrseq's constructor may call in before main. */
	if (!real_syscall)
		real_syscall = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real_syscall;
}

static inline long syscall_hook_raw(long nr, const long *a)
{
	long ret;
#if defined(__x86_64__)
	register long r10 __asm__("r10") = a[3];
	register long r8 __asm__("r8") = a[4];
	register long r9 __asm__("r9") = a[5];

	__asm__ __volatile__ ("syscall"
		: "=a" (ret)
		: "a" (nr), "D" (a[0]), "S" (a[1]), "d" (a[2]), "r" (r10),
		  "r" (r8), "r" (r9)
		: "rcx", "r11", "memory");
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a[0];
	register long x1 __asm__("x1") = a[1];
	register long x2 __asm__("x2") = a[2];
	register long x3 __asm__("x3") = a[3];
	register long x4 __asm__("x4") = a[4];
	register long x5 __asm__("x5") = a[5];

	__asm__ __volatile__ ("svc #0"
		: "+r" (x0)
		: "r" (x8), "r" (x1), "r" (x2), "r" (x3), "r" (x4), "r" (x5)
		: "memory");
	ret = x0;
#else
# error "syscall-hook.h: x86_64 and aarch64 only"
#endif
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

static inline long syscall_hook_forward(long nr, const long *a)
{
	long (*real)(long, ...) = syscall_hook_real();

	if (!real)
		return syscall_hook_raw(nr, a);
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

#endif
