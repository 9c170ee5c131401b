/* SPDX-License-Identifier: MIT */
/*
 * Kernel probe: run the experiments that tell kernel eras apart, instead of
 * trusting version strings (distributions backport, and the eras differ
 * inside one minor release).
 *
 * The two experiments need a registration whose cpu_id_start we write, which
 * vrseq never does in a live process. They run in a forked child that first
 * unregisters the area it inherited (ours or glibc's, both known), registers
 * a private one, writes, and reports through its exit status. A child killed
 * by the kernel is an answer too: writes are fatal there.
 *
 * The child inherits the calling thread's signal state, and the caller may
 * have set up anything (every signal blocked in the sigwait style, SIGUSR1
 * ignored, handlers on an alternate stack, a crash handler, SIGCHLD ignored
 * or reaped by a handler): the child resets what it depends on before any
 * experiment, and is started so that the caller's SIGCHLD set-up cannot
 * hide its status. See child_reset() and start_child().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "gate.h"
#include "membarrier.h"
#include "probe.h"

#define LEGACY_BIT	0x80000000u
#define PROBE_ROUNDS	3
#define CHILD_SECONDS	5

/* A private area for the child; static so it needs no allocation. */
static union {
	struct vrseq_rseq_area area;
	unsigned char bytes[VRSEQ_OWN_AREA_SIZE];
} probe_area __attribute__((aligned(VRSEQ_OWN_AREA_ALIGN)));

static void probe_signal(int sig)
{
	(void)sig;
}

/*
 * In the child, first thing: undo the signal state inherited from the
 * calling thread, so that only the kernel decides the experiment. Only
 * async-signal-safe calls (the caller may be multithreaded).
 *
 * - Every signal unblocked, through the system call (the kernel's mask, so
 *   nothing a libc reserves stays blocked either): a blocked SIGUSR1 would
 *   stay pending, a blocked SIGALRM would disarm the watchdog.
 * - Every caller handler back to SIG_DFL: the child must not run the
 *   caller's code (a self-pipe handler, a crash handler that would turn the
 *   kernel's SIGSEGV into an orderly exit). SIG_IGN is kept, so that a
 *   terminal's signals the caller ignores do not kill the child, except for
 *   the signals the experiments need: SIGUSR1 (handler installed by the
 *   experiment, without SA_ONSTACK), SIGALRM (the watchdog) and SIGSEGV
 *   (how the kernel kills).
 * - No alternate signal stack.
 * - No interval timers but the watchdog: fork does not inherit them (nor
 *   POSIX timers), cleared anyway because it costs two system calls.
 * Pending signals are not inherited.
 */
static void child_reset(void)
{
	static const sigset_t none;	/* all zero: no signal */
	struct sigaction dfl, old;
	stack_t off;
	struct itimerval zero;

	if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL,
		    (_NSIG - 1) / 8) < 0)
		sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	for (int sig = 1; sig < _NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* Fails for the signals libc reserves: left as they are. */
		if (sigaction(sig, NULL, &old) < 0)
			continue;
		if (old.sa_handler == SIG_DFL && old.sa_flags == 0)
			continue;
		if (old.sa_handler == SIG_IGN && sig != SIGUSR1 &&
		    sig != SIGALRM && sig != SIGSEGV)
			continue;
		sigaction(sig, &dfl, NULL);
	}
	memset(&off, 0, sizeof(off));
	off.ss_flags = SS_DISABLE;
	sigaltstack(&off, NULL);	/* EPERM while running on it: harmless */
	memset(&zero, 0, sizeof(zero));
	setitimer(ITIMER_VIRTUAL, &zero, NULL);
	setitimer(ITIMER_PROF, &zero, NULL);
}

/* In the child: swap the inherited registration for a private one. */
static int child_register(const struct vrseq_thread *t, uint32_t len)
{
	if (t->area &&
	    vrseq__sys_rseq(t->area, t->registered_len,
			    VRSEQ_RSEQ_FLAG_UNREGISTER, VRSEQ_RSEQ_SIG) < 0)
		return -1;
	if (len > sizeof(probe_area.bytes))
		return -1;
	memset(&probe_area, 0, sizeof(probe_area));
	probe_area.area.cpu_id = (uint32_t)VRSEQ_RSEQ_CPU_ID_UNINITIALIZED;
	return vrseq__sys_rseq(&probe_area.area, len, 0, VRSEQ_RSEQ_SIG);
}

struct vrseq_rseq_area *vrseq__probe_register_private(
	const struct vrseq_thread *t, uint32_t len)
{
	return child_register(t, len) < 0 ? NULL : &probe_area.area;
}

static volatile uint32_t *child_cpu_id_start(void)
{
	return &probe_area.area.cpu_id_start;
}

/*
 * Run on another allowed CPU: the kernel writes the IDs then in every era,
 * which is also when rseq debug mode on 6.19-7.0.9 notices an earlier write
 * and kills. 0, or -1 with a single allowed CPU.
 */
static int migrate_away(void)
{
	cpu_set_t others;
	int cpu = (int)probe_area.area.cpu_id;

	/* Any CPU but this one; the kernel narrows it to our cpuset. The
	 * caller's thread may be pinned: only this child's mask changes. */
	CPU_ZERO(&others);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (c != cpu)
			CPU_SET(c, &others);
	if (sched_setaffinity(0, sizeof(others), &others) < 0)
		return -1;
	sched_yield();
	return 0;
}

/* Write the legacy bit, take a signal, see whether the kernel cleared it. */
static int child_legacy_rewrite(const struct vrseq_thread *t)
{
	struct sigaction sa;
	int rewritten = 0;

	if (child_register(t, VRSEQ_RSEQ_ORIG_SIZE) < 0)
		return CHILD_CANNOT;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = probe_signal;	/* sa_flags 0: no SA_ONSTACK */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return CHILD_CANNOT;
	for (int i = 0; i < PROBE_ROUNDS; i++) {
		volatile uint32_t *start = child_cpu_id_start();

		*start = LEGACY_BIT | probe_area.area.cpu_id;
		syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1);
		rewritten += !(*start & LEGACY_BIT);
	}
	/* No rewrite: a migration tells "not rewritten" from "debug mode". */
	if (rewritten == 0)
		migrate_away();
	return rewritten == PROBE_ROUNDS ? CHILD_YES :
	       rewritten == 0 ? CHILD_NO : CHILD_MIXED;
}

/* A full-size registration, a write, a migration: does the kernel kill us? */
static int child_v2(const struct vrseq_thread *t, uint32_t len)
{
	if (child_register(t, len) < 0)
		return CHILD_CANNOT;
	*child_cpu_id_start() = LEGACY_BIT | probe_area.area.cpu_id;
	if (migrate_away() < 0)
		return CHILD_CANNOT;
	return CHILD_NO;	/* still alive: the write was not fatal */
}

/*
 * A fork-like child (own copy of memory, one thread) whose exit sends the
 * parent no signal: clone() with exit signal 0 instead of fork().
 *
 * With fork() the caller's SIGCHLD set-up decides whether we get the
 * status: with SIGCHLD ignored or SA_NOCLDWAIT the kernel reaps the child
 * and waitpid() fails with ECHILD; a reaping SIGCHLD handler, a sigwait
 * loop or a reaper thread calling waitpid(-1) can take the status first; a
 * caller with SIGCHLD blocked is left a pending SIGCHLD for a child it does
 * not know. Restoring SIG_DFL around the fork would not do in a
 * multithreaded caller: the disposition is process-wide, other threads'
 * children would turn into zombies meanwhile, and a concurrent sigaction()
 * would be undone. A child with exit signal 0 is never reaped by the kernel
 * (that applies to SIGCHLD children only), signals nobody, and is seen only
 * by a wait with __WALL or __WCLONE, so waitpid(-1, ...) elsewhere in the
 * process leaves it alone.
 *
 * The raw system call also skips pthread_atfork() handlers, which have no
 * business in a child that only runs the code below: system calls and
 * _exit(), no libc state (its cached thread id stays the parent thread's,
 * and nothing here reads it). All arguments but the flags are 0 on every
 * architecture: the child runs on its copy of this stack.
 */
static pid_t start_child(void)
{
	return (pid_t)syscall(SYS_clone, 0UL, 0UL, 0UL, 0UL, 0UL);
}

int vrseq__probe_run_child(int (*experiment)(const struct vrseq_thread *,
					     uint32_t),
			   const struct vrseq_thread *t, uint32_t len)
{
	int status;
	pid_t pid = start_child();

	if (pid < 0)
		return VRSEQ_PROBE_UNKNOWN;
	if (pid == 0) {
		child_reset();
		alarm(CHILD_SECONDS);
		_exit(experiment(t, len));
	}
	/* ECHILD only if someone else waited for it with __WALL. */
	while (waitpid(pid, &status, __WALL) < 0)
		if (errno != EINTR)
			return VRSEQ_PROBE_UNKNOWN;
	/* The kernel kills with SIGSEGV; the watchdog's SIGALRM, or any
	 * signal sent from outside, is no answer. */
	if (WIFSIGNALED(status))
		return WTERMSIG(status) == SIGSEGV ? VRSEQ_PROBE_KILLED :
						     VRSEQ_PROBE_UNKNOWN;
	switch (WEXITSTATUS(status)) {
	case CHILD_YES:
		return VRSEQ_PROBE_YES;
	case CHILD_NO:
		return VRSEQ_PROBE_NO;
	default:
		return VRSEQ_PROBE_UNKNOWN;
	}
}

static int legacy_experiment(const struct vrseq_thread *t, uint32_t len)
{
	(void)len;
	return child_legacy_rewrite(t);
}

static int read_debug_mode(void)
{
	char c = 0;
	int fd = open("/sys/kernel/debug/rseq/debug", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = 0;
	close(fd);
	return c == '1' ? 1 : c == '0' ? 0 : -1;
}

int vrseq_probe_kernel(struct vrseq_kernel *kernel, size_t size)
{
	const struct vrseq_process *p = &vrseq__proc;
	const struct vrseq_thread *t;
	struct vrseq_kernel k;
	int ret;

	if (!kernel || size < sizeof(uint32_t))
		return -EINVAL;
	ret = vrseq__process();
	if (ret < 0)
		return ret;
	t = vrseq__thread();
	memset(&k, 0, sizeof(k));
	k.size = (uint32_t)(size < sizeof(k) ? size : sizeof(k));
	k.feature_size = p->feature_size;
	k.feature_align = p->feature_align;
	k.membarrier_rseq = p->membarrier_rseq ||
		(p->membarrier_cmds & VRSEQ_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ);
	k.rseq = vrseq__sys_rseq(NULL, 0, 0, 0) != -ENOSYS;
	k.debug_mode = read_debug_mode();
	/* A foreign owner's area is unknown: the child could not free it. */
	if (k.rseq && t->owner != VRSEQ_OWNER_FOREIGN) {
		k.legacy_rewrite = (uint8_t)vrseq__probe_run_child(legacy_experiment, t, 0);
		if (p->feature_size <= VRSEQ_RSEQ_ORIG_SIZE) {
			k.v2 = VRSEQ_V2_NONE;
		} else {
			int r = vrseq__probe_run_child(child_v2, t, p->feature_size);

			k.v2 = r == VRSEQ_PROBE_KILLED ? VRSEQ_V2_STRICT :
			       r == VRSEQ_PROBE_NO ? VRSEQ_V2_LENIENT :
			       VRSEQ_V2_UNKNOWN;
		}
		vrseq__measure_cs_abort(t, &k);
	}
	if (k.rseq)
		k.cs_abort_release = vrseq__running_kernel_aborts_unreliable() ?
				     VRSEQ_PROBE_NO : VRSEQ_PROBE_YES;
	/* The rewrite is worth nothing where sections are not aborted. */
	k.legacy_safe = k.rseq && k.legacy_rewrite == VRSEQ_PROBE_YES &&
			k.cs_abort == VRSEQ_PROBE_YES;
	memcpy(kernel, &k, k.size);
	return 0;
}

const char *vrseq_probe_name(int answer)
{
	switch (answer) {
	case VRSEQ_PROBE_YES:		return "yes";
	case VRSEQ_PROBE_NO:		return "no";
	case VRSEQ_PROBE_KILLED:	return "killed";
	default:			return "unknown";
	}
}

const char *vrseq_v2_name(int v2)
{
	switch (v2) {
	case VRSEQ_V2_NONE:	return "none";
	case VRSEQ_V2_LENIENT:	return "lenient";
	case VRSEQ_V2_STRICT:	return "strict";
	default:		return "unknown";
	}
}
