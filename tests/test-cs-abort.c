/* SPDX-License-Identifier: MIT */
/*
 * The critical-section abort experiment (src/cs-abort.c) on both sides of
 * its answer. The kernel here aborts sections, so the negative side needs
 * a section the kernel cannot abort: one whose rseq_cs lives in an area
 * that is not registered. Every event then hits a section that commits,
 * and the experiment must say "no" with every hit counted as committed; on
 * the thread's real registration it must say "yes" with none committed.
 * The probe's children (src/probe.c) are replaced by a plain fork here, so
 * that the area handed to the experiment is the test's choice.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "../src/internal.h"
#include "../src/membarrier.h"
#include "../src/probe.h"

struct vrseq_process vrseq__proc = { .feature_size = 32 };

/* Never registered: sections whose rseq_cs is here are never aborted. */
static struct vrseq_rseq_area unregistered
	__attribute__((aligned(VRSEQ_OWN_AREA_ALIGN)));

struct vrseq_rseq_area *vrseq__probe_register_private(
	const struct vrseq_thread *t, uint32_t len)
{
	(void)t;
	(void)len;
	return &unregistered;
}

int vrseq__probe_run_child(int (*experiment)(const struct vrseq_thread *,
					     uint32_t),
			   const struct vrseq_thread *t, uint32_t len)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return VRSEQ_PROBE_UNKNOWN;
	if (pid == 0) {
		alarm(10);
		_exit(experiment(t, len));
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return VRSEQ_PROBE_UNKNOWN;
	return WEXITSTATUS(status) == CHILD_YES ? VRSEQ_PROBE_YES :
						  VRSEQ_PROBE_UNKNOWN;
}

int vrseq__sys_membarrier(int cmd, unsigned int flags, int cpu_id)
{
	long ret = syscall(__NR_membarrier, cmd, flags, cpu_id);

	return ret < 0 ? -1 : (int)ret;
}

static bool two_cpus(void)
{
	int cpus[2];

	return harness_cpus(cpus, 2) == 2;
}

static bool membarrier_rseq(void)
{
	long cmds = syscall(__NR_membarrier, VRSEQ_MEMBARRIER_CMD_QUERY, 0, 0);

	return cmds > 0 && (cmds & VRSEQ_MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ);
}

static void print(const char *what, const struct vrseq_kernel *k)
{
	printf("\n    %s: %s; signal %s %u/%u, preempt %s %u/%u, "
	       "membarrier %s %u/%u committed/hit, %u us", what,
	       vrseq_probe_name(k->cs_abort),
	       vrseq_probe_name(k->cs_abort_signal), k->cs_committed_signal,
	       k->cs_hits_signal, vrseq_probe_name(k->cs_abort_preempt),
	       k->cs_committed_preempt, k->cs_hits_preempt,
	       vrseq_probe_name(k->cs_abort_membarrier),
	       k->cs_committed_membarrier, k->cs_hits_membarrier,
	       k->cs_abort_usec);
}

/* One cause's answer, as it must be where sections (are not) aborted. */
static void assert_cause(int answer, unsigned int hits, unsigned int committed,
			 bool measurable, bool aborted)
{
	if (!measurable) {
		CU_ASSERT_EQUAL(answer, VRSEQ_PROBE_UNKNOWN);
		CU_ASSERT_EQUAL(hits, 0);
		return;
	}
	CU_ASSERT(hits >= 4 && hits <= 12);
	CU_ASSERT_EQUAL(committed, aborted ? 0 : hits);
	CU_ASSERT_EQUAL(answer, aborted ? VRSEQ_PROBE_YES : VRSEQ_PROBE_NO);
}

static void measure_on(struct vrseq_rseq_area *area, bool aborted)
{
	struct vrseq_thread t;
	struct vrseq_kernel k;
	bool two = two_cpus();

	memset(&t, 0, sizeof(t));
	memset(&k, 0, sizeof(k));
	t.area = area;
	t.owner = area ? VRSEQ_OWNER_GLIBC : VRSEQ_OWNER_NONE;
	vrseq__measure_cs_abort(&t, &k);
	print(aborted ? "registered" : "unregistered", &k);
	assert_cause(k.cs_abort_signal, k.cs_hits_signal,
		     k.cs_committed_signal, two, aborted);
	assert_cause(k.cs_abort_preempt, k.cs_hits_preempt,
		     k.cs_committed_preempt, true, aborted);
	assert_cause(k.cs_abort_membarrier, k.cs_hits_membarrier,
		     k.cs_committed_membarrier, two && membarrier_rseq(),
		     aborted);
	CU_ASSERT_EQUAL(k.cs_abort, aborted ? VRSEQ_PROBE_YES : VRSEQ_PROBE_NO);
	CU_ASSERT(k.cs_abort_usec > 0);
}

static void test_unregistered(void)
{
	measure_on(NULL, false);
}

static void test_registered(void)
{
	const struct vrseq_slot *slot = vrseq_thread_slot();

	if (!harness_rseq() || !slot || !slot->area) {
		printf("\n    no rseq registration here: skipped");
		return;
	}
	measure_on((struct vrseq_rseq_area *)slot->area, true);
}

static const struct test_case cases[] = {
	{ "sections in an unregistered area commit: answer no", test_unregistered },
	{ "sections in the thread's registration abort: answer yes", test_registered },
	{ NULL, NULL },
};

int main(void)
{
	return harness_run("cs-abort", cases);
}
