/* SPDX-License-Identifier: MIT */
/*
 * Binding and process set-up interrupted at their worst moments.
 *
 * libvrseq makes its system calls through syscall(3); this program defines
 * syscall() itself (the executable's definition wins), so a hook can raise
 * a signal right before or right after the kernel answers, or stop a thread
 * there while another thread forks. Every scenario runs in a forked child
 * that has not touched vrseq yet, so process set-up happens inside it.
 *
 *  - A handler binds while its thread is inside its own binding, before
 *    and after the registering (or registration-querying) rseq() call:
 *    both frames must agree, and the area must stay untouched.
 *  - A handler calls vrseq_thread_slot() while its thread runs the process
 *    set-up: no deadlock; it gets a fallback slot, the thread a real one.
 *  - fork() while another thread is inside the set-up: the child sets up
 *    on its own instead of waiting for a thread it does not have.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "syscall-hook.h"

#define MEMBARRIER_CMD_QUERY	0
#define CHILD_SECONDS		20

/* ------------------------------------------------------------ the hook */

enum hook_when { HOOK_OFF, HOOK_BEFORE, HOOK_AFTER };

/* Which system call to interrupt, and how; armed per thread. */
static __thread enum hook_when hook_rseq;	/* first rseq() of a binding */
static __thread bool hook_setup_signal;	/* membarrier QUERY: raise */
static _Atomic pid_t hook_setup_park;	/* tid parked at membarrier QUERY */
static _Atomic int parked, released;

static void fire(long nr, const long *a, enum hook_when when)
{
	if (nr == __NR_rseq && hook_rseq == when) {
		hook_rseq = HOOK_OFF;
		raise(SIGUSR1);
	}
	if (when != HOOK_BEFORE || nr != __NR_membarrier ||
	    a[0] != MEMBARRIER_CMD_QUERY)
		return;
	if (hook_setup_signal) {
		hook_setup_signal = false;
		raise(SIGUSR1);
	}
	if (hook_setup_park == gettid()) {
		hook_setup_park = 0;
		parked = 1;
		while (!released)
			sched_yield();
	}
}

long syscall(long nr, ...)
{
	long a[6], ret;

	SYSCALL_HOOK_ARGS(a, nr);
	fire(nr, a, HOOK_BEFORE);
	ret = syscall_hook_forward(nr, a);
	{
		int saved = errno;

		fire(nr, a, HOOK_AFTER);
		errno = saved;
	}
	return ret;
}

/* ------------------------------------------------------------ children */

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "child: check failed at line %d: %s\n",	\
			__LINE__, #cond);				\
		return 1;						\
	}								\
} while (0)

/* What a handler saw when it bound. */
static __thread struct vrseq_info handler_info;
static __thread struct vrseq_slot *handler_slot;
static __thread int handler_commit;
static __thread uint32_t handler_flags;

static void bind_in_handler(int sig)
{
	int saved = errno;

	(void)sig;
	handler_slot = vrseq_thread_slot();
	handler_flags = handler_slot->flags;
	memset(&handler_info, 0, sizeof(handler_info));
	vrseq_get_info(&handler_info, sizeof(handler_info));
	handler_commit = vrseq_slot_store(handler_slot, 7);
	errno = saved;
}

static int install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = bind_in_handler;
	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

struct rebind_result {
	enum hook_when when;
	int rc;
};

/* A non-first thread binds; its first rseq() call is interrupted. */
static void *rebind_thread(void *arg)
{
	struct rebind_result *r = arg;
	struct vrseq_info info;
	struct vrseq_slot *slot;
	int rc = 1;

	r->rc = 1;
	if (harness_pin(sched_getcpu()))
		return NULL;
	hook_rseq = r->when;
	slot = vrseq_thread_slot();
	if (hook_rseq != HOOK_OFF) {
		fprintf(stderr, "child: binding made no rseq() call\n");
		return NULL;
	}
	if (vrseq_get_info(&info, sizeof(info)) || !handler_slot) {
		fprintf(stderr, "child: the handler did not run\n");
		return NULL;
	}
	if (handler_slot != slot || handler_info.owner != info.owner ||
	    handler_info.registered_len != info.registered_len ||
	    handler_info.guarantee != info.guarantee) {
		fprintf(stderr, "child: handler bound %s/%u, thread %s/%u\n",
			vrseq_owner_name(handler_info.owner),
			handler_info.registered_len,
			vrseq_owner_name(info.owner), info.registered_len);
		return NULL;
	}
	if (info.owner != VRSEQ_OWNER_GLIBC && info.owner != VRSEQ_OWNER_VRSEQ) {
		fprintf(stderr, "child: owner %s\n", vrseq_owner_name(info.owner));
		return NULL;
	}
	if (!harness_area_ok((const volatile struct vrseq_rseq_area *)slot->area)) {
		fprintf(stderr, "child: the live area was written\n");
		return NULL;
	}
	if (info.guarantee &&
	    (handler_commit != VRSEQ_COMMITTED ||
	     vrseq_slot_store(slot, 9) != VRSEQ_COMMITTED ||
	     !vrseq_slot_valid(slot)))
		return NULL;
	rc = 0;
	r->rc = rc;
	return NULL;
}

static int child_rebind(enum hook_when when)
{
	struct vrseq_info info;

	CHECK(install_handler() == 0);
	/* Set-up and the first thread's binding happen here, unhooked. */
	CHECK(vrseq_init() == 0);
	CHECK(vrseq_get_info(&info, sizeof(info)) == 0);
	if (info.owner == VRSEQ_OWNER_NONE)
		return EXIT_SKIP;	/* no rseq (valgrind): nothing registers */
	for (int i = 0; i < 20; i++) {
		struct rebind_result r = { when, 1 };
		pthread_t th;

		CHECK(pthread_create(&th, NULL, rebind_thread, &r) == 0);
		CHECK(pthread_join(th, NULL) == 0);
		CHECK(r.rc == 0);
	}
	return 0;
}

/* A handler runs while its own thread is inside the process set-up. */
static int child_setup_signal(void)
{
	struct vrseq_info info;
	struct vrseq_slot *slot;

	CHECK(install_handler() == 0);
	hook_setup_signal = true;
	slot = vrseq_thread_slot();
	CHECK(!hook_setup_signal);
	CHECK(handler_slot != NULL);
	/* The handler could not wait for its own thread: a safe slot, and
	 * nothing it could commit. */
	CHECK(handler_flags & VRSEQ_SLOT_F_FALLBACK);
	CHECK(handler_commit == VRSEQ_UNCACHED);
	CHECK(vrseq_get_info(&info, sizeof(info)) == 0);
	CHECK(slot == handler_slot);
	/* The interrupted frame bound for real. */
	CHECK(!!(slot->flags & VRSEQ_SLOT_F_FALLBACK) == !info.guarantee);
	if (info.guarantee) {
		CHECK(harness_pin(sched_getcpu()) == 0);
		CHECK(vrseq_slot_store(slot, 3) == VRSEQ_COMMITTED);
		CHECK(vrseq_slot_valid(slot));
	}
	return 0;
}

static void *setup_thread(void *arg)
{
	(void)arg;
	hook_setup_park = gettid();
	return (void *)(intptr_t)vrseq_init();
}

/* fork() while another thread is parked inside the process set-up. */
static int child_fork_in_setup(void)
{
	pthread_t th;
	void *res;
	int status;
	pid_t pid;

	CHECK(pthread_create(&th, NULL, setup_thread, NULL) == 0);
	while (!parked)
		sched_yield();
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct vrseq_info info;
		struct vrseq_slot *slot;

		alarm(CHILD_SECONDS);
		if (vrseq_init() != 0 || vrseq_get_info(&info, sizeof(info)))
			_exit(2);
		slot = vrseq_thread_slot();
		if (info.guarantee &&
		    (harness_pin(sched_getcpu()) ||
		     vrseq_slot_store(slot, 5) != VRSEQ_COMMITTED ||
		     vrseq_fence_all() != 0 || vrseq_slot_valid(slot)))
			_exit(3);
		_exit(0);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	released = 1;
	CHECK(pthread_join(th, &res) == 0);
	CHECK(res == NULL);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "child: the fork child %s %d\n",
			WIFEXITED(status) ? "exited" : "was killed by signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return 1;
	}
	return 0;
}

/* Run `fn` in a child that has not used vrseq; its exit code. */
static int in_child(int (*fn)(void))
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		alarm(CHILD_SECONDS);
		_exit(fn());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "child killed by signal %d%s\n", WTERMSIG(status),
			WTERMSIG(status) == SIGALRM ? " (hung)" : "");
		return -1;
	}
	return WEXITSTATUS(status);
}

static int rebind_before(void)
{
	return child_rebind(HOOK_BEFORE);
}

static int rebind_after(void)
{
	return child_rebind(HOOK_AFTER);
}

/* ------------------------------------------------------------ cases */

static void test_rebind_before(void)
{
	int rc = in_child(rebind_before);

	CU_ASSERT(rc == 0 || rc == EXIT_SKIP);
}

static void test_rebind_after(void)
{
	int rc = in_child(rebind_after);

	CU_ASSERT(rc == 0 || rc == EXIT_SKIP);
}

static void test_setup_signal(void)
{
	CU_ASSERT_EQUAL(in_child(child_setup_signal), 0);
}

static void test_fork_in_setup(void)
{
	CU_ASSERT_EQUAL(in_child(child_fork_in_setup), 0);
}

static const struct test_case cases[] = {
	{ "handler binds before its thread's rseq() call", test_rebind_before },
	{ "handler binds after its thread's rseq() call", test_rebind_after },
	{ "handler inside its thread's process set-up", test_setup_signal },
	{ "fork while another thread is in the set-up", test_fork_in_setup },
	{ NULL, NULL },
};

int main(void)
{
	if (!syscall_hook_real())
		return EXIT_HARD;
	return harness_run("bind", cases);
}
