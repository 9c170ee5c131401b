/* SPDX-License-Identifier: MIT */
/*
 * The plugin tests/test-unload dlopen()s, uses and dlclose()s: a shared
 * object whose critical sections (the inline ones of <vrseq.h>) live in its
 * own __rseq_cs, so they go away with it, and a section of its own built
 * from the building blocks. unload_plugin_run() leaves through one chosen
 * exit of one section and returns whether it got that exit.
 */
#include <stdbool.h>

#include <vrseq.h>

#include "unload-plugin.h"

/* A migration between two steps can change which exit a step takes. */
#define TRIES	1000

/* A token of the current CPU with a generation its tag does not have. */
static vrseq_token_t stale_token(const struct vrseq_slot *slot)
{
	return vrseq_slot_observe(slot) ^ (UINT64_C(1) << 63);
}

static int commit_now(struct vrseq_slot *slot)
{
	for (int i = 0; i < TRIES; i++)
		if (vrseq_slot_store(slot, 0x1234) == VRSEQ_COMMITTED)
			return 0;
	return -1;
}

/* vrseq_slot_cas() until it returns `want`, with *word == 7 before each. */
static int cas_until(struct vrseq_slot *slot, uint64_t expected, int want)
{
	uint64_t word;

	for (int i = 0; i < TRIES; i++) {
		word = 7;
		if (want == VRSEQ_INVALIDATED)
			vrseq_slot_clear(slot);
		else if (commit_now(slot))
			return -1;
		if (vrseq_slot_cas(slot, &word, expected, 8) == want)
			return want == VRSEQ_COMMITTED && word != 8 ? -1 : 0;
	}
	return -1;
}

/*
 * A section of our own: if the slot is valid, *word = its value + 1. It
 * follows the rule for objects that can be unloaded (see UNLOADING in
 * <vrseq/arch/x86_64.h>) when LEAVE_ASM is VRSEQ_CS_LEAVE and LEAVE_C
 * vrseq_cs_leave(slot); the control leaves both out.
 */
#if defined(__x86_64__)
# define OWN_BODY							\
	VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")				\
	"addq $1, %%rcx\n\t"						\
	"movq %%rcx, (%[word])\n\t"		/* commit */
# define OWN_CLOBBERS	VRSEQ_CS_CLOBBERS, "rcx"
#elif defined(__aarch64__)
# define OWN_BODY							\
	VRSEQ_CS_SLOT_LOAD("x11", "invalid")				\
	"add x11, x11, #1\n\t"						\
	"str x11, [%[word]]\n\t"		/* commit */
# define OWN_CLOBBERS	VRSEQ_CS_CLOBBERS, "x11"
#endif

#define OWN_SECTION(name, LEAVE_ASM, LEAVE_C)				\
static int name(struct vrseq_slot *slot, uint64_t *word)		\
{									\
retry:									\
	__asm__ __volatile__ goto (					\
		VRSEQ_CS_BEGIN						\
		OWN_BODY						\
		VRSEQ_CS_END("aborted")					\
		LEAVE_ASM						\
		:							\
		: VRSEQ_CS_INPUTS(slot), [word] "r" (word)		\
		: OWN_CLOBBERS						\
		: invalid, aborted);					\
	return VRSEQ_COMMITTED;						\
invalid:								\
	LEAVE_C;							\
	return VRSEQ_INVALIDATED;					\
aborted:								\
	goto retry;							\
}
OWN_SECTION(own_section, VRSEQ_CS_LEAVE, vrseq_cs_leave(slot))
OWN_SECTION(own_section_no_leave, "", (void)0)

static int own_until(struct vrseq_slot *slot, int want, bool leave)
{
	uint64_t word;

	for (int i = 0; i < TRIES; i++) {
		word = 0;
		if (want == VRSEQ_INVALIDATED)
			vrseq_slot_clear(slot);
		else if (commit_now(slot))
			return -1;
		if ((leave ? own_section : own_section_no_leave)(slot, &word) == want)
			return want == VRSEQ_COMMITTED && word != 0x1235 ? -1 : 0;
	}
	return -1;
}

int unload_plugin_run(int exit_case, struct vrseq_slot *slot)
{
	switch (exit_case) {
	case UNLOAD_COMMIT_COMMITTED:
		return commit_now(slot);
	case UNLOAD_COMMIT_INVALIDATED:
		return vrseq_slot_commit(slot, stale_token(slot), 0x5678) ==
		       VRSEQ_INVALIDATED ? 0 : -1;
	case UNLOAD_CAS_COMMITTED:
		return cas_until(slot, 7, VRSEQ_COMMITTED);
	case UNLOAD_CAS_CHANGED:
		return cas_until(slot, 99, VRSEQ_CHANGED);
	case UNLOAD_CAS_INVALIDATED:
		return cas_until(slot, 7, VRSEQ_INVALIDATED);
	case UNLOAD_OWN_COMMITTED:
		return own_until(slot, VRSEQ_COMMITTED, true);
	case UNLOAD_OWN_INVALIDATED:
		return own_until(slot, VRSEQ_INVALIDATED, true);
	case UNLOAD_OWN_NO_LEAVE:
		return own_until(slot, VRSEQ_COMMITTED, false);
	default:
		return -1;
	}
}
