/* SPDX-License-Identifier: MIT */
/*
 * Threads: 10 000 created and joined, each binding its slot, committing and
 * checking its area; threads created before vrseq's first use.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TOTAL_THREADS	10000
#define BATCH		50

static volatile uint64_t thread_failures, threads_run;

static void *short_life(void *arg)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	uintptr_t mine = (uintptr_t)arg;
	struct vrseq_info info;
	uint64_t v;
	int bad = 0;

	bad |= vrseq_get_info(&info, sizeof(info)) != 0;
	bad |= info.guarantee != harness_rseq();
	if (info.guarantee) {
		bool seen = false;

		/* A migration between commit and read may refuse one try. */
		for (int tries = 0; tries < 100 && !seen; tries++)
			seen = vrseq_slot_store(slot, mine) == VRSEQ_COMMITTED &&
			       vrseq_slot_load(slot, &v) && v == mine;
		bad |= !seen;
	} else {
		bad |= vrseq_slot_store(slot, mine) != VRSEQ_UNCACHED;
	}
	bad |= !harness_abi_ok();
	__atomic_fetch_add(&threads_run, 1, __ATOMIC_RELAXED);
	if (bad)
		__atomic_fetch_add(&thread_failures, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_many_threads(void)
{
	int total = getenv("VRSEQ_TEST_QUICK") ? TOTAL_THREADS / 10 : TOTAL_THREADS;
	pthread_t th[BATCH];

	threads_run = thread_failures = 0;
	for (int done = 0; done < total; done += BATCH) {
		for (int i = 0; i < BATCH; i++)
			CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, short_life,
					(void *)(uintptr_t)(done + i + 1)), 0);
		for (int i = 0; i < BATCH; i++)
			pthread_join(th[i], NULL);
	}
	CU_ASSERT_EQUAL(threads_run, (uint64_t)total);
	CU_ASSERT_EQUAL(thread_failures, 0);
}

static pthread_barrier_t early_barrier;

static void *early_thread(void *arg)
{
	/* Started before the process called into vrseq at all. */
	pthread_barrier_wait(&early_barrier);
	return short_life(arg);
}

static void test_threads_before_first_use(void)
{
	pthread_t th[4];

	threads_run = thread_failures = 0;
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, early_thread,
				(void *)(uintptr_t)(i + 100)), 0);
	CU_ASSERT_EQUAL(vrseq_init(), 0);
	pthread_barrier_wait(&early_barrier);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(threads_run, 4);
	CU_ASSERT_EQUAL(thread_failures, 0);
}

static void *spin_on_slot(void *arg)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	uint64_t v = 0, acc = 0;

	(void)arg;
	for (;;) {
		if (!vrseq_slot_load(slot, &v))
			vrseq_slot_store(slot, 1);
		acc += v;
		if ((acc & 0xffff) == 0)
			vrseq_fence_all();
	}
	return NULL;
}

/*
 * exit() runs library destructors while other threads still run: nothing
 * vrseq tears down may pull memory from under their fast paths.
 */
static void test_exit_with_running_threads(void)
{
	int crashes = 0, rounds = getenv("VRSEQ_TEST_QUICK") ? 5 : 20;

	for (int r = 0; r < rounds; r++) {
		int status;
		pid_t pid = fork();

		CU_ASSERT_NOT_EQUAL_FATAL(pid, -1);
		if (pid == 0) {
			pthread_t th;
			struct timespec ts = { 0, 20 * 1000 * 1000 };

			for (int i = 0; i < 4; i++)
				pthread_create(&th, NULL, spin_on_slot, NULL);
			nanosleep(&ts, NULL);
			exit(0);
		}
		waitpid(pid, &status, 0);
		crashes += !WIFEXITED(status) || WEXITSTATUS(status) != 0;
	}
	CU_ASSERT_EQUAL(crashes, 0);
}

static const struct test_case cases[] = {
	/* Must run first: nothing may have called vrseq yet. */
	{ "threads created before first use", test_threads_before_first_use },
	{ "10 000 threads created and joined", test_many_threads },
	{ "exit() while threads use slots", test_exit_with_running_threads },
	{ NULL, NULL },
};

int main(void)
{
	pthread_barrier_init(&early_barrier, NULL, 5);
	return harness_run("threads", cases);
}
