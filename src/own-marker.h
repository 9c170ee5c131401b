/* SPDX-License-Identifier: MIT */
/*
 * The marker behind an area vrseq registered itself: how a debugger-like
 * tool (vrseq-check -p) that sees only a thread's registration address
 * tells vrseq's area from glibc's and from a foreign library's. It sits
 * VRSEQ_OWN_MARKER_OFFSET bytes past the area's start, outside any length
 * vrseq registers (at most VRSEQ_OWN_AREA_SIZE), so the kernel never owns
 * it. A wire format between libvrseq and the tools of any version: grow it
 * only at its end, never move it.
 */
#ifndef VRSEQ_OWN_MARKER_H
#define VRSEQ_OWN_MARKER_H

#include <stdint.h>

#define VRSEQ_OWN_MARKER_OFFSET	128u
#define VRSEQ_OWN_MARKER_MAGIC	"vrseqown"	/* 8 bytes, no NUL */

struct vrseq_own_marker {
	char magic[8];
	uint32_t registered_len;	/* as registered; 0 before */
	uint32_t reserved;
};

#endif /* VRSEQ_OWN_MARKER_H */
