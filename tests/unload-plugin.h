/* SPDX-License-Identifier: MIT */
/* The interface between tests/test-unload and its plugin. */
#ifndef VRSEQ_TEST_UNLOAD_PLUGIN_H
#define VRSEQ_TEST_UNLOAD_PLUGIN_H

#include <vrseq.h>

/* Which exit of which critical section the plugin leaves through last. */
enum unload_exit {
	UNLOAD_COMMIT_COMMITTED,	/* vrseq_slot_commit(): committed */
	UNLOAD_COMMIT_INVALIDATED,	/* vrseq_slot_commit(): invalidated */
	UNLOAD_CAS_COMMITTED,		/* vrseq_slot_cas(): stored */
	UNLOAD_CAS_CHANGED,		/* vrseq_slot_cas(): the word differed */
	UNLOAD_CAS_INVALIDATED,		/* vrseq_slot_cas(): slot invalid */
	/* A section of the plugin's own, from the building blocks: */
	UNLOAD_OWN_COMMITTED,		/* committed, then VRSEQ_CS_LEAVE */
	UNLOAD_OWN_INVALIDATED,		/* slot invalid, then vrseq_cs_leave() */
	/* The control: committed without VRSEQ_CS_LEAVE. rseq_cs is left
	 * pointing into the plugin, so unloading it must kill the worker. */
	UNLOAD_OWN_NO_LEAVE,
	UNLOAD_NR_EXITS
};

/* 0 when the last section left through `exit_case`, else -1. */
typedef int unload_plugin_run_fn(int exit_case, struct vrseq_slot *slot);
unload_plugin_run_fn unload_plugin_run;

#define UNLOAD_PLUGIN_SYMBOL	"unload_plugin_run"

#endif
