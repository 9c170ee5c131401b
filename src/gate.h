/* SPDX-License-Identifier: MIT */
/* See gate.c: kernels whose critical sections vrseq cannot trust. */
#ifndef VRSEQ_GATE_H
#define VRSEQ_GATE_H

#include <stdbool.h>

/* True for `uname -m` / `uname -r` of a kernel that does not abort
 * critical sections reliably. Pure: no environment, no system calls. */
bool vrseq__kernel_aborts_unreliable(const char *machine, const char *release);

#endif
