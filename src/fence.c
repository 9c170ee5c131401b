/* SPDX-License-Identifier: MIT */
/*
 * Fences: advance the generation of the covered ids, then make sure no
 * critical section that could have validated the old generation is still
 * running. Nothing here touches another thread's memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "internal.h"
#include "membarrier.h"

int vrseq__fence_method(void)
{
	const struct vrseq_process *p = &vrseq__proc;

	if (p->membarrier_rseq)
		return VRSEQ_FENCE_MEMBARRIER;
	if (__atomic_load_n(&p->rseq_seen, __ATOMIC_RELAXED))
		return VRSEQ_FENCE_AFFINITY;
	return VRSEQ_FENCE_NONE;
}

/* Release: what the caller wrote before the fence is published with it. */
static void advance(uint64_t *tags, uint32_t first, uint32_t count)
{
	for (uint32_t i = first; i < first + count; i++)
		__atomic_fetch_add(&tags[i], VRSEQ_TAG_GENERATION, __ATOMIC_RELEASE);
}

static int membarrier_rseq(int cpu)
{
	const struct vrseq_process *p = &vrseq__proc;
	unsigned int flags = 0;
	int ret;

	if (cpu >= 0 && p->membarrier_rseq_cpu)
		flags = VRSEQ_MEMBARRIER_CMD_FLAG_CPU;
	else
		cpu = 0;
	ret = vrseq__sys_membarrier(VRSEQ_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
				    flags, cpu);
	if (ret == -EPERM) {
		/* Registration is per mm; a fork child may not have it. */
		ret = vrseq__sys_membarrier(
			VRSEQ_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0);
		if (ret == 0)
			ret = vrseq__sys_membarrier(
				VRSEQ_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
				flags, cpu);
	}
	return ret < 0 ? ret : 0;
}

/*
 * Without membarrier-rseq: run on each covered CPU in turn. Getting onto a CPU
 * preempts whatever ran there, and the kernel aborts a preempted critical
 * section before it resumes; the context switch is a full barrier. A CPU we
 * may not run on (offline, or outside our cpuset) is skipped: this assumes the
 * process's threads share one cpuset, which vrseq(7) states.
 */
static int visit_cpus(int only_cpu)
{
	const struct vrseq_process *p = &vrseq__proc;
	size_t setsize = CPU_ALLOC_SIZE(p->nr_ids);
	cpu_set_t *saved = CPU_ALLOC(p->nr_ids);
	cpu_set_t *one = CPU_ALLOC(p->nr_ids);
	int ret = 0;

	if (!saved || !one) {
		ret = -ENOMEM;
		goto out;
	}
	if (sched_getaffinity(0, setsize, saved) < 0) {
		ret = -errno;
		goto out;
	}
	for (uint32_t cpu = 0; cpu < p->nr_ids; cpu++) {
		if (only_cpu >= 0 && cpu != (uint32_t)only_cpu)
			continue;
		CPU_ZERO_S(setsize, one);
		CPU_SET_S(cpu, setsize, one);
		if (sched_setaffinity(0, setsize, one) < 0 && errno != EINVAL) {
			ret = -errno;
			break;
		}
	}
	if (sched_setaffinity(0, setsize, saved) < 0 && ret == 0)
		ret = -errno;
out:
	CPU_FREE(saved);
	CPU_FREE(one);
	return ret;
}

static int interrupt(int cpu)
{
	switch (vrseq__fence_method()) {
	case VRSEQ_FENCE_MEMBARRIER:
		return membarrier_rseq(cpu);
	case VRSEQ_FENCE_AFFINITY:
		return visit_cpus(cpu);
	default:
		/* No area anywhere, so no critical section to abort. */
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return 0;
	}
}

int vrseq_fence_cpu(int cpu)
{
	int ret = vrseq__process();

	if (ret < 0)
		return ret;
	if (cpu < 0 || (uint32_t)cpu >= vrseq__proc.nr_ids)
		return -EINVAL;
	advance(vrseq__proc.cpu_tags, (uint32_t)cpu, 1);
	return interrupt(cpu);
}

int vrseq_fence_mm_cid(int cid)
{
	int ret = vrseq__process();

	if (ret < 0)
		return ret;
	if (cid < 0 || (uint32_t)cid >= vrseq__proc.nr_ids)
		return -EINVAL;
	advance(vrseq__proc.cid_tags, (uint32_t)cid, 1);
	/* A concurrency id may be on any CPU. */
	return interrupt(-1);
}

int vrseq_fence_all(void)
{
	int ret = vrseq__process();

	if (ret < 0)
		return ret;
	advance(vrseq__proc.cpu_tags, 0, vrseq__proc.nr_ids);
	advance(vrseq__proc.cid_tags, 0, vrseq__proc.nr_ids);
	return interrupt(-1);
}
