/* SPDX-License-Identifier: MIT */
/*
 * A process for vrseq-check -p to inspect (tests/test-check-pid.sh).
 *
 *	pid-target MODE SECONDS
 *
 * MODE:
 *   glibc   three threads that only sleep (glibc's registration, if any)
 *   vrseq   three threads that bind vrseq (vrseq_init) and sleep
 *   legacy  tcmalloc's trick: with glibc's registration off, each of three
 *           threads registers a 32-byte area of its own and keeps storing
 *           0x80000000 | cpu into cpu_id_start; the first of them then
 *           binds vrseq, which finds a foreign owner there
 *   churn   eight threads that start, sleep a little and exit, over and over
 * Prints "ready" on stdout once every thread is set up, then lives SECONDS
 * (fractions allowed) and exits 0; 2 when set-up failed, 64 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <vrseq.h>

#define NTHREADS	3

static const char *mode;
static pthread_barrier_t ready;
static volatile int stop;
static volatile int setup_failed;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The legacy writer: its own registration, and writes the kernel's field. */
static void legacy_loop(long idx)
{
	static __thread struct vrseq_rseq_area area __attribute__((aligned(32)));

	if (syscall(__NR_rseq, &area, 32, 0, VRSEQ_RSEQ_SIG) != 0) {
		fprintf(stderr, "pid-target: rseq: %s\n", strerror(errno));
		setup_failed = 1;
		pthread_barrier_wait(&ready);
		return;
	}
	/* Too late for vrseq: the thread's registration is taken. */
	if (idx == 0)
		vrseq_init();
	pthread_barrier_wait(&ready);
	while (!stop) {
		uint32_t cpu = __atomic_load_n(&area.cpu_id, __ATOMIC_RELAXED);

		/* What tcmalloc does; what vrseq exists so nobody has to. */
		__atomic_store_n(&area.cpu_id_start, 0x80000000u | cpu,
				 __ATOMIC_RELAXED);
		for (volatile int i = 0; i < 1000; i++)
			;
	}
}

static void *worker(void *arg)
{
	long idx = (long)arg;

	if (!strcmp(mode, "legacy")) {
		legacy_loop(idx);
		return NULL;
	}
	if (!strcmp(mode, "vrseq") && vrseq_init() != 0)
		setup_failed = 1;
	pthread_barrier_wait(&ready);
	while (!stop)
		sleep_ms(5);
	return NULL;
}

static void *churn(void *arg)
{
	sleep_ms(1 + (long)arg % 3);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[NTHREADS];
	double seconds;
	struct timespec end, now;

	if (argc != 3)
		return 64;
	mode = argv[1];
	seconds = atof(argv[2]);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)seconds;
	end.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	if (!strcmp(mode, "churn")) {
		printf("ready\n");
		fflush(stdout);
		for (;;) {
			pthread_t c[8];

			for (long i = 0; i < 8; i++)
				if (pthread_create(&c[i], NULL, churn, (void *)i))
					return 2;
			for (int i = 0; i < 8; i++)
				pthread_join(c[i], NULL);
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > end.tv_sec ||
			    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
				return 0;
		}
	}
	if (strcmp(mode, "glibc") && strcmp(mode, "vrseq") && strcmp(mode, "legacy"))
		return 64;
	if (!strcmp(mode, "vrseq") && vrseq_init() != 0)
		return 2;
	pthread_barrier_init(&ready, NULL, NTHREADS + 1);
	for (long i = 0; i < NTHREADS; i++)
		if (pthread_create(&th[i], NULL, worker, (void *)i))
			return 2;
	pthread_barrier_wait(&ready);
	if (setup_failed)
		return 2;
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			break;
		sleep_ms(10);
	}
	stop = 1;
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	return 0;
}
