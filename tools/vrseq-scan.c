/* SPDX-License-Identifier: MIT */
/*
 * vrseq-scan FILE|DIR...: who owns rseq in these ELF objects? For every
 * executable, shared object, relocatable object and archive member (any
 * class, any byte order, stripped ones through .dynsym) it collects the
 * evidence -- self-registration markers, rseq system call sites, uses of
 * glibc's registration, critical-section descriptors (checked by
 * cs-lint.c), links to libvrseq -- and gives one verdict. See vrseq-scan(1)
 * for the heuristics, the verdicts' precedence and the exit statuses;
 * --json prints doc/vrseq-scan.schema.json (schema 1).
 *
 * The per-object analysis takes an Elf * (scan_elf), so that the fuzzer
 * (fuzz/fuzz-scan.c) drives the same code through elf_memory(), via
 * vrseq_scan_memory().
 */
#define _GNU_SOURCE
#include <ar.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gelf.h>

#include <vrseq.h>

#include "cs-lint.h"
#include "output.h"

/* Exit statuses, the most severe finding wins. */
enum {
	SCAN_OK = 0, SCAN_LEGACY = 1, SCAN_BAD = 2, SCAN_DAMAGED = 3,
	SCAN_USAGE = TOOL_EXIT_USAGE,
};

/*
 * Verdicts, from the least to the most severe: an object gets the last one
 * whose evidence it has (see verdict_of()).
 */
enum verdict {
	V_NO_RSEQ, V_CS_ONLY, V_SHARES_GLIBC, V_LIBC, V_VRSEQ, V_LEGACY,
	V_BAD, V_DAMAGED, V_NR
};

static const struct {
	const char *token, *words;
	int exit;
} verdicts[V_NR] = {
	[V_NO_RSEQ] = { "no_rseq", "no rseq use found", SCAN_OK },
	[V_CS_ONLY] = { "critical_sections_only", "critical sections only "
			"(no registration of its own: relies on glibc's or "
			"vrseq's area)", SCAN_OK },
	[V_SHARES_GLIBC] = { "shares_glibc", "shares glibc's registration",
			     SCAN_OK },
	[V_LIBC] = { "libc_registration", "libc registration (glibc's own "
		     "rseq registration: ld.so, libc.so or a static glibc)",
		     SCAN_OK },
	[V_VRSEQ] = { "vrseq", "ported to vrseq", SCAN_OK },
	[V_LEGACY] = { "legacy_self_registering", "legacy self-registering "
		       "(tcmalloc-style): corrupts on 6.19–7.0.9, killed in V2 "
		       "and debug mode", SCAN_LEGACY },
	[V_BAD] = { "bad_descriptors", "invalid rseq critical-section "
		    "descriptors", SCAN_BAD },
	[V_DAMAGED] = { "damaged", "libelf cannot read it",
			SCAN_DAMAGED },
};

struct options {
	bool json, quiet, require_array;
};

/* A growing list of strings (copies), at most LIST_MAX kept. */
#define LIST_MAX	32
struct list {
	char *v[LIST_MAX];
	const char *kind[LIST_MAX];	/* markers: what the symbol shows */
	size_t n, total;
};

static void list_add(struct list *l, const char *kind, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0 &&
		    (!kind || strcmp(l->kind[i], kind) == 0))
			return;
	l->total++;
	if (l->n == LIST_MAX)
		return;
	l->v[l->n] = strdup(s);
	if (!l->v[l->n])
		return;
	l->kind[l->n++] = kind;
}

static void list_free(struct list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = l->total = 0;
}

enum owner { OWN_UNKNOWN, OWN_LIBC, OWN_VRSEQ };
static const char *const owner_token[] = { "unknown", "libc", "vrseq" };

#define SITES_MAX	16
struct site {
	uint64_t addr;
	bool call;		/* a call of libc's syscall(), not inline */
	const char *fn;		/* the enclosing function, or NULL */
	enum owner owner;
};

struct func {
	uint64_t start, end;
	const char *name;	/* libelf's string table */
};

/* Everything known about one object. */
struct object {
	const char *path, *member;
	enum verdict verdict;
	char err[256];
	struct cs_image im;
	bool image_ok;
	bool has_symtab, has_dynsym;
	/* markers */
	struct list markers;
	/* glibc */
	bool defines_rseq_offset, defines_libc_start, glibc_tunable, is_glibc;
	bool glibc_internal;	/* glibc's own rseq symbols (libc.a) */
	bool has_needed;	/* a DT_NEEDED: dynamically linked */
	size_t libc_sites;
	struct list glibc_refs;
	/* system call sites */
	bool sc_scanned;
	const char *sc_note;
	struct site sites[SITES_MAX];
	size_t nsites, sites_total, unknown_sites, vrseq_sites;
	/* what the call scan resolves */
	uint64_t syscall_fn;		/* address of a defined syscall() */
	bool have_syscall_fn;
	uint64_t syscall_got[4];	/* GOT slots of syscall's relocations */
	size_t nsyscall_got;
	struct func *funcs;
	size_t nfuncs, capfuncs;
	/* critical sections */
	struct cs_result cs;
	bool cs_done;
	struct list cs_problems;
	/* vrseq */
	bool needs_vrseq, static_vrseq, refs_vrseq, vrseq_by_string;
	struct list vrseq_versions;
};

struct run {
	struct options opt;
	FILE *out;
	int status;
	unsigned long files, objects, not_elf, unreadable, skipped;
	unsigned long counts[V_NR];
	bool first_json;	/* no object printed yet */
	int fd;			/* of the file being scanned, -1 for memory */
};

/* ------------------------------------------------------------ symbols */

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The address a symbol stands for, in cs_image's address space. */
static bool sym_addr(const struct object *o, const GElf_Sym *s, uint64_t *a)
{
	if (s->st_shndx == SHN_UNDEF || s->st_shndx >= SHN_LORESERVE)
		return false;
	if (o->im.eh.e_type != ET_REL) {
		*a = s->st_value;
		return true;
	}
	if (s->st_shndx >= o->im.shnum)
		return false;
	*a = o->im.sec[s->st_shndx].addr + s->st_value;
	return true;
}

static void add_func(struct object *o, uint64_t start, uint64_t size,
		     const char *name)
{
	if (o->nfuncs == o->capfuncs) {
		size_t cap = o->capfuncs ? 2 * o->capfuncs : 256;
		struct func *f = realloc(o->funcs, cap * sizeof(*f));

		if (!f)
			return;
		o->funcs = f;
		o->capfuncs = cap;
	}
	o->funcs[o->nfuncs++] = (struct func){ start, start + size, name };
}

static void one_symbol(struct object *o, const GElf_Sym *s, const char *name)
{
	bool defined = s->st_shndx != SHN_UNDEF;
	unsigned int type = GELF_ST_TYPE(s->st_info);
	unsigned int bind = GELF_ST_BIND(s->st_info);
	bool global = bind == STB_GLOBAL || bind == STB_WEAK;
	uint64_t a;

	if (!*name)
		return;
	/* Self-registration markers. */
	if (strcmp(name, "__rseq_abi") == 0) {
		if (defined && type == STT_TLS)
			list_add(&o->markers, "rseq_abi", name);
		else if (!defined)
			list_add(&o->markers, "rseq_abi_ref", name);
	}
	if (defined && (strstr(name, "tcmalloc_slabs") ||
			strstr(name, "tcmalloc_cached_vcpu") ||
			strstr(name, "TcmallocSlab_Internal")))
		list_add(&o->markers, "tcmalloc", name);
	/* Only exported ones: glibc has a static rseq_register_current_thread
	 * of its own, which a static program's .symtab may list. */
	if (defined && global && (strcmp(name, "__rseq_refcount") == 0 ||
				  strcmp(name, "rseq_register_current_thread") == 0))
		list_add(&o->markers, "librseq", name);
	/* glibc's registration. It defines __rseq_offset (ld.so, a static
	 * program), and its own objects (libc.a's dl-tls_init_tp.o) define
	 * __rseq_flags or use the hidden _rseq_offset/_rseq_size. */
	if (strcmp(name, "__rseq_offset") == 0 && defined)
		o->defines_rseq_offset = true;
	else if ((defined && (strcmp(name, "__rseq_size") == 0 ||
			      strcmp(name, "__rseq_flags") == 0)) ||
		 strcmp(name, "_rseq_offset") == 0 ||
		 strcmp(name, "_rseq_size") == 0)
		o->glibc_internal = true;
	else if (!defined && (strcmp(name, "__rseq_offset") == 0 ||
			      strcmp(name, "__rseq_size") == 0 ||
			      strcmp(name, "__rseq_flags") == 0))
		list_add(&o->glibc_refs, NULL, name);
	if (defined && strcmp(name, "__libc_start_main") == 0)
		o->defines_libc_start = true;
	/* libvrseq. */
	if (defined && (strcmp(name, "vrseq_init") == 0 ||
			strcmp(name, "vrseq__proc") == 0))
		o->static_vrseq = true;
	if (!defined && starts(name, "vrseq_") && global)
		o->refs_vrseq = true;
	/* What the system call scan needs. */
	if (type == STT_FUNC && sym_addr(o, s, &a)) {
		if (strcmp(name, "syscall") == 0) {
			o->syscall_fn = a;
			o->have_syscall_fn = true;
		}
		if (s->st_size)
			add_func(o, a, s->st_size, name);
	}
}

static void read_symbols(struct object *o)
{
	for (size_t i = 1; i < o->im.shnum; i++) {
		const struct cs_section *sec = &o->im.sec[i];
		Elf_Scn *scn;
		Elf_Data *d;

		if (sec->sh.sh_type != SHT_SYMTAB && sec->sh.sh_type != SHT_DYNSYM)
			continue;
		if (sec->sh.sh_type == SHT_SYMTAB)
			o->has_symtab = true;
		else
			o->has_dynsym = true;
		if (!(scn = elf_getscn(o->im.elf, i)) ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (int k = 1;; k++) {
			GElf_Sym s;
			const char *name;

			if (!gelf_getsym(d, k, &s))
				break;
			name = elf_strptr(o->im.elf, sec->sh.sh_link, s.st_name);
			one_symbol(o, &s, name ? name : "");
		}
	}
}

/* DT_NEEDED libvrseq and the VRSEQ_* nodes needed from it; the GOT slots
 * of syscall() for the call scan. */
static void read_dynamic(struct object *o)
{
	Elf *e = o->im.elf;

	for (size_t i = 1; i < o->im.shnum; i++) {
		const struct cs_section *sec = &o->im.sec[i];
		Elf_Scn *scn = elf_getscn(e, i);
		Elf_Data *d = scn ? elf_getdata(scn, NULL) : NULL;

		if (!d)
			continue;
		if (sec->sh.sh_type == SHT_DYNAMIC) {
			GElf_Dyn dyn;

			for (int k = 0; gelf_getdyn(d, k, &dyn); k++) {
				const char *lib;

				if (dyn.d_tag == DT_NULL)
					break;
				if (dyn.d_tag != DT_NEEDED)
					continue;
				o->has_needed = true;
				lib = elf_strptr(e, sec->sh.sh_link, dyn.d_un.d_val);
				if (lib && (starts(lib, "libvrseq.so") ||
					    starts(lib, "libvrseq-ffi.so")))
					o->needs_vrseq = true;
			}
		} else if (sec->sh.sh_type == SHT_GNU_verneed) {
			size_t off = 0;

			/* Offsets must move forward: a loop in a damaged
			 * chain ends after as many entries as fit. */
			for (size_t n = 0; n < 1024; n++) {
				GElf_Verneed vn;
				const char *lib;
				size_t aoff;

				if (!gelf_getverneed(d, (int)off, &vn))
					break;
				lib = elf_strptr(e, sec->sh.sh_link, vn.vn_file);
				aoff = off + vn.vn_aux;
				for (unsigned int k = 0; lib &&
				     starts(lib, "libvrseq") && k < vn.vn_cnt &&
				     k < 1024; k++) {
					GElf_Vernaux va;
					const char *node;

					if (aoff > INT32_MAX ||
					    !gelf_getvernaux(d, (int)aoff, &va))
						break;
					node = elf_strptr(e, sec->sh.sh_link,
							  va.vna_name);
					if (node && starts(node, "VRSEQ_"))
						list_add(&o->vrseq_versions, NULL,
							 node);
					if (!va.vna_next)
						break;
					aoff += va.vna_next;
				}
				if (!vn.vn_next || off + vn.vn_next > INT32_MAX)
					break;
				off += vn.vn_next;
			}
		} else if ((sec->sh.sh_type == SHT_RELA ||
			    sec->sh.sh_type == SHT_REL) &&
			   (sec->sh.sh_flags & SHF_ALLOC) &&
			   sec->sh.sh_link < o->im.shnum &&
			   o->im.sec[sec->sh.sh_link].sh.sh_type == SHT_DYNSYM) {
			const struct cs_section *ds = &o->im.sec[sec->sh.sh_link];
			Elf_Scn *dscn = elf_getscn(e, sec->sh.sh_link);
			Elf_Data *dd = dscn ? elf_getdata(dscn, NULL) : NULL;
			unsigned int m = o->im.eh.e_machine;

			for (int k = 0; dd; k++) {
				GElf_Rela ra;
				GElf_Rel rl;
				GElf_Sym s;
				unsigned int t;
				const char *name;

				if (sec->sh.sh_type == SHT_RELA) {
					if (!gelf_getrela(d, k, &ra))
						break;
				} else {
					if (!gelf_getrel(d, k, &rl))
						break;
					ra.r_offset = rl.r_offset;
					ra.r_info = rl.r_info;
				}
				t = (unsigned int)GELF_R_TYPE(ra.r_info);
				if (!((m == EM_X86_64 && (t == R_X86_64_JUMP_SLOT ||
							  t == R_X86_64_GLOB_DAT)) ||
				      (m == EM_AARCH64 && (t == R_AARCH64_JUMP_SLOT ||
							   t == R_AARCH64_GLOB_DAT))))
					continue;
				if (GELF_R_SYM(ra.r_info) > INT32_MAX ||
				    !gelf_getsym(dd, (int)GELF_R_SYM(ra.r_info), &s))
					continue;
				name = elf_strptr(e, ds->sh.sh_link, s.st_name);
				if (name && strcmp(name, "syscall") == 0 &&
				    o->nsyscall_got < 4)
					o->syscall_got[o->nsyscall_got++] = ra.r_offset;
			}
		}
	}
}

/* ------------------------------------------------------------ syscall sites */

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* `len` bytes of code at addr, or NULL. */
static const unsigned char *code_at(const struct object *o, uint64_t addr,
				    uint64_t len)
{
	int i = cs_exec_section(&o->im, addr, len);
	const struct cs_section *s;

	if (i < 0)
		return NULL;
	s = &o->im.sec[i];
	if (!s->data || addr - s->addr > s->size || len > s->size - (addr - s->addr))
		return NULL;
	return s->data + (addr - s->addr);
}

static bool is_syscall_got(const struct object *o, uint64_t got)
{
	for (size_t i = 0; i < o->nsyscall_got; i++)
		if (o->syscall_got[i] == got)
			return true;
	return false;
}

/* In a relocatable object: does a relocation at `off` of section `sec`
 * name the symbol syscall? */
static bool reloc_names_syscall(const struct object *o, size_t sec, uint64_t off)
{
	Elf *e = o->im.elf;

	for (size_t r = 1; r < o->im.shnum; r++) {
		const struct cs_section *rs = &o->im.sec[r];
		Elf_Scn *scn, *sscn;
		Elf_Data *d, *sd;

		if ((rs->sh.sh_type != SHT_RELA && rs->sh.sh_type != SHT_REL) ||
		    rs->sh.sh_info != sec || rs->sh.sh_link >= o->im.shnum ||
		    !(scn = elf_getscn(e, r)) || !(d = elf_getdata(scn, NULL)) ||
		    !(sscn = elf_getscn(e, rs->sh.sh_link)) ||
		    !(sd = elf_getdata(sscn, NULL)))
			continue;
		for (int k = 0;; k++) {
			GElf_Rela ra;
			GElf_Rel rl;
			GElf_Sym s;
			const char *name;

			if (rs->sh.sh_type == SHT_RELA) {
				if (!gelf_getrela(d, k, &ra))
					break;
			} else {
				if (!gelf_getrel(d, k, &rl))
					break;
				ra.r_offset = rl.r_offset;
				ra.r_info = rl.r_info;
			}
			if (ra.r_offset != off)
				continue;
			if (GELF_R_SYM(ra.r_info) > INT32_MAX ||
			    !gelf_getsym(sd, (int)GELF_R_SYM(ra.r_info), &s))
				return false;
			name = elf_strptr(e, o->im.sec[rs->sh.sh_link].sh.sh_link,
					  s.st_name);
			return name && strcmp(name, "syscall") == 0;
		}
	}
	return false;
}

/* x86_64: is the call at `at` (e8 rel32, or ff 15 disp32) one of syscall()? */
static bool x86_call_is_syscall(const struct object *o, size_t sec,
				uint64_t at, const unsigned char *p)
{
	uint64_t next, target;
	const unsigned char *t;

	if (p[0] == 0xff && p[1] == 0x15) {	/* call *disp(%rip), -fno-plt */
		next = at + 6;
		return is_syscall_got(o, next + (uint64_t)(int64_t)(int32_t)le32(p + 2));
	}
	if (o->im.eh.e_type == ET_REL)
		return reloc_names_syscall(o, sec, at + 1 - o->im.sec[sec].addr);
	next = at + 5;
	target = next + (uint64_t)(int64_t)(int32_t)le32(p + 1);
	if (o->have_syscall_fn && target == o->syscall_fn)
		return true;
	/* A PLT entry: [endbr64] [bnd] jmp *disp(%rip) through a GOT slot
	 * that syscall's JUMP_SLOT relocation fills. */
	if (!o->nsyscall_got || !(t = code_at(o, target, 16)))
		return false;
	if (t[0] == 0xf3 && t[1] == 0x0f && t[2] == 0x1e && t[3] == 0xfa) {
		t += 4;
		target += 4;
	}
	if (t[0] == 0xf2) {
		t++;
		target++;
	}
	return t[0] == 0xff && t[1] == 0x25 &&
	       is_syscall_got(o, target + 6 + (uint64_t)(int64_t)(int32_t)le32(t + 2));
}

/* aarch64: is the bl at `at` (word w) one of syscall()? */
static bool a64_call_is_syscall(const struct object *o, size_t sec,
				uint64_t at, uint32_t w)
{
	int64_t imm = (int64_t)((w & 0x03ffffffu) ^ 0x02000000u) - 0x02000000;
	uint64_t target = at + (uint64_t)(imm * 4), page, got;
	const unsigned char *t;
	uint32_t adrp, ldr;
	int64_t hi;

	if (o->im.eh.e_type == ET_REL)
		return reloc_names_syscall(o, sec, at - o->im.sec[sec].addr);
	if (o->have_syscall_fn && target == o->syscall_fn)
		return true;
	/* A PLT entry: adrp x16, GOT page; ldr x17, [x16, #off]; ... */
	if (!o->nsyscall_got || !(t = code_at(o, target, 8)))
		return false;
	adrp = le32(t);
	ldr = le32(t + 4);
	if ((adrp & 0x9f00001fu) != 0x90000010u || (ldr & 0xffc003ffu) != 0xf9400211u)
		return false;
	hi = (int64_t)((((adrp >> 5) & 0x7ffffu) << 2 | ((adrp >> 29) & 3)) ^
		       0x100000u) - 0x100000;
	page = (target & ~(uint64_t)0xfff) + (uint64_t)(hi * 4096);
	got = page + ((ldr >> 10) & 0xfffu) * 8;
	return is_syscall_got(o, got);
}

/*
 * Could an inline site in an object with glibc inside be glibc's own? Yes
 * outside any known function (ld.so and libc.so.6 list no local ones),
 * and in glibc's reserved names (__tls_init_tp, _dl_*) or those it
 * registers in (start_thread, its static rseq_register_current_thread):
 * a static program's own function with a plain name is not glibc's.
 */
static bool glibc_registers_in(const char *fn)
{
	return strcmp(fn, "__tls_init_tp") == 0 ||
	       strcmp(fn, "start_thread") == 0 ||
	       strcmp(fn, "rseq_register_current_thread") == 0;
}

static bool list_has(const struct list *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return true;
	return false;
}

static bool glibc_function(const char *fn)
{
	return !fn || fn[0] == '_' || strcmp(fn, "start_thread") == 0 ||
	       strcmp(fn, "rseq_register_current_thread") == 0 ||
	       strcmp(fn, "dl_main") == 0;
}

static void add_site(struct object *o, uint64_t addr, bool call)
{
	struct site *s;
	const char *fn = NULL;
	enum owner owner = OWN_UNKNOWN;

	for (size_t i = 0; i < o->nfuncs; i++)
		if (addr >= o->funcs[i].start && addr < o->funcs[i].end) {
			fn = o->funcs[i].name;
			break;
		}
	/* Whose is it? libvrseq's own functions are named vrseq__*; glibc
	 * makes its system calls inline; a stripped copy of libvrseq
	 * (defining vrseq_init) registers through syscall(). */
	if (fn && starts(fn, "vrseq__"))
		owner = OWN_VRSEQ;
	else if (!call && o->is_glibc && glibc_function(fn))
		owner = OWN_LIBC;
	else if (!call && fn && glibc_registers_in(fn) &&
		 list_has(&o->glibc_refs, "__rseq_size"))
		owner = OWN_LIBC;	/* libc.a's pthread_create.o */
	else if (!fn && call && o->static_vrseq)
		owner = OWN_VRSEQ;
	if (owner == OWN_LIBC)
		o->libc_sites++;
	if (owner == OWN_UNKNOWN)
		o->unknown_sites++;
	else if (owner == OWN_VRSEQ)
		o->vrseq_sites++;
	o->sites_total++;
	if (o->nsites == SITES_MAX)
		return;
	s = &o->sites[o->nsites++];
	s->addr = addr;
	s->call = call;
	s->fn = fn;
	s->owner = owner;
}

/*
 * A plausibility filter against the commonest false positive of the byte
 * pattern (no decoder here): the 0f 05 may lie inside the rel32 of a call,
 * jmp or conditional jump (libLLVM-14 has "80 b8 4e 01 00 00 00" = cmpb
 * $0,0x14e(%rax), then "0f 84 0f 05 00 00" = je). The bytes before the
 * mov are not filtered: the ModRM or immediate ending the instruction
 * before takes any value (tcmalloc's syscall() call in a Google Cloud SDK
 * program follows "45 31 f6", xor %r14d,%r14d).
 */
static bool x86_in_rel32(const unsigned char *p, size_t j, size_t from)
{
	/* p[j] starts "0f 05": is it byte 0..2 of the rel32 of e8/e9 or of
	 * 0f 8x, with that instruction's opcode at or after `from`? */
	for (size_t k = 0; k <= 2; k++) {
		if (j >= from + k + 1 && (p[j - k - 1] == 0xe8 || p[j - k - 1] == 0xe9))
			return true;
		if (j >= from + k + 2 && p[j - k - 2] == 0x0f &&
		    (p[j - k - 1] & 0xf0) == 0x80)
			return true;
	}
	return false;
}

static void scan_x86(struct object *o, size_t sec, bool i386)
{
	const struct cs_section *s = &o->im.sec[sec];
	const unsigned char *p = s->data;
	size_t n = s->size;

	for (size_t i = 0; i + 5 <= n; i++) {
		bool eax = false, edi = false;
		size_t len = 5;

		if (i386) {
			/* mov $386,%eax, then int $0x80 or call *%gs:0x10 */
			eax = p[i] == 0xb8 && le32(p + i + 1) == 386;
		} else if (p[i] == 0xb8 && le32(p + i + 1) == 334) {
			eax = true;		/* mov $334,%eax */
		} else if (p[i] == 0xbf && le32(p + i + 1) == 334) {
			edi = true;		/* mov $334,%edi */
		} else if (i + 6 <= n && p[i] == 0xc7 && p[i + 1] == 0xc0 &&
			   le32(p + i + 2) == 334) {
			eax = true, len = 6;	/* mov $334,%eax (c7 c0) */
		} else if (i + 7 <= n && p[i] == 0x48 && p[i + 1] == 0xc7 &&
			   p[i + 2] == 0xc7 && le32(p + i + 3) == 334) {
			edi = true, len = 7;	/* mov $334,%rdi */
		}
		if (eax) {
			for (size_t j = i + len; j + 2 <= n && j < i + len + 16; j++) {
				bool hit = i386 ?
					(p[j] == 0xcd && p[j + 1] == 0x80) ||
					(j + 7 <= n && p[j] == 0x65 && p[j + 1] == 0xff &&
					 p[j + 2] == 0x15 && le32(p + j + 3) == 0x10) :
					p[j] == 0x0f && p[j + 1] == 0x05 &&
					!x86_in_rel32(p, j, i + len);

				if (hit) {
					add_site(o, s->addr + i, false);
					break;
				}
			}
		} else if (edi) {
			for (size_t j = i + len; j + 6 <= n && j < i + len + 32; j++) {
				if ((p[j] == 0xe8 || (p[j] == 0xff && p[j + 1] == 0x15)) &&
				    x86_call_is_syscall(o, sec, s->addr + j, p + j)) {
					add_site(o, s->addr + i, true);
					break;
				}
			}
		}
	}
}

static void scan_a64(struct object *o, size_t sec)
{
	const struct cs_section *s = &o->im.sec[sec];
	const unsigned char *p = s->data;
	size_t n = s->size & ~(size_t)3;

	/* Instructions are little-endian on aarch64_be too. */
	for (size_t i = 0; i + 4 <= n; i += 4) {
		uint32_t w = le32(p + i);

		if (w == 0x528024a8u || w == 0xd28024a8u) {	/* mov w8/x8, #293 */
			for (size_t j = i + 4; j + 4 <= n && j <= i + 32; j += 4)
				if (le32(p + j) == 0xd4000001u) {	/* svc #0 */
					add_site(o, s->addr + i, false);
					break;
				}
		} else if (w == 0x528024a0u || w == 0xd28024a0u) {	/* mov w0/x0, #293 */
			for (size_t j = i + 4; j + 4 <= n && j <= i + 32; j += 4) {
				uint32_t b = le32(p + j);

				if ((b & 0xfc000000u) == 0x94000000u &&
				    a64_call_is_syscall(o, sec, s->addr + j, b)) {
					add_site(o, s->addr + i, true);
					break;
				}
			}
		}
	}
}

/*
 * Without any symbol table (a stripped static program): glibc by its rseq
 * tunable's name, and x86_64 glibc's syscall() by its body, so that its
 * callers can still be found.
 */
static const unsigned char x86_64_syscall_fn[] = {
	0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6, 0x48, 0x89,
	0xca, 0x4d, 0x89, 0xc2, 0x4d, 0x89, 0xc8, 0x4c, 0x8b, 0x4c, 0x24,
	0x08, 0x0f, 0x05,
};

static void fingerprints(struct object *o)
{
	static const char tunable[] = "glibc.pthread.rseq";	/* and its NUL */
	/* The variable libvrseq's initialisation reads (src/init.c). */
	static const char vrseq_env[] = "VRSEQ_OWN_REGISTRATION";

	/* Only where symbols cannot tell: no .symtab, and statically linked
	 * (a static-pie such as qemu-user's has a .dynsym but no DT_NEEDED);
	 * a dynamic program may hold the tunable's name for other reasons. */
	if (o->has_symtab || o->has_needed || o->is_glibc)
		return;
	for (size_t i = 1; i < o->im.shnum; i++) {
		const struct cs_section *s = &o->im.sec[i];
		const unsigned char *hit;

		if (!(s->sh.sh_flags & SHF_ALLOC) || s->sh.sh_type != SHT_PROGBITS ||
		    !s->data)
			continue;
		if (!(s->sh.sh_flags & SHF_EXECINSTR)) {
			if (memmem(s->data, s->size, tunable, sizeof(tunable)))
				o->glibc_tunable = o->is_glibc = true;
			if (memmem(s->data, s->size, vrseq_env, sizeof(vrseq_env)))
				o->static_vrseq = o->vrseq_by_string = true;
		} else if (o->im.eh.e_machine == EM_X86_64 && !o->have_syscall_fn &&
			   (hit = memmem(s->data, s->size, x86_64_syscall_fn,
					 sizeof(x86_64_syscall_fn)))) {
			o->syscall_fn = s->addr + (uint64_t)(hit - s->data);
			o->have_syscall_fn = true;
		}
	}
}

static void scan_syscalls(struct object *o)
{
	unsigned int m = o->im.eh.e_machine;

	if (m != EM_X86_64 && m != EM_AARCH64 && m != EM_386) {
		o->sc_note = "syscall scan not implemented for this machine";
		return;
	}
	o->sc_scanned = true;
	for (size_t i = 1; i < o->im.shnum; i++) {
		const struct cs_section *s = &o->im.sec[i];

		if ((s->sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) !=
		    (SHF_ALLOC | SHF_EXECINSTR) || s->sh.sh_type != SHT_PROGBITS ||
		    !s->data)
			continue;
		if (m == EM_AARCH64)
			scan_a64(o, i);
		else
			scan_x86(o, i, m == EM_386);
	}
}

/* ------------------------------------------------------------ verdict */

static void cs_problem(void *arg, int desc, uint64_t at, const char *msg)
{
	struct object *o = arg;
	char line[400];

	if (desc >= 0)
		snprintf(line, sizeof(line), "descriptor %d at 0x%" PRIx64 ": %s",
			 desc, at, msg);
	else
		snprintf(line, sizeof(line), "%s", msg);
	list_add(&o->cs_problems, NULL, line);
}

/*
 * Precedence, most severe first: damaged, bad_descriptors (an error in the
 * object whatever else it does), legacy_self_registering (a marker, or a
 * system call site that is neither glibc's nor libvrseq's), vrseq (needs
 * or contains libvrseq: also a static program with glibc inside),
 * libc_registration (glibc itself), shares_glibc, critical_sections_only,
 * no_rseq.
 */
static enum verdict verdict_of(const struct object *o)
{
	if (!o->image_ok)
		return V_DAMAGED;
	if (o->cs.problems)
		return V_BAD;
	if (o->markers.total || o->unknown_sites)
		return V_LEGACY;
	if (o->needs_vrseq || o->static_vrseq || o->refs_vrseq ||
	    o->vrseq_sites)
		return V_VRSEQ;
	if ((o->is_glibc && (o->defines_rseq_offset || o->glibc_tunable ||
			     o->sites_total)) || o->libc_sites)
		return V_LIBC;
	if (o->glibc_refs.total)
		return V_SHARES_GLIBC;
	if (o->cs.cs_sections || o->cs.ptr_array || o->cs.failure)
		return V_CS_ONLY;
	return V_NO_RSEQ;
}

static void analyse(struct object *o, Elf *e, bool require_array)
{
	if (cs_image_open(&o->im, e) < 0) {
		snprintf(o->err, sizeof(o->err), "%s", o->im.err);
		return;
	}
	o->image_ok = true;
	read_symbols(o);
	read_dynamic(o);
	o->is_glibc = o->defines_rseq_offset || o->defines_libc_start ||
		      o->glibc_internal;
	fingerprints(o);
	scan_syscalls(o);
	if (cs_lint(&o->im, require_array, &o->cs, cs_problem, o) < 0) {
		snprintf(o->err, sizeof(o->err), "out of memory");
		o->image_ok = false;
		return;
	}
	o->cs_done = true;
}

static void object_free(struct object *o)
{
	cs_image_close(&o->im);
	list_free(&o->markers);
	list_free(&o->glibc_refs);
	list_free(&o->cs_problems);
	list_free(&o->vrseq_versions);
	free(o->funcs);
}

/* ------------------------------------------------------------ output */

static const char *type_token(const struct object *o)
{
	switch (o->im.eh.e_type) {
	case ET_EXEC:	return "exec";
	case ET_DYN:	return "dyn";
	case ET_REL:	return "rel";
	case ET_CORE:	return "core";
	default:	return "other";
	}
}

static void json_list(FILE *f, const struct list *l)
{
	putc('[', f);
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			putc(',', f);
		json_string(f, l->v[i]);
	}
	putc(']', f);
}

static void print_json(struct run *run, const struct object *o)
{
	FILE *f = run->out;
	char buf[32];
	const struct cs_result *c = &o->cs;

	fputs(run->first_json ? "\n" : ",\n", f);
	run->first_json = false;
	fputs("{\"path\":", f);
	json_string(f, o->path);
	fputs(",\"member\":", f);
	json_string(f, o->member);
	fprintf(f, ",\"verdict\":\"%s\",\"verdict_text\":", verdicts[o->verdict].token);
	json_string(f, verdicts[o->verdict].words);
	fputs(",\"error\":", f);
	json_string(f, o->err[0] ? o->err : NULL);
	if (o->image_ok) {
		fprintf(f, ",\"class\":%d,\"byte_order\":\"%s\",\"machine\":",
			o->im.is64 ? 64 : 32, o->im.big ? "big" : "little");
		json_string(f, cs_machine_name(o->im.eh.e_machine, buf, sizeof(buf)));
		fprintf(f, ",\"type\":\"%s\",\"symtab\":%s,\"dynsym\":%s",
			type_token(o), json_bool(o->has_symtab),
			json_bool(o->has_dynsym));
	} else {
		fputs(",\"class\":null,\"byte_order\":null,\"machine\":null,"
		      "\"type\":null,\"symtab\":false,\"dynsym\":false", f);
	}
	fputs(",\"markers\":[", f);
	for (size_t i = 0; i < o->markers.n; i++) {
		fprintf(f, "%s{\"kind\":\"%s\",\"symbol\":", i ? "," : "",
			o->markers.kind[i]);
		json_string(f, o->markers.v[i]);
		putc('}', f);
	}
	fprintf(f, "],\"markers_total\":%zu", o->markers.total);
	fprintf(f, ",\"glibc\":{\"is_glibc\":%s,\"defines_rseq_offset\":%s,"
		"\"references\":", json_bool(o->is_glibc),
		json_bool(o->defines_rseq_offset));
	json_list(f, &o->glibc_refs);
	fprintf(f, "},\"syscall_scan\":{\"scanned\":%s,\"note\":",
		json_bool(o->sc_scanned));
	json_string(f, o->sc_note);
	fprintf(f, ",\"sites_total\":%zu,\"sites\":[", o->sites_total);
	for (size_t i = 0; i < o->nsites; i++) {
		const struct site *s = &o->sites[i];

		fprintf(f, "%s{\"address\":\"0x%" PRIx64 "\",\"kind\":\"%s\","
			"\"function\":", i ? "," : "", s->addr,
			s->call ? "syscall_call" : "inline");
		json_string(f, s->fn);
		fprintf(f, ",\"owner\":\"%s\"}", owner_token[s->owner]);
	}
	fprintf(f, "]},\"critical_sections\":{\"checked\":%s,"
		"\"cs_sections\":%u,\"descriptors\":%u,\"validated\":%u,"
		"\"invalid\":%u,\"unvalidated\":%u,\"unvalidated_reason\":",
		json_bool(o->cs_done), c->cs_sections, c->descriptors,
		c->descriptors - c->unvalidated - c->bad, c->bad, c->unvalidated);
	json_string(f, c->why_unvalidated[0] ? c->why_unvalidated : NULL);
	fprintf(f, ",\"ptr_array\":%s,\"pointers\":%u,\"failure_bytes\":%" PRIu64
		",\"problems_total\":%u,\"problems\":", json_bool(c->ptr_array),
		c->pointers, c->failure_bytes, c->problems);
	json_list(f, &o->cs_problems);
	fprintf(f, "},\"vrseq\":{\"needed\":%s,\"static_copy\":%s,"
		"\"references\":%s,\"version_needs\":", json_bool(o->needs_vrseq),
		json_bool(o->static_vrseq), json_bool(o->refs_vrseq));
	json_list(f, &o->vrseq_versions);
	fputs("}}", f);
}

static void print_text(struct run *run, const struct object *o)
{
	FILE *f = run->out;
	const struct cs_result *c = &o->cs;
	char buf[32];

	fprintf(f, "%s%s%s%s: %s: %s\n", o->path, o->member ? "(" : "",
		o->member ? o->member : "", o->member ? ")" : "",
		verdicts[o->verdict].token, verdicts[o->verdict].words);
	if (!o->image_ok) {
		fprintf(f, "    error: %s\n", o->err);
		return;
	}
	if (o->verdict == V_NO_RSEQ && !o->sc_note)
		return;
	fprintf(f, "    ELF%d %s-endian %s %s, symbols from%s%s%s\n",
		o->im.is64 ? 64 : 32, o->im.big ? "big" : "little",
		cs_machine_name(o->im.eh.e_machine, buf, sizeof(buf)),
		type_token(o), o->has_symtab ? " .symtab" : "",
		o->has_dynsym ? " .dynsym" : "",
		o->has_symtab || o->has_dynsym ? "" : " nowhere (no symbol table)");
	for (size_t i = 0; i < o->markers.n; i++)
		fprintf(f, "    marker (%s): %s\n", o->markers.kind[i], o->markers.v[i]);
	if (o->markers.total > o->markers.n)
		fprintf(f, "    ... %zu markers in all\n", o->markers.total);
	if (o->is_glibc)
		fprintf(f, "    glibc: %s\n", o->defines_rseq_offset ?
			"defines __rseq_offset" : o->defines_libc_start ?
			"defines __libc_start_main" : o->glibc_internal ?
			"one of glibc's own objects (its internal rseq symbols)" :
			"holds the glibc.pthread.rseq tunable (no symbols)");
	for (size_t i = 0; i < o->glibc_refs.n; i++)
		fprintf(f, "    uses glibc's registration: %s\n", o->glibc_refs.v[i]);
	if (o->sc_note)
		fprintf(f, "    %s\n", o->sc_note);
	for (size_t i = 0; i < o->nsites; i++) {
		const struct site *s = &o->sites[i];

		fprintf(f, "    rseq %s at 0x%" PRIx64 " in %s: %s\n",
			s->call ? "syscall() call" : "system call",
			s->addr, s->fn ? s->fn : "?",
			s->owner == OWN_LIBC ? "glibc's" :
			s->owner == OWN_VRSEQ ? "libvrseq's" : "its own");
	}
	if (o->sites_total > o->nsites)
		fprintf(f, "    ... %zu sites in all\n", o->sites_total);
	if (c->cs_sections || c->ptr_array || c->failure) {
		fprintf(f, "    critical sections: %u descriptors (%u validated, "
			"%u invalid, %u not validated), %u pointers%s, "
			"__rseq_failure %" PRIu64 " bytes\n", c->descriptors,
			c->descriptors - c->unvalidated - c->bad, c->bad,
			c->unvalidated, c->pointers,
			c->ptr_array ? "" : " (no __rseq_cs_ptr_array)",
			c->failure_bytes);
		if (c->unvalidated || c->array_unvalidated)
			fprintf(f, "    not validated: %s\n", c->why_unvalidated);
		for (size_t i = 0; i < o->cs_problems.n; i++)
			fprintf(f, "    problem: %s\n", o->cs_problems.v[i]);
		if (c->problems > o->cs_problems.n)
			fprintf(f, "    ... %u problems in all\n", c->problems);
	}
	if (o->needs_vrseq)
		fprintf(f, "    needs libvrseq.so.1\n");
	if (o->static_vrseq)
		fprintf(f, "    contains libvrseq (%s)\n", o->vrseq_by_string ?
			"no symbols; holds libvrseq's VRSEQ_OWN_REGISTRATION" :
			"defines vrseq_init or vrseq__proc");
	if (o->refs_vrseq && !o->needs_vrseq && !o->static_vrseq)
		fprintf(f, "    references vrseq_* functions\n");
	if (o->vrseq_versions.n) {
		fprintf(f, "    libvrseq version nodes needed:");
		for (size_t i = 0; i < o->vrseq_versions.n; i++)
			fprintf(f, " %s", o->vrseq_versions.v[i]);
		putc('\n', f);
	}
}

static void report(struct run *run, struct object *o)
{
	int code;

	o->verdict = verdict_of(o);
	code = verdicts[o->verdict].exit;
	run->objects++;
	run->counts[o->verdict]++;
	if (code > run->status)
		run->status = code;
	if (run->opt.quiet && code == SCAN_OK)
		return;
	if (run->opt.json)
		print_json(run, o);
	else
		print_text(run, o);
}

/* ------------------------------------------------------------ files */

static bool elf_magic(const unsigned char *p, size_t n)
{
	return n >= 4 && memcmp(p, ELFMAG, SELFMAG) == 0;
}

static bool ar_magic(const unsigned char *p, size_t n)
{
	return n >= SARMAG && (memcmp(p, ARMAG, SARMAG) == 0 ||
			       memcmp(p, "!<thin>\n", SARMAG) == 0);
}

static void damaged(struct run *run, const char *path, const char *member,
		    const char *why)
{
	struct object o = { .path = path, .member = member };

	snprintf(o.err, sizeof(o.err), "%s", why);
	report(run, &o);
}

static void scan_elf(struct run *run, Elf *e, const char *path,
		     const char *member, int depth);

static void scan_archive(struct run *run, Elf *ar, const char *path, int depth)
{
	Elf_Cmd cmd = ELF_C_READ;
	Elf *m;
	unsigned long n = 0;

	int err;
	size_t size = 0;

	while ((m = elf_begin(run->fd, cmd, ar)) != NULL) {
		Elf_Arhdr *h = elf_getarhdr(m);
		const char *name = h && h->ar_name ? h->ar_name : "?";

		/* "/", "//", "/SYM64/": the symbol and long-name tables,
		 * not members (libelf resolves long names itself). */
		if (name[0] != '/')
			scan_elf(run, m, path, name, depth + 1);
		cmd = elf_next(m);
		elf_end(m);
		if (cmd == ELF_C_NULL || ++n > 1000000)
			break;
	}
	/* An archive of no members (glibc's libanl.a: its magic only) holds
	 * no object and is not damaged. */
	err = elf_errno();
	if (err && n == 0 && elf_rawfile(ar, &size) && size > SARMAG)
		damaged(run, path, NULL, elf_errmsg(err));
}

static void scan_elf(struct run *run, Elf *e, const char *path,
		     const char *member, int depth)
{
	struct object o = { .path = path, .member = member };
	size_t n = 0;
	const char *raw;

	switch (elf_kind(e)) {
	case ELF_K_AR:
		if (depth > 2) {
			damaged(run, path, member, "archives nested too deep");
			return;
		}
		scan_archive(run, e, path, depth);
		return;
	case ELF_K_ELF:
		analyse(&o, e, run->opt.require_array);
		report(run, &o);
		object_free(&o);
		return;
	default:
		/* Not ELF to libelf: damage if it says it is one. */
		raw = elf_rawfile(e, &n);
		if (raw && (elf_magic((const unsigned char *)raw, n) ||
			    ar_magic((const unsigned char *)raw, n)))
			damaged(run, path, member, "ELF or archive magic, but "
				"libelf cannot read the headers");
		else
			run->not_elf++;
	}
}

static void print_header(struct run *run)
{
	if (run->opt.json) {
		fprintf(run->out, "{\"schema\":1,\"vrseq_version\":\"%d.%d.%d\","
			"\"require_ptr_array\":%s,\"objects\":[",
			VRSEQ_VERSION_MAJOR, VRSEQ_VERSION_MINOR,
			VRSEQ_VERSION_MICRO, json_bool(run->opt.require_array));
		run->first_json = true;
	}
}

static void print_summary(struct run *run)
{
	FILE *f = run->out;

	if (run->opt.json) {
		fprintf(f, "\n],\"summary\":{\"files\":%lu,\"objects\":%lu,"
			"\"not_elf\":%lu,\"unreadable\":%lu,\"skipped\":%lu,"
			"\"verdicts\":{", run->files, run->objects, run->not_elf,
			run->unreadable, run->skipped);
		for (int v = 0; v < V_NR; v++)
			fprintf(f, "%s\"%s\":%lu", v ? "," : "", verdicts[v].token,
				run->counts[v]);
		fprintf(f, "}},\"exit_status\":%d}\n", run->status);
		return;
	}
	fprintf(f, "summary: %lu objects in %lu files (", run->objects, run->files);
	for (int v = 0, first = 1; v < V_NR; v++) {
		if (!run->counts[v])
			continue;
		fprintf(f, "%s%lu %s", first ? "" : ", ", run->counts[v],
			verdicts[v].token);
		first = 0;
	}
	fprintf(f, "), %lu not ELF, %lu unreadable, %lu skipped; exit %d\n",
		run->not_elf, run->unreadable, run->skipped, run->status);
}

static bool libelf_ready(void)
{
	static int ready;

	if (!ready)
		ready = elf_version(EV_CURRENT) == EV_NONE ? -1 : 1;
	return ready > 0;
}

/*
 * The fuzzer's and the corpus replay's entry: one image in memory (kept,
 * not copied: libelf may write into buf), reported to out as the command
 * would, with flags VRSEQ_SCAN_JSON, _QUIET, _REQUIRE_ARRAY (1, 2, 4).
 * Returns the exit status the command would give.
 */
int vrseq_scan_memory(const char *name, char *buf, size_t size, FILE *out,
		      unsigned int flags);

int vrseq_scan_memory(const char *name, char *buf, size_t size, FILE *out,
		      unsigned int flags)
{
	struct run run = {
		.out = out, .fd = -1,
		.opt = { .json = flags & 1, .quiet = flags & 2,
			 .require_array = flags & 4 },
	};
	Elf *e;

	if (!libelf_ready())
		return SCAN_DAMAGED;
	print_header(&run);
	e = elf_memory(buf, size);
	if (!e) {
		damaged(&run, name, NULL, elf_errmsg(-1));
	} else {
		scan_elf(&run, e, name, NULL, 0);
		elf_end(e);
	}
	print_summary(&run);
	return run.status;
}

#ifndef VRSEQ_SCAN_NO_MAIN
static void unreadable(struct run *run, const char *path, const char *why)
{
	run->unreadable++;
	if (run->status < SCAN_DAMAGED)
		run->status = SCAN_DAMAGED;
	fprintf(stderr, "vrseq-scan: %s: %s\n", path, why);
}

static void scan_file(struct run *run, const char *path)
{
	unsigned char magic[SARMAG];
	ssize_t got;
	int fd;
	Elf *e;

	run->files++;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		unreadable(run, path, strerror(errno));
		return;
	}
	got = pread(fd, magic, sizeof(magic), 0);
	if (got < 0) {
		unreadable(run, path, strerror(errno));
		close(fd);
		return;
	}
	if (!elf_magic(magic, (size_t)got) && !ar_magic(magic, (size_t)got)) {
		run->not_elf++;		/* quietly */
		close(fd);
		return;
	}
	/* ELF_C_READ, not _MMAP: a file truncated under us cannot SIGBUS. */
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e) {
		damaged(run, path, NULL, elf_errmsg(-1));
	} else {
		run->fd = fd;
		scan_elf(run, e, path, NULL, 0);
		elf_end(e);
	}
	close(fd);
}

static void scan_dir(struct run *run, const char *path, int depth)
{
	struct dirent **names;
	int n = scandir(path, &names, NULL, alphasort);

	if (n < 0) {
		unreadable(run, path, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *d = names[i]->d_name;
		char *sub;
		struct stat st;

		if (strcmp(d, ".") == 0 || strcmp(d, "..") == 0 ||
		    asprintf(&sub, "%s/%s", path, d) < 0) {
			free(names[i]);
			continue;
		}
		if (lstat(sub, &st) < 0) {
			unreadable(run, sub, strerror(errno));
		} else if (S_ISDIR(st.st_mode)) {
			if (depth < 64)
				scan_dir(run, sub, depth + 1);
			else
				run->skipped++;
		} else if (S_ISLNK(st.st_mode)) {
			/* Files through links, never directories: no loops. */
			if (stat(sub, &st) == 0 && S_ISREG(st.st_mode))
				scan_file(run, sub);
			else
				run->skipped++;
		} else if (S_ISREG(st.st_mode)) {
			scan_file(run, sub);
		} else {
			run->skipped++;	/* devices, FIFOs, sockets */
		}
		free(sub);
		free(names[i]);
	}
	free(names);
}

static void scan_arg(struct run *run, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		unreadable(run, path, strerror(errno));
	else if (S_ISDIR(st.st_mode))
		scan_dir(run, path, 0);
	else if (S_ISREG(st.st_mode))
		scan_file(run, path);
	else
		unreadable(run, path, "not a regular file or a directory");
}

static void usage(FILE *f)
{
	fprintf(f, "usage: vrseq-scan [-j|--json] [-q|--quiet] [-r|--recursive] "
		   "[-a|--require-ptr-array] FILE|DIR...\n"
		   "       vrseq-scan -V|--version | -h|--help\n"
		   "exit: 0 nothing legacy or wrong found, 1 legacy "
		   "self-registration found, 2 invalid descriptors, "
		   "3 unreadable or damaged files, 64 usage\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "recursive", no_argument, NULL, 'r' },
		{ "require-ptr-array", no_argument, NULL, 'a' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run run = { .out = stdout, .fd = -1 };
	int c;

	while ((c = getopt_long(argc, argv, "jqraVh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			run.opt.json = true;
			break;
		case 'q':
			run.opt.quiet = true;
			break;
		case 'r':
			break;	/* directories are always recursed */
		case 'a':
			run.opt.require_array = true;
			break;
		case 'V':
			tool_print_version("vrseq-scan");
			return SCAN_OK;
		case 'h':
			usage(stdout);
			return SCAN_OK;
		default:
			usage(stderr);
			return SCAN_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return SCAN_USAGE;
	}
	if (!libelf_ready()) {
		fprintf(stderr, "vrseq-scan: libelf: %s\n", elf_errmsg(-1));
		return SCAN_DAMAGED;
	}
	print_header(&run);
	for (int i = optind; i < argc; i++)
		scan_arg(&run, argv[i]);
	print_summary(&run);
	return run.status;
}
#endif
