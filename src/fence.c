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
#include <sys/mman.h>

#include "internal.h"
#include "membarrier.h"

/*
 * Release: what the caller wrote before the fence is published with it.
 * A read-modify-write, so that concurrent fences of one id each extend the
 * other's release sequence: a thread that observes the newest tag sees what
 * every fencer wrote before its fence. The last live generation advances to
 * the retired one, which stays (vrseq.h: no tag ever comes back).
 */
static void advance(uint64_t *tags, uint32_t first, uint32_t count)
{
	for (uint32_t i = first; i < first + count; i++) {
		uint64_t old = __atomic_load_n(&tags[i], __ATOMIC_RELAXED);
		uint64_t new;

		do {
			if ((old & VRSEQ_TAG_GEN_MASK) == VRSEQ_TAG_RETIRED)
				break;
			new = old + VRSEQ_TAG_GEN_ONE;
		} while (!__atomic_compare_exchange_n(&tags[i], &old, new, true,
						      __ATOMIC_RELEASE,
						      __ATOMIC_RELAXED));
	}
}

/*
 * THE CALLER'S OWN CPU, WITHOUT A SYSTEM CALL. A fence of CPU c must leave
 * no critical section that validated c's old tag able to commit. If the
 * caller advances the tag inside a critical section of its own that checks
 * it is on c and makes the advance its committing instruction, then at the
 * moment of the advance the caller has run on c without interruption since
 * that check: any other section on c is either finished or was descheduled
 * in its middle, and the kernel aborts a descheduled section before it runs
 * again (the premise of every rseq algorithm, and of the affinity fence
 * below; gate.c puts every slot in fallback mode on kernels that break it).
 * A section that starts on c later reads the new tag: same CPU, after the
 * store. Sections on other CPUs validate against their own CPU's tag, not
 * c's. The advance is a release read-modify-write as in advance() (lock
 * cmpxchg; stlxr), so the publication argument is unchanged. If the section
 * aborts, or finds the caller elsewhere, nothing was advanced and the fence
 * takes the ordinary path. Only a thread whose slots work (its own bound
 * registration, a kernel that passed the gate) can run the section.
 */
enum { OWN_ADVANCED, OWN_RETRY, OWN_ELSEWHERE };

#if defined(__x86_64__)
static int advance_on_cpu(struct vrseq_rseq_area *area, uint32_t cpu,
			  uint64_t *tag, uint64_t old, uint64_t new)
{
	uint64_t seen = old, scratch;
	int st;

	__asm__ __volatile__ (
		VRSEQ_X86_BEGIN_T(VRSEQ_CS_C_, %%rip, %[area], %[scratch])
		"cmpl %k[cpu], (%[area])\n\t"
		"jne 5f\n\t"
		"lock cmpxchgq %[new], %[tag]\n\t"	/* commits */
		VRSEQ_X86_END_STATUS_T(VRSEQ_CS_C_, %k[st])
		VRSEQ_X86_LEAVE_T(VRSEQ_CS_C_, %[area])
		: [scratch] "=&r" (scratch), [st] "=&r" (st), "+a" (seen),
		  [tag] "+m" (*tag)
		: [area] "r" (area), [cpu] "r" (cpu), [new] "r" (new)
		: "memory", "cc");
	if (st == VRSEQ_INVALIDATED)
		return OWN_ELSEWHERE;
	/* Committed with a failed cmpxchg: another fencer came first. */
	return st == VRSEQ_COMMITTED && seen == old ? OWN_ADVANCED : OWN_RETRY;
}
#elif defined(__aarch64__)
static int advance_on_cpu(struct vrseq_rseq_area *area, uint32_t cpu,
			  uint64_t *tag, uint64_t old, uint64_t new)
{
	uint64_t scratch, seen = old;
	uint32_t failed = 1;
	int st;

	__asm__ __volatile__ (
		VRSEQ_A64_BEGIN_T(VRSEQ_CS_C_, %[area], %[scratch])
		"ldr %w[scratch], [%[area]]\n\t"
		"cmp %w[scratch], %w[cpu]\n\t"
		"b.ne 5f\n\t"
		"ldxr %[seen], [%[tag]]\n\t"
		"cmp %[seen], %[old]\n\t"
		"b.ne 2f\n\t"
		"stlxr %w[failed], %[new], [%[tag]]\n\t"	/* commits */
		VRSEQ_A64_END_STATUS_T(VRSEQ_CS_C_, %w[st])
		VRSEQ_A64_LEAVE_T(VRSEQ_CS_C_, %[area])
		: [scratch] "=&r" (scratch), [st] "=&r" (st),
		  [seen] "+&r" (seen), [failed] "+&r" (failed)
		: [area] "r" (area), [cpu] "r" (cpu), [tag] "r" (tag),
		  [old] "r" (old), [new] "r" (new)
		: "memory", "cc", "x16", "x17");
	if (st == VRSEQ_INVALIDATED)
		return OWN_ELSEWHERE;
	return st == VRSEQ_COMMITTED && seen == old && failed == 0 ?
		OWN_ADVANCED : OWN_RETRY;
}
#else
/* No sections here (VRSEQ_HAVE_CS 0): every slot is in fallback mode. */
static int advance_on_cpu(struct vrseq_rseq_area *area, uint32_t cpu,
			  uint64_t *tag, uint64_t old, uint64_t new)
{
	(void)area, (void)cpu, (void)tag, (void)old, (void)new;
	return OWN_ELSEWHERE;
}
#endif

/* True when cpu's tag was advanced here, with no fence left to do. */
static bool advance_own_cpu(uint32_t cpu)
{
	const struct vrseq_thread *t = vrseq__thread_peek();
	uint64_t *tag = &vrseq__proc.cpu_tags[cpu];

	if (!t->bound || vrseq__fallback(t) != VRSEQ_FALLBACK_NONE)
		return false;
	/* A few tries: a section aborts on any preemption or signal. */
	for (int tries = 0; tries < 4; tries++) {
		uint64_t old = __atomic_load_n(tag, __ATOMIC_RELAXED);

		if (__atomic_load_n(&t->area->cpu_id_start, __ATOMIC_RELAXED) !=
		    cpu || (old & VRSEQ_TAG_GEN_MASK) == VRSEQ_TAG_RETIRED)
			return false;
		switch (advance_on_cpu(t->area, cpu, tag, old,
				       old + VRSEQ_TAG_GEN_ONE)) {
		case OWN_ADVANCED:
			return true;
		case OWN_ELSEWHERE:
			return false;
		}
	}
	return false;
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
 * CPU masks for visit_cpus(), without malloc (CPU_ALLOC): on the stack when
 * they fit, else mapped for the call.
 */
#define STACK_MASK_BYTES	1024u

struct cpu_masks {
	cpu_set_t *saved, *one;
	size_t setsize;
	void *mapped;
	size_t mapped_len;
	unsigned long stack[2][STACK_MASK_BYTES / sizeof(unsigned long)];
};

static int masks_get(struct cpu_masks *m, uint32_t nr_ids)
{
	m->setsize = CPU_ALLOC_SIZE(nr_ids);
	m->mapped = NULL;
	if (m->setsize <= STACK_MASK_BYTES) {
		m->saved = (cpu_set_t *)m->stack[0];
		m->one = (cpu_set_t *)m->stack[1];
		return 0;
	}
	m->mapped_len = 2 * m->setsize;
	m->mapped = mmap(NULL, m->mapped_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->mapped == MAP_FAILED)
		return -ENOMEM;
	m->saved = m->mapped;
	m->one = (cpu_set_t *)((char *)m->mapped + m->setsize);
	return 0;
}

static void masks_put(struct cpu_masks *m)
{
	if (m->mapped && m->mapped != MAP_FAILED)
		munmap(m->mapped, m->mapped_len);
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
	struct cpu_masks m;
	int ret = masks_get(&m, p->nr_ids);

	if (ret < 0)
		return ret;
	if (sched_getaffinity(0, m.setsize, m.saved) < 0) {
		ret = -errno;
		goto out;
	}
	for (uint32_t cpu = 0; cpu < p->nr_ids; cpu++) {
		if (only_cpu >= 0 && cpu != (uint32_t)only_cpu)
			continue;
		if (!CPU_ISSET_S(cpu, m.setsize, m.saved))
			continue;
		CPU_ZERO_S(m.setsize, m.one);
		CPU_SET_S(cpu, m.setsize, m.one);
		if (sched_setaffinity(0, m.setsize, m.one) < 0 && errno != EINVAL) {
			ret = -errno;
			break;
		}
	}
	if (sched_setaffinity(0, m.setsize, m.saved) < 0 && ret == 0)
		ret = -errno;
out:
	masks_put(&m);
	return ret;
}

static int interrupt(int cpu)
{
	switch (vrseq__proc.fence_method) {
	case VRSEQ_FENCE_MEMBARRIER:
		return membarrier_rseq(cpu);
	case VRSEQ_FENCE_AFFINITY:
		return visit_cpus(cpu);
	default:
		/* No thread can have an area, so no critical section to abort. */
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
	if (advance_own_cpu((uint32_t)cpu))
		return 0;
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
