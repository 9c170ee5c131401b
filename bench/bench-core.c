/* SPDX-License-Identifier: MIT */
/*
 * Side-by-side costs, measured in one run (these machines are shared and
 * noisy, so only ratios within a run mean anything):
 *   read:  vrseq slot read vs raw cpu_id_start load vs sched_getcpu vs getcpu
 *   fence: vrseq_fence_cpu/all vs raw membarrier-rseq, with N busy threads
 * Each group is run in interleaved rounds; medians and spread are printed.
 * Usage: bench-core [threads...]   (default: 1 8 64 256)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <vrseq.h>

#include "bench.h"

#define ROUNDS 9

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));


struct series {
	const char *name;
	double ns[ROUNDS];
	double median, lo, hi;
};

static void finish(struct series *s)
{
	double v[ROUNDS];

	memcpy(v, s->ns, sizeof(v));
	bench_summary(v, ROUNDS, &s->median, &s->lo, &s->hi);
}

static void print_group(const char *title, struct series *s, int n, int base)
{
	printf("%s\n", title);
	for (int i = 0; i < n; i++) {
		finish(&s[i]);
		printf("  %-34s %10.2f ns/op  [%.2f .. %.2f]", s[i].name,
		       s[i].median, s[i].lo, s[i].hi);
		if (i != base)
			printf("  ratio vs %s: %.2f", s[base].name,
			       s[i].median / s[base].median);
		printf("\n");
	}
}

/* ------------------------------------------------------------ reads */

static volatile uint64_t sink;

static const volatile uint32_t *raw_cpu_id_start(void)
{
	if (&__rseq_size && __rseq_size)
		return (const volatile uint32_t *)
			((char *)__builtin_thread_pointer() + __rseq_offset);
	return NULL;
}

/* Out of line so objdump shows the fast path exactly as a caller gets it. */
__attribute__((noinline, used)) static bool bench_slot_read(const struct vrseq_slot *slot,
						      uint64_t *value)
{
	return vrseq_slot_load(slot, value);
}

__attribute__((noinline, used)) static uint32_t bench_raw_read(void)
{
	return *(const volatile uint32_t *)
		((char *)__builtin_thread_pointer() + __rseq_offset);
}

static double time_reads(int which, long iters, struct vrseq_slot *slot)
{
	const volatile uint32_t *raw = raw_cpu_id_start();
	uint64_t acc = 0, v;
	double t0 = bench_now_ns();

	for (long i = 0; i < iters; i++) {
		/* Every read is a fresh one, as in an allocator's fast path. */
		__asm__ __volatile__("" ::: "memory");
		switch (which) {
		case 0:
			acc += *raw;
			break;
		case 1:
			if (vrseq_slot_load(slot, &v))
				acc += v;
			break;
		case 2:
			acc += (uint64_t)sched_getcpu();
			break;
		default: {
			unsigned int cpu;

			syscall(SYS_getcpu, &cpu, NULL, NULL);
			acc += cpu;
		}
		}
	}
	sink = acc;
	return (bench_now_ns() - t0) / iters;
}

static void bench_reads(void)
{
	struct series s[4] = {
		{ .name = "raw cpu_id_start load" },
		{ .name = "vrseq_slot_load (valid)" },
		{ .name = "sched_getcpu()" },
		{ .name = "getcpu syscall" },
	};
	struct vrseq_slot *slot = vrseq_thread_slot();
	long iters[4] = { 20000000, 20000000, 20000000, 500000 };

	if (!raw_cpu_id_start() || (slot->flags & VRSEQ_SLOT_F_FALLBACK)) {
		printf("read: skipped (needs glibc's registration)\n");
		return;
	}
	for (int r = 0; r < ROUNDS; r++)
		for (int i = 0; i < 4; i++) {
			while (vrseq_slot_store(slot, 1) != VRSEQ_COMMITTED)
				;
			s[i].ns[r] = time_reads(i, iters[i], slot);
		}
	print_group("read (one thread)", s, 4, 0);
}

/* ------------------------------------------------------------ fences */

static volatile int stop_busy;

static void *busy(void *arg)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	uint64_t v, acc = 0;

	while (!stop_busy) {
		for (int i = 0; i < 1000; i++)
			if (vrseq_slot_load(slot, &v))
				acc += v;
			else
				vrseq_slot_store(slot, 1);
		sched_yield();
	}
	sink = acc;
	return NULL;
}

static long raw_membarrier(int cpu)
{
	return syscall(__NR_membarrier, 1 << 7, cpu >= 0 ? 1 : 0, cpu >= 0 ? cpu : 0);
}

static int pin(int cpu, cpu_set_t *saved)
{
	cpu_set_t one;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if (saved && sched_getaffinity(0, sizeof(*saved), saved) < 0)
		return -1;
	return sched_setaffinity(0, sizeof(one), &one);
}

/*
 * Series 4 and 5 run pinned to one CPU, with the calling thread bound:
 * vrseq_fence_cpu() of that CPU (a critical section, no system call) and
 * of the other one (membarrier), side by side.
 */
static void bench_fences(int threads)
{
	struct series s[6] = {
		{ .name = "raw membarrier-rseq, one CPU" },
		{ .name = "vrseq_fence_cpu, CPUs 0, 1 in turn" },
		{ .name = "raw membarrier-rseq, all CPUs" },
		{ .name = "vrseq_fence_all" },
		{ .name = "vrseq_fence_cpu, the caller's CPU" },
		{ .name = "vrseq_fence_cpu, another CPU" },
	};
	pthread_t *th = calloc((size_t)threads, sizeof(*th));
	int iters = 2000, cpu = sched_getcpu(), home = cpu, away = cpu ^ 1;
	cpu_set_t saved;
	bool pinned;
	char title[64];

	(void)vrseq_thread_slot();	/* bind: the own-CPU path needs it */
	stop_busy = 0;
	for (int i = 0; i < threads; i++)
		pthread_create(&th[i], NULL, busy, NULL);
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 0; k < 6; k++) {
			double t0;

			pinned = k >= 4 && pin(home, &saved) == 0;
			t0 = bench_now_ns();
			for (int i = 0; i < iters; i++) {
				int c = (cpu + i) % 2;

				switch (k) {
				case 0: raw_membarrier(c); break;
				case 1: vrseq_fence_cpu(c); break;
				case 2: raw_membarrier(-1); break;
				case 3: vrseq_fence_all(); break;
				case 4: vrseq_fence_cpu(home); break;
				default: vrseq_fence_cpu(away);
				}
			}
			s[k].ns[r] = (bench_now_ns() - t0) / iters;
			if (pinned)
				sched_setaffinity(0, sizeof(saved), &saved);
		}
	stop_busy = 1;
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	free(th);
	snprintf(title, sizeof(title), "fence (%d busy threads)", threads);
	finish(&s[0]);
	finish(&s[2]);
	finish(&s[5]);
	printf("%s\n", title);
	for (int k = 0; k < 6; k++) {
		int base = k < 2 ? 0 : k < 4 ? 2 : 5;

		finish(&s[k]);
		printf("  %-34s %10.0f ns/op  [%.0f .. %.0f]", s[k].name,
		       s[k].median, s[k].lo, s[k].hi);
		if (k != base)
			printf("  ratio vs %s: %.3f", k < 4 ? "raw" : "another CPU",
			       s[k].median / s[base].median);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	struct vrseq_info info;
	int defaults[] = { 1, 8, 64, 256 };

	if (vrseq_get_info(&info, sizeof(info)) < 0)
		return 1;
	printf("owner %s, fence method %s, %u CPU ids\n",
	       vrseq_owner_name(info.owner),
	       vrseq_fence_method_name(info.fence_method), info.nr_ids);
	bench_reads();
	if (!info.membarrier_rseq) {
		printf("fence: skipped (no membarrier-rseq)\n");
		return 0;
	}
	if (argc > 1)
		for (int i = 1; i < argc; i++)
			bench_fences(atoi(argv[i]));
	else
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
			bench_fences(defaults[i]);
	return 0;
}
