/* SPDX-License-Identifier: MIT */
/* Shared by the CUnit test programs. */
#ifndef VRSEQ_TEST_HARNESS_H
#define VRSEQ_TEST_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <CUnit/CUnit.h>

#include <vrseq.h>

/* automake's exit codes */
#define EXIT_SKIP	77
#define EXIT_HARD	99

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* Run one suite of NULL-terminated cases; returns the process exit code. */
int harness_run(const char *suite, const struct test_case *cases);

/* True when the calling thread's slots can be valid (rseq in use). */
bool harness_rseq(void);

/* VRSEQ_TEST_SECONDS=s sets it; VRSEQ_TEST_LONG=s (or 20x) lengthens,
 * VRSEQ_TEST_QUICK quarters it. */
double harness_seconds(double normal);

/*
 * The thread's real area is ABI-correct: cpu_id_start == cpu_id ==
 * sched_getcpu() (retried across a migration), and cpu_id >= 0. Counts
 * violations; returns true when consistent. Async-signal-safe.
 */
bool harness_abi_ok(void);
/* The same check on a given area (NULL: nothing to check). */
bool harness_area_ok(const volatile struct vrseq_rseq_area *area);
extern volatile uint64_t harness_abi_checks, harness_abi_violations;

/* Pin the calling thread to one CPU; returns 0 or -errno. */
int harness_pin(int cpu);
/* Back to the mask the process started with. */
void harness_pin_restore(void);
/* CPUs the process may run on (bounded by 64), and how many. */
int harness_cpus(int *cpus, int max);

/* Assert the area is intact after an API call. */
#define CU_ASSERT_ABI()	CU_ASSERT_TRUE(harness_abi_ok())

#endif
