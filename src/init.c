/* SPDX-License-Identifier: MIT */
/*
 * Process set-up: what the kernel offers, whether glibc registered an area,
 * the tag arrays, membarrier, how fences interrupt. Lazy, because another
 * library's constructor (or malloc, before main) may call in before our own
 * constructor runs.
 *
 * vrseq runs inside malloc, so nothing reachable from here allocates, takes
 * a lock malloc could hold, or calls a function that does: only raw system
 * calls, getauxval, secure_getenv and uname.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gate.h"
#include "internal.h"
#include "membarrier.h"

/* glibc >= 2.35 exports these from ld.so; weak so older glibc still links. */
extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

struct vrseq_process vrseq__proc;

static int proc_state;		/* 0 not yet, 1 ready, -errno failed */
/*
 * Who runs the set-up now: pid << 32 | tid, 0 when nobody. Not a mutex:
 * a fork child whose parent was inside the set-up (on another thread)
 * sees a pid that is not its own and takes over, and a signal handler
 * that interrupts its own thread's set-up is told so instead of waiting
 * for itself.
 */
static uint64_t setup_owner;

unsigned int vrseq__glibc_rseq_size(void)
{
	return &__rseq_size && &__rseq_offset ? __rseq_size : 0;
}

/*
 * Entries of each tag array: every id the kernel can write into cpu_id_start
 * or mm_cid must index inside them, by construction, because the fast paths
 * do not check. Both are below the kernel's nr_cpu_ids (a CPU number; a
 * concurrency id is below the number of possible CPUs). sysfs may be
 * missing or lie (a chroot, a container's masked /sys): ask the kernel.
 * sched_getaffinity() fails with EINVAL while len * 8 < nr_cpu_ids, so the
 * smallest length it accepts bounds nr_cpu_ids (rounded up to 64 bits).
 */
#define MAX_MASK_BYTES	((VRSEQ_TAG_ID_MASK + 1) / 8)
#define STACK_MASK_BYTES	1024u	/* 8192 CPUs: any distribution kernel */

static int affinity_accepts(size_t len, void *buf)
{
	long ret = vrseq__sys_sched_getaffinity(len, buf);

	return ret > 0 ? 1 : ret == -EINVAL ? 0 : (int)ret;
}

static int kernel_cpu_ids(uint32_t *nr_ids)
{
	unsigned long stack_buf[STACK_MASK_BYTES / sizeof(unsigned long)];
	void *buf = stack_buf;
	size_t lo = 0, hi = sizeof(unsigned long), buf_len = sizeof(stack_buf);
	int ret;

	/* lo: largest length known to be refused; hi: a length to try. */
	while ((ret = affinity_accepts(hi, buf)) == 0) {
		lo = hi;
		hi *= 2;
		if (hi > MAX_MASK_BYTES) {
			ret = -EOVERFLOW;
			goto out;
		}
		if (hi > buf_len) {
			if (buf != stack_buf)
				munmap(buf, buf_len);
			buf = mmap(NULL, hi, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (buf == MAP_FAILED) {
				buf = stack_buf;
				ret = -ENOMEM;
				goto out;
			}
			buf_len = hi;
		}
	}
	if (ret < 0)
		goto out;
	while (hi - lo > sizeof(unsigned long)) {
		size_t mid = lo + (hi - lo) / 2;

		mid -= mid % sizeof(unsigned long);
		ret = affinity_accepts(mid, buf);
		if (ret < 0)
			goto out;
		if (ret)
			hi = mid;
		else
			lo = mid;
	}
	/* hi * 8 <= 2^20 = VRSEQ_TAG_ID_MASK + 1: checked before narrowing. */
	*nr_ids = (uint32_t)(hi * 8);
	ret = 0;
out:
	if (buf != stack_buf)
		munmap(buf, buf_len);
	return ret;
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
	for (uint32_t i = 0; i < p->nr_ids; i++) {
		p->cpu_tags[i] = VRSEQ_TAG_FIRST | i;
		p->cid_tags[i] = VRSEQ_TAG_FIRST | i;
	}
	return 0;
}

/*
 * How many bytes glibc registered: asked without side effects (query.c).
 * When the set-up thread cannot be asked (no registration of its own, as in
 * a CLONE_VM child, or rseq() filtered), what glibc is known to do: 2.35-2.40
 * register 32 bytes whatever __rseq_size says, 2.41+ register __rseq_size.
 */
static void setup_glibc(struct vrseq_process *p)
{
	unsigned int size = vrseq__glibc_rseq_size();
	void *area;

	if (size == 0)
		return;
	p->glibc_size = size;
	p->glibc_offset = __rseq_offset;
	area = (char *)__builtin_thread_pointer() + __rseq_offset;
	if (p->rseq_askable)
		p->glibc_registered_len =
			vrseq__registered_len(area, size, p->feature_size);
	if (p->glibc_registered_len == 0)
		p->glibc_registered_len = size > VRSEQ_RSEQ_ORIG_SIZE ?
			size : VRSEQ_RSEQ_ORIG_SIZE;
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

/*
 * Decided once, here, and published with the rest of the set-up: a fencer
 * must never conclude "no critical section can be running" from the state of
 * other threads' binding, which it could see late. Sections can run in this
 * process as soon as some thread can have an area: glibc registered them,
 * or the rseq system call answers (vrseq or a foreign library can register).
 */
static int32_t choose_fence_method(const struct vrseq_process *p)
{
	/* Without critical sections there is nothing to interrupt. */
	if (!VRSEQ_HAVE_CS)
		return VRSEQ_FENCE_NONE;
	if (p->membarrier_rseq)
		return VRSEQ_FENCE_MEMBARRIER;
	if (p->glibc_size || p->rseq_askable)
		return VRSEQ_FENCE_AFFINITY;
	return VRSEQ_FENCE_NONE;
}

static bool kernel_untrusted(void)
{
	const char *trust = secure_getenv("VRSEQ_TRUST_KERNEL");

	if (trust && !strcmp(trust, "1"))
		return false;
	/* "0": the operator knows better than the release (vrseq-check's
	 * measurement saw sections commit that should have aborted). */
	if (trust && !strcmp(trust, "0"))
		return true;
	return vrseq__running_kernel_aborts_unreliable();
}

/* VRSEQ_OWN_REGISTRATION=0: an operator keeps vrseq from taking threads'
 * one registration (vrseq_set_own_registration(3)). */
static bool own_forbidden_by_env(void)
{
	const char *own = secure_getenv("VRSEQ_OWN_REGISTRATION");

	return own && !strcmp(own, "0");
}

static int process_setup(struct vrseq_process *p)
{
	unsigned long fs = getauxval(VRSEQ_AT_RSEQ_FEATURE_SIZE);
	unsigned long al = getauxval(VRSEQ_AT_RSEQ_ALIGN);
	int ret;

	memset(p, 0, sizeof(*p));
	/* Before 6.3 there is no auxv entry: the original 20-byte feature set. */
	p->feature_size = fs ? (uint32_t)fs : 20;
	p->feature_align = al ? (uint32_t)al : VRSEQ_RSEQ_ORIG_SIZE;
	p->unsafe_kernel = kernel_untrusted();
	p->own_forbidden_env = own_forbidden_by_env();
	ret = kernel_cpu_ids(&p->nr_ids);
	if (ret < 0)
		return ret;
	p->rseq_askable = vrseq__rseq_askable(NULL);
	setup_glibc(p);
	setup_membarrier(p);
	p->fence_method = choose_fence_method(p);
	return setup_tags(p);
}

static uint64_t setup_id(void)
{
	return (uint64_t)getpid() << 32 | (uint32_t)syscall(SYS_gettid);
}

static int process_setup_slow(void)
{
	uint64_t me = setup_id();
	int state;

	for (;;) {
		uint64_t owner = 0;

		state = __atomic_load_n(&proc_state, __ATOMIC_ACQUIRE);
		if (state != 0)
			return state > 0 ? 0 : state;
		if (__atomic_compare_exchange_n(&setup_owner, &owner, me, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		if (owner == me)
			return -EDEADLK;
		/* The owner is a thread of the process we were forked from. */
		if (owner >> 32 != me >> 32 &&
		    __atomic_compare_exchange_n(&setup_owner, &owner, me, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		sched_yield();
	}
	state = __atomic_load_n(&proc_state, __ATOMIC_ACQUIRE);
	if (state == 0) {
		int ret = process_setup(&vrseq__proc);

		state = ret < 0 ? ret : 1;
		__atomic_store_n(&proc_state, state, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&setup_owner, 0, __ATOMIC_RELEASE);
	return state > 0 ? 0 : state;
}

int vrseq__process(void)
{
	int state = __atomic_load_n(&proc_state, __ATOMIC_ACQUIRE);

	if (__builtin_expect(state != 0, 1))
		return state > 0 ? 0 : state;
	return process_setup_slow();
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
 * the state goes away with the mapping -- which only a static copy linked
 * into an unloadable object can do: libvrseq.so.1 itself is linked
 * -z nodelete (thread.c).
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
