/* SPDX-License-Identifier: MIT */
/*
 * libvrseq loaded and closed 1000 times. It is linked -z nodelete (an area
 * vrseq registered in its own TLS must outlive any dlclose): every close
 * leaves it loaded, with the same state -- one set of tag arrays, the
 * thread's slot and registration intact -- and nothing accumulates.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "harness.h"

#define LOADS 1000

struct api {
	void *handle;
	int (*get_info)(struct vrseq_info *, size_t);
	struct vrseq_slot *(*thread_slot)(void);
	int (*fence_cpu)(int);
	uint32_t (*fallback_id)(const struct vrseq_slot *);
};

/*
 * The inline fast paths call vrseq_slot_fallback_id() for fallback slots;
 * this program does not link libvrseq, so forward to the loaded copy.
 */
static const struct api *loaded;

uint32_t vrseq_slot_fallback_id(const struct vrseq_slot *slot)
{
	return loaded->fallback_id(slot);
}

static int load(struct api *a)
{
	a->handle = dlopen(LIBVRSEQ_PATH, RTLD_NOW | RTLD_LOCAL);
	if (!a->handle)
		return -1;
	a->get_info = (int (*)(struct vrseq_info *, size_t))
		dlsym(a->handle, "vrseq_get_info");
	a->thread_slot = (struct vrseq_slot *(*)(void))
		dlsym(a->handle, "vrseq_thread_slot");
	a->fence_cpu = (int (*)(int))dlsym(a->handle, "vrseq_fence_cpu");
	a->fallback_id = (uint32_t (*)(const struct vrseq_slot *))
		dlsym(a->handle, "vrseq_slot_fallback_id");
	loaded = a;
	return a->get_info && a->thread_slot && a->fence_cpu &&
	       a->fallback_id ? 0 : -1;
}

/* Address-space size: adjacent anonymous mappings merge, so count bytes. */
static long vm_size_kb(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSize: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static bool still_loaded(void)
{
	void *h = dlopen(LIBVRSEQ_PATH, RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

/* The inline fast paths work through a slot handed out by a loaded copy. */
static int use(const struct api *a, uint64_t value, struct vrseq_info *info)
{
	struct vrseq_slot *slot = a->thread_slot();
	uint64_t v;
	int cpu;

	if (a->get_info(info, sizeof(*info)))
		return 1;
	if (!info->guarantee)
		return vrseq_slot_store(slot, value) == VRSEQ_UNCACHED ? 0 : 2;
	for (int tries = 0; tries < 100; tries++) {
		if (vrseq_slot_store(slot, value) != VRSEQ_COMMITTED ||
		    !vrseq_slot_load(slot, &v) || v != value)
			continue;
		cpu = (int)vrseq_slot_current_id(slot);
		if (a->fence_cpu(cpu))
			return 3;
		/* valid afterwards only if we moved away and back: retry */
		if (!vrseq_slot_valid(slot) || (int)vrseq_slot_current_id(slot) != cpu)
			return harness_area_ok((const volatile struct vrseq_rseq_area *)
					       slot->area) ? 0 : 4;
	}
	return 5;
}

static void test_load_unload(void)
{
	int loads = getenv("VRSEQ_TEST_QUICK") ? LOADS / 10 : LOADS;
	long vm_early = 0;
	int failures = 0, unloaded = 0, moved = 0;
	struct vrseq_info info = { 0 };
	struct api a = { 0 };
	const struct vrseq_slot *first = NULL;
	const uint64_t *first_tags = NULL;

	for (int i = 0; i < loads; i++) {
		if (load(&a)) {
			CU_FAIL_FATAL(dlerror());
		}
		failures += use(&a, (uint64_t)i + 1, &info) != 0;
		/* The same copy each time: the thread's slot and the tag
		 * arrays do not move. */
		if (!first) {
			first = a.thread_slot();
			first_tags = first->tags;
		} else if (a.thread_slot() != first || first->tags != first_tags) {
			moved++;
		}
		dlclose(a.handle);
		unloaded += !still_loaded();
		if (i == 9)
			vm_early = vm_size_kb();
	}
	CU_ASSERT_EQUAL(failures, 0);
	CU_ASSERT_EQUAL(unloaded, 0);
	CU_ASSERT_EQUAL(moved, 0);
	if (info.owner == VRSEQ_OWNER_VRSEQ) {
		/* The registration in the library's TLS is intact. */
		CU_ASSERT_EQUAL(syscall(__NR_rseq, a.thread_slot()->area,
					info.registered_len, 0, VRSEQ_RSEQ_SIG), -1);
		CU_ASSERT_EQUAL(errno, EBUSY);
	}
#ifndef __SANITIZE_ADDRESS__
	/* Nothing accumulates: no tag arrays, no TLS blocks per load. 990
	 * leaked tag pages would be ~4 MiB; allow allocator noise only. (ASan
	 * keeps per-load metadata, so only without it.) */
	CU_ASSERT(vm_size_kb() - vm_early < 512);
#endif
	printf("\n    owner %d, %d loads, %d unloaded, VmSize %ld -> %ld kB\n",
	       info.owner, loads, unloaded, vm_early, vm_size_kb());
}

static const struct test_case cases[] = {
	{ "dlopen/dlclose 1000 times", test_load_unload },
	{ NULL, NULL },
};

int main(void)
{
	return harness_run("dlopen", cases);
}
