/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/* Binding slots to threads; the fast paths themselves are in <vrseq.h>. */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "internal.h"

/*
 * Fallback slots validate against a tag no token equals: their id pointer
 * reads 0 and indexes a one-entry array holding a retired tag. Every read is
 * invalid and every commit fails, with no extra branch on the fast paths.
 * Their observations come from vrseq_slot_fallback_id() (generation 0, the
 * real id), so the documented "compute for vrseq_token_id()" still computes
 * for the CPU the thread is on.
 */
static const uint32_t fallback_index;
static const uint64_t fallback_tag = ~UINT64_C(0);

static void bind_fallback(struct vrseq_slot *slot, struct vrseq_thread *t,
			  unsigned int mode)
{
	slot->id = &fallback_index;
	slot->tags = &fallback_tag;
	slot->observe_tags = &fallback_tag;
	/* Never registered (unlike t->own, which may be registered while the
	 * kernel gate still forces fallback). */
	slot->area = &t->dummy;
	slot->flags = VRSEQ_SLOT_F_BOUND | VRSEQ_SLOT_F_FALLBACK;
	if (mode == VRSEQ_SLOT_MM_CID)
		slot->flags |= VRSEQ_SLOT_F_MM_CID;
}

int vrseq__fallback(const struct vrseq_thread *t)
{
	if (!VRSEQ_HAVE_CS)
		return VRSEQ_FALLBACK_ARCH;
	if (t->owner == VRSEQ_OWNER_FOREIGN)
		return VRSEQ_FALLBACK_FOREIGN;
	if (!t->area && t->own_forbidden)
		return VRSEQ_FALLBACK_OWN_FORBIDDEN;
	if (!t->area)
		return VRSEQ_FALLBACK_NO_RSEQ;
	if (vrseq__proc.unsafe_kernel)
		return VRSEQ_FALLBACK_KERNEL;
	return VRSEQ_FALLBACK_NONE;
}

int vrseq_slot_init(struct vrseq_slot *slot, unsigned int mode)
{
	const struct vrseq_process *p = &vrseq__proc;
	struct vrseq_thread *t;
	int ret;

	if (!slot || (mode != VRSEQ_SLOT_CPU && mode != VRSEQ_SLOT_MM_CID))
		return -EINVAL;
	ret = vrseq__process();
	if (ret < 0)
		return ret;
	if (mode == VRSEQ_SLOT_MM_CID && !vrseq__mm_cid_usable())
		return -EOPNOTSUPP;
	t = vrseq__thread();
	memset(slot, 0, sizeof(*slot));
	if (vrseq__fallback(t) != VRSEQ_FALLBACK_NONE) {
		bind_fallback(slot, t, mode);
		return 1;
	}
	slot->area = t->area;
	slot->flags = VRSEQ_SLOT_F_BOUND;
	if (mode == VRSEQ_SLOT_MM_CID) {
		slot->id = &t->area->mm_cid;
		slot->tags = p->cid_tags;
		slot->flags |= VRSEQ_SLOT_F_MM_CID;
	} else {
		slot->id = &t->area->cpu_id_start;
		slot->tags = p->cpu_tags;
	}
	slot->observe_tags = slot->tags;
	return 0;
}

/*
 * One of the thread's own slots, bound on first use. Re-entrant: a handler
 * that interrupts the init below re-initialises the slot with the same
 * result. -EDEADLK (a handler interrupted this thread's process set-up) is
 * not cached: the interrupted frame, or the next call, binds for real; any
 * other failure is final and leaves a safe fallback slot.
 */
static struct vrseq_slot *own_slot(struct vrseq_thread *t, struct vrseq_slot *slot,
				   bool *ready, unsigned int mode)
{
	if (__builtin_expect(!__atomic_load_n(ready, __ATOMIC_RELAXED), 0)) {
		int ret = vrseq_slot_init(slot, mode);

		if (ret < 0) {
			memset(slot, 0, sizeof(*slot));
			bind_fallback(slot, t, mode);
		}
		if (ret != -EDEADLK) {
			__atomic_signal_fence(__ATOMIC_RELEASE);
			__atomic_store_n(ready, true, __ATOMIC_RELAXED);
		}
	}
	return slot;
}

struct vrseq_slot *vrseq_thread_slot(void)
{
	struct vrseq_thread *t = vrseq__thread_peek();

	return own_slot(t, &t->slot, &t->slot_ready, VRSEQ_SLOT_CPU);
}

struct vrseq_slot *vrseq_thread_slot_mm_cid(void)
{
	struct vrseq_thread *t = vrseq__thread_peek();

	return own_slot(t, &t->cid_slot, &t->cid_slot_ready, VRSEQ_SLOT_MM_CID);
}

uint32_t vrseq_slot_fallback_id(const struct vrseq_slot *slot)
{
	struct vrseq_thread *t = vrseq__thread();

	/* The gate keeps a live area's kernel-written ids readable. */
	if (t->area)
		return __atomic_load_n(slot->flags & VRSEQ_SLOT_F_MM_CID ?
				       &t->area->mm_cid : &t->area->cpu_id,
				       __ATOMIC_RELAXED);
	/* No cid exists without rseq: the CPU stands in (vrseq(7)). */
	return (uint32_t)vrseq_current_cpu();
}

int vrseq_current_cpu(void)
{
	struct vrseq_thread *t = vrseq__thread();
	int cpu;

	if (t->area)
		return (int)__atomic_load_n(&t->area->cpu_id, __ATOMIC_RELAXED);
	cpu = sched_getcpu();
	return cpu < 0 ? 0 : cpu;
}
