/* SPDX-License-Identifier: MIT */
/*
 * Process set-up: what the kernel offers, whether glibc registered an area,
 * the tag arrays, membarrier. Lazy and mutex-guarded, because another
 * library's constructor may call into vrseq before our own constructor runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "gate.h"
#include "internal.h"
#include "membarrier.h"

/* glibc >= 2.35 exports these from ld.so; weak so older glibc still links. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

struct vrseq_process vrseq__proc;

static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static int proc_state;		/* 0 not yet, 1 ready, -errno failed */

/* Highest possible CPU + 1, from sysfs ("0-7", "0,2-5", ...). */
static uint32_t possible_cpus(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
	unsigned long lo, hi, max = 0;
	int n = 0;

	if (f) {
		int c;

		while ((n = fscanf(f, "%lu", &lo)) == 1) {
			hi = lo;
			c = fgetc(f);
			if (c == '-') {
				if (fscanf(f, "%lu", &hi) != 1)
					break;
				c = fgetc(f);
			}
			if (hi + 1 > max)
				max = hi + 1;
			if (c != ',')
				break;
		}
		fclose(f);
	}
	if (max == 0) {
		int conf = get_nprocs_conf();

		max = conf > 0 ? (unsigned long)conf : 1;
	}
	return (uint32_t)max;
}

/*
 * Tag arrays live in .bss when they fit: they go away with the library on
 * dlclose, and nothing has to be unmapped at exit while other threads may
 * still read them. Pages of CPUs that do not exist are never touched.
 */
#define STATIC_IDS	8192u
static uint64_t static_tags[2 * STATIC_IDS] __attribute__((aligned(64)));

static int setup_tags(struct vrseq_process *p)
{
	uint64_t *tags = static_tags;

	if (p->nr_ids > STATIC_IDS) {
		/* Larger than any distribution kernel's NR_CPUS; kept forever. */
		size_t bytes = 2 * (size_t)p->nr_ids * sizeof(uint64_t);

		tags = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (tags == MAP_FAILED)
			return -errno;
	}
	p->cpu_tags = tags;
	p->cid_tags = tags + p->nr_ids;
	/* Generation 1: a real tag is never 0, the "nothing stored" tag. */
	for (uint32_t i = 0; i < p->nr_ids; i++) {
		p->cpu_tags[i] = VRSEQ_TAG_GENERATION | i;
		p->cid_tags[i] = VRSEQ_TAG_GENERATION | i;
	}
	return 0;
}

/*
 * glibc does not say how many bytes it registered (2.35-2.40 register 32
 * whatever __rseq_size says). Ask the kernel: re-registering with exactly the
 * registered address, length and signature fails with EBUSY (EPERM when only
 * the signature differs) and changes nothing; anything else fails with EINVAL.
 */
static uint32_t probe_registered_len(struct vrseq_rseq_area *area,
				     uint32_t reported, uint32_t feature_size)
{
	uint32_t guesses[] = {
		reported > VRSEQ_RSEQ_ORIG_SIZE ? reported : VRSEQ_RSEQ_ORIG_SIZE,
		VRSEQ_RSEQ_ORIG_SIZE, feature_size, reported,
	};

	/* Only while registered: otherwise the probe would register it. */
	if ((int32_t)__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED) < 0)
		return 0;
	for (size_t i = 0; i < sizeof(guesses) / sizeof(guesses[0]); i++) {
		int ret;

		if (guesses[i] < VRSEQ_RSEQ_ORIG_SIZE)
			continue;
		ret = vrseq__sys_rseq(area, guesses[i], 0, VRSEQ_RSEQ_SIG);
		if (ret == -EBUSY || ret == -EPERM)
			return guesses[i];
	}
	return 0;
}

static void setup_glibc(struct vrseq_process *p)
{
	struct vrseq_rseq_area *area;

	if (&__rseq_size == NULL || &__rseq_offset == NULL || __rseq_size == 0)
		return;
	p->glibc_size = __rseq_size;
	p->glibc_offset = __rseq_offset;
	area = (void *)((char *)__builtin_thread_pointer() + __rseq_offset);
	p->glibc_registered_len = probe_registered_len(area, __rseq_size,
						       p->feature_size);
	if (p->glibc_registered_len == 0)
		p->glibc_registered_len = __rseq_size > VRSEQ_RSEQ_ORIG_SIZE ?
			__rseq_size : VRSEQ_RSEQ_ORIG_SIZE;
}

static void setup_membarrier(struct vrseq_process *p)
{
	int cmds = vrseq__sys_membarrier(VRSEQ_MEMBARRIER_CMD_QUERY, 0, 0);

	if (cmds < 0)
		return;
	p->membarrier_cmds = cmds;
	if (!(cmds & VRSEQ_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ))
		return;
	if (vrseq__sys_membarrier(VRSEQ_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ,
				  0, 0) < 0)
		return;
	p->membarrier_rseq = true;
	/* FLAG_CPU (5.10+) targets one CPU; older kernels reject the flag. */
	p->membarrier_rseq_cpu =
		vrseq__sys_membarrier(VRSEQ_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
				      VRSEQ_MEMBARRIER_CMD_FLAG_CPU, 0) == 0;
}

static int process_setup(struct vrseq_process *p)
{
	unsigned long fs = getauxval(VRSEQ_AT_RSEQ_FEATURE_SIZE);
	unsigned long al = getauxval(VRSEQ_AT_RSEQ_ALIGN);

	memset(p, 0, sizeof(*p));
	/* Before 6.3 there is no auxv entry: the original 20-byte feature set. */
	p->feature_size = fs ? (uint32_t)fs : 20;
	p->feature_align = al ? (uint32_t)al : VRSEQ_RSEQ_ORIG_SIZE;
	p->nr_ids = possible_cpus();
	{
		struct utsname u;
		const char *trust = secure_getenv("VRSEQ_TRUST_KERNEL");

		p->unsafe_kernel = uname(&u) == 0 &&
			vrseq__kernel_aborts_unreliable(u.machine, u.release) &&
			!(trust && !strcmp(trust, "1"));
	}
	if (p->nr_ids > VRSEQ_TAG_ID_MASK)
		return -EOVERFLOW;
	setup_glibc(p);
	setup_membarrier(p);
	return setup_tags(p);
}

int vrseq__process(void)
{
	int state = __atomic_load_n(&proc_state, __ATOMIC_ACQUIRE);

	if (__builtin_expect(state != 0, 1))
		return state > 0 ? 0 : state;
	pthread_mutex_lock(&proc_lock);
	state = proc_state;
	if (state == 0) {
		int ret = process_setup(&vrseq__proc);

		state = ret < 0 ? ret : 1;
		__atomic_store_n(&proc_state, state, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&proc_lock);
	return state > 0 ? 0 : state;
}

int vrseq_init(void)
{
	int ret = vrseq__process();

	if (ret < 0)
		return ret;
	vrseq__thread();
	return 0;
}

/* Fields past the original 20 bytes exist only when the kernel says so. */
bool vrseq__node_id_usable(void)
{
	return vrseq__proc.feature_size >= VRSEQ_RSEQ_OFF_NODE_ID + 4;
}

bool vrseq__mm_cid_usable(void)
{
	return vrseq__proc.feature_size >= VRSEQ_RSEQ_OFF_MM_CID + 4;
}

/* Descriptors of critical sections compiled into this library, if any. */
extern const struct vrseq_rseq_cs __start___rseq_cs[] __attribute__((weak, visibility("hidden")));
extern const struct vrseq_rseq_cs __stop___rseq_cs[] __attribute__((weak, visibility("hidden")));

/*
 * On unload the kernel may still hold a pointer to one of our descriptors in
 * the calling thread's rseq_cs (it clears it lazily) and would fault on it
 * after munmap; the glibc manual asks for it to be cleared. Nothing else is
 * torn down: at exit other threads may still be using slots, and on dlclose
 * the state goes away with the mapping. When vrseq registered areas itself
 * the library pinned itself and is never unloaded.
 */
__attribute__((destructor)) static void vrseq_unload(void)
{
	struct vrseq_thread *t = vrseq__thread_peek();
	uint64_t cs;

	if ((uintptr_t)__start___rseq_cs == (uintptr_t)__stop___rseq_cs || !t->area)
		return;
	cs = __atomic_load_n(&t->area->rseq_cs, __ATOMIC_RELAXED);
	if (cs >= (uintptr_t)__start___rseq_cs && cs < (uintptr_t)__stop___rseq_cs)
		__atomic_store_n(&t->area->rseq_cs, 0, __ATOMIC_RELAXED);
}
