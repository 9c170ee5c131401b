/* SPDX-License-Identifier: MIT */
/*
 * vrseq's pop and push at their leanest (see lean-ops.h): the same sections
 * as vr_pop()/vr_push() of tests/percpu-cache.c, without the status codes.
 * The slot pointer comes in a register (an allocator that keeps it in TLS
 * pays one more instruction to get it). No VRSEQ_CS_LEAVE: the program is
 * never unloaded (see UNLOADING in <vrseq/arch/x86_64.h>). Scratch
 * registers are outputs the compiler places (pinning them, as the legacy
 * twin does, made GCC 12 add moves here); rax is the building blocks'
 * scratch (VRSEQ_CS_CLOBBERS), so the popped item cannot be built in the
 * return register.
 */
#include "lean-ops.h"

#if BENCH_LEAN_OPS
_Static_assert(offsetof(struct pc_slab, items) == 8, "items at 8");

__attribute__((noinline))
struct pc_obj *bench_vrseq_lean_pop(const struct vrseq_slot *slot,
				    bench_pop_miss_fn miss_fn, void *arg)
{
	struct pc_obj *item;
	uint64_t slab, hdr;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%[slab]", "miss")
		"movq (%[slab]), %[hdr]\n\t"
		"testl %k[hdr], %k[hdr]\n\t"
		"jz %l[miss]\n\t"
		"subq $1, %[hdr]\n\t"
		"movl %k[hdr], %k[item]\n\t"		/* index count - 1 */
		"movq 8(%[slab], %[item], 8), %[item]\n\t"
		"movq %[hdr], (%[slab])\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		: [item] "=&c" (item), [slab] "=&r" (slab), [hdr] "=&r" (hdr)
		: VRSEQ_CS_INPUTS_CPU(slot)
		: VRSEQ_CS_CLOBBERS
		: miss, aborted);
	return item;
miss:
	return miss_fn(arg);
aborted:
	goto retry;
}

__attribute__((noinline))
bool bench_vrseq_lean_push(const struct vrseq_slot *slot, struct pc_obj *obj,
			   bench_push_miss_fn miss_fn, void *arg)
{
	uint64_t slab, hdr;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%[slab]", "miss")
		"movq (%[slab]), %[hdr]\n\t"
		"movq %[hdr], %%rax\n\t"
		"shrq $32, %%rax\n\t"			/* capacity */
		"cmpl %%eax, %k[hdr]\n\t"
		"jae %l[miss]\n\t"
		"movl %k[hdr], %%eax\n\t"		/* index count */
		"movq %[item], 8(%[slab], %%rax, 8)\n\t"
		"addq $1, %[hdr]\n\t"
		"movq %[hdr], (%[slab])\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		: [slab] "=&r" (slab), [hdr] "=&r" (hdr)
		: VRSEQ_CS_INPUTS_CPU(slot), [item] "r" (obj)
		: VRSEQ_CS_CLOBBERS
		: miss, aborted);
	return true;
miss:
	return miss_fn(arg, obj);
aborted:
	goto retry;
}

__thread struct pc_thread bench_lean_tls
	__attribute__((tls_model("initial-exec")));

/*
 * Slot-operand blocks: no slot argument, no fixed scratch register. The
 * block's scratch register is free after VRSEQ_CS_SLOT_LOAD_M, so it builds
 * the item (pop) or the index (push): the sections use as many registers
 * as the legacy twin's.
 */
__attribute__((noinline))
struct pc_obj *bench_vrseq_m_pop(bench_pop_miss_fn miss_fn, void *arg)
{
	struct pc_obj *item;
	uint64_t slab, hdr;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN_M("slab")
		VRSEQ_CS_SLOT_LOAD_M("slab", "miss")
		"movq (%[slab]), %[hdr]\n\t"
		"testl %k[hdr], %k[hdr]\n\t"
		"jz %l[miss]\n\t"
		"subq $1, %[hdr]\n\t"
		"movl %k[hdr], %k[vrseq_scratch]\n\t"		/* index count - 1 */
		"movq 8(%[slab], %[vrseq_scratch], 8), %[vrseq_scratch]\n\t"
		"movq %[hdr], (%[slab])\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		  /* the scratch is the item: placed where it is returned */
		: [vrseq_scratch] "=&a" (item), [slab] "=&r" (slab),
		  [hdr] "=&r" (hdr)
		: VRSEQ_CS_INPUTS_M(bench_lean_tls.slot)
		: VRSEQ_CS_CLOBBERS_M
		: miss, aborted);
	return item;
miss:
	return miss_fn(arg);
aborted:
	goto retry;
}

__attribute__((noinline))
bool bench_vrseq_m_push(struct pc_obj *obj, bench_push_miss_fn miss_fn,
			void *arg)
{
	uint64_t slab, hdr, tmp;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN_M("slab")
		VRSEQ_CS_SLOT_LOAD_M("slab", "miss")
		"movq (%[slab]), %[hdr]\n\t"
		"movq %[hdr], %[vrseq_scratch]\n\t"
		"shrq $32, %[vrseq_scratch]\n\t"			/* capacity */
		"cmpl %k[vrseq_scratch], %k[hdr]\n\t"
		"jae %l[miss]\n\t"
		"movl %k[hdr], %k[vrseq_scratch]\n\t"		/* index count */
		"movq %[item], 8(%[slab], %[vrseq_scratch], 8)\n\t"
		"addq $1, %[hdr]\n\t"
		"movq %[hdr], (%[slab])\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		  /* placed where no argument lives (GCC 12 moves them otherwise) */
		: [slab] "=&c" (slab), [hdr] "=&r" (hdr),
		  [vrseq_scratch] "=&a" (tmp)
		: VRSEQ_CS_INPUTS_M(bench_lean_tls.slot), [item] "r" (obj)
		: VRSEQ_CS_CLOBBERS_M
		: miss, aborted);
	return true;
miss:
	return miss_fn(arg, obj);
aborted:
	goto retry;
}

#define REFRESH_TRIES	1000	/* refreshes in a row before it is an error */

static int refresh(struct pc_thread *t)
{
	for (int i = 0; i < REFRESH_TRIES; i++)
		if (t->cache->backend->refresh(t) == PC_OK)
			return 0;
	return -1;
}

__attribute__((noinline, cold)) struct pc_obj *bench_lean_slow_pop(void *arg)
{
	struct bench_lean_ctx *c = arg;
	struct pc_obj *o;
	int ret;

	c->misses++;
	while ((ret = c->t->cache->backend->pop(c->t, &o)) == PC_INVALID)
		if (refresh(c->t)) {
			c->what = "no refresh succeeded";
			return NULL;
		}
	if (ret != PC_OK) {
		c->what = "pop found the slab empty";
		return NULL;
	}
	return o;
}

__attribute__((noinline, cold))
bool bench_lean_slow_push(void *arg, struct pc_obj *o)
{
	struct bench_lean_ctx *c = arg;
	int ret;

	c->misses++;
	while ((ret = c->t->cache->backend->push(c->t, o)) == PC_INVALID)
		if (refresh(c->t)) {
			c->what = "no refresh succeeded";
			return false;
		}
	if (ret != PC_OK) {
		c->what = "push found the slab full";
		return false;
	}
	return true;
}
#endif
