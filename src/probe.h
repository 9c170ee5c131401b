/* SPDX-License-Identifier: MIT */
/* The probe's experiment children (probe.c), shared with cs-abort.c. */
#ifndef VRSEQ_PROBE_H
#define VRSEQ_PROBE_H

#include <stdint.h>

#include "internal.h"

/* Child exit statuses. */
enum { CHILD_YES = 0, CHILD_NO = 1, CHILD_MIXED = 2, CHILD_CANNOT = 3 };

/*
 * Run `experiment` in a fork-like child that cannot disturb the caller
 * (probe.c explains how); VRSEQ_PROBE_* from how it ended: its exit status
 * (CHILD_*), or VRSEQ_PROBE_KILLED when the kernel killed it with SIGSEGV.
 */
int vrseq__probe_run_child(int (*experiment)(const struct vrseq_thread *,
					     uint32_t),
			   const struct vrseq_thread *t, uint32_t len);

/* In a child: swap the inherited registration for a private area of `len`
 * bytes; the area, or NULL. */
struct vrseq_rseq_area *vrseq__probe_register_private(
	const struct vrseq_thread *t, uint32_t len);

/* cs-abort.c: measure whether critical sections are aborted (fills the
 * cs_* fields of *k). */
void vrseq__measure_cs_abort(const struct vrseq_thread *t,
			     struct vrseq_kernel *k);

#endif /* VRSEQ_PROBE_H */
