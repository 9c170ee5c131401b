/* SPDX-License-Identifier: MIT */
/*
 * vrseq-check's verdict on the release-string gate against the measured
 * critical-section aborts (tools/cs-gate.h), for every combination of the
 * two answers and VRSEQ_TRUST_KERNEL, including the disagreements that no
 * kernel in the matrix shows (a backported fix, a kernel without it).
 */
#include <string.h>

#include "harness.h"
#include "../tools/cs-gate.h"

static struct vrseq_kernel kernel(int measured, int release)
{
	struct vrseq_kernel k;

	memset(&k, 0, sizeof(k));
	k.size = sizeof(k);
	k.rseq = 1;
	k.cs_abort = (uint8_t)measured;
	k.cs_abort_release = (uint8_t)release;
	return k;
}

/* advice(measured, release, trust) contains `want` (and not `unwanted`). */
static void check(int measured, int release, const char *trust,
		  const char *token, const char *want, const char *unwanted)
{
	struct vrseq_kernel k = kernel(measured, release);
	const char *advice = gate_advice(&k, trust);

	printf("\n    measured %s, release %s, VRSEQ_TRUST_KERNEL=%s: %s: %s",
	       vrseq_probe_name(measured), vrseq_probe_name(release),
	       trust ? trust : "(unset)", gate_token(&k), advice);
	CU_ASSERT_STRING_EQUAL(gate_token(&k), token);
	CU_ASSERT_PTR_NOT_NULL(strstr(advice, want));
	if (unwanted)
		CU_ASSERT_PTR_NULL(strstr(advice, unwanted));
}

static void test_agree(void)
{
	check(VRSEQ_PROBE_YES, VRSEQ_PROBE_YES, NULL, "agree", "agrees", "NOT");
	check(VRSEQ_PROBE_NO, VRSEQ_PROBE_NO, NULL, "agree", "agrees", "NOT");
	/* Killed (rseq debug mode) is not aborted either. */
	check(VRSEQ_PROBE_KILLED, VRSEQ_PROBE_NO, NULL, "agree", "agrees", NULL);
	/* Agreeing, but the operator overrode the gate the wrong way. */
	check(VRSEQ_PROBE_NO, VRSEQ_PROBE_NO, "1", "agree", "NOT safe", NULL);
	check(VRSEQ_PROBE_YES, VRSEQ_PROBE_YES, "0", "agree",
	      "keeps every slot in fallback", NULL);
	/* Values the library ignores are no setting. */
	check(VRSEQ_PROBE_NO, VRSEQ_PROBE_NO, "yes", "agree", "agrees", NULL);
}

static void test_unmeasured(void)
{
	check(VRSEQ_PROBE_UNKNOWN, VRSEQ_PROBE_YES, NULL, "unmeasured",
	      "release string decides", NULL);
	check(VRSEQ_PROBE_YES, VRSEQ_PROBE_UNKNOWN, NULL, "unmeasured",
	      "release string decides", NULL);
}

/* The release says no, the kernel aborts: a vendor kernel's backport. */
static void test_backported(void)
{
	check(VRSEQ_PROBE_YES, VRSEQ_PROBE_NO, NULL, "backported",
	      "VRSEQ_TRUST_KERNEL=1 would make them valid", NULL);
	check(VRSEQ_PROBE_YES, VRSEQ_PROBE_NO, "1", "backported",
	      "supports it", NULL);
	check(VRSEQ_PROBE_YES, VRSEQ_PROBE_NO, "0", "backported",
	      "keeps every slot in fallback", NULL);
}

/* The release says yes, sections commit: a kernel without the fix. */
static void test_missing_fix(void)
{
	check(VRSEQ_PROBE_NO, VRSEQ_PROBE_YES, NULL, "missing_fix",
	      "set VRSEQ_TRUST_KERNEL=0", NULL);
	check(VRSEQ_PROBE_KILLED, VRSEQ_PROBE_YES, NULL, "missing_fix",
	      "set VRSEQ_TRUST_KERNEL=0", NULL);
	check(VRSEQ_PROBE_NO, VRSEQ_PROBE_YES, "1", "missing_fix",
	      "NOT safe", NULL);
	check(VRSEQ_PROBE_NO, VRSEQ_PROBE_YES, "0", "missing_fix",
	      "as this kernel needs", "NOT");
}

static const struct test_case cases[] = {
	{ "measurement and release agree", test_agree },
	{ "nothing measured", test_unmeasured },
	{ "a backported fix", test_backported },
	{ "a kernel without the fix", test_missing_fix },
	{ NULL, NULL },
};

int main(void)
{
	return harness_run("cs-gate", cases);
}
