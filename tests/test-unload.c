/* SPDX-License-Identifier: MIT */
/*
 * Unloading a shared object whose critical sections a thread has run must
 * not leave that thread's rseq_cs pointing into the unmapped object: the
 * kernel reads rseq_cs when the thread next returns to user space after
 * being scheduled out, and a pointer it cannot read kills the thread
 * (SIGSEGV, SI_KERNEL).
 *
 * In a forked child per run: a worker thread calls into the plugin
 * (tests/unload-plugin.c), whose last critical section leaves through one
 * exit of vrseq_slot_commit() or vrseq_slot_cas(); then the worker blocks in
 * read() on a pipe. The main thread waits until it sleeps there, looks at
 * its rseq_cs, dlclose()s the plugin, checks that the plugin is really gone
 * (RTLD_NOLOAD and /proc/self/maps), and wakes the worker, which runs more
 * critical sections of this program. The child must exit 0, and the
 * worker's rseq_cs must not have pointed into the plugin while it slept.
 * Each exit of the sections of <vrseq.h>, and of a section built from the
 * building blocks with VRSEQ_CS_LEAVE/vrseq_cs_leave(), is tried RUNS
 * times; the control, the same section without them, must get killed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "unload-plugin.h"

#ifndef UNLOAD_PLUGIN_PATH
# define UNLOAD_PLUGIN_PATH	"unload-plugin.so"
#endif

/* Runs of each exit; each is a fresh process. */
#define RUNS		5
/* Child exit codes beyond 0/1. */
#define CHILD_NOT_UNLOADED	3	/* the plugin stayed mapped: no verdict */
#define CHILD_SETUP		4	/* dlopen, pipe, thread, ... failed */
#define CHILD_POINTED		5	/* survived, but rseq_cs pointed into it */

static const char *const exit_names[UNLOAD_NR_EXITS] = {
	[UNLOAD_COMMIT_COMMITTED] = "vrseq_slot_commit, committed",
	[UNLOAD_COMMIT_INVALIDATED] = "vrseq_slot_commit, invalidated",
	[UNLOAD_CAS_COMMITTED] = "vrseq_slot_cas, committed",
	[UNLOAD_CAS_CHANGED] = "vrseq_slot_cas, changed",
	[UNLOAD_CAS_INVALIDATED] = "vrseq_slot_cas, invalidated",
	[UNLOAD_OWN_COMMITTED] = "own section, committed, VRSEQ_CS_LEAVE",
	[UNLOAD_OWN_INVALIDATED] = "own section, invalidated, vrseq_cs_leave",
	[UNLOAD_OWN_NO_LEAVE] = "control: own section without VRSEQ_CS_LEAVE",
};

struct worker {
	unload_plugin_run_fn *run;
	int exit_case;
	int pipe[2];
	struct vrseq_slot *slot;
	pid_t tid;
	int plugin_ret;
	int done;		/* set after the plugin returned */
	int after_ok;		/* the worker's work after waking held */
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	char c;
	int committed = 0;

	w->slot = vrseq_thread_slot();
	w->tid = (pid_t)syscall(SYS_gettid);
	w->plugin_ret = w->run(w->exit_case, w->slot);
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	/* Straight into a blocking system call: nothing in between. */
	if (read(w->pipe[0], &c, 1) != 1)
		return NULL;
	/* Runs on, with critical sections of this program. */
	for (int i = 0; i < 1000 && !committed; i++)
		committed = vrseq_slot_store(w->slot, 42) == VRSEQ_COMMITTED;
	w->after_ok = committed && harness_abi_ok();
	return NULL;
}

/* The state letter of a thread of this process, or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static bool plugin_mapped(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	bool found = false;

	if (!f)
		return true;	/* cannot tell: no verdict */
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "unload-plugin") != NULL;
	fclose(f);
	return found;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The child: one run of one exit. Returns its exit code. */
static int child(int exit_case)
{
	struct worker w = { .exit_case = exit_case };
	pthread_t thread;
	void *handle, *probe;
	uintptr_t cs;
	bool pointed;
	Dl_info info;
	int tries;

	handle = dlopen(UNLOAD_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return CHILD_SETUP;
	}
	w.run = (unload_plugin_run_fn *)dlsym(handle, UNLOAD_PLUGIN_SYMBOL);
	if (!w.run || pipe(w.pipe) ||
	    pthread_create(&thread, NULL, worker_main, &w)) {
		fprintf(stderr, "set-up failed\n");
		return CHILD_SETUP;
	}
	/* Until the worker sleeps in read() (state S) after the plugin. */
	for (tries = 0; tries < 10000; tries++) {
		if (__atomic_load_n(&w.done, __ATOMIC_ACQUIRE) &&
		    thread_state(w.tid) == 'S')
			break;
		sleep_ms(1);
	}
	if (tries == 10000 || w.plugin_ret != 0) {
		fprintf(stderr, "the worker did not reach its exit (%d) and block\n",
			w.plugin_ret);
		return CHILD_SETUP;
	}
	/* Only reads the user-owned field. */
	cs = (uintptr_t)__atomic_load_n(&w.slot->area->rseq_cs, __ATOMIC_RELAXED);
	pointed = cs && dladdr((void *)cs, &info) && info.dli_fname &&
		  strstr(info.dli_fname, "unload-plugin");
	if (dlclose(handle)) {
		fprintf(stderr, "dlclose: %s\n", dlerror());
		return CHILD_SETUP;
	}
	probe = dlopen(UNLOAD_PLUGIN_PATH, RTLD_NOW | RTLD_NOLOAD);
	if (probe || plugin_mapped()) {
		fprintf(stderr, "the plugin was not unloaded\n");
		return CHILD_NOT_UNLOADED;
	}
	/* Wake the worker: it is killed here if rseq_cs is stale. */
	if (write(w.pipe[1], "x", 1) != 1 || pthread_join(thread, NULL)) {
		fprintf(stderr, "wake/join failed\n");
		return CHILD_SETUP;
	}
	if (!w.after_ok) {
		fprintf(stderr, "the worker's sections failed after the unload\n");
		return 1;
	}
	if (pointed) {
		fprintf(stderr, "rseq_cs pointed into the plugin (0x%lx) while "
			"the worker slept\n", (unsigned long)cs);
		return CHILD_POINTED;
	}
	return 0;
}

/* One exit, RUNS times: how many runs failed, and how many of those were
 * killed by SIGSEGV. */
static int runs_of(int exit_case, int *segv)
{
	int failed = 0;

	*segv = 0;
	for (int run = 0; run < RUNS; run++) {
		int status;
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid < 0)
			CU_FAIL_FATAL("fork");
		if (pid == 0)
			_exit(child(exit_case));
		if (waitpid(pid, &status, 0) != pid)
			CU_FAIL_FATAL("waitpid");
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			continue;
		failed++;
		if (WIFSIGNALED(status)) {
			*segv += WTERMSIG(status) == SIGSEGV;
			printf("\n    %s, run %d: killed by signal %d (%s)",
			       exit_names[exit_case], run, WTERMSIG(status),
			       strsignal(WTERMSIG(status)));
		} else {
			printf("\n    %s, run %d: exit %d", exit_names[exit_case],
			       run, WEXITSTATUS(status));
		}
		if (WIFEXITED(status) && (WEXITSTATUS(status) == CHILD_SETUP ||
					  WEXITSTATUS(status) == CHILD_NOT_UNLOADED))
			CU_FAIL_FATAL("the scenario could not be set up");
	}
	printf("\n    %s: %d of %d runs survived the unload\n",
	       exit_names[exit_case], RUNS - failed, RUNS);
	return failed;
}

#define EXIT_TEST(name, which)						\
	static void name(void)						\
	{								\
		int segv;						\
									\
		CU_ASSERT_EQUAL(runs_of(which, &segv), 0);		\
		CU_ASSERT_ABI();					\
	}
EXIT_TEST(test_commit_committed, UNLOAD_COMMIT_COMMITTED)
EXIT_TEST(test_commit_invalidated, UNLOAD_COMMIT_INVALIDATED)
EXIT_TEST(test_cas_committed, UNLOAD_CAS_COMMITTED)
EXIT_TEST(test_cas_changed, UNLOAD_CAS_CHANGED)
EXIT_TEST(test_cas_invalidated, UNLOAD_CAS_INVALIDATED)
EXIT_TEST(test_own_committed, UNLOAD_OWN_COMMITTED)
EXIT_TEST(test_own_invalidated, UNLOAD_OWN_INVALIDATED)

/*
 * The control: a section that leaves rseq_cs set must get its thread killed
 * (a run may escape when the worker is preempted between the section and
 * read(): the kernel then clears rseq_cs itself). Without this the passes
 * above would prove nothing on a kernel, or in a set-up, where a stale
 * rseq_cs went unnoticed.
 */
static void test_control(void)
{
	int segv, failed = runs_of(UNLOAD_OWN_NO_LEAVE, &segv);

	CU_ASSERT(segv > 0);
	CU_ASSERT_EQUAL(failed, segv);
	CU_ASSERT_ABI();
}
static const struct test_case cases[] = {
	{ "unload after vrseq_slot_commit, committed", test_commit_committed },
	{ "unload after vrseq_slot_commit, invalidated", test_commit_invalidated },
	{ "unload after vrseq_slot_cas, committed", test_cas_committed },
	{ "unload after vrseq_slot_cas, changed", test_cas_changed },
	{ "unload after vrseq_slot_cas, invalidated", test_cas_invalidated },
	{ "unload after an own section, committed", test_own_committed },
	{ "unload after an own section, invalidated", test_own_invalidated },
	{ "control: unload after an own section that leaves rseq_cs set",
	  test_control },
	{ NULL, NULL },
};

int main(void)
{
	if (!harness_rseq()) {
		/* Fallback slots' sections store into an unregistered area
		 * the kernel never reads: nothing here could fail. */
		printf("test-unload: no rseq on this thread: skipped\n");
		return EXIT_SKIP;
	}
	return harness_run("unload", cases);
}
