/* SPDX-License-Identifier: MIT */
/*
 * The kernel gate (src/gate.c): which arm64 kernel releases get every slot
 * in fallback because critical sections are not aborted reliably (the table
 * is the arm64 rows of shared/docs/rseq-facts.md), and that the architecture
 * is the compiled one, never `uname -m` (aarch64_be, or armv8l under the
 * linux32 personality, are arm64 kernels too).
 */
#include "harness.h"
#include "../src/gate.h"

static void test_table(void)
{
	static const struct {
		const char *release;
		bool unreliable;
	} rows[] = {
		{ "6.12.117+deb13-cloud-arm64", false },
		{ "6.18.44", false },
		{ "6.19", true },
		{ "6.19.14+deb13-cloud-arm64", true },
		{ "7.0", true },
		{ "7.0.0", true },
		{ "7.0.4+deb13-cloud-arm64", true },
		{ "7.0.13+deb13-cloud-arm64", true },
		{ "7.0.14", false },
		{ "7.1.3", false },
		{ "7.1.13+deb13-cloud-arm64", false },
		{ "7.3.4+deb13-cloud-arm64", false },
		{ "16.19.1", false },
		{ "6.190", false },
		{ "garbage", false },
		{ "", false },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool arm64 = vrseq__arm64_release_aborts_unreliable(rows[i].release);

		CU_ASSERT_EQUAL(arm64, rows[i].unreliable);
#if defined(__aarch64__)
		CU_ASSERT_EQUAL(vrseq__kernel_aborts_unreliable(rows[i].release), arm64);
#else
		CU_ASSERT_FALSE(vrseq__kernel_aborts_unreliable(rows[i].release));
#endif
	}
}

static const struct test_case cases[] = {
	{ "arm64 eras whose critical sections are not aborted", test_table },
	{ NULL, NULL },
};

int main(void)
{
	return harness_run("gate", cases);
}
