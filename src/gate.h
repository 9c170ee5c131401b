/* SPDX-License-Identifier: MIT */
/* See gate.c: kernels whose critical sections vrseq cannot trust. */
#ifndef VRSEQ_GATE_H
#define VRSEQ_GATE_H

#include <stdbool.h>

/* True for an arm64 kernel release (`uname -r`) that does not abort
 * critical sections reliably. Pure: no environment, no system calls. */
bool vrseq__arm64_release_aborts_unreliable(const char *release);

/* The same for the kernel this library runs on: false unless the library
 * was compiled for aarch64. */
bool vrseq__kernel_aborts_unreliable(const char *release);

/* The same for the running kernel (uname(2)), before VRSEQ_TRUST_KERNEL:
 * the process gate (init.c) and the probe's cs_abort_release share it. */
bool vrseq__running_kernel_aborts_unreliable(void);

#endif
