/* SPDX-License-Identifier: MIT */
/*
 * Per-thread binding: find the thread's registered area (glibc's), or
 * register vrseq's own, or settle for fallback.
 *
 * Binding is async-signal-safe and re-entrant: a signal handler may bind
 * while an interrupted frame of the same thread is half-way through. Every
 * step is a side-effect-free question to the kernel (query.c) or a
 * registration whose repetition the kernel answers with EBUSY, so an inner
 * and an outer frame compute the same answer and write the same fields;
 * nothing is written into an area before the kernel owns it (static TLS
 * starts zeroed, and the kernel initialises the IDs on registration).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include "internal.h"

static __thread struct vrseq_thread vrseq_tls
	__attribute__((tls_model("initial-exec")));

VRSEQ_STATIC_ASSERT(__builtin_offsetof(struct vrseq_thread, own_marker) ==
		    VRSEQ_OWN_MARKER_OFFSET, "the marker is where tools look");
VRSEQ_STATIC_ASSERT(VRSEQ_OWN_AREA_SIZE <= VRSEQ_OWN_MARKER_OFFSET,
		    "nothing vrseq registers reaches the marker");

/*
 * vrseq_set_own_registration(0) sets `own_forbidden_by_call`; the
 * environment's word is in vrseq__proc. `own_registrations` counts the
 * threads that ever registered vrseq's area, to tell a late forbid that it
 * was late. Both are read once per thread, at binding.
 */
static bool own_forbidden_by_call;
static unsigned long own_registrations;

bool vrseq__own_allowed(void)
{
	return !vrseq__proc.own_forbidden_env &&
	       !__atomic_load_n(&own_forbidden_by_call, __ATOMIC_ACQUIRE);
}

int vrseq_set_own_registration(int allow)
{
	if (allow != 0 && allow != 1)
		return -EINVAL;
	__atomic_store_n(&own_forbidden_by_call, !allow, __ATOMIC_SEQ_CST);
	if (!allow && __atomic_load_n(&own_registrations, __ATOMIC_SEQ_CST))
		return -EBUSY;
	return 0;
}

struct vrseq_thread *vrseq__thread_peek(void)
{
	return &vrseq_tls;
}

/*
 * Unloading the library while vrseq has areas registered in its own TLS
 * would let a later module's static TLS reuse memory the kernel still
 * writes into. libvrseq.so.1 is therefore linked -z nodelete (Makefile.am):
 * dlclose never unloads it. Pinning it at run time instead would need
 * dladdr() and dlopen(), which allocate, and a malloc built on vrseq runs
 * our code before and inside its own first allocation.
 */

struct binding {
	struct vrseq_rseq_area *area;
	int32_t owner;
	int32_t register_errno;
	uint32_t registered_len;
};

/* Register the own area with `len`; EBUSY means an interrupted frame of
 * this thread already did (only vrseq registers this address). */
static bool register_own(struct vrseq_thread *t, uint32_t len, int *ret)
{
	struct vrseq_own_marker *m = &t->own_marker;

	/* Ours before and after: the marker is outside what is registered. */
	__builtin_memcpy(m->magic, VRSEQ_OWN_MARKER_MAGIC, sizeof(m->magic));
	m->registered_len = 0;
	*ret = vrseq__sys_rseq(&t->own.area, len, 0, VRSEQ_RSEQ_SIG);
	if (*ret == -EBUSY)
		*ret = 0;
	if (*ret == 0)
		m->registered_len = len;
	return *ret == 0;
}

static void bind_own(struct vrseq_thread *t, struct binding *b)
{
	const struct vrseq_process *p = &vrseq__proc;
	uint32_t len = p->feature_size > VRSEQ_RSEQ_ORIG_SIZE ?
		p->feature_size : VRSEQ_RSEQ_ORIG_SIZE;
	int ret = -EINVAL;

	if (!vrseq__own_allowed()) {
		/* Leave the thread's one registration to whoever wants it. */
		t->own_forbidden = true;
		b->owner = p->rseq_askable && vrseq__has_registration() ?
			VRSEQ_OWNER_FOREIGN : VRSEQ_OWNER_NONE;
		return;
	}
	/* Full feature size when our static area can hold it. */
	if (len <= VRSEQ_OWN_AREA_SIZE && p->feature_align <= VRSEQ_OWN_AREA_ALIGN &&
	    register_own(t, len, &ret))
		b->registered_len = len;
	else if (ret == -EINVAL && len != VRSEQ_RSEQ_ORIG_SIZE &&
		 register_own(t, VRSEQ_RSEQ_ORIG_SIZE, &ret))
		b->registered_len = VRSEQ_RSEQ_ORIG_SIZE;
	b->register_errno = -ret;
	if (ret == 0) {
		b->area = &t->own.area;
		b->owner = VRSEQ_OWNER_VRSEQ;
		__atomic_fetch_add(&own_registrations, 1, __ATOMIC_SEQ_CST);
	} else if (ret == -EINVAL && p->rseq_askable && vrseq__has_registration()) {
		b->owner = VRSEQ_OWNER_FOREIGN;	/* another area is registered */
	} else {
		b->owner = VRSEQ_OWNER_NONE;	/* ENOSYS, or seccomp's errno */
	}
}

static void bind_glibc(struct binding *b)
{
	const struct vrseq_process *p = &vrseq__proc;
	struct vrseq_rseq_area *area = (void *)
		((char *)__builtin_thread_pointer() + p->glibc_offset);
	bool ours;

	if (p->rseq_askable) {
		ours = vrseq__registered_as(area, p->glibc_registered_len);
	} else {
		/*
		 * rseq() is filtered, so the kernel cannot be asked; glibc left
		 * -2 here when this thread's registration failed. (A CLONE_VM
		 * child would pass this test with its parent's area: vrseq(7)
		 * says slots are not for vfork children.)
		 */
		ours = (int32_t)__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED) >= 0;
	}
	if (ours) {
		b->area = area;
		b->owner = VRSEQ_OWNER_GLIBC;
		b->registered_len = p->glibc_registered_len;
	} else if (p->rseq_askable && vrseq__has_registration()) {
		/* A library replaced glibc's registration in this thread. */
		b->owner = VRSEQ_OWNER_FOREIGN;
		b->register_errno = EBUSY;
	} else {
		b->owner = VRSEQ_OWNER_NONE;
		b->register_errno = ENOSYS;
	}
}

static void bind_thread(struct vrseq_thread *t)
{
	struct binding b = { NULL, VRSEQ_OWNER_NONE, 0, 0 };

	if (vrseq__proc.glibc_size)
		bind_glibc(&b);
	else
		bind_own(t, &b);
	t->area = b.area;
	t->owner = b.owner;
	t->register_errno = b.register_errno;
	t->registered_len = b.registered_len;
	/* A handler that runs from here on sees a complete binding. */
	__atomic_signal_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&t->bound, true, __ATOMIC_RELAXED);
}

struct vrseq_thread *vrseq__thread(void)
{
	struct vrseq_thread *t = &vrseq_tls;

	if (__builtin_expect(!__atomic_load_n(&t->bound, __ATOMIC_RELAXED), 0) &&
	    vrseq__process() == 0)
		bind_thread(t);
	return t;
}
