/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "harness.h"
#include "seconds.h"

volatile uint64_t harness_abi_checks, harness_abi_violations;

double harness_seconds(double normal)
{
	return test_seconds(normal);
}

bool harness_area_ok(const volatile struct vrseq_rseq_area *a)
{
	__atomic_fetch_add(&harness_abi_checks, 1, __ATOMIC_RELAXED);
	if (!a)
		return true;
	for (int tries = 0; tries < 100; tries++) {
		uint32_t start = a->cpu_id_start;
		uint32_t id = a->cpu_id;
		int cpu = sched_getcpu();
		uint32_t again = a->cpu_id_start;

		if (start != again || (int)again != cpu)
			continue;	/* migrated while sampling */
		if (start == id && (int32_t)id >= 0)
			return true;
		break;
	}
	__atomic_fetch_add(&harness_abi_violations, 1, __ATOMIC_RELAXED);
	return false;
}

int harness_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static cpu_set_t initial_mask;
static bool initial_mask_saved;

__attribute__((constructor)) static void save_initial_mask(void)
{
	initial_mask_saved = sched_getaffinity(0, sizeof(initial_mask),
					       &initial_mask) == 0;
}

void harness_pin_restore(void)
{
	if (initial_mask_saved)
		sched_setaffinity(0, sizeof(initial_mask), &initial_mask);
}

int harness_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

int harness_run(const char *suite_name, const struct test_case *cases)
{
	CU_pSuite suite;
	unsigned int failures, run;

	if (CU_initialize_registry() != CUE_SUCCESS)
		return EXIT_HARD;
	suite = CU_add_suite(suite_name, NULL, NULL);
	if (!suite)
		return EXIT_HARD;
	for (const struct test_case *c = cases; c->name; c++)
		if (!CU_add_test(suite, c->name, c->fn))
			return EXIT_HARD;
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	/* CU_basic_run_tests() returns 0 even when assertions failed. */
	failures = CU_get_number_of_failure_records();
	run = CU_get_number_of_tests_run();
	CU_cleanup_registry();
	printf("\nabi checks: %llu, violations: %llu\n",
	       (unsigned long long)harness_abi_checks,
	       (unsigned long long)harness_abi_violations);
	if (harness_abi_violations)
		return EXIT_FAILURE;
	if (failures)
		return EXIT_FAILURE;
	return run ? EXIT_SUCCESS : EXIT_HARD;
}
