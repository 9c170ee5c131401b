/* SPDX-License-Identifier: MIT */
/*
 * The kernel probe is not biased by the caller's signal state. Its
 * experiments run in children that inherit the calling thread's signal mask,
 * dispositions and alternate stack; whatever the caller set up there (every
 * signal blocked in the sigwait style, SIGUSR1 ignored, an SA_ONSTACK
 * handler, a crash handler, itimers, SIGCHLD ignored or reaped by a handler)
 * the answers must equal the unbiased ones, and the caller's own signal state
 * must be as it was: same mask, dispositions and alternate stack, nothing
 * left pending, no child left behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

/* Dispositions the probe or its children could plausibly touch. */
static const int watched[] = { SIGUSR1, SIGALRM, SIGCHLD, SIGSEGV, SIGPROF };
#define NR_WATCHED	(int)(sizeof(watched) / sizeof(watched[0]))

struct sig_state {
	sigset_t mask;
	sigset_t pending;
	struct sigaction act[NR_WATCHED];
	stack_t alt;
};

static void get_state(struct sig_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_sigmask(SIG_BLOCK, NULL, &s->mask);
	sigpending(&s->pending);
	for (int i = 0; i < NR_WATCHED; i++)
		sigaction(watched[i], NULL, &s->act[i]);
	sigaltstack(NULL, &s->alt);
}

/* sigset_t is larger than the kernel's set: compare signal by signal. */
static bool same_set(const sigset_t *a, const sigset_t *b)
{
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		if (sigismember(a, sig) != sigismember(b, sig))
			return false;
	return true;
}

static bool empty_set(const sigset_t *s)
{
	for (int sig = 1; sig <= SIGRTMAX; sig++)
		if (sigismember(s, sig) == 1)
			return false;
	return true;
}

/* The caller's signal state after the probe is the one before it. */
static void assert_same_state(const struct sig_state *before,
			      const struct sig_state *after)
{
	CU_ASSERT_TRUE(same_set(&before->mask, &after->mask));
	for (int i = 0; i < NR_WATCHED; i++) {
		const struct sigaction *b = &before->act[i], *a = &after->act[i];

		CU_ASSERT_PTR_EQUAL((void *)b->sa_handler, (void *)a->sa_handler);
		CU_ASSERT_EQUAL(b->sa_flags, a->sa_flags);
		CU_ASSERT_TRUE(same_set(&b->sa_mask, &a->sa_mask));
	}
	CU_ASSERT_PTR_EQUAL(before->alt.ss_sp, after->alt.ss_sp);
	CU_ASSERT_EQUAL(before->alt.ss_size, after->alt.ss_size);
	CU_ASSERT_EQUAL(before->alt.ss_flags, after->alt.ss_flags);
	/* Nothing left pending: no SIGUSR1 (the experiment's signal), and no
	 * SIGCHLD a sigwait loop would have to explain either. */
	CU_ASSERT_FALSE(sigismember(&after->pending, SIGUSR1));
	CU_ASSERT_FALSE(sigismember(&after->pending, SIGCHLD));
	CU_ASSERT_TRUE(empty_set(&after->pending));
}

/* No probe child is left behind, reaped or not. */
static void assert_no_children(void)
{
	CU_ASSERT_EQUAL(waitpid(-1, NULL, WNOHANG | __WALL), -1);
	CU_ASSERT_EQUAL(errno, ECHILD);
}

/* Take whatever is pending while everything is blocked (before unblocking). */
static void drain_pending(void)
{
	sigset_t all;
	struct timespec zero = { 0, 0 };

	sigfillset(&all);
	while (sigtimedwait(&all, NULL, &zero) > 0)
		;
}

static void print_answers(const char *what, const struct vrseq_kernel *k)
{
	printf("\n    %s: legacy rewrite %s, v2 %s, cs_abort %s, safe %d",
	       what, vrseq_probe_name(k->legacy_rewrite), vrseq_v2_name(k->v2),
	       vrseq_probe_name(k->cs_abort), k->legacy_safe);
}

static struct vrseq_kernel base;
static bool have_base;

/* The unbiased answers: clean signal state, main thread. */
static const struct vrseq_kernel *unbiased(void)
{
	if (!have_base) {
		CU_ASSERT_EQUAL_FATAL(vrseq_probe_kernel(&base, sizeof(base)), 0);
		print_answers("unbiased", &base);
		have_base = true;
	}
	return &base;
}

static bool same_answer(int a, int b)
{
	return a == b || a == VRSEQ_PROBE_UNKNOWN || b == VRSEQ_PROBE_UNKNOWN;
}

static void assert_answers(const char *what, const struct vrseq_kernel *k)
{
	const struct vrseq_kernel *b = unbiased();

	print_answers(what, k);
	CU_ASSERT_EQUAL(k->rseq, b->rseq);
	CU_ASSERT_EQUAL(k->legacy_rewrite, b->legacy_rewrite);
	CU_ASSERT_EQUAL(k->v2, b->v2);
	/* A measurement that missed its sections (a loaded machine preempts
	 * them first) says unknown; it must never say the opposite. */
	CU_ASSERT(same_answer(k->cs_abort, b->cs_abort));
	CU_ASSERT(same_answer(k->cs_abort_signal, b->cs_abort_signal));
	CU_ASSERT(same_answer(k->cs_abort_preempt, b->cs_abort_preempt));
	CU_ASSERT(same_answer(k->cs_abort_membarrier, b->cs_abort_membarrier));
	CU_ASSERT_EQUAL(k->cs_abort_release, b->cs_abort_release);
	if (k->cs_abort == b->cs_abort)
		CU_ASSERT_EQUAL(k->legacy_safe, b->legacy_safe);
}

/* Probe in the current state; assert the answers and the state kept. */
static void probe_and_check(const char *what)
{
	struct sig_state before, after;
	struct vrseq_kernel k;

	unbiased();
	get_state(&before);
	CU_ASSERT_EQUAL_FATAL(vrseq_probe_kernel(&k, sizeof(k)), 0);
	get_state(&after);
	assert_answers(what, &k);
	assert_same_state(&before, &after);
	assert_no_children();
	CU_ASSERT_ABI();
}

/* ---------------------------------------------------------------- cases */

static void test_unbiased(void)
{
	struct vrseq_kernel k;
	struct vrseq_info info;

	CU_ASSERT_EQUAL_FATAL(vrseq_get_info(&info, sizeof(info)), 0);
	printf("\n    owner %s", vrseq_owner_name(info.owner));
	probe_and_check("again");
	k = *unbiased();
	if (k.rseq)
		CU_ASSERT(k.legacy_rewrite != VRSEQ_PROBE_UNKNOWN);
}

/*
 * The measured cs_abort: its three causes are consistent with it, with
 * their counts, and with the release gate where the kernel is one the gate
 * knows (this suite runs on kernels that abort: x86_64, and arm64 outside
 * 6.19-7.0.13, where every fast-path test would fail otherwise).
 */
static void test_cs_abort(void)
{
	const struct vrseq_kernel *k = unbiased();
	const uint8_t causes[] = {
		k->cs_abort_signal, k->cs_abort_preempt, k->cs_abort_membarrier,
	};
	const unsigned int hits[] = {
		k->cs_hits_signal, k->cs_hits_preempt, k->cs_hits_membarrier,
	};
	const unsigned int committed[] = {
		k->cs_committed_signal, k->cs_committed_preempt,
		k->cs_committed_membarrier,
	};
	struct vrseq_info info;
	bool any_no = false, any_killed = false, any_yes = false;

	printf("\n    cs_abort %s (release %s): signal %s %u/%u, preempt %s "
	       "%u/%u, membarrier %s %u/%u committed/hit, %u us",
	       vrseq_probe_name(k->cs_abort),
	       vrseq_probe_name(k->cs_abort_release),
	       vrseq_probe_name(causes[0]), committed[0], hits[0],
	       vrseq_probe_name(causes[1]), committed[1], hits[1],
	       vrseq_probe_name(causes[2]), committed[2], hits[2],
	       k->cs_abort_usec);
	if (!k->rseq) {
		CU_ASSERT_EQUAL(k->cs_abort, VRSEQ_PROBE_UNKNOWN);
		CU_ASSERT_EQUAL(k->cs_abort_release, VRSEQ_PROBE_UNKNOWN);
		return;
	}
	for (int i = 0; i < 3; i++) {
		CU_ASSERT(committed[i] <= hits[i]);
		if (causes[i] == VRSEQ_PROBE_NO)
			CU_ASSERT(committed[i] > 0);
		if (causes[i] == VRSEQ_PROBE_YES)
			CU_ASSERT(committed[i] == 0 && hits[i] >= 4);
		if (causes[i] == VRSEQ_PROBE_UNKNOWN)
			CU_ASSERT(hits[i] < 4);
		any_no |= causes[i] == VRSEQ_PROBE_NO;
		any_killed |= causes[i] == VRSEQ_PROBE_KILLED;
		any_yes |= causes[i] == VRSEQ_PROBE_YES;
	}
	CU_ASSERT_EQUAL(k->cs_abort, any_no ? VRSEQ_PROBE_NO :
		       any_killed ? VRSEQ_PROBE_KILLED :
		       any_yes ? VRSEQ_PROBE_YES : VRSEQ_PROBE_UNKNOWN);
	CU_ASSERT_EQUAL(k->legacy_safe, k->legacy_rewrite == VRSEQ_PROBE_YES &&
			k->cs_abort == VRSEQ_PROBE_YES);
	CU_ASSERT_EQUAL_FATAL(vrseq_get_info(&info, sizeof(info)), 0);
	/* Preemption needs no second CPU: measured wherever vrseq binds. */
	if (info.owner == VRSEQ_OWNER_GLIBC || info.owner == VRSEQ_OWNER_VRSEQ)
		CU_ASSERT_NOT_EQUAL(k->cs_abort_preempt, VRSEQ_PROBE_UNKNOWN);
	if (info.fallback != VRSEQ_FALLBACK_KERNEL) {
		CU_ASSERT_EQUAL(k->cs_abort_release, VRSEQ_PROBE_YES);
		CU_ASSERT_NOT_EQUAL(k->cs_abort, VRSEQ_PROBE_NO);
	}
}

/*
 * A SCHED_FIFO caller: its children inherit the policy, under which the
 * helper pinned to the section's CPU would never preempt the spinning
 * section; the child drops it, so preemption is still measured.
 */
static void test_realtime(void)
{
	struct sched_param rt = { .sched_priority = 1 }, old_param;
	const struct vrseq_kernel *b = unbiased();
	struct vrseq_kernel k;
	int old_policy;

	CU_ASSERT_EQUAL_FATAL(pthread_getschedparam(pthread_self(), &old_policy,
						    &old_param), 0);
	if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &rt) != 0) {
		printf("\n    SCHED_FIFO not permitted here: skipped");
		return;
	}
	CU_ASSERT_EQUAL(vrseq_probe_kernel(&k, sizeof(k)), 0);
	pthread_setschedparam(pthread_self(), old_policy, &old_param);
	assert_answers("SCHED_FIFO", &k);
	CU_ASSERT_EQUAL(k.cs_abort_preempt, b->cs_abort_preempt);
}

/* A caller built before 0.4.0 passes 24 bytes: nothing beyond is written. */
static void test_old_size(void)
{
	union {
		struct vrseq_kernel k;
		unsigned char bytes[sizeof(struct vrseq_kernel)];
	} u;
	const size_t old = offsetof(struct vrseq_kernel, cs_abort_signal);

	CU_ASSERT_EQUAL(old, 24);
	CU_ASSERT_EQUAL(sizeof(struct vrseq_kernel), 44);
	memset(&u, 0xa5, sizeof(u));
	CU_ASSERT_EQUAL_FATAL(vrseq_probe_kernel(&u.k, old), 0);
	CU_ASSERT_EQUAL(u.k.size, old);
	for (size_t i = old; i < sizeof(u); i++)
		CU_ASSERT_EQUAL_FATAL(u.bytes[i], 0xa5);
	CU_ASSERT_EQUAL(u.k.cs_abort, unbiased()->cs_abort);
}

static void test_all_blocked(void)
{
	sigset_t all, old;

	sigfillset(&all);
	CU_ASSERT_EQUAL_FATAL(pthread_sigmask(SIG_BLOCK, &all, &old), 0);
	probe_and_check("all blocked");
	drain_pending();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void test_usr1_ignored(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	sigemptyset(&ign.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGUSR1, &ign, &old), 0);
	probe_and_check("SIGUSR1 ignored");
	sigaction(SIGUSR1, &old, NULL);
}

static char *alt_lo, *alt_hi;
static volatile sig_atomic_t onstack_calls, onstack_hits;

static void on_usr1_onstack(int sig)
{
	char here;

	(void)sig;
	onstack_calls++;
	onstack_hits += &here >= alt_lo && &here < alt_hi;
}

static void test_altstack(void)
{
	long min = sysconf(_SC_SIGSTKSZ);
	size_t size = min > 65536 ? (size_t)min : 65536;
	stack_t ss = { .ss_size = size }, old_ss;
	struct sigaction sa = { .sa_handler = on_usr1_onstack,
				.sa_flags = SA_ONSTACK }, old;

	ss.ss_sp = malloc(size);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ss.ss_sp);
	alt_lo = ss.ss_sp;
	alt_hi = alt_lo + size;
	sigemptyset(&sa.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaltstack(&ss, &old_ss), 0);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGUSR1, &sa, &old), 0);
	probe_and_check("altstack + SA_ONSTACK handler");
	/* The caller's handler never ran; it still runs on its stack. */
	CU_ASSERT_EQUAL(onstack_calls, 0);
	raise(SIGUSR1);
	CU_ASSERT_EQUAL(onstack_calls, 1);
	CU_ASSERT_EQUAL(onstack_hits, 1);
	sigaction(SIGUSR1, &old, NULL);
	sigaltstack(&old_ss, NULL);
	free(ss.ss_sp);
}

struct thread_result {
	int ret;
	struct vrseq_kernel k;
	struct sig_state before, after;
};

static void *blocked_thread(void *arg)
{
	struct thread_result *r = arg;
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	get_state(&r->before);
	r->ret = vrseq_probe_kernel(&r->k, sizeof(r->k));
	get_state(&r->after);
	drain_pending();
	return NULL;
}

static void test_thread_blocked(void)
{
	struct thread_result r;
	pthread_t th;

	unbiased();
	memset(&r, 0, sizeof(r));
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, blocked_thread, &r), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_join(th, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(r.ret, 0);
	assert_answers("thread, all blocked", &r.k);
	assert_same_state(&r.before, &r.after);
	assert_no_children();
}

static volatile sig_atomic_t alrm_ticks, prof_ticks;

static void on_alrm(int sig)
{
	(void)sig;
	alrm_ticks++;
}

static void on_prof(int sig)
{
	(void)sig;
	prof_ticks++;
}

static void test_itimers(void)
{
	/* No SA_RESTART: the probe's wait sees EINTR every millisecond. */
	struct sigaction alrm = { .sa_handler = on_alrm };
	struct sigaction prof = { .sa_handler = on_prof };
	struct sigaction old_alrm, old_prof;
	struct itimerval tick = { { 0, 200 }, { 0, 200 } }, off = { { 0, 0 }, { 0, 0 } };
	struct itimerval real, cpu;

	sigemptyset(&alrm.sa_mask);
	sigemptyset(&prof.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGALRM, &alrm, &old_alrm), 0);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGPROF, &prof, &old_prof), 0);
	CU_ASSERT_EQUAL_FATAL(setitimer(ITIMER_REAL, &tick, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(setitimer(ITIMER_PROF, &tick, NULL), 0);
	/* Until the timer has interrupted the probe a few times. */
	for (int i = 0; i < 200 && alrm_ticks < 5; i++)
		probe_and_check("ITIMER_REAL + ITIMER_PROF running");
	/* The caller's timers still run, at the caller's interval. */
	CU_ASSERT_EQUAL(getitimer(ITIMER_REAL, &real), 0);
	CU_ASSERT_EQUAL(getitimer(ITIMER_PROF, &cpu), 0);
	CU_ASSERT_EQUAL(real.it_interval.tv_usec, tick.it_interval.tv_usec);
	CU_ASSERT_EQUAL(cpu.it_interval.tv_usec, tick.it_interval.tv_usec);
	setitimer(ITIMER_REAL, &off, NULL);
	setitimer(ITIMER_PROF, &off, NULL);
	printf(" (%d SIGALRM, %d SIGPROF)", (int)alrm_ticks, (int)prof_ticks);
	CU_ASSERT(alrm_ticks > 0);
	sigaction(SIGALRM, &old_alrm, NULL);
	sigaction(SIGPROF, &old_prof, NULL);
}

/* SIGCHLD ignored: children are reaped by the kernel, wait gets ECHILD. */
static void test_sigchld_ignored(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	sigemptyset(&ign.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGCHLD, &ign, &old), 0);
	probe_and_check("SIGCHLD ignored");
	sigaction(SIGCHLD, &old, NULL);
}

static void test_sigchld_nocldwait(void)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL,
				 .sa_flags = SA_NOCLDWAIT }, old;

	sigemptyset(&dfl.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGCHLD, &dfl, &old), 0);
	probe_and_check("SIGCHLD SA_NOCLDWAIT");
	sigaction(SIGCHLD, &old, NULL);
}

static volatile sig_atomic_t reaped;

/* The classic reaper: collects every child it is told about. */
static void on_chld_reap(int sig)
{
	int saved = errno;

	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		reaped++;
	errno = saved;
}

static void test_sigchld_reaper(void)
{
	struct sigaction sa = { .sa_handler = on_chld_reap,
				.sa_flags = SA_RESTART }, old;

	sigemptyset(&sa.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGCHLD, &sa, &old), 0);
	for (int i = 0; i < 5; i++)
		probe_and_check("SIGCHLD reaper handler");
	printf(" (reaper took %d)", (int)reaped);
	sigaction(SIGCHLD, &old, NULL);
}

static pid_t test_pid;

/*
 * A crash handler that would make a probe child look alive and well. In
 * this process (a real crash) it restores the default and lets it happen.
 */
static void on_segv(int sig)
{
	if (getpid() != test_pid)
		_exit(0);
	signal(sig, SIG_DFL);
}

static void test_segv_handler(void)
{
	struct sigaction sa = { .sa_handler = on_segv }, old;

	test_pid = getpid();
	sigemptyset(&sa.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGSEGV, &sa, &old), 0);
	probe_and_check("SIGSEGV handler");
	sigaction(SIGSEGV, &old, NULL);
}

static void test_sigalrm_ignored(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;

	sigemptyset(&ign.sa_mask);
	CU_ASSERT_EQUAL_FATAL(sigaction(SIGALRM, &ign, &old), 0);
	probe_and_check("SIGALRM ignored");
	sigaction(SIGALRM, &old, NULL);
}

static const struct test_case cases[] = {
	{ "unbiased answers are stable", test_unbiased },
	{ "critical-section aborts, measured", test_cs_abort },
	{ "a caller's 24-byte struct (before 0.4.0)", test_old_size },
	{ "a SCHED_FIFO caller", test_realtime },
	{ "every signal blocked", test_all_blocked },
	{ "SIGUSR1 ignored", test_usr1_ignored },
	{ "alternate stack and an SA_ONSTACK handler", test_altstack },
	{ "a thread with every signal blocked", test_thread_blocked },
	{ "ITIMER_REAL and ITIMER_PROF running", test_itimers },
	{ "SIGCHLD ignored", test_sigchld_ignored },
	{ "SIGCHLD with SA_NOCLDWAIT", test_sigchld_nocldwait },
	{ "a SIGCHLD handler reaping every child", test_sigchld_reaper },
	{ "a SIGSEGV handler", test_segv_handler },
	{ "SIGALRM ignored", test_sigalrm_ignored },
	{ NULL, NULL },
};

int main(void)
{
	return harness_run("probe", cases);
}
