/* SPDX-License-Identifier: MIT */
/* Harness helpers that call into libvrseq (test-dlopen links without it). */
#include "harness.h"

bool harness_rseq(void)
{
	struct vrseq_info info;

	return vrseq_get_info(&info, sizeof(info)) == 0 && info.guarantee;
}

/* The real area, found the way any reader of cpu_id_start finds it. */
bool harness_abi_ok(void)
{
	const struct vrseq_slot *slot = vrseq_thread_slot();

	if (slot->flags & VRSEQ_SLOT_F_FALLBACK)
		return harness_area_ok(NULL);
	return harness_area_ok((const volatile struct vrseq_rseq_area *)slot->area);
}
