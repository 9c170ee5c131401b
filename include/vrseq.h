/* SPDX-License-Identifier: MIT */
/*
 * vrseq: a virtual cpu_id_start slot for legacy per-CPU code, on top of the
 * thread's one rseq registration, which vrseq only ever reads.
 *
 * THE CONTRACT (also in vrseq(7))
 *
 * A slot (struct vrseq_slot) belongs to the thread that bound it with
 * vrseq_slot_init() or vrseq_thread_slot(). It holds a 64-bit value. A value
 * committed into the slot reads as valid until either
 *   (a) at the time of the read the thread runs on a different CPU than the
 *       one the value was committed for (in VRSEQ_SLOT_MM_CID mode: has a
 *       different concurrency id), or
 *   (b) a vrseq fence covering that CPU (or concurrency id) has run since the
 *       observation the value was committed under.
 * After (a) or (b) a read reports "invalid" and vrseq_slot_cpu_view() returns
 * the current CPU number, which is what a pre-6.19 kernel left in cpu_id_start.
 *
 * What user space cannot see, and this contract therefore does not promise:
 *  - A CPU change is observed when the slot is read. A thread that leaves a CPU
 *    and comes back before its next read finds the slot valid again.
 *  - Preemption and signal delivery on the same CPU do not invalidate a slot.
 *    Code that relied on the kernel clearing a cached bit on every preemption
 *    (load a per-CPU word outside a critical section, store it back inside one
 *    if the bit survived) must use vrseq_slot_cas() instead, which compares
 *    the word and checks the slot inside one critical section.
 *
 * How it works: every CPU (and every concurrency id) has a 64-bit tag in a
 * process-wide array: the id in the low VRSEQ_TAG_ID_BITS bits, a generation
 * above. A commit records the tag of the observation; a read is valid when the
 * tag of the CPU the thread is on now still equals the recorded one. A fence
 * advances the generation of the CPUs it covers, then runs
 * membarrier(PRIVATE_EXPEDITED_RSEQ) on them. Nothing is ever written into
 * another thread's slot, so there is no window in which a remote invalidation
 * can be overwritten by a commit still sitting in a store buffer.
 *
 * Ordering: a fence increments tags with release semantics after everything
 * the fencing thread wrote before it; vrseq_slot_observe() loads with acquire.
 * So whatever the fencer wrote before the fence (a "CPU stopped" flag, a new
 * slab) is visible to any thread whose later read or commit succeeds: it can
 * only succeed under an observation taken after the fence.
 *
 * Which operations need a critical section: vrseq_slot_commit() and
 * vrseq_slot_cas() run their own and are atomic with respect to migration,
 * preemption, signals and fences. vrseq_slot_load()/vrseq_slot_valid() are
 * snapshots: the answer can be stale by the next instruction. To act on a
 * cached value (pop from the slab it points to), load and validate it inside
 * your own critical section -- the building blocks in <vrseq/arch/...> do that.
 * Then a migration or fence between the check and your commit aborts the
 * section, so the fence's guarantee holds: after vrseq_fence_cpu(c) returns,
 * no thread is still using a value it validated for c before the fence.
 *
 * Everything static inline here is async-signal-safe: no syscall, no lock, no
 * atomic read-modify-write (a fallback slot's observe and current id call
 * vrseq_slot_fallback_id(), which may make a system call, still without a
 * lock). A signal handler may use a slot its thread owns; a commit
 * interrupted by the handler is aborted and retried.
 */
#ifndef VRSEQ_H
#define VRSEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vrseq/abi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The library is built with -fvisibility=hidden; only these are exported. */
#ifdef VRSEQ_BUILDING
# define VRSEQ_API extern __attribute__((visibility("default")))
#else
# define VRSEQ_API extern
#endif

/*
 * How the inline functions below are defined. libvrseq-ffi (src/ffi.c)
 * defines VRSEQ_INLINE before including this header, which makes each of
 * them an exported function of the same name, for languages that cannot
 * inline C. Everyone else gets static inline.
 */
#ifndef VRSEQ_INLINE
# define VRSEQ_INLINE static inline
#endif

/* The version of these headers; vrseq_version_major() and friends give the
 * running library's (0.4.0+). tests/test-version.sh checks that these, the
 * map, the libtool version, NEWS and configure.ac agree. */
#define VRSEQ_VERSION_MAJOR	0
#define VRSEQ_VERSION_MINOR	4
#define VRSEQ_VERSION_MICRO	0
/* True when these headers are at least major.minor.micro. */
#define VRSEQ_VERSION_AT_LEAST(major, minor, micro)			\
	((VRSEQ_VERSION_MAJOR << 16 | VRSEQ_VERSION_MINOR << 8 |		\
	  VRSEQ_VERSION_MICRO) >= ((major) << 16 | (minor) << 8 | (micro)))

/*
 * Tag layout: the id in the low VRSEQ_TAG_ID_BITS bits (Linux caps NR_CPUS
 * far below 2^20), a generation in the 44 bits above. Generation 0 is never
 * live: the "nothing stored" tag 0 and the tokens of fallback slots have it.
 * Live tags start at generation 1 and only grow. A fence that would advance
 * an id past the last live generation retires it instead (the all-ones
 * generation): a retired id's slots never read valid and commits under it
 * are refused, so no tag ever comes back. That takes 2^44 - 2 fences of one
 * id (about 140 days of nothing but fencing one CPU at the 1.4 M fences/s
 * one thread manages here); the id then runs uncached, still correct.
 */
#define VRSEQ_TAG_ID_BITS	20
#define VRSEQ_TAG_ID_MASK	((UINT64_C(1) << VRSEQ_TAG_ID_BITS) - 1)
#define VRSEQ_TAG_GEN_ONE	(UINT64_C(1) << VRSEQ_TAG_ID_BITS)
#define VRSEQ_TAG_GEN_MASK	(~VRSEQ_TAG_ID_MASK)

/* An observation: the tag a later commit must still find. */
typedef uint64_t vrseq_token_t;

/* Slot modes, for vrseq_slot_init(). */
#define VRSEQ_SLOT_CPU		0u	/* validate against the CPU number */
#define VRSEQ_SLOT_MM_CID	1u	/* validate against the mm concurrency id */

/* Slot flags, read-only for users. */
#define VRSEQ_SLOT_F_BOUND	1u	/* bound to a thread */
#define VRSEQ_SLOT_F_FALLBACK	2u	/* no usable rseq: never valid */
#define VRSEQ_SLOT_F_MM_CID	4u

/*
 * 64 bytes, fixed for the life of the soname. Treat as opaque: the layout is
 * here only so that the fast paths can be inlined. The first two fields are
 * what a commit writes; the pointers are set once by vrseq_slot_init().
 */
struct vrseq_slot {
	uint64_t value;			/* 0: committed value */
	uint64_t tag;			/* 8: tag it was committed under; 0 = none */
	const volatile uint32_t *id;	/* 16: cpu_id_start or mm_cid of the area */
	const uint64_t *tags;		/* 24: tags validated against */
	const uint64_t *observe_tags;	/* 32: tags observed (differs only in fallback) */
	struct vrseq_rseq_area *area;	/* 40: where critical sections set rseq_cs */
	uint32_t flags;			/* 48 */
	uint32_t reserved0;
	uint64_t reserved1;
} __attribute__((aligned(64)));

/* The promise above; the offsets the inline asm uses are checked in
 * <vrseq/arch/sections.h> (64-bit architectures with sections). */
VRSEQ_STATIC_ASSERT(sizeof(struct vrseq_slot) == 64 &&
		    __alignof__(struct vrseq_slot) == 64,
		    "struct vrseq_slot is 64 bytes, 64-aligned");

/* Results of vrseq_slot_commit() and vrseq_slot_cas(). */
#define VRSEQ_COMMITTED		0
#define VRSEQ_INVALIDATED	1	/* CPU/cid changed or a fence ran: retry */
#define VRSEQ_CHANGED		2	/* vrseq_slot_cas(): the word differed */
#define VRSEQ_ABORTED		3	/* internal: the section was aborted */
/*
 * 0.4.0+: the slot cannot hold a valid value and retrying will not change
 * that -- a fallback or unbound slot, or an id whose generations are used
 * up. Take the uncached path. (Older headers returned VRSEQ_INVALIDATED.)
 */
#define VRSEQ_UNCACHED		4

/*
 * A slot that is safe before binding (0.4.0+): every read is invalid, every
 * commit and compare-and-store returns VRSEQ_UNCACHED, the building blocks'
 * check fails, and it writes nothing shared. For an allocator whose fast path
 * can run before it knows whether the thread is bound:
 *	static __thread struct vrseq_slot slot = VRSEQ_SLOT_UNBOUND;
 * then vrseq_slot_init(&slot, mode) once. The objects it points to are
 * private to each translation unit.
 */
static const uint32_t vrseq_unbound_index__ __attribute__((unused)) = 0;
static const uint64_t vrseq_unbound_tag__ __attribute__((unused)) = ~(uint64_t)0;
/* Where the building blocks store rseq_cs for an unbound slot: never
 * registered, so the kernel never looks at it. */
static struct vrseq_rseq_area vrseq_unbound_area__ __attribute__((unused));
#define VRSEQ_SLOT_UNBOUND {						\
	0, 0, &vrseq_unbound_index__, &vrseq_unbound_tag__,		\
	&vrseq_unbound_tag__, &vrseq_unbound_area__,			\
	VRSEQ_SLOT_F_FALLBACK, 0, 0 }

/* Who owns the calling thread's rseq registration. */
enum vrseq_owner {
	VRSEQ_OWNER_NONE = 0,	/* no rseq: ENOSYS, seccomp, valgrind */
	VRSEQ_OWNER_GLIBC = 1,	/* glibc's (__rseq_offset/__rseq_size) */
	VRSEQ_OWNER_VRSEQ = 2,	/* vrseq registered its own */
	VRSEQ_OWNER_FOREIGN = 3,/* someone else's, not shared with us */
};

/* How fences reach other CPUs. */
enum vrseq_fence_method {
	VRSEQ_FENCE_NONE = 0,		/* no rseq anywhere: nothing to abort */
	VRSEQ_FENCE_MEMBARRIER = 1,	/* membarrier(PRIVATE_EXPEDITED_RSEQ) */
	VRSEQ_FENCE_AFFINITY = 2,	/* run on each CPU in turn (slow) */
};

/* Why slots on this thread never read valid (vrseq_info.fallback). */
enum vrseq_fallback {
	VRSEQ_FALLBACK_NONE = 0,	/* slots work */
	VRSEQ_FALLBACK_NO_RSEQ = 1,	/* ENOSYS/seccomp/valgrind, or glibc's failed */
	VRSEQ_FALLBACK_FOREIGN = 2,	/* another library owns the registration */
	VRSEQ_FALLBACK_KERNEL = 3,	/* critical sections not aborted reliably:
					 * arm64 6.19-7.0.13 (VRSEQ_TRUST_KERNEL=1
					 * overrides) */
	VRSEQ_FALLBACK_ARCH = 4,	/* no critical sections for this
					 * architecture: VRSEQ_HAVE_CS is 0 (0.4.0+) */
	VRSEQ_FALLBACK_OWN_FORBIDDEN = 5,/* libc registered nothing and vrseq
					 * may not register its own:
					 * VRSEQ_OWN_REGISTRATION=0 or
					 * vrseq_set_own_registration(0) (0.4.0+) */
};

struct vrseq_info {
	uint32_t size;			/* set by vrseq_get_info() */
	int32_t owner;			/* enum vrseq_owner, calling thread */
	uint32_t registered_len;	/* bytes registered (0 if none) */
	uint32_t feature_size;		/* AT_RSEQ_FEATURE_SIZE or 20 */
	uint32_t feature_align;		/* AT_RSEQ_ALIGN or 32 */
	int32_t register_errno;		/* why vrseq could not register, or 0 */
	uint8_t node_id_usable;
	uint8_t mm_cid_usable;
	uint8_t membarrier_rseq;	/* PRIVATE_EXPEDITED_RSEQ available */
	uint8_t membarrier_rseq_cpu;	/* ... with MEMBARRIER_CMD_FLAG_CPU */
	int32_t fence_method;		/* enum vrseq_fence_method */
	uint32_t nr_ids;		/* CPU ids (and cids) the tag arrays cover */
	uint32_t guarantee;		/* 1 when slots can be valid on this thread */
	uint32_t fallback;		/* enum vrseq_fallback: why not (0.4.0+) */
	uint32_t own_registration;	/* 1 vrseq may register its own area where
					 * libc has none, 0 forbidden (0.4.0+) */
};

/* Process set-up. Called lazily by every function below; calling it first
 * lets you see errors early. Allocates nothing and takes no lock (a malloc
 * may call it). 0 or -errno (-EDEADLK from a signal handler that interrupted
 * its own thread's set-up). */
VRSEQ_API int vrseq_init(void);

/*
 * 0.4.0+: whether vrseq may register an area of its own in threads where
 * libc registered none (glibc.pthread.rseq=0, static or old libcs). A thread
 * has one registration: if vrseq takes it, a library that registers later in
 * that thread fails; forbidden, vrseq's slots there are in fallback
 * (VRSEQ_FALLBACK_OWN_FORBIDDEN) and the registration is left to others.
 * Forbidden when VRSEQ_OWN_REGISTRATION=0 is in the environment or after
 * vrseq_set_own_registration(0); allow = 1 only undoes the call's own
 * forbid. Applies to threads that bind afterwards (a thread binds at its
 * first vrseq call). 0, -EINVAL for allow not 0 or 1, or -EBUSY when
 * forbidding after vrseq already registered its own area in some thread
 * (the setting is made; such threads keep their area until they exit).
 */
VRSEQ_API int vrseq_set_own_registration(int allow);

/* Fill *info (at most `size` bytes) for the calling thread. 0 or -errno. */
VRSEQ_API int vrseq_get_info(struct vrseq_info *info, size_t size);
VRSEQ_API const char *vrseq_owner_name(int owner);
VRSEQ_API const char *vrseq_fence_method_name(int method);
VRSEQ_API const char *vrseq_fallback_name(int fallback);

/*
 * 0.4.0+: the running library's version ("0.4.0"), its parts, and whether it
 * is at least major.minor.micro -- which a program built against newer
 * headers than the library it runs with can ask before using what the
 * newer release added (symbol versioning already refuses a missing
 * function; this answers for behaviour and struct sizes).
 */
VRSEQ_API const char *vrseq_version(void);
VRSEQ_API int vrseq_version_major(void);
VRSEQ_API int vrseq_version_minor(void);
VRSEQ_API int vrseq_version_micro(void);
VRSEQ_API bool vrseq_check_version(int major, int minor, int micro);

/*
 * Bind `slot` to the calling thread. mode is VRSEQ_SLOT_CPU or
 * VRSEQ_SLOT_MM_CID. Returns 0 when the slot can hold valid values, 1 when it
 * is bound in fallback mode (no usable rseq on this thread: every read is
 * invalid, every commit fails, which keeps legacy code correct but uncached),
 * -EINVAL for a bad mode, -EOPNOTSUPP for MM_CID on a kernel without mm_cid.
 * The slot must not be used by another thread, nor outlive libvrseq.
 */
VRSEQ_API int vrseq_slot_init(struct vrseq_slot *slot, unsigned int mode);

/* The calling thread's own CPU-mode slot, bound on first use. Never NULL. */
VRSEQ_API struct vrseq_slot *vrseq_thread_slot(void);

/*
 * The calling thread's own VRSEQ_SLOT_MM_CID slot (0.4.0+), bound on first
 * use, for vCPU-style caches. Never NULL: where concurrency ids do not
 * exist (before 6.3) or rseq is unusable it is a fallback slot.
 */
VRSEQ_API struct vrseq_slot *vrseq_thread_slot_mm_cid(void);

/*
 * Fences. After vrseq_fence_cpu(cpu) returns 0, every critical section that
 * was running on `cpu` has completed or been aborted, and no thread (the caller
 * included, wherever it runs) reads as valid a value committed for `cpu` under
 * an observation taken before the fence. vrseq_fence_all() covers every CPU;
 * vrseq_fence_mm_cid() one concurrency id (it must interrupt every CPU).
 *
 * Cost: one tag increment per covered id plus one membarrier system call,
 * which interrupts only the covered CPUs that are running this process's
 * threads. It does not grow with the number of threads and takes no lock
 * shared with the fast paths. Without membarrier-rseq the fence pins the
 * caller to each covered CPU in turn: one migration per CPU (milliseconds).
 * Returns 0, -EINVAL for an id out of range, or -errno from the kernel.
 */
VRSEQ_API int vrseq_fence_cpu(int cpu);
VRSEQ_API int vrseq_fence_mm_cid(int cid);
VRSEQ_API int vrseq_fence_all(void);

/* Out-of-line current CPU, for fallback slots and callers without rseq. */
VRSEQ_API int vrseq_current_cpu(void);

/*
 * The id the calling thread is on now, for a fallback slot (0.4.0+): the CPU,
 * or in VRSEQ_SLOT_MM_CID mode the concurrency id where the thread has a
 * kernel-maintained area, else the CPU standing in for it. Slow (a system
 * call without rseq); vrseq_slot_current_id() and vrseq_slot_observe() call
 * it for fallback slots only.
 */
VRSEQ_API uint32_t vrseq_slot_fallback_id(const struct vrseq_slot *slot);

/* ------------------------------------------------------------------------
 * Kernel probe (VRSEQ_1.1): what the running kernel does, measured rather
 * than guessed from the version string.
 */

/* Answers of a probe experiment. */
#define VRSEQ_PROBE_UNKNOWN	0	/* could not be run (see vrseq_kernel) */
#define VRSEQ_PROBE_YES		1
#define VRSEQ_PROBE_NO		2
#define VRSEQ_PROBE_KILLED	3	/* the experiment's process was killed */

/* What a registration of the full feature size gets (7.0+ kernels). */
enum vrseq_v2 {
	VRSEQ_V2_UNKNOWN = 0,
	VRSEQ_V2_NONE = 1,	/* feature size <= 32: no such registration */
	VRSEQ_V2_LENIENT = 2,	/* accepted; a write to cpu_id_start survives */
	VRSEQ_V2_STRICT = 3,	/* accepted; a write to cpu_id_start is fatal */
};

struct vrseq_kernel {
	uint32_t size;			/* set by vrseq_probe_kernel() */
	uint8_t rseq;			/* the rseq system call exists */
	uint8_t membarrier_rseq;	/* MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ */
	/* A 32-byte registration gets cpu_id_start rewritten on signal
	 * delivery (VRSEQ_PROBE_*): what tcmalloc-style code relies on. */
	uint8_t legacy_rewrite;
	uint8_t v2;			/* enum vrseq_v2 */
	uint32_t feature_size;		/* AT_RSEQ_FEATURE_SIZE, or 20 */
	uint32_t feature_align;		/* AT_RSEQ_ALIGN, or 32 */
	int32_t debug_mode;		/* rseq/debug in debugfs: 1, 0, -1 unknown */
	uint8_t legacy_safe;		/* legacy self-registering code is safe */
	/* Critical sections are aborted on preemption, signals and
	 * membarrier-rseq, measured (0.4.0+; the cs_abort_* fields below):
	 * VRSEQ_PROBE_NO when any of the three let a section commit, else
	 * VRSEQ_PROBE_KILLED when one had the process killed instead (rseq
	 * debug mode on arm64 7.0.13), VRSEQ_PROBE_YES when every one
	 * measured aborted every section it hit, VRSEQ_PROBE_UNKNOWN when
	 * none could be measured. */
	uint8_t cs_abort;
	uint8_t reserved[2];
	/* 0.4.0+ (size >= 44): cs_abort by cause, VRSEQ_PROBE_* each: a
	 * signal delivered to the section's thread, a preemption by a thread
	 * on its CPU, a membarrier-rseq IPI to its CPU from another one. */
	uint8_t cs_abort_signal;
	uint8_t cs_abort_preempt;
	uint8_t cs_abort_membarrier;
	/* What the release-string gate assumes (VRSEQ_PROBE_NO on arm64
	 * 6.19-7.0.13, else VRSEQ_PROBE_YES), whatever VRSEQ_TRUST_KERNEL
	 * says: where it differs from cs_abort, the gate is wrong here. */
	uint8_t cs_abort_release;
	uint16_t cs_hits_signal;	/* sections the event hit, */
	uint16_t cs_hits_preempt;
	uint16_t cs_hits_membarrier;
	uint16_t cs_committed_signal;	/* and of those, sections that */
	uint16_t cs_committed_preempt;	/* committed all the same */
	uint16_t cs_committed_membarrier;
	uint32_t cs_abort_usec;		/* the experiment's wall time */
};

/*
 * Probe the kernel. The rewrite and V2 experiments write cpu_id_start of a
 * private registration in short-lived forked children (the one thing vrseq
 * itself never does); the calling process writes nothing. Costs two fork()s
 * and a few milliseconds; call it explicitly, never on a fast path. In a
 * thread whose registration belongs to a foreign library the experiments
 * report VRSEQ_PROBE_UNKNOWN. 0 or -errno.
 */
VRSEQ_API int vrseq_probe_kernel(struct vrseq_kernel *kernel, size_t size);
VRSEQ_API const char *vrseq_probe_name(int answer);
VRSEQ_API const char *vrseq_v2_name(int v2);

/* ------------------------------------------------------------------------
 * Fast paths: static inline, no syscall, no lock, no atomic RMW.
 */

#define VRSEQ_LOAD_ONCE(x)	__atomic_load_n(&(x), __ATOMIC_RELAXED)

/* The id (CPU or cid) the calling thread is on now, as the slot sees it. */
VRSEQ_INLINE uint32_t vrseq_slot_current_id(const struct vrseq_slot *slot)
{
	if (__builtin_expect(slot->flags & VRSEQ_SLOT_F_FALLBACK, 0))
		return vrseq_slot_fallback_id(slot);
	return *slot->id;
}

/*
 * Observe: the token a later vrseq_slot_commit() must still find. A
 * fallback slot's token carries the real id and generation 0, which no
 * commit accepts.
 */
VRSEQ_INLINE vrseq_token_t vrseq_slot_observe(const struct vrseq_slot *slot)
{
	uint32_t id;

	if (__builtin_expect(slot->flags & VRSEQ_SLOT_F_FALLBACK, 0))
		return vrseq_slot_fallback_id(slot) & VRSEQ_TAG_ID_MASK;
	id = *slot->id;
	return __atomic_load_n(&slot->observe_tags[id], __ATOMIC_ACQUIRE);
}

/* The CPU (or cid) an observation was taken on. */
VRSEQ_INLINE uint32_t vrseq_token_id(vrseq_token_t token)
{
	return (uint32_t)(token & VRSEQ_TAG_ID_MASK);
}

/*
 * True while the committed value is valid (see the contract above). The
 * tag and value are only ever written by this thread (or its signal
 * handlers, inside critical sections that end with a compiler barrier), so
 * plain loads suffice and let the compare take a memory operand; the tag
 * array is shared and read atomically.
 */
VRSEQ_INLINE bool vrseq_slot_valid(const struct vrseq_slot *slot)
{
	uint32_t id = *slot->id;

	return VRSEQ_LOAD_ONCE(slot->tags[id]) == slot->tag;
}

/* Store the value in *value and return true if it is valid. */
VRSEQ_INLINE bool vrseq_slot_load(const struct vrseq_slot *slot,
				   uint64_t *value)
{
	uint32_t id = *slot->id;

	if (__builtin_expect(VRSEQ_LOAD_ONCE(slot->tags[id]) != slot->tag, 0))
		return false;
	*value = slot->value;
	return true;
}

/*
 * False when the slot can never hold a valid value (fallback or unbound):
 * no retry can help, use the uncached path. Cheap: one flag test.
 */
VRSEQ_INLINE bool vrseq_slot_usable(const struct vrseq_slot *slot)
{
	return !(slot->flags & VRSEQ_SLOT_F_FALLBACK);
}

/* Forget the value (only this thread's view; no fence). */
VRSEQ_INLINE void vrseq_slot_clear(struct vrseq_slot *slot)
{
	__atomic_store_n(&slot->tag, 0, __ATOMIC_RELAXED);
}

#if defined(__x86_64__)
# include <vrseq/arch/x86_64.h>
#elif defined(__aarch64__)
# include <vrseq/arch/aarch64.h>
#else
/* Fallback only (0.4.0+): see <vrseq/arch/generic.h>; VRSEQ_HAVE_CS 0. */
# include <vrseq/arch/generic.h>
#endif

/*
 * Commit `value` if nothing invalidated the slot since `token` was observed:
 * the thread is still on the token's CPU (cid) and no fence covering it ran.
 * Returns VRSEQ_COMMITTED, VRSEQ_INVALIDATED (then nothing is valid: observe
 * again and retry) or VRSEQ_UNCACHED (nothing will ever be valid here: a
 * fallback or unbound slot, or a retired id; do not retry).
 * The legacy protocol becomes: token = observe(); compute the value for
 * vrseq_token_id(token) outside any critical section; commit(token, value).
 */
VRSEQ_INLINE int vrseq_slot_commit(struct vrseq_slot *slot,
				    vrseq_token_t token, uint64_t value)
{
	int ret;

	/* An abort between the value and tag stores must leave nothing valid. */
	vrseq_slot_clear(slot);
	/* Generation 0 (fallback, unbound) and retired ids never take one. */
	if (__builtin_expect((token & VRSEQ_TAG_GEN_MASK) - VRSEQ_TAG_GEN_ONE >=
			     VRSEQ_TAG_GEN_MASK - VRSEQ_TAG_GEN_ONE ||
			     !vrseq_slot_usable(slot), 0))
		return VRSEQ_UNCACHED;
	/* Cleared again after every abort: a signal handler's commit in
	 * between may have left its own tag, which an aborted attempt's value
	 * store would pair with our value (tests/model/vrseq-slot.pml). */
	while ((ret = vrseq_arch_commit(slot, token, value)) == VRSEQ_ABORTED)
		vrseq_slot_clear(slot);
	return ret;
}

/* Commit `value` under an observation taken now. */
VRSEQ_INLINE int vrseq_slot_store(struct vrseq_slot *slot, uint64_t value)
{
	return vrseq_slot_commit(slot, vrseq_slot_observe(slot), value);
}

/*
 * Inside one critical section: if the slot is valid and *word == expected,
 * store desired into *word. Returns VRSEQ_COMMITTED, VRSEQ_INVALIDATED,
 * VRSEQ_CHANGED or VRSEQ_UNCACHED (a slot that is not usable). This replaces "load a per-CPU header outside a critical
 * section, store it back inside one if the cached bit survived".
 */
VRSEQ_INLINE int vrseq_slot_cas(const struct vrseq_slot *slot, uint64_t *word,
				 uint64_t expected, uint64_t desired)
{
	int ret;

	if (__builtin_expect(!vrseq_slot_usable(slot), 0))
		return VRSEQ_UNCACHED;
	do
		ret = vrseq_arch_cas(slot, word, expected, desired);
	while (ret == VRSEQ_ABORTED);
	return ret;
}

/*
 * 0.4.0+: vrseq_slot_cas() on a 32-bit word (a tcmalloc-style slab header):
 * only those 32 bits are compared and stored, so a neighbouring header in
 * the same 64-bit word can neither make it fail nor be overwritten. Same
 * results.
 */
VRSEQ_INLINE int vrseq_slot_cas32(const struct vrseq_slot *slot,
				   uint32_t *word, uint32_t expected,
				   uint32_t desired)
{
	int ret;

	if (__builtin_expect(!vrseq_slot_usable(slot), 0))
		return VRSEQ_UNCACHED;
	do
		ret = vrseq_arch_cas32(slot, word, expected, desired);
	while (ret == VRSEQ_ABORTED);
	return ret;
}

/* 0.4.0+: vrseq_slot_cas() on a pointer-sized word. Same results. */
VRSEQ_INLINE int vrseq_slot_cas_ptr(const struct vrseq_slot *slot,
				     void **word, void *expected, void *desired)
{
	int ret;

	if (__builtin_expect(!vrseq_slot_usable(slot), 0))
		return VRSEQ_UNCACHED;
	do
#if UINTPTR_MAX == UINT64_MAX
		ret = vrseq_arch_cas(slot, (uint64_t *)(void *)word,
				     (uint64_t)(uintptr_t)expected,
				     (uint64_t)(uintptr_t)desired);
#elif UINTPTR_MAX == UINT32_MAX
		ret = vrseq_arch_cas32(slot, (uint32_t *)(void *)word,
				       (uint32_t)(uintptr_t)expected,
				       (uint32_t)(uintptr_t)desired);
#else
# error "vrseq: vrseq_slot_cas_ptr() needs 32- or 64-bit pointers"
#endif
	while (ret == VRSEQ_ABORTED);
	return ret;
}

/*
 * 0.4.0+: vrseq_slot_cas() that also requires the slot's committed value to
 * equal `value` -- the one the caller computed `expected` and `desired` with
 * (the slab the header belongs to) -- checked in the same critical section.
 * A valid slot that holds another value returns VRSEQ_INVALIDATED: the
 * caller's computation is stale; load the slot again and recompute.
 */
VRSEQ_INLINE int vrseq_slot_cas_value(const struct vrseq_slot *slot,
				       uint64_t value, uint64_t *word,
				       uint64_t expected, uint64_t desired)
{
	int ret;

	if (__builtin_expect(!vrseq_slot_usable(slot), 0))
		return VRSEQ_UNCACHED;
	do
		ret = vrseq_arch_cas_value(slot, value, word, expected, desired);
	while (ret == VRSEQ_ABORTED);
	return ret;
}

/* 0.4.0+: vrseq_slot_cas_value() on a 32-bit word. */
VRSEQ_INLINE int vrseq_slot_cas32_value(const struct vrseq_slot *slot,
					 uint64_t value, uint32_t *word,
					 uint32_t expected, uint32_t desired)
{
	int ret;

	if (__builtin_expect(!vrseq_slot_usable(slot), 0))
		return VRSEQ_UNCACHED;
	do
		ret = vrseq_arch_cas32_value(slot, value, word, expected,
					     desired);
	while (ret == VRSEQ_ABORTED);
	return ret;
}

/*
 * Legacy 32-bit view of cpu_id_start: the low 32 bits of the value while it
 * is valid, otherwise the current CPU number (cid in MM_CID mode).
 */
VRSEQ_INLINE uint32_t vrseq_slot_cpu_view(const struct vrseq_slot *slot)
{
	uint64_t value;

	if (vrseq_slot_load(slot, &value))
		return (uint32_t)value;
	return vrseq_slot_current_id(slot);
}

#ifdef __cplusplus
}
#endif

#endif /* VRSEQ_H */
