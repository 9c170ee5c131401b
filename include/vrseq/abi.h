/* SPDX-License-Identifier: MIT */
/*
 * The kernel's rseq ABI, written out here because distribution headers lag
 * behind the kernel (Debian 12's <linux/rseq.h> has no node_id or mm_cid).
 * Only the layout is described; which fields user space may write is the
 * whole point of vrseq: rseq_cs, and nothing else.
 */
#ifndef VRSEQ_ABI_H
#define VRSEQ_ABI_H

#include <stdint.h>

/* Original registration size; every kernel with rseq accepts it. */
#define VRSEQ_RSEQ_ORIG_SIZE		32u
/* Values the kernel leaves in cpu_id outside a live registration. */
#define VRSEQ_RSEQ_CPU_ID_UNINITIALIZED	(-1)
#define VRSEQ_RSEQ_CPU_ID_REGISTRATION_FAILED	(-2)
#define VRSEQ_RSEQ_FLAG_UNREGISTER	1

/* auxv entries (Linux 6.3+); absent on older kernels. */
#define VRSEQ_AT_RSEQ_FEATURE_SIZE	27
#define VRSEQ_AT_RSEQ_ALIGN		28

/* Compile-time checks of the layouts these headers promise (C11, C++11). */
#if defined(__cplusplus)
# if __cplusplus >= 201103L
#  define VRSEQ_STATIC_ASSERT(cond, msg)	static_assert(cond, msg)
# else
#  define VRSEQ_STATIC_ASSERT(cond, msg)
# endif
#else
# define VRSEQ_STATIC_ASSERT(cond, msg)	_Static_assert(cond, msg)
#endif
#define VRSEQ_ASSERT_OFFSET_(type, field, off)				\
	VRSEQ_STATIC_ASSERT(__builtin_offsetof(type, field) == (off),	\
			    "offset of " #type "." #field)

/* Critical-section descriptor that rseq_cs points to (32-byte aligned). */
struct vrseq_rseq_cs {
	uint32_t version;
	uint32_t flags;
	uint64_t start_ip;
	uint64_t post_commit_offset;
	uint64_t abort_ip;
} __attribute__((aligned(32)));

/* The per-thread area registered with the kernel. */
struct vrseq_rseq_area {
	uint32_t cpu_id_start;	/* kernel-owned */
	uint32_t cpu_id;	/* kernel-owned */
	uint64_t rseq_cs;	/* the only field user space writes */
	uint32_t flags;		/* kernel-owned (deprecated) */
	uint32_t node_id;	/* kernel-owned, 6.3+ */
	uint32_t mm_cid;	/* kernel-owned, 6.3+ */
	uint32_t slice_ctrl;	/* kernel-owned, 7.0+ */
} __attribute__((aligned(32)));

#define VRSEQ_RSEQ_OFF_CPU_ID_START	0
#define VRSEQ_RSEQ_OFF_CPU_ID		4
#define VRSEQ_RSEQ_OFF_RSEQ_CS		8
#define VRSEQ_RSEQ_OFF_NODE_ID		20
#define VRSEQ_RSEQ_OFF_MM_CID		24

VRSEQ_STATIC_ASSERT(sizeof(struct vrseq_rseq_cs) == 32 &&
		    __alignof__(struct vrseq_rseq_cs) == 32,
		    "struct rseq_cs is 32 bytes, 32-aligned");
VRSEQ_ASSERT_OFFSET_(struct vrseq_rseq_cs, start_ip, 8);
VRSEQ_ASSERT_OFFSET_(struct vrseq_rseq_cs, post_commit_offset, 16);
VRSEQ_ASSERT_OFFSET_(struct vrseq_rseq_cs, abort_ip, 24);
VRSEQ_STATIC_ASSERT(sizeof(struct vrseq_rseq_area) == 32 &&
		    __alignof__(struct vrseq_rseq_area) == 32,
		    "the original struct rseq is 32 bytes, 32-aligned");
VRSEQ_ASSERT_OFFSET_(struct vrseq_rseq_area, cpu_id_start,
		     VRSEQ_RSEQ_OFF_CPU_ID_START);
VRSEQ_ASSERT_OFFSET_(struct vrseq_rseq_area, cpu_id, VRSEQ_RSEQ_OFF_CPU_ID);
VRSEQ_ASSERT_OFFSET_(struct vrseq_rseq_area, rseq_cs, VRSEQ_RSEQ_OFF_RSEQ_CS);
VRSEQ_ASSERT_OFFSET_(struct vrseq_rseq_area, node_id, VRSEQ_RSEQ_OFF_NODE_ID);
VRSEQ_ASSERT_OFFSET_(struct vrseq_rseq_area, mm_cid, VRSEQ_RSEQ_OFF_MM_CID);

#endif /* VRSEQ_ABI_H */
