/* SPDX-License-Identifier: MIT */
/* State shared by the library's files; nothing here is exported. */
#ifndef VRSEQ_INTERNAL_H
#define VRSEQ_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vrseq.h"
#include "own-marker.h"

/* The first generation of every id, and the generation that retires it. */
#define VRSEQ_TAG_FIRST		VRSEQ_TAG_GEN_ONE
#define VRSEQ_TAG_RETIRED	VRSEQ_TAG_GEN_MASK

/* Largest area vrseq can register itself (TLS is static, so sized here). */
#define VRSEQ_OWN_AREA_SIZE	128u
#define VRSEQ_OWN_AREA_ALIGN	64u

/* Process-wide facts, filled once by vrseq__process(). */
struct vrseq_process {
	uint32_t feature_size;		/* AT_RSEQ_FEATURE_SIZE, or 20 */
	uint32_t feature_align;		/* AT_RSEQ_ALIGN, or 32 */
	uint32_t nr_ids;		/* entries in each tag array (init.c) */
	uint64_t *cpu_tags;		/* one tag per CPU */
	uint64_t *cid_tags;		/* one tag per mm concurrency id */
	uint32_t glibc_size;		/* __rseq_size, 0 when glibc has none */
	ptrdiff_t glibc_offset;		/* __rseq_offset */
	uint32_t glibc_registered_len;	/* measured (query.c), else derived */
	int membarrier_cmds;		/* MEMBARRIER_CMD_QUERY mask, or 0 */
	bool membarrier_rseq;
	bool membarrier_rseq_cpu;
	bool rseq_askable;		/* query.c's questions get answers */
	int32_t fence_method;		/* enum vrseq_fence_method, fixed here */
	bool unsafe_kernel;		/* see gate.c: every slot in fallback */
	bool own_forbidden_env;		/* VRSEQ_OWN_REGISTRATION=0 */
};

extern struct vrseq_process vrseq__proc;

/* Per-thread state. Static TLS so binding is async-signal-safe. */
struct vrseq_thread {
	union {
		struct vrseq_rseq_area area;
		unsigned char bytes[VRSEQ_OWN_AREA_SIZE];
	} own __attribute__((aligned(VRSEQ_OWN_AREA_ALIGN)));
	/* Right behind the own area, so that vrseq-check -p can tell it from
	 * a foreign one in a stopped process (own-marker.h). */
	struct vrseq_own_marker own_marker;
	struct vrseq_slot slot;
	struct vrseq_slot cid_slot;	/* vrseq_thread_slot_mm_cid() */
	/* Never registered: where fallback slots' critical sections store
	 * rseq_cs; its cpu_id_start reads 0, the index fallback tags expect. */
	struct vrseq_rseq_area dummy;
	struct vrseq_rseq_area *area;	/* the registered area, or NULL */
	int32_t owner;			/* enum vrseq_owner */
	int32_t register_errno;
	uint32_t registered_len;
	bool own_forbidden;		/* bound without registering (policy) */
	bool bound;
	bool slot_ready;
	bool cid_slot_ready;
};

/* slot.c: why slots of this thread cannot be valid (enum vrseq_fallback). */
int vrseq__fallback(const struct vrseq_thread *t);

/* init.c: 0, -errno, or -EDEADLK from a signal handler that interrupted
 * this thread's own process set-up (transient: nothing is cached). */
int vrseq__process(void);
unsigned int vrseq__glibc_rseq_size(void);
bool vrseq__mm_cid_usable(void);
bool vrseq__node_id_usable(void);

/* thread.c */
bool vrseq__own_allowed(void);
struct vrseq_thread *vrseq__thread(void);
struct vrseq_thread *vrseq__thread_peek(void);

/* query.c: questions that never change registration state */
bool vrseq__rseq_askable(int *err);
bool vrseq__registered_as(void *area, uint32_t len);
uint32_t vrseq__registered_len(void *area, uint32_t hint, uint32_t feature_size);
bool vrseq__has_registration(void);

/* syscall.c */
int vrseq__sys_rseq(void *area, uint32_t len, int flags, uint32_t sig);
int vrseq__sys_membarrier(int cmd, unsigned int flags, int cpu_id);
long vrseq__sys_sched_getaffinity(size_t len, void *mask);

#endif /* VRSEQ_INTERNAL_H */
