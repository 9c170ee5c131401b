/* SPDX-License-Identifier: MIT */
/*
 * vrseq_fence_cpu() on the caller's own CPU: no system call, and the same
 * guarantee as the membarrier fence.
 *
 * libvrseq makes its system calls through syscall(3); this program defines
 * syscall() (the executable's definition wins, tests/syscall-hook.h) and
 * counts membarrier calls.
 *
 *  - A bound thread whose slots work, pinned to CPU c, fences c: no
 *    membarrier, and the slot it committed for c is invalid afterwards.
 *    Fencing another CPU, or fencing from a thread that never bound, still
 *    issues one.
 *  - Retirement: workers on CPU c increment the counter block their slot
 *    points at, in a section that waits a while between its check and its
 *    commit; a fencer publishes a new block for c, fences c -- from c (the
 *    own-CPU path) and from the other CPU (membarrier) in turn -- and then
 *    requires the old block to stay unchanged: a section that validated
 *    before the fence and committed after it would change it. Every
 *    committed increment must be in some block, exactly once.
 * Without rseq (valgrind) slots never validate: the fence takes the
 * ordinary path and the retirement case has nothing to check.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "syscall-hook.h"

/* ------------------------------------------------------------ the count */

static atomic_ulong membarriers;

long syscall(long nr, ...)
{
	long a[6];

	SYSCALL_HOOK_ARGS(a, nr);
	if (nr == __NR_membarrier)
		atomic_fetch_add(&membarriers, 1);
	return syscall_hook_forward(nr, a);
}

static unsigned long count(void)
{
	return atomic_load(&membarriers);
}

static bool fenced_by_membarrier(void)
{
	struct vrseq_info info;

	return vrseq_get_info(&info, sizeof(info)) == 0 &&
		info.fence_method == VRSEQ_FENCE_MEMBARRIER;
}

/* ------------------------------------------------------------ syscalls */

static void test_own_cpu_no_syscall(void)
{
	struct vrseq_slot slot;
	int cpus[64], n = harness_cpus(cpus, 64);
	unsigned long before;
	uint64_t v;
	int ret;

	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[0]), 0);
	ret = vrseq_slot_init(&slot, VRSEQ_SLOT_CPU);
	CU_ASSERT_EQUAL_FATAL(ret, harness_rseq() ? 0 : 1);
	before = count();
	for (int i = 0; i < 1000; i++) {
		do
			ret = vrseq_slot_store(&slot, (uint64_t)i);
		while (ret == VRSEQ_INVALIDATED);
		CU_ASSERT_EQUAL(vrseq_fence_cpu(cpus[0]), 0);
		/* Invalid afterwards, whichever way the fence went. */
		CU_ASSERT_FALSE(vrseq_slot_load(&slot, &v));
	}
	if (harness_rseq()) {
		/* Each fence had 4 tries; each fails only on an interruption
		 * in a few instructions. */
		CU_ASSERT_EQUAL(count() - before, 0);
		printf("\n    1000 own-CPU fences: %lu membarrier calls\n",
		       count() - before);
	} else if (fenced_by_membarrier()) {
		CU_ASSERT_EQUAL(count() - before, 1000);
	}
	if (n > 1) {
		before = count();
		CU_ASSERT_EQUAL(vrseq_fence_cpu(cpus[1]), 0);
		if (fenced_by_membarrier())
			CU_ASSERT_EQUAL(count() - before, 1);
	}
	harness_pin_restore();
	CU_ASSERT_ABI();
}

struct unbound_arg {
	int cpu, pin, ret;
	unsigned long calls;
};

static void *unbound_main(void *arg)
{
	struct unbound_arg *u = (struct unbound_arg *)arg;
	unsigned long before;

	u->pin = harness_pin(u->cpu);
	before = count();
	u->ret = vrseq_fence_cpu(u->cpu);
	u->calls = count() - before;
	return NULL;
}

static void test_unbound_thread_syscall(void)
{
	struct unbound_arg u = { 0 };
	pthread_t th;
	int cpus[64];

	CU_ASSERT_FATAL(harness_cpus(cpus, 64) > 0);
	u.cpu = cpus[0];
	/* A thread that never bound has no section of its own to run. */
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, unbound_main, &u), 0);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(u.pin, 0);
	CU_ASSERT_EQUAL(u.ret, 0);
	if (fenced_by_membarrier())
		CU_ASSERT_EQUAL(u.calls, 1);
}

/* ------------------------------------------------------------ retirement */

#define BLOCKS		1024
#define WORKERS		2
#define IE __attribute__((tls_model("initial-exec")))

static __thread struct vrseq_slot fence_slot IE = VRSEQ_SLOT_UNBOUND;
static uint64_t blocks[BLOCKS][8] __attribute__((aligned(64)));
static _Atomic(uint64_t *) current;	/* the block for CPU c */
static atomic_int stop;

/*
 * ++*value, with a delay between the check and the commit so that a fence
 * that fails to stop a validated section has a wide window to show it.
 */
static __attribute__((noinline)) int slow_inc(void)
{
	uint64_t p, tmp, spin;

	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN_M("p")
		VRSEQ_CS_SLOT_LOAD_M("p", "invalid")
#if defined(__x86_64__)
		"movl $200, %k[spin]\n\t"
		"8: pause\n\t"
		"decl %k[spin]\n\t"
		"jnz 8b\n\t"
		"movq (%[p]), %[vrseq_scratch]\n\t"
		"addq $1, %[vrseq_scratch]\n\t"
		"movq %[vrseq_scratch], (%[p])\n\t"
#else
		"mov %w[spin], #200\n\t"
		"8: yield\n\t"
		"subs %w[spin], %w[spin], #1\n\t"
		"b.ne 8b\n\t"
		"ldr %[vrseq_scratch], [%[p]]\n\t"
		"add %[vrseq_scratch], %[vrseq_scratch], #1\n\t"
		"str %[vrseq_scratch], [%[p]]\n\t"
#endif
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE_M
		: [p] "=&r" (p), [spin] "=&r" (spin), VRSEQ_CS_SCRATCH_M(tmp)
		: VRSEQ_CS_INPUTS_M(fence_slot)
		: VRSEQ_CS_CLOBBERS_M
		: invalid, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(&fence_slot);
	return VRSEQ_INVALIDATED;
aborted:
	return VRSEQ_ABORTED;
}

struct fence_worker {
	pthread_t th;
	int cpu, error;
	uint64_t committed;
};

static void *worker_main(void *arg)
{
	struct fence_worker *w = (struct fence_worker *)arg;

	if (vrseq_slot_init(&fence_slot, VRSEQ_SLOT_CPU) != 0 ||
	    harness_pin(w->cpu) != 0) {
		w->error = 1;
		return NULL;
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		int ret = slow_inc();

		if (ret == VRSEQ_COMMITTED) {
			w->committed++;
		} else if (ret == VRSEQ_INVALIDATED) {
			/* Acquire: the block published before the fence. */
			vrseq_token_t t = vrseq_slot_observe(&fence_slot);
			uint64_t *b = atomic_load(&current);

			if (vrseq_token_id(t) != (uint32_t)w->cpu) {
				w->error = 2;	/* the pin did not hold */
				return NULL;
			}
			vrseq_slot_commit(&fence_slot, t, (uint64_t)(uintptr_t)b);
		}
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_retirement(void)
{
	struct fence_worker w[WORKERS];
	struct vrseq_slot own;
	int cpus[64], n = harness_cpus(cpus, 64), c;
	uint64_t committed = 0, sum = 0, changed = 0;
	unsigned long before, fences[2] = { 0, 0 };
	double seconds = harness_seconds(2.0), start = now();
	int b = 0;

	if (!harness_rseq() || n < 2) {
		CU_PASS("no rseq or one CPU: nothing to retire");
		return;
	}
	c = cpus[0];
	/* The fencer binds: only a bound thread takes the own-CPU path. */
	CU_ASSERT_EQUAL_FATAL(vrseq_slot_init(&own, VRSEQ_SLOT_CPU), 0);
	memset(blocks, 0, sizeof(blocks));
	atomic_store(&current, blocks[0]);
	atomic_store(&stop, 0);
	memset(w, 0, sizeof(w));
	for (int i = 0; i < WORKERS; i++) {
		w[i].cpu = c;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&w[i].th, NULL,
						     worker_main, &w[i]), 0);
	}
	before = count();
	while (b + 1 < BLOCKS && now() - start < seconds) {
		uint64_t *old = blocks[b], frozen;
		int from = b % 2;	/* 0: from c itself, 1: from elsewhere */

		CU_ASSERT_EQUAL_FATAL(harness_pin(cpus[from]), 0);
		atomic_store(&current, blocks[++b]);	/* publish, then */
		CU_ASSERT_EQUAL(vrseq_fence_cpu(c), 0);	/* fence */
		fences[from]++;
		frozen = __atomic_load_n(&old[0], __ATOMIC_ACQUIRE);
		usleep(200);	/* the workers run their sections */
		if (__atomic_load_n(&old[0], __ATOMIC_ACQUIRE) != frozen)
			changed++;
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(w[i].th, NULL);
		CU_ASSERT_EQUAL(w[i].error, 0);
		committed += w[i].committed;
	}
	harness_pin_restore();
	for (int i = 0; i <= b; i++)
		sum += blocks[i][0];
	printf("\n    %d blocks retired (%lu fences from CPU %d itself, %lu "
	       "from CPU %d: %lu membarrier calls), %llu increments, sum "
	       "%llu, %llu retired blocks changed after their fence\n",
	       b, fences[0], c, fences[1], cpus[1], count() - before,
	       (unsigned long long)committed, (unsigned long long)sum,
	       (unsigned long long)changed);
	CU_ASSERT_EQUAL(changed, 0);
	CU_ASSERT_EQUAL(sum, committed);
	CU_ASSERT(committed > 0);
	CU_ASSERT(fences[0] > 0 && fences[1] > 0);
	CU_ASSERT_ABI();
}

int main(void)
{
	static const struct test_case cases[] = {
		{ "own CPU: no system call", test_own_cpu_no_syscall },
		{ "unbound thread: membarrier", test_unbound_thread_syscall },
		{ "retirement from the CPU and from elsewhere",
		  test_retirement },
		{ NULL, NULL },
	};

	return harness_run("fence", cases);
}
