/* SPDX-License-Identifier: MIT */
/*
 * Kernels on which no rseq per-CPU algorithm is safe, vrseq's included:
 * Linux on arm64 from 6.19 through 7.0.13 does not abort a critical section
 * on preemption, signal delivery or a membarrier-rseq IPI (measured under
 * qemu, see shared/docs/rseq-facts.md; 7.1 and later do, Debian has no arm64
 * 7.0.14+). A fence there cannot stop a section that validated the old
 * generation, so vrseq binds every slot in fallback mode on such a kernel.
 *
 * This is decided from the release string, because the experiment that
 * shows it (a section spun across a preemption) costs milliseconds and a
 * helper thread at start-up. VRSEQ_TRUST_KERNEL=1 in the environment
 * overrides it, for kernels that carry the fix under an older version.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "gate.h"

bool vrseq__kernel_aborts_unreliable(const char *machine, const char *release)
{
	unsigned int major = 0, minor = 0, patch = 0;

	if (strcmp(machine, "aarch64") != 0)
		return false;
	if (sscanf(release, "%u.%u.%u", &major, &minor, &patch) < 2)
		return false;
	if (major == 6 && minor == 19)
		return true;
	return major == 7 && minor == 0 && patch < 14;
}
