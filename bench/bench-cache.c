/* SPDX-License-Identifier: MIT */
/*
 * The number that matters to an allocator: a pop+push pair on the per-CPU
 * cache fixture (tests/percpu-cache.c), measured side by side in one run:
 *   legacy twin   the cached slab pointer in the kernel's cpu_id_start
 *                 (works on this kernel only because it still rewrites it)
 *   vrseq slot    the cached slab pointer in a vrseq slot
 *   no caching    find the slab from cpu_id inside every critical section
 *   malloc/free   glibc, same object size
 * The legacy twin and the vrseq slot run their lean pop and push
 * (bench/lean-ops.h: asm goto to the miss handler, no status code, no
 * backend call; the legacy twin tcmalloc's shape, one %fs-relative load of
 * the cached word and a bit test); "no caching" goes through the backend
 * calls and their status codes, so it pays that on top.
 * Each variant runs in a thread of its own (the legacy twin needs its own
 * registration), rounds interleaved; medians, spread and ratios printed.
 * The legacy twin needs glibc's registration off: unless glibc left rseq
 * alone, the program re-executes itself once with glibc.pthread.rseq=0
 * added to GLIBC_TUNABLES (vrseq then registers its own area, same fast
 * path). Whether other tunables are set does not matter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "percpu-cache.h"
#include "lean-ops.h"
#include "bench.h"
#include "reexec.h"

#define ROUNDS		21
#define PAIRS		2000000L
#define TARGET_RATIO	0.95	/* vrseq at least this share of legacy ops/s */
/* Refreshes in a row that may fail before a variant counts as broken. */
#define REFRESH_TRIES	1000

enum variant { LEGACY, VRSEQ, UNCACHED, MALLOC, NVARIANTS };

static const char *const names[NVARIANTS] = {
	"legacy twin (cpu_id_start)", "vrseq slot", "no caching (backend)",
	"glibc malloc/free",
};


/* ---- no caching: the slab is looked up from cpu_id in the section */

#if defined(__x86_64__)
/*
 * The backend's pop and push with the cache lookup moved inside: cpu =
 * area->cpu_id; slab = slabs[cpu]. Same signatures as the backends', called
 * the same way, so only the lookup differs.
 */
static int uncached_pop(struct pc_thread *t, struct pc_obj **out)
{
	struct vrseq_rseq_area *area = t->slot.area;
	_Atomic(struct pc_slab *) *slabs = t->cache->slabs;
	struct pc_obj *item;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		"movl 4(%[area]), %%eax\n\t"
		"movq (%[slabs], %%rax, 8), %%rcx\n\t"
		"movq (%%rcx), %%rdx\n\t"
		"testl %%edx, %%edx\n\t"
		"jz %l[empty]\n\t"
		"subq $1, %%rdx\n\t"
		"movl %%edx, %%eax\n\t"
		"movq 8(%%rcx, %%rax, 8), %[item]\n\t"
		"movq %%rdx, (%%rcx)\n\t"
		VRSEQ_CS_END("aborted")
		: [item] "=&r" (item)
		: [area] "r" (area), [slabs] "r" (slabs)
		: "memory", "cc", "rax", "rcx", "rdx"
		: empty, aborted);
	*out = item;
	return PC_OK;
empty:
	return PC_EMPTY;
aborted:
	goto retry;
}

static int uncached_push(struct pc_thread *t, struct pc_obj *obj)
{
	struct vrseq_rseq_area *area = t->slot.area;
	_Atomic(struct pc_slab *) *slabs = t->cache->slabs;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		"movl 4(%[area]), %%eax\n\t"
		"movq (%[slabs], %%rax, 8), %%rcx\n\t"
		"movq (%%rcx), %%rdx\n\t"
		"movq %%rdx, %%rax\n\t"
		"shrq $32, %%rax\n\t"
		"cmpl %%eax, %%edx\n\t"
		"jae %l[full]\n\t"
		"movl %%edx, %%eax\n\t"
		"movq %[item], 8(%%rcx, %%rax, 8)\n\t"
		"addq $1, %%rdx\n\t"
		"movq %%rdx, (%%rcx)\n\t"
		VRSEQ_CS_END("aborted")
		:
		: [area] "r" (area), [slabs] "r" (slabs), [item] "r" (obj)
		: "memory", "cc", "rax", "rcx", "rdx"
		: full, aborted);
	return PC_OK;
full:
	return PC_FULL;
aborted:
	goto retry;
}
#endif

_Static_assert(offsetof(struct pc_slab, items) == 8, "items follow hdr");

/* ---- one measured round, in a fresh thread */

struct round {
	enum variant v;
	int cpu;
	struct pc_cache *cache;
	double ns_per_pair;
	int error;
	const char *what;	/* what failed */
};

/*
 * Cache the slab again. A refresh may fail without anything being wrong:
 * the legacy twin's when the kernel rewrote cpu_id_start between its steps
 * (a preemption, a signal, a migration), and an abort of its commit, fail
 * it; as tcmalloc does, try again. Only a refresh that never succeeds is an
 * error.
 */
static int refresh(struct pc_thread *t)
{
	const struct pc_backend *b = t->cache->backend;

	for (int i = 0; i < REFRESH_TRIES; i++)
		if (b->refresh(t) == PC_OK)
			return 0;
	return -1;
}

/* Pop one and push it back through the backend; refresh when invalid. */
static int backend_pair(struct pc_thread *t, const char **what)
{
	const struct pc_backend *b = t->cache->backend;
	struct pc_obj *o;
	int ret;

	while ((ret = b->pop(t, &o)) == PC_INVALID)
		if (refresh(t)) {
			*what = "no refresh succeeded";
			return -1;
		}
	if (ret != PC_OK) {
		*what = "pop found the slab empty";
		return -1;
	}
	while ((ret = b->push(t, o)) == PC_INVALID)
		if (refresh(t)) {
			*what = "no refresh succeeded";
			return -1;
		}
	if (ret != PC_OK) {
		*what = "push found the slab full";
		return -1;
	}
	return 0;
}

#if BENCH_LEAN_OPS
/* A warm-up pair (it misses and caches the slab), then PAIRS timed. */
static inline __attribute__((always_inline))
int lean_pairs(enum bench_lean_kind k, struct pc_thread *t, struct round *r)
{
	struct bench_lean_ctx c = { t, 0, NULL };
	double t0 = 0;

	for (long i = -1; i < PAIRS; i++) {
		struct pc_obj *o;

		if (i == 0)
			t0 = bench_now_ns();
		o = bench_lean_pop(k, &c);
		if (!o || !bench_lean_push(k, &c, o)) {
			r->what = c.what;
			return 1;
		}
	}
	r->ns_per_pair = (bench_now_ns() - t0) / PAIRS;
	return 0;
}
#endif

static void *run_round(void *arg)
{
	struct round *r = arg;
	struct pc_thread stack_t;
	struct pc_thread *tp = &stack_t;
	cpu_set_t one;
	double t0;

	/* Every round on the same CPU: the variants see the same neighbours. */
	CPU_ZERO(&one);
	CPU_SET(r->cpu, &one);
	sched_setaffinity(0, sizeof(one), &one);
#if BENCH_LEAN_OPS
	/* vrseq's lean pairs use the slot-operand blocks: the slot in TLS. */
	if (r->v == VRSEQ)
		tp = &bench_lean_tls;
#endif
	memset(tp, 0, sizeof(*tp));
	if (r->v == MALLOC) {
		t0 = bench_now_ns();
		for (long i = 0; i < PAIRS; i++) {
			void *volatile p = malloc(sizeof(struct pc_obj));

			free(p);
		}
		r->ns_per_pair = (bench_now_ns() - t0) / PAIRS;
		return NULL;
	}
	r->error = pc_thread_attach(r->cache, tp, 1);
	if (r->error) {
		/* < 0: -errno of the registration; > 0: fallback, no rseq. */
		r->what = r->error < 0 ? strerror(-r->error) :
			  "no rseq (fallback)";
		return NULL;
	}
#if BENCH_LEAN_OPS
	if (r->v == LEGACY || r->v == VRSEQ) {
		if (r->v == VRSEQ && (tp->slot.flags & (VRSEQ_SLOT_F_MM_CID |
							VRSEQ_SLOT_F_FALLBACK))) {
			/* VRSEQ_CS_INPUTS_M: VRSEQ_SLOT_CPU slots only. */
			r->error = 1;
			r->what = "not a VRSEQ_SLOT_CPU slot";
			return NULL;
		}
		r->error = r->v == LEGACY ?
			   lean_pairs(BENCH_LEAN_LEGACY, tp, r) :
			   lean_pairs(BENCH_LEAN_VRSEQ_M, tp, r);
		return NULL;
	}
#endif
	if (backend_pair(tp, &r->what)) {
		r->error = 1;
		return NULL;
	}
	t0 = bench_now_ns();
	for (long i = 0; i < PAIRS; i++)
		if (backend_pair(tp, &r->what)) {
			r->error = 1;
			break;
		}
	r->ns_per_pair = (bench_now_ns() - t0) / PAIRS;
	return NULL;
}

/* A cache whose every slab holds some objects, so pops never go global. */
static int make_cache(struct pc_cache *c, const struct pc_backend *b)
{
	if (pc_cache_init(c, b, 4096))
		return -1;
	for (unsigned int cpu = 0; cpu < c->nr_cpus; cpu++) {
		struct pc_slab *s = pc_current_slab(c, (int)cpu);
		uint32_t cap = PC_HDR_CAP(s->hdr), n = 0;

		while (n < cap / 2) {
			struct pc_obj *o = pc_global_pop(c);

			if (!o)
				break;
			s->items[n++] = o;
		}
		s->hdr = PC_HDR(cap, n);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct pc_cache caches[NVARIANTS];
	double ns[NVARIANTS][ROUNDS], paired[NVARIANTS][ROUNDS], med[NVARIANTS];
	int cpu;
	struct pc_backend uncached = pc_backend_vrseq;
	const struct pc_backend *backends[NVARIANTS] = {
		&pc_backend_legacy, &pc_backend_vrseq, &uncached, NULL,
	};

	if (bench_glibc_rseq_on())
		return bench_reexec_without_glibc_rseq("bench-cache", argv);
	unsetenv("VRSEQ_BENCH_REEXEC");
	(void)argc;
#if defined(__x86_64__)
	uncached.name = "uncached";
	uncached.pop = uncached_pop;
	uncached.push = uncached_push;
#else
	fprintf(stderr, "bench-cache: x86_64 only for now\n");
	return 77;
#endif
	for (int v = 0; v < NVARIANTS; v++)
		if (backends[v] && make_cache(&caches[v], backends[v])) {
			fprintf(stderr, "bench-cache: cache set-up failed\n");
			return 1;
		}
	cpu = sched_getcpu();
	for (int r = 0; r < ROUNDS; r++)
		for (int v = 0; v < NVARIANTS; v++) {
			struct round rd = { (enum variant)v, cpu, &caches[v], 0, 0,
					    NULL };
			pthread_t th;

			if (pthread_create(&th, NULL, run_round, &rd)) {
				perror("bench-cache: pthread_create");
				return 1;
			}
			pthread_join(th, NULL);
			if (rd.error) {
				fprintf(stderr, "bench-cache: %s failed in round %d: "
					"%s (needs rseq, and the legacy twin a "
					"kernel that accepts its registration)\n",
					names[v], r + 1, rd.what ? rd.what : "?");
				return 1;
			}
			ns[v][r] = paired[v][r] = rd.ns_per_pair;
		}
	printf("per-CPU cache pop+push pair, one thread, %ld pairs x %d rounds\n",
	       PAIRS, ROUNDS);
	for (int v = 0; v < NVARIANTS; v++) {
		double lo, hi;

		bench_summary(ns[v], ROUNDS, &med[v], &lo, &hi);
		printf("  %-28s %7.2f ns/pair [%.2f .. %.2f]  %6.1f Mpairs/s",
		       names[v], med[v], lo, hi, 1e3 / med[v]);
		if (v != LEGACY)
			printf("  ops/s vs legacy: %.2fx", med[LEGACY] / med[v]);
		printf("\n");
	}
	/* Paired: each round ran legacy and vrseq back to back. */
	{
		double ratio[ROUNDS], rmed, rlo, rhi;

		for (int r = 0; r < ROUNDS; r++)
			ratio[r] = paired[LEGACY][r] / paired[VRSEQ][r];
		bench_summary(ratio, ROUNDS, &rmed, &rlo, &rhi);
		printf("  vrseq/legacy ops/s, median of per-round ratios: %.3fx "
		       "[%.3f .. %.3f]\n", rmed, rlo, rhi);
		printf("  target: vrseq >= %.2fx legacy ops/s: %s\n", TARGET_RATIO,
		       rmed >= TARGET_RATIO ? "met" : "NOT met");
	}
	return 0;
}
