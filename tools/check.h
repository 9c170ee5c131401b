/* SPDX-License-Identifier: MIT */
/*
 * What vrseq-check.c (this process's picture) and check-pid.c (another
 * process's threads, vrseq-check -p) share: exit statuses and the words for
 * the kernel probe's verdict.
 */
#ifndef VRSEQ_TOOLS_CHECK_H
#define VRSEQ_TOOLS_CHECK_H

#include <stdbool.h>
#include <sys/types.h>

#include <vrseq.h>


enum {
	EXIT_OK = 0, EXIT_SELFTEST = 1, EXIT_FALLBACK = 2, EXIT_PROBE = 3,
	/* slots are valid, but the probe saw sections commit that should
	 * have been aborted (the release gate let a broken kernel through) */
	EXIT_UNSAFE_KERNEL = 6,
	/* -p */
	EXIT_PID_WRITTEN = 4,	/* a thread's kernel-owned field was written */
	EXIT_PID_INSPECT = 5,	/* the process could not be inspected */
	EXIT_USAGE = 64,
};

/* The probe's verdict on legacy self-registering code. */
enum legacy { LEGACY_NA, LEGACY_UNKNOWN, LEGACY_SAFE, LEGACY_UNSAFE };
enum legacy legacy_of(const struct vrseq_kernel *k);
const char *legacy_token(const struct vrseq_kernel *k);
const char *legacy_verdict(const struct vrseq_kernel *k);
/* ,"probe":{...} or ,"probe":null */
void print_probe_json(const struct vrseq_kernel *k);

struct check_pid_options {
	bool json;
	unsigned int samples;		/* stops per thread */
	unsigned int interval_ms;	/* between rounds of stops */
	const struct vrseq_kernel *kernel;	/* the probe, or NULL */
};

/*
 * vrseq-check -p PID: report and return the exit status. check-pid.c needs
 * libelf (to find __rseq_offset in the target's ld.so); builds that link
 * vrseq-check.c without it -- the cross-compiled test programs -- have no
 * -p, which the weak reference lets vrseq-check tell at run time.
 */
int check_pid(pid_t pid, const struct check_pid_options *opt)
	__attribute__((weak));

#endif /* VRSEQ_TOOLS_CHECK_H */
