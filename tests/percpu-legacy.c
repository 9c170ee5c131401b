/* SPDX-License-Identifier: MIT */
/*
 * The legacy twin of the vrseq backend: the per-CPU cache of percpu-cache.c
 * driven exactly the way tcmalloc drives its per-CPU slabs, by overlaying a
 * "cached slab pointer" on the kernel-owned cpu_id_start field of a private
 * rseq registration and trusting the kernel to overwrite that field after
 * every preemption, signal, migration and membarrier-rseq IPI.
 *
 * THIS IS THE ONE PLACE IN THE PROJECT THAT WRITES cpu_id_start, ON PURPOSE.
 * It is a test fixture only, never linked into libvrseq. On kernels that
 * rewrite cpu_id_start only when the CPU changes (6.19.x, 7.0 before 7.0.10)
 * a thread that was descheduled across a resizer's fence keeps using a slab
 * the resizer has drained: the stress run then reports duplicates, stale pops
 * and broken poison. On kernels with the legacy rewrite it stays correct.
 *
 * Layout. Each thread registers its own 32-byte area (so glibc's registration
 * must be off: GLIBC_TUNABLES=glibc.pthread.rseq=0). Four bytes of our own
 * sit right before it, and the 64-bit little-endian word starting there is
 * the cached slab pointer:
 *
 *	offset 28: low    -> bits  0..31 of the word
 *	offset 32: cpu_id_start -> bits 32..63 (bit 63 = "cached")
 *
 * User addresses on x86_64 are below 2^47, so a slab pointer with bit 63 set
 * puts 0x80000000 | (address >> 32) into cpu_id_start, which no CPU number
 * can equal: once the kernel writes the CPU number there the bit is gone.
 *
 * Nothing here writes cpu_id, flags, node_id, mm_cid or slice_ctrl: only the
 * word (low + cpu_id_start) and rseq_cs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "percpu-cache.h"

#define LG_CACHED	(UINT64_C(1) << 63)

/* <linux/membarrier.h> values, spelled out so old headers do not matter. */
#define LG_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ		(1 << 7)
#define LG_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ	(1 << 8)
#define LG_MEMBARRIER_CMD_FLAG_CPU				(1 << 0)

struct lg_tls {
	uint32_t registered;		/* this thread's rseq() succeeded */
	int32_t register_errno;
	char pad[20];
	uint32_t low;			/* bits 0..31 of the word */
	struct vrseq_rseq_area area;	/* cpu_id_start = bits 32..63 */
} __attribute__((aligned(64)));

_Static_assert(offsetof(struct lg_tls, low) == 28, "low right before area");
_Static_assert(offsetof(struct lg_tls, area) == 32, "area 32-byte aligned");
_Static_assert(sizeof(struct lg_tls) == 64, "one cache line");

/*
 * Local-exec, as tcmalloc addresses __rseq_abi (%fs:__rseq_abi@tpoff): this
 * file is only ever linked into executables. The assembler name is fixed
 * for the lean sections, which address it by name.
 */
static __thread struct lg_tls lg __asm__("pc_legacy_tls")
	__attribute__((tls_model("local-exec")));

/* The word, read and written with single (4-byte aligned) 64-bit moves. */
typedef uint64_t lg_word_t __attribute__((aligned(4), may_alias));

static inline volatile lg_word_t *lg_word(void)
{
	return (volatile lg_word_t *)(void *)&lg.low;
}

/*
 * What step (1) of a refresh stores: the cached bit over a slab that is
 * always empty and has capacity 0. tcmalloc stores the bare bit, so a signal
 * handler that allocates between steps (1) and (3) on a kernel that did not
 * clear the bit would dereference a null slab; here it finds "empty"/"full"
 * instead, so such a run reports corruption counters rather than crashing.
 */
static struct pc_slab lg_sentinel_slab = { .hdr = PC_HDR(0, 0) };

#define LG_SENTINEL	((uint64_t)(uintptr_t)&lg_sentinel_slab | LG_CACHED)

/* ------------------------------------------------------------ set-up */

static pthread_once_t lg_membarrier_once = PTHREAD_ONCE_INIT;
static int lg_membarrier_ret;

static void lg_membarrier_register(void)
{
	if (syscall(__NR_membarrier,
		    LG_MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ, 0, 0) < 0)
		lg_membarrier_ret = -errno;
}

static int lg_membarrier_ready(void)
{
	pthread_once(&lg_membarrier_once, lg_membarrier_register);
	return lg_membarrier_ret;
}

/* Register this thread's own 32-byte area. 0 or -errno. */
static int lg_register(void)
{
	if (lg.registered)
		return 0;
	if (lg.register_errno)
		return -lg.register_errno;
	/* Not registered yet: every byte is still ours. */
	memset(&lg, 0, sizeof(lg));
	lg.area.cpu_id = (uint32_t)VRSEQ_RSEQ_CPU_ID_UNINITIALIZED;
	if (syscall(__NR_rseq, &lg.area, VRSEQ_RSEQ_ORIG_SIZE, 0,
		    VRSEQ_RSEQ_SIG) < 0) {
		lg.register_errno = errno;
		return -errno;
	}
	lg.registered = 1;
	return 0;
}

int pc_legacy_probe(void)
{
	int ret = lg_membarrier_ready();

	if (ret < 0)
		return ret;
	return lg_register();
}

static int lg_thread_init(struct pc_thread *t)
{
	int ret;

	(void)t;
	ret = lg_membarrier_ready();
	if (ret < 0)
		return ret;
	return lg_register();
}

/* ------------------------------------------------------------ caching */

/* Leave the word uncached: cpu_id_start = the CPU, as the kernel would. */
static void lg_uncache(uint32_t cpu)
{
	*lg_word() = (uint64_t)cpu << 32;
}

#if defined(__x86_64__)

/* Step (3): store `value` only if the cached bit survived since step (1). */
static int lg_commit(uint64_t value)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		"btq $63, -4(%[area])\n\t"
		"jnc %l[invalid]\n\t"
		"movq %[value], -4(%[area])\n\t"	/* commit */
		VRSEQ_CS_END("aborted")
		:
		: [area] "r" (&lg.area), [value] "r" (value)
		: "memory", "cc", "rax"
		: invalid, aborted);
	return PC_OK;
invalid:
aborted:
	return PC_INVALID;
}

static void lg_count_abort(struct pc_thread *t)
{
	if (t->in_signal)
		t->sst.aborts++;
	else
		t->st.aborts++;
}

/* As vr_pop(), but valid means "bit 63 of the word is set". */
static int lg_pop(struct pc_thread *t, struct pc_obj **out)
{
	struct pc_obj *item;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		"movq -4(%[area]), %%rcx\n\t"		/* the word */
		"btrq $63, %%rcx\n\t"			/* slab, CF = cached */
		"jnc %l[invalid]\n\t"
		"movq (%%rcx), %%rdx\n\t"		/* hdr */
		"testl %%edx, %%edx\n\t"
		"jz %l[empty]\n\t"
		"subq $1, %%rdx\n\t"
		"movl %%edx, %%eax\n\t"			/* index count - 1 */
		"movq 8(%%rcx, %%rax, 8), %[item]\n\t"
		"movq %%rdx, (%%rcx)\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		: [item] "=&r" (item)
		: [area] "r" (&lg.area)
		: "memory", "cc", "rax", "rcx", "rdx"
		: invalid, empty, aborted);
	*out = item;
	return PC_OK;
invalid:
	return PC_INVALID;
empty:
	return PC_EMPTY;
aborted:
	lg_count_abort(t);
	goto retry;
}

static int lg_push(struct pc_thread *t, struct pc_obj *obj)
{
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		"movq -4(%[area]), %%rcx\n\t"		/* the word */
		"btrq $63, %%rcx\n\t"			/* slab, CF = cached */
		"jnc %l[invalid]\n\t"
		"movq (%%rcx), %%rdx\n\t"		/* hdr */
		"movq %%rdx, %%rax\n\t"
		"shrq $32, %%rax\n\t"			/* capacity */
		"cmpl %%eax, %%edx\n\t"
		"jae %l[full]\n\t"
		"movl %%edx, %%eax\n\t"			/* index count */
		"movq %[item], 8(%%rcx, %%rax, 8)\n\t"
		"addq $1, %%rdx\n\t"
		"movq %%rdx, (%%rcx)\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		:
		: [area] "r" (&lg.area), [item] "r" (obj)
		: "memory", "cc", "rax", "rcx", "rdx"
		: invalid, full, aborted);
	return PC_OK;
invalid:
	return PC_INVALID;
full:
	return PC_FULL;
aborted:
	lg_count_abort(t);
	goto retry;
}

/*
 * tcmalloc's grow: the header was loaded outside any critical section; store
 * the new one if the cached bit is still set and the header is unchanged.
 */
static int lg_cas_hdr(struct pc_thread *t, struct pc_slab *slab,
		      uint64_t expected, uint64_t desired)
{
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		"btq $63, -4(%[area])\n\t"
		"jnc %l[invalid]\n\t"
		"cmpq %[expected], (%[hdr])\n\t"
		"jne %l[changed]\n\t"
		"movq %[desired], (%[hdr])\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		:
		: [area] "r" (&lg.area), [hdr] "r" (&slab->hdr),
		  [expected] "r" (expected), [desired] "r" (desired)
		: "memory", "cc", "rax"
		: invalid, changed, aborted);
	return PC_OK;
invalid:
	return PC_INVALID;
changed:
	return PC_CHANGED;
aborted:
	lg_count_abort(t);
	goto retry;
}

/*
 * The lean twin: tcmalloc's real fast path shape, for bench/bench-op.c and
 * bench/bench-cache.c (declared in bench/lean-ops.h). No status integer and
 * no backend call: set rseq_cs, one TLS load of the word (%fs-relative,
 * %fs:pc_legacy_tls@tpoff as tcmalloc's %fs:__rseq_abi@tpoff), test and
 * clear the bit, jump to the miss label if it was clear, header, pop/push,
 * commit. A miss (bit clear) and an empty (or full) slab both leave through
 * the same label to the caller's handler, a tail call, as tcmalloc's
 * underflow/overflow handler: it refreshes and tells them apart. (The
 * handler is also what keeps GCC 12.2 from miscompiling "return NULL" at
 * the label of an asm goto with outputs into "return item".)
 * An abort restarts the section (the kernel cleared rseq_cs; the bit is
 * gone too if it was a preemption). The descriptor and abort stub are the
 * same as VRSEQ_CS_BEGIN/VRSEQ_CS_END emit; only the rseq_cs store differs
 * (%fs-relative instead of through an area register).
 */
#define LG_CS_BEGIN(tmp)						\
	".pushsection __rseq_cs, \"aw" VRSEQ_CS_GROUP "\"\n\t"		\
	".balign 32\n\t"						\
	"3:\n\t"							\
	".long 0x0, 0x0\n\t"						\
	".quad 1f, (2f - 1f), 4f\n\t"					\
	".popsection\n\t"						\
	".pushsection __rseq_cs_ptr_array, " VRSEQ_CS_PTR_ARRAY_FLAGS "\n\t" \
	".balign 8\n\t"							\
	".quad 3b\n\t"							\
	".popsection\n\t"						\
	"leaq 3b(%%rip), " tmp "\n\t"					\
	"movq " tmp ", %%fs:pc_legacy_tls@tpoff+40\n\t"	/* rseq_cs */	\
	"1:\n\t"

/* The word (low + cpu_id_start), one %fs-relative load. */
#define LG_LOAD_WORD(dst)						\
	"movq %%fs:pc_legacy_tls@tpoff+28, " dst "\n\t"

_Static_assert(offsetof(struct lg_tls, area) +
	       offsetof(struct vrseq_rseq_area, rseq_cs) == 40, "rseq_cs at 40");

struct pc_obj *pc_legacy_lean_pop(struct pc_obj *(*miss_fn)(void *),
				  void *arg);
bool pc_legacy_lean_push(struct pc_obj *obj,
			 bool (*miss_fn)(void *, struct pc_obj *), void *arg);

/*
 * Scratch registers: outputs, placed where no argument lives (the miss
 * handler's stay put) and the item where it is returned, which keeps GCC's
 * own register moves on the hit path to one (GCC 12.2).
 */
__attribute__((noinline))
struct pc_obj *pc_legacy_lean_pop(struct pc_obj *(*miss_fn)(void *), void *arg)
{
	struct pc_obj *item;
	uint64_t slab, hdr;

retry:
	__asm__ __volatile__ goto (
		LG_CS_BEGIN("%[item]")
		LG_LOAD_WORD("%[slab]")
		"btrq $63, %[slab]\n\t"			/* slab, CF = cached */
		"jnc %l[miss]\n\t"
		"movq (%[slab]), %[hdr]\n\t"
		"testl %k[hdr], %k[hdr]\n\t"
		"jz %l[miss]\n\t"
		"subq $1, %[hdr]\n\t"
		"movl %k[hdr], %k[item]\n\t"		/* index count - 1 */
		"movq 8(%[slab], %[item], 8), %[item]\n\t"
		"movq %[hdr], (%[slab])\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		: [item] "=&a" (item), [slab] "=&c" (slab), [hdr] "=&d" (hdr)
		:
		: "memory", "cc"
		: miss, aborted);
	return item;
miss:
	return miss_fn(arg);
aborted:
	goto retry;
}

__attribute__((noinline))
bool pc_legacy_lean_push(struct pc_obj *obj,
			 bool (*miss_fn)(void *, struct pc_obj *), void *arg)
{
	register uint64_t hdr __asm__("r8");
	uint64_t slab, tmp;

retry:
	__asm__ __volatile__ goto (
		LG_CS_BEGIN("%[tmp]")
		LG_LOAD_WORD("%[slab]")
		"btrq $63, %[slab]\n\t"			/* slab, CF = cached */
		"jnc %l[miss]\n\t"
		"movq (%[slab]), %[hdr]\n\t"
		"movq %[hdr], %[tmp]\n\t"
		"shrq $32, %[tmp]\n\t"			/* capacity */
		"cmpl %k[tmp], %k[hdr]\n\t"
		"jae %l[miss]\n\t"
		"movl %k[hdr], %k[tmp]\n\t"		/* index count */
		"movq %[item], 8(%[slab], %[tmp], 8)\n\t"
		"addq $1, %[hdr]\n\t"
		"movq %[hdr], (%[slab])\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		: [slab] "=&c" (slab), [hdr] "=&r" (hdr), [tmp] "=&a" (tmp)
		: [item] "r" (obj)
		: "memory", "cc"
		: miss, aborted);
	return true;
miss:
	return miss_fn(arg, obj);
aborted:
	goto retry;
}

#define LG_FAST_PATH	true
#else
static int lg_commit(uint64_t value)
{
	(void)value;
	return PC_INVALID;
}

static int lg_pop(struct pc_thread *t, struct pc_obj **out)
{
	(void)t;
	*out = NULL;
	return PC_INVALID;
}

static int lg_push(struct pc_thread *t, struct pc_obj *obj)
{
	(void)t;
	(void)obj;
	return PC_INVALID;
}

static int lg_cas_hdr(struct pc_thread *t, struct pc_slab *slab,
		      uint64_t expected, uint64_t desired)
{
	(void)t;
	(void)slab;
	(void)expected;
	(void)desired;
	return PC_INVALID;
}
#define LG_FAST_PATH	false
#endif

/*
 * tcmalloc's CacheCpuSlab: (1) set the cached bit; (2) outside any critical
 * section, find the CPU (cpu_id: cpu_id_start now holds our sentinel) and
 * its slab; (3) commit slab | bit if the bit survived, i.e. if the kernel did
 * not rewrite cpu_id_start in between. Correct only as long as the kernel
 * rewrites cpu_id_start on every preemption, signal, migration and
 * membarrier-rseq IPI.
 */
static int lg_refresh(struct pc_thread *t)
{
	struct pc_cache *c = t->cache;
	const volatile struct vrseq_rseq_area *area = &lg.area;
	struct pc_slab *slab;
	uint32_t cpu;

	if (!lg.registered || !LG_FAST_PATH)
		return PC_INVALID;

	*lg_word() = LG_SENTINEL;				/* (1) */
	__atomic_signal_fence(__ATOMIC_SEQ_CST);

	cpu = area->cpu_id;					/* (2) */
	if (cpu >= c->nr_cpus) {
		lg_uncache(cpu);
		return PC_INVALID;
	}
	if (atomic_load_explicit(&c->stopped[cpu], memory_order_acquire)) {
		lg_uncache(cpu);
		return PC_STOPPED;
	}
	slab = atomic_load_explicit(&c->slabs[cpu], memory_order_acquire);

	if (lg_commit((uint64_t)(uintptr_t)slab | LG_CACHED) != PC_OK) { /* (3) */
		/* Normally the kernel cleared the bit already; make sure. */
		lg_uncache(area->cpu_id);
		return PC_INVALID;
	}
	return PC_OK;
}

static struct pc_slab *lg_cached_slab(void)
{
	uint64_t word = *lg_word();

	if (!(word & LG_CACHED) || word == LG_SENTINEL)
		return NULL;
	return (struct pc_slab *)(uintptr_t)(word & ~LG_CACHED);
}

static int lg_load_hdr(struct pc_thread *t, struct pc_slab **slab,
		       uint64_t *hdr)
{
	struct pc_slab *s = lg_cached_slab();

	(void)t;
	if (!s)
		return PC_INVALID;
	*slab = s;
	*hdr = __atomic_load_n(&s->hdr, __ATOMIC_RELAXED);
	return PC_OK;
}

static struct pc_slab *lg_cached(struct pc_thread *t)
{
	(void)t;
	return lg_cached_slab();
}

/* ------------------------------------------------------------ fences */

static int lg_membarrier(int flags, int cpu)
{
	int ret = lg_membarrier_ready();

	if (ret < 0)
		return ret;
	if (syscall(__NR_membarrier, LG_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ,
		    flags, cpu) < 0)
		return -errno;
	return 0;
}

static int lg_fence_cpu(int cpu)
{
	return lg_membarrier(LG_MEMBARRIER_CMD_FLAG_CPU, cpu);
}

static int lg_fence_all(void)
{
	return lg_membarrier(0, 0);
}

const struct pc_backend pc_backend_legacy = {
	.name = "legacy",
	.has_fast_path = LG_FAST_PATH,
	.thread_init = lg_thread_init,
	.refresh = lg_refresh,
	.pop = lg_pop,
	.push = lg_push,
	.load_hdr = lg_load_hdr,
	.cas_hdr = lg_cas_hdr,
	.cached = lg_cached,
	.fence_cpu = lg_fence_cpu,
	.fence_all = lg_fence_all,
};
