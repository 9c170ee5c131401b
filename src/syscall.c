/* SPDX-License-Identifier: MIT */
/* Raw system calls: glibc wraps neither rseq nor membarrier, and its
 * sched_getaffinity() hides the length the kernel wants. */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#ifndef __NR_rseq
# error "kernel headers without __NR_rseq"
#endif
#ifndef __NR_membarrier
# error "kernel headers without __NR_membarrier"
#endif

/* 0 or -errno, leaving errno as it was (callers may run in signal handlers). */
static int raw_result(long ret, int saved)
{
	int err = ret < 0 ? -errno : 0;

	errno = saved;
	return err;
}

int vrseq__sys_rseq(void *area, uint32_t len, int flags, uint32_t sig)
{
	int saved = errno;

	return raw_result(syscall(__NR_rseq, area, len, flags, sig), saved);
}

int vrseq__sys_membarrier(int cmd, unsigned int flags, int cpu_id)
{
	int saved = errno;
	long ret = syscall(__NR_membarrier, cmd, flags, cpu_id);

	if (ret >= 0) {
		errno = saved;
		return (int)ret;
	}
	return raw_result(ret, saved);
}

/* Bytes the kernel copied (> 0), or -errno; the raw call, unlike glibc's
 * wrapper, says when `len` is shorter than the kernel's CPU mask. */
long vrseq__sys_sched_getaffinity(size_t len, void *mask)
{
	int saved = errno;
	long ret = syscall(__NR_sched_getaffinity, 0, len, mask);

	if (ret >= 0) {
		errno = saved;
		return ret;
	}
	return raw_result(ret, saved);
}
