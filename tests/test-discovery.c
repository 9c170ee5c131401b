/* SPDX-License-Identifier: MIT */
/*
 * Registration discovery: with glibc's area, with vrseq's own, with rseq
 * blocked by seccomp, with membarrier blocked, and with a foreign
 * registration in place. Each situation that needs a fresh process runs in a
 * re-executed child (`test-discovery --child MODE`) whose exit status says
 * which check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

extern const ptrdiff_t __rseq_offset __attribute__((weak));
extern const unsigned int __rseq_size __attribute__((weak));

#if defined(__x86_64__)
# define AUDIT_ARCH_SELF AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
# define AUDIT_ARCH_SELF AUDIT_ARCH_AARCH64
#endif

static long sys_rseq(void *area, uint32_t len, int flags, uint32_t sig)
{
	return syscall(__NR_rseq, area, len, flags, sig) ? -errno : 0;
}

static uint32_t expected_feature_size(void)
{
	unsigned long fs = getauxval(VRSEQ_AT_RSEQ_FEATURE_SIZE);

	return fs ? (uint32_t)fs : 20;
}

/* Make syscalls nr1 and nr2 fail with err1 and err2 for this process. */
static int block_syscalls(int nr1, int err1, int nr2, int err2)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_SELF, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr1, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)err1),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr2, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned int)err2),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(filter) / sizeof(filter[0]), filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) ? -errno : 0;
}

/* Make syscall `nr` fail with ENOSYS for this process from now on. */
static int block_syscall(int nr)
{
	return block_syscalls(nr, ENOSYS, nr, ENOSYS);
}

/* Does this task have exactly (area, len) registered? Asked without side
 * effects: an unregistration with a wrong signature (EPERM if it matches). */
static bool registered_as(void *area, uint32_t len)
{
	return sys_rseq(area, len, VRSEQ_RSEQ_FLAG_UNREGISTER, ~VRSEQ_RSEQ_SIG) == -EPERM;
}

/* Does this task have any registration? A kernel address: EINVAL if some
 * other area is registered, EFAULT if none. */
static bool has_registration(void)
{
	return sys_rseq((void *)(uintptr_t)-64, 32, 0, VRSEQ_RSEQ_SIG) == -EINVAL;
}

static void *glibc_area(void)
{
	return (char *)__builtin_thread_pointer() + __rseq_offset;
}

/* The length glibc registered in this thread, or 0. */
static uint32_t glibc_len(void)
{
	if (&__rseq_size == NULL || __rseq_size == 0)
		return 0;
	if (registered_as(glibc_area(), 32))
		return 32;
	return registered_as(glibc_area(), __rseq_size) ? __rseq_size : 0;
}

/* ------------------------------------------------------------ children */

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "child %s: check failed at line %d: %s\n",	\
			mode, __LINE__, #cond);				\
		return 1;						\
	}								\
} while (0)

static void *info_thread(void *arg)
{
	struct vrseq_info *info = arg;

	vrseq_get_info(info, sizeof(*info));
	return NULL;
}

/*
 * A fallback slot never validates, but its ids are real: on every CPU the
 * documented protocol ("compute for vrseq_token_id(observe())") computes
 * for the CPU the thread is on, in CPU and in MM_CID mode (where, without
 * a kernel-maintained area, the CPU stands in for the cid).
 */
static int check_fallback_ids(const char *mode, struct vrseq_slot *slot)
{
	struct vrseq_slot cid_slot;
	int cpus[64], n = harness_cpus(cpus, 64);
	int cid = vrseq_slot_init(&cid_slot, VRSEQ_SLOT_MM_CID);

	CHECK(cid == 1 || cid == -EOPNOTSUPP);
	for (int i = 0; i < n; i++) {
		vrseq_token_t t;

		CHECK(harness_pin(cpus[i]) == 0);
		t = vrseq_slot_observe(slot);
		CHECK(vrseq_token_id(t) == (uint32_t)cpus[i]);
		CHECK(vrseq_slot_current_id(slot) == (uint32_t)cpus[i]);
		CHECK(vrseq_slot_cpu_view(slot) == (uint32_t)cpus[i]);
		CHECK(vrseq_slot_commit(slot, t, 1) == VRSEQ_UNCACHED);
		if (cid == 1) {
			CHECK(cid_slot.flags & VRSEQ_SLOT_F_FALLBACK);
			CHECK(vrseq_slot_current_id(&cid_slot) == (uint32_t)cpus[i]);
			CHECK(vrseq_slot_cpu_view(&cid_slot) == (uint32_t)cpus[i]);
			CHECK(vrseq_token_id(vrseq_slot_observe(&cid_slot)) ==
			      (uint32_t)cpus[i]);
			CHECK(vrseq_slot_store(&cid_slot, 2) == VRSEQ_UNCACHED);
		}
	}
	harness_pin_restore();
	return 0;
}

/*
 * The fallback contract on the calling thread; a new thread's owner is
 * `thread_owner` (ownership is per thread: a foreign library registered only
 * the threads it knows about).
 */
static int check_fallback(const char *mode, int expected_owner, int thread_owner)
{
	struct vrseq_info info, other;
	struct vrseq_slot slot;
	uint64_t word = 1, v;
	pthread_t th;

	CHECK(vrseq_get_info(&info, sizeof(info)) == 0);
	CHECK(info.owner == expected_owner);
	CHECK(info.guarantee == 0);
	CHECK(info.fallback == (expected_owner == VRSEQ_OWNER_FOREIGN ?
				VRSEQ_FALLBACK_FOREIGN : VRSEQ_FALLBACK_NO_RSEQ));
	CHECK(info.registered_len == 0);
	CHECK(vrseq_slot_init(&slot, VRSEQ_SLOT_CPU) == 1);
	CHECK(slot.flags & VRSEQ_SLOT_F_FALLBACK);
	CHECK(vrseq_slot_store(&slot, 5) == VRSEQ_UNCACHED);
	CHECK(!vrseq_slot_usable(&slot));
	CHECK(!vrseq_slot_load(&slot, &v));
	CHECK(vrseq_slot_cas(&slot, &word, 1, 2) == VRSEQ_UNCACHED);
	CHECK(word == 1);
	CHECK(vrseq_slot_cpu_view(&slot) == (uint32_t)sched_getcpu());
	if (check_fallback_ids(mode, &slot))
		return 1;
	CHECK(vrseq_fence_cpu(0) == 0);
	CHECK(vrseq_fence_all() == 0);
	CHECK(pthread_create(&th, NULL, info_thread, &other) == 0);
	pthread_join(th, NULL);
	CHECK(other.owner == thread_owner);
	/* Slots work for a vrseq-owned thread, unless the kernel is one whose
	 * critical sections vrseq cannot trust (arm64 6.19-7.0.13). */
	CHECK(other.guarantee == (other.fallback == VRSEQ_FALLBACK_NONE));
	CHECK(thread_owner == VRSEQ_OWNER_VRSEQ ?
	      (other.fallback == VRSEQ_FALLBACK_NONE ||
	       other.fallback == VRSEQ_FALLBACK_KERNEL) : !other.guarantee);
	return 0;
}

static int child_no_rseq(const char *mode)
{
	struct vrseq_info info;

	CHECK(getenv("GLIBC_TUNABLES") != NULL);
	CHECK(&__rseq_size == NULL || __rseq_size == 0);
	CHECK(block_syscall(__NR_rseq) == 0);
	CHECK(sys_rseq(NULL, 32, 0, 0) == -ENOSYS);
	if (check_fallback(mode, VRSEQ_OWNER_NONE, VRSEQ_OWNER_NONE))
		return 1;
	CHECK(vrseq_get_info(&info, sizeof(info)) == 0);
	CHECK(info.register_errno == ENOSYS);
	CHECK(info.fence_method == VRSEQ_FENCE_MEMBARRIER ||
	      info.fence_method == VRSEQ_FENCE_NONE);
	return 0;
}

static int child_foreign(const char *mode)
{
	static __thread struct vrseq_rseq_area foreign
		__attribute__((aligned(32)));
	struct vrseq_rseq_area before;

	CHECK(&__rseq_size == NULL || __rseq_size == 0);
	foreign.cpu_id = (uint32_t)VRSEQ_RSEQ_CPU_ID_UNINITIALIZED;
	CHECK(sys_rseq(&foreign, 32, 0, VRSEQ_RSEQ_SIG) == 0);
	before = foreign;
	if (check_fallback(mode, VRSEQ_OWNER_FOREIGN, VRSEQ_OWNER_VRSEQ))
		return 1;
	/* Not ours: rseq_cs and flags untouched, the kernel still owns it. */
	CHECK(foreign.rseq_cs == before.rseq_cs && foreign.flags == before.flags);
	CHECK(harness_pin(sched_getcpu()) == 0);
	CHECK((int)foreign.cpu_id == sched_getcpu());
	CHECK(foreign.cpu_id_start == foreign.cpu_id);
	{
		struct vrseq_kernel k;

		/* The foreign area is unknown: no experiment can run. */
		CHECK(vrseq_probe_kernel(&k, sizeof(k)) == 0);
		CHECK(k.rseq && k.legacy_rewrite == VRSEQ_PROBE_UNKNOWN);
		CHECK(foreign.rseq_cs == before.rseq_cs);
	}
	return 0;
}

static void *fence_thread(void *arg)
{
	return (void *)(intptr_t)vrseq_fence_cpu(*(int *)arg);
}

static int child_no_membarrier(const char *mode)
{
	struct vrseq_info info;
	struct vrseq_slot *slot;
	pthread_t th;
	void *res;
	int cpu;

	CHECK(block_syscall(__NR_membarrier) == 0);
	CHECK(vrseq_get_info(&info, sizeof(info)) == 0);
	CHECK(!info.membarrier_rseq);
	if (info.fallback == VRSEQ_FALLBACK_NO_RSEQ) {
		CHECK(info.fence_method == VRSEQ_FENCE_NONE);
		return 0;
	}
	CHECK(info.fence_method == VRSEQ_FENCE_AFFINITY);
	if (!info.guarantee)
		return vrseq_fence_all() == 0 ? 0 : 1;
	cpu = sched_getcpu();
	CHECK(harness_pin(cpu) == 0);
	slot = vrseq_thread_slot();
	CHECK(vrseq_slot_store(slot, 3) == VRSEQ_COMMITTED);
	CHECK(pthread_create(&th, NULL, fence_thread, &cpu) == 0);
	pthread_join(th, &res);
	CHECK(res == NULL);
	CHECK(!vrseq_slot_valid(slot));
	/* The fence restored the fencing thread's mask; ours is unchanged. */
	CHECK(sched_getcpu() == cpu);
	CHECK(vrseq_fence_all() == 0);
	CHECK(harness_abi_ok());
	return 0;
}

/*
 * A CLONE_VM child without its own TLS (vfork, posix_spawn) sees its
 * parent's glibc area. Setting up vrseq there must not register that area
 * for the child: every question vrseq asks the kernel is side-effect-free.
 */
struct clone_result {
	int init, owner;
	bool registered_after, any_after;
};

static int clone_vm_fn(void *arg)
{
	struct clone_result *r = arg;
	struct vrseq_info info;

	r->init = vrseq_init();
	info.owner = -1;
	vrseq_get_info(&info, sizeof(info));
	r->owner = info.owner;
	r->registered_after = registered_as(glibc_area(), 32) ||
			      registered_as(glibc_area(), __rseq_size);
	r->any_after = has_registration();
	return 0;
}

static int child_clone_vm(const char *mode)
{
	static char stack[256 * 1024] __attribute__((aligned(64)));
	struct clone_result r = { -1, -1, true, true };
	uint32_t len = glibc_len();
	int status;
	pid_t pid;

	CHECK(len >= 32);
	CHECK(has_registration());
	pid = clone(clone_vm_fn, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, &r);
	CHECK(pid > 0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	CHECK(r.init == 0);
	CHECK(!r.registered_after);
	CHECK(!r.any_after);
	CHECK(r.owner == VRSEQ_OWNER_NONE);
	/* The parent's own registration is glibc's, as before. */
	CHECK(registered_as(glibc_area(), len));
	CHECK(harness_area_ok(glibc_area()));
	return 0;
}

/*
 * A library that unregistered glibc's area in a thread and registered its
 * own: vrseq must call that "foreign" (and leave it alone), not "none".
 */
static void *replaced_thread(void *arg)
{
	static __thread struct vrseq_rseq_area mine __attribute__((aligned(32)));
	struct vrseq_info *info = arg;
	uint32_t len = glibc_len();

	info->owner = -1;
	if (len == 0 ||
	    sys_rseq(glibc_area(), len, VRSEQ_RSEQ_FLAG_UNREGISTER, VRSEQ_RSEQ_SIG) ||
	    sys_rseq(&mine, 32, 0, VRSEQ_RSEQ_SIG))
		return (void *)1;
	vrseq_get_info(info, sizeof(*info));
	/* Still registered, and untouched but by the kernel. */
	if (!registered_as(&mine, 32) || mine.rseq_cs != 0 ||
	    !harness_area_ok(&mine))
		return (void *)2;
	return NULL;
}

static int child_replaced(const char *mode)
{
	struct vrseq_info info;
	pthread_t th;
	void *res;

	CHECK(vrseq_init() == 0);
	CHECK(pthread_create(&th, NULL, replaced_thread, &info) == 0);
	CHECK(pthread_join(th, &res) == 0);
	CHECK(res == NULL);
	CHECK(info.owner == VRSEQ_OWNER_FOREIGN);
	CHECK(info.fallback == VRSEQ_FALLBACK_FOREIGN);
	CHECK(!info.guarantee);
	CHECK(info.registered_len == 0);
	return 0;
}

/*
 * The fence method is fixed at process set-up. A fence before any thread
 * has bound must still interrupt (no membarrier here: the affinity walk,
 * made visible by a sched_setaffinity that fails with a telltale errno).
 */
static int child_fence_first(const char *mode)
{
	struct vrseq_info info;

	CHECK(block_syscalls(__NR_membarrier, ENOSYS,
			     __NR_sched_setaffinity, EHWPOISON) == 0);
	CHECK(vrseq_fence_all() == -EHWPOISON);
	CHECK(vrseq_fence_cpu(0) == -EHWPOISON);
	CHECK(vrseq_get_info(&info, sizeof(info)) == 0);
	CHECK(info.fence_method == VRSEQ_FENCE_AFFINITY);
	return 0;
}

/*
 * Forbidding vrseq's own registration (vrseq_set_own_registration(),
 * VRSEQ_OWN_REGISTRATION=0) with glibc's off: slots in fallback for that
 * reason, and the thread's one registration left free for another library.
 */
static void *own_info_thread(void *arg)
{
	vrseq_get_info(arg, sizeof(struct vrseq_info));
	return NULL;
}

static int info_in_thread(struct vrseq_info *info)
{
	pthread_t th;

	memset(info, 0xa5, sizeof(*info));
	if (pthread_create(&th, NULL, own_info_thread, info) ||
	    pthread_join(th, NULL))
		return -1;
	return 0;
}

static bool rseq_exists(void)
{
	return sys_rseq(NULL, 0, 0, 0) != -ENOSYS;
}

/* Slots of a thread that bound while forbidden, and its free registration. */
static int check_forbidden_thread(const char *mode)
{
	static __thread struct vrseq_rseq_area mine __attribute__((aligned(32)));
	struct vrseq_info info;

	CHECK(vrseq_get_info(&info, sizeof(info)) == 0);
	CHECK(info.own_registration == 0);
	CHECK(info.owner == VRSEQ_OWNER_NONE);
	CHECK(info.fallback == VRSEQ_FALLBACK_OWN_FORBIDDEN);
	CHECK(!info.guarantee);
	CHECK(info.registered_len == 0 && info.register_errno == 0);
	CHECK(!has_registration());
	CHECK(!vrseq_slot_valid(vrseq_thread_slot()));
	/* What the forbid is for: another library registers after vrseq. */
	if (rseq_exists()) {
		CHECK(sys_rseq(&mine, 32, 0, VRSEQ_RSEQ_SIG) == 0);
		CHECK(registered_as(&mine, 32));
		CHECK(harness_area_ok(&mine));
		CHECK(sys_rseq(&mine, 32, VRSEQ_RSEQ_FLAG_UNREGISTER,
			       VRSEQ_RSEQ_SIG) == 0);
	}
	return 0;
}

static int child_own_forbidden_call(const char *mode)
{
	struct vrseq_info info;

	CHECK(vrseq_set_own_registration(2) == -EINVAL);
	CHECK(vrseq_set_own_registration(-1) == -EINVAL);
	/* Nothing registered yet: in time. */
	CHECK(vrseq_set_own_registration(0) == 0);
	if (check_forbidden_thread(mode))
		return 1;
	/* Allowed again: a new thread takes its own area... */
	CHECK(vrseq_set_own_registration(1) == 0);
	CHECK(info_in_thread(&info) == 0);
	CHECK(info.own_registration == 1);
	if (rseq_exists()) {
		CHECK(info.owner == VRSEQ_OWNER_VRSEQ);
		CHECK(info.registered_len >= 32);
		/* ... so a forbid now is late, though made. */
		CHECK(vrseq_set_own_registration(0) == -EBUSY);
		CHECK(info_in_thread(&info) == 0);
		CHECK(info.own_registration == 0);
		CHECK(info.owner == VRSEQ_OWNER_NONE);
		CHECK(info.fallback == VRSEQ_FALLBACK_OWN_FORBIDDEN);
	} else {
		CHECK(info.owner == VRSEQ_OWNER_NONE);
		CHECK(info.fallback == VRSEQ_FALLBACK_NO_RSEQ);
	}
	return 0;
}

/* Spawned with VRSEQ_OWN_REGISTRATION=0: the call cannot undo it. */
static int child_own_forbidden_env(const char *mode)
{
	struct vrseq_info info;

	if (check_forbidden_thread(mode))
		return 1;
	CHECK(vrseq_set_own_registration(1) == 0);
	CHECK(info_in_thread(&info) == 0);
	CHECK(info.own_registration == 0);
	CHECK(info.fallback == VRSEQ_FALLBACK_OWN_FORBIDDEN);
	CHECK(strcmp(vrseq_fallback_name(VRSEQ_FALLBACK_OWN_FORBIDDEN),
		     "unknown") != 0);
	return 0;
}

/* With glibc's registration the forbid changes nothing but the report. */
static int child_own_forbidden_glibc(const char *mode)
{
	struct vrseq_info before, info;

	CHECK(vrseq_get_info(&before, sizeof(before)) == 0);
	CHECK(before.own_registration == 1);
	CHECK(vrseq_set_own_registration(0) == 0);
	CHECK(info_in_thread(&info) == 0);
	CHECK(info.own_registration == 0);
	CHECK(info.owner == before.owner);
	CHECK(info.fallback == before.fallback);
	CHECK(info.guarantee == before.guarantee);
	return 0;
}

static int run_child(const char *mode)
{
	if (!strcmp(mode, "clone-vm"))
		return child_clone_vm(mode);
	if (!strcmp(mode, "replaced"))
		return child_replaced(mode);
	if (!strcmp(mode, "fence-first"))
		return child_fence_first(mode);
	if (!strcmp(mode, "no-rseq"))
		return child_no_rseq(mode);
	if (!strcmp(mode, "foreign"))
		return child_foreign(mode);
	if (!strcmp(mode, "no-membarrier"))
		return child_no_membarrier(mode);
	if (!strcmp(mode, "own-forbidden-call"))
		return child_own_forbidden_call(mode);
	if (!strcmp(mode, "own-forbidden-env"))
		return child_own_forbidden_env(mode);
	if (!strcmp(mode, "own-forbidden-glibc"))
		return child_own_forbidden_glibc(mode);
	fprintf(stderr, "unknown child mode %s\n", mode);
	return EXIT_HARD;
}

static char self_path[4096];

/* Re-execute ourselves in `mode`, optionally without glibc's registration. */
static int spawn(const char *mode, bool glibc_off)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		char *argv[] = { "test-discovery", "--child", (char *)mode, NULL };

		if (glibc_off)
			setenv("GLIBC_TUNABLES", "glibc.pthread.rseq=0", 1);
		if (!strcmp(mode, "own-forbidden-env"))
			setenv("VRSEQ_OWN_REGISTRATION", "0", 1);
		else
			unsetenv("VRSEQ_OWN_REGISTRATION");
		execv(self_path, argv);
		_exit(EXIT_HARD);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* ------------------------------------------------------------ cases */

static void test_child_own_forbidden(void)
{
	CU_ASSERT_EQUAL(spawn("own-forbidden-call", true), 0);
	CU_ASSERT_EQUAL(spawn("own-forbidden-env", true), 0);
	if (glibc_len())
		CU_ASSERT_EQUAL(spawn("own-forbidden-glibc", false), 0);
}

static void test_this_process(void)
{
	const char *expect = getenv("VRSEQ_EXPECT_OWNER");
	bool glibc_has = &__rseq_size && __rseq_size > 0;
	struct vrseq_info info;
	struct vrseq_slot *slot;

	CU_ASSERT_EQUAL_FATAL(vrseq_init(), 0);
	CU_ASSERT_EQUAL_FATAL(vrseq_get_info(&info, sizeof(info)), 0);
	CU_ASSERT_EQUAL(info.size, sizeof(info));
	CU_ASSERT_EQUAL(info.feature_size, expected_feature_size());
	slot = vrseq_thread_slot();
	if (glibc_has) {
		void *glibc_area = (char *)__builtin_thread_pointer() + __rseq_offset;

		CU_ASSERT_EQUAL(info.owner, VRSEQ_OWNER_GLIBC);
		if (info.guarantee)
			CU_ASSERT_PTR_EQUAL(slot->area, glibc_area);
		CU_ASSERT(expect == NULL || !strcmp(expect, "glibc"));
	} else if (sys_rseq(NULL, 0, 0, 0) == -ENOSYS) {
		/* valgrind, or a kernel without rseq */
		CU_ASSERT_EQUAL(info.owner, VRSEQ_OWNER_NONE);
		CU_ASSERT_EQUAL(info.register_errno, ENOSYS);
		CU_ASSERT_FALSE(info.guarantee);
		return;
	} else {
		uint32_t want = info.feature_size > 32 ? info.feature_size : 32;

		CU_ASSERT_EQUAL(info.owner, VRSEQ_OWNER_VRSEQ);
		CU_ASSERT_EQUAL(info.registered_len, want);
		CU_ASSERT(expect == NULL || !strcmp(expect, "vrseq"));
	}
	/* The kernel confirms address and length: same ones again = EBUSY.
	 * (A fallback slot does not point at the area: ask the thread's.) */
	if (info.fallback == VRSEQ_FALLBACK_NONE)
		CU_ASSERT_EQUAL(sys_rseq(slot->area, info.registered_len, 0,
					 VRSEQ_RSEQ_SIG), -EBUSY);
	/* Registered, yet on an arm64 kernel that does not abort critical
	 * sections the slots must stay in fallback. */
	CU_ASSERT(info.fallback == VRSEQ_FALLBACK_NONE ||
		  info.fallback == VRSEQ_FALLBACK_KERNEL);
	CU_ASSERT_EQUAL(info.guarantee, info.fallback == VRSEQ_FALLBACK_NONE);
	CU_ASSERT_EQUAL(!!(slot->flags & VRSEQ_SLOT_F_FALLBACK), !info.guarantee);
	CU_ASSERT_EQUAL(info.node_id_usable, info.feature_size >= 24);
	CU_ASSERT_EQUAL(info.mm_cid_usable, info.feature_size >= 28);
	CU_ASSERT_ABI();
}

static void test_membarrier_report(void)
{
	long cmds = syscall(__NR_membarrier, 0, 0, 0);
	struct vrseq_info info;

	CU_ASSERT_EQUAL_FATAL(vrseq_get_info(&info, sizeof(info)), 0);
	CU_ASSERT_EQUAL(info.membarrier_rseq, cmds > 0 && (cmds & (1 << 7)));
	if (info.membarrier_rseq)
		CU_ASSERT_EQUAL(info.fence_method, VRSEQ_FENCE_MEMBARRIER);
	/* A short info struct (an older caller) gets only what it asked for. */
	{
		unsigned char buf[sizeof(info) + 8];

		memset(buf, 0xa5, sizeof(buf));
		CU_ASSERT_EQUAL(vrseq_get_info((void *)buf, 8), 0);
		CU_ASSERT_EQUAL(((struct vrseq_info *)buf)->size, 8);
		CU_ASSERT_EQUAL(buf[8], 0xa5);
		CU_ASSERT_EQUAL(vrseq_get_info(NULL, sizeof(info)), -EINVAL);
	}
}

/*
 * The probe's answers hang together, and its experiments (children writing
 * cpu_id_start of private registrations) leave this process untouched.
 */
static void test_probe(void)
{
	struct vrseq_info info;
	struct vrseq_kernel k;
	struct vrseq_slot *slot = vrseq_thread_slot();
	uint64_t v = 0;

	CU_ASSERT_EQUAL_FATAL(vrseq_get_info(&info, sizeof(info)), 0);
	CU_ASSERT_EQUAL(vrseq_probe_kernel(NULL, sizeof(k)), -EINVAL);
	if (harness_rseq()) {
		CU_ASSERT_EQUAL_FATAL(harness_pin(sched_getcpu()), 0);
		CU_ASSERT_EQUAL(vrseq_slot_store(slot, 0xbeef), VRSEQ_COMMITTED);
	}
	CU_ASSERT_EQUAL_FATAL(vrseq_probe_kernel(&k, sizeof(k)), 0);
	printf("\n    probe: rseq %d, legacy rewrite %s, v2 %s, debug %d, safe %d\n",
	       k.rseq, vrseq_probe_name(k.legacy_rewrite), vrseq_v2_name(k.v2),
	       k.debug_mode, k.legacy_safe);
	CU_ASSERT_EQUAL(k.size, sizeof(k));
	CU_ASSERT_EQUAL(k.feature_size, info.feature_size);
	CU_ASSERT_EQUAL(k.rseq, sys_rseq(NULL, 0, 0, 0) != -ENOSYS);
	/* Measured: where the gate keeps slots in fallback the kernel must
	 * not be seen aborting, anywhere else not seen failing to (unknown,
	 * when a loaded machine kept the events from hitting, is neither). */
	if (!k.rseq) {
		CU_ASSERT_EQUAL(k.cs_abort, VRSEQ_PROBE_UNKNOWN);
	} else if (info.fallback == VRSEQ_FALLBACK_KERNEL) {
		CU_ASSERT_NOT_EQUAL(k.cs_abort, VRSEQ_PROBE_YES);
	} else {
		CU_ASSERT_NOT_EQUAL(k.cs_abort, VRSEQ_PROBE_NO);
	}
	if (info.fallback == VRSEQ_FALLBACK_KERNEL)
		CU_ASSERT_EQUAL(k.cs_abort_release, VRSEQ_PROBE_NO);
	CU_ASSERT_EQUAL(k.legacy_safe, k.rseq && k.legacy_rewrite == VRSEQ_PROBE_YES &&
			k.cs_abort == VRSEQ_PROBE_YES);
	if (k.rseq) {
		int cpus[2];

		CU_ASSERT(k.legacy_rewrite != VRSEQ_PROBE_UNKNOWN);
		CU_ASSERT_EQUAL(k.v2 == VRSEQ_V2_NONE, k.feature_size <= 32);
		/* Pinned here, yet the child may move: it widens its own mask. */
		if (k.feature_size > 32 && harness_cpus(cpus, 2) == 2)
			CU_ASSERT(k.v2 == VRSEQ_V2_LENIENT || k.v2 == VRSEQ_V2_STRICT);
	} else {
		CU_ASSERT_EQUAL(k.legacy_rewrite, VRSEQ_PROBE_UNKNOWN);
		CU_ASSERT_FALSE(k.legacy_safe);
	}
	if (harness_rseq()) {
		/* Still registered, same area and length; the slot still valid. */
		CU_ASSERT_EQUAL(sys_rseq(slot->area, info.registered_len, 0,
					 VRSEQ_RSEQ_SIG), -EBUSY);
		CU_ASSERT_TRUE(vrseq_slot_load(slot, &v));
		CU_ASSERT_EQUAL(v, 0xbeef);
		CU_ASSERT_ABI();
		harness_pin_restore();
	}
}

static void test_child_no_rseq(void)
{
	CU_ASSERT_EQUAL(spawn("no-rseq", true), 0);
}

static void test_child_foreign(void)
{
	CU_ASSERT_EQUAL(spawn("foreign", true), 0);
}

static void test_child_no_membarrier(void)
{
	CU_ASSERT_EQUAL(spawn("no-membarrier", false), 0);
	CU_ASSERT_EQUAL(spawn("no-membarrier", true), 0);
}

static void test_child_clone_vm(void)
{
	if (!harness_rseq() || &__rseq_size == NULL || __rseq_size == 0)
		return;	/* needs glibc's registration */
	CU_ASSERT_EQUAL(spawn("clone-vm", false), 0);
}

static void test_child_replaced(void)
{
	if (!harness_rseq() || &__rseq_size == NULL || __rseq_size == 0)
		return;	/* needs glibc's registration */
	CU_ASSERT_EQUAL(spawn("replaced", false), 0);
}

static void test_child_fence_first(void)
{
	if (!harness_rseq())
		return;
	CU_ASSERT_EQUAL(spawn("fence-first", false), 0);
	CU_ASSERT_EQUAL(spawn("fence-first", true), 0);
}

static const struct test_case cases[] = {
	{ "this process's registration", test_this_process },
	{ "membarrier report and short info", test_membarrier_report },
	{ "kernel probe", test_probe },
	{ "seccomp: rseq returns ENOSYS", test_child_no_rseq },
	{ "foreign registration already present", test_child_foreign },
	{ "seccomp: membarrier returns ENOSYS", test_child_no_membarrier },
	{ "CLONE_VM child: nothing registered for it", test_child_clone_vm },
	{ "glibc's registration replaced: foreign", test_child_replaced },
	{ "fence before any binding interrupts", test_child_fence_first },
	{ "own registration forbidden: fallback, area left free",
	  test_child_own_forbidden },
	{ NULL, NULL },
};

int main(int argc, char **argv)
{
	ssize_t n;

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return run_child(argv[2]);
	/* Read now: under valgrind the link names the program, not the tool. */
	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n <= 0)
		return EXIT_HARD;
	self_path[n] = 0;
	return harness_run("discovery", cases);
}
