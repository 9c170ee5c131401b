/* SPDX-License-Identifier: MIT */
/*
 * vrseq-check -p PID: who owns each thread's rseq registration in a running
 * process, and whether anyone wrote its kernel-owned fields.
 *
 * Each thread is stopped (PTRACE_SEIZE + PTRACE_INTERRUPT), asked for its
 * registration (PTRACE_GET_RSEQ_CONFIGURATION, Linux 5.13+) and thread
 * pointer, its area read with process_vm_readv(), and let go. While a
 * thread is stopped the kernel has not yet refreshed its IDs for the next
 * return to user space, so cpu_id_start != cpu_id means user space wrote
 * cpu_id_start since the kernel last did; a set bit 31 there is the
 * tcmalloc-style "cached" bit. A writer that happens not to have written
 * since the last refresh looks clean, hence several rounds of stops.
 *
 * Owners: glibc's area is at thread pointer + the process's __rseq_offset
 * (read from the ld.so or static executable that defines it, found with
 * libelf, while __rseq_size is not 0); vrseq's own area carries the marker
 * of src/own-marker.h behind it; anything else is foreign.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../src/own-marker.h"
#include "check.h"
#include "output.h"

/* <linux/ptrace.h> clashes with <sys/ptrace.h>; the ABI is fixed. */
#define REQ_GET_RSEQ_CONFIGURATION	0x420f
struct rseq_configuration {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

/* The JSON output's version: raise it when a key changes meaning or goes. */
#define PID_JSON_SCHEMA	1
#define MAX_THREADS	65536

enum owner { OWN_NONE, OWN_GLIBC, OWN_VRSEQ, OWN_FOREIGN, OWN_UNKNOWN };
static const char *const owner_token[] = {
	"none", "glibc", "vrseq", "foreign", "unknown",
};

enum verdict { V_UNREGISTERED, V_CLEAN, V_UNKNOWN, V_WRITTEN, V_LEGACY };
static const char *const verdict_token[] = {
	"unregistered", "clean", "unknown", "written", "legacy_writer",
};
static const char *const verdict_words[] = {
	"no rseq registration",
	"kernel-owned fields intact",
	"IDs not initialised yet: nothing to compare",
	"KERNEL-OWNED FIELD WRITTEN (cpu_id_start != cpu_id)",
	"LEGACY WRITER: tcmalloc-style cached bit in cpu_id_start",
};

struct thread {
	pid_t tid;
	bool registered, gone;
	uint64_t addr, tp;
	uint32_t len, sig;
	enum owner owner;
	uint32_t cpu_id_start, cpu_id;	/* last sample */
	unsigned int samples, written, cached, uninit;
};

struct process {
	pid_t pid;
	bool have_offset;		/* __rseq_offset found and read */
	int64_t rseq_offset;
	uint32_t rseq_size;
	char rseq_object[PATH_MAX];	/* who defines it */
	const char *libvrseq;		/* "shared", "static" or "none" */
	struct thread *threads;
	size_t nthreads;
	unsigned int rounds;
	bool complete;
	pid_t tracer;			/* who held a thread we could not seize */
};

/* ------------------------------------------------------------ memory */

static int read_remote(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len };
	struct iovec remote = { (void *)(uintptr_t)addr, len };
	ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

/* ------------------------------------------------------------ ELF */

/*
 * Where `path`, loaded at `base` (its lowest offset-0 mapping), has its
 * definitions of __rseq_offset / __rseq_size / vrseq_init. 0 if the file
 * reads as ELF, -errno otherwise.
 */
struct elf_finds {
	uint64_t rseq_offset, rseq_size;	/* run-time addresses, or 0 */
	bool vrseq_init;
};

static int elf_find(const char *path, uint64_t base, struct elf_finds *out)
{
	Elf *e;
	GElf_Ehdr eh;
	Elf_Scn *scn = NULL;
	uint64_t bias = 0, low = UINT64_MAX;
	size_t nph;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(out, 0, sizeof(*out));
	if (fd < 0)
		return -errno;
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) ||
	    elf_getphdrnum(e, &nph) != 0) {
		if (e)
			elf_end(e);
		close(fd);
		return -ENOEXEC;
	}
	if (eh.e_type == ET_DYN) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;

			if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
			    ph.p_vaddr < low)
				low = ph.p_vaddr;
		}
		if (low != UINT64_MAX)
			bias = base - (low & ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1));
	}
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) ||
		    (sh.sh_type != SHT_DYNSYM && sh.sh_type != SHT_SYMTAB) ||
		    !sh.sh_entsize || !(d = elf_getdata(scn, NULL)))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF ||
			    !(name = elf_strptr(e, sh.sh_link, s.st_name)))
				continue;
			if (!strcmp(name, "__rseq_offset"))
				out->rseq_offset = bias + s.st_value;
			else if (!strcmp(name, "__rseq_size"))
				out->rseq_size = bias + s.st_value;
			else if (!strcmp(name, "vrseq_init"))
				out->vrseq_init = true;
		}
	}
	elf_end(e);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------ maps */

/*
 * Walk the mapped files: libvrseq.so (shared), the object that defines
 * __rseq_offset (ld.so, or a static executable), vrseq linked statically.
 */
static int scan_maps(struct process *pr)
{
	char path[64], line[PATH_MAX + 128], exe[PATH_MAX];
	char seen[64][PATH_MAX];
	size_t nseen = 0;
	ssize_t n;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pr->pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pr->pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	pr->libvrseq = "none";
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, off;
		char file[PATH_MAX], local[PATH_MAX + 32];
		struct elf_finds finds;
		const char *base;
		bool dup = false;

		file[0] = 0;
		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %4095[^\n]",
			   &start, &off, file) != 3 || file[0] != '/' || off)
			continue;
		if (strstr(file, " (deleted)"))
			continue;
		base = strrchr(file, '/') + 1;
		if (!strncmp(base, "libvrseq.so", 11))
			pr->libvrseq = "shared";
		for (size_t i = 0; i < nseen && !dup; i++)
			dup = !strcmp(seen[i], file);
		if (dup || nseen == sizeof(seen) / sizeof(seen[0]))
			continue;
		strcpy(seen[nseen++], file);
		/* Only the program and dynamic linkers can define these. */
		if (strcmp(file, exe) && strncmp(base, "ld-", 3) &&
		    strncmp(base, "ld.so", 5))
			continue;
		/* The process's own view of the path (containers, chroots). */
		snprintf(local, sizeof(local), "/proc/%d/root%s", (int)pr->pid, file);
		if (elf_find(local, start, &finds) < 0 &&
		    elf_find(file, start, &finds) < 0)
			continue;
		if (finds.vrseq_init && !strcmp(file, exe) &&
		    !strcmp(pr->libvrseq, "none"))
			pr->libvrseq = "static";
		if (finds.rseq_offset && !pr->have_offset &&
		    read_remote(pr->pid, finds.rseq_offset, &pr->rseq_offset,
				sizeof(pr->rseq_offset)) == 0) {
			pr->have_offset = true;
			snprintf(pr->rseq_object, sizeof(pr->rseq_object), "%s", file);
			if (!finds.rseq_size ||
			    read_remote(pr->pid, finds.rseq_size, &pr->rseq_size,
					sizeof(pr->rseq_size)) < 0)
				pr->rseq_size = 0;
		}
	}
	fclose(f);
	return 0;
}

/* ------------------------------------------------------------ threads */

static int thread_pointer(pid_t tid, uint64_t *tp)
{
#if defined(__x86_64__)
	struct user_regs_struct regs;

	if (ptrace(PTRACE_GETREGS, tid, NULL, &regs) < 0)
		return -errno;
	*tp = regs.fs_base;
	return 0;
#elif defined(__aarch64__)
	uint64_t tls[2] = { 0, 0 };
	struct iovec io = { tls, sizeof(tls) };

	if (ptrace(PTRACE_GETREGSET, tid, (void *)NT_ARM_TLS, &io) < 0)
		return -errno;
	*tp = tls[0];
	return 0;
#else
	(void)tid;
	*tp = 0;
	return -EOPNOTSUPP;
#endif
}

static enum owner owner_of(const struct process *pr, const struct thread *t)
{
	struct vrseq_own_marker m;

	if (!t->registered)
		return OWN_NONE;
	if (pr->have_offset && pr->rseq_size &&
	    t->addr == t->tp + (uint64_t)pr->rseq_offset)
		return OWN_GLIBC;
	if (read_remote(pr->pid, t->addr + VRSEQ_OWN_MARKER_OFFSET, &m,
			sizeof(m)) == 0 &&
	    !memcmp(m.magic, VRSEQ_OWN_MARKER_MAGIC, sizeof(m.magic)) &&
	    m.registered_len == t->len)
		return OWN_VRSEQ;
	/* Without __rseq_offset glibc's area cannot be told apart. */
	return pr->have_offset ? OWN_FOREIGN : OWN_UNKNOWN;
}

/* While `tid` is stopped: its registration and what its area holds. */
static int read_stopped(struct process *pr, struct thread *t)
{
	struct rseq_configuration conf;
	struct vrseq_rseq_area area;
	long r;
	int ret;

	memset(&conf, 0, sizeof(conf));
	r = ptrace((enum __ptrace_request)REQ_GET_RSEQ_CONFIGURATION, t->tid,
		   (void *)sizeof(conf), &conf);
	if (r < 0)
		return errno == EIO ? -EOPNOTSUPP : -errno;
	ret = thread_pointer(t->tid, &t->tp);
	if (ret < 0)
		return ret;
	t->registered = conf.rseq_abi_pointer != 0;
	t->addr = conf.rseq_abi_pointer;
	t->len = conf.rseq_abi_size;
	t->sig = conf.signature;
	t->owner = owner_of(pr, t);
	if (!t->registered)
		return 0;
	ret = read_remote(pr->pid, t->addr, &area, sizeof(area));
	if (ret < 0)
		return ret;
	t->samples++;
	t->cpu_id_start = area.cpu_id_start;
	t->cpu_id = area.cpu_id;
	if ((int32_t)area.cpu_id < 0)
		t->uninit++;
	else if (area.cpu_id_start != area.cpu_id && area.cpu_id_start & 0x80000000u)
		t->cached++;
	else if (area.cpu_id_start != area.cpu_id)
		t->written++;
	return 0;
}

/* Stop one thread, read it, let it go with any signal it was stopped for. */
static int sample_thread(struct process *pr, struct thread *t)
{
	int status, sig = 0, ret;
	pid_t w;

	if (ptrace(PTRACE_SEIZE, t->tid, NULL, NULL) < 0)
		return -errno;
	if (ptrace(PTRACE_INTERRUPT, t->tid, NULL, NULL) < 0) {
		ret = -errno;
		ptrace(PTRACE_DETACH, t->tid, NULL, NULL);
		return ret;
	}
	do
		w = waitpid(t->tid, &status, __WALL);
	while (w < 0 && errno == EINTR);
	if (w < 0 || !WIFSTOPPED(status))
		return -ESRCH;		/* it exited: nothing to detach */
	/* A signal-delivery stop rather than ours: hand the signal back. */
	if (status >> 16 == 0)
		sig = WSTOPSIG(status);
	ret = read_stopped(pr, t);
	if (ptrace(PTRACE_DETACH, t->tid, NULL, (void *)(uintptr_t)sig) < 0 &&
	    errno != ESRCH && ret == 0)
		ret = -errno;
	return ret;
}

static struct thread *thread_slot(struct process *pr, pid_t tid)
{
	struct thread *t;

	for (size_t i = 0; i < pr->nthreads; i++)
		if (pr->threads[i].tid == tid)
			return &pr->threads[i];
	if (pr->nthreads == MAX_THREADS)
		return NULL;
	t = realloc(pr->threads, (pr->nthreads + 1) * sizeof(*t));
	if (!t)
		return NULL;
	pr->threads = t;
	t = &pr->threads[pr->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

/* TracerPid of a thread, 0 when none (or unreadable). */
static pid_t tracer_of(pid_t pid, pid_t tid)
{
	char path[64], line[128];
	long tracer = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "TracerPid: %ld", &tracer) == 1)
			break;
	fclose(f);
	return (pid_t)tracer;
}

static bool process_alive(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	return access(path, F_OK) == 0;
}

/* One stop of every thread listed now; 0 or -errno (first hard error). */
static int sample_round(struct process *pr)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pr->pid);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? -ESRCH : -errno;
	while ((de = readdir(d)) && ret == 0) {
		struct thread *t;
		char *end;
		long tid = strtol(de->d_name, &end, 10);
		int r;

		if (*end || tid <= 0)
			continue;
		t = thread_slot(pr, (pid_t)tid);
		if (!t) {
			ret = -ENOMEM;
			break;
		}
		if (t->gone)
			continue;
		r = sample_thread(pr, t);
		if (r == -ESRCH) {
			t->gone = true;		/* exited under us */
		} else if (r == -EPERM && !process_alive(pr->pid)) {
			t->gone = true;
		} else if (r < 0) {
			if (r == -EPERM)
				pr->tracer = tracer_of(pr->pid, t->tid);
			ret = r;
		}
	}
	closedir(d);
	return ret;
}

/* ------------------------------------------------------------ verdicts */

static enum verdict verdict_of(const struct thread *t)
{
	if (!t->registered)
		return V_UNREGISTERED;
	if (t->cached)
		return V_LEGACY;
	if (t->written)
		return V_WRITTEN;
	if (t->samples == t->uninit)
		return V_UNKNOWN;
	return V_CLEAN;
}

/* What a written kernel-owned field means on this kernel (the probe). */
static const char *meaning(const struct thread *t, enum verdict v,
			   const struct vrseq_kernel *k)
{
	if (v != V_WRITTEN && v != V_LEGACY)
		return NULL;
	if (!k)
		return "no probe: what it means on this kernel is unknown";
	if (k->debug_mode == 1)
		return "fatal here: rseq debug mode kills a process that writes "
		       "a read-only field";
	if (t->len > 32 && k->v2 == VRSEQ_V2_STRICT)
		return "fatal here: a full-size registration is in V2 mode, "
		       "where such a write kills the process";
	switch (legacy_of(k)) {
	case LEGACY_SAFE:
		return t->len > 32 ?
			"survives here (V2 lenient), but corrupts on 6.19-7.0.9 "
			"and is fatal on 7.0.10+" :
			"works here: this kernel rewrites cpu_id_start of 32-byte "
			"registrations; it corrupts on 6.19-7.0.9 and is killed "
			"in V2 and debug mode";
	case LEGACY_UNSAFE:
		return "UNSAFE here: this kernel does not rewrite cpu_id_start "
		       "on preemption, so cached per-CPU state goes stale "
		       "(memory corruption); run it with vrseq-run";
	default:
		return "the probe could not tell what it means on this kernel";
	}
}

/* Who won the thread's one registration, in a process that has vrseq. */
static const char *who_won(const struct process *pr, const struct thread *t)
{
	if (!strcmp(pr->libvrseq, "none") || !t->registered)
		return NULL;
	switch (t->owner) {
	case OWN_GLIBC:
		return "vrseq shares glibc's registration";
	case OWN_VRSEQ:
		return "vrseq registered first: a library that registers later "
		       "in this thread fails";
	case OWN_FOREIGN:
		return "another library registered first: vrseq's slots, if "
		       "this thread uses them, are in fallback";
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------ output */

static void print_text(const struct process *pr, enum verdict worst,
		       const struct check_pid_options *opt)
{
	printf("process %d: %zu thread%s, %u round%s of stops%s\n",
	       (int)pr->pid, pr->nthreads, pr->nthreads == 1 ? "" : "s",
	       pr->rounds, pr->rounds == 1 ? "" : "s",
	       pr->complete ? "" : " (it exited during inspection)");
	if (pr->have_offset)
		printf("glibc registration: __rseq_offset %" PRId64
		       ", __rseq_size %u%s (%s)\n", pr->rseq_offset,
		       pr->rseq_size, pr->rseq_size ? "" : " (off)",
		       pr->rseq_object);
	else
		printf("glibc registration: no __rseq_offset found (libc "
		       "without rseq support, or a stripped static program)\n");
	printf("libvrseq: %s\n", pr->libvrseq);
	for (size_t i = 0; i < pr->nthreads; i++) {
		const struct thread *t = &pr->threads[i];
		enum verdict v = verdict_of(t);
		const char *m = meaning(t, v, opt->kernel);
		const char *w = who_won(pr, t);

		if (!t->samples && !t->registered) {
			printf("  thread %d: %s\n", (int)t->tid,
			       t->gone ? "exited before it could be read" :
			       "no rseq registration");
			continue;
		}
		printf("  thread %d: area 0x%" PRIx64 ", %u bytes, sig 0x%08x, "
		       "owner %s; cpu_id_start %u, cpu_id %d; %s "
		       "(%u of %u samples)\n", (int)t->tid, t->addr, t->len,
		       t->sig, owner_token[t->owner], t->cpu_id_start,
		       (int32_t)t->cpu_id, verdict_words[v],
		       t->cached + t->written, t->samples);
		if (m)
			printf("    %s\n", m);
		if (w)
			printf("    %s\n", w);
	}
	printf("verdict: %s\n", worst >= V_WRITTEN ?
	       "a kernel-owned rseq field was written in this process" :
	       "no thread wrote a kernel-owned rseq field while inspected");
}

static void print_json(const struct process *pr, enum verdict worst,
		       const struct check_pid_options *opt, int status)
{
	printf("{\"schema\":%d,\"vrseq_version\":", PID_JSON_SCHEMA);
	json_string(stdout, vrseq_version());
	printf(",\"pid\":%d,\"complete\":%s,\"rounds\":%u", (int)pr->pid,
	       json_bool(pr->complete), pr->rounds);
	if (pr->have_offset) {
		printf(",\"rseq_offset\":%" PRId64 ",\"rseq_size\":%u,"
		       "\"rseq_object\":", pr->rseq_offset, pr->rseq_size);
		json_string(stdout, pr->rseq_object);
	} else {
		printf(",\"rseq_offset\":null,\"rseq_size\":null,"
		       "\"rseq_object\":null");
	}
	printf(",\"libvrseq\":\"%s\",\"threads\":[", pr->libvrseq);
	for (size_t i = 0; i < pr->nthreads; i++) {
		const struct thread *t = &pr->threads[i];
		enum verdict v = verdict_of(t);

		printf("%s{\"tid\":%d,\"exited\":%s,\"registered\":%s",
		       i ? "," : "", (int)t->tid, json_bool(t->gone),
		       json_bool(t->registered));
		if (t->registered)
			printf(",\"address\":\"0x%" PRIx64 "\",\"length\":%u,"
			       "\"signature\":\"0x%08x\",\"cpu_id_start\":%u,"
			       "\"cpu_id\":%d", t->addr, t->len, t->sig,
			       t->cpu_id_start, (int32_t)t->cpu_id);
		printf(",\"owner\":\"%s\",\"samples\":%u,\"written_samples\":%u,"
		       "\"cached_bit_samples\":%u,\"verdict\":\"%s\",\"meaning\":",
		       owner_token[t->owner], t->samples, t->written, t->cached,
		       verdict_token[v]);
		json_string(stdout, meaning(t, v, opt->kernel));
		printf(",\"who_won\":");
		json_string(stdout, who_won(pr, t));
		printf("}");
	}
	printf("],\"verdict\":\"%s\"", worst >= V_WRITTEN ? "written" : "clean");
	print_probe_json(opt->kernel);
	printf(",\"exit_status\":%d}\n", status);
}

static int fail_inspect(const struct process *pr, bool json, const char *what,
			int err)
{
	char msg[512];

	if (err == -EPERM && pr->tracer)
		snprintf(msg, sizeof(msg), "cannot inspect process %d: it is "
			 "already traced by process %d (a debugger or strace; "
			 "ptrace allows one tracer)", (int)pr->pid, (int)pr->tracer);
	else if (err == -EPERM || err == -EACCES)
		snprintf(msg, sizeof(msg), "cannot inspect process %d: %s: %s "
			 "(ptrace needs the same user and a non-setuid process, "
			 "or CAP_SYS_PTRACE; Yama's ptrace_scope may forbid more)",
			 (int)pr->pid, what, strerror(-err));
	else if (err == -ESRCH || err == -ENOENT)
		snprintf(msg, sizeof(msg), "no process %d%s", (int)pr->pid,
			 pr->rounds ? " any more (it exited during inspection)" : "");
	else if (err == -EOPNOTSUPP)
		snprintf(msg, sizeof(msg), "cannot inspect process %d: %s: this "
			 "kernel has no PTRACE_GET_RSEQ_CONFIGURATION (Linux 5.13+)",
			 (int)pr->pid, what);
	else
		snprintf(msg, sizeof(msg), "cannot inspect process %d: %s: %s",
			 (int)pr->pid, what, strerror(-err));
	fprintf(stderr, "vrseq-check: %s\n", msg);
	if (json) {
		printf("{\"schema\":%d,\"pid\":%d,\"error\":", PID_JSON_SCHEMA,
		       (int)pr->pid);
		json_string(stdout, msg);
		printf(",\"exit_status\":%d}\n", EXIT_PID_INSPECT);
	}
	return EXIT_PID_INSPECT;
}

int check_pid(pid_t pid, const struct check_pid_options *opt)
{
	struct process pr;
	enum verdict worst = V_UNREGISTERED;
	unsigned int read_threads = 0;
	int ret, status;

	memset(&pr, 0, sizeof(pr));
	pr.pid = pid;
	if (pid == getpid())
		return fail_inspect(&pr, opt->json, "ptrace", -EPERM);
	if (elf_version(EV_CURRENT) == EV_NONE)
		return fail_inspect(&pr, opt->json, "libelf", -ENOSYS);
	ret = scan_maps(&pr);
	if (ret < 0) {
		status = fail_inspect(&pr, opt->json, "/proc/PID/maps", ret);
		goto out;
	}
	for (unsigned int r = 0; r < opt->samples; r++) {
		struct timespec ts = {
			opt->interval_ms / 1000,
			(long)(opt->interval_ms % 1000) * 1000000,
		};

		if (r)
			nanosleep(&ts, NULL);
		ret = sample_round(&pr);
		if (ret == -ESRCH && pr.rounds)
			break;			/* exited between rounds */
		if (ret < 0) {
			status = fail_inspect(&pr, opt->json, "ptrace", ret);
			goto out;
		}
		pr.rounds++;
	}
	for (size_t i = 0; i < pr.nthreads; i++) {
		enum verdict v = verdict_of(&pr.threads[i]);

		if (pr.threads[i].samples || pr.threads[i].registered)
			read_threads++;
		if (v > worst)
			worst = v;
	}
	pr.complete = pr.rounds == opt->samples && process_alive(pid);
	if (!read_threads && !process_alive(pid)) {
		status = fail_inspect(&pr, opt->json, "ptrace", -ESRCH);
		goto out;
	}
	status = worst >= V_WRITTEN ? EXIT_PID_WRITTEN :
		 pr.complete ? EXIT_OK : EXIT_PID_INSPECT;
	if (opt->json)
		print_json(&pr, worst, opt, status);
	else
		print_text(&pr, worst, opt);
out:
	free(pr.threads);
	return status;
}
