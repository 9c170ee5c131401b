/* SPDX-License-Identifier: MIT */
/*
 * Questions to the rseq system call that cannot change registration state.
 *
 * A same-arguments rseq() answers EBUSY when the area is registered, but it
 * *registers* the area when the calling task has none -- a CLONE_VM child
 * (vfork, posix_spawn) sees its parent's TLS and would take the parent's
 * area; and a seccomp filter's EPERM looks like "registered, other
 * signature". Every question here is built so that the kernel rejects it
 * whatever the answer, and the errno carries the answer:
 *
 *  - rseq(NULL, 0, flags = 2, 0): the unknown flag fails with EINVAL before
 *    anything is looked at. Anything else (ENOSYS, a seccomp errno) means
 *    the system call cannot be asked, and nothing below can be trusted.
 *  - rseq(area, len, UNREGISTER, ~RSEQ_SIG): the kernel checks address and
 *    length (EINVAL) before the signature (EPERM). EPERM therefore means
 *    "this task has exactly (area, len) registered", and the wrong signature
 *    guarantees the unregistration itself never happens (every registration
 *    vrseq asks about, glibc's or its own, uses RSEQ_SIG).
 *  - rseq(KERNEL_ADDR, 32, 0, RSEQ_SIG): with a registration the address
 *    differs (EINVAL); without one, access_ok() rejects a kernel address
 *    (EFAULT) before anything is written.
 *
 * Measured on 6.18 here and on every kernel of the qemu matrix (6.12-7.3,
 * x86_64 and arm64) through test-discovery.
 */
#include <errno.h>

#include "internal.h"

#define UNKNOWN_FLAG	2
/* Aligned to 32 and in the kernel half on every 64-bit architecture. */
#define KERNEL_ADDR	((void *)(uintptr_t)-64)

bool vrseq__rseq_askable(int *err)
{
	int ret = vrseq__sys_rseq(NULL, 0, UNKNOWN_FLAG, 0);

	if (err)
		*err = ret == -EINVAL ? 0 : -ret;
	return ret == -EINVAL;
}

bool vrseq__registered_as(void *area, uint32_t len)
{
	return vrseq__sys_rseq(area, len, VRSEQ_RSEQ_FLAG_UNREGISTER,
			       ~VRSEQ_RSEQ_SIG) == -EPERM;
}

/* The kernel accepts 32 bytes or at least the feature size. */
uint32_t vrseq__registered_len(void *area, uint32_t hint, uint32_t feature_size)
{
	if (vrseq__registered_as(area, VRSEQ_RSEQ_ORIG_SIZE))
		return VRSEQ_RSEQ_ORIG_SIZE;
	if (hint > VRSEQ_RSEQ_ORIG_SIZE && vrseq__registered_as(area, hint))
		return hint;
	if (feature_size > VRSEQ_RSEQ_ORIG_SIZE && feature_size != hint &&
	    vrseq__registered_as(area, feature_size))
		return feature_size;
	return 0;
}

bool vrseq__has_registration(void)
{
	return vrseq__sys_rseq(KERNEL_ADDR, VRSEQ_RSEQ_ORIG_SIZE, 0,
			       VRSEQ_RSEQ_SIG) == -EINVAL;
}
