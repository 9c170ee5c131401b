// SPDX-License-Identifier: MIT
// The other object that emits the COMDAT functions of cxx-comdat.h, and the
// program: one copy of each function survived the link, and that copy's
// sections work (commits, refusals, the abort handlers under a timer signal).
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cxx-comdat.h"

extern const cxxc::table cxxc_table_b = CXXC_TABLE_INIT;

static int failures;

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__,	\
			       #cond);					\
			failures++;					\
		}							\
	} while (0)

static const cxxc::table &a = cxxc_table_a, &b = cxxc_table_b;

// A retry (1) when a step was invalidated by a migration, else 0.
#define STEP(call, want)						\
	do {								\
		int step_rc = (call);					\
		if (step_rc == VRSEQ_INVALIDATED &&			\
		    (want) != VRSEQ_INVALIDATED)			\
			return 1;					\
		CHECK(step_rc == (want));				\
	} while (0)

// Every function through both tables, on a slot that can be valid.
static int valid_round(struct vrseq_slot *slot)
{
	uint64_t v = 0, word = 1;
	int64_t i = 0;
	cxxc::counter c = { 0 };

	STEP(a.store(slot, 42), VRSEQ_COMMITTED);
	STEP(b.load(slot, &v), VRSEQ_COMMITTED);
	CHECK(v == 42);
	STEP(b.commit(slot, 7), VRSEQ_COMMITTED);
	STEP(a.load_u64(slot, &v), VRSEQ_COMMITTED);
	CHECK(v == 7);
	STEP(a.store_i64(slot, -5), VRSEQ_COMMITTED);
	STEP(b.load_i64(slot, &i), VRSEQ_COMMITTED);
	CHECK(i == -5);
	STEP(b.store_u64(slot, UINT64_MAX), VRSEQ_COMMITTED);
	STEP(a.load(slot, &v), VRSEQ_COMMITTED);
	CHECK(v == UINT64_MAX);
	STEP(a.cas(slot, &word, 1, 2), VRSEQ_COMMITTED);
	CHECK(word == 2);
	STEP(b.cas(slot, &word, 1, 3), VRSEQ_CHANGED);
	CHECK(word == 2);
	STEP((c.*a.add)(slot, 5), VRSEQ_COMMITTED);
	STEP((c.*b.add)(slot, 6), VRSEQ_COMMITTED);
	CHECK(c.n == 11);
	// A cleared slot is never valid: every section refuses.
	vrseq_slot_clear(slot);
	v = 0;
	STEP(b.load(slot, &v), VRSEQ_INVALIDATED);
	CHECK(v == 0);
	STEP(a.cas(slot, &word, 2, 4), VRSEQ_INVALIDATED);
	CHECK(word == 2);
	STEP((c.*b.add)(slot, 1), VRSEQ_INVALIDATED);
	CHECK(c.n == 11);
	return 0;
}

// What vrseq_slot_commit/cas return for a slot that cannot be valid.
#ifdef VRSEQ_UNCACHED
# define REFUSED	VRSEQ_UNCACHED
#else
# define REFUSED	VRSEQ_INVALIDATED
#endif

// No usable rseq: nothing commits; the building blocks' check fails.
static void fallback_round(struct vrseq_slot *slot)
{
	uint64_t v = 0, word = 1;
	cxxc::counter c = { 0 };

	CHECK(a.store(slot, 42) == REFUSED);
	CHECK(b.commit(slot, 7) == REFUSED);
	CHECK(b.store_u64(slot, 9) == REFUSED);
	CHECK(a.store_i64(slot, -5) == REFUSED);
	CHECK(b.cas(slot, &word, 1, 2) == REFUSED && word == 1);
	CHECK(b.load(slot, &v) == VRSEQ_INVALIDATED && v == 0);
	CHECK(a.load_u64(slot, &v) == VRSEQ_INVALIDATED && v == 0);
	CHECK((c.*a.add)(slot, 5) == VRSEQ_INVALIDATED && c.n == 0);
}

static volatile sig_atomic_t signals;

static void on_alarm(int sig)
{
	(void)sig;
	signals = signals + 1;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Counter additions under a 20 kHz timer signal: each one that reports
// VRSEQ_COMMITTED happened exactly once, whatever was aborted and retried,
// and signals that hit a section abort it (the loop is mostly sections).
static void signal_round(struct vrseq_slot *slot)
{
	struct sigaction sa;
	struct itimerval it;
	cxxc::counter c = { 0 };
	uint64_t committed = 0, refreshes = 0;
	double end = now() + 0.2;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
	memset(&it, 0, sizeof(it));
	it.it_interval.tv_usec = 50;
	it.it_value.tv_usec = 50;
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	while (now() < end) {
		const cxxc::table &t = committed & 1 ? a : b;

		for (int i = 0; i < 1000; i++) {
			int rc = (c.*t.add)(slot, 1);

			if (rc == VRSEQ_COMMITTED) {
				committed++;
			} else {
				CHECK(rc == VRSEQ_INVALIDATED);
				refreshes++;
				t.store(slot, 0);	// migrated: valid again
			}
		}
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	CHECK(c.n == committed);
	CHECK(committed > 0);
	CHECK(signals < 100 || a.aborts() > 0);
	printf("signal round: %llu additions, %llu refreshes, %d signals, %lu "
	       "aborted and retried\n", (unsigned long long)committed,
	       (unsigned long long)refreshes, (int)signals, a.aborts());
}

int main(void)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	const int tries = 10000;
	int retries = 0;
	cpu_set_t set;

	// One copy of each: both objects see the same functions.
	CHECK(a.store == b.store);
	CHECK(a.commit == b.commit);
	CHECK(a.cas == b.cas);
	CHECK(a.store_u64 == b.store_u64);
	CHECK(a.store_i64 == b.store_i64);
	CHECK(a.load_u64 == b.load_u64);
	CHECK(a.load_i64 == b.load_i64);
	CHECK(a.load == b.load);
	CHECK(a.add == b.add);
	CHECK(a.aborts == b.aborts);
	if (failures) {
		printf("two copies of inline functions survived the link\n");
		return 1;
	}

	if (slot->flags & VRSEQ_SLOT_F_FALLBACK) {
		printf("fallback slot (no usable rseq): every section refuses\n");
		fallback_round(slot);
	} else {
		// Fewer migrations between the steps; not needed for the result.
		CPU_ZERO(&set);
		CPU_SET(sched_getcpu(), &set);
		sched_setaffinity(0, sizeof(set), &set);
		while (retries < tries && valid_round(slot))
			retries++;
		CHECK(retries < tries);
		printf("valid slot: every function commits and refuses right "
		       "(%d rounds retried after a migration)\n", retries);
		signal_round(slot);
	}
	printf("%s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
