/* SPDX-License-Identifier: MIT */
/*
 * The per-CPU object cache fixture: see percpu-cache.h. The vrseq backend is
 * at the top; everything below it is shared by every backend.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>

#include "percpu-cache.h"

/* What a stale pop out of a retired slab hands out. Never in the pool. */
struct pc_obj pc_poison_obj = { .id = -1 };

#define SLAB_ITEMS_OFFSET	8
_Static_assert(offsetof(struct pc_slab, hdr) == 0, "hdr at 0");
_Static_assert(offsetof(struct pc_slab, items) == SLAB_ITEMS_OFFSET,
	       "items at 8");
_Static_assert(offsetof(struct vrseq_slot, value) == 0, "slot value at 0");
_Static_assert(offsetof(struct vrseq_slot, tag) == 8, "slot tag at 8");

static int pc_lookup(struct pc_cache *c, uint32_t cpu, struct pc_slab **out);

/* ================================================================ vrseq
 *
 * The slot's value is the slab pointer for the CPU the slot is valid for.
 * Caching it is the legacy protocol: observe, compute outside any critical
 * section, commit. Using it is one critical section that validates the slot
 * and commits the slab header, so a migration, a signal or a fence between
 * the validation and the commit aborts it.
 */

static int vr_thread_init(struct pc_thread *t)
{
	return vrseq_slot_init(&t->slot, VRSEQ_SLOT_CPU);
}

static int vr_refresh(struct pc_thread *t)
{
	vrseq_token_t token = vrseq_slot_observe(&t->slot);
	struct pc_slab *slab;
	int ret;

	/* Outside any critical section: stopped flag, then the slab. */
	ret = pc_lookup(t->cache, vrseq_token_id(token), &slab);
	if (ret != PC_OK)
		return ret;
	if (vrseq_slot_commit(&t->slot, token, (uint64_t)(uintptr_t)slab) !=
	    VRSEQ_COMMITTED)
		return PC_INVALID;
	return PC_OK;
}

#if defined(__x86_64__) || defined(__aarch64__)
static void count_abort(struct pc_thread *t)
{
	if (t->in_signal)
		t->sst.aborts++;
	else
		t->st.aborts++;
}
#endif

#if defined(__x86_64__)
static int vr_pop(struct pc_thread *t, struct pc_obj **out)
{
	struct vrseq_slot *slot = &t->slot;
	struct pc_obj *item;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")	/* slab */
		"movq (%%rcx), %%rdx\n\t"		/* hdr */
		"testl %%edx, %%edx\n\t"
		"jz %l[empty]\n\t"
		"subq $1, %%rdx\n\t"
		"movl %%edx, %%eax\n\t"			/* index count - 1 */
		"movq " VRSEQ_CS_STR(SLAB_ITEMS_OFFSET)
			"(%%rcx, %%rax, 8), %[item]\n\t"
		"movq %%rdx, (%%rcx)\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		: [item] "=&r" (item)
		: VRSEQ_CS_INPUTS_CPU(slot)
		: VRSEQ_CS_CLOBBERS, "rcx", "rdx"
		: invalid, empty, aborted);
	*out = item;
	return PC_OK;
invalid:
	return PC_INVALID;
empty:
	return PC_EMPTY;
aborted:
	count_abort(t);
	goto retry;
}

static int vr_push(struct pc_thread *t, struct pc_obj *obj)
{
	struct vrseq_slot *slot = &t->slot;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")	/* slab */
		"movq (%%rcx), %%rdx\n\t"		/* hdr */
		"movq %%rdx, %%rax\n\t"
		"shrq $32, %%rax\n\t"			/* capacity */
		"cmpl %%eax, %%edx\n\t"
		"jae %l[full]\n\t"
		"movl %%edx, %%eax\n\t"			/* index count */
		/* Not a commit: harmless if we abort before the next store. */
		"movq %[item], " VRSEQ_CS_STR(SLAB_ITEMS_OFFSET)
			"(%%rcx, %%rax, 8)\n\t"
		"addq $1, %%rdx\n\t"
		"movq %%rdx, (%%rcx)\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		:
		: VRSEQ_CS_INPUTS_CPU(slot), [item] "r" (obj)
		: VRSEQ_CS_CLOBBERS, "rcx", "rdx"
		: invalid, full, aborted);
	return PC_OK;
invalid:
	return PC_INVALID;
full:
	return PC_FULL;
aborted:
	count_abort(t);
	goto retry;
}
#define VR_FAST_PATH	true
#elif defined(__aarch64__)
/*
 * The same sections as x86_64. x11 = slab, x12 = hdr, x13 = the item's
 * address minus SLAB_ITEMS_OFFSET; x9/x10 belong to the building blocks.
 * The count is the low word of hdr, so "cbz w12" is "count == 0" and
 * "uxtw #3" scales it as an index.
 */
static int vr_pop(struct pc_thread *t, struct pc_obj **out)
{
	struct vrseq_slot *slot = &t->slot;
	struct pc_obj *item;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("x11", "invalid")	/* slab */
		"ldr x12, [x11]\n\t"			/* hdr */
		"cbz w12, %l[empty]\n\t"
		"sub x12, x12, #1\n\t"			/* count - 1 */
		"add x13, x11, w12, uxtw #3\n\t"
		"ldr %[item], [x13, #" VRSEQ_CS_STR(SLAB_ITEMS_OFFSET) "]\n\t"
		"str x12, [x11]\n\t"			/* commit */
		VRSEQ_CS_END("aborted")
		: [item] "=&r" (item)
		: VRSEQ_CS_INPUTS_CPU(slot)
		: VRSEQ_CS_CLOBBERS, "x11", "x12", "x13"
		: invalid, empty, aborted);
	*out = item;
	return PC_OK;
invalid:
	return PC_INVALID;
empty:
	return PC_EMPTY;
aborted:
	count_abort(t);
	goto retry;
}

static int vr_push(struct pc_thread *t, struct pc_obj *obj)
{
	struct vrseq_slot *slot = &t->slot;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("x11", "invalid")	/* slab */
		"ldr x12, [x11]\n\t"			/* hdr */
		"lsr x13, x12, #32\n\t"			/* capacity */
		"cmp w12, w13\n\t"
		"b.hs %l[full]\n\t"
		"add x13, x11, w12, uxtw #3\n\t"
		/* Not a commit: harmless if we abort before the next store. */
		"str %[item], [x13, #" VRSEQ_CS_STR(SLAB_ITEMS_OFFSET) "]\n\t"
		"add x12, x12, #1\n\t"
		"str x12, [x11]\n\t"			/* commit */
		VRSEQ_CS_END("aborted")
		:
		: VRSEQ_CS_INPUTS_CPU(slot), [item] "r" (obj)
		: VRSEQ_CS_CLOBBERS, "x11", "x12", "x13"
		: invalid, full, aborted);
	return PC_OK;
invalid:
	return PC_INVALID;
full:
	return PC_FULL;
aborted:
	count_abort(t);
	goto retry;
}
#define VR_FAST_PATH	true
#else
/* No critical sections written for this architecture yet: global list. */
static int vr_pop(struct pc_thread *t, struct pc_obj **out)
{
	*out = NULL;
	return PC_INVALID;
}

static int vr_push(struct pc_thread *t, struct pc_obj *obj)
{
	return PC_INVALID;
}
#define VR_FAST_PATH	false
#endif

static int vr_load_hdr(struct pc_thread *t, struct pc_slab **slab,
		       uint64_t *hdr)
{
	uint64_t value;

	if (!vrseq_slot_load(&t->slot, &value))
		return PC_INVALID;
	*slab = (struct pc_slab *)(uintptr_t)value;
	*hdr = __atomic_load_n(&(*slab)->hdr, __ATOMIC_RELAXED);
	return PC_OK;
}

/*
 * One critical section: the slot is still valid (same CPU, no fence since we
 * cached the slab) and the header is unchanged. A valid slot means the slab
 * is still this CPU's: only this thread commits into its slot.
 */
static int vr_cas_hdr(struct pc_thread *t, struct pc_slab *slab,
		      uint64_t expected, uint64_t desired)
{
	switch (vrseq_slot_cas(&t->slot, &slab->hdr, expected, desired)) {
	case VRSEQ_COMMITTED:
		return PC_OK;
	case VRSEQ_CHANGED:
		return PC_CHANGED;
	default:
		return PC_INVALID;
	}
}

static struct pc_slab *vr_cached(struct pc_thread *t)
{
	uint64_t value;

	if (!vrseq_slot_load(&t->slot, &value))
		return NULL;
	return (struct pc_slab *)(uintptr_t)value;
}

const struct pc_backend pc_backend_vrseq = {
	.name = "vrseq",
	.has_fast_path = VR_FAST_PATH,
	.thread_init = vr_thread_init,
	.refresh = vr_refresh,
	.pop = vr_pop,
	.push = vr_push,
	.load_hdr = vr_load_hdr,
	.cas_hdr = vr_cas_hdr,
	.cached = vr_cached,
	.fence_cpu = vrseq_fence_cpu,
	.fence_all = vrseq_fence_all,
};

/* ================================================================ shared */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

static void lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m))
		abort();
}

static void unlock(pthread_mutex_t *m)
{
	if (pthread_mutex_unlock(m))
		abort();
}

/*
 * The slab to cache for `cpu`, read outside any critical section after the
 * observation. Acquire pairs with the resizer's releases: an observation
 * taken after a fence sees the stopped flag set before it, and a cleared flag
 * implies the new slab (and its initialised header) is visible.
 */
static int pc_lookup(struct pc_cache *c, uint32_t cpu, struct pc_slab **out)
{
	if (cpu >= c->nr_cpus)
		return PC_INVALID;
	if (atomic_load_explicit(&c->stopped[cpu], memory_order_acquire))
		return PC_STOPPED;
	*out = atomic_load_explicit(&c->slabs[cpu], memory_order_acquire);
	return PC_OK;
}

static bool obj_in_pool(const struct pc_cache *c, const struct pc_obj *o)
{
	return o >= c->objs && o < c->objs + c->nobjs;
}

/* ---------------------------------------------------------------- global */

static unsigned int global_pop_many(struct pc_cache *c, struct pc_obj **out,
				    unsigned int max)
{
	unsigned int n = 0;

	lock(&c->lock);
	while (n < max && c->nglobal)
		out[n++] = c->global[--c->nglobal];
	unlock(&c->lock);
	return n;
}

static void global_push_many(struct pc_cache *c, struct pc_obj *const *objs,
			     unsigned int n)
{
	lock(&c->lock);
	for (unsigned int i = 0; i < n; i++) {
		if (c->nglobal < c->nobjs)
			c->global[c->nglobal++] = objs[i];
		else
			c->global_overflow++;	/* only with duplicates */
	}
	unlock(&c->lock);
}

struct pc_obj *pc_global_pop(struct pc_cache *c)
{
	struct pc_obj *o;

	return global_pop_many(c, &o, 1) ? o : NULL;
}

void pc_global_push(struct pc_cache *c, struct pc_obj *obj)
{
	global_push_many(c, &obj, 1);
}

/* ---------------------------------------------------------------- slabs */

bool pc_slab_poison_intact(const struct pc_slab *s)
{
	if (__atomic_load_n(&s->hdr, __ATOMIC_RELAXED) != PC_POISON_HDR)
		return false;
	for (unsigned int i = 0; i < PC_MAXCAP; i++)
		if (__atomic_load_n(&s->items[i], __ATOMIC_RELAXED) !=
		    &pc_poison_obj)
			return false;
	return true;
}

#define GRAVE_MAX	4096u

/*
 * A new slab, with a small capacity so that pushes soon need to grow it.
 * Retired slabs are kept in a ring and only reused when it is full (after
 * checking their poison), so a stale pointer keeps pointing at poison for a
 * long time and nothing is ever freed while workers run.
 */
static struct pc_slab *slab_new(struct pc_cache *c, int cpu)
{
	struct pc_slab *s = NULL;

	if (c->grave_count == GRAVE_MAX) {
		s = c->grave[c->grave_head];
		c->grave_head = (c->grave_head + 1) % GRAVE_MAX;
		c->grave_count--;
		if (!pc_slab_poison_intact(s))
			c->poison_broken++;
		c->recycled++;
	} else {
		s = (struct pc_slab *)aligned_alloc(_Alignof(struct pc_slab),
						    sizeof(*s));
		if (!s)
			abort();
	}
	memset(s, 0, sizeof(*s));
	c->serial++;
	s->hdr = PC_HDR(4 + c->serial % 9, 0);
	s->cpu = (uint32_t)cpu;
	s->serial = c->serial;
	return s;
}

static void slab_bury(struct pc_cache *c, struct pc_slab *s)
{
	c->grave[(c->grave_head + c->grave_count) % GRAVE_MAX] = s;
	c->grave_count++;
}

/* Caller holds resize_lock, and no thread can use `s` any more. */
static void retire_locked(struct pc_cache *c, struct pc_slab *s)
{
	uint64_t hdr = __atomic_load_n(&s->hdr, __ATOMIC_RELAXED);
	uint32_t count = PC_HDR_COUNT(hdr);

	if (count > PC_MAXCAP || count > PC_HDR_CAP(hdr))
		count = PC_MAXCAP;	/* corrupt; the audit will say so */
	global_push_many(c, s->items, count);
	c->drained += count;
	for (unsigned int i = 0; i < PC_MAXCAP; i++)
		__atomic_store_n(&s->items[i], &pc_poison_obj, __ATOMIC_RELAXED);
	__atomic_store_n(&s->hdr, PC_POISON_HDR, __ATOMIC_RELAXED);
	s->dead = 1;
	slab_bury(c, s);
}

void pc_retire_slab(struct pc_cache *c, struct pc_slab *s)
{
	lock(&c->resize_lock);
	retire_locked(c, s);
	unlock(&c->resize_lock);
}

struct pc_slab *pc_current_slab(struct pc_cache *c, int cpu)
{
	return atomic_load_explicit(&c->slabs[cpu], memory_order_acquire);
}

static void publish_locked(struct pc_cache *c, int cpu)
{
	atomic_store_explicit(&c->slabs[cpu], slab_new(c, cpu),
			      memory_order_release);
}

/*
 * Stop the CPU: from now on a refresh for it uses the global list. Fence: no
 * thread still uses a slab pointer it cached for it before, and none can
 * cache one without seeing "stopped". Then the old slab is ours alone.
 */
int pc_resize_cpu(struct pc_cache *c, int cpu, unsigned int flags,
		  struct pc_slab **old)
{
	struct pc_slab *prev;
	int ret = 0;

	if (cpu < 0 || (unsigned int)cpu >= c->nr_cpus)
		return -EINVAL;
	lock(&c->resize_lock);
	atomic_store_explicit(&c->stopped[cpu], 1, memory_order_release);
	if (!(flags & PC_RESIZE_NO_FENCE)) {
		ret = c->backend->fence_cpu(cpu);
		c->fences++;
		if (ret)
			c->fence_errors++;
	}
	prev = atomic_load_explicit(&c->slabs[cpu], memory_order_relaxed);
	if (ret == 0) {
		if (!(flags & PC_RESIZE_KEEP_OLD))
			retire_locked(c, prev);
		publish_locked(c, cpu);
		c->resizes++;
	} else {
		prev = NULL;	/* not fenced: leave the old slab in place */
	}
	atomic_store_explicit(&c->stopped[cpu], 0, memory_order_release);
	unlock(&c->resize_lock);
	if (old)
		*old = prev;
	return ret;
}

int pc_resize_all(struct pc_cache *c)
{
	int ret;

	lock(&c->resize_lock);
	for (int i = 0; i < c->ncpus; i++)
		atomic_store_explicit(&c->stopped[c->cpus[i]], 1,
				      memory_order_release);
	ret = c->backend->fence_all();
	c->fences++;
	if (ret)
		c->fence_errors++;
	for (int i = 0; i < c->ncpus && ret == 0; i++) {
		int cpu = c->cpus[i];

		retire_locked(c, atomic_load_explicit(&c->slabs[cpu],
						      memory_order_relaxed));
		publish_locked(c, cpu);
		c->resizes++;
	}
	if (ret == 0)
		c->resize_alls++;
	for (int i = 0; i < c->ncpus; i++)
		atomic_store_explicit(&c->stopped[c->cpus[i]], 0,
				      memory_order_release);
	unlock(&c->resize_lock);
	return ret;
}

/* ---------------------------------------------------------------- cache */

int pc_cache_init(struct pc_cache *c, const struct pc_backend *b,
		  unsigned int nobjs)
{
	struct vrseq_info info;
	cpu_set_t set;
	unsigned int nr;
	int ret;

	memset(c, 0, sizeof(*c));
	c->backend = b;
	ret = vrseq_init();
	if (ret < 0)
		return ret;
	ret = vrseq_get_info(&info, sizeof(info));
	if (ret < 0)
		return ret;
	nr = info.nr_ids;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return -errno;
	for (int cpu = 0; cpu < CPU_SETSIZE && c->ncpus < PC_MAX_CPUS; cpu++) {
		if (!CPU_ISSET(cpu, &set))
			continue;
		c->cpus[c->ncpus++] = cpu;
		if ((unsigned int)cpu >= nr)
			nr = (unsigned int)cpu + 1;
	}
	if (nr == 0)
		nr = (unsigned int)get_nprocs_conf();
	if (nr == 0 || c->ncpus == 0)
		return -EINVAL;
	c->nr_cpus = nr;
	c->nobjs = nobjs;
	c->objs = (struct pc_obj *)calloc(nobjs, sizeof(*c->objs));
	c->global = (struct pc_obj **)calloc(nobjs, sizeof(*c->global));
	c->slabs = (_Atomic(struct pc_slab *) *)calloc(nr, sizeof(*c->slabs));
	c->stopped = (_Atomic(int) *)calloc(nr, sizeof(*c->stopped));
	c->grave = (struct pc_slab **)calloc(GRAVE_MAX, sizeof(*c->grave));
	if (!c->objs || !c->global || !c->slabs || !c->stopped || !c->grave) {
		pc_cache_destroy(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->resize_lock, NULL);
	for (unsigned int i = 0; i < nobjs; i++) {
		atomic_init(&c->objs[i].held, 0);
		c->objs[i].id = (int)i;
		c->global[c->nglobal++] = &c->objs[i];
	}
	for (unsigned int cpu = 0; cpu < nr; cpu++) {
		atomic_init(&c->stopped[cpu], 0);
		atomic_init(&c->slabs[cpu], slab_new(c, (int)cpu));
	}
	return 0;
}

void pc_cache_destroy(struct pc_cache *c)
{
	if (c->slabs)
		for (unsigned int cpu = 0; cpu < c->nr_cpus; cpu++)
			free(atomic_load(&c->slabs[cpu]));
	if (c->grave)
		for (unsigned int i = 0; i < c->grave_count; i++)
			free(c->grave[(c->grave_head + i) % GRAVE_MAX]);
	if (c->objs) {
		pthread_mutex_destroy(&c->lock);
		pthread_mutex_destroy(&c->resize_lock);
	}
	free(c->grave);
	free(c->stopped);
	free((void *)c->slabs);
	free(c->global);
	free(c->objs);
	memset(c, 0, sizeof(*c));
}

int pc_thread_attach(struct pc_cache *c, struct pc_thread *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->cache = c;
	t->rng = seed | 1;
	t->bind_result = c->backend->thread_init(t);
	if (t->bind_result >= 0)
		t->ready = 1;
	return t->bind_result;
}

/* ---------------------------------------------------------------- alloc */

static int refresh(struct pc_thread *t)
{
	int ret = t->cache->backend->refresh(t);

	switch (ret) {
	case PC_OK:
		t->st.refresh_ok++;
		break;
	case PC_STOPPED:
		t->st.refresh_stopped++;
		break;
	default:
		t->st.refresh_invalid++;
		break;
	}
	return ret;
}

/* A popped pointer worth handing out? Counts what is not. */
static bool check_popped(struct pc_thread *t, struct pc_obj *o, bool sig)
{
	if (o == &pc_poison_obj) {
		if (sig)
			t->sst.stale_pops++;
		else
			t->st.stale_pops++;
		return false;
	}
	if (!obj_in_pool(t->cache, o)) {
		if (sig)
			t->sst.bad_pointers++;
		else
			t->st.bad_pointers++;
		return false;
	}
	return true;
}

#define REFILL_BATCH	8u

/* The slab is empty: take a batch from the global list, keep one. */
static struct pc_obj *refill(struct pc_thread *t)
{
	struct pc_cache *c = t->cache;
	struct pc_obj *batch[REFILL_BATCH];
	unsigned int n = global_pop_many(c, batch, REFILL_BATCH), i;

	if (n == 0) {
		t->st.global_empty++;
		return NULL;
	}
	t->st.refills++;
	t->st.global_pops++;
	for (i = 1; i < n; i++) {
		if (c->backend->push(t, batch[i]) != PC_OK)
			break;
		t->st.fast_pushes++;
	}
	if (i < n)
		global_push_many(c, batch + i, n - i);
	return batch[0];
}

/*
 * capacity + 1 on the cached slab: PC_OK, PC_INVALID, PC_CHANGED, or
 * PC_FULL at the maximum. Sometimes yield between the load and the store,
 * so that other threads on this CPU, the signal handler, migrations and
 * fences get into the window the compare-and-store has to catch.
 */
static int grow(struct pc_thread *t)
{
	const struct pc_backend *b = t->cache->backend;
	struct pc_slab *slab;
	uint64_t hdr;

	if (b->load_hdr(t, &slab, &hdr) != PC_OK)
		return PC_INVALID;
	if (PC_HDR_CAP(hdr) >= PC_MAXCAP)
		return PC_FULL;
	if (rng_next(&t->rng) % 8 == 0) {
		sched_yield();
		t->st.grow_yields++;
	}
	return b->cas_hdr(t, slab, hdr, hdr + (UINT64_C(1) << 32));
}

#define FAST_TRIES	3

struct pc_obj *pc_alloc(struct pc_thread *t)
{
	const struct pc_backend *b = t->cache->backend;
	struct pc_obj *o;

	for (int tries = 0; tries < FAST_TRIES; tries++) {
		int ret = b->pop(t, &o);

		if (ret == PC_OK) {
			t->st.fast_pops++;
			if (check_popped(t, o, false))
				return o;
			continue;
		}
		if (ret == PC_EMPTY) {
			t->st.pop_empty++;
			return refill(t);
		}
		t->st.fast_invalid++;
		if (refresh(t) == PC_STOPPED)
			break;
	}
	o = pc_global_pop(t->cache);
	if (o)
		t->st.global_pops++;
	else
		t->st.global_empty++;
	return o;
}

void pc_free(struct pc_thread *t, struct pc_obj *obj)
{
	const struct pc_backend *b = t->cache->backend;

	for (int tries = 0; tries < FAST_TRIES; tries++) {
		int ret = b->push(t, obj);

		if (ret == PC_OK) {
			t->st.fast_pushes++;
			return;
		}
		if (ret == PC_FULL) {
			t->st.push_full++;
			ret = grow(t);
			if (ret == PC_OK) {
				t->st.grow_ok++;
				continue;
			}
			if (ret == PC_CHANGED)
				t->st.grow_changed++;
			else if (ret == PC_FULL)
				t->st.grow_max++;
			else
				t->st.grow_invalid++;
			break;
		}
		t->st.fast_invalid++;
		if (refresh(t) == PC_STOPPED)
			break;
	}
	pc_global_push(t->cache, obj);
	t->st.global_pushes++;
}

void pc_hold(struct pc_thread *t, struct pc_obj *obj)
{
	if (atomic_exchange_explicit(&obj->held, 1, memory_order_acq_rel))
		t->st.duplicates++;
}

void pc_release(struct pc_thread *t, struct pc_obj *obj)
{
	if (atomic_exchange_explicit(&obj->held, 0, memory_order_acq_rel) != 1)
		t->st.corruption++;
}

/*
 * Signal-handler body. Fast paths and lock-free atomics only: no lock, no
 * refresh (that would be fine too, but the handler need not cache).
 */
void pc_signal_work(struct pc_thread *t)
{
	const struct pc_backend *b = t->cache->backend;
	struct pc_obj *o;
	int ret;

	t->in_signal = 1;
	atomic_signal_fence(memory_order_seq_cst);
	t->sst.handled++;
	if (t->nstash >= PC_STASH) {
		t->sst.stash_full++;
		goto out;
	}
	ret = b->pop(t, &o);
	if (ret == PC_EMPTY) {
		t->sst.empty++;
		goto out;
	}
	if (ret != PC_OK) {
		t->sst.invalid++;
		goto out;
	}
	t->sst.pops++;
	if (!check_popped(t, o, true))
		goto out;
	if (atomic_exchange_explicit(&o->held, 1, memory_order_acq_rel))
		t->sst.duplicates++;
	if (atomic_exchange_explicit(&o->held, 0, memory_order_acq_rel) != 1)
		t->sst.corruption++;
	if (b->push(t, o) == PC_OK) {
		t->sst.pushes++;
	} else {
		/* Invalid (the worker was mid-refresh) or full: park it. */
		t->stash[t->nstash] = o;
		atomic_signal_fence(memory_order_seq_cst);
		t->nstash = t->nstash + 1;
		t->sst.stashed++;
	}
out:
	atomic_signal_fence(memory_order_seq_cst);
	t->in_signal = 0;
}

void pc_drain_stash(struct pc_thread *t)
{
	struct pc_obj *objs[PC_STASH];
	sigset_t usr1, old;
	int n;

	if (!t->nstash)
		return;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &old);
	n = t->nstash;
	for (int i = 0; i < n; i++)
		objs[i] = t->stash[i];
	t->nstash = 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (int i = 0; i < n; i++)
		pc_free(t, objs[i]);
	t->st.stash_drained += (uint64_t)n;
}

void pc_thread_detach(struct pc_thread *t)
{
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);
	t->ready = 0;
	pc_drain_stash(t);
}

/* ---------------------------------------------------------------- audit */

/* Count one sighting of `o`; false for a pointer that is not a pool object. */
static bool audit_seen(const struct pc_cache *c, struct pc_audit *a,
		       uint32_t *seen, const struct pc_obj *o)
{
	if (!obj_in_pool(c, o)) {
		a->bad_entries++;
		return false;
	}
	seen[o->id]++;
	return true;
}

void pc_audit(struct pc_cache *c, struct pc_audit *a)
{
	uint32_t *seen = (uint32_t *)calloc(c->nobjs, sizeof(*seen));

	memset(a, 0, sizeof(*a));
	if (!seen)
		abort();
	for (unsigned int cpu = 0; cpu < c->nr_cpus; cpu++) {
		struct pc_slab *s = atomic_load(&c->slabs[cpu]);
		uint32_t count = PC_HDR_COUNT(s->hdr), cap = PC_HDR_CAP(s->hdr);

		if (cap > PC_MAXCAP || count > cap || s->dead) {
			a->bad_headers++;
			if (count > PC_MAXCAP)
				count = PC_MAXCAP;
		}
		for (uint32_t i = 0; i < count; i++)
			a->in_slabs += audit_seen(c, a, seen, s->items[i]);
	}
	for (unsigned int i = 0; i < c->nglobal; i++)
		a->in_global += audit_seen(c, a, seen, c->global[i]);
	for (unsigned int i = 0; i < c->nobjs; i++) {
		if (seen[i] == 0)
			a->lost++;
		else if (seen[i] > 1)
			a->duplicates += seen[i] - 1;
		if (atomic_load(&c->objs[i].held))
			a->held_at_end++;
	}
	for (unsigned int i = 0; i < c->grave_count; i++) {
		a->dead_slabs++;
		if (!pc_slab_poison_intact(c->grave[(c->grave_head + i) %
						    GRAVE_MAX]))
			a->poison_broken++;
	}
	a->poison_broken += c->poison_broken;
	a->global_overflow = c->global_overflow;
	free(seen);
}

bool pc_audit_clean(const struct pc_audit *a)
{
	return !a->duplicates && !a->lost && !a->held_at_end &&
	       !a->bad_entries && !a->bad_headers && !a->poison_broken &&
	       !a->global_overflow;
}

/* ================================================================ stress */

struct worker {
	struct pc_thread t;
	pthread_t tid;
	struct stress *s;
	int index;
	bool started;
};

struct stress {
	const struct pc_stress_params *p;
	struct pc_cache cache;
	struct worker *w;
	pthread_barrier_t start;
	atomic_int stop;		/* workers and resizer */
	atomic_int stop_signals;
	uint64_t signals_sent;
};

static __thread struct pc_thread *pc_self;
static bool (*volatile sig_hook)(void);

static void on_signal(int sig __attribute__((unused)))
{
	struct pc_thread *t = pc_self;
	int saved = errno;
	bool (*hook)(void) = sig_hook;

	if (hook)
		hook();
	if (t && t->ready)
		pc_signal_work(t);
	errno = saved;
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = {
		.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000
	};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Move to another allowed CPU, or back to all of them. */
static void hop(struct pc_thread *t)
{
	struct pc_cache *c = t->cache;
	int before = sched_getcpu(), after;
	uint64_t r = rng_next(&t->rng);
	cpu_set_t set;

	CPU_ZERO(&set);
	if (r % 4 == 0) {
		for (int i = 0; i < c->ncpus; i++)
			CPU_SET(c->cpus[i], &set);
	} else {
		CPU_SET(c->cpus[(r >> 8) % (unsigned int)c->ncpus], &set);
	}
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return;
	t->st.hops++;
	after = sched_getcpu();
	if (after != before)
		t->st.migrations++;
}

#define MAX_HELD	16

static void *worker_main(void *arg)
{
	struct worker *w = (struct worker *)arg;
	struct stress *s = w->s;
	struct pc_thread *t = &w->t;
	struct pc_obj *held[MAX_HELD];

	pc_thread_attach(&s->cache, t, UINT64_C(0x9e3779b97f4a7c15) *
			 (uint64_t)(w->index + 1));
	if (s->p->thread_hook)
		s->p->thread_hook();
	pc_self = t;
	pthread_barrier_wait(&s->start);
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		uint64_t r = rng_next(&t->rng);
		unsigned int k = 1 + (unsigned int)(r % MAX_HELD), n = 0;

		for (; n < k; n++) {
			struct pc_obj *o = pc_alloc(t);

			if (!o)
				break;
			pc_hold(t, o);
			held[n] = o;
		}
		r >>= 8;
		if (r % 16 == 0) {
			sched_yield();
			t->st.yields++;
		}
		if ((r >> 4) % 256 == 1)
			hop(t);		/* while holding objects */
		for (unsigned int i = 0; i < n; i++) {
			pc_release(t, held[i]);
			pc_free(t, held[i]);
		}
		if ((r >> 12) % 512 == 3)
			hop(t);
		pc_drain_stash(t);
		t->st.loops++;
	}
	pc_thread_detach(t);
	pc_self = NULL;
	return NULL;
}

static void *resizer_main(void *arg)
{
	struct stress *s = (struct stress *)arg;
	unsigned int round = 0;

	pthread_barrier_wait(&s->start);
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		sleep_us(s->p->resize_us);
		if (round % 16 == 15)
			pc_resize_all(&s->cache);
		else
			pc_resize_cpu(&s->cache, s->cache.cpus[round %
				      (unsigned int)s->cache.ncpus], 0, NULL);
		round++;
	}
	return NULL;
}

static void *signaler_main(void *arg)
{
	struct stress *s = (struct stress *)arg;
	uint64_t rng = 0x1234567;

	pthread_barrier_wait(&s->start);
	while (!atomic_load_explicit(&s->stop_signals, memory_order_relaxed)) {
		uint64_t r = rng_next(&rng);
		struct worker *w = &s->w[r % (unsigned int)s->p->workers];

		sleep_us(s->p->signal_us + (unsigned int)((r >> 16) %
							  s->p->signal_us));
		if (w->t.ready && pthread_kill(w->tid, SIGUSR1) == 0)
			s->signals_sent++;
	}
	return NULL;
}

_Static_assert(sizeof(struct pc_stats) % sizeof(uint64_t) == 0, "u64 only");
_Static_assert(sizeof(struct pc_sig_stats) % sizeof(uint64_t) == 0, "u64 only");

static void add_stats(struct pc_stats *sum, const struct pc_stats *st)
{
	const uint64_t *src = (const uint64_t *)st;
	uint64_t *dst = (uint64_t *)sum;

	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

static void add_sig_stats(struct pc_sig_stats *sum,
			  const struct pc_sig_stats *st)
{
	const uint64_t *src = (const uint64_t *)st;
	uint64_t *dst = (uint64_t *)sum;

	for (size_t i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

int pc_stress_run(const struct pc_stress_params *p, struct pc_stress_result *r)
{
	struct sigaction sa, old_sa;
	pthread_t resizer, signaler;
	struct stress *s;
	double t0;
	int ret;

	memset(r, 0, sizeof(*r));
	s = (struct stress *)calloc(1, sizeof(*s));
	if (!s)
		return r->error = -ENOMEM;
	s->p = p;
	ret = pc_cache_init(&s->cache, p->backend, p->nobjs);
	if (ret < 0) {
		free(s);
		return r->error = ret;
	}
	s->w = (struct worker *)aligned_alloc(64,
		((sizeof(*s->w) * (size_t)p->workers + 63) / 64) * 64);
	if (!s->w) {
		pc_cache_destroy(&s->cache);
		free(s);
		return r->error = -ENOMEM;
	}
	memset(s->w, 0, sizeof(*s->w) * (size_t)p->workers);
	pthread_barrier_init(&s->start, NULL, (unsigned int)p->workers + 3);

	sig_hook = p->signal_hook;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, &old_sa);

	for (int i = 0; i < p->workers; i++) {
		s->w[i].s = s;
		s->w[i].index = i;
		if (pthread_create(&s->w[i].tid, NULL, worker_main, &s->w[i]))
			abort();
	}
	if (pthread_create(&resizer, NULL, resizer_main, s) ||
	    pthread_create(&signaler, NULL, signaler_main, s))
		abort();
	pthread_barrier_wait(&s->start);
	t0 = now();
	while (now() - t0 < p->seconds)
		sleep_us(20000);

	/* Signals first: never pthread_kill() a thread that has exited. */
	atomic_store(&s->stop_signals, 1);
	pthread_join(signaler, NULL);
	atomic_store(&s->stop, 1);
	pthread_join(resizer, NULL);
	for (int i = 0; i < p->workers; i++)
		pthread_join(s->w[i].tid, NULL);
	r->seconds = now() - t0;
	sigaction(SIGUSR1, &old_sa, NULL);
	sig_hook = NULL;

	for (int i = 0; i < p->workers; i++) {
		const struct pc_thread *t = &s->w[i].t;

		add_stats(&r->st, &t->st);
		add_sig_stats(&r->sst, &t->sst);
		if (t->bind_result < 0)
			r->bind_errors++;
		else if (t->bind_result > 0)
			r->workers_fallback++;
	}
	pc_audit(&s->cache, &r->audit);
	r->resizes = s->cache.resizes;
	r->resize_alls = s->cache.resize_alls;
	r->fences = s->cache.fences;
	r->fence_errors = s->cache.fence_errors;
	r->drained = s->cache.drained;
	r->recycled = s->cache.recycled;
	r->signals_sent = s->signals_sent;
	r->workers = p->workers;
	r->ncpus = s->cache.ncpus;

	pthread_barrier_destroy(&s->start);
	pc_cache_destroy(&s->cache);
	free(s->w);
	free(s);
	return 0;
}

#define P(name, v)	printf("  %-22s %llu\n", name, (unsigned long long)(v))

void pc_stress_print(const struct pc_stress_result *r)
{
	const struct pc_stats *st = &r->st;
	const struct pc_sig_stats *ss = &r->sst;
	const struct pc_audit *a = &r->audit;

	printf("\n  %.2f s, %d workers (%d fallback, %d bind errors) on %d CPUs\n",
	       r->seconds, r->workers, r->workers_fallback, r->bind_errors,
	       r->ncpus);
	P("loops", st->loops);
	P("fast pops", st->fast_pops);
	P("fast pushes", st->fast_pushes);
	P("pop empty", st->pop_empty);
	P("push full", st->push_full);
	P("fast invalid", st->fast_invalid);
	P("cs aborts", st->aborts);
	P("slot commits", st->refresh_ok);
	P("slot commits failed", st->refresh_invalid);
	P("refresh stopped", st->refresh_stopped);
	P("refills", st->refills);
	P("global pops", st->global_pops);
	P("global pushes", st->global_pushes);
	P("global empty", st->global_empty);
	P("grow commits", st->grow_ok);
	P("grow changed", st->grow_changed);
	P("grow invalid", st->grow_invalid);
	P("grow at max", st->grow_max);
	P("grow yields", st->grow_yields);
	P("hops", st->hops);
	P("migrations", st->migrations);
	P("yields", st->yields);
	P("stash drained", st->stash_drained);
	P("resizes", r->resizes);
	P("resize-all rounds", r->resize_alls);
	P("fences", r->fences);
	P("fence errors", r->fence_errors);
	P("drained objects", r->drained);
	P("slabs recycled", r->recycled);
	P("signals sent", r->signals_sent);
	P("signals handled", ss->handled);
	P("signal pops", ss->pops);
	P("signal pushes", ss->pushes);
	P("signal stashed", ss->stashed);
	P("signal empty", ss->empty);
	P("signal invalid", ss->invalid);
	P("signal stash full", ss->stash_full);
	P("signal cs aborts", ss->aborts);
	P("duplicates", st->duplicates + ss->duplicates);
	P("corruption", st->corruption + ss->corruption);
	P("stale pops", st->stale_pops + ss->stale_pops);
	P("bad pointers", st->bad_pointers + ss->bad_pointers);
	P("audit: in slabs", a->in_slabs);
	P("audit: in global", a->in_global);
	P("audit: duplicates", a->duplicates);
	P("audit: lost", a->lost);
	P("audit: held at end", a->held_at_end);
	P("audit: bad entries", a->bad_entries);
	P("audit: bad headers", a->bad_headers);
	P("audit: dead slabs", a->dead_slabs);
	P("audit: poison broken", a->poison_broken);
	P("audit: global overflow", a->global_overflow);
	fflush(stdout);
}

void pc_stress_metrics(const char *test, const struct pc_stress_result *r,
		       uint64_t abi_violations)
{
	const struct pc_stats *st = &r->st;
	const struct pc_sig_stats *ss = &r->sst;

	printf("VRSEQ-METRICS test=%s duplicates=%llu lost=%llu stale=%llu "
	       "poison=%llu corruption=%llu abi=%llu fences=%llu "
	       "fast_pops=%llu\n", test,
	       (unsigned long long)(st->duplicates + ss->duplicates +
				    r->audit.duplicates),
	       (unsigned long long)r->audit.lost,
	       (unsigned long long)(st->stale_pops + ss->stale_pops),
	       (unsigned long long)r->audit.poison_broken,
	       (unsigned long long)(st->corruption + ss->corruption),
	       (unsigned long long)abi_violations,
	       (unsigned long long)r->fences,
	       (unsigned long long)(st->fast_pops + ss->pops));
	fflush(stdout);
}
