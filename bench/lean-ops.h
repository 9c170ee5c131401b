/* SPDX-License-Identifier: MIT */
/*
 * The single pop and push of each per-CPU cache variant at its leanest, as
 * a real allocator's fast path is written: asm goto straight to a miss
 * label, no status integer, no backend function pointer. A miss (no valid
 * cached slab) and an empty (pop) or full (push) slab leave the same way;
 * the caller's slow path refreshes and tells them apart.
 *
 *   pc_legacy_lean_*   tests/percpu-legacy.c: tcmalloc's shape, one
 *                      %fs-relative load of the cached word overlapping
 *                      cpu_id_start and a bit test (x86_64)
 *   bench_vrseq_lean_* bench/lean-ops.c: the public building blocks
 *                      VRSEQ_CS_BEGIN, VRSEQ_CS_SLOT_LOAD (the slot loaded
 *                      and validated inside the section), VRSEQ_CS_END,
 *                      with VRSEQ_CS_INPUTS_CPU (a VRSEQ_SLOT_CPU slot)
 *
 * All four are noinline so that bench/count-insns.sh can count their hit
 * paths by function boundaries, and so that both variants pay the same
 * call. x86_64 only.
 */
#ifndef VRSEQ_BENCH_LEAN_OPS_H
#define VRSEQ_BENCH_LEAN_OPS_H

#include <stdbool.h>

#include "percpu-cache.h"

#if defined(__x86_64__)
#define BENCH_LEAN_OPS	1
typedef struct pc_obj *(*bench_pop_miss_fn)(void *arg);
typedef bool (*bench_push_miss_fn)(void *arg, struct pc_obj *obj);
/* The calling thread's legacy registration (pc_thread_attach() on a
 * pc_backend_legacy cache) and cached slab. */
struct pc_obj *pc_legacy_lean_pop(bench_pop_miss_fn miss_fn, void *arg);
bool pc_legacy_lean_push(struct pc_obj *obj, bench_push_miss_fn miss_fn,
			 void *arg);
/* slot: the thread's VRSEQ_SLOT_CPU slot, its value the cached slab. */
struct pc_obj *bench_vrseq_lean_pop(const struct vrseq_slot *slot,
				    bench_pop_miss_fn miss_fn, void *arg);
bool bench_vrseq_lean_push(const struct vrseq_slot *slot, struct pc_obj *obj,
			   bench_push_miss_fn miss_fn, void *arg);
/*
 * The same with the slot-operand blocks (VRSEQ_CS_BEGIN_M,
 * VRSEQ_CS_SLOT_LOAD_M): the slot is bench_lean_tls.slot, a thread in
 * initial-exec TLS (local-exec in this executable, as the legacy word is).
 */
extern __thread struct pc_thread bench_lean_tls
	__attribute__((tls_model("initial-exec")));
struct pc_obj *bench_vrseq_m_pop(bench_pop_miss_fn miss_fn, void *arg);
bool bench_vrseq_m_push(struct pc_obj *obj, bench_push_miss_fn miss_fn,
			void *arg);

/*
 * The benchmarks' miss handlers (arg: a struct bench_lean_ctx): count the
 * miss, then go through the backend's status-returning section to tell "no
 * valid cached slab" (refresh, as tcmalloc does, and try again) from
 * "empty"/"full" (which the benchmarks never cause: an error). NULL/false
 * on failure, `what` says why.
 */
struct bench_lean_ctx {
	struct pc_thread *t;
	uint64_t misses;
	const char *what;
};
struct pc_obj *bench_lean_slow_pop(void *arg);
bool bench_lean_slow_push(void *arg, struct pc_obj *obj);

/* Which lean pop/push: write it as a constant and the call is direct. */
enum bench_lean_kind {
	BENCH_LEAN_LEGACY,	/* pc_legacy_lean_* */
	BENCH_LEAN_VRSEQ,	/* bench_vrseq_lean_*: register blocks */
	BENCH_LEAN_VRSEQ_M,	/* bench_vrseq_m_*: slot-operand blocks */
};

static inline __attribute__((always_inline))
struct pc_obj *bench_lean_pop(enum bench_lean_kind k, struct bench_lean_ctx *c)
{
	switch (k) {
	case BENCH_LEAN_LEGACY:
		return pc_legacy_lean_pop(bench_lean_slow_pop, c);
	case BENCH_LEAN_VRSEQ:
		return bench_vrseq_lean_pop(&c->t->slot, bench_lean_slow_pop, c);
	default:
		return bench_vrseq_m_pop(bench_lean_slow_pop, c);
	}
}

static inline __attribute__((always_inline))
bool bench_lean_push(enum bench_lean_kind k, struct bench_lean_ctx *c,
		     struct pc_obj *o)
{
	switch (k) {
	case BENCH_LEAN_LEGACY:
		return pc_legacy_lean_push(o, bench_lean_slow_push, c);
	case BENCH_LEAN_VRSEQ:
		return bench_vrseq_lean_push(&c->t->slot, o,
					     bench_lean_slow_push, c);
	default:
		return bench_vrseq_m_push(o, bench_lean_slow_push, c);
	}
}
#else
#define BENCH_LEAN_OPS	0
#endif

#endif
