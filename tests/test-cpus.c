/* SPDX-License-Identifier: MIT */
/*
 * The tag arrays cover every id the kernel can write, whatever sysfs says.
 *
 * Each case runs in a forked child that has not used vrseq yet, inside a
 * private mount namespace (root, or skip) in which /sys and /proc are empty
 * tmpfs mounts, or /sys/devices/system/cpu/possible is replaced by a file
 * that lies ("0", "0-4294967295"). Then, on every CPU the process may use:
 * the id indexes inside the tag arrays (nr_ids covers it), a fence of that
 * CPU succeeds and invalidates, and a cleared or never-committed slot never
 * reads valid (CPU and MM_CID mode).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define POSSIBLE	"/sys/devices/system/cpu/possible"
#define READS		2000

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "child %s: check failed at line %d: %s\n",	\
			what, __LINE__, #cond);				\
		return 1;						\
	}								\
} while (0)

static int check_slots(const char *what)
{
	struct vrseq_info info;
	struct vrseq_slot cid_slot, fresh;
	int cpus[64], n = harness_cpus(cpus, 64);
	bool cid;
	uint64_t v;

	CHECK(n > 0);
	CHECK(vrseq_init() == 0);
	CHECK(vrseq_get_info(&info, sizeof(info)) == 0);
	if (!info.guarantee)
		return EXIT_SKIP;
	cid = vrseq_slot_init(&cid_slot, VRSEQ_SLOT_MM_CID) == 0;
	for (int i = 0; i < n; i++) {
		struct vrseq_slot *slot = vrseq_thread_slot();

		CHECK(harness_pin(cpus[i]) == 0);
		CHECK(vrseq_slot_current_id(slot) == (uint32_t)cpus[i]);
		CHECK(vrseq_slot_init(&fresh, VRSEQ_SLOT_CPU) == 0);
		CHECK(!vrseq_slot_load(&fresh, &v));
		CHECK(vrseq_slot_store(slot, 0x100 + i) == VRSEQ_COMMITTED);
		CHECK(vrseq_slot_load(slot, &v) && v == (uint64_t)(0x100 + i));
		CHECK(vrseq_fence_cpu(cpus[i]) == 0);
		CHECK(!vrseq_slot_valid(slot));
		vrseq_slot_clear(slot);
		for (int r = 0; r < READS; r++)
			CHECK(!vrseq_slot_valid(slot));
		if (cid) {
			uint32_t id = vrseq_slot_current_id(&cid_slot);

			CHECK(id < info.nr_ids);
			CHECK(vrseq_slot_store(&cid_slot, 0x200 + i) == VRSEQ_COMMITTED ||
			      vrseq_slot_current_id(&cid_slot) != id);
			CHECK(vrseq_fence_mm_cid((int)id) == 0);
			vrseq_slot_clear(&cid_slot);
			for (int r = 0; r < READS; r++)
				CHECK(!vrseq_slot_load(&cid_slot, &v));
		}
	}
	/* The behaviour above is what counts; this is why it holds. */
	for (int i = 0; i < n; i++)
		CHECK((uint32_t)cpus[i] < info.nr_ids);
	CHECK(vrseq_fence_cpu((int)info.nr_ids) == -EINVAL);
	CHECK(vrseq_fence_mm_cid((int)info.nr_ids) == -EINVAL);
	harness_pin_restore();
	return 0;
}

/* A file with `text` bind-mounted over POSSIBLE. */
static int fake_possible(const char *what, const char *text)
{
	char path[] = "/tmp/vrseq-possible.XXXXXX";
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	CHECK(mount(path, POSSIBLE, NULL, MS_BIND, NULL) == 0);
	unlink(path);
	{
		char buf[64] = "";

		fd = open(POSSIBLE, O_RDONLY);
		CHECK(fd >= 0);
		CHECK(read(fd, buf, sizeof(buf) - 1) > 0);
		close(fd);
		CHECK(strncmp(buf, text, strlen(text)) == 0);
	}
	return 0;
}

static int no_sys_no_proc(const char *what)
{
	CHECK(mount("none", "/sys", "tmpfs", 0, NULL) == 0);
	CHECK(mount("none", "/proc", "tmpfs", 0, NULL) == 0);
	CHECK(access(POSSIBLE, F_OK) < 0);
	return 0;
}

/* In a private mount namespace: `prepare`, then the checks. */
static int run(const char *what, int (*prepare)(const char *), const char *text)
{
	int status, rc;
	pid_t pid = fork();

	if (pid == 0) {
		alarm(60);
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(EXIT_SKIP);
		rc = prepare ? prepare(what) : fake_possible(what, text);
		_exit(rc ? rc : check_slots(what));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static int skipped;

static void expect_pass(int rc)
{
	if (rc == EXIT_SKIP) {
		skipped++;
		return;
	}
	CU_ASSERT_EQUAL(rc, 0);
}

static void test_no_sysfs(void)
{
	expect_pass(run("no /sys, no /proc", no_sys_no_proc, NULL));
}

static void test_possible_too_small(void)
{
	expect_pass(run("possible=0", NULL, "0\n"));
}

static void test_possible_huge(void)
{
	expect_pass(run("possible=0-4294967295", NULL, "0-4294967295\n"));
}

static void test_possible_garbage(void)
{
	expect_pass(run("possible=garbage", NULL, "x\n"));
}

static const struct test_case cases[] = {
	{ "/sys and /proc are empty", test_no_sysfs },
	{ "sysfs says one CPU", test_possible_too_small },
	{ "sysfs says 2^32 CPUs", test_possible_huge },
	{ "sysfs says nothing readable", test_possible_garbage },
	{ NULL, NULL },
};

int main(void)
{
	int rc;

	if (geteuid() != 0) {
		printf("not root: no mount namespace; skipped\n");
		return EXIT_SKIP;
	}
	/* Asked raw: this process must not set vrseq up before its children.
	 * An unknown flag is EINVAL wherever rseq exists (not under valgrind). */
	if (syscall(__NR_rseq, NULL, 0, 2, 0) == 0 || errno != EINVAL) {
		printf("no rseq system call: skipped\n");
		return EXIT_SKIP;
	}
	rc = harness_run("cpus", cases);
	if (rc == EXIT_SUCCESS && skipped == 4) {
		printf("no case could run (no mount namespace, or no rseq): skipped\n");
		return EXIT_SKIP;
	}
	return rc;
}
