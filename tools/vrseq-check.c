/* SPDX-License-Identifier: MIT */
/*
 * vrseq-check: this machine's rseq picture, and a self-test of the slot;
 * with -p PID, another process's threads instead (check-pid.c).
 * Exit status: 0 slots work here; 1 a self-test failed; 2 vrseq runs in
 * fallback mode (correct, but no per-CPU caching); 3 the kernel probe could
 * not run; 6 slots are valid on a kernel that the probe saw let critical
 * sections commit; with -p: 0 clean, 4 a kernel-owned field was written, 5 the
 * process could not be inspected; 64 usage error. --json prints one object
 * whose keys and values are doc/vrseq-check.schema.json's (schema 1), or
 * with -p doc/vrseq-check-pid.schema.json's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdarg.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <vrseq.h>

#include "check.h"
#include "cs-gate.h"
#include "output.h"

/* The JSON output's version: raise it when a key changes meaning or goes. */
#define JSON_SCHEMA	1

enum result { SKIP, PASS, FAIL };

struct selftest {
	const char *name, *key;		/* prose, and the JSON key */
	enum result result;
	char detail[160];
};

static const char *result_name(enum result r)
{
	return r == PASS ? "pass" : r == FAIL ? "FAIL" : "skip";
}

static void set(struct selftest *t, enum result r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set(struct selftest *t, enum result r, const char *fmt, ...)
{
	va_list ap;

	t->result = r;
	va_start(ap, fmt);
	vsnprintf(t->detail, sizeof(t->detail), fmt, ap);
	va_end(ap);
}

/* Pin to `cpu`; 0 or -errno. */
static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

static void *fence_thread(void *arg)
{
	return (void *)(intptr_t)vrseq_fence_cpu(*(int *)arg);
}

enum { T_STORE, T_SAME_CPU, T_MIGRATION, T_FENCE, T_COUNT };

static void run_selftest(struct selftest *tests, bool usable)
{
	struct vrseq_slot *slot = vrseq_thread_slot();
	cpu_set_t saved;
	uint64_t v = 0;
	int cpu, other = -1, ret;

	tests[T_STORE].name = "store";
	tests[T_STORE].key = "store";
	tests[T_SAME_CPU].name = "same-CPU read";
	tests[T_SAME_CPU].key = "same_cpu_read";
	tests[T_MIGRATION].name = "forced migration";
	tests[T_MIGRATION].key = "forced_migration";
	tests[T_FENCE].name = "fence";
	tests[T_FENCE].key = "fence";
	if (!usable) {
		for (int i = 0; i < T_COUNT; i++)
			set(&tests[i], SKIP, "fallback mode on this thread");
		return;
	}
	sched_getaffinity(0, sizeof(saved), &saved);
	cpu = vrseq_current_cpu();
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (c != cpu && CPU_ISSET(c, &saved)) {
			other = c;
			break;
		}
	if (pin(cpu) < 0) {
		set(&tests[T_STORE], FAIL, "cannot pin to CPU %d", cpu);
		return;
	}

	ret = vrseq_slot_store(slot, 0x5107);
	if (ret == VRSEQ_COMMITTED)
		set(&tests[T_STORE], PASS, "committed on CPU %d", cpu);
	else
		set(&tests[T_STORE], FAIL, "commit returned %d", ret);

	sched_yield();
	if (vrseq_slot_load(slot, &v) && v == 0x5107)
		set(&tests[T_SAME_CPU], PASS, "valid after sched_yield");
	else
		set(&tests[T_SAME_CPU], FAIL, "invalid on the same CPU");

	if (other < 0) {
		set(&tests[T_MIGRATION], SKIP, "only one CPU allowed");
	} else if (pin(other) < 0) {
		set(&tests[T_MIGRATION], FAIL, "cannot move to CPU %d", other);
	} else if (vrseq_slot_valid(slot)) {
		set(&tests[T_MIGRATION], FAIL, "still valid on CPU %d", other);
	} else if (vrseq_slot_cpu_view(slot) != (uint32_t)other) {
		set(&tests[T_MIGRATION], FAIL, "view %u, CPU %d",
		    vrseq_slot_cpu_view(slot), other);
	} else {
		set(&tests[T_MIGRATION], PASS, "invalid on CPU %d, view = %d",
		    other, other);
	}

	pin(cpu);
	vrseq_slot_store(slot, 0xfe);
	{
		vrseq_token_t stale = vrseq_slot_observe(slot);
		pthread_t th;
		void *res;

		if (pthread_create(&th, NULL, fence_thread, &cpu) != 0) {
			set(&tests[T_FENCE], FAIL, "pthread_create failed");
		} else {
			pthread_join(th, &res);
			if ((intptr_t)res != 0)
				set(&tests[T_FENCE], FAIL, "fence: %s",
				    strerror((int)-(intptr_t)res));
			else if (vrseq_slot_valid(slot))
				set(&tests[T_FENCE], FAIL, "valid after a fence");
			else if (vrseq_slot_commit(slot, stale, 1) != VRSEQ_INVALIDATED)
				set(&tests[T_FENCE], FAIL, "stale commit accepted");
			else
				set(&tests[T_FENCE], PASS,
				    "invalid after a fence from another thread");
		}
	}
	vrseq_slot_clear(slot);
	sched_setaffinity(0, sizeof(saved), &saved);
}

static const char *yesno(int b)
{
	return b ? "yes" : "no";
}

static const char *debug_name(int mode)
{
	return mode == 1 ? "on" : mode == 0 ? "off" : "unknown";
}

/* The probe's verdict on legacy self-registering code (tcmalloc-style): a
 * token for --json, and the words people read. */
enum legacy legacy_of(const struct vrseq_kernel *k)
{
	if (!k->rseq)
		return LEGACY_NA;
	if (k->legacy_rewrite == VRSEQ_PROBE_UNKNOWN)
		return LEGACY_UNKNOWN;
	return k->legacy_safe ? LEGACY_SAFE : LEGACY_UNSAFE;
}

const char *legacy_token(const struct vrseq_kernel *k)
{
	static const char *const token[] = {
		"not_applicable", "unknown", "safe", "unsafe",
	};

	return token[legacy_of(k)];
}

const char *legacy_verdict(const struct vrseq_kernel *k)
{
	static const char *const words[] = {
		"not applicable (no rseq)", "unknown (probe could not run)",
		"safe", "UNSAFE",
	};

	return words[legacy_of(k)];
}

/* Slots can be valid on a kernel that lets sections commit: the one
 * combination where vrseq's guarantee does not hold (exit status 6). */
static bool slots_unsafe(const struct vrseq_kernel *k)
{
	struct vrseq_info in;

	return gate_measured_no(k) &&
	       vrseq_get_info(&in, sizeof(in)) == 0 &&
	       in.fallback != VRSEQ_FALLBACK_KERNEL && in.guarantee;
}

static void print_cause(const char *name, int answer, unsigned int hits,
			unsigned int committed)
{
	printf("    %-11s %s", name, vrseq_probe_name(answer));
	if (hits)
		printf(" (%u of %u sections it hit committed)", committed, hits);
	printf("\n");
}

static void print_probe_text(const struct vrseq_kernel *k)
{
	printf("kernel probe:\n");
	printf("  32-byte registration rewritten on signal: %s\n",
	       vrseq_probe_name(k->legacy_rewrite));
	printf("  full-size (V2) registration:              %s\n",
	       vrseq_v2_name(k->v2));
	printf("  critical sections aborted (measured):     %s, in %.1f ms\n",
	       vrseq_probe_name(k->cs_abort), k->cs_abort_usec / 1000.0);
	print_cause("signal", k->cs_abort_signal, k->cs_hits_signal,
		    k->cs_committed_signal);
	print_cause("preemption", k->cs_abort_preempt, k->cs_hits_preempt,
		    k->cs_committed_preempt);
	print_cause("membarrier", k->cs_abort_membarrier,
		    k->cs_hits_membarrier, k->cs_committed_membarrier);
	printf("  critical sections aborted (by release):   %s: %s\n",
	       vrseq_probe_name(k->cs_abort_release), gate_advice(k, getenv("VRSEQ_TRUST_KERNEL")));
	printf("  rseq debug mode:                          %s\n",
	       debug_name(k->debug_mode));
	printf("verdict: legacy self-registering allocators (tcmalloc-style): "
	       "%s on this kernel\n", legacy_verdict(k));
}

void print_probe_json(const struct vrseq_kernel *k)
{
	if (!k) {
		printf(",\"probe\":null");
		return;
	}
	printf(",\"probe\":{\"rseq\":%s,\"feature_size\":%u,"
	       "\"feature_align\":%u,\"membarrier_rseq\":%s,"
	       "\"legacy_rewrite\":\"%s\",\"v2\":\"%s\",\"cs_abort\":\"%s\","
	       "\"cs_abort_signal\":\"%s\",\"cs_abort_preempt\":\"%s\","
	       "\"cs_abort_membarrier\":\"%s\","
	       "\"cs_hits_signal\":%u,\"cs_hits_preempt\":%u,"
	       "\"cs_hits_membarrier\":%u,\"cs_committed_signal\":%u,"
	       "\"cs_committed_preempt\":%u,\"cs_committed_membarrier\":%u,"
	       "\"cs_abort_usec\":%u,\"cs_abort_release\":\"%s\","
	       "\"cs_abort_gate\":\"%s\",\"cs_abort_advice\":",
	       k->rseq ? "true" : "false", k->feature_size, k->feature_align,
	       k->membarrier_rseq ? "true" : "false",
	       vrseq_probe_name(k->legacy_rewrite), vrseq_v2_name(k->v2),
	       vrseq_probe_name(k->cs_abort),
	       vrseq_probe_name(k->cs_abort_signal),
	       vrseq_probe_name(k->cs_abort_preempt),
	       vrseq_probe_name(k->cs_abort_membarrier),
	       k->cs_hits_signal, k->cs_hits_preempt, k->cs_hits_membarrier,
	       k->cs_committed_signal, k->cs_committed_preempt,
	       k->cs_committed_membarrier, k->cs_abort_usec,
	       vrseq_probe_name(k->cs_abort_release), gate_token(k));
	json_string(stdout, gate_advice(k, getenv("VRSEQ_TRUST_KERNEL")));
	printf(",\"debug_mode\":\"%s\",\"legacy_safe\":%s,\"legacy\":\"%s\","
	       "\"verdict\":\"%s\"}",
	       debug_name(k->debug_mode), k->legacy_safe ? "true" : "false",
	       legacy_token(k), legacy_verdict(k));
}

static void print_text(const struct utsname *u, const struct vrseq_info *in,
		       const struct selftest *tests, int status)
{
	printf("kernel:               %s %s\n", u->release, u->machine);
	printf("rseq available:       %s\n",
	       yesno(in->owner != VRSEQ_OWNER_NONE));
	printf("feature size / align: %u / %u\n", in->feature_size,
	       in->feature_align);
	printf("registration owner:   %s", vrseq_owner_name(in->owner));
	if (in->registered_len)
		printf(" (%u bytes)", in->registered_len);
	if (in->register_errno)
		printf(" (vrseq could not register: %s)",
		       strerror(in->register_errno));
	printf("\nown registration:     %s\n", in->own_registration ?
	       "allowed (where libc registers none)" :
	       "forbidden (VRSEQ_OWN_REGISTRATION=0 or the program's choice)");
	printf("node_id usable:       %s\n", yesno(in->node_id_usable));
	printf("mm_cid usable:        %s\n", yesno(in->mm_cid_usable));
	printf("membarrier-rseq:      %s%s\n", yesno(in->membarrier_rseq),
	       in->membarrier_rseq_cpu ? " (per-CPU)" : "");
	printf("fence method:         %s\n",
	       vrseq_fence_method_name(in->fence_method));
	printf("CPU ids covered:      %u\n", in->nr_ids);
	printf("slot self-test:\n");
	for (int i = 0; i < T_COUNT; i++)
		printf("  %-17s %s  %s\n", tests[i].name,
		       result_name(tests[i].result), tests[i].detail);
	switch (status) {
	case EXIT_OK:
		printf("verdict: vrseq slots work on this thread; legacy per-CPU "
		       "code can cache through them.\n");
		break;
	case EXIT_FALLBACK:
		printf("verdict: FALLBACK - %s (owner %s). Slots never read as "
		       "valid: legacy code stays correct but recomputes every "
		       "time.\n", vrseq_fallback_name((int)in->fallback),
		       vrseq_owner_name(in->owner));
		break;
	case EXIT_PROBE:
		printf("verdict: vrseq slots work on this thread; the kernel "
		       "probe could not run.\n");
		break;
	case EXIT_UNSAFE_KERNEL:
		printf("verdict: UNSAFE - slots are valid, but this kernel let "
		       "critical sections commit that it should have aborted "
		       "(see the probe below); set VRSEQ_TRUST_KERNEL=0.\n");
		break;
	default:
		printf("verdict: SELF-TEST FAILED - please report this.\n");
	}
}

/* enum vrseq_fallback as a token, for --json ("fallback_reason" is prose). */
static const char *fallback_token(uint32_t fallback)
{
	switch (fallback) {
	case VRSEQ_FALLBACK_NONE:	return "none";
	case VRSEQ_FALLBACK_NO_RSEQ:	return "no_rseq";
	case VRSEQ_FALLBACK_FOREIGN:	return "foreign";
	case VRSEQ_FALLBACK_KERNEL:	return "kernel";
	case VRSEQ_FALLBACK_ARCH:	return "arch";
	case VRSEQ_FALLBACK_OWN_FORBIDDEN: return "own_forbidden";
	default:			return "unknown";
	}
}

static void print_json(const struct utsname *u, const struct vrseq_info *in,
		       const struct selftest *tests, const struct vrseq_kernel *k,
		       int status)
{
	printf("{\"schema\":%d,\"vrseq_version\":", JSON_SCHEMA);
	json_string(stdout, vrseq_version());
	printf(",\"kernel\":");
	json_string(stdout, u->release);
	printf(",\"machine\":");
	json_string(stdout, u->machine);
	printf(",\"rseq_available\":%s", in->owner != VRSEQ_OWNER_NONE ? "true" : "false");
	printf(",\"feature_size\":%u,\"feature_align\":%u", in->feature_size,
	       in->feature_align);
	printf(",\"owner\":\"%s\",\"registered_len\":%u,\"register_errno\":%d",
	       vrseq_owner_name(in->owner), in->registered_len,
	       in->register_errno);
	printf(",\"node_id_usable\":%s,\"mm_cid_usable\":%s",
	       in->node_id_usable ? "true" : "false",
	       in->mm_cid_usable ? "true" : "false");
	printf(",\"membarrier_rseq\":%s,\"membarrier_rseq_cpu\":%s",
	       in->membarrier_rseq ? "true" : "false",
	       in->membarrier_rseq_cpu ? "true" : "false");
	printf(",\"fallback\":\"%s\",\"fallback_reason\":",
	       fallback_token(in->fallback));
	json_string(stdout, vrseq_fallback_name((int)in->fallback));
	printf(",\"fence_method\":\"%s\",\"nr_ids\":%u",
	       vrseq_fence_method_name(in->fence_method), in->nr_ids);
	printf(",\"own_registration\":%s", json_bool(in->own_registration));
	printf(",\"selftest\":{");
	for (int i = 0; i < T_COUNT; i++) {
		printf("%s", i ? "," : "");
		json_string(stdout, tests[i].key);
		printf(":{\"result\":\"%s\",\"detail\":",
		       tests[i].result == PASS ? "pass" :
		       tests[i].result == FAIL ? "fail" : "skip");
		json_string(stdout, tests[i].detail);
		printf("}");
	}
	printf("}");
	print_probe_json(k);
	printf(",\"exit_status\":%d}\n", status);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vrseq-check [-j|--json] [--probe | -n|--no-probe] "
		   "[-V|--version] [-h|--help]\n"
		   "       vrseq-check -p|--pid PID [-j|--json] [-n|--no-probe] "
		   "[-s|--samples N] [-i|--interval MS]\n"
		   "exit: 0 slots work (-p: clean), 1 self-test failed, "
		   "2 fallback mode, 3 probe failed, 4 kernel-owned field "
		   "written, 5 cannot inspect, 6 slots valid on a kernel that "
		   "does not abort sections, 64 usage\n");
}

/* A decimal in [min, max], or -1. */
static long parse_number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

/*
 * Before 0.4.0 -p meant --probe (the default anyway). "-p" with nothing
 * after it, or an option after it, keeps that meaning, with a warning;
 * "-p PID" inspects a process.
 */
static void old_probe_option(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return;
		if (strcmp(argv[i], "-p") ||
		    (i + 1 < argc && argv[i + 1][0] != '-'))
			continue;
		fprintf(stderr, "vrseq-check: -p without a PID means --probe, as "
			"before 0.4.0; write --probe (-p now takes a PID)\n");
		argv[i] = (char *)"--probe";
	}
}

/* -p PID: the probe (for what a write means here), then the threads. */
static int inspect(long pid, bool probe, bool json,
		   struct check_pid_options *opt)
{
	struct vrseq_kernel kernel;
	int ret;

	if (!check_pid) {
		fprintf(stderr, "vrseq-check: this build has no -p (built "
			"without libelf)\n");
		return EXIT_PID_INSPECT;
	}
	opt->json = json;
	if (probe) {
		ret = vrseq_probe_kernel(&kernel, sizeof(kernel));
		if (ret < 0)
			fprintf(stderr, "vrseq-check: probe: %s\n", strerror(-ret));
		else
			opt->kernel = &kernel;
	}
	return check_pid((pid_t)pid, opt);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "probe", no_argument, NULL, 'P' },
		{ "pid", required_argument, NULL, 'p' },
		{ "samples", required_argument, NULL, 's' },
		{ "interval", required_argument, NULL, 'i' },
		{ "no-probe", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct selftest tests[T_COUNT];
	struct vrseq_info info;
	struct utsname u;
	struct vrseq_kernel kernel, *k = NULL;
	struct check_pid_options pid_opt = { false, 3, 20, NULL };
	bool json = false, probe = true;
	long pid = 0, v;
	int c, ret, status;

	old_probe_option(argc, argv);
	while ((c = getopt_long(argc, argv, "jp:s:i:nhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'P':
			probe = true;
			break;
		case 'p':
			pid = parse_number(optarg, 1, INT_MAX);
			if (pid < 0) {
				fprintf(stderr, "vrseq-check: -p %s: not a PID\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 's':
		case 'i':
			v = parse_number(optarg, c == 's' ? 1 : 0, c == 's' ? 1000 : 10000);
			if (v < 0) {
				fprintf(stderr, "vrseq-check: -%c %s: out of range\n",
					c, optarg);
				return EXIT_USAGE;
			}
			if (c == 's')
				pid_opt.samples = (unsigned int)v;
			else
				pid_opt.interval_ms = (unsigned int)v;
			break;
		case 'n':
			probe = false;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			/* The tool's version, and the library's it runs with. */
			tool_print_version("vrseq-check");
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (pid)
		return inspect(pid, probe, json, &pid_opt);
	uname(&u);
	ret = vrseq_get_info(&info, sizeof(info));
	if (ret < 0) {
		fprintf(stderr, "vrseq-check: vrseq_get_info: %s\n", strerror(-ret));
		return EXIT_SELFTEST;
	}
	memset(tests, 0, sizeof(tests));
	run_selftest(tests, info.guarantee);
	status = info.guarantee ? EXIT_OK : EXIT_FALLBACK;
	for (int i = 0; i < T_COUNT; i++)
		if (tests[i].result == FAIL)
			status = EXIT_SELFTEST;
	if (probe) {
		ret = vrseq_probe_kernel(&kernel, sizeof(kernel));
		if (ret < 0) {
			fprintf(stderr, "vrseq-check: probe: %s\n", strerror(-ret));
			if (status == EXIT_OK)
				status = EXIT_PROBE;
		} else {
			k = &kernel;
			if (status == EXIT_OK && slots_unsafe(k))
				status = EXIT_UNSAFE_KERNEL;
		}
	}
	if (json) {
		print_json(&u, &info, tests, k, status);
	} else {
		print_text(&u, &info, tests, status);
		if (k)
			print_probe_text(k);
	}
	return status;
}
