/* SPDX-License-Identifier: MIT */
/*
 * Per-thread binding: find the thread's registered area (glibc's), or
 * register vrseq's own, or settle for fallback. Everything here is
 * async-signal-safe once the process state exists (static TLS and raw
 * system calls), except pin_library()'s one dlopen() at the process's first
 * registration of our own area: bind that first thread outside handlers.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

static __thread struct vrseq_thread vrseq_tls
	__attribute__((tls_model("initial-exec")));

struct vrseq_thread *vrseq__thread_peek(void)
{
	return &vrseq_tls;
}

/*
 * Once any thread's area lives in our TLS, unloading the library would let a
 * later module's static TLS reuse memory the kernel still writes into. Make
 * dlclose a no-op from then on.
 */
static void pin_library(void)
{
	static int pinned;
	Dl_info info;

	if (__atomic_exchange_n(&pinned, 1, __ATOMIC_ACQ_REL))
		return;
	if (dladdr((void *)pin_library, &info) && info.dli_fname)
		dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

static int register_own(struct vrseq_thread *t, uint32_t len)
{
	/* Not registered yet, so these writes are ours to make. */
	memset(t->own.bytes, 0, sizeof(t->own.bytes));
	t->own.area.cpu_id = (uint32_t)VRSEQ_RSEQ_CPU_ID_UNINITIALIZED;
	return vrseq__sys_rseq(&t->own.area, len, 0, VRSEQ_RSEQ_SIG);
}

static void bind_own(struct vrseq_thread *t)
{
	const struct vrseq_process *p = &vrseq__proc;
	uint32_t len = p->feature_size > VRSEQ_RSEQ_ORIG_SIZE ?
		p->feature_size : VRSEQ_RSEQ_ORIG_SIZE;
	int ret = -EINVAL;

	/* Full feature size when our static area can hold it. */
	if (len <= VRSEQ_OWN_AREA_SIZE && p->feature_align <= VRSEQ_OWN_AREA_ALIGN) {
		ret = register_own(t, len);
		if (ret == 0)
			t->registered_len = len;
	}
	if (ret == -EINVAL && len != VRSEQ_RSEQ_ORIG_SIZE) {
		ret = register_own(t, VRSEQ_RSEQ_ORIG_SIZE);
		if (ret == 0)
			t->registered_len = VRSEQ_RSEQ_ORIG_SIZE;
	}
	t->register_errno = -ret;
	switch (ret) {
	case 0:
		pin_library();
		t->area = &t->own.area;
		t->owner = VRSEQ_OWNER_VRSEQ;
		break;
	case -EINVAL:	/* another area is registered for this thread */
	case -EBUSY:
		t->owner = VRSEQ_OWNER_FOREIGN;
		break;
	default:	/* ENOSYS, or EPERM/ENOSYS from seccomp */
		t->owner = VRSEQ_OWNER_NONE;
		break;
	}
}

static void bind_thread(struct vrseq_thread *t)
{
	const struct vrseq_process *p = &vrseq__proc;

	if (p->glibc_size) {
		struct vrseq_rseq_area *area = (void *)
			((char *)__builtin_thread_pointer() + p->glibc_offset);

		/* glibc leaves -2 here when this thread's registration failed. */
		if ((int32_t)__atomic_load_n(&area->cpu_id, __ATOMIC_RELAXED) >= 0) {
			t->area = area;
			t->owner = VRSEQ_OWNER_GLIBC;
			t->registered_len = p->glibc_registered_len;
		} else {
			t->owner = VRSEQ_OWNER_NONE;
			t->register_errno = ENOSYS;
		}
	} else {
		bind_own(t);
	}
	if (t->area)
		__atomic_store_n(&vrseq__proc.rseq_seen, true, __ATOMIC_RELAXED);
	t->bound = true;
}

struct vrseq_thread *vrseq__thread(void)
{
	struct vrseq_thread *t = &vrseq_tls;

	if (__builtin_expect(!t->bound, 0) && vrseq__process() == 0)
		bind_thread(t);
	return t;
}
