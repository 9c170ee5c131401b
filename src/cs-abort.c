/* SPDX-License-Identifier: MIT */
/*
 * Measured critical-section aborts: does the kernel abort a section that a
 * signal, a preemption or a membarrier-rseq IPI hits? Every per-CPU rseq
 * algorithm, vrseq's fences included, rests on it, and arm64 kernels from
 * 6.19 through 7.0.13 do not (rseq-facts.md, "arm64"). The release-string
 * gate (gate.c) knows those kernels by name; this is the experiment that
 * tells a vendor kernel with the fix backported, or a custom one without it.
 *
 * Each cause runs in a probe child of its own (probe.c: a fork-like clone,
 * its signal state reset, a watchdog), so that the caller gets no thread,
 * no signal and no changed affinity, and a child the kernel kills (rseq
 * debug mode on arm64 7.0.13, for a signal) leaves the other causes
 * measured. In the child, on the registration the calling thread
 * has (inherited: the child's copy of glibc's or vrseq's area), the main
 * thread runs sections that set `inside`, spin until `go` is set, and
 * commit. A helper thread (clone(2) with CLONE_VM|CLONE_THREAD: the child
 * is a copy of a process that may be inside malloc, so no pthread_create)
 * waits until a section is inside, then makes one event hit it and only
 * then lets it finish:
 *   signal      from another CPU, tgkill(SIGUSR1); the handler sets go.
 *   preempt     pinned to the section's CPU, it can only run while the
 *               section is preempted: it sets go there.
 *   membarrier  from another CPU, membarrier(PRIVATE_EXPEDITED_RSEQ,
 *               FLAG_CPU, the section's CPU), which returns once the IPI
 *               ran there; then it sets go.
 * A section that commits after the event hit it was not aborted: the
 * kernel failed. An attempt the event did not hit (the section ended
 * first, a system call failed) counts for nothing. Signal and membarrier
 * need a second allowed CPU; without one they stay VRSEQ_PROBE_UNKNOWN.
 *
 * Cost, measured: see vrseq_probe_kernel(3). Nothing here writes a
 * kernel-owned field: the sections store rseq_cs only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cs-abort-asm.h"
#include "internal.h"
#include "membarrier.h"
#include "probe.h"

#ifdef VRSEQ_CS_ABORT_BODY

enum cause { CAUSE_SIGNAL, CAUSE_PREEMPT, CAUSE_MEMBARRIER, NR_CAUSES };

/* Sections each cause must hit; attempts allowed for that; fewer hits
 * than HITS_MIN are no answer. On the broken arm64 kernels about half the
 * preempted sections and all signalled or fenced ones commit, so twelve
 * hits leave a 2^-12 chance of missing the preemption failure, and the
 * other two causes fail there anyway. */
#define HITS_WANTED	12
#define HITS_MIN	4
#define ATTEMPTS_MAX	(3 * HITS_WANTED)
/* The helper's patience: sleeps of SLEEP_NS on the section's CPU, or a
 * spin of SPIN_NS on another, waiting for a section to be inside. */
#define PREEMPT_ROUNDS	2000
#define SLEEP_NS	20000L
#define SPIN_NS		200000000L
#define HELPER_STACK	(64 * 1024)

/* What the child reports, in a shared page the parent maps. */
struct cs_result {
	uint16_t hits[NR_CAUSES];
	uint16_t committed[NR_CAUSES];
	uint8_t measured[NR_CAUSES];
	uint8_t killed[NR_CAUSES];	/* its child died of SIGSEGV */
	uint8_t cause;			/* the one the next child measures */
};

/* Per thread, so that concurrent probes each find their own page (the
 * child is a copy of the calling thread, TLS included). */
static __thread struct cs_result *cs_result
	__attribute__((tls_model("initial-exec")));

/* The child's two threads share these (the child's copy of them). */
static struct {
	uint32_t trial;		/* futex: the section thread starts a trial */
	uint32_t ack;		/* futex: the helper is done with it */
	uint32_t cause;		/* enum cause of the trial */
	uint32_t inside;	/* the section's first store */
	uint32_t go;		/* the section spins until this is set */
	uint32_t committed;	/* the section's committing store */
	uint32_t finished;	/* the section thread left the section */
	uint32_t hit;		/* the helper's event hit the section */
	uint32_t quit;
	int cpu;		/* the section's CPU */
	int other;		/* another allowed CPU, or -1 */
	pid_t tgid;		/* the child; its main thread runs the sections */
} ctl;

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* Raw system calls only: the helper shares the main thread's TLS (no
 * CLONE_SETTLS), so it keeps away from libc state; errno, written by
 * syscall() on failure, is the only such word and nobody reads it. */
static void futex_wait(uint32_t *word, uint32_t val)
{
	struct timespec ts = { 0, 100000000L };	/* a lost wake costs 0.1 s */

	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static int pin_to(int cpu)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return (int)syscall(SYS_sched_setaffinity, 0, sizeof(one), &one);
}

static int current_cpu(void)
{
	unsigned int cpu = 0;

	return syscall(SYS_getcpu, &cpu, NULL, NULL) < 0 ? -1 : (int)cpu;
}

static long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static void cs_signal(int sig)
{
	(void)sig;
	STORE(ctl.go, 1);
}

/* One section: 1 committed, 0 aborted. */
static __attribute__((noinline)) int run_section(struct vrseq_rseq_area *area)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_ABORT_BODY
		VRSEQ_CS_END("aborted")
		:
		: [area] "r" (area), [inside] "r" (&ctl.inside),
		  [go] "r" (&ctl.go), [done] "r" (&ctl.committed)
		: VRSEQ_CS_CLOBBERS
		: aborted);
	__atomic_store_n(&area->rseq_cs, 0, __ATOMIC_RELAXED);
	return 1;
aborted:
	__atomic_store_n(&area->rseq_cs, 0, __ATOMIC_RELAXED);
	return 0;
}

/* The helper's part of one trial; go is set when it returns, unless a
 * signal is on its way (the handler sets it: go set here could let the
 * section commit before the signal arrives). */
static void helper_trial(int *pinned)
{
	uint32_t cause = LOAD(ctl.cause);
	int want = cause == CAUSE_PREEMPT ? ctl.cpu : ctl.other;

	if (*pinned != want) {
		if (want < 0 || pin_to(want) < 0 || current_cpu() != want)
			goto release;
		*pinned = want;
	}
	if (cause == CAUSE_PREEMPT) {
		for (int i = 0; i < PREEMPT_ROUNDS && !LOAD(ctl.finished); i++) {
			struct timespec ts = { 0, SLEEP_NS };

			/* Running on its CPU: the section is preempted. */
			if (LOAD(ctl.inside)) {
				STORE(ctl.hit, 1);
				break;
			}
			syscall(SYS_nanosleep, &ts, NULL);
		}
	} else {
		long deadline = now_ns() + SPIN_NS;

		while (!LOAD(ctl.inside) && !LOAD(ctl.finished) &&
		       now_ns() < deadline)
			;
		if (LOAD(ctl.inside) && !LOAD(ctl.finished)) {
			STORE(ctl.hit, 1);
			if (cause == CAUSE_SIGNAL) {
				if (syscall(SYS_tgkill, ctl.tgid, ctl.tgid,
					    SIGUSR1) == 0)
					return;
				STORE(ctl.hit, 0);
			} else if (vrseq__sys_membarrier(
					   VRSEQ_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
					   VRSEQ_MEMBARRIER_CMD_FLAG_CPU,
					   ctl.cpu) < 0) {
				STORE(ctl.hit, 0);
			}
		}
	}
release:
	STORE(ctl.go, 1);
}

static int helper_main(void *arg)
{
	uint32_t seen = 0;
	int pinned = -1;

	(void)arg;
	for (;;) {
		uint32_t n = LOAD(ctl.trial);

		if (n == seen) {
			futex_wait(&ctl.trial, seen);
			continue;
		}
		seen = n;
		if (LOAD(ctl.quit))
			return 0;
		helper_trial(&pinned);
		STORE(ctl.ack, seen);
		futex_wake(&ctl.ack);
	}
}

/* Trials of one cause until it hit HITS_WANTED sections; false when the
 * helper stopped answering. */
static bool measure(enum cause cause, struct vrseq_rseq_area *area)
{
	for (int a = 0; a < ATTEMPTS_MAX && cs_result->hits[cause] < HITS_WANTED;
	     a++) {
		uint32_t n = ctl.trial + 1;
		long deadline;
		int committed;

		STORE(ctl.inside, 0);
		STORE(ctl.go, 0);
		STORE(ctl.committed, 0);
		STORE(ctl.finished, 0);
		STORE(ctl.hit, 0);
		STORE(ctl.cause, (uint32_t)cause);
		STORE(ctl.trial, n);
		futex_wake(&ctl.trial);
		committed = run_section(area);
		STORE(ctl.inside, 0);
		STORE(ctl.finished, 1);
		deadline = now_ns() + 2 * SPIN_NS;
		while (LOAD(ctl.ack) != n) {
			if (now_ns() > deadline)
				return false;
			futex_wait(&ctl.ack, LOAD(ctl.ack));
		}
		if (LOAD(ctl.hit)) {
			cs_result->hits[cause]++;
			cs_result->committed[cause] += (uint16_t)committed;
		}
	}
	cs_result->measured[cause] = 1;
	return true;
}

/* In a probe child: set up, then measure cs_result->cause if it can. */
static int cs_abort_child(const struct vrseq_thread *t, uint32_t len)
{
	struct vrseq_rseq_area *area = t->area;
	struct sigaction sa;
	cpu_set_t allowed;
	void *stack;
	bool fence;
	int c;

	if (!area)
		area = vrseq__probe_register_private(t, len);
	if (!area)
		return CHILD_CANNOT;
	ctl.tgid = getpid();
	ctl.cpu = current_cpu();
	ctl.other = -1;
	/* The caller's thread may be pinned; the child may widen its own
	 * mask, which the kernel narrows to the cpuset. */
	memset(&allowed, 0xff, sizeof(allowed));
	syscall(SYS_sched_setaffinity, 0, sizeof(allowed), &allowed);
	CPU_ZERO(&allowed);
	if (ctl.cpu < 0 ||
	    syscall(SYS_sched_getaffinity, 0, sizeof(allowed), &allowed) < 0)
		return CHILD_CANNOT;
	for (c = 0; c < CPU_SETSIZE && ctl.other < 0; c++)
		if (c != ctl.cpu && CPU_ISSET(c, &allowed))
			ctl.other = c;
	if (pin_to(ctl.cpu) < 0)
		return CHILD_CANNOT;
	/* A real-time caller's policy would keep the helper from ever
	 * preempting the section on its CPU (and the helper inherits it). */
	sched_setscheduler(0, SCHED_OTHER, &(struct sched_param){ 0 });
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cs_signal;	/* sa_flags 0: no SA_ONSTACK */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return CHILD_CANNOT;
	/* While this is the process's only thread: no synchronize_rcu(). */
	fence = vrseq__sys_membarrier(
		VRSEQ_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) == 0;
	stack = mmap(NULL, HELPER_STACK, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return CHILD_CANNOT;
	if (clone(helper_main, (char *)stack + HELPER_STACK,
		  CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND |
		  CLONE_THREAD | CLONE_SYSVSEM, NULL) < 0)
		return CHILD_CANNOT;
	switch (cs_result->cause) {
	case CAUSE_PREEMPT:
		break;
	case CAUSE_MEMBARRIER:
		if (!fence)
			return CHILD_NO;
		/* fall through */
	default:
		if (ctl.other < 0)
			return CHILD_NO;	/* needs a second CPU */
	}
	if (!measure(cs_result->cause, area))
		return CHILD_CANNOT;
	STORE(ctl.quit, 1);
	STORE(ctl.trial, ctl.trial + 1);
	futex_wake(&ctl.trial);
	return CHILD_YES;
}

/*
 * A child killed with SIGSEGV (rseq debug mode on arm64 7.0.13 kills the
 * process whose section a signal hit, where without debug mode the section
 * is aborted): that cause is VRSEQ_PROBE_KILLED. Each cause has a child of
 * its own, so that a kill leaves the others measured.
 */
static uint8_t answer(int cause)
{
	if (cs_result->killed[cause])
		return VRSEQ_PROBE_KILLED;
	if (!cs_result->measured[cause] || cs_result->hits[cause] < HITS_MIN)
		return VRSEQ_PROBE_UNKNOWN;
	return cs_result->committed[cause] ? VRSEQ_PROBE_NO : VRSEQ_PROBE_YES;
}

/* The answer over all causes: one that let sections commit, else one
 * that had them killed, else one that aborted them all. */
static uint8_t combined(const uint8_t answers[NR_CAUSES])
{
	static const uint8_t order[] = {
		VRSEQ_PROBE_NO, VRSEQ_PROBE_KILLED, VRSEQ_PROBE_YES,
	};

	for (size_t i = 0; i < sizeof(order); i++)
		for (int c = 0; c < NR_CAUSES; c++)
			if (answers[c] == order[i])
				return order[i];
	return VRSEQ_PROBE_UNKNOWN;
}

void vrseq__measure_cs_abort(const struct vrseq_thread *t,
			     struct vrseq_kernel *k)
{
	const struct vrseq_process *p = &vrseq__proc;
	uint32_t len = p->feature_size > VRSEQ_RSEQ_ORIG_SIZE ?
		       p->feature_size : VRSEQ_RSEQ_ORIG_SIZE;
	long start = now_ns();
	uint8_t answers[NR_CAUSES];

	cs_result = mmap(NULL, sizeof(*cs_result), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (cs_result == MAP_FAILED) {
		cs_result = NULL;
		return;
	}
	memset(cs_result, 0, sizeof(*cs_result));
	for (int c = 0; c < NR_CAUSES; c++) {
		cs_result->cause = (uint8_t)c;
		if (vrseq__probe_run_child(cs_abort_child, t, len) ==
		    VRSEQ_PROBE_KILLED)
			cs_result->killed[c] = 1;
		answers[c] = answer(c);
	}
	k->cs_abort_usec = (uint32_t)((now_ns() - start) / 1000);
	k->cs_abort_signal = answers[CAUSE_SIGNAL];
	k->cs_abort_preempt = answers[CAUSE_PREEMPT];
	k->cs_abort_membarrier = answers[CAUSE_MEMBARRIER];
	k->cs_abort = combined(answers);
	k->cs_hits_signal = cs_result->hits[CAUSE_SIGNAL];
	k->cs_hits_preempt = cs_result->hits[CAUSE_PREEMPT];
	k->cs_hits_membarrier = cs_result->hits[CAUSE_MEMBARRIER];
	k->cs_committed_signal = cs_result->committed[CAUSE_SIGNAL];
	k->cs_committed_preempt = cs_result->committed[CAUSE_PREEMPT];
	k->cs_committed_membarrier = cs_result->committed[CAUSE_MEMBARRIER];
	munmap(cs_result, sizeof(*cs_result));
	cs_result = NULL;
}

#else /* no critical sections on this architecture: nothing to measure */

void vrseq__measure_cs_abort(const struct vrseq_thread *t,
			     struct vrseq_kernel *k)
{
	(void)t;
	(void)k;
}

#endif
