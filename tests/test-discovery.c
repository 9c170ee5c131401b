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

/* Make syscall `nr` fail with ENOSYS for this process from now on. */
static int block_syscall(int nr)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_SELF, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned int)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(filter) / sizeof(filter[0]), filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) ? -errno : 0;
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
	CHECK(vrseq_slot_store(&slot, 5) == VRSEQ_INVALIDATED);
	CHECK(!vrseq_slot_load(&slot, &v));
	CHECK(vrseq_slot_cas(&slot, &word, 1, 2) == VRSEQ_INVALIDATED);
	CHECK(word == 1);
	CHECK(vrseq_slot_cpu_view(&slot) == (uint32_t)sched_getcpu());
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

static int run_child(const char *mode)
{
	if (!strcmp(mode, "no-rseq"))
		return child_no_rseq(mode);
	if (!strcmp(mode, "foreign"))
		return child_foreign(mode);
	if (!strcmp(mode, "no-membarrier"))
		return child_no_membarrier(mode);
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
		execv(self_path, argv);
		_exit(EXIT_HARD);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/* ------------------------------------------------------------ cases */

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
	CU_ASSERT_EQUAL(k.cs_abort, !k.rseq ? VRSEQ_PROBE_UNKNOWN :
			info.fallback == VRSEQ_FALLBACK_KERNEL ? VRSEQ_PROBE_NO :
			VRSEQ_PROBE_YES);
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

static const struct test_case cases[] = {
	{ "this process's registration", test_this_process },
	{ "membarrier report and short info", test_membarrier_report },
	{ "kernel probe", test_probe },
	{ "seccomp: rseq returns ENOSYS", test_child_no_rseq },
	{ "foreign registration already present", test_child_foreign },
	{ "seccomp: membarrier returns ENOSYS", test_child_no_membarrier },
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
