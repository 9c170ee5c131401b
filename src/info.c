/* SPDX-License-Identifier: MIT */
/* What vrseq found, for vrseq-check and for callers that want to know. */
#include <errno.h>
#include <string.h>

#include "internal.h"

int vrseq_get_info(struct vrseq_info *info, size_t size)
{
	const struct vrseq_process *p = &vrseq__proc;
	struct vrseq_info full;
	struct vrseq_thread *t;
	int ret;

	if (!info || size < sizeof(uint32_t))
		return -EINVAL;
	ret = vrseq__process();
	if (ret < 0)
		return ret;
	t = vrseq__thread();
	memset(&full, 0, sizeof(full));
	full.size = (uint32_t)(size < sizeof(full) ? size : sizeof(full));
	full.owner = t->owner;
	full.registered_len = t->area ? t->registered_len : 0;
	full.feature_size = p->feature_size;
	full.feature_align = p->feature_align;
	full.register_errno = t->register_errno;
	full.node_id_usable = t->area && vrseq__node_id_usable();
	full.mm_cid_usable = t->area && vrseq__mm_cid_usable();
	full.membarrier_rseq = p->membarrier_rseq;
	full.membarrier_rseq_cpu = p->membarrier_rseq_cpu;
	full.fence_method = p->fence_method;
	full.nr_ids = p->nr_ids;
	full.fallback = (uint32_t)vrseq__fallback(t);
	full.guarantee = full.fallback == VRSEQ_FALLBACK_NONE;
	full.own_registration = vrseq__own_allowed();
	memcpy(info, &full, full.size);
	return 0;
}

const char *vrseq_owner_name(int owner)
{
	switch (owner) {
	case VRSEQ_OWNER_NONE:		return "none";
	case VRSEQ_OWNER_GLIBC:		return "glibc";
	case VRSEQ_OWNER_VRSEQ:		return "vrseq";
	case VRSEQ_OWNER_FOREIGN:	return "foreign";
	default:			return "unknown";
	}
}

const char *vrseq_fallback_name(int fallback)
{
	switch (fallback) {
	case VRSEQ_FALLBACK_NONE:	return "none";
	case VRSEQ_FALLBACK_NO_RSEQ:	return "no usable rseq";
	case VRSEQ_FALLBACK_FOREIGN:	return "registration owned by another library";
	case VRSEQ_FALLBACK_KERNEL:
		return "kernel does not abort critical sections reliably";
	case VRSEQ_FALLBACK_ARCH:
		return "no critical sections for this architecture";
	case VRSEQ_FALLBACK_OWN_FORBIDDEN:
		return "vrseq may not register its own area (VRSEQ_OWN_REGISTRATION=0)";
	default:			return "unknown";
	}
}

const char *vrseq_fence_method_name(int method)
{
	switch (method) {
	case VRSEQ_FENCE_NONE:		return "none";
	case VRSEQ_FENCE_MEMBARRIER:	return "membarrier-rseq";
	case VRSEQ_FENCE_AFFINITY:	return "affinity";
	default:			return "unknown";
	}
}
