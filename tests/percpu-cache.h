/* SPDX-License-Identifier: MIT */
/*
 * A tcmalloc-style per-CPU object cache, used as a test fixture.
 *
 * A fixed pool of objects circulates between a mutex-protected global list,
 * per-CPU slabs and the hands of worker threads. Each thread caches "the slab
 * of the CPU I am on" and pops/pushes with one restartable critical section.
 * A resizer stops a CPU, fences it, drains its slab into the global list and
 * publishes a new slab; the old one is poisoned and kept, so any later use of
 * a stale cached pointer shows up in the audit.
 *
 * Everything that depends on how the slab pointer is cached -- binding,
 * refreshing the cache, the push/pop critical sections, the grow
 * compare-and-store, the fence -- is a backend (struct pc_backend). The slabs,
 * global list, resizer, signal work and audit are shared, so a second backend
 * (the legacy cpu_id_start bit) can reuse the whole stress run.
 */
#ifndef VRSEQ_TEST_PERCPU_CACHE_H
#define VRSEQ_TEST_PERCPU_CACHE_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vrseq.h>

#define PC_MAXCAP	64	/* items per slab, upper bound of capacity */
#define PC_STASH	8	/* objects a signal handler may park */
#define PC_MAX_CPUS	64	/* CPUs the resizer and migrations use */

/* Results of backend operations and of the fixture helpers. */
enum pc_rc {
	PC_OK = 0,
	PC_INVALID,	/* no valid cached slab (or no critical sections) */
	PC_EMPTY,	/* pop: count == 0 */
	PC_FULL,	/* push: count == capacity; grow: capacity at max */
	PC_CHANGED,	/* grow: the header changed under us */
	PC_STOPPED,	/* refresh: the CPU is stopped, use the global list */
};

struct pc_obj {
	_Atomic(int) held;	/* 1 while a thread (or handler) holds it */
	int id;			/* index in the pool; -1 for the poison object */
};

/*
 * hdr = (capacity << 32) | count. The critical sections address hdr at
 * offset 0 and items at offset 8; the rest is bookkeeping.
 */
struct pc_slab {
	uint64_t hdr;
	struct pc_obj *items[PC_MAXCAP];
	uint32_t cpu;
	uint32_t dead;		/* drained and poisoned */
	uint64_t serial;
} __attribute__((aligned(64)));

#define PC_HDR(cap, count)	(((uint64_t)(cap) << 32) | (uint32_t)(count))
#define PC_HDR_CAP(h)		((uint32_t)((h) >> 32))
#define PC_HDR_COUNT(h)		((uint32_t)(h))
/*
 * A retired slab: every item points at the poison object and the header says
 * "half full", so a stale pop hands out the poison object and a stale push
 * changes the header. Either is caught.
 */
#define PC_POISON_HDR		PC_HDR(PC_MAXCAP, PC_MAXCAP / 2)

extern struct pc_obj pc_poison_obj;

/* Counters a thread updates from normal context. */
struct pc_stats {
	uint64_t loops;
	uint64_t fast_pops, fast_pushes;
	uint64_t pop_empty, push_full;
	uint64_t fast_invalid;		/* fast path found no valid slab */
	uint64_t refresh_ok;		/* slot commits that succeeded */
	uint64_t refresh_invalid;	/* slot commits that failed */
	uint64_t refresh_stopped;	/* CPU stopped: global list this time */
	uint64_t refills;
	uint64_t global_pops, global_pushes, global_empty;
	uint64_t grow_ok, grow_changed, grow_invalid, grow_max;
	uint64_t grow_yields;		/* widened the load/store window */
	uint64_t hops, migrations, yields;
	uint64_t stash_drained;
	uint64_t duplicates;		/* took an object that was held */
	uint64_t corruption;		/* released an object that was not held */
	uint64_t stale_pops;		/* popped the poison object */
	uint64_t bad_pointers;		/* popped something outside the pool */
	uint64_t aborts;		/* critical sections restarted */
};

/* Counters only the signal handler updates. */
struct pc_sig_stats {
	uint64_t handled;
	uint64_t pops, pushes, stashed, empty, invalid, stash_full;
	uint64_t duplicates, corruption, stale_pops, bad_pointers;
	uint64_t aborts;
};

struct pc_cache;

/* One per thread that uses the cache; bound in that thread. */
struct pc_thread {
	struct vrseq_slot slot;		/* vrseq backend */
	uint64_t backend_priv[4];	/* for other backends */
	struct pc_cache *cache;
	volatile sig_atomic_t ready;	/* handler may use it */
	volatile sig_atomic_t in_signal;
	struct pc_obj *volatile stash[PC_STASH];
	volatile sig_atomic_t nstash;
	int bind_result;		/* backend thread_init() */
	uint64_t rng;
	struct pc_stats st;
	struct pc_sig_stats sst;
};

/*
 * The per-CPU caching mechanism. pop/push/cached are async-signal-safe and
 * work only on the calling thread's own state.
 */
struct pc_backend {
	const char *name;
	bool has_fast_path;	/* critical sections exist for this arch */
	/* Bind in the calling thread: 0 cacheable, 1 fallback, < 0 error. */
	int (*thread_init)(struct pc_thread *t);
	/* Cache the slab of the current CPU: PC_OK, PC_INVALID, PC_STOPPED. */
	int (*refresh)(struct pc_thread *t);
	/* One critical section each: PC_OK, PC_INVALID, PC_EMPTY/PC_FULL. */
	int (*pop)(struct pc_thread *t, struct pc_obj **out);
	int (*push)(struct pc_thread *t, struct pc_obj *obj);
	/*
	 * Growing a slab is "load the header outside any critical section,
	 * store it back inside one if nothing changed": load_hdr() reads the
	 * cached slab's header (PC_OK or PC_INVALID); cas_hdr() stores
	 * `desired` if the header still equals `expected` and the cache is
	 * still valid (PC_OK, PC_CHANGED or PC_INVALID).
	 */
	int (*load_hdr)(struct pc_thread *t, struct pc_slab **slab,
			uint64_t *hdr);
	int (*cas_hdr)(struct pc_thread *t, struct pc_slab *slab,
		       uint64_t expected, uint64_t desired);
	/* The cached slab if it is valid now (a snapshot), else NULL. */
	struct pc_slab *(*cached)(struct pc_thread *t);
	/* After it returns 0 no thread uses a slab it cached for cpu before. */
	int (*fence_cpu)(int cpu);
	int (*fence_all)(void);
};

extern const struct pc_backend pc_backend_vrseq;
/*
 * tests/percpu-legacy.c: what tcmalloc does, the cached bit overlaid on the
 * kernel-owned cpu_id_start of the thread's own 32-byte registration. Correct
 * only on kernels that rewrite cpu_id_start on every preemption (not on 6.19
 * or 7.0 before 7.0.10). Needs GLIBC_TUNABLES=glibc.pthread.rseq=0.
 */
extern const struct pc_backend pc_backend_legacy;
/* Register membarrier-rseq and the calling thread's legacy area: 0 or -errno
 * (-EINVAL/-EBUSY: another area, usually glibc's, is registered). */
int pc_legacy_probe(void);

struct pc_cache {
	const struct pc_backend *backend;
	unsigned int nr_cpus;			/* ids the slab array covers */
	int cpus[PC_MAX_CPUS];			/* CPUs we may run on */
	int ncpus;
	_Atomic(struct pc_slab *) *slabs;	/* current slab per CPU */
	_Atomic(int) *stopped;			/* per CPU */
	struct pc_obj *objs;
	unsigned int nobjs;
	/* global list */
	pthread_mutex_t lock;
	struct pc_obj **global;
	unsigned int nglobal;
	uint64_t global_overflow;		/* more objects than the pool */
	/* resizing: one resizer at a time */
	pthread_mutex_t resize_lock;
	struct pc_slab **grave;			/* ring of retired slabs */
	unsigned int grave_head, grave_count;
	uint64_t serial;
	uint64_t resizes, resize_alls, fences, fence_errors;
	uint64_t drained;			/* objects moved slab -> global */
	uint64_t poison_broken;			/* found when recycling */
	uint64_t recycled;
};

/* Resize flags, for the deterministic test. */
#define PC_RESIZE_NO_FENCE	1u	/* skip the fence (a broken resizer) */
#define PC_RESIZE_KEEP_OLD	2u	/* hand the old slab back, untouched */

int pc_cache_init(struct pc_cache *c, const struct pc_backend *b,
		  unsigned int nobjs);
void pc_cache_destroy(struct pc_cache *c);
/* In the thread that will use it. Returns the backend's thread_init(). */
int pc_thread_attach(struct pc_cache *c, struct pc_thread *t, uint64_t seed);
/* Block the signal, give parked objects back. */
void pc_thread_detach(struct pc_thread *t);

/* Allocation API: fast path, refresh, global list. NULL if none left. */
struct pc_obj *pc_alloc(struct pc_thread *t);
void pc_free(struct pc_thread *t, struct pc_obj *obj);
/* Mark held / not held, counting duplicates and corruption in t->st. */
void pc_hold(struct pc_thread *t, struct pc_obj *obj);
void pc_release(struct pc_thread *t, struct pc_obj *obj);
/* Push back what the signal handler parked (normal context). */
void pc_drain_stash(struct pc_thread *t);
/* Signal-handler body: fast pop, check, fast push or park. */
void pc_signal_work(struct pc_thread *t);

struct pc_obj *pc_global_pop(struct pc_cache *c);
void pc_global_push(struct pc_cache *c, struct pc_obj *obj);

/* Stop, fence, drain, replace, restart. 0 or the fence's -errno. */
int pc_resize_cpu(struct pc_cache *c, int cpu, unsigned int flags,
		  struct pc_slab **old);
int pc_resize_all(struct pc_cache *c);
/* Drain a slab nobody can use any more, poison it, keep it. */
void pc_retire_slab(struct pc_cache *c, struct pc_slab *s);
bool pc_slab_poison_intact(const struct pc_slab *s);
struct pc_slab *pc_current_slab(struct pc_cache *c, int cpu);

struct pc_audit {
	uint64_t in_slabs, in_global;
	uint64_t duplicates;		/* objects found more than once */
	uint64_t lost;			/* objects found nowhere */
	uint64_t held_at_end;
	uint64_t bad_entries;		/* slab entries outside the pool */
	uint64_t bad_headers;		/* count > capacity or capacity > max */
	uint64_t dead_slabs;
	uint64_t poison_broken;		/* retired slabs written after retiring */
	uint64_t global_overflow;
};

/* With every user stopped: where is every object? */
void pc_audit(struct pc_cache *c, struct pc_audit *a);
bool pc_audit_clean(const struct pc_audit *a);

/* ---------------------------------------------------------------- stress */

struct pc_stress_params {
	const struct pc_backend *backend;
	double seconds;
	int workers;
	unsigned int nobjs;
	unsigned int resize_us;		/* resizer period */
	unsigned int signal_us;		/* signal period: [us, 2 us) */
	/* Called first in the handler (e.g. an ABI check); may be NULL. */
	bool (*signal_hook)(void);
	/* Called once in each worker after binding; may be NULL. */
	void (*thread_hook)(void);
};

struct pc_stress_result {
	struct pc_stats st;		/* sum over workers */
	struct pc_sig_stats sst;
	struct pc_audit audit;
	uint64_t resizes, resize_alls, fences, fence_errors, drained;
	uint64_t signals_sent, recycled;
	int workers, workers_fallback, bind_errors, ncpus;
	double seconds;
	int error;			/* set-up failure (-errno) */
};

int pc_stress_run(const struct pc_stress_params *p, struct pc_stress_result *r);
void pc_stress_print(const struct pc_stress_result *r);
/*
 * One machine-readable line for the kernel matrix:
 * VRSEQ-METRICS test=NAME duplicates=N lost=N stale=N poison=N corruption=N
 *   abi=N fences=N fast_pops=N
 * duplicates: handed out while held + found twice by the audit; stale: pops
 * of the poison object; poison: retired slabs written to; corruption:
 * released while not held; fast_pops: pops through a slab, handler included.
 */
void pc_stress_metrics(const char *test, const struct pc_stress_result *r,
		       uint64_t abi_violations);

#endif
