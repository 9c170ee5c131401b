/* SPDX-License-Identifier: MIT */
/*
 * The slot-operand building blocks (VRSEQ_CS_BEGIN_M, VRSEQ_CS_SLOT_LOAD_M,
 * their _CID and _TO forms) and the status form (VRSEQ_CS_END_STATUS), on a
 * slot in initial-exec TLS, as an allocator holds it: what they load, when
 * they refuse, that VRSEQ_CS_LEAVE_M clears rseq_cs, and that a counter
 * updated by their sections from competing threads on shared CPUs, under
 * fences and signals, loses and invents nothing. Every case runs the goto
 * form and the status form, in C and in assembly (tests/asm-sections.S,
 * written with <vrseq/asm.h>), and the register blocks from assembly; all
 * must agree with each other and with vrseq_slot_load(). Without rseq
 * (valgrind) the blocks must refuse every slot, which the same cases check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define IE __attribute__((tls_model("initial-exec")))

/* Not static: tests/asm-sections.S reads them too. */
extern __thread struct vrseq_slot blocks_cpu_slot IE, blocks_cid_slot IE;
__thread struct vrseq_slot blocks_cpu_slot IE = VRSEQ_SLOT_UNBOUND;
__thread struct vrseq_slot blocks_cid_slot IE = VRSEQ_SLOT_UNBOUND;

/* tests/asm-sections.S: the same sections as below, in assembly. */
#ifdef __cplusplus
extern "C" {
#endif
int64_t asm_load_m(void);
int64_t asm_load_status(int *status);
int64_t asm_load_cid_m(void);
int64_t asm_load_cid_status(void);
int asm_inc_m(void);
int asm_inc_status(void);
int64_t asm_load_reg(const struct vrseq_slot *slot);
#ifdef __cplusplus
}
#endif

#define FAILED ((int64_t)-1)

/* The slot's value if a section finds it valid, else FAILED (goto form). */
static __attribute__((noinline)) int64_t load_goto(void)
{
	uint64_t v, tmp;

	for (;;) {
		__asm__ __volatile__ goto (
			VRSEQ_CS_BEGIN_M("v")
			VRSEQ_CS_SLOT_LOAD_M("v", "miss")
			VRSEQ_CS_END("aborted")
			: [v] "=&r" (v), VRSEQ_CS_SCRATCH_M(tmp)
			: VRSEQ_CS_INPUTS_M(blocks_cpu_slot)
			: VRSEQ_CS_CLOBBERS_M
			: miss, aborted);
		vrseq_cs_leave(&blocks_cpu_slot);
		return (int64_t)v;
miss:
		vrseq_cs_leave(&blocks_cpu_slot);
		return FAILED;
aborted:
		;
	}
}

/* The same in the status form; *status gets the last section's result. */
static __attribute__((noinline)) int64_t load_status(int *status)
{
	uint64_t v, tmp;
	int st;

	do
		__asm__ __volatile__ (
			VRSEQ_CS_BEGIN_M("v")
			VRSEQ_CS_SLOT_LOAD_M_TO("v", VRSEQ_CS_FAIL)
			VRSEQ_CS_END_STATUS
			VRSEQ_CS_LEAVE_M
			: [v] "=&r" (v), VRSEQ_CS_SCRATCH_M(tmp),
			  VRSEQ_CS_STATUS(st)
			: VRSEQ_CS_INPUTS_M(blocks_cpu_slot)
			: VRSEQ_CS_CLOBBERS_M);
	while (st == VRSEQ_ABORTED);
	*status = st;
	return st == VRSEQ_COMMITTED ? (int64_t)v : FAILED;
}

/* An MM_CID slot read with the _CID form, goto and status. */
static __attribute__((noinline)) int64_t load_cid_goto(void)
{
	uint64_t v, tmp;

	for (;;) {
		__asm__ __volatile__ goto (
			VRSEQ_CS_BEGIN_M("v")
			VRSEQ_CS_SLOT_LOAD_CID_M("v", "miss")
			VRSEQ_CS_END("aborted")
			VRSEQ_CS_LEAVE_M
			: [v] "=&r" (v), VRSEQ_CS_SCRATCH_M(tmp)
			: VRSEQ_CS_INPUTS_M(blocks_cid_slot)
			: VRSEQ_CS_CLOBBERS_M
			: miss, aborted);
		return (int64_t)v;
miss:
		vrseq_cs_leave(&blocks_cid_slot);
		return FAILED;
aborted:
		;
	}
}

static __attribute__((noinline)) int64_t load_cid_status(void)
{
	uint64_t v, tmp;
	int st;

	do
		__asm__ __volatile__ (
			VRSEQ_CS_BEGIN_M("v")
			VRSEQ_CS_SLOT_LOAD_CID_M_TO("v", VRSEQ_CS_FAIL)
			VRSEQ_CS_END_STATUS
			VRSEQ_CS_LEAVE_M
			: [v] "=&r" (v), VRSEQ_CS_SCRATCH_M(tmp),
			  VRSEQ_CS_STATUS(st)
			: VRSEQ_CS_INPUTS_M(blocks_cid_slot)
			: VRSEQ_CS_CLOBBERS_M);
	while (st == VRSEQ_ABORTED);
	return st == VRSEQ_COMMITTED ? (int64_t)v : FAILED;
}

/*
 * Both forms, in C and in assembly, and the register blocks agree, and
 * agree with vrseq_slot_load(); returns the value.
 */
static int64_t load_both(void)
{
	uint64_t ref;
	int st, asm_st = -1;
	int64_t a = load_goto(), b = load_status(&st);
	int64_t c = asm_load_m(), d = asm_load_status(&asm_st);
	int64_t e = asm_load_reg(&blocks_cpu_slot);
	bool valid = vrseq_slot_load(&blocks_cpu_slot, &ref);

	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT_EQUAL(a, c);
	CU_ASSERT_EQUAL(a, d);
	CU_ASSERT_EQUAL(a, e);
	CU_ASSERT_EQUAL(st, asm_st);
	CU_ASSERT_EQUAL(st == VRSEQ_COMMITTED, b != FAILED);
	CU_ASSERT_EQUAL(st == VRSEQ_COMMITTED || st == VRSEQ_INVALIDATED, 1);
	if (valid && a != FAILED)
		CU_ASSERT_EQUAL((uint64_t)a, ref);
	return a;
}

static void test_unbound(void)
{
	struct vrseq_slot saved = blocks_cpu_slot;
	struct vrseq_slot unbound = VRSEQ_SLOT_UNBOUND;

	/* Before binding the blocks refuse, and store rseq_cs nowhere real. */
	blocks_cpu_slot = unbound;
	for (int i = 0; i < 100; i++)
		CU_ASSERT_EQUAL(load_both(), FAILED);
	blocks_cpu_slot = saved;
	CU_ASSERT_ABI();
}

/* Commit `value` on the pinned CPU; true when committed. */
static bool commit(uint64_t value)
{
	int ret;

	do
		ret = vrseq_slot_store(&blocks_cpu_slot, value);
	while (ret == VRSEQ_INVALIDATED);
	return ret == VRSEQ_COMMITTED;
}

static void test_load_and_refuse(void)
{
	int cpus[64], n = harness_cpus(cpus, 64);

	/* 0 where slots work, 1 bound in fallback mode. */
	CU_ASSERT_EQUAL_FATAL(vrseq_slot_init(&blocks_cpu_slot, VRSEQ_SLOT_CPU),
			      harness_rseq() ? 0 : 1);
	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	if (!harness_rseq()) {
		/* Fallback: nothing commits, nothing validates. */
		CU_ASSERT_FALSE(commit(42));
		CU_ASSERT_EQUAL(load_both(), FAILED);
		harness_pin_restore();
		return;
	}
	CU_ASSERT_TRUE_FATAL(commit(0x1234567890abcdefULL & INT64_MAX));
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(load_both(), (int64_t)(0x1234567890abcdefULL &
						       INT64_MAX));
	/* A fence on this CPU invalidates, for both forms. */
	CU_ASSERT_EQUAL(vrseq_fence_cpu(cpus[0]), 0);
	CU_ASSERT_EQUAL(load_both(), FAILED);
	CU_ASSERT_TRUE(commit(7));
	CU_ASSERT_EQUAL(load_both(), 7);
	/* So does a move to another CPU. */
	if (n > 1) {
		CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[1]), 0);
		CU_ASSERT_EQUAL(load_both(), FAILED);
	}
	vrseq_slot_clear(&blocks_cpu_slot);
	CU_ASSERT_EQUAL(load_both(), FAILED);
	harness_pin_restore();
	CU_ASSERT_ABI();
}

static void test_leave_clears_rseq_cs(void)
{
	volatile struct vrseq_rseq_area *area;
	int st;

	/* 0 where slots work, 1 bound in fallback mode. */
	CU_ASSERT_EQUAL_FATAL(vrseq_slot_init(&blocks_cpu_slot, VRSEQ_SLOT_CPU),
			      harness_rseq() ? 0 : 1);
	area = blocks_cpu_slot.area;
	if (!harness_rseq())
		return;
	commit(1);
	/* The status form ends with VRSEQ_CS_LEAVE_M: rseq_cs is 0 after it
	 * on every path (the kernel may clear it too; it never sets it). */
	for (int i = 0; i < 100; i++) {
		load_status(&st);
		CU_ASSERT_EQUAL(area->rseq_cs, 0);
		asm_load_status(&st);
		CU_ASSERT_EQUAL(area->rseq_cs, 0);
		asm_load_m();
		CU_ASSERT_EQUAL(area->rseq_cs, 0);
		asm_load_reg(&blocks_cpu_slot);
		CU_ASSERT_EQUAL(area->rseq_cs, 0);
	}
}

static void test_mm_cid(void)
{
	struct vrseq_info info;
	int ret;

	CU_ASSERT_EQUAL_FATAL(vrseq_get_info(&info, sizeof(info)), 0);
	ret = vrseq_slot_init(&blocks_cid_slot, VRSEQ_SLOT_MM_CID);
	if (ret == -EOPNOTSUPP || !harness_rseq() || !info.mm_cid_usable) {
		CU_ASSERT_EQUAL(load_cid_goto(), FAILED);
		CU_ASSERT_EQUAL(load_cid_status(), FAILED);
		CU_ASSERT_EQUAL(asm_load_cid_m(), FAILED);
		CU_ASSERT_EQUAL(asm_load_cid_status(), FAILED);
		return;
	}
	CU_ASSERT_EQUAL_FATAL(ret, 0);
	for (int tries = 0; tries < 1000; tries++) {
		vrseq_token_t t = vrseq_slot_observe(&blocks_cid_slot);

		if (vrseq_slot_commit(&blocks_cid_slot, t, 99) != VRSEQ_COMMITTED)
			continue;
		/* Valid until the cid changes: both forms see the value or
		 * both refuse (a preemption may give the thread another cid
		 * between the two reads: then the second refuses). */
		int64_t a = load_cid_goto(), b = load_cid_status();
		int64_t c = asm_load_cid_m(), d = asm_load_cid_status();

		CU_ASSERT(a == 99 || a == FAILED);
		CU_ASSERT(b == 99 || b == FAILED);
		CU_ASSERT(c == 99 || c == FAILED);
		CU_ASSERT(d == 99 || d == FAILED);
		if (a == 99 && b == 99 && c == 99 && d == 99)
			break;
	}
	CU_ASSERT_EQUAL(vrseq_fence_all(), 0);
	CU_ASSERT_EQUAL(load_cid_goto(), FAILED);
	CU_ASSERT_EQUAL(load_cid_status(), FAILED);
	CU_ASSERT_EQUAL(asm_load_cid_m(), FAILED);
	CU_ASSERT_EQUAL(asm_load_cid_status(), FAILED);
}

/*
 * Stress: per-CPU counters, each increment one section of the blocks (the
 * slot's value is the counter's address, committed for the CPU it belongs
 * to) from four threads on two CPUs: the goto form in C and in assembly on
 * one CPU, the status form in C and in assembly on the other, while a fencer fences every CPU and signals interrupt the workers. Each worker
 * counts its committed increments; at the end the counters must hold
 * exactly that many. A lost update (two threads in one CPU's section, an
 * abort that did not happen) or an invented one breaks the sum.
 */
#define WORKERS		4
#define COUNTER_STRIDE	8	/* one cache line per CPU */

static uint64_t counters[64 * COUNTER_STRIDE] __attribute__((aligned(64)));
static atomic_int stop;
static atomic_ulong fences;

/* One increment of the counter the slot points at: VRSEQ_COMMITTED,
 * VRSEQ_INVALIDATED or VRSEQ_ABORTED. */
static __attribute__((noinline)) int inc_goto(void)
{
	uint64_t p, tmp;

	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN_M("p")
		VRSEQ_CS_SLOT_LOAD_M("p", "invalid")
#if defined(__x86_64__)
		"movq (%[p]), %[vrseq_scratch]\n\t"
		"addq $1, %[vrseq_scratch]\n\t"
		"movq %[vrseq_scratch], (%[p])\n\t"
#else
		"ldr %[vrseq_scratch], [%[p]]\n\t"
		"add %[vrseq_scratch], %[vrseq_scratch], #1\n\t"
		"str %[vrseq_scratch], [%[p]]\n\t"
#endif
		VRSEQ_CS_END("aborted")
		: [p] "=&r" (p), VRSEQ_CS_SCRATCH_M(tmp)
		: VRSEQ_CS_INPUTS_M(blocks_cpu_slot)
		: VRSEQ_CS_CLOBBERS_M
		: invalid, aborted);
	return VRSEQ_COMMITTED;
invalid:
	return VRSEQ_INVALIDATED;
aborted:
	return VRSEQ_ABORTED;
}

static __attribute__((noinline)) int inc_status(void)
{
	uint64_t p, tmp;
	int st;

	__asm__ __volatile__ (
		VRSEQ_CS_BEGIN_M("p")
		VRSEQ_CS_SLOT_LOAD_M_TO("p", VRSEQ_CS_FAIL)
#if defined(__x86_64__)
		"movq (%[p]), %[vrseq_scratch]\n\t"
		"addq $1, %[vrseq_scratch]\n\t"
		"movq %[vrseq_scratch], (%[p])\n\t"
#else
		"ldr %[vrseq_scratch], [%[p]]\n\t"
		"add %[vrseq_scratch], %[vrseq_scratch], #1\n\t"
		"str %[vrseq_scratch], [%[p]]\n\t"
#endif
		VRSEQ_CS_END_STATUS
		: [p] "=&r" (p), VRSEQ_CS_SCRATCH_M(tmp), VRSEQ_CS_STATUS(st)
		: VRSEQ_CS_INPUTS_M(blocks_cpu_slot)
		: VRSEQ_CS_CLOBBERS_M);
	return st;
}

struct worker {
	pthread_t th;
	int index;
	uint64_t committed, aborted, refreshed, signals;
	int error;
};

static void on_usr1(int sig)
{
	(void)sig;
}

static void *worker_main(void *arg)
{
	struct worker *w = (struct worker *)arg;
	int cpus[64], n = harness_cpus(cpus, 64), use = n < 2 ? n : 2;

	if (vrseq_slot_init(&blocks_cpu_slot, VRSEQ_SLOT_CPU) < 0) {
		w->error = 1;
		return NULL;
	}
	/* Two workers per CPU: they preempt each other inside sections. */
	harness_pin(cpus[w->index % use]);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		/* Goto and status form, C and assembly, on one counter. */
		static int (*const inc[4])(void) = {
			inc_goto, inc_status, asm_inc_m, asm_inc_status,
		};
		int ret = inc[w->index % 4]();

		if (ret == VRSEQ_COMMITTED) {
			w->committed++;
		} else if (ret == VRSEQ_ABORTED) {
			w->aborted++;
		} else {
			vrseq_token_t t = vrseq_slot_observe(&blocks_cpu_slot);
			uint32_t cpu = vrseq_token_id(t);

			if (cpu >= 64) {
				w->error = 1;
				return NULL;
			}
			ret = vrseq_slot_commit(&blocks_cpu_slot, t, (uint64_t)(uintptr_t)
						&counters[cpu * COUNTER_STRIDE]);
			if (ret == VRSEQ_UNCACHED) {
				w->error = 2;	/* the fallback: nothing to stress */
				return NULL;
			}
			w->refreshed++;
		}
	}
	return NULL;
}

static void *fencer_main(void *arg)
{
	(void)arg;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		if (vrseq_fence_all() == 0)
			atomic_fetch_add(&fences, 1);
		usleep(200);
	}
	return NULL;
}

static void test_stress(void)
{
	struct worker w[WORKERS];
	pthread_t fencer;
	uint64_t committed = 0, aborted = 0, refreshed = 0, sum = 0;
	double seconds = harness_seconds(2.0);
	struct sigaction sa;

	if (!harness_rseq()) {
		CU_PASS("no rseq: the fallback refuses (checked above)");
		return;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	memset(counters, 0, sizeof(counters));
	atomic_store(&stop, 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < WORKERS; i++) {
		w[i].index = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&w[i].th, NULL,
						     worker_main, &w[i]), 0);
	}
	CU_ASSERT_EQUAL_FATAL(pthread_create(&fencer, NULL, fencer_main, NULL),
			      0);
	for (double t = 0; t < seconds; t += 0.001) {
		pthread_kill(w[(int)(t * 1000) % WORKERS].th, SIGUSR1);
		usleep(1000);
	}
	atomic_store(&stop, 1);
	pthread_join(fencer, NULL);
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(w[i].th, NULL);
		CU_ASSERT_EQUAL(w[i].error, 0);
		committed += w[i].committed;
		aborted += w[i].aborted;
		refreshed += w[i].refreshed;
	}
	for (int c = 0; c < 64; c++)
		sum += counters[c * COUNTER_STRIDE];
	printf("\n    stress: %llu increments committed, counters sum %llu, "
	       "%llu aborted, %llu refreshes, %lu fences\n",
	       (unsigned long long)committed, (unsigned long long)sum,
	       (unsigned long long)aborted, (unsigned long long)refreshed,
	       (unsigned long)atomic_load(&fences));
	CU_ASSERT_EQUAL(sum, committed);
	CU_ASSERT(committed > 0);
	CU_ASSERT(refreshed > 0);	/* the fences did invalidate */
	signal(SIGUSR1, SIG_DFL);
}

int main(void)
{
	static const struct test_case cases[] = {
		{ "unbound slots are refused", test_unbound },
		{ "load, fence and migration refuse", test_load_and_refuse },
		{ "VRSEQ_CS_LEAVE_M clears rseq_cs", test_leave_clears_rseq_cs },
		{ "mm_cid slots with the _CID forms", test_mm_cid },
		{ "stress: exact per-CPU counters", test_stress },
		{ NULL, NULL },
	};

	return harness_run("blocks", cases);
}
