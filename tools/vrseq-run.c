/* SPDX-License-Identifier: MIT */
/*
 * vrseq-run: run a program that cannot be changed so that a legacy
 * (tcmalloc-style) rseq self-registration in it -- its own 32-byte area,
 * a cached bit written into cpu_id_start -- can neither corrupt it nor get
 * it killed: where the kernel makes that unsafe, keep such code off its
 * per-CPU fast path by making its registration fail, which every such
 * library survives (it then runs without per-CPU caches).
 *
 *   --auto (default)  probe the kernel; apply the measures where a legacy
 *                     registration is unsafe (or the probe failed)
 *   --deny            apply them whatever the kernel
 *   --allow           change nothing
 *
 * The measures: drop glibc.pthread.rseq=0 from GLIBC_TUNABLES, so that
 * glibc >= 2.35 registers first and the legacy rseq() fails (EBUSY or
 * EINVAL); and where the program's libc registers nothing, a seccomp
 * filter that makes rseq() registrations (flags 0) fail with ENOSYS.
 * Exit status: the program's; before the exec 125 vrseq-run failed, 126
 * the program cannot be executed, 127 it was not found, 64 usage error.
 * -n --json prints the decision (doc/vrseq-run.schema.json, schema 1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <vrseq.h>

#include <gelf.h>
#include <libelf.h>

#include "output.h"

#define JSON_SCHEMA	1

#define EXIT_FAILED	125
#define EXIT_CANNOT	126
#define EXIT_NOTFOUND	127

/* What glibc >= 2.35 calls the tunable (in ld.so, or a static program). */
#define RSEQ_TUNABLE		"glibc.pthread.rseq"
#define RSEQ_TUNABLE_OFF	"glibc.pthread.rseq=0"

#if defined(__x86_64__)
#define RUN_AUDIT_ARCH	AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define RUN_AUDIT_ARCH	AUDIT_ARCH_AARCH64
#endif

enum mode { MODE_AUTO, MODE_DENY, MODE_ALLOW };

static const char *mode_name(enum mode m)
{
	return m == MODE_DENY ? "deny" : m == MODE_ALLOW ? "allow" : "auto";
}

/* libc_registers: the heuristic's answer. */
enum libc_reg { LIBC_UNKNOWN, LIBC_YES, LIBC_NO };

struct decision {
	enum mode mode;
	struct utsname u;
	bool probed;			/* vrseq_probe_kernel() was called */
	int probe_ret;			/* its result: 0 or -errno */
	struct vrseq_kernel k;
	bool unsafe;			/* legacy self-registration unsafe */
	char reason[128];		/* why (unsafe), or "" */
	const char *path;		/* the program found, or NULL */
	char pathbuf[4096];
	char script[4096];		/* a script's #! interpreter, or "" */
	const char *examined;		/* file the heuristic read, or NULL */
	char interp[4096];		/* PT_INTERP, or "" */
	enum libc_reg libc;
	char libc_why[8320];
	bool apply;			/* the measures are taken */
	bool drop;			/* GLIBC_TUNABLES changes */
	bool filter;			/* the seccomp filter goes in */
	const char *tunables_in;	/* GLIBC_TUNABLES as given */
	char *tunables_out;		/* as the program gets it; NULL unset */
};

/* ------------------------------------------------------------ the program */

/* A regular file we may execute? */
static bool executable_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(p, X_OK) == 0;
}

/*
 * The file execvp() will run, found as execvp() finds it: a name with a
 * slash as it is, else the first executable regular file in PATH
 * (confstr's default path when PATH is unset). NULL when none is (then
 * nothing is changed or printed: execvp() fails, 126 or 127).
 */
static const char *find_program(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH"), *p, *end;
	char defpath[256];

	if (strchr(name, '/'))
		return access(name, F_OK) == 0 ? name : NULL;
	if (!path) {
		if (!confstr(_CS_PATH, defpath, sizeof(defpath)))
			strcpy(defpath, "/bin:/usr/bin");
		path = defpath;
	}
	for (p = path;; p = end + 1) {
		size_t n;

		end = strchrnul(p, ':');
		n = (size_t)(end - p);
		if (n == 0)
			n = 1, p = ".";	/* an empty entry is the working dir */
		if ((size_t)snprintf(buf, size, "%.*s/%s", (int)n, p, name) < size &&
		    executable_file(buf))
			return buf;
		if (!*end)
			return NULL;
	}
}

/* Does `file` contain `needle`? 1 yes, 0 no, -errno unreadable. */
static int file_contains(const char *file, const char *needle)
{
	size_t nlen = strlen(needle), have = 0;
	char buf[65536];
	int fd, found = 0;
	ssize_t n;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Keep the last nlen - 1 bytes so that a match across reads counts. */
	while ((n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		size_t len = have + (size_t)n;

		if (memmem(buf, len, needle, nlen)) {
			found = 1;
			break;
		}
		have = len < nlen - 1 ? len : nlen - 1;
		memmove(buf, buf + len - have, have);
	}
	if (n < 0)
		found = -errno;
	close(fd);
	return found;
}

/*
 * PT_INTERP of an ELF file into `interp` ("" for a static program).
 * 0, or -ENOEXEC when the file is not ELF, -errno when unreadable.
 */
static int elf_interp(const char *file, char *interp, size_t size)
{
	size_t phnum, len;
	GElf_Phdr ph;
	Elf *e;
	int fd, ret = 0;

	interp[0] = '\0';
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || elf_getphdrnum(e, &phnum)) {
		ret = -ENOEXEC;
		goto out;
	}
	for (size_t i = 0; i < phnum; i++) {
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_INTERP)
			continue;
		len = ph.p_filesz < size ? (size_t)ph.p_filesz : size - 1;
		if (pread(fd, interp, len, (off_t)ph.p_offset) != (ssize_t)len) {
			interp[0] = '\0';
			ret = -EIO;
			goto out;
		}
		interp[len] = '\0';	/* p_filesz counts the NUL */
		break;
	}
out:
	if (e)
		elf_end(e);
	close(fd);
	return ret;
}

/* "#!INTERP ...": INTERP into buf; false when the file is no script. */
static bool script_interp(const char *file, char *buf, size_t size)
{
	char line[256];
	ssize_t n;
	char *p, *end;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 3 || line[0] != '#' || line[1] != '!')
		return false;
	line[n] = '\0';
	for (p = line + 2; *p == ' ' || *p == '\t'; p++)
		;
	end = p + strcspn(p, " \t\n");
	if (end == p || (size_t)(end - p) >= size)
		return false;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	return true;
}

/*
 * The heuristic: does the program's libc register an rseq area of its own
 * (glibc >= 2.35)? It does when the file that holds libc's start-up code
 * -- the program itself when it has no PT_INTERP (static), else its
 * interpreter (ld.so) -- contains glibc's tunable name. A script is judged
 * by its #! interpreter (one level).
 */
static void examine(struct decision *d)
{
	const char *file = d->path;
	int ret;

	d->libc = LIBC_UNKNOWN;
	if (!file) {
		snprintf(d->libc_why, sizeof(d->libc_why), "program not found");
		return;
	}
	ret = elf_interp(file, d->interp, sizeof(d->interp));
	if (ret == -ENOEXEC && script_interp(file, d->script, sizeof(d->script))) {
		file = d->script;
		ret = elf_interp(file, d->interp, sizeof(d->interp));
	}
	if (ret < 0) {
		snprintf(d->libc_why, sizeof(d->libc_why), "%s: %s", file,
			 ret == -ENOEXEC ? "not an ELF file" : strerror(-ret));
		return;
	}
	d->examined = d->interp[0] ? d->interp : file;
	ret = file_contains(d->examined, RSEQ_TUNABLE);
	if (ret < 0) {
		snprintf(d->libc_why, sizeof(d->libc_why), "%s: %s",
			 d->examined, strerror(-ret));
		return;
	}
	d->libc = ret ? LIBC_YES : LIBC_NO;
	snprintf(d->libc_why, sizeof(d->libc_why), "%s %s \"%s\"",
		 d->examined, ret ? "contains" : "does not contain",
		 RSEQ_TUNABLE);
}

/* ------------------------------------------------------------ the kernel */

static const char *debug_name(int32_t m)
{
	return m == 1 ? "on" : m == 0 ? "off" : "unknown";
}

/* Unsafe: !legacy_safe or debug mode on; a failed probe counts as unsafe. */
static void judge(struct decision *d)
{
	const struct vrseq_kernel *k = &d->k;

	d->probed = true;
	memset(&d->k, 0, sizeof(d->k));
	d->probe_ret = vrseq_probe_kernel(&d->k, sizeof(d->k));
	d->unsafe = true;
	if (d->probe_ret < 0)
		snprintf(d->reason, sizeof(d->reason),
			 "the kernel probe failed: %s", strerror(-d->probe_ret));
	else if (k->debug_mode == 1)
		snprintf(d->reason, sizeof(d->reason),
			 "rseq debug mode kills writers of cpu_id_start");
	else if (!k->rseq)
		snprintf(d->reason, sizeof(d->reason), "no rseq system call");
	else if (k->legacy_safe)
		d->unsafe = false;
	else if (k->legacy_rewrite == VRSEQ_PROBE_NO)
		snprintf(d->reason, sizeof(d->reason),
			 "cpu_id_start not rewritten on preemption");
	else if (k->legacy_rewrite == VRSEQ_PROBE_KILLED)
		snprintf(d->reason, sizeof(d->reason),
			 "a write to cpu_id_start gets the writer killed");
	else
		snprintf(d->reason, sizeof(d->reason),
			 "cpu_id_start rewrite %s, membarrier-rseq %s",
			 vrseq_probe_name(k->legacy_rewrite),
			 k->membarrier_rseq ? "yes" : "no");
}

/* ------------------------------------------------------------ the measures */

/*
 * GLIBC_TUNABLES without any "glibc.pthread.rseq=0" item, the others in
 * their order; NULL when nothing is left. *changed: an item went.
 */
static char *drop_tunable(const char *in, bool *changed)
{
	size_t len = strlen(in);
	char *out = malloc(len + 1), *o = out;
	const char *p = in, *end;

	*changed = false;
	if (!out)
		return NULL;
	for (;; p = end + 1) {
		size_t n;

		end = strchrnul(p, ':');
		n = (size_t)(end - p);
		if (n == strlen(RSEQ_TUNABLE_OFF) &&
		    !memcmp(p, RSEQ_TUNABLE_OFF, n)) {
			*changed = true;
		} else {
			if (o != out)
				*o++ = ':';
			memcpy(o, p, n);
			o += n;
		}
		if (!*end)
			break;
	}
	*o = '\0';
	if (!*out) {
		free(out);
		return NULL;
	}
	return out;
}

/*
 * rseq(addr, len, flags = 0, sig): ENOSYS; everything else, unregistering
 * (flags 1) included, allowed. Only the native architecture's calls are
 * looked at (an i386 or x32 rseq() passes).
 */
static int install_filter(void)
{
#ifdef RUN_AUDIT_ARCH
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, RUN_AUDIT_ARCH, 0, 5),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rseq, 0, 3),
		/* args[2] is 64 bits, little-endian: its low word first. */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(code) / sizeof(code[0])),
		.filter = code,
	};

	_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
		       "the filter reads the low word of args[2] first");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return -errno;
	return 0;
#else
	return -ENOTSUP;
#endif
}

static void decide(struct decision *d)
{
	bool changed = false;

	d->tunables_in = getenv("GLIBC_TUNABLES");
	d->tunables_out = d->tunables_in ? strdup(d->tunables_in) : NULL;
	/* Nothing to run: nothing to protect (execvp() fails, 126 or 127). */
	d->apply = d->path && (d->mode == MODE_DENY ||
			       (d->mode == MODE_AUTO && d->unsafe));
	if (!d->apply)
		return;
	if (d->tunables_in) {
		free(d->tunables_out);
		d->tunables_out = drop_tunable(d->tunables_in, &changed);
		d->drop = changed;
	}
	/* Unknown counts as "registers nothing": the filter is harmless. */
	d->filter = d->libc != LIBC_YES;
}

/* The one line: what changed. */
static void print_line(const struct decision *d)
{
	char what[256];

	what[0] = '\0';
	if (d->drop)
		snprintf(what, sizeof(what), "dropped %s from GLIBC_TUNABLES",
			 RSEQ_TUNABLE_OFF);
	if (d->filter)
		snprintf(what + strlen(what), sizeof(what) - strlen(what),
			 "%srseq registration filtered (ENOSYS)",
			 d->drop ? "; " : "");
	if (!d->drop && !d->filter)
		snprintf(what, sizeof(what), "%s",
			 d->apply ? "nothing to change (the program's libc "
				    "registers rseq first)" :
				    "allowed on an unsafe kernel (--allow): "
				    "nothing changed");
	if (d->mode == MODE_DENY && !d->unsafe)
		fprintf(stderr, "vrseq-run: legacy rseq self-registration "
			"denied (--deny): %s\n", what);
	else
		fprintf(stderr, "vrseq-run: legacy rseq self-registration is "
			"unsafe on %s (%s): %s\n", d->u.release, d->reason, what);
}

static void print_verbose(const struct decision *d)
{
	const struct vrseq_kernel *k = &d->k;

	if (!d->probed)
		fprintf(stderr, "vrseq-run: kernel %s: not probed (--deny)\n",
			d->u.release);
	else if (d->probe_ret < 0)
		fprintf(stderr, "vrseq-run: kernel %s: probe failed: %s\n",
			d->u.release, strerror(-d->probe_ret));
	else
		fprintf(stderr, "vrseq-run: kernel %s: rseq %s, "
			"membarrier-rseq %s, legacy rewrite %s, v2 %s, "
			"debug mode %s, legacy safe %s\n", d->u.release,
			k->rseq ? "yes" : "no", k->membarrier_rseq ? "yes" : "no",
			vrseq_probe_name(k->legacy_rewrite), vrseq_v2_name(k->v2),
			debug_name(k->debug_mode), k->legacy_safe ? "yes" : "no");
	fprintf(stderr, "vrseq-run: program %s; libc registers rseq: %s (%s)\n",
		d->path ? d->path : "(not found)",
		d->libc == LIBC_YES ? "yes" : d->libc == LIBC_NO ? "no" : "unknown",
		d->libc_why);
	if (!d->apply && !d->unsafe)
		fprintf(stderr, "vrseq-run: legacy rseq self-registration is "
			"safe on %s: nothing changed\n", d->u.release);
}

static void print_json(const struct decision *d, char **argv)
{
	const struct vrseq_kernel *k = &d->k;
	bool first = true;

	printf("{\"schema\":%d,\"vrseq_version\":\"%d.%d.%d\",\"mode\":\"%s\","
	       "\"program\":", JSON_SCHEMA, VRSEQ_VERSION_MAJOR,
	       VRSEQ_VERSION_MINOR, VRSEQ_VERSION_MICRO, mode_name(d->mode));
	json_string(stdout, argv[0]);
	printf(",\"path\":");
	json_string(stdout, d->path);
	printf(",\"kernel\":{\"release\":");
	json_string(stdout, d->u.release);
	printf(",\"machine\":");
	json_string(stdout, d->u.machine);
	printf("},\"probe\":");
	if (!d->probed) {
		printf("null");
	} else if (d->probe_ret < 0) {
		printf("{\"error\":");
		json_string(stdout, strerror(-d->probe_ret));
		printf("}");
	} else {
		printf("{\"rseq\":%s,\"membarrier_rseq\":%s,"
		       "\"legacy_rewrite\":\"%s\",\"v2\":\"%s\","
		       "\"feature_size\":%u,\"debug_mode\":\"%s\","
		       "\"legacy_safe\":%s}",
		       json_bool(k->rseq), json_bool(k->membarrier_rseq),
		       vrseq_probe_name(k->legacy_rewrite), vrseq_v2_name(k->v2),
		       k->feature_size, debug_name(k->debug_mode),
		       json_bool(k->legacy_safe));
	}
	printf(",\"unsafe\":%s,\"reason\":", json_bool(d->unsafe));
	json_string(stdout, d->unsafe ? d->reason : NULL);
	printf(",\"libc_registers\":%s,\"libc_evidence\":",
	       d->libc == LIBC_YES ? "true" : d->libc == LIBC_NO ? "false" : "null");
	json_string(stdout, d->libc_why);
	printf(",\"interpreter\":");
	json_string(stdout, d->interp[0] ? d->interp : NULL);
	printf(",\"actions\":[");
	if (d->drop) {
		printf("\"drop_tunable\"");
		first = false;
	}
	if (d->filter)
		printf("%s\"seccomp_enosys\"", first ? "" : ",");
	printf("],\"glibc_tunables\":");
	json_string(stdout, d->tunables_out);
	printf("}\n");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vrseq-run [--auto|--deny|--allow] [-q|--quiet] "
		   "[-v|--verbose] [-n|--dry-run [--json]] [--] PROGRAM [ARGS...]\n"
		   "       vrseq-run -h|--help | -V|--version\n"
		   "exit: PROGRAM's status; 125 vrseq-run failed, 126 cannot "
		   "execute, 127 not found, 64 usage\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "auto", no_argument, NULL, 'A' },
		{ "deny", no_argument, NULL, 'D' },
		{ "allow", no_argument, NULL, 'L' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct decision d;
	bool quiet = false, verbose = false, dry = false, json = false;
	int c, ret;

	d.mode = MODE_AUTO;
	/* "+": options end at the program's name, as for env(1). */
	while ((c = getopt_long(argc, argv, "+qvnhV", opts, NULL)) != -1) {
		switch (c) {
		case 'A':
			d.mode = MODE_AUTO;
			break;
		case 'D':
			d.mode = MODE_DENY;
			break;
		case 'L':
			d.mode = MODE_ALLOW;
			break;
		case 'q':
			quiet = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'n':
			dry = true;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			tool_print_version("vrseq-run");
			return 0;
		default:
			usage(stderr);
			return TOOL_EXIT_USAGE;
		}
	}
	if (optind >= argc || (json && !dry)) {
		if (json && !dry)
			fprintf(stderr, "vrseq-run: --json needs -n (--dry-run)\n");
		usage(stderr);
		return TOOL_EXIT_USAGE;
	}
	argv += optind;

	if (uname(&d.u) < 0)
		strcpy(d.u.release, "?");
	if (d.mode != MODE_DENY)
		judge(&d);
	d.path = find_program(argv[0], d.pathbuf, sizeof(d.pathbuf));
	examine(&d);
	decide(&d);

	if (json) {
		print_json(&d, argv);
		return 0;
	}
	if (verbose)
		print_verbose(&d);
	if (!quiet && d.path && (d.apply || d.unsafe))
		print_line(&d);
	if (dry)
		return 0;

	if (d.drop) {
		if (d.tunables_out)
			ret = setenv("GLIBC_TUNABLES", d.tunables_out, 1);
		else
			ret = unsetenv("GLIBC_TUNABLES");
		if (ret < 0) {
			fprintf(stderr, "vrseq-run: GLIBC_TUNABLES: %s\n",
				strerror(errno));
			return EXIT_FAILED;
		}
	}
	if (d.filter) {
		ret = install_filter();
		if (ret < 0) {
			fprintf(stderr, "vrseq-run: cannot install the seccomp "
				"filter: %s\n", strerror(-ret));
			return EXIT_FAILED;
		}
	}
	fflush(NULL);
	execvp(argv[0], argv);
	ret = errno;
	fprintf(stderr, "vrseq-run: %s: %s\n", argv[0], strerror(ret));
	return ret == ENOENT ? EXIT_NOTFOUND : EXIT_CANNOT;
}
