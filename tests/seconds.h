/* SPDX-License-Identifier: MIT */
/* How long a timed test runs; shared by the CUnit harness and test-legacy. */
#ifndef VRSEQ_TEST_SECONDS_H
#define VRSEQ_TEST_SECONDS_H

#include <stdlib.h>

/*
 * VRSEQ_TEST_SECONDS=s sets it; VRSEQ_TEST_LONG=s (or 20x) lengthens it,
 * VRSEQ_TEST_QUICK quarters it; otherwise `normal`.
 */
static inline double test_seconds(double normal)
{
	const char *s = getenv("VRSEQ_TEST_SECONDS");

	if (s && atof(s) > 0)
		return atof(s);
	s = getenv("VRSEQ_TEST_LONG");
	if (s && *s)
		return atof(s) > 0 ? atof(s) : normal * 20;
	if (getenv("VRSEQ_TEST_QUICK"))
		return normal / 4;
	return normal;
}

#endif
