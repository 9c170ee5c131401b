/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
/* Binding slots to threads; the fast paths themselves are in <vrseq.h>. */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "internal.h"

/*
 * Fallback slots point at constant tags that never agree: observe() yields 0,
 * validation expects 1. Every read is invalid and every commit fails, with no
 * extra branch on the fast paths.
 */
static const uint32_t fallback_id;
static const uint64_t fallback_observe_tag = 0;
static const uint64_t fallback_check_tag = 1;

static void bind_fallback(struct vrseq_slot *slot, struct vrseq_thread *t)
{
	slot->id = &fallback_id;
	slot->tags = &fallback_check_tag;
	slot->observe_tags = &fallback_observe_tag;
	/* Never registered (unlike t->own, which may be registered while the
	 * kernel gate still forces fallback). */
	slot->area = &t->dummy;
	slot->flags = VRSEQ_SLOT_F_BOUND | VRSEQ_SLOT_F_FALLBACK;
}

int vrseq__fallback(const struct vrseq_thread *t)
{
	if (t->owner == VRSEQ_OWNER_FOREIGN)
		return VRSEQ_FALLBACK_FOREIGN;
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
		bind_fallback(slot, t);
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

struct vrseq_slot *vrseq_thread_slot(void)
{
	struct vrseq_thread *t = vrseq__thread_peek();

	if (__builtin_expect(!t->slot_ready, 0)) {
		if (vrseq_slot_init(&t->slot, VRSEQ_SLOT_CPU) < 0) {
			/* Process set-up failed: still hand out a safe slot. */
			memset(&t->slot, 0, sizeof(t->slot));
			bind_fallback(&t->slot, t);
		}
		t->slot_ready = true;
	}
	return &t->slot;
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
