/* SPDX-License-Identifier: MIT */
/*
 * vrseq-check: this machine's rseq picture, and a self-test of the slot.
 * Exit status: 0 slots work here; 1 a self-test failed; 2 vrseq runs in
 * fallback mode (correct, but no per-CPU caching); 3 the kernel probe could
 * not run; 64 usage error. --json prints one object whose keys and values
 * are doc/vrseq-check.schema.json's (schema 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include <vrseq.h>

#include "output.h"

enum {
	EXIT_OK = 0, EXIT_SELFTEST = 1, EXIT_FALLBACK = 2, EXIT_PROBE = 3,
	EXIT_USAGE = 64,
};

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

/* The plain answer for people running tcmalloc-style allocators. */
/* The probe's verdict on legacy self-registering code: a token for --json,
 * and the words people read. */
enum legacy { LEGACY_NA, LEGACY_UNKNOWN, LEGACY_SAFE, LEGACY_UNSAFE };

static enum legacy legacy_of(const struct vrseq_kernel *k)
{
	if (!k->rseq)
		return LEGACY_NA;
	if (k->legacy_rewrite == VRSEQ_PROBE_UNKNOWN)
		return LEGACY_UNKNOWN;
	return k->legacy_safe ? LEGACY_SAFE : LEGACY_UNSAFE;
}

static const char *legacy_token(const struct vrseq_kernel *k)
{
	static const char *const token[] = {
		"not_applicable", "unknown", "safe", "unsafe",
	};

	return token[legacy_of(k)];
}

static const char *legacy_verdict(const struct vrseq_kernel *k)
{
	static const char *const words[] = {
		"not applicable (no rseq)", "unknown (probe could not run)",
		"safe", "UNSAFE",
	};

	return words[legacy_of(k)];
}

static void print_probe_text(const struct vrseq_kernel *k)
{
	printf("kernel probe:\n");
	printf("  32-byte registration rewritten on signal: %s\n",
	       vrseq_probe_name(k->legacy_rewrite));
	printf("  full-size (V2) registration:              %s\n",
	       vrseq_v2_name(k->v2));
	printf("  critical sections aborted:                %s\n",
	       vrseq_probe_name(k->cs_abort));
	printf("  rseq debug mode:                          %s\n",
	       debug_name(k->debug_mode));
	printf("verdict: legacy self-registering allocators (tcmalloc-style): "
	       "%s on this kernel\n", legacy_verdict(k));
}

static void print_probe_json(const struct vrseq_kernel *k)
{
	printf(",\"probe\":{\"rseq\":%s,\"feature_size\":%u,"
	       "\"feature_align\":%u,\"membarrier_rseq\":%s,"
	       "\"legacy_rewrite\":\"%s\",\"v2\":\"%s\",\"cs_abort\":\"%s\","
	       "\"debug_mode\":\"%s\",\"legacy_safe\":%s,\"legacy\":\"%s\","
	       "\"verdict\":\"%s\"}",
	       k->rseq ? "true" : "false", k->feature_size, k->feature_align,
	       k->membarrier_rseq ? "true" : "false",
	       vrseq_probe_name(k->legacy_rewrite), vrseq_v2_name(k->v2),
	       vrseq_probe_name(k->cs_abort),
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
	printf("\nnode_id usable:       %s\n", yesno(in->node_id_usable));
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
	if (k)
		print_probe_json(k);
	else
		printf(",\"probe\":null");
	printf(",\"exit_status\":%d}\n", status);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vrseq-check [-j|--json] [-p|--probe | -n|--no-probe] "
		   "[-V|--version] [-h|--help]\n"
		   "exit: 0 slots work, 1 self-test failed, 2 fallback mode, "
		   "3 probe failed, 64 usage\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "probe", no_argument, NULL, 'p' },
		{ "no-probe", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct selftest tests[T_COUNT];
	struct vrseq_info info;
	struct utsname u;
	struct vrseq_kernel kernel, *k = NULL;
	bool json = false, probe = true;
	int c, ret, status;

	while ((c = getopt_long(argc, argv, "jpnhV", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			probe = true;
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
