/* SPDX-License-Identifier: MIT */
/*
 * A complete per-CPU object cache on vrseq slots, small enough to copy.
 * Installed as /usr/share/doc/vrseq/examples/percpu-cache.c (in the source
 * tree examples/percpu-cache.c, built and run by `make check`). Build:
 *	cc -O2 percpu-cache.c $(pkg-config --cflags --libs vrseq) -lpthread
 *
 * tcmalloc's per-CPU slabs reduced to one size class, since that is the code
 * vrseq exists to carry over. Every CPU id has a slab (two 32-bit header
 * fields, count and capacity, then object pointers); each thread caches "the
 * slab of the CPU I am on" in its vrseq slot. Pop, push and batch pop are
 * ONE critical section each, which validates the slot inside the section
 * (so a migration, preemption, signal or fence before the commit aborts it)
 * and commits with one store, last. Grow raises a capacity with a 32-bit
 * compare-and-store; a drain stops a CPU, fences it and empties its slab.
 * Where a slot cannot be valid (no rseq, valgrind, another library owns the
 * registration, thread not bound yet) everything takes a mutex-protected
 * global list: that keeps it correct on every kernel. Locks and system
 * calls are only on the slow paths (the global list, the drain).
 *
 * main() checks itself: workers pop, push and batch-pop at random while a
 * drainer drains every CPU over and over; at the end each object is in
 * exactly one place and none was ever handed out twice. It runs with bound
 * slots and again with unbound ones (the fallback path), so both paths are
 * always tested. Exit 0: both passed; 1: a failure; 77: vrseq says slots
 * cannot be valid here, and the fallback path passed.
 */
#ifndef _POSIX_C_SOURCE
# define _POSIX_C_SOURCE 200809L	/* nanosleep(), also with -std=c11 */
#endif
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vrseq.h>

#define MAXCAP		32	/* a slab's array: capacity's ceiling */
#define INITIAL_CAP	4	/* small, so that pushes soon need to grow */
#define GROW_STEP	4
#define FAST_TRIES	3	/* re-caches per operation, then global */
#define REFILL		8	/* objects an empty slab takes from the list */
#define NOBJS		256

struct obj {
	int held;		/* self-check only: 1 while a thread holds it */
};

/*
 * Each 32-bit header field has one kind of writer: pop/push commit `count`,
 * grow commits `capacity` (a drain writes both, while nobody can use the
 * slab). A 32-bit store or compare-and-store of one never rewrites the
 * other, so a grow cannot undo a pop, and a pop between grow's read and its
 * store does not make the grow fail.
 */
struct slab {
	uint32_t count;
	uint32_t capacity;
	struct obj *items[MAXCAP];
} __attribute__((aligned(64)));	/* no false sharing between CPUs' slabs */

/* The asm addresses the fields by offset. */
#define SLAB_ITEMS	8
static_assert(offsetof(struct slab, count) == 0, "count at 0");
static_assert(offsetof(struct slab, capacity) == 4, "capacity at 4");
static_assert(offsetof(struct slab, items) == SLAB_ITEMS, "items at 8");

/* Allocated once, never freed while threads run: even a stale slab pointer
 * (grow reads through one outside any section) points at a slab. */
static struct slab *slabs;
static uint32_t *stopped;	/* per CPU id: 1 while a drain owns the slab */
static uint32_t nr_ids;		/* ids a token can carry (vrseq_info.nr_ids) */

/* The uncached path: one list, one mutex. */
static struct obj objs[NOBJS];
static struct obj *global_list[NOBJS];
static unsigned int nglobal;
static unsigned long global_overflow;	/* more pushes than objects */
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t drain_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * VRSEQ_SLOT_UNBOUND makes the slot safe from the thread's first
 * instruction: until vrseq_slot_init() binds it, every section's slot check
 * fails and every commit returns VRSEQ_UNCACHED, so an allocation before
 * binding (from another library's constructor, say) takes the global list.
 * Binding happens on the thread's first slow path, because an allocator
 * gets no call when a thread starts. Nothing to undo at thread exit: the
 * objects are cached per CPU, not per thread.
 */
static __thread struct vrseq_slot cache_slot = VRSEQ_SLOT_UNBOUND;
static __thread bool slot_tried;
static __thread int slot_bind = -1;	/* vrseq_slot_init()'s answer */

/* Self-check only: false leaves slots unbound (the fallback path), and
 * the counters show which path ran. */
static bool use_slots = true;
struct stats { unsigned long slab_ops, global_ops, grows, refills; };
static __thread struct stats st;

enum { CS_OK, CS_INVALID, CS_EMPTY, CS_FULL };

static unsigned int global_pop_many(struct obj **out, unsigned int max)
{
	unsigned int n = 0;

	pthread_mutex_lock(&global_lock);
	while (n < max && nglobal)
		out[n++] = global_list[--nglobal];
	pthread_mutex_unlock(&global_lock);
	return n;
}

static void global_push_many(struct obj *const *o, unsigned int n)
{
	pthread_mutex_lock(&global_lock);
	for (unsigned int i = 0; i < n; i++) {
		if (nglobal < NOBJS)
			global_list[nglobal++] = o[i];
		else
			global_overflow++;	/* only after a duplicate */
	}
	pthread_mutex_unlock(&global_lock);
}

/* ------------------------------------------------------------ sections
 *
 * VRSEQ_CS_BEGIN; VRSEQ_CS_SLOT_LOAD: the slab pointer, or out through
 * `invalid` unless the slot is valid *now*; loads; ONE committing store of
 * the count, last before VRSEQ_CS_END. Earlier stores (an item above count,
 * the caller's *out) are unseen or private until the commit, so an abort may
 * repeat them. No asm outputs: results go through memory, because asm goto
 * with outputs needs GCC 11, and GCC 12.2 miscompiled such sections (see
 * vrseq_cs(7)). VRSEQ_CS_INPUTS_CPU suits VRSEQ_SLOT_CPU slots only (MM_CID
 * slots take VRSEQ_CS_INPUTS); the slot-operand blocks (VRSEQ_CS_*_M, same
 * page) cost fewer registers and loads. A program is never unloaded;
 * sections in a dlclose()able object need VRSEQ_CS_LEAVE after VRSEQ_CS_END
 * and vrseq_cs_leave() at the other labels (UNLOADING in
 * <vrseq/arch/x86_64.h>). `aborted` retries: aborts come from preemption,
 * signals and fences, and stop once the thread runs these few instructions
 * undisturbed.
 */
#if defined(__x86_64__)
static int slab_pop(struct obj **out)
{
	struct vrseq_slot *s = &cache_slot;
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")	/* rcx = slab */
		"movl (%%rcx), %%edx\n\t"		/* count */
		"testl %%edx, %%edx\n\t"
		"jz %l[empty]\n\t"
		"subl $1, %%edx\n\t"
		"movq " VRSEQ_CS_STR(SLAB_ITEMS) "(%%rcx, %%rdx, 8), %%rax\n\t"
		"movq %%rax, (%[out])\n\t"		/* private */
		"movl %%edx, (%%rcx)\n\t"		/* commit: count - 1 */
		VRSEQ_CS_END("aborted")
		: : VRSEQ_CS_INPUTS_CPU(s), [out] "r" (out)
		: VRSEQ_CS_CLOBBERS, "rcx", "rdx" : invalid, empty, aborted);
	return CS_OK;
invalid: return CS_INVALID;
empty:	return CS_EMPTY;
aborted: goto retry;
}

static int slab_push(struct obj *o)
{
	struct vrseq_slot *s = &cache_slot;
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")
		"movl (%%rcx), %%edx\n\t"		/* count */
		"cmpl 4(%%rcx), %%edx\n\t"		/* capacity */
		"jae %l[full]\n\t"
		/* Above count: nobody reads it before the commit. */
		"movq %[o], " VRSEQ_CS_STR(SLAB_ITEMS) "(%%rcx, %%rdx, 8)\n\t"
		"addl $1, %%edx\n\t"
		"movl %%edx, (%%rcx)\n\t"		/* commit: count + 1 */
		VRSEQ_CS_END("aborted")
		: : VRSEQ_CS_INPUTS_CPU(s), [o] "r" (o)
		: VRSEQ_CS_CLOBBERS, "rcx", "rdx" : invalid, full, aborted);
	return CS_OK;
invalid: return CS_INVALID;
full:	return CS_FULL;
aborted: goto retry;
}

/* Up to `want` (>= 1) objects in one section: *got = min(want, count). */
static int slab_pop_batch(struct obj **out, uint32_t want, uint32_t *got)
{
	struct vrseq_slot *s = &cache_slot;
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")
		"movl (%%rcx), %%eax\n\t"		/* count */
		"testl %%eax, %%eax\n\t"
		"jz %l[empty]\n\t"
		"movl %%eax, %%edx\n\t"
		"subl %k[want], %%edx\n\t"		/* edx: new count */
		"jae 5f\n\t"
		"xorl %%edx, %%edx\n\t"			/* too few: all */
		"5:\n\t"
		"movl %%eax, %%r9d\n\t"
		"subl %%edx, %%r9d\n\t"
		"movl %%r9d, (%[got])\n\t"		/* private */
		"movq %[out], %%r8\n\t"
		"6:\n\t"				/* count-1 .. edx */
		"subl $1, %%eax\n\t"
		"movq " VRSEQ_CS_STR(SLAB_ITEMS) "(%%rcx, %%rax, 8), %%r9\n\t"
		"movq %%r9, (%%r8)\n\t"			/* private */
		"addq $8, %%r8\n\t"
		"cmpl %%edx, %%eax\n\t"
		"jne 6b\n\t"
		"movl %%edx, (%%rcx)\n\t"		/* commit: new count */
		VRSEQ_CS_END("aborted")
		: : VRSEQ_CS_INPUTS_CPU(s), [out] "r" (out), [want] "r" (want),
		  [got] "r" (got)
		: VRSEQ_CS_CLOBBERS, "rcx", "rdx", "r8", "r9"
		: invalid, empty, aborted);
	return CS_OK;
invalid: return CS_INVALID;
empty:	return CS_EMPTY;
aborted: goto retry;
}
#elif defined(__aarch64__)
/* The same sections; x9/x10 belong to the building blocks, x11 = slab. */
static int slab_pop(struct obj **out)
{
	struct vrseq_slot *s = &cache_slot;
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("x11", "invalid")
		"ldr w12, [x11]\n\t"			/* count */
		"cbz w12, %l[empty]\n\t"
		"sub w12, w12, #1\n\t"
		"add x13, x11, w12, uxtw #3\n\t"
		"ldr x13, [x13, #" VRSEQ_CS_STR(SLAB_ITEMS) "]\n\t"
		"str x13, [%[out]]\n\t"			/* private */
		"str w12, [x11]\n\t"			/* commit: count - 1 */
		VRSEQ_CS_END("aborted")
		: : VRSEQ_CS_INPUTS_CPU(s), [out] "r" (out)
		: VRSEQ_CS_CLOBBERS, "x11", "x12", "x13"
		: invalid, empty, aborted);
	return CS_OK;
invalid: return CS_INVALID;
empty:	return CS_EMPTY;
aborted: goto retry;
}

static int slab_push(struct obj *o)
{
	struct vrseq_slot *s = &cache_slot;
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("x11", "invalid")
		"ldp w12, w13, [x11]\n\t"		/* count, capacity */
		"cmp w12, w13\n\t"
		"b.hs %l[full]\n\t"
		"add x13, x11, w12, uxtw #3\n\t"
		/* Above count: nobody reads it before the commit. */
		"str %[o], [x13, #" VRSEQ_CS_STR(SLAB_ITEMS) "]\n\t"
		"add w12, w12, #1\n\t"
		"str w12, [x11]\n\t"			/* commit: count + 1 */
		VRSEQ_CS_END("aborted")
		: : VRSEQ_CS_INPUTS_CPU(s), [o] "r" (o)
		: VRSEQ_CS_CLOBBERS, "x11", "x12", "x13"
		: invalid, full, aborted);
	return CS_OK;
invalid: return CS_INVALID;
full:	return CS_FULL;
aborted: goto retry;
}

static int slab_pop_batch(struct obj **out, uint32_t want, uint32_t *got)
{
	struct vrseq_slot *s = &cache_slot;
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("x11", "invalid")
		"ldr w12, [x11]\n\t"			/* count */
		"cbz w12, %l[empty]\n\t"
		"subs w13, w12, %w[want]\n\t"		/* w13: new count */
		"csel w13, w13, wzr, hs\n\t"		/* too few: all */
		"sub w14, w12, w13\n\t"
		"str w14, [%[got]]\n\t"			/* private */
		"mov x14, %[out]\n\t"
		"5:\n\t"				/* count-1 .. w13 */
		"sub w12, w12, #1\n\t"
		"add x15, x11, w12, uxtw #3\n\t"
		"ldr x15, [x15, #" VRSEQ_CS_STR(SLAB_ITEMS) "]\n\t"
		"str x15, [x14], #8\n\t"		/* private */
		"cmp w12, w13\n\t"
		"b.ne 5b\n\t"
		"str w13, [x11]\n\t"			/* commit: new count */
		VRSEQ_CS_END("aborted")
		: : VRSEQ_CS_INPUTS_CPU(s), [out] "r" (out), [want] "r" (want),
		  [got] "r" (got)
		: VRSEQ_CS_CLOBBERS, "x11", "x12", "x13", "x14", "x15"
		: invalid, empty, aborted);
	return CS_OK;
invalid: return CS_INVALID;
empty:	return CS_EMPTY;
aborted: goto retry;
}
#else
# error "write slab_pop, slab_push and slab_pop_batch for this architecture"
#endif

/* ------------------------------------------------------------ caching */

enum { R_CACHED, R_RETRY, R_UNCACHED };

/*
 * Cache the slab of the CPU we are on: observe, compute for the observed
 * CPU (never for one read separately: the commit checks the token's CPU),
 * commit. R_RETRY: moved or fenced meanwhile, try again (callers bound the
 * tries). R_UNCACHED: the global list for this operation -- the CPU is being
 * drained, or the slot can never be valid, where a retry would never end.
 */
static int refresh(void)
{
	vrseq_token_t token;
	uint32_t cpu;

	if (__builtin_expect(!slot_tried, 0)) {
		slot_tried = true;
		/* 0 cached, 1 fallback; an error leaves the slot unbound. */
		slot_bind = use_slots ?
			vrseq_slot_init(&cache_slot, VRSEQ_SLOT_CPU) : 1;
	}
	/* One flag test; it spares a fallback slot's observe a syscall. */
	if (!vrseq_slot_usable(&cache_slot))
		return R_UNCACHED;
	token = vrseq_slot_observe(&cache_slot);
	cpu = vrseq_token_id(token);
	/* Acquire pairs with the drain's releases: an observation taken after
	 * its fence sees "stopped", and a 0 comes with the emptied slab. */
	if (cpu >= nr_ids || __atomic_load_n(&stopped[cpu], __ATOMIC_ACQUIRE))
		return R_UNCACHED;
	switch (vrseq_slot_commit(&cache_slot, token,
				  (uint64_t)(uintptr_t)&slabs[cpu])) {
	case VRSEQ_COMMITTED:
		return R_CACHED;
	case VRSEQ_INVALIDATED:
		return R_RETRY;
	default:	/* VRSEQ_UNCACHED (a retired id): no retry can help */
		return R_UNCACHED;
	}
}

/*
 * capacity += GROW_STEP on the cached slab. The capacity is read outside any
 * section, and preemption on the same CPU does not invalidate a slot, so
 * another thread may change it before our store: the store must compare.
 * vrseq_slot_cas32_value() checks in one section that the slot is valid,
 * still holds the slab we read (a signal handler may have re-cached since),
 * and that the capacity is unchanged -- 32 bits, so `count` is not touched.
 */
static bool grow(void)
{
	uint64_t value;
	struct slab *slab;
	uint32_t cap, grown;

	if (!vrseq_slot_load(&cache_slot, &value))
		return false;
	slab = (struct slab *)(uintptr_t)value;
	cap = __atomic_load_n(&slab->capacity, __ATOMIC_RELAXED);
	if (cap >= MAXCAP)
		return false;
	grown = cap + GROW_STEP < MAXCAP ? cap + GROW_STEP : MAXCAP;
	return vrseq_slot_cas32_value(&cache_slot, value, &slab->capacity, cap,
				      grown) == VRSEQ_COMMITTED;
}

/* This CPU's slab is empty: one object for the caller, the rest cached. */
static struct obj *refill(void)
{
	struct obj *batch[REFILL];
	unsigned int n = global_pop_many(batch, REFILL), i = 1;

	if (n == 0)
		return NULL;
	st.refills++;
	while (i < n && slab_push(batch[i]) == CS_OK)
		i++;
	global_push_many(batch + i, n - i);	/* moved meanwhile, or full */
	return batch[0];
}

static struct obj *cache_alloc(void)
{
	struct obj *o;

	for (int tries = 0; tries < FAST_TRIES; tries++) {
		int ret = slab_pop(&o);

		if (ret == CS_OK) {
			st.slab_ops++;
			return o;
		}
		if (ret == CS_EMPTY)
			return refill();
		if (refresh() == R_UNCACHED)	/* CS_INVALID: re-cache */
			break;
	}
	st.global_ops++;
	return global_pop_many(&o, 1) ? o : NULL;
}

/* 1 to n objects (0: none left), in one section when cached. */
static unsigned int cache_alloc_batch(struct obj **out, unsigned int n)
{
	uint32_t got;

	if (n == 0)
		return 0;	/* the section needs want >= 1 */
	for (int tries = 0; tries < FAST_TRIES; tries++) {
		int ret = slab_pop_batch(out, n, &got);

		if (ret == CS_OK) {
			st.slab_ops++;
			return got;
		}
		if (ret == CS_EMPTY)
			return (out[0] = refill()) != NULL;
		if (refresh() == R_UNCACHED)
			break;
	}
	st.global_ops++;
	return global_pop_many(out, n);
}

static void cache_free(struct obj *o)
{
	for (int tries = 0; tries < FAST_TRIES; tries++) {
		int ret = slab_push(o);

		if (ret == CS_OK) {
			st.slab_ops++;
			return;
		}
		if (ret == CS_FULL) {
			if (!grow())
				break;	/* at the maximum, or raced: overflow */
			st.grows++;
			continue;
		}
		if (refresh() == R_UNCACHED)
			break;
	}
	st.global_ops++;
	global_push_many(&o, 1);
}

/*
 * Empty the slab of `cpu` into the global list and shrink it: stop, fence,
 * work, restart. A refresh that observes after the fence sees "stopped" and
 * goes global; after the fence no thread uses a slot validated for `cpu`
 * and no section runs there, so the slab is ours. Not on the allocation
 * path: a mutex and a syscall are fine. Returns the objects moved, or -1
 * when the fence failed (the slab may still be in use: leave it alone).
 */
static int drain_cpu(uint32_t cpu)
{
	struct slab *slab = &slabs[cpu];
	int n = -1;

	pthread_mutex_lock(&drain_lock);	/* one drain at a time */
	__atomic_store_n(&stopped[cpu], 1, __ATOMIC_RELEASE);
	if (vrseq_fence_cpu((int)cpu) == 0) {
		n = (int)slab->count;
		global_push_many(slab->items, slab->count);
		slab->count = 0;
		/* Atomic: grow reads it outside any section, now too. */
		__atomic_store_n(&slab->capacity, INITIAL_CAP,
				 __ATOMIC_RELAXED);
	}
	__atomic_store_n(&stopped[cpu], 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&drain_lock);
	return n;
}

/* ------------------------------------------------------------ self-check */

#define WORKERS		4
#define MAX_HELD	16

static int stop;

struct worker {
	pthread_t tid;
	uint64_t rng;
	struct stats st;
	unsigned long twice, not_held;	/* must stay 0 */
	int bind;
};

static uint64_t xorshift(uint64_t *x)	/* cheap, per thread: no shared state */
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	return *x ^= *x << 17;
}

static void *worker_main(void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct obj *held[MAX_HELD];

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		uint64_t r = xorshift(&w->rng);
		unsigned int want = 1 + (unsigned int)(r % MAX_HELD);
		unsigned int n = 0, got;

		for (; n < want; n += got) {
			if (r & 0x100)
				got = cache_alloc_batch(held + n, want - n);
			else
				got = (held[n] = cache_alloc()) != NULL;
			if (!got)
				break;	/* the others hold everything */
		}
		/* The flag catches an object handed out twice at once. */
		for (unsigned int i = 0; i < n; i++)
			if (__atomic_exchange_n(&held[i]->held, 1,
						__ATOMIC_ACQ_REL))
				w->twice++;
		for (unsigned int i = 0; i < n; i++) {
			if (__atomic_exchange_n(&held[i]->held, 0,
						__ATOMIC_ACQ_REL) != 1)
				w->not_held++;
			cache_free(held[i]);
		}
	}
	w->st = st;
	w->bind = slot_bind;
	return NULL;
}

struct drainer { unsigned long rounds, moved, failed; };

static void *drainer_main(void *arg)
{
	struct drainer *d = (struct drainer *)arg;
	struct timespec pause = { 0, 200000 };	/* let the slabs fill again */

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		for (uint32_t cpu = 0; cpu < nr_ids; cpu++) {
			int n = drain_cpu(cpu);

			if (n < 0)
				d->failed++;
			else
				d->moved += (unsigned long)n;
		}
		d->rounds++;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void see(unsigned int *seen, unsigned int *bad, const struct obj *o)
{
	if (o >= objs && o < objs + NOBJS)
		seen[o - objs]++;
	else
		++*bad;		/* not one of ours */
}

/* Every thread joined: is each object in exactly one place, and free? */
static bool audit(void)
{
	unsigned int seen[NOBJS] = { 0 }, bad = 0, lost = 0, dup = 0, held = 0;

	for (uint32_t cpu = 0; cpu < nr_ids; cpu++) {
		const struct slab *s = &slabs[cpu];

		if (s->count > s->capacity || s->capacity > MAXCAP) {
			bad++;
			continue;
		}
		for (uint32_t i = 0; i < s->count; i++)
			see(seen, &bad, s->items[i]);
	}
	for (unsigned int i = 0; i < nglobal; i++)
		see(seen, &bad, global_list[i]);
	for (unsigned int i = 0; i < NOBJS; i++) {
		lost += seen[i] == 0;
		dup += seen[i] > 1;
		held += objs[i].held != 0;
	}
	printf("  audit of %u objects: %u lost, %u duplicated, %u held, "
	       "%u bad, %lu overflows\n", NOBJS, lost, dup, held, bad,
	       global_overflow);
	return !lost && !dup && !held && !bad && !global_overflow;
}

/* One run of `ms` milliseconds; *cached = workers whose slot could cache. */
static bool run(bool slots, long ms, int *cached)
{
	struct worker w[WORKERS];
	struct stats sum = { 0, 0, 0, 0 };
	unsigned long twice = 0, not_held = 0;
	struct drainer d = { 0, 0, 0 };
	struct timespec t = { ms / 1000, ms % 1000 * 1000000 };
	pthread_t drainer;
	bool ok;

	memset(objs, 0, sizeof(objs));
	for (nglobal = 0; nglobal < NOBJS; nglobal++)
		global_list[nglobal] = &objs[nglobal];
	global_overflow = 0;
	memset(slabs, 0, nr_ids * sizeof(*slabs));
	for (uint32_t cpu = 0; cpu < nr_ids; cpu++)
		slabs[cpu].capacity = INITIAL_CAP;
	use_slots = slots;	/* read by threads created after this */
	stop = 0;
	memset(w, 0, sizeof(w));
	for (int i = 0; i < WORKERS; i++) {
		w[i].rng = UINT64_C(0x9e3779b97f4a7c15) * (uint64_t)(i + 1);
		if (pthread_create(&w[i].tid, NULL, worker_main, &w[i]))
			abort();
	}
	if (pthread_create(&drainer, NULL, drainer_main, &d))
		abort();
	while (nanosleep(&t, &t))
		;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	pthread_join(drainer, NULL);
	*cached = 0;
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(w[i].tid, NULL);
		sum.slab_ops += w[i].st.slab_ops;
		sum.global_ops += w[i].st.global_ops;
		sum.grows += w[i].st.grows;
		sum.refills += w[i].st.refills;
		twice += w[i].twice;
		not_held += w[i].not_held;
		*cached += w[i].bind == 0;
	}
	printf("%s path: %d of %d workers cached; %lu slab ops, %lu global "
	       "ops, %lu grows, %lu refills; %lu drain rounds moved %lu "
	       "objects, %lu fences failed\n", slots ? "cached" : "fallback",
	       *cached, WORKERS, sum.slab_ops, sum.global_ops, sum.grows,
	       sum.refills, d.rounds, d.moved, d.failed);
	printf("  handed out twice: %lu, freed while not held: %lu\n", twice,
	       not_held);
	ok = audit() && !twice && !not_held;
	/* The path under test must be the one that ran: slabs iff cached. */
	if (*cached ? sum.slab_ops == 0 : sum.slab_ops != 0) {
		printf("  FAIL: %lu slab ops, %d workers cached\n",
		       sum.slab_ops, *cached);
		ok = false;
	}
	return ok;
}

int main(void)
{
	struct vrseq_info info;
	int cached, none;
	bool ok;

	if (vrseq_init() < 0 || vrseq_get_info(&info, sizeof(info)) < 0) {
		fprintf(stderr, "vrseq set-up failed\n");
		return 1;
	}
	printf("vrseq: rseq owner %s, fences by %s, slots %s (%s)\n",
	       vrseq_owner_name(info.owner),
	       vrseq_fence_method_name(info.fence_method),
	       info.guarantee ? "work" : "never valid",
	       vrseq_fallback_name((int)info.fallback));
	nr_ids = info.nr_ids ? info.nr_ids : 1;
	slabs = (struct slab *)aligned_alloc(__alignof__(struct slab),
					     nr_ids * sizeof(*slabs));
	stopped = (uint32_t *)calloc(nr_ids, sizeof(*stopped));
	if (!slabs || !stopped)
		return 1;
	ok = run(true, 1500, &cached);
	ok = run(false, 500, &none) && ok;
	if (ok && !info.guarantee) {
		printf("SKIP: slots cannot be valid here (vrseq says so); the "
		       "fallback path passed\n");
		return 77;
	}
	if (ok && !cached)
		printf("FAIL: vrseq gives the guarantee, yet no slot cached\n");
	ok = ok && cached;
	printf("%s: cached and fallback paths\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
