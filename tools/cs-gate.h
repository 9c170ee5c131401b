/* SPDX-License-Identifier: MIT */
/*
 * vrseq-check's comparison of the measured critical-section aborts with the
 * library's release-string gate. Inline so that tests/test-cs-gate.c checks
 * every combination without a kernel that disagrees with its release.
 */
#ifndef VRSEQ_TOOLS_CS_GATE_H
#define VRSEQ_TOOLS_CS_GATE_H

#include <stdbool.h>
#include <string.h>

#include <vrseq.h>

/*
 * The release-string gate (what the library does at process start) against
 * the measured cs_abort: a token for --json, and advice people read.
 */
enum gate { GATE_AGREE, GATE_UNMEASURED, GATE_BACKPORTED, GATE_MISSING_FIX };

/* Sections killed instead of aborted (rseq debug mode on a kernel that
 * does not abort them) are not aborted either. */
static inline bool gate_measured_no(const struct vrseq_kernel *k)
{
	return k->cs_abort == VRSEQ_PROBE_NO ||
	       k->cs_abort == VRSEQ_PROBE_KILLED;
}

static inline enum gate gate_of(const struct vrseq_kernel *k)
{
	if (k->cs_abort == VRSEQ_PROBE_UNKNOWN ||
	    k->cs_abort_release == VRSEQ_PROBE_UNKNOWN)
		return GATE_UNMEASURED;
	if (gate_measured_no(k) == (k->cs_abort_release == VRSEQ_PROBE_NO))
		return GATE_AGREE;
	return gate_measured_no(k) ? GATE_MISSING_FIX : GATE_BACKPORTED;
}

static inline const char *gate_token(const struct vrseq_kernel *k)
{
	static const char *const token[] = {
		"agree", "unmeasured", "backported", "missing_fix",
	};

	return token[gate_of(k)];
}

/* `trust`: VRSEQ_TRUST_KERNEL's value, or NULL; the library acts on "1"
 * and "0" only (src/init.c). */
static inline const char *gate_advice(const struct vrseq_kernel *k,
				      const char *trust)
{
	bool trusted = trust && !strcmp(trust, "1");
	bool distrusted = trust && !strcmp(trust, "0");

	switch (gate_of(k)) {
	case GATE_UNMEASURED:
		return "not measured: the release string decides";
	case GATE_BACKPORTED:
		if (trusted)
			return "VRSEQ_TRUST_KERNEL=1 is set and the measurement "
			       "supports it: slots are valid";
		if (distrusted)
			return "VRSEQ_TRUST_KERNEL=0 keeps every slot in "
			       "fallback, although the kernel aborts sections";
		return "the release is one that does not abort critical "
		       "sections, this kernel does (a backported fix?): vrseq "
		       "keeps every slot in fallback; VRSEQ_TRUST_KERNEL=1 "
		       "would make them valid";
	case GATE_MISSING_FIX:
		if (distrusted)
			return "VRSEQ_TRUST_KERNEL=0 is set: every slot is in "
			       "fallback, as this kernel needs";
		return "this kernel lets critical sections commit although "
		       "its release says it aborts them (a kernel without the "
		       "fix?): vrseq's slots are NOT safe here; set "
		       "VRSEQ_TRUST_KERNEL=0 to keep every slot in fallback";
	default:
		if (gate_measured_no(k) && trusted)
			return "VRSEQ_TRUST_KERNEL=1 overrides the gate on a "
			       "kernel that does not abort critical sections: "
			       "slots are NOT safe; unset it";
		if (k->cs_abort == VRSEQ_PROBE_YES && distrusted)
			return "VRSEQ_TRUST_KERNEL=0 keeps every slot in "
			       "fallback, although the kernel aborts sections";
		return "the release-string gate agrees";
	}
}

#endif /* VRSEQ_TOOLS_CS_GATE_H */
