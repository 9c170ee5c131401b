/* SPDX-License-Identifier: MIT */
/*
 * The legacy twins register their own rseq area, so glibc's registration
 * must be off: unless glibc left rseq alone, a benchmark re-executes itself
 * once with glibc.pthread.rseq=0 added to GLIBC_TUNABLES (vrseq then
 * registers its own area, same fast path). Needs _GNU_SOURCE.
 */
#ifndef VRSEQ_BENCH_REEXEC_H
#define VRSEQ_BENCH_REEXEC_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* glibc 2.35+; 0 when its registration is off (or there is none). */
extern const unsigned int __rseq_size __attribute__((weak));

static inline int bench_glibc_rseq_on(void)
{
	return &__rseq_size && __rseq_size;
}

/*
 * Run again with glibc's registration off. Keyed on what glibc did, not on
 * whether GLIBC_TUNABLES is set: set for anything else (a CI's malloc
 * tunable, an empty export in the shell that runs make), it used to stop
 * the re-execution, glibc kept its registration and every legacy round
 * failed to register its own area (EBUSY) -- while the same binary started
 * from a shell without the variable passed. Returns only on failure (1).
 */
static inline int bench_reexec_without_glibc_rseq(const char *prog,
						  char **argv)
{
	const char *old = getenv("GLIBC_TUNABLES");
	char *tunables;

	if (getenv("VRSEQ_BENCH_REEXEC")) {
		fprintf(stderr, "%s: glibc still registers rseq with "
			"GLIBC_TUNABLES=%s; the legacy twin needs "
			"glibc.pthread.rseq=0\n", prog, old ? old : "");
		return 1;
	}
	/* Last: a later setting of a tunable overrides an earlier one. */
	if (asprintf(&tunables, "%s%sglibc.pthread.rseq=0", old ? old : "",
		     old && *old ? ":" : "") < 0) {
		perror(prog);
		return 1;
	}
	setenv("GLIBC_TUNABLES", tunables, 1);
	setenv("VRSEQ_BENCH_REEXEC", "1", 1);
	execv("/proc/self/exe", argv);
	fprintf(stderr, "%s: re-exec: %m\n", prog);
	return 1;
}

#endif
