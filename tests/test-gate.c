/* SPDX-License-Identifier: MIT */
/*
 * The kernel gate (src/gate.c): which uname machine/release pairs get every
 * slot in fallback because critical sections are not aborted reliably.
 * The table is the arm64 rows of shared/docs/rseq-facts.md.
 */
#include "harness.h"
#include "../src/gate.h"

static void test_table(void)
{
	static const struct {
		const char *machine, *release;
		bool unreliable;
	} rows[] = {
		{ "aarch64", "6.12.117+deb13-cloud-arm64", false },
		{ "aarch64", "6.18.44", false },
		{ "aarch64", "6.19", true },
		{ "aarch64", "6.19.14+deb13-cloud-arm64", true },
		{ "aarch64", "7.0.0", true },
		{ "aarch64", "7.0.4+deb13-cloud-arm64", true },
		{ "aarch64", "7.0.13+deb13-cloud-arm64", true },
		{ "aarch64", "7.0.14", false },
		{ "aarch64", "7.1.3", false },
		{ "aarch64", "7.1.13+deb13-cloud-arm64", false },
		{ "aarch64", "7.3.4+deb13-cloud-arm64", false },
		{ "x86_64", "6.19.14+deb13-cloud-amd64", false },
		{ "x86_64", "7.0.4+deb13-cloud-amd64", false },
		{ "aarch64", "garbage", false },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		CU_ASSERT_EQUAL(vrseq__kernel_aborts_unreliable(rows[i].machine,
				rows[i].release), rows[i].unreliable);
}

static const struct test_case cases[] = {
	{ "arm64 eras whose critical sections are not aborted", test_table },
	{ NULL, NULL },
};

int main(void)
{
	return harness_run("gate", cases);
}
