/* SPDX-License-Identifier: MIT */
/*
 * The anchor, made honest: one pop and one push of the per-CPU cache, each
 * variant at its leanest (bench/lean-ops.h), so that the ratio compares
 * vrseq with tcmalloc's real fast path and not with a twin that pays for a
 * status code and a backend call:
 *   legacy twin   tcmalloc's shape: set rseq_cs, one %fs-relative load of
 *                 the cached word over cpu_id_start, bit test, header,
 *                 pop/push, commit (tests/percpu-legacy.c)
 *   vrseq slot    VRSEQ_CS_BEGIN, VRSEQ_CS_SLOT_LOAD (loaded and validated
 *                 inside the section), header, pop/push, commit, with
 *                 VRSEQ_CS_INPUTS_CPU (bench/lean-ops.c)
 * Per round, in a fresh thread pinned to the same CPU for each variant
 * (the legacy twin needs a registration of its own, so the two cannot
 * share a thread), order alternating: OPS pops and OPS pushes timed
 * separately (batches of PC_MAXCAP pops then as many pushes, split with the
 * TSC), and OPS pop+push pairs. Prints ns/op, the median of the per-round
 * paired ratios vrseq/legacy ops/s with quartiles and extremes, and the
 * target. bench/count-insns.sh (run by `make bench`) counts the hit paths.
 * Re-executes itself with glibc.pthread.rseq=0 like bench-cache.
 */
#define _GNU_SOURCE
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

#if BENCH_LEAN_OPS
#include <x86intrin.h>

#define ROUNDS		31
#define OPS		4000000L	/* pops, pushes and pairs per round */
#define BATCH		PC_MAXCAP	/* pops in a row, then as many pushes */
#define TARGET_RATIO	0.97	/* issue 8: vrseq >= this share of legacy */

enum variant { LEGACY, VRSEQ, VRSEQ_M, NVARIANTS };

static const char *const names[NVARIANTS] = {
	"legacy twin (tcmalloc shape)", "vrseq register blocks",
	"vrseq slot-operand blocks",
};

struct round {
	enum variant v;
	int cpu;
	struct pc_cache *cache;
	double ns_pop, ns_push, ns_pair;	/* per operation / pair */
	uint64_t misses;			/* slow paths taken */
	int error;
	const char *what;
};

/* One pop/push of variant v (a constant at each call site). NULL or false:
 * the slow path failed (c->what says why). */
#define op_kind(v)		((v) == LEGACY ? BENCH_LEAN_LEGACY :	\
				 (v) == VRSEQ ? BENCH_LEAN_VRSEQ :	\
				 BENCH_LEAN_VRSEQ_M)
#define op_pop(v, c)		bench_lean_pop(op_kind(v), (c))
#define op_push(v, c, o)	bench_lean_push(op_kind(v), (c), (o))

/* Cycles two back-to-back TSC reads take: subtracted per batch. */
static double tsc_overhead(void)
{
	double d[101], med, lo, hi;

	for (int i = 0; i < 101; i++) {
		uint64_t a = __rdtsc(), b = __rdtsc();

		d[i] = (double)(b - a);
	}
	bench_summary(d, 101, &med, &lo, &hi);
	return med;
}

static inline __attribute__((always_inline))
int measure(enum variant v, struct bench_lean_ctx *c, struct round *r)
{
	struct pc_obj *objs[BATCH];
	uint64_t pop_c = 0, push_c = 0, c0, c1;
	long batches = OPS / BATCH;
	double t0, ns, over = tsc_overhead();

	/* Pairs. */
	t0 = bench_now_ns();
	for (long i = 0; i < OPS; i++) {
		struct pc_obj *o = op_pop(v, c);

		if (!o || !op_push(v, c, o))
			return -1;
	}
	r->ns_pair = (bench_now_ns() - t0) / OPS;

	/* Pops and pushes, BATCH at a time; the TSC splits the two. */
	t0 = bench_now_ns();
	c0 = __rdtsc();
	for (long b = 0; b < batches; b++) {
		uint64_t a = __rdtsc(), m, e;

		for (int i = 0; i < BATCH; i++)
			if (!(objs[i] = op_pop(v, c)))
				return -1;
		m = __rdtsc();
		for (int i = BATCH - 1; i >= 0; i--)
			if (!op_push(v, c, objs[i]))
				return -1;
		e = __rdtsc();
		pop_c += m - a;
		push_c += e - m;
	}
	c1 = __rdtsc();
	ns = bench_now_ns() - t0;
	{
		double ns_per_c = ns / (double)(c1 - c0);
		double n = (double)batches * BATCH;

		r->ns_pop = ((double)pop_c - over * batches) * ns_per_c / n;
		r->ns_push = ((double)push_c - over * batches) * ns_per_c / n;
	}
	return 0;
}

static void *run_round(void *arg)
{
	struct round *r = arg;
	struct pc_thread stack_t;
	/* The slot-operand blocks read the slot from TLS. */
	struct pc_thread *tp = r->v == VRSEQ_M ? &bench_lean_tls : &stack_t;
	struct bench_lean_ctx c = { tp, 0, NULL };
	struct pc_obj *o;
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(r->cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one)) {
		r->error = 1;
		r->what = "sched_setaffinity failed";
		return NULL;
	}
	memset(tp, 0, sizeof(*tp));
	r->error = pc_thread_attach(r->cache, tp, 1);
	if (r->error) {
		/* < 0: -errno of the registration; > 0: fallback, no rseq. */
		r->what = r->error < 0 ? strerror(-r->error) :
			  "no rseq (fallback)";
		return NULL;
	}
	if (r->v != LEGACY &&
	    (tp->slot.flags & (VRSEQ_SLOT_F_MM_CID | VRSEQ_SLOT_F_FALLBACK))) {
		/* VRSEQ_CS_INPUTS_CPU and _M are for VRSEQ_SLOT_CPU slots. */
		r->error = 1;
		r->what = "not a VRSEQ_SLOT_CPU slot";
		return NULL;
	}
	/* Warm up: the first pop misses and caches the slab. */
	switch (r->v) {
	case LEGACY:
		o = op_pop(LEGACY, &c);
		r->error = !o || !op_push(LEGACY, &c, o) ||
			   measure(LEGACY, &c, r);
		break;
	case VRSEQ:
		o = op_pop(VRSEQ, &c);
		r->error = !o || !op_push(VRSEQ, &c, o) ||
			   measure(VRSEQ, &c, r);
		break;
	default:
		o = op_pop(VRSEQ_M, &c);
		r->error = !o || !op_push(VRSEQ_M, &c, o) ||
			   measure(VRSEQ_M, &c, r);
		break;
	}
	r->misses = c.misses ? c.misses - 1 : 0;	/* but the warm-up's */
	r->what = c.what;
	return NULL;
}

/* Every slab full (capacity PC_MAXCAP): BATCH pops never go empty. */
static int make_cache(struct pc_cache *c, const struct pc_backend *b)
{
	if (pc_cache_init(c, b, 4096))
		return -1;
	for (unsigned int cpu = 0; cpu < c->nr_cpus; cpu++) {
		struct pc_slab *s = pc_current_slab(c, (int)cpu);
		uint32_t n = 0;

		while (n < PC_MAXCAP) {
			struct pc_obj *o = pc_global_pop(c);

			if (!o)
				return -1;
			s->items[n++] = o;
		}
		s->hdr = PC_HDR(PC_MAXCAP, n);
	}
	return 0;
}

static void ratio_line(const char *what, double *ratio)
{
	double med, lo, hi, q1, q3;

	bench_summary(ratio, ROUNDS, &med, &lo, &hi);
	q1 = ratio[ROUNDS / 4];
	q3 = ratio[ROUNDS - 1 - ROUNDS / 4];
	printf("    %-9s %.3fx  quartiles [%.3f .. %.3f]  min..max [%.3f .. %.3f]\n",
	       what, med, q1, q3, lo, hi);
}

int main(int argc, char **argv)
{
	struct pc_cache caches[NVARIANTS];
	double pop[NVARIANTS][ROUNDS], push[NVARIANTS][ROUNDS];
	double pair[NVARIANTS][ROUNDS], ratio[NVARIANTS][3][ROUNDS];
	double pair_med = 0;
	uint64_t misses[NVARIANTS] = { 0 };
	const struct pc_backend *backends[NVARIANTS] = {
		&pc_backend_legacy, &pc_backend_vrseq, &pc_backend_vrseq,
	};
	int cpu;

	if (bench_glibc_rseq_on())
		return bench_reexec_without_glibc_rseq("bench-op", argv);
	unsetenv("VRSEQ_BENCH_REEXEC");
	(void)argc;
	for (int v = 0; v < NVARIANTS; v++)
		if (make_cache(&caches[v], backends[v])) {
			fprintf(stderr, "bench-op: cache set-up failed\n");
			return 1;
		}
	cpu = sched_getcpu();
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < NVARIANTS; i++) {
			enum variant v = (enum variant)((i + r) % NVARIANTS);
			struct round rd = { v, cpu, &caches[v], 0, 0, 0, 0, 0,
					    NULL };
			pthread_t th;

			if (pthread_create(&th, NULL, run_round, &rd)) {
				perror("bench-op: pthread_create");
				return 1;
			}
			pthread_join(th, NULL);
			if (rd.error) {
				fprintf(stderr, "bench-op: %s failed in round %d: "
					"%s (needs rseq, and the legacy twin a "
					"kernel that accepts its registration)\n",
					names[v], r + 1, rd.what ? rd.what : "?");
				return 1;
			}
			pop[v][r] = rd.ns_pop;
			push[v][r] = rd.ns_push;
			pair[v][r] = rd.ns_pair;
			misses[v] += rd.misses;
		}
	for (int v = VRSEQ; v < NVARIANTS; v++)
		for (int r = 0; r < ROUNDS; r++) {
			ratio[v][0][r] = pop[LEGACY][r] / pop[v][r];
			ratio[v][1][r] = push[LEGACY][r] / push[v][r];
			ratio[v][2][r] = pair[LEGACY][r] / pair[v][r];
		}
	printf("per-CPU cache single operations (lean hit paths), one thread "
	       "pinned to CPU %d,\n  %ld pops, %ld pushes (batches of %d) and "
	       "%ld pairs x %d rounds, variants alternating\n",
	       cpu, OPS, OPS, BATCH, OPS, ROUNDS);
	printf("  %-30s %-22s %-22s %s\n", "ns/op, median [min .. max]", "pop",
	       "push", "pop+push pair");
	for (int v = 0; v < NVARIANTS; v++) {
		double m[3], lo[3], hi[3];

		bench_summary(pop[v], ROUNDS, &m[0], &lo[0], &hi[0]);
		bench_summary(push[v], ROUNDS, &m[1], &lo[1], &hi[1]);
		bench_summary(pair[v], ROUNDS, &m[2], &lo[2], &hi[2]);
		printf("  %-30s", names[v]);
		for (int k = 0; k < 3; k++)
			printf(" %5.2f [%5.2f .. %5.2f]", m[k], lo[k], hi[k]);
		printf("\n");
	}
	printf("  slow paths taken (misses, all rounds): legacy %llu, "
	       "register blocks %llu, slot-operand blocks %llu\n",
	       (unsigned long long)misses[LEGACY],
	       (unsigned long long)misses[VRSEQ],
	       (unsigned long long)misses[VRSEQ_M]);
	for (int v = VRSEQ; v < NVARIANTS; v++) {
		printf("  %s / legacy ops/s, median of per-round paired "
		       "ratios:\n", names[v]);
		ratio_line("pop", ratio[v][0]);
		ratio_line("push", ratio[v][1]);
		ratio_line("pair", ratio[v][2]);
	}
	pair_med = ratio[VRSEQ_M][2][ROUNDS / 2];
	printf("  target: slot-operand blocks >= %.2fx legacy ops/s (pairs): "
	       "%s\n", TARGET_RATIO, pair_med >= TARGET_RATIO ? "met" :
	       "NOT met");
	return 0;
}
#else
int main(void)
{
	fprintf(stderr, "bench-op: x86_64 only for now\n");
	return 77;
}
#endif
