/* SPDX-License-Identifier: MIT */
/*
 * A malloc built on vrseq -- what the library's main users are -- interposed
 * in this binary: malloc, free, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc and
 * malloc_usable_size, so that nothing in the process (ld.so, libc, libvrseq,
 * constructors, threads) ever gets memory from glibc's allocator and glibc
 * never mixes allocators.
 *
 * Memory comes from mmap only: one arena per size class (16 .. 4096 bytes,
 * powers of two; an object of class size S is aligned to S) and a mapping of
 * its own for anything larger or more aligned. Every small allocation and
 * free goes through a per-CPU cache from the very first call, the ones glibc
 * and the constructors make before main included:
 *
 *	slot = vrseq_thread_slot();
 *	pop/push: one rseq critical section that validates the slot, takes
 *	          the cached per-CPU cache pointer and commits the slab header;
 *	invalid:  token = vrseq_slot_observe(slot), cpu = vrseq_token_id(token),
 *	          find (or mmap) that CPU's cache, vrseq_slot_commit(), retry;
 *	else:     the central free list of the class (a spinlock of our own).
 *
 * With fallback slots (no rseq: valgrind, seccomp) every load is invalid and
 * every commit fails, so everything is served by the central lists; the test
 * checks that too, natively, in a child that has rseq blocked.
 *
 * A fencer thread fences single CPUs and all CPUs while worker threads
 * allocate, and "drains" a CPU (stop it, vrseq_fence_cpu(), move its slabs to
 * the central lists, restart it), which is only correct if the fence's
 * guarantee holds. Blocks are filled with a pattern naming their owner and
 * checked at free; the allocator keeps a state byte per object, so a block
 * handed out twice, freed twice or lost shows up; an audit at the end finds
 * every object exactly once.
 *
 * The recursion guard: a TLS depth counter. A call made while the same thread
 * is already inside the allocator, or inside a vrseq function called from
 * this file (vrseq_init(), vrseq_get_info(), the fences), is a re-entry: it
 * is counted, logged with its caller, served from the central lists without
 * calling vrseq, and fails the test. Nothing reachable from vrseq's set-up,
 * binding, vrseq_thread_slot() or a fence may allocate.
 *
 * Before main: ld.so and glibc 2.36 allocate nothing before main in a C
 * program (the test counts and says so), so a constructor of priority 101
 * does what another library's constructor would -- stdio, strings, growth,
 * alignment, a thread -- and is the first caller of the allocator, hence of
 * vrseq's process set-up and binding.
 *
 * The watchdog: the first call into the allocator arms alarm(60), so a
 * deadlock before main still ends the test (exit 1, with what every thread
 * was doing) instead of hanging CI; main re-arms it per phase.
 *
 * Children (re-executed with a seccomp filter installed first): membarrier
 * blocked, so fences pin the caller to each CPU in turn; rseq blocked, so
 * every slot is a fallback slot.
 *
 * VRSEQ_TEST_MALLOC_ITERS=n operations per worker (20000; VRSEQ_TEST_QUICK:
 * 4000). VRSEQ_TEST_MALLOC_NO_GUARD=1 (diagnostic): re-entered calls take
 * the per-CPU path too, as in an allocator without a guard.
 *
 * Exit: 0 pass, 1 fail (the watchdog included), 77 skip (not x86_64;
 * AddressSanitizer, which brings its own malloc; valgrind without
 * --soname-synonyms=somalloc=nouserintercepts, which replaces ours), 99 hard
 * error.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vrseq.h>

#define EXIT_SKIP	77
#define EXIT_HARD	99

#if defined(__SANITIZE_ADDRESS__)
# define TM_ASAN	1
#elif defined(__has_feature)
# if __has_feature(address_sanitizer)
#  define TM_ASAN	1
# endif
#endif

#if defined(__x86_64__) && !defined(TM_ASAN)

#define WATCHDOG_S	60

#define NCLASS		9		/* 16 .. 4096 */
#define MIN_SHIFT	4
#define MAX_SMALL	((size_t)1 << (MIN_SHIFT + NCLASS - 1))
#define REGION_SHIFT	24		/* 16 MiB of address space per class */
#define REGION		((size_t)1 << REGION_SHIFT)
#define SLAB_CAP	32
#define BATCH		16
#define MAX_CPUS	1024
#define PAGE		4096
#define LARGE_HDR	64
#define LARGE_MAGIC	UINT64_C(0x766d616c6c6f6331)

/* ================================================================ state */

struct tm_class {
	char *base;		/* REGION bytes: objects of `size` */
	size_t size;
	size_t nobjs;
	size_t carved;		/* objects handed to the caches so far */
	unsigned char *state;	/* per object: 1 while handed out */
	void **central;		/* the central free list, nobjs entries */
	size_t ncentral;
	int lock;
};

/* hdr = (capacity << 32) | count, at offset 0; items at offset 8. */
struct tm_slab {
	uint64_t hdr;
	void *items[SLAB_CAP];
} __attribute__((aligned(64)));

struct tm_cpu {
	struct tm_slab slab[NCLASS];
};

_Static_assert(offsetof(struct tm_slab, items) == 8, "items at 8");

struct tm_large {
	uint64_t magic;
	void *map;
	size_t len;
	size_t usable;
	uint64_t pad[4];
};

_Static_assert(sizeof(struct tm_large) == LARGE_HDR, "large header");

static int g_ready;			/* 0, 1 setting up, 2 ready, -1 failed */
static char *g_small;			/* NCLASS regions */
static struct tm_class g_class[NCLASS];
static struct tm_cpu *g_cpu[MAX_CPUS];
static int g_stopped[MAX_CPUS];

/* Statistics: per thread, added to g_st by tm_flush(). */
struct tm_stats {
	uint64_t slot_calls;		/* vrseq_thread_slot() */
	uint64_t fast_pops, fast_pushes;
	uint64_t pop_empty, push_full, refills, spills;
	uint64_t invalid;		/* a section found the slot invalid */
	uint64_t commits, commit_fails, stopped;
	uint64_t slow_allocs, slow_frees;
	uint64_t aborts;
	uint64_t large_allocs, large_frees;
};

static __thread struct tm_stats tl_st;
static struct tm_stats g_st;

/* Errors and counts that decide the verdict (atomic). */
static uint64_t g_dup_alloc;		/* handed out an object in use */
static uint64_t g_double_free;
static uint64_t g_bad_free;		/* inside an arena, not an object */
static uint64_t g_foreign_free;		/* not ours at all */
static uint64_t g_enomem;
static uint64_t g_tracked_out, g_tracked_in;
static uint64_t g_premain, g_premain_glibc, g_premain_percpu;
static uint64_t g_live_large;

static int g_main_started, g_ctor_started;
static volatile sig_atomic_t g_watchdog_fired;
static const char *volatile g_phase = "before main";

/* Where a re-entry happened: the vrseq function (or the allocator itself). */
struct tm_site {
	const char *name;
	uint64_t reentries;
};

static struct tm_site site_malloc = { "the allocator (no vrseq call)", 0 };
static struct tm_site site_thread_slot = { "vrseq_thread_slot()", 0 };
static struct tm_site site_init = { "vrseq_init()", 0 };
static struct tm_site site_get_info = { "vrseq_get_info()", 0 };
static struct tm_site site_fence_cpu = { "vrseq_fence_cpu()", 0 };
static struct tm_site site_fence_all = { "vrseq_fence_all()", 0 };
static struct tm_site *const g_sites[] = {
	&site_thread_slot, &site_init, &site_get_info, &site_fence_cpu,
	&site_fence_all, &site_malloc,
};
#define NSITES	(sizeof(g_sites) / sizeof(g_sites[0]))

#define RELOG	16
struct tm_reentry {
	const char *api;	/* the re-entered function */
	const char *outer;	/* the call we were inside, or NULL */
	const struct tm_site *site;
	size_t size;
	void *caller;
	int tid;
	int premain;
};
static struct tm_reentry g_relog[RELOG];
static unsigned int g_nrelog;
static uint64_t g_reentries;

/* For the watchdog: what each thread is doing (first NTRACE threads). */
#define NTRACE	128
struct tm_trace {
	int tid;
	const char *volatile api;
	const char *volatile inside;
};
static struct tm_trace g_trace[NTRACE];
static unsigned int g_ntrace;

static __thread unsigned int tl_depth;
static __thread const char *tl_api;
static __thread struct tm_site *tl_inside;
static __thread int tl_trace = -1;
static __thread int tl_tracked;

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ADD(x, n)	__atomic_fetch_add(&(x), (n), __ATOMIC_RELAXED)

/* ================================================================ watchdog */

static size_t fmt_str(char *buf, size_t at, size_t max, const char *s)
{
	while (s && *s && at < max)
		buf[at++] = *s++;
	return at;
}

static size_t fmt_num(char *buf, size_t at, size_t max, uint64_t v)
{
	char tmp[24];
	int n = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n && at < max)
		buf[at++] = tmp[--n];
	return at;
}

static void say(const char *s)
{
	size_t n = strlen(s);

	while (n) {
		ssize_t w = write(2, s, n);

		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

static void on_watchdog(int sig __attribute__((unused)))
{
	char buf[256];
	unsigned int n = LOAD(g_ntrace);
	size_t at;

	g_watchdog_fired = 1;
	at = fmt_str(buf, 0, sizeof(buf), "test-malloc: WATCHDOG fired: no "
		     "progress for ");
	at = fmt_num(buf, at, sizeof(buf), WATCHDOG_S);
	at = fmt_str(buf, at, sizeof(buf), " s (phase: ");
	at = fmt_str(buf, at, sizeof(buf), g_phase);
	at = fmt_str(buf, at, sizeof(buf), "), deadlock?\n");
	buf[at < sizeof(buf) ? at : sizeof(buf) - 1] = 0;
	say(buf);
	for (unsigned int i = 0; i < n && i < NTRACE; i++) {
		const char *api = g_trace[i].api, *inside = g_trace[i].inside;

		if (!api && !inside)
			continue;
		at = fmt_str(buf, 0, sizeof(buf), "  thread ");
		at = fmt_num(buf, at, sizeof(buf), (uint64_t)g_trace[i].tid);
		at = fmt_str(buf, at, sizeof(buf), ": in ");
		at = fmt_str(buf, at, sizeof(buf), api ? api : "(not in malloc)");
		at = fmt_str(buf, at, sizeof(buf), ", inside ");
		at = fmt_str(buf, at, sizeof(buf), inside ? inside : "no vrseq call");
		at = fmt_str(buf, at, sizeof(buf), "\n");
		buf[at < sizeof(buf) ? at : sizeof(buf) - 1] = 0;
		say(buf);
	}
	say("malloc: 0 passed, 1 failed\n");
	_exit(1);
}

static struct tm_trace *trace(void)
{
	if (__builtin_expect(tl_trace < 0, 0)) {
		unsigned int i = ADD(g_ntrace, 1);

		if (i >= NTRACE) {
			tl_trace = NTRACE;	/* not traced */
			return NULL;
		}
		g_trace[i].tid = (int)syscall(SYS_gettid);
		tl_trace = (int)i;
	}
	return tl_trace < NTRACE ? &g_trace[tl_trace] : NULL;
}

static void set_inside(struct tm_site *site)
{
	struct tm_trace *t = trace();

	tl_inside = site;
	if (t)
		t->inside = site ? site->name : NULL;
}

/* ================================================================ set-up */

static void *map(size_t len, int extra)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void tm_setup_locked(void)
{
	struct sigaction sa;
	size_t states = 0;
	unsigned char *state;
	void **central;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_watchdog;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(WATCHDOG_S);

	for (unsigned int k = 0; k < NCLASS; k++)
		states += REGION >> (MIN_SHIFT + k);
	g_small = map(NCLASS * REGION, MAP_NORESERVE);
	state = map(states, MAP_NORESERVE);
	central = map(states * sizeof(void *), MAP_NORESERVE);
	if (!g_small || !state || !central) {
		say("test-malloc: cannot map the arenas\n");
		__atomic_store_n(&g_ready, -1, __ATOMIC_RELEASE);
		return;
	}
	for (unsigned int k = 0; k < NCLASS; k++) {
		struct tm_class *c = &g_class[k];

		c->base = g_small + (size_t)k * REGION;
		c->size = (size_t)1 << (MIN_SHIFT + k);
		c->nobjs = REGION / c->size;
		c->state = state;
		c->central = central;
		state += c->nobjs;
		central += c->nobjs;
	}
	__atomic_store_n(&g_ready, 2, __ATOMIC_RELEASE);
}

static bool tm_setup(void)
{
	int state = __atomic_load_n(&g_ready, __ATOMIC_ACQUIRE), zero = 0;

	if (__builtin_expect(state == 2, 1))
		return true;
	if (state == 0 && __atomic_compare_exchange_n(&g_ready, &zero, 1, false,
						      __ATOMIC_ACQ_REL,
						      __ATOMIC_ACQUIRE))
		tm_setup_locked();
	while ((state = __atomic_load_n(&g_ready, __ATOMIC_ACQUIRE)) == 1)
		sched_yield();
	return state == 2;
}

/* ================================================================ central */

static void spin_lock(int *l)
{
	unsigned int n = 0;

	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(l, __ATOMIC_RELAXED)) {
			if (++n % 64 == 0)
				sched_yield();
			else
				__builtin_ia32_pause();
		}
	}
}

static void spin_unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

/* Up to `max` objects from the central list, else freshly carved ones. */
static unsigned int central_take(unsigned int k, void **out, unsigned int max)
{
	struct tm_class *c = &g_class[k];
	unsigned int n = 0;
	size_t first;

	spin_lock(&c->lock);
	while (n < max && c->ncentral)
		out[n++] = c->central[--c->ncentral];
	spin_unlock(&c->lock);
	if (n)
		return n;
	first = ADD(c->carved, max);
	for (; n < max && first + n < c->nobjs; n++)
		out[n] = c->base + (first + n) * c->size;
	return n;
}

static void central_put(unsigned int k, void *const *objs, unsigned int n)
{
	struct tm_class *c = &g_class[k];

	spin_lock(&c->lock);
	for (unsigned int i = 0; i < n; i++) {
		if (c->ncentral < c->nobjs)
			c->central[c->ncentral++] = objs[i];
		else
			ADD(g_double_free, 1);	/* only with duplicates */
	}
	spin_unlock(&c->lock);
}

/* ================================================================ per CPU */

enum { CS_OK, CS_INVALID, CS_EMPTY, CS_FULL };
enum { RF_OK, RF_FAILED, RF_STOPPED, RF_NONE };

static int cs_pop(struct vrseq_slot *slot, unsigned long off, void **out)
{
	void *item;

retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")	/* this CPU's cache */
		"addq %[off], %%rcx\n\t"		/* the class's slab */
		"movq (%%rcx), %%rdx\n\t"		/* hdr */
		"testl %%edx, %%edx\n\t"
		"jz %l[empty]\n\t"
		"subq $1, %%rdx\n\t"
		"movl %%edx, %%eax\n\t"			/* index count - 1 */
		"movq 8(%%rcx, %%rax, 8), %[item]\n\t"
		"movq %%rdx, (%%rcx)\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		: [item] "=&r" (item)
		: VRSEQ_CS_INPUTS_CPU(slot), [off] "r" (off)
		: VRSEQ_CS_CLOBBERS, "rcx", "rdx"
		: invalid, empty, aborted);
	*out = item;
	return CS_OK;
invalid:
	return CS_INVALID;
empty:
	return CS_EMPTY;
aborted:
	tl_st.aborts++;
	goto retry;
}

static int cs_push(struct vrseq_slot *slot, unsigned long off, void *obj)
{
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")	/* this CPU's cache */
		"addq %[off], %%rcx\n\t"		/* the class's slab */
		"movq (%%rcx), %%rdx\n\t"		/* hdr */
		"movq %%rdx, %%rax\n\t"
		"shrq $32, %%rax\n\t"			/* capacity */
		"cmpl %%eax, %%edx\n\t"
		"jae %l[full]\n\t"
		"movl %%edx, %%eax\n\t"			/* index count */
		/* Not a commit: harmless if we abort before the next store. */
		"movq %[item], 8(%%rcx, %%rax, 8)\n\t"
		"addq $1, %%rdx\n\t"
		"movq %%rdx, (%%rcx)\n\t"		/* commit */
		VRSEQ_CS_END("aborted")
		:
		: VRSEQ_CS_INPUTS_CPU(slot), [off] "r" (off), [item] "r" (obj)
		: VRSEQ_CS_CLOBBERS, "rcx", "rdx"
		: invalid, full, aborted);
	return CS_OK;
invalid:
	return CS_INVALID;
full:
	return CS_FULL;
aborted:
	tl_st.aborts++;
	goto retry;
}

static struct vrseq_slot *thread_slot(void)
{
	struct tm_site *saved = tl_inside;
	struct vrseq_slot *slot;

	set_inside(&site_thread_slot);
	slot = vrseq_thread_slot();
	set_inside(saved);
	tl_st.slot_calls++;
	return slot;
}

static struct tm_cpu *cpu_cache(uint32_t cpu)
{
	struct tm_cpu *c = __atomic_load_n(&g_cpu[cpu], __ATOMIC_ACQUIRE), *fresh;

	if (c)
		return c;
	fresh = map(sizeof(*fresh), 0);
	if (!fresh)
		return NULL;
	for (unsigned int k = 0; k < NCLASS; k++)
		fresh->slab[k].hdr = (uint64_t)SLAB_CAP << 32;
	if (__atomic_compare_exchange_n(&g_cpu[cpu], &c, fresh, false,
					__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return fresh;
	munmap(fresh, sizeof(*fresh));
	return c;
}

/*
 * The legacy protocol: observe, compute the value for the observed CPU
 * outside any critical section, commit. A stopped CPU (being drained) is not
 * cached: observing after the drainer's fence sees its "stopped" flag.
 */
static int refresh(struct vrseq_slot *slot)
{
	vrseq_token_t token = vrseq_slot_observe(slot);
	uint32_t cpu = vrseq_token_id(token);
	struct tm_cpu *c;

	if (cpu >= MAX_CPUS)
		return RF_NONE;
	if (__atomic_load_n(&g_stopped[cpu], __ATOMIC_ACQUIRE)) {
		tl_st.stopped++;
		return RF_STOPPED;
	}
	c = cpu_cache(cpu);
	if (!c)
		return RF_NONE;
	if (vrseq_slot_commit(slot, token, (uint64_t)(uintptr_t)c) !=
	    VRSEQ_COMMITTED) {
		tl_st.commit_fails++;
		return RF_FAILED;
	}
	tl_st.commits++;
	return RF_OK;
}

static unsigned long slab_off(unsigned int k)
{
	return (unsigned long)k * sizeof(struct tm_slab);
}

static int tries_for(const struct vrseq_slot *slot)
{
	/* A fallback slot still goes through load and commit once. */
	return slot->flags & VRSEQ_SLOT_F_FALLBACK ? 1 : 3;
}

static void *refill(struct vrseq_slot *slot, unsigned int k)
{
	void *batch[BATCH];
	unsigned int n = central_take(k, batch, BATCH), i = 0;
	void *p;

	if (!n)
		return NULL;
	p = batch[--n];
	while (i < n && cs_push(slot, slab_off(k), batch[i]) == CS_OK)
		i++;
	if (i < n)
		central_put(k, batch + i, n - i);
	tl_st.refills++;
	return p;
}

static void spill(struct vrseq_slot *slot, unsigned int k)
{
	void *batch[BATCH];
	unsigned int n = 0;

	while (n < BATCH && cs_pop(slot, slab_off(k), &batch[n]) == CS_OK)
		n++;
	if (n)
		central_put(k, batch, n);
	tl_st.spills++;
}

static void *percpu_alloc(unsigned int k)
{
	struct vrseq_slot *slot = thread_slot();
	int tries = tries_for(slot);
	void *p = NULL;

	for (int i = 0; i < tries; i++) {
		int ret = cs_pop(slot, slab_off(k), &p);

		if (ret == CS_OK) {
			tl_st.fast_pops++;
			return p;
		}
		if (ret == CS_EMPTY) {
			tl_st.pop_empty++;
			return refill(slot, k);
		}
		tl_st.invalid++;
		ret = refresh(slot);
		if (ret == RF_STOPPED || ret == RF_NONE)
			break;
	}
	tl_st.slow_allocs++;
	return central_take(k, &p, 1) ? p : NULL;
}

static void percpu_free(unsigned int k, void *p)
{
	struct vrseq_slot *slot = thread_slot();
	int tries = tries_for(slot);

	for (int i = 0; i < tries; i++) {
		int ret = cs_push(slot, slab_off(k), p);

		if (ret == CS_OK) {
			tl_st.fast_pushes++;
			return;
		}
		if (ret == CS_FULL) {
			tl_st.push_full++;
			spill(slot, k);
			continue;
		}
		tl_st.invalid++;
		ret = refresh(slot);
		if (ret == RF_STOPPED || ret == RF_NONE)
			break;
	}
	tl_st.slow_frees++;
	central_put(k, &p, 1);
}

/* ================================================================ core */

static unsigned int class_of(size_t n)
{
	if (n <= ((size_t)1 << MIN_SHIFT))
		return 0;
	return (unsigned int)(64 - __builtin_clzll((unsigned long long)n - 1)) -
	       MIN_SHIFT;
}

/* The class and index of a small object; false if p is not in an arena. */
static bool small_obj(const void *p, unsigned int *k, size_t *idx, bool *ok)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)g_small;
	const struct tm_class *c;

	if (!g_small || (uintptr_t)p < (uintptr_t)g_small ||
	    off >= NCLASS * REGION)
		return false;
	*k = (unsigned int)(off >> REGION_SHIFT);
	c = &g_class[*k];
	off &= REGION - 1;
	*idx = off >> (MIN_SHIFT + *k);
	*ok = (off & (c->size - 1)) == 0 &&
	      *idx < __atomic_load_n(&c->carved, __ATOMIC_RELAXED);
	return true;
}

static struct tm_large *large_hdr(const void *p)
{
	struct tm_large *h = (struct tm_large *)((uintptr_t)p - LARGE_HDR);

	if ((uintptr_t)p % LARGE_HDR || h->magic != LARGE_MAGIC)
		return NULL;
	return h;
}

static void *large_alloc(size_t size, size_t align)
{
	size_t a = align < LARGE_HDR ? LARGE_HDR : align, len;
	struct tm_large *h;
	uintptr_t p;
	char *m;

	if (size > SIZE_MAX / 2 - a - LARGE_HDR - PAGE)
		return NULL;
	len = (size + a + LARGE_HDR + PAGE - 1) & ~(size_t)(PAGE - 1);
	m = map(len, 0);
	if (!m)
		return NULL;
	p = ((uintptr_t)m + LARGE_HDR + a - 1) & ~(uintptr_t)(a - 1);
	h = (struct tm_large *)(p - LARGE_HDR);
	h->map = m;
	h->len = len;
	h->usable = (size_t)((uintptr_t)m + len - p);
	h->magic = LARGE_MAGIC;
	tl_st.large_allocs++;
	ADD(g_live_large, 1);
	return (void *)p;
}

/* size > 0; align a power of two (0: none). */
static void *tm_alloc(size_t size, size_t align, bool percpu)
{
	size_t need = size < align ? align : size;
	unsigned int k;
	size_t idx;
	bool ok;
	void *p;

	if (need <= MAX_SMALL) {
		k = class_of(need);
		if (percpu) {
			p = percpu_alloc(k);
		} else {
			void *one = NULL;

			tl_st.slow_allocs++;
			p = central_take(k, &one, 1) ? one : NULL;
		}
		if (p && small_obj(p, &k, &idx, &ok)) {
			if (__atomic_exchange_n(&g_class[k].state[idx], 1,
						__ATOMIC_ACQ_REL))
				ADD(g_dup_alloc, 1);
		}
	} else {
		p = large_alloc(size, align);
	}
	if (!p) {
		ADD(g_enomem, 1);
		return NULL;
	}
	if (tl_tracked)
		ADD(g_tracked_out, 1);
	return p;
}

static void tm_free(void *p, bool percpu)
{
	struct tm_large *h;
	unsigned int k;
	size_t idx;
	bool ok;

	if (!p)
		return;
	if (small_obj(p, &k, &idx, &ok)) {
		if (!ok) {
			ADD(g_bad_free, 1);
			return;
		}
		if (__atomic_exchange_n(&g_class[k].state[idx], 0,
					__ATOMIC_ACQ_REL) != 1) {
			ADD(g_double_free, 1);
			return;
		}
		if (percpu) {
			percpu_free(k, p);
		} else {
			tl_st.slow_frees++;
			central_put(k, &p, 1);
		}
	} else if ((h = large_hdr(p)) != NULL) {
		h->magic = 0;
		munmap(h->map, h->len);
		tl_st.large_frees++;
		__atomic_fetch_sub(&g_live_large, 1, __ATOMIC_RELAXED);
	} else {
		/* ld.so's early minimal malloc? glibc never frees those here. */
		ADD(g_foreign_free, 1);
		return;
	}
	if (tl_tracked)
		ADD(g_tracked_in, 1);
}

static size_t tm_usable(const void *p)
{
	const struct tm_large *h;
	unsigned int k;
	size_t idx;
	bool ok;

	if (!p)
		return 0;
	if (small_obj(p, &k, &idx, &ok))
		return ok ? g_class[k].size : 0;
	h = large_hdr(p);
	return h ? h->usable : 0;
}

/* ================================================================ guard */

static bool no_guard(void)
{
	const char *s = getenv("VRSEQ_TEST_MALLOC_NO_GUARD");

	return s && *s == '1';
}

static void note_reentry(const char *api, size_t size, void *caller)
{
	struct tm_site *site = tl_inside ? tl_inside : &site_malloc;
	unsigned int i = ADD(g_nrelog, 1);

	ADD(g_reentries, 1);
	ADD(site->reentries, 1);
	if (i < RELOG) {
		g_relog[i].api = api;
		g_relog[i].outer = tl_depth > 1 ? tl_api : NULL;
		g_relog[i].site = site;
		g_relog[i].size = size;
		g_relog[i].caller = caller;
		g_relog[i].tid = (int)syscall(SYS_gettid);
		g_relog[i].premain = !LOAD(g_main_started);
	}
}

/*
 * Every entry point starts here. Returns whether the call may use the
 * per-CPU path: not when it re-entered the allocator or a vrseq call.
 */
static bool tm_enter(const char *api, size_t size, void *caller, bool alloc,
		     int *saved_errno)
{
	struct tm_trace *t;
	bool percpu;

	*saved_errno = errno;
	if (!tm_setup()) {
		tl_depth++;		/* tm_leave() undoes it */
		return false;
	}
	t = trace();
	if (t && !t->api)
		t->api = api;	/* the outermost call, for the watchdog */
	if (tl_depth++ == 0 && !tl_inside) {
		tl_api = api;
		percpu = true;
	} else {
		note_reentry(api, size, caller);
		percpu = no_guard();
	}
	if (alloc && !LOAD(g_main_started)) {
		ADD(g_premain, 1);
		if (!LOAD(g_ctor_started))
			ADD(g_premain_glibc, 1);
		if (percpu && size <= MAX_SMALL)
			ADD(g_premain_percpu, 1);
	}
	return percpu;
}

static void tm_leave(int saved_errno, bool failed)
{
	if (--tl_depth == 0) {
		struct tm_trace *t = trace();

		tl_api = NULL;
		if (t)
			t->api = NULL;
	}
	errno = failed ? ENOMEM : saved_errno;
}

#define CALLER	__builtin_extract_return_addr(__builtin_return_address(0))

/*
 * Entry points are never inlined into (or split for) this file's own
 * callers: a tool that replaces them (valgrind) then replaces every call,
 * instead of some, and nothing mixes allocators.
 */
#if defined(__clang__)
# define TM_API	__attribute__((noinline))
#else
# define TM_API	__attribute__((noipa))
#endif

/* ================================================================ the API */

TM_API void *malloc(size_t size)
{
	int e;
	bool percpu = tm_enter("malloc", size, CALLER, true, &e);
	void *p = g_ready == 2 ? tm_alloc(size ? size : 1, 0, percpu) : NULL;

	tm_leave(e, !p);
	return p;
}

TM_API void free(void *p)
{
	int e;
	bool percpu;

	if (!p)
		return;
	percpu = tm_enter("free", 0, CALLER, false, &e);
	if (g_ready == 2)
		tm_free(p, percpu);
	tm_leave(e, false);
}

TM_API void *calloc(size_t n, size_t size)
{
	int e;
	bool percpu = tm_enter("calloc", n * size, CALLER, true, &e);
	void *p = NULL;
	size_t bytes;

	if (g_ready == 2 && !__builtin_mul_overflow(n, size, &bytes)) {
		p = tm_alloc(bytes ? bytes : 1, 0, percpu);
		/* Large blocks are fresh mappings: zero already. */
		if (p && bytes && bytes <= MAX_SMALL)
			memset(p, 0, bytes);
	}
	tm_leave(e, !p);
	return p;
}

static void *tm_realloc(void *p, size_t size, bool percpu)
{
	size_t old = tm_usable(p);
	unsigned int k;
	size_t idx;
	bool ok;
	void *q;

	if (old == 0)
		return NULL;	/* not ours: cannot know its size */
	if (small_obj(p, &k, &idx, &ok) ? size <= old && class_of(size) == k
					 : size <= old && size > old / 2)
		return p;
	q = tm_alloc(size, 0, percpu);
	if (!q)
		return NULL;
	memcpy(q, p, old < size ? old : size);
	tm_free(p, percpu);
	return q;
}

TM_API void *realloc(void *p, size_t size)
{
	int e;
	bool percpu = tm_enter("realloc", size, CALLER, true, &e);
	void *q = NULL;

	if (g_ready == 2) {
		if (!p) {
			q = tm_alloc(size ? size : 1, 0, percpu);
		} else if (size == 0) {
			tm_free(p, percpu);	/* glibc: free, return NULL */
			tm_leave(e, false);
			return NULL;
		} else {
			q = tm_realloc(p, size, percpu);
		}
	}
	tm_leave(e, !q);
	return q;
}

TM_API void *reallocarray(void *p, size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, bytes);
}

static bool pow2(size_t a)
{
	return a && !(a & (a - 1));
}

static void *aligned(const char *api, size_t align, size_t size, void *caller,
		     int *err)
{
	int e;
	bool percpu = tm_enter(api, size, caller, true, &e);
	void *p = NULL;

	if (g_ready == 2)
		p = tm_alloc(size ? size : 1, align < 16 ? 16 : align, percpu);
	*err = p ? 0 : ENOMEM;
	tm_leave(e, !p);
	return p;
}

TM_API int posix_memalign(void **out, size_t align, size_t size)
{
	void *p;
	int err;

	if (!pow2(align) || align % sizeof(void *))
		return EINVAL;
	p = aligned("posix_memalign", align, size, CALLER, &err);
	if (p)
		*out = p;
	return err;
}

TM_API void *aligned_alloc(size_t align, size_t size)
{
	int err;

	if (!pow2(align)) {
		errno = EINVAL;
		return NULL;
	}
	return aligned("aligned_alloc", align, size, CALLER, &err);
}

TM_API void *memalign(size_t align, size_t size)
{
	int err;

	if (align > SIZE_MAX / 2 + 1) {
		errno = EINVAL;
		return NULL;
	}
	while (!pow2(align))	/* glibc rounds up */
		align = align ? (align | (align - 1)) + 1 : 1;
	return aligned("memalign", align, size, CALLER, &err);
}

TM_API void *valloc(size_t size)
{
	int err;

	return aligned("valloc", PAGE, size, CALLER, &err);
}

TM_API void *pvalloc(size_t size)
{
	int err;

	if (size > SIZE_MAX - PAGE) {
		errno = ENOMEM;
		return NULL;
	}
	size = (size + PAGE - 1) & ~(size_t)(PAGE - 1);
	return aligned("pvalloc", PAGE, size ? size : PAGE, CALLER, &err);
}

TM_API size_t malloc_usable_size(void *p)
{
	return g_ready == 2 ? tm_usable(p) : 0;
}

/* ================================================================ stats */

_Static_assert(sizeof(struct tm_stats) % sizeof(uint64_t) == 0, "u64 only");

static void tm_flush(void)
{
	const uint64_t *src = (const uint64_t *)&tl_st;
	uint64_t *dst = (uint64_t *)&g_st;

	for (size_t i = 0; i < sizeof(tl_st) / sizeof(uint64_t); i++)
		ADD(dst[i], src[i]);
	memset(&tl_st, 0, sizeof(tl_st));
}

static struct tm_stats stats_now(void)
{
	struct tm_stats s;
	const uint64_t *src = (const uint64_t *)&g_st;
	uint64_t *dst = (uint64_t *)&s;

	for (size_t i = 0; i < sizeof(s) / sizeof(uint64_t); i++)
		dst[i] = LOAD(src[i]);
	return s;
}

/* ================================================================ helpers */

static int g_fails, g_passes;
static bool g_case_bad;
static const char *g_mode = "";	/* child mode, or "" */

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("    FAIL (line %d): ", __LINE__);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
		g_case_bad = true;					\
	}								\
} while (0)

static void case_begin(const char *name)
{
	g_phase = name;
	g_case_bad = false;
	printf("%s%s%scase %s\n", *g_mode ? "[" : "", g_mode,
	       *g_mode ? "] " : "", name);
	fflush(stdout);
}

static void case_end(void)
{
	if (g_case_bad)
		g_fails++;
	else
		g_passes++;
	printf("  -> %s\n", g_case_bad ? "FAILED" : "ok");
	fflush(stdout);
}

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * UINT64_C(0x2545F4914F6CDD1D);
}

/*
 * Word j of a block holds tag ^ j * K; byte i is byte i % 8 of word i / 8
 * (little-endian), so any prefix of a block can be checked.
 */
static uint64_t pattern_word(uint64_t tag, size_t j)
{
	return tag ^ ((uint64_t)j * UINT64_C(0x9e3779b97f4a7c15));
}

static void fill(void *p, size_t n, uint64_t tag)
{
	uint64_t *w = p;
	unsigned char *b = p;
	size_t i;

	for (i = 0; i < n / 8; i++)
		w[i] = pattern_word(tag, i);
	for (i = n & ~(size_t)7; i < n; i++)
		b[i] = (unsigned char)(pattern_word(tag, i / 8) >> (8 * (i & 7)));
}

static bool intact(const void *p, size_t n, uint64_t tag)
{
	const uint64_t *w = p;
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n / 8; i++)
		if (w[i] != pattern_word(tag, i))
			return false;
	for (i = n & ~(size_t)7; i < n; i++)
		if (b[i] != (unsigned char)(pattern_word(tag, i / 8) >>
					    (8 * (i & 7))))
			return false;
	return true;
}

static void print_reentries(uint64_t from)
{
	unsigned int n = LOAD(g_nrelog);

	for (unsigned int i = (unsigned int)from; i < n && i < RELOG; i++) {
		const struct tm_reentry *r = &g_relog[i];
		Dl_info info;
		const char *sym = NULL, *obj = "?";
		uintptr_t delta = (uintptr_t)r->caller;
		char size[24];

		/* Symbol+offset, or the offset in the object (for addr2line). */
		if (dladdr(r->caller, &info)) {
			if (info.dli_sname) {
				sym = info.dli_sname;
				delta -= (uintptr_t)info.dli_saddr;
			} else {
				delta -= (uintptr_t)info.dli_fbase;
			}
			if (info.dli_fname)
				obj = info.dli_fname;
		}
		if (strcmp(r->api, "free"))
			snprintf(size, sizeof(size), "%zu", r->size);
		else
			size[0] = 0;
		printf("      %s(%s) called from %s+0x%lx (%s), thread %d%s, "
		       "inside %s%s%s\n", r->api, size, sym ? sym : obj,
		       (unsigned long)delta, sym ? obj : "no symbol", r->tid,
		       r->premain ? " before main" : "", r->site->name,
		       r->outer ? " from " : "", r->outer ? r->outer : "");
	}
	if (n > RELOG)
		printf("      (%u more not logged)\n", n - RELOG);
}

/* Re-entries since `*mark`: none allowed. */
static void check_no_reentry(uint64_t *mark, const char *when)
{
	uint64_t now = LOAD(g_reentries);

	CHECK(now == *mark, "%llu allocator call(s) re-entered %s "
	      "(vrseq allocated, or a vrseq call we made did):",
	      (unsigned long long)(now - *mark), when);
	if (now != *mark) {
		for (size_t i = 0; i < NSITES; i++)
			if (LOAD(g_sites[i]->reentries))
				printf("      %llu so far inside %s\n",
				       (unsigned long long)
				       LOAD(g_sites[i]->reentries),
				       g_sites[i]->name);
		print_reentries(*mark);
	}
	*mark = now;
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int get_info(struct vrseq_info *info)
{
	struct tm_site *saved = tl_inside;
	int ret;

	set_inside(&site_get_info);
	ret = vrseq_get_info(info, sizeof(*info));
	set_inside(saved);
	return ret;
}

/* ================================================================ before main */

/*
 * What another library's constructor does before main: stdio, strings,
 * growth, alignment, and a thread. ld.so and glibc 2.36 themselves allocate
 * nothing before main in a C program, so this is what makes sure the
 * allocator's first calls, and vrseq's process set-up under them, happen
 * before main.
 */
#define CTOR_TAG	UINT64_C(0xc7c7000000000001)
#define CTOR_KEEP	200

static void *g_ctor_keep;
static int g_ctor_errors, g_ctor_thread_ran;

static void *ctor_thread(void *arg)
{
	for (int i = 0; i < 100; i++) {
		void *p = malloc(16 + (size_t)i * 8);

		if (!p) {
			g_ctor_errors++;
			break;
		}
		fill(p, 16, CTOR_TAG + (uint64_t)i);
		if (!intact(p, 16, CTOR_TAG + (uint64_t)i))
			g_ctor_errors++;
		free(p);
	}
	g_ctor_thread_ran = 1;
	tm_flush();
	return arg;
}

__attribute__((constructor(101))) static void early_allocations(void)
{
	char line[128];
	void *p = NULL, *q;
	pthread_t th;
	FILE *f;

	__atomic_store_n(&g_ctor_started, 1, __ATOMIC_RELAXED);
	f = fopen("/proc/self/status", "re");
	if (f) {
		while (fgets(line, sizeof(line), f))
			;
		fclose(f);
	}
	for (size_t n = 8; n <= 16384; n *= 2) {
		q = realloc(p, n);
		if (!q) {
			g_ctor_errors++;
			break;
		}
		p = q;
	}
	free(p);
	p = strdup("allocated by a constructor");
	free(p);
	p = calloc(10, 10);
	free(p);
	if (posix_memalign(&p, 64, 100) == 0)
		free(p);
	else
		g_ctor_errors++;
	free(aligned_alloc(4096, 4096));
	for (int i = 0; i < 50; i++)
		free(malloc(24));
	if (pthread_create(&th, NULL, ctor_thread, NULL) == 0)
		pthread_join(th, NULL);
	else
		g_ctor_errors++;
	g_ctor_keep = malloc(CTOR_KEEP);
	if (g_ctor_keep)
		fill(g_ctor_keep, CTOR_KEEP, CTOR_TAG);
}

/* ================================================================ threads */

#define NWORKERS	8
#define MAX_HELD	48

struct held {
	unsigned char *p;
	size_t size;
	uint64_t tag;
};

struct worker {
	pthread_t th;
	int id;
	unsigned int iters;
	uint64_t rng;
	uint64_t allocs, frees, reallocs, serial;
	uint64_t bad_pattern, bad_zero, bad_align, bad_usable, enomem;
	int bound;		/* vrseq_get_info().guarantee in the thread */
	uint64_t fast_pops;	/* of this thread, before its exit */
};

static int g_cpus[CPU_SETSIZE], g_ncpus;
static int g_stop;
static uint64_t g_fences_cpu, g_fences_all, g_drains, g_drained,
	g_fence_errors;

static size_t pick_size(uint64_t r)
{
	unsigned int c = (unsigned int)(r % 100);

	r >>= 8;
	if (c < 55)
		return 1 + r % 128;
	if (c < 80)
		return 1 + r % 1024;
	if (c < 96)
		return 1 + r % 4096;
	if (c < 99)
		return 4097 + r % 28000;
	return 32768 + r % 200000;
}

static void hop(struct worker *w, uint64_t r)
{
	cpu_set_t set;

	if (g_ncpus < 2)
		return;
	CPU_ZERO(&set);
	if (r % 4 == 0) {
		for (int i = 0; i < g_ncpus; i++)
			CPU_SET(g_cpus[i], &set);
	} else {
		CPU_SET(g_cpus[(r >> 4) % (unsigned int)g_ncpus], &set);
	}
	sched_setaffinity(0, sizeof(set), &set);
	(void)w;
}

static bool w_alloc(struct worker *w, struct held *h, uint64_t r)
{
	size_t size = pick_size(r), align = 0, min_usable;
	unsigned int kind = (unsigned int)((r >> 40) % 32);
	void *p = NULL;

	r = rng_next(&w->rng);
	switch (kind) {
	case 20: case 21: case 22: case 23:
		p = calloc(1 + r % 4, size);
		if (p) {
			size *= 1 + r % 4;
			for (size_t i = 0; i < size; i++)
				if (((unsigned char *)p)[i]) {
					w->bad_zero++;
					break;
				}
		}
		break;
	case 24: case 25:
		align = (size_t)16 << (r % 10);	/* up to 8192 */
		if (posix_memalign(&p, align, size))
			p = NULL;
		break;
	case 26: case 27:
		align = (size_t)16 << (r % 10);
		p = aligned_alloc(align, size);
		break;
	case 28:
		align = (size_t)8 << (r % 11);
		p = memalign(align, size);
		break;
	case 29:
		align = PAGE;
		p = valloc(size);
		break;
	case 30:
		align = PAGE;
		p = pvalloc(size);
		size = (size + PAGE - 1) & ~(size_t)(PAGE - 1);
		break;
	case 31:
		p = realloc(NULL, size);
		break;
	default:
		p = malloc(size);
		break;
	}
	if (!p) {
		w->enomem++;
		return false;
	}
	w->allocs++;
	min_usable = size;
	if (align && (uintptr_t)p % align)
		w->bad_align++;
	if (malloc_usable_size(p) < min_usable)
		w->bad_usable++;
	h->p = p;
	h->size = size;
	h->tag = ((uint64_t)(w->id + 1) << 48) | ++w->serial;
	fill(p, size, h->tag);
	return true;
}

static void w_free(struct worker *w, struct held *h)
{
	if (!intact(h->p, h->size, h->tag))
		w->bad_pattern++;
	free(h->p);
	w->frees++;
}

static void w_realloc(struct worker *w, struct held *h, uint64_t r)
{
	size_t size = pick_size(r);
	unsigned char *q;

	if (!intact(h->p, h->size, h->tag))
		w->bad_pattern++;
	q = realloc(h->p, size);
	if (!q) {
		w->enomem++;
		return;
	}
	w->reallocs++;
	if (!intact(q, h->size < size ? h->size : size, h->tag))
		w->bad_pattern++;
	if (malloc_usable_size(q) < size)
		w->bad_usable++;
	h->p = q;
	h->size = size;
	h->tag = ((uint64_t)(w->id + 1) << 48) | ++w->serial;
	fill(q, size, h->tag);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct held held[MAX_HELD];
	struct vrseq_info info;
	unsigned int n = 0;

	if (get_info(&info) == 0)
		w->bound = (int)info.guarantee;
	tl_tracked = 1;
	for (unsigned int i = 0; i < w->iters; i++) {
		uint64_t r = rng_next(&w->rng);
		unsigned int pick = (unsigned int)((r >> 16) % 8);

		if (n == 0 || (n < MAX_HELD && pick < 4)) {
			if (w_alloc(w, &held[n], r))
				n++;
		} else {
			unsigned int j = (unsigned int)((r >> 24) % n);

			if (pick == 4) {
				w_realloc(w, &held[j], rng_next(&w->rng));
			} else {
				w_free(w, &held[j]);
				held[j] = held[--n];
			}
		}
		if ((r >> 56) == 7)
			hop(w, rng_next(&w->rng));
		else if ((r >> 56) == 9)
			sched_yield();
	}
	while (n)
		w_free(w, &held[--n]);
	tl_tracked = 0;
	w->fast_pops = tl_st.fast_pops;
	tm_flush();
	return NULL;
}

static int fence_cpu(int cpu)
{
	struct tm_site *saved = tl_inside;
	int ret;

	set_inside(&site_fence_cpu);
	ret = vrseq_fence_cpu(cpu);
	set_inside(saved);
	return ret;
}

static int fence_all(void)
{
	struct tm_site *saved = tl_inside;
	int ret;

	set_inside(&site_fence_all);
	ret = vrseq_fence_all();
	set_inside(saved);
	return ret;
}

/* Stop a CPU's cache, fence it, move everything to the central lists. */
static void drain(int cpu)
{
	struct tm_cpu *c;

	if (cpu >= MAX_CPUS)
		return;
	__atomic_store_n(&g_stopped[cpu], 1, __ATOMIC_SEQ_CST);
	if (fence_cpu(cpu)) {
		ADD(g_fence_errors, 1);
		__atomic_store_n(&g_stopped[cpu], 0, __ATOMIC_RELEASE);
		return;
	}
	ADD(g_fences_cpu, 1);
	c = __atomic_load_n(&g_cpu[cpu], __ATOMIC_ACQUIRE);
	for (unsigned int k = 0; c && k < NCLASS; k++) {
		struct tm_slab *s = &c->slab[k];
		uint32_t count = (uint32_t)__atomic_load_n(&s->hdr,
							   __ATOMIC_RELAXED);

		if (count > SLAB_CAP) {
			ADD(g_bad_free, 1);	/* a broken header */
			count = SLAB_CAP;
		}
		central_put(k, s->items, count);
		__atomic_store_n(&s->hdr, (uint64_t)SLAB_CAP << 32,
				 __ATOMIC_RELAXED);
		ADD(g_drained, count);
	}
	ADD(g_drains, 1);
	__atomic_store_n(&g_stopped[cpu], 0, __ATOMIC_RELEASE);
}

static void *fencer_main(void *arg)
{
	unsigned int period = *(unsigned int *)arg, round = 0;

	while (!__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
		int cpu = g_cpus[round % (unsigned int)g_ncpus];

		sleep_us(period);
		if (round % 8 == 0) {
			if (fence_all())
				ADD(g_fence_errors, 1);
			else
				ADD(g_fences_all, 1);
		} else if (round % 2) {
			drain(cpu);
		} else if (fence_cpu(cpu)) {
			ADD(g_fence_errors, 1);
		} else {
			ADD(g_fences_cpu, 1);
		}
		round++;
	}
	return NULL;
}

/* ================================================================ audit */

struct audit {
	uint64_t carved, in_use, in_slabs, in_central;
	uint64_t lost, duplicates, bad_entries, free_but_used, bad_headers;
};

/* With no other thread running: every carved object exactly once. */
static bool audit(struct audit *a)
{
	memset(a, 0, sizeof(*a));
	for (unsigned int k = 0; k < NCLASS; k++) {
		struct tm_class *c = &g_class[k];
		size_t carved = c->carved < c->nobjs ? c->carved : c->nobjs;
		unsigned char *seen = carved ? map(carved, 0) : NULL;

		if (carved && !seen)
			return false;
#define SEEN(p) do {							\
	uintptr_t off_ = (uintptr_t)(p) - (uintptr_t)c->base;		\
	size_t i_ = off_ / c->size;					\
	if ((uintptr_t)(p) < (uintptr_t)c->base || off_ % c->size ||	\
	    i_ >= carved) {						\
		a->bad_entries++;					\
	} else {							\
		if (seen[i_]++)						\
			a->duplicates++;				\
		if (c->state[i_])					\
			a->free_but_used++;				\
	}								\
} while (0)
		for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++) {
			struct tm_cpu *pc = g_cpu[cpu];
			uint64_t hdr;
			uint32_t count;

			if (!pc)
				continue;
			hdr = pc->slab[k].hdr;
			count = (uint32_t)hdr;
			if ((hdr >> 32) != SLAB_CAP || count > SLAB_CAP) {
				a->bad_headers++;
				continue;
			}
			for (uint32_t i = 0; i < count; i++)
				SEEN(pc->slab[k].items[i]);
			a->in_slabs += count;
		}
		for (size_t i = 0; i < c->ncentral; i++)
			SEEN(c->central[i]);
		a->in_central += c->ncentral;
#undef SEEN
		for (size_t i = 0; i < carved; i++) {
			if (c->state[i])
				a->in_use++;
			else if (!seen[i])
				a->lost++;
		}
		a->carved += carved;
		if (seen)
			munmap(seen, carved);
	}
	return true;
}

/* ================================================================ children */

/* Make syscall `nr` fail with ENOSYS from now on (inherited by execve). */
static int block_syscall(int nr)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		(unsigned short)(sizeof(filter) / sizeof(filter[0])), filter
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) ? -errno : 0;
}

/* Re-execute this program with `nr` blocked from its first instruction. */
static int run_child(const char *argv0, const char *mode, int nr)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (block_syscall(nr) < 0)
			_exit(EXIT_SKIP);
		execl("/proc/self/exe", argv0, "--child", mode, (char *)NULL);
		_exit(EXIT_HARD);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	printf("  child %s killed by signal %d\n", mode, WTERMSIG(status));
	return 1;
}

/* ================================================================ main */

static unsigned int env_uint(const char *name, unsigned int dflt)
{
	const char *s = getenv(name);

	return s && atoi(s) > 0 ? (unsigned int)atoi(s) : dflt;
}

int main(int argc, char **argv)
{
	struct tm_stats pre, st;
	struct vrseq_info info;
	struct audit a;
	uint64_t mark = 0, premain, premain_glibc, premain_percpu;
	unsigned int iters, rounds = 3, period = 300;
	bool child = argc > 2 && !strcmp(argv[1], "--child");
	bool quick = getenv("VRSEQ_TEST_QUICK") != NULL;
	int ret;

	__atomic_store_n(&g_main_started, 1, __ATOMIC_RELEASE);
	memset(&info, 0, sizeof(info));
	/* The allocator's own thread stats are in tl_st; the constructor's
	 * thread flushed its own. */
	premain = LOAD(g_premain);
	premain_glibc = LOAD(g_premain_glibc);
	premain_percpu = LOAD(g_premain_percpu);
	pre = tl_st;
	{
		struct tm_stats g = stats_now();
		const uint64_t *src = (const uint64_t *)&g;
		uint64_t *dst = (uint64_t *)&pre;

		for (size_t i = 0; i < sizeof(pre) / sizeof(uint64_t); i++)
			dst[i] += src[i];
	}
	alarm(0);			/* disarmed; re-armed per phase */
	if (child)
		g_mode = argv[2];
	{
		/* valgrind replaces a main program's malloc() too unless told
		 * --soname-synonyms=somalloc=nouserintercepts. */
		void *volatile probe = malloc(24);
		unsigned int k;
		size_t idx;
		bool ok = false;

		if (probe && (!small_obj(probe, &k, &idx, &ok) || !ok)) {
			printf("malloc: skipped: malloc() here is not this "
			       "program's (valgrind without --soname-synonyms="
			       "somalloc=nouserintercepts?)\n");
			return EXIT_SKIP;
		}
		free(probe);
	}
	if (g_ready != 2) {
		printf("malloc: the allocator was never set up (%d)\n", g_ready);
		return EXIT_HARD;
	}

	/* ---------------------------------------------------------- A */
	alarm(WATCHDOG_S);
	case_begin("first allocations, before main");
	printf("    %llu allocations before main (%llu before this program's "
	       "constructor: ld.so, glibc, libraries' constructors; %llu "
	       "through the per-CPU path)\n",
	       (unsigned long long)premain, (unsigned long long)premain_glibc,
	       (unsigned long long)premain_percpu);
	if (premain_glibc == 0)
		printf("    note: nothing allocated before this program's "
		       "constructor; its calls are the first\n");
	printf("    before main: %llu vrseq_thread_slot() calls, %llu cache "
	       "pops, %llu pushes, %llu commits (%llu refused), %llu slow\n",
	       (unsigned long long)pre.slot_calls,
	       (unsigned long long)pre.fast_pops,
	       (unsigned long long)pre.fast_pushes,
	       (unsigned long long)pre.commits,
	       (unsigned long long)pre.commit_fails,
	       (unsigned long long)(pre.slow_allocs + pre.slow_frees));
	CHECK(premain > 0, "no allocation before main");
	CHECK(premain_percpu > 0 && pre.slot_calls > 0,
	      "no allocation before main went through vrseq");
	CHECK(!g_ctor_errors, "%d errors in the constructor", g_ctor_errors);
	CHECK(g_ctor_thread_ran, "the constructor's thread did not run");
	CHECK(g_ctor_keep && intact(g_ctor_keep, CTOR_KEEP, CTOR_TAG),
	      "a block allocated before main was overwritten");
	free(g_ctor_keep);
	check_no_reentry(&mark, "before main");
	case_end();

	/* ---------------------------------------------------------- B */
	alarm(WATCHDOG_S);
	case_begin("vrseq_init() and vrseq_get_info() in main");
	set_inside(&site_init);
	ret = vrseq_init();
	set_inside(NULL);
	CHECK(ret == 0, "vrseq_init() = %d", ret);
	ret = get_info(&info);
	CHECK(ret == 0, "vrseq_get_info() = %d", ret);
	if (ret == 0)
		printf("    owner %s, %u-byte registration, fence method %s, "
		       "%u CPU ids, slots %s%s%s\n",
		       vrseq_owner_name(info.owner), info.registered_len,
		       vrseq_fence_method_name(info.fence_method), info.nr_ids,
		       info.guarantee ? "cache" : "in fallback (",
		       info.guarantee ? "" : vrseq_fallback_name((int)info.fallback),
		       info.guarantee ? "" : ")");
	if (!strcmp(g_mode, "no-membarrier") && info.owner != VRSEQ_OWNER_NONE)
		CHECK(info.fence_method == VRSEQ_FENCE_AFFINITY,
		      "membarrier blocked, but fence method %s",
		      vrseq_fence_method_name(info.fence_method));
	if (!strcmp(g_mode, "no-rseq"))
		CHECK(!info.guarantee && info.owner == VRSEQ_OWNER_NONE,
		      "rseq blocked, but owner %s, guarantee %u",
		      vrseq_owner_name(info.owner), info.guarantee);
	check_no_reentry(&mark, "in vrseq_init()/vrseq_get_info()");
	case_end();

	/* ---------------------------------------------------------- C */
	{
		static struct worker w[NWORKERS];
		cpu_set_t set;
		pthread_t fencer;
		double t0;
		uint64_t bad_pattern = 0, bad_zero = 0, bad_align = 0,
			 bad_usable = 0, enomem = 0, allocs = 0, frees = 0,
			 reallocs = 0, worker_pops = 0;
		int bound = 0;

		if (sched_getaffinity(0, sizeof(set), &set) == 0)
			for (int c = 0; c < CPU_SETSIZE; c++)
				if (CPU_ISSET(c, &set))
					g_cpus[g_ncpus++] = c;
		if (!g_ncpus)
			g_cpus[g_ncpus++] = 0;
		iters = env_uint("VRSEQ_TEST_MALLOC_ITERS", quick ? 4000 : 20000);
		if (info.fence_method == VRSEQ_FENCE_AFFINITY)
			period = 2000;
		alarm(WATCHDOG_S);
		case_begin("threads: allocations, frees and fences");
		tm_flush();
		pre = stats_now();
		t0 = now_s();
		for (unsigned int round = 0; round < rounds; round++) {
			__atomic_store_n(&g_stop, 0, __ATOMIC_RELEASE);
			for (int i = 0; i < NWORKERS; i++) {
				memset(&w[i], 0, sizeof(w[i]));
				w[i].id = (int)(round * NWORKERS) + i;
				w[i].iters = iters;
				w[i].rng = UINT64_C(0x9e3779b97f4a7c15) *
					   (uint64_t)(w[i].id + 1);
			}
			if (pthread_create(&fencer, NULL, fencer_main, &period)) {
				printf("    cannot create the fencer\n");
				return EXIT_HARD;
			}
			for (int i = 0; i < NWORKERS; i++)
				if (pthread_create(&w[i].th, NULL, worker_main,
						   &w[i])) {
					printf("    cannot create a worker\n");
					return EXIT_HARD;
				}
			for (int i = 0; i < NWORKERS; i++)
				pthread_join(w[i].th, NULL);
			__atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
			pthread_join(fencer, NULL);
			for (int i = 0; i < NWORKERS; i++) {
				bad_pattern += w[i].bad_pattern;
				bad_zero += w[i].bad_zero;
				bad_align += w[i].bad_align;
				bad_usable += w[i].bad_usable;
				enomem += w[i].enomem;
				allocs += w[i].allocs;
				frees += w[i].frees;
				reallocs += w[i].reallocs;
				worker_pops += w[i].fast_pops;
				bound += w[i].bound;
			}
		}
		g_phase = "audit";
		ret = audit(&a) ? 0 : -1;
		tm_flush();
		st = stats_now();
		{
			const uint64_t *now = (const uint64_t *)&st;
			const uint64_t *before = (const uint64_t *)&pre;
			uint64_t *d = (uint64_t *)&st;

			for (size_t i = 0; i < sizeof(st) / sizeof(uint64_t); i++)
				d[i] = now[i] - before[i];
		}
		printf("    %u rounds x %d workers x %u operations in %.2f s on "
		       "%d CPUs; %d of %u workers had usable slots\n", rounds,
		       NWORKERS, iters, now_s() - t0, g_ncpus, bound,
		       rounds * NWORKERS);
		printf("    worker calls: %llu allocations, %llu frees, %llu "
		       "reallocs\n", (unsigned long long)allocs,
		       (unsigned long long)frees, (unsigned long long)reallocs);
		printf("    per-CPU cache: %llu pops, %llu pushes (hits), %llu "
		       "empty, %llu full, %llu refills, %llu spills, %llu cs "
		       "aborts\n", (unsigned long long)st.fast_pops,
		       (unsigned long long)st.fast_pushes,
		       (unsigned long long)st.pop_empty,
		       (unsigned long long)st.push_full,
		       (unsigned long long)st.refills,
		       (unsigned long long)st.spills,
		       (unsigned long long)st.aborts);
		printf("    slot: %llu vrseq_thread_slot() calls, %llu invalid "
		       "loads, %llu commits, %llu refused, %llu CPU stopped\n",
		       (unsigned long long)st.slot_calls,
		       (unsigned long long)st.invalid,
		       (unsigned long long)st.commits,
		       (unsigned long long)st.commit_fails,
		       (unsigned long long)st.stopped);
		printf("    slow path (central lists): %llu allocations, %llu "
		       "frees; large (mmap): %llu, %llu\n",
		       (unsigned long long)st.slow_allocs,
		       (unsigned long long)st.slow_frees,
		       (unsigned long long)st.large_allocs,
		       (unsigned long long)st.large_frees);
		printf("    fences: %llu vrseq_fence_cpu(), %llu vrseq_fence_all(),"
		       " %llu drains (%llu objects), %llu errors\n",
		       (unsigned long long)g_fences_cpu,
		       (unsigned long long)g_fences_all,
		       (unsigned long long)g_drains,
		       (unsigned long long)g_drained,
		       (unsigned long long)g_fence_errors);
		printf("    audit: %llu objects carved, %llu in use, %llu in "
		       "slabs, %llu central\n", (unsigned long long)a.carved,
		       (unsigned long long)a.in_use,
		       (unsigned long long)a.in_slabs,
		       (unsigned long long)a.in_central);
		CHECK(ret == 0, "audit could not run");
		CHECK(!bad_pattern, "%llu blocks overwritten while held (a block "
		      "handed out twice?)", (unsigned long long)bad_pattern);
		CHECK(!LOAD(g_dup_alloc), "%llu blocks handed out while in use",
		      (unsigned long long)LOAD(g_dup_alloc));
		CHECK(!LOAD(g_double_free), "%llu double frees",
		      (unsigned long long)LOAD(g_double_free));
		CHECK(!LOAD(g_bad_free), "%llu frees of non-objects",
		      (unsigned long long)LOAD(g_bad_free));
		CHECK(!LOAD(g_foreign_free), "%llu frees of foreign pointers",
		      (unsigned long long)LOAD(g_foreign_free));
		CHECK(!bad_zero, "%llu calloc blocks not zeroed",
		      (unsigned long long)bad_zero);
		CHECK(!bad_align, "%llu misaligned blocks",
		      (unsigned long long)bad_align);
		CHECK(!bad_usable, "%llu blocks smaller than asked",
		      (unsigned long long)bad_usable);
		CHECK(!enomem, "%llu allocations failed",
		      (unsigned long long)enomem);
		CHECK(allocs == frees, "workers allocated %llu, freed %llu",
		      (unsigned long long)allocs, (unsigned long long)frees);
		CHECK(LOAD(g_tracked_out) == LOAD(g_tracked_in),
		      "the allocator handed workers %llu blocks and got %llu "
		      "back", (unsigned long long)LOAD(g_tracked_out),
		      (unsigned long long)LOAD(g_tracked_in));
		CHECK(!a.lost && !a.duplicates && !a.bad_entries &&
		      !a.free_but_used && !a.bad_headers,
		      "audit: %llu lost, %llu twice in the caches, %llu bad "
		      "entries, %llu free but in use, %llu bad headers",
		      (unsigned long long)a.lost,
		      (unsigned long long)a.duplicates,
		      (unsigned long long)a.bad_entries,
		      (unsigned long long)a.free_but_used,
		      (unsigned long long)a.bad_headers);
		CHECK(!LOAD(g_fence_errors), "%llu fences failed",
		      (unsigned long long)LOAD(g_fence_errors));
		CHECK(LOAD(g_fences_cpu) + LOAD(g_fences_all) > 0,
		      "no fence ran");
		if (bound) {
			CHECK(worker_pops > 0 && st.fast_pushes > 0,
			      "slots usable, but no per-CPU cache hits");
		} else {
			CHECK(st.fast_pops == 0 && st.fast_pushes == 0 &&
			      st.commits == 0,
			      "fallback slots, but %llu pops, %llu pushes, "
			      "%llu commits", (unsigned long long)st.fast_pops,
			      (unsigned long long)st.fast_pushes,
			      (unsigned long long)st.commits);
			CHECK(st.slow_allocs > 0, "fallback, but no slow path");
		}
		CHECK(st.slot_calls > 0, "vrseq_thread_slot() never called");
		check_no_reentry(&mark, "with threads and fences");
		case_end();
	}

	/* ---------------------------------------------------------- D */
	if (!child) {
		static const struct {
			const char *mode, *name;
			int nr;
		} kids[] = {
			{ "no-membarrier", "membarrier blocked (affinity fences)",
			  __NR_membarrier },
			{ "no-rseq", "rseq blocked (fallback slots)", __NR_rseq },
		};

		for (size_t i = 0; i < sizeof(kids) / sizeof(kids[0]); i++) {
			alarm(2 * WATCHDOG_S + 10);
			case_begin(kids[i].name);
			if (info.owner == VRSEQ_OWNER_NONE) {
				printf("    skipped: no rseq in this process "
				       "(valgrind?), nothing to block\n");
				case_end();
				continue;
			}
			ret = run_child(argv[0], kids[i].mode, kids[i].nr);
			if (ret == EXIT_SKIP)
				printf("    skipped: seccomp unavailable\n");
			else
				CHECK(ret == 0, "child %s exited %d",
				      kids[i].mode, ret);
			g_mode = "";
			case_end();
		}
	}

	alarm(0);
	CHECK(!g_watchdog_fired, "the watchdog fired");
	printf("%s%s%smalloc: %d passed, %d failed\n", *g_mode ? "[" : "",
	       g_mode, *g_mode ? "] " : "", g_passes, g_fails);
	return g_fails ? 1 : 0;
}

#else /* !x86_64 or AddressSanitizer */

int main(void)
{
#if defined(TM_ASAN)
	printf("malloc: skipped: AddressSanitizer interposes malloc itself\n");
#else
	printf("malloc: skipped: critical sections written for x86_64 only\n");
#endif
	return EXIT_SKIP;
}

#endif
