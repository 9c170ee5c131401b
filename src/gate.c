/* SPDX-License-Identifier: MIT */
/*
 * Kernels on which no rseq per-CPU algorithm is safe, vrseq's included:
 * Linux on arm64 from 6.19 through 7.0.13 does not abort a critical section
 * on preemption, signal delivery or a membarrier-rseq IPI (measured under
 * qemu, see shared/docs/rseq-facts.md; 7.1 and later do, Debian has no arm64
 * 7.0.14+). A fence there cannot stop a section that validated the old
 * generation, so vrseq binds every slot in fallback mode on such a kernel.
 *
 * This is decided from the release string, not by the experiment that shows
 * it (cs-abort.c), because the experiment costs three child processes with
 * a helper thread each and 5-16 ms on an idle machine (vrseq_probe_kernel(3)),
 * and the gate runs in process set-up, which a program's first malloc() may
 * be waiting for: every process would pay that, against one uname() here. The
 * experiment is what vrseq-check runs and compares with this answer; where
 * they disagree, VRSEQ_TRUST_KERNEL=1 (a kernel carrying the fix under an
 * older version) or =0 (one lacking it under a newer version) overrides
 * the release (init.c).
 */
#include <stdbool.h>
#include <string.h>
#include <sys/utsname.h>

#include "gate.h"

/* Parse "N." or "N" at *s; false when there are no digits. No stdio:
 * this runs in process set-up, which malloc may be waiting for. */
static bool number(const char **s, unsigned int *out)
{
	const char *p = *s;
	unsigned int n = 0;

	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9' && n < 100000)
		n = n * 10 + (unsigned int)(*p++ - '0');
	*out = n;
	*s = *p == '.' ? p + 1 : p;
	return true;
}

bool vrseq__arm64_release_aborts_unreliable(const char *release)
{
	unsigned int major = 0, minor = 0, patch = 0;
	const char *s = release;

	if (!number(&s, &major) || s[-1] != '.' || !number(&s, &minor))
		return false;
	if (major == 6 && minor == 19)
		return true;
	if (s[-1] == '.')
		number(&s, &patch);
	return major == 7 && minor == 0 && patch < 14;
}

/*
 * The architecture is this library's, decided when it was compiled: an
 * aarch64 process runs on an arm64 kernel whatever `uname -m` says
 * (aarch64_be, or armv8l/armv8b under the linux32 personality).
 */
bool vrseq__kernel_aborts_unreliable(const char *release)
{
#if defined(__aarch64__)
	return vrseq__arm64_release_aborts_unreliable(release);
#else
	(void)release;
	return false;
#endif
}

bool vrseq__running_kernel_aborts_unreliable(void)
{
	struct utsname u;

	return uname(&u) == 0 && vrseq__kernel_aborts_unreliable(u.release);
}
