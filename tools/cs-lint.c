/* SPDX-License-Identifier: MIT */
/*
 * The rseq critical-section descriptor checks (see cs-lint.h), shared by
 * vrseq-scan and tests/rseq-cs-lint.c. libelf reads the file; this file only
 * decodes the descriptors' own bytes, in the object's byte order.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gelf.h>

#include "cs-lint.h"

#ifndef EM_LOONGARCH
# define EM_LOONGARCH	258
#endif
#ifndef SHT_RELR
# define SHT_RELR	19
#endif

static void set_err(struct cs_image *im, const char *what)
{
	const char *why = elf_errmsg(-1);

	snprintf(im->err, sizeof(im->err), "%s: %s", what,
		 why ? why : "unknown libelf error");
}

/* Sections whose contents libelf translates (read with elf_getdata). */
static bool structured(GElf_Word type)
{
	switch (type) {
	case SHT_SYMTAB: case SHT_DYNSYM: case SHT_RELA: case SHT_REL:
	case SHT_DYNAMIC: case SHT_HASH: case SHT_GNU_HASH:
	case SHT_GNU_verdef: case SHT_GNU_verneed: case SHT_GNU_versym:
	case SHT_GROUP: case SHT_SYMTAB_SHNDX: case SHT_NOTE:
		return true;
	default:
		return false;
	}
}

int cs_image_open(struct cs_image *im, Elf *e)
{
	const char *ident;
	size_t shstrndx;
	uint64_t cursor = 0x10000;

	memset(im, 0, sizeof(*im));
	im->elf = e;
	if (elf_kind(e) != ELF_K_ELF) {
		snprintf(im->err, sizeof(im->err), "not an ELF object");
		return -1;
	}
	ident = elf_getident(e, NULL);
	if (!ident || !gelf_getehdr(e, &im->eh)) {
		set_err(im, "ELF header");
		return -1;
	}
	im->big = ident[EI_DATA] == ELFDATA2MSB;
	im->is64 = ident[EI_CLASS] == ELFCLASS64;
	if (elf_getshdrnum(e, &im->shnum) < 0) {
		set_err(im, "section count");
		return -1;
	}
	/* libelf gives no sections, silently, when their table does not
	 * fit in the file: that is damage, not an object without them. */
	if (im->shnum == 0) {
		if (im->eh.e_shoff || im->eh.e_shnum) {
			snprintf(im->err, sizeof(im->err), "the section header "
				 "table (%u at offset %" PRIu64 ") is not in "
				 "the file", (unsigned int)im->eh.e_shnum,
				 (uint64_t)im->eh.e_shoff);
			return -1;
		}
		return 0;
	}
	if (elf_getshdrstrndx(e, &shstrndx) < 0) {
		set_err(im, "section name table index");
		return -1;
	}
	if (shstrndx >= im->shnum) {
		snprintf(im->err, sizeof(im->err), "section name table index "
			 "%zu out of range (%zu sections)", shstrndx, im->shnum);
		return -1;
	}
	/* Headers first: a count larger than the file fails here, before
	 * the calloc below is sized by it. */
	if (!elf_getscn(e, im->shnum - 1)) {
		set_err(im, "section headers");
		return -1;
	}
	im->sec = calloc(im->shnum, sizeof(*im->sec));
	if (!im->sec) {
		snprintf(im->err, sizeof(im->err), "out of memory (%zu sections)",
			 im->shnum);
		return -1;
	}
	for (size_t i = 0; i < im->shnum; i++) {
		struct cs_section *s = &im->sec[i];
		Elf_Scn *scn = elf_getscn(e, i);
		Elf_Data *d;
		const char *name;

		s->name = "";
		if (!scn || !gelf_getshdr(scn, &s->sh)) {
			set_err(im, "section header");
			return -1;
		}
		if (i == 0)
			continue;
		name = elf_strptr(e, shstrndx, s->sh.sh_name);
		if (name)
			s->name = name;
		if (im->eh.e_type == ET_REL) {
			/* A layout of our own: distinct addresses, a gap so
			 * that no range runs from one section into the next. */
			if (s->sh.sh_flags & SHF_ALLOC) {
				cursor = (cursor + 0xfff) & ~(uint64_t)0xfff;
				s->addr = cursor;
				if (s->sh.sh_size > UINT64_MAX / 2 - cursor) {
					snprintf(im->err, sizeof(im->err),
						 "section %zu: size %" PRIu64
						 " out of range", i,
						 (uint64_t)s->sh.sh_size);
					return -1;
				}
				cursor += s->sh.sh_size + 0x1000;
			}
		} else {
			s->addr = s->sh.sh_addr;
		}
		if (s->sh.sh_type == SHT_NOBITS || s->sh.sh_size == 0)
			continue;
		/* Every section with contents must be readable: one that
		 * lies past the end of the file is damage, whatever it is. */
		d = structured(s->sh.sh_type) ? elf_getdata(scn, NULL) :
						elf_rawdata(scn, NULL);
		if (!d) {
			char what[64];

			snprintf(what, sizeof(what), "section %zu (%s)", i,
				 s->name);
			set_err(im, what);
			return -1;
		}
		if (!structured(s->sh.sh_type) && d->d_buf) {
			s->data = d->d_buf;
			s->size = d->d_size;
		}
	}
	return 0;
}

void cs_image_close(struct cs_image *im)
{
	free(im->sec);
	im->sec = NULL;
}

uint16_t cs_rd16(const struct cs_image *im, const unsigned char *p)
{
	return im->big ? (uint16_t)(p[0] << 8 | p[1]) :
			 (uint16_t)(p[1] << 8 | p[0]);
}

uint32_t cs_rd32(const struct cs_image *im, const unsigned char *p)
{
	if (im->big)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

uint64_t cs_rd64(const struct cs_image *im, const unsigned char *p)
{
	uint64_t a = cs_rd32(im, p), b = cs_rd32(im, p + 4);

	return im->big ? a << 32 | b : b << 32 | a;
}

static void wr(const struct cs_image *im, unsigned char *p, uint64_t v,
	       unsigned int width)
{
	for (unsigned int i = 0; i < width; i++) {
		unsigned int shift = 8 * (im->big ? width - 1 - i : i);

		p[i] = (unsigned char)(v >> shift);
	}
}

int cs_exec_section(const struct cs_image *im, uint64_t addr, uint64_t len)
{
	for (size_t i = 1; i < im->shnum; i++) {
		const struct cs_section *s = &im->sec[i];
		uint64_t start = s->addr, size = s->sh.sh_size;

		if ((s->sh.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) !=
		    (SHF_ALLOC | SHF_EXECINSTR) ||
		    s->sh.sh_type != SHT_PROGBITS)
			continue;
		if (addr >= start && addr - start <= size &&
		    len <= size - (addr - start))
			return (int)i;
	}
	return -1;
}

const char *cs_machine_name(unsigned int machine, char *buf, size_t len)
{
	switch (machine) {
	case EM_X86_64:		return "x86_64";
	case EM_386:		return "i386";
	case EM_AARCH64:	return "aarch64";
	case EM_ARM:		return "arm";
	case EM_RISCV:		return "riscv";
	case EM_PPC:		return "powerpc";
	case EM_PPC64:		return "powerpc64";
	case EM_S390:		return "s390";
	case EM_LOONGARCH:	return "loongarch";
	case EM_MIPS:		return "mips";
	case EM_SPARCV9:	return "sparc64";
	default:
		snprintf(buf, len, "machine %u", machine);
		return buf;
	}
}

/*
 * The 4 bytes before abort_ip as the kernel compares them (a u32 in the
 * object's byte order) with the RSEQ_SIG each architecture's convention
 * uses; false when this machine (or byte order) has none we know.
 */
static bool signature(const struct cs_image *im, uint32_t *sig)
{
	switch (im->eh.e_machine) {
	case EM_X86_64: case EM_386:
		*sig = 0x53053053u;
		return !im->big;
	case EM_AARCH64:
		/* A brk instruction, whose bytes are little-endian in both
		 * byte orders: RSEQ_SIG_DATA differs on aarch64_be. */
		*sig = im->big ? 0x00bc28d4u : 0xd428bc00u;
		return true;
	case EM_RISCV:
		*sig = 0xf1401073u;
		return !im->big;
	case EM_PPC: case EM_PPC64:
		*sig = 0x0fe5000bu;
		return true;
	case EM_S390:
		*sig = 0xb2ff0fffu;
		return im->big;
	case EM_LOONGARCH:
		*sig = 0x002a0010u;
		return !im->big;
	case EM_ARM:
		*sig = 0xe7f5def3u;
		return !im->big;
	default:
		return false;
	}
}

/* Relocation types: absolute of 8 or 4 bytes, relative (load base + A),
 * or (riscv, a label difference such as post_commit_offset) adding or
 * subtracting S + A to or from what is in place. */
enum rkind { R_OTHER, R_ABS64, R_ABS32, R_REL64, R_REL32, R_ADD64, R_SUB64,
	     R_ADD32, R_SUB32 };

static enum rkind reloc_kind(const struct cs_image *im, unsigned int type)
{
	enum rkind word = im->is64 ? R_REL64 : R_REL32;

	switch (im->eh.e_machine) {
	case EM_X86_64:
		return type == R_X86_64_64 ? R_ABS64 :
		       type == R_X86_64_RELATIVE ? word : R_OTHER;
	case EM_386:
		return type == R_386_32 ? R_ABS32 :
		       type == R_386_RELATIVE ? R_REL32 : R_OTHER;
	case EM_AARCH64:
		return type == R_AARCH64_ABS64 ? R_ABS64 :
		       type == R_AARCH64_RELATIVE ? R_REL64 : R_OTHER;
	case EM_RISCV:
		return type == R_RISCV_64 ? R_ABS64 :
		       type == R_RISCV_32 ? R_ABS32 :
		       type == R_RISCV_ADD64 ? R_ADD64 :
		       type == R_RISCV_SUB64 ? R_SUB64 :
		       type == R_RISCV_ADD32 ? R_ADD32 :
		       type == R_RISCV_SUB32 ? R_SUB32 :
		       type == R_RISCV_RELATIVE ? word : R_OTHER;
	case EM_PPC64:
		return type == R_PPC64_ADDR64 ? R_ABS64 :
		       type == R_PPC64_RELATIVE ? R_REL64 : R_OTHER;
	case EM_PPC:
		return type == R_PPC_ADDR32 ? R_ABS32 :
		       type == R_PPC_RELATIVE ? R_REL32 : R_OTHER;
	case EM_ARM:
		return type == R_ARM_ABS32 ? R_ABS32 :
		       type == R_ARM_RELATIVE ? R_REL32 : R_OTHER;
	default:
		return R_OTHER;
	}
}

/* A copy of a section's bytes with relocations applied; state[i] says
 * what became of byte i: 0 untouched, 1 relocated, 2 not computable. */
struct fixed {
	size_t index;
	unsigned char *bytes, *state;
	size_t size;
	char why[120];		/* the first reason for a 2 */
};

static void mark(struct fixed *f, uint64_t off, unsigned int width,
		 unsigned char st, const char *why)
{
	for (unsigned int i = 0; i < width && off + i < f->size; i++)
		if (f->state[off + i] != 2)
			f->state[off + i] = st;
	if (st == 2 && !f->why[0])
		snprintf(f->why, sizeof(f->why), "needs relocation (%s)", why);
}

/* S for an ET_REL relocation, or false (with the reason). */
static bool symbol_value(const struct cs_image *im, size_t symtab,
			 uint64_t symi, uint64_t *val, const char **why)
{
	Elf_Data *d;
	GElf_Sym sym;
	Elf_Scn *scn;

	if (symtab == 0 || symtab >= im->shnum ||
	    im->sec[symtab].sh.sh_type != SHT_SYMTAB ||
	    !(scn = elf_getscn(im->elf, symtab)) ||
	    !(d = elf_getdata(scn, NULL)) || symi > INT32_MAX ||
	    !gelf_getsym(d, (int)symi, &sym)) {
		*why = "a relocation names no readable symbol";
		return false;
	}
	if (sym.st_shndx == SHN_ABS) {
		*val = sym.st_value;
		return true;
	}
	if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE ||
	    sym.st_shndx >= im->shnum ||
	    !(im->sec[sym.st_shndx].sh.sh_flags & SHF_ALLOC)) {
		*why = "a relocation against an undefined or special symbol";
		return false;
	}
	*val = im->sec[sym.st_shndx].addr + sym.st_value;
	return true;
}

static void apply_relocs(const struct cs_image *im, struct fixed *f)
{
	const struct cs_section *t = &im->sec[f->index];
	bool rel_obj = im->eh.e_type == ET_REL;

	if (im->eh.e_type != ET_REL && im->eh.e_type != ET_DYN)
		return;
	for (size_t r = 1; r < im->shnum; r++) {
		const struct cs_section *rs = &im->sec[r];
		bool rela = rs->sh.sh_type == SHT_RELA;
		Elf_Scn *scn;
		Elf_Data *d;

		if (rs->sh.sh_type != SHT_RELA && rs->sh.sh_type != SHT_REL)
			continue;
		if (rel_obj ? rs->sh.sh_info != f->index :
			      !(rs->sh.sh_flags & SHF_ALLOC))
			continue;
		if (!(scn = elf_getscn(im->elf, r)) ||
		    !(d = elf_getdata(scn, NULL)))
			continue;	/* cs_image_open read it once */
		for (int i = 0;; i++) {
			GElf_Rela ra;
			GElf_Rel rl;
			uint64_t off, s = 0, a, v;
			unsigned int width;
			bool add, sub;
			const char *why = NULL;
			enum rkind k;

			if (rela) {
				if (!gelf_getrela(d, i, &ra))
					break;
			} else {
				if (!gelf_getrel(d, i, &rl))
					break;
				ra.r_offset = rl.r_offset;
				ra.r_info = rl.r_info;
				ra.r_addend = 0;
			}
			off = rel_obj ? ra.r_offset : ra.r_offset - t->addr;
			if (!rel_obj && ra.r_offset < t->addr)
				continue;
			if (off >= f->size)
				continue;
			k = reloc_kind(im, (unsigned int)GELF_R_TYPE(ra.r_info));
			width = k == R_ABS64 || k == R_REL64 || k == R_ADD64 ||
				k == R_SUB64 ? 8 : 4;
			add = k == R_ADD64 || k == R_ADD32;
			sub = k == R_SUB64 || k == R_SUB32;
			if (k == R_OTHER || width > f->size ||
			    off > f->size - width) {
				mark(f, off, k == R_OTHER ? 8 : width, 2,
				     rel_obj ? "a relocation of a type this "
					       "tool does not apply" :
					       "resolved against a symbol at "
					       "load time");
				continue;
			}
			if ((k == R_REL64 || k == R_REL32) == rel_obj ||
			    ((add || sub) && !rel_obj)) {
				mark(f, off, width, 2, "an unexpected "
				     "relocation type for this object type");
				continue;
			}
			if (k != R_REL64 && k != R_REL32) {
				if (!symbol_value(im, rs->sh.sh_link,
						  GELF_R_SYM(ra.r_info), &s,
						  &why)) {
					mark(f, off, width, 2, why);
					continue;
				}
			}
			/* REL: the addend is in place. The load base of a
			 * shared object is taken as 0, as sh_addr are. */
			v = width == 8 ? cs_rd64(im, f->bytes + off) :
					 cs_rd32(im, f->bytes + off);
			a = rela ? (uint64_t)ra.r_addend : add || sub ? 0 : v;
			if (add)
				v += s + a;
			else if (sub)
				v -= s + a;
			else
				v = s + a;
			wr(im, f->bytes + off, v, width);
			mark(f, off, width, 1, NULL);
		}
	}
}

/* 0 the field is usable, or -1 with the reason. An address must have been
 * relocated in a relocatable object; any field (need_reloc false: a
 * length such as post_commit_offset) must have no relocation left
 * unapplied. */
static int field_ok(const struct cs_image *im, const struct fixed *f,
		    uint64_t off, bool need_reloc, const char **why)
{
	bool relocated = false;

	for (unsigned int i = 0; i < 8; i++) {
		if (f->state[off + i] == 2) {
			*why = f->why;
			return -1;
		}
		relocated |= f->state[off + i] == 1;
	}
	if (need_reloc && im->eh.e_type == ET_REL && !relocated) {
		*why = "needs relocation (an address without a relocation "
		       "in a relocatable object)";
		return -1;
	}
	return 0;
}

struct ctx {
	const struct cs_image *im;
	struct cs_result *r;
	cs_report_fn *report;
	void *arg;
	bool this_bad;
};

static void problem(struct ctx *c, int n, uint64_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void problem(struct ctx *c, int n, uint64_t at, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->r->problems++;
	c->this_bad = true;
	if (c->report)
		c->report(c->arg, n, at, msg);
}

static void unvalidated(struct cs_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void unvalidated(struct cs_result *r, const char *fmt, ...)
{
	va_list ap;

	if (r->why_unvalidated[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->why_unvalidated, sizeof(r->why_unvalidated), fmt, ap);
	va_end(ap);
}

/* The checks tests/rseq-cs-lint.c always made, in the same order. */
static void check_descriptor(struct ctx *c, int n, uint64_t at,
			     const unsigned char *d, uint32_t want)
{
	const struct cs_image *im = c->im;
	uint32_t version = cs_rd32(im, d + 0), flags = cs_rd32(im, d + 4);
	uint64_t start = cs_rd64(im, d + 8), off = cs_rd64(im, d + 16);
	uint64_t abort_ip = cs_rd64(im, d + 24);
	const struct cs_section *s;
	uint32_t got;
	int si;

	if (version != 0)
		problem(c, n, at, "version %" PRIu32 ", not 0", version);
	if (flags != 0)
		problem(c, n, at, "flags 0x%" PRIx32 ", not 0", flags);
	if (off == 0)
		problem(c, n, at, "post_commit_offset is 0");
	if (cs_exec_section(im, start, 0) < 0)
		problem(c, n, at, "start_ip 0x%" PRIx64
			" is not in an executable section", start);
	else if (start + off < start || cs_exec_section(im, start, off) < 0)
		problem(c, n, at, "start_ip 0x%" PRIx64
			" + post_commit_offset 0x%" PRIx64
			" leaves its executable section", start, off);
	if (abort_ip >= start && abort_ip - start < off)
		problem(c, n, at, "abort_ip 0x%" PRIx64
			" is inside the section [0x%" PRIx64 ", 0x%" PRIx64 ")",
			abort_ip, start, start + off);
	if (im->eh.e_machine == EM_AARCH64 && ((start | abort_ip) & 3))
		problem(c, n, at, "start_ip 0x%" PRIx64 " or abort_ip 0x%"
			PRIx64 " not 4-byte aligned", start, abort_ip);
	if (abort_ip < 4 || (si = cs_exec_section(im, abort_ip - 4, 4)) < 0) {
		problem(c, n, at, "abort_ip 0x%" PRIx64 " (and the signature "
			"before it) not in an executable section", abort_ip);
		return;
	}
	s = &im->sec[si];
	if (!s->data || abort_ip - 4 - s->addr > s->size - 4 || s->size < 4) {
		problem(c, n, at, "abort_ip 0x%" PRIx64 ": no bytes to read "
			"the signature from", abort_ip);
		return;
	}
	got = cs_rd32(im, s->data + (abort_ip - 4 - s->addr));
	if (got != want)
		problem(c, n, at, "signature before abort_ip 0x%" PRIx64
			" is 0x%08" PRIx32 ", not 0x%08" PRIx32, abort_ip, got,
			want);
}

static bool named(const struct cs_section *s, const char *name)
{
	return strcmp(s->name, name) == 0;
}

int cs_lint(const struct cs_image *im, bool require_array,
	    struct cs_result *r, cs_report_fn *report, void *arg)
{
	struct ctx c = { .im = im, .r = r, .report = report, .arg = arg };
	struct fixed *fx = NULL;
	size_t nfx = 0, total = 0;
	unsigned char *listed = NULL;
	uint32_t want = 0;
	bool have_sig = signature(im, &want);
	bool is_rel = im->eh.e_type == ET_REL;
	int n = 0, ret = -1;

	memset(r, 0, sizeof(*r));
	for (size_t i = 1; i < im->shnum; i++) {
		const struct cs_section *s = &im->sec[i];

		if (named(s, "__rseq_failure")) {
			r->failure = true;
			r->failure_bytes += s->sh.sh_size;
		}
		if (!named(s, "__rseq_cs") && !named(s, "__rseq_cs_ptr_array"))
			continue;
		if (named(s, "__rseq_cs"))
			r->cs_sections++;
		else
			r->ptr_array = true;
		total++;
	}
	fx = calloc(total ? total : 1, sizeof(*fx));
	if (!fx)
		return -1;
	/* Copies of both kinds of section, relocated. */
	for (size_t i = 1; i < im->shnum; i++) {
		const struct cs_section *s = &im->sec[i];
		struct fixed *f;

		if (!named(s, "__rseq_cs") && !named(s, "__rseq_cs_ptr_array"))
			continue;
		f = &fx[nfx++];
		f->index = i;
		f->size = s->data ? s->size : 0;
		f->bytes = malloc(f->size ? f->size : 1);
		f->state = calloc(f->size ? f->size : 1, 1);
		if (!f->bytes || !f->state)
			goto out;
		if (f->size)
			memcpy(f->bytes, s->data, f->size);
		apply_relocs(im, f);
	}

	/* The descriptors. */
	for (size_t k = 0; k < nfx; k++) {
		const struct cs_section *s = &im->sec[fx[k].index];
		uint64_t size = s->sh.sh_size;

		if (!named(s, "__rseq_cs"))
			continue;
		if (s->sh.sh_type != SHT_PROGBITS || size == 0 ||
		    size % CS_DESC_SIZE || fx[k].size != size ||
		    (!is_rel && s->addr % CS_DESC_SIZE)) {
			problem(&c, -1, s->addr, "__rseq_cs: size %" PRIu64
				" at 0x%" PRIx64 " is not a 32-byte aligned "
				"array of descriptors", size, s->addr);
			fx[k].size = 0;	/* no descriptors read from it */
			continue;
		}
		for (uint64_t o = 0; o < size; o += CS_DESC_SIZE, n++) {
			const char *why = NULL;

			r->descriptors++;
			if (field_ok(im, &fx[k], o + 8, true, &why) < 0 ||
			    field_ok(im, &fx[k], o + 16, false, &why) < 0 ||
			    field_ok(im, &fx[k], o + 24, true, &why) < 0) {
				r->unvalidated++;
				unvalidated(r, "%s", why);
				continue;
			}
			if (!have_sig) {
				r->unvalidated++;
				unvalidated(r, "no RSEQ_SIG known for this "
					    "machine and byte order");
				continue;
			}
			c.this_bad = false;
			check_descriptor(&c, n, s->addr + o, fx[k].bytes + o,
					 want);
			if (c.this_bad)
				r->bad++;
		}
	}

	/* The pointer array: each entry a descriptor; with -a, each
	 * descriptor exactly once. */
	listed = calloc(r->descriptors ? r->descriptors : 1, 1);
	if (!listed)
		goto out;
	for (size_t k = 0; k < nfx; k++) {
		const struct cs_section *s = &im->sec[fx[k].index];
		uint64_t size = s->sh.sh_size;

		if (!named(s, "__rseq_cs_ptr_array"))
			continue;
		if (size % 8)
			problem(&c, -1, s->addr, "__rseq_cs_ptr_array: size %"
				PRIu64 " is not a multiple of 8", size);
		for (uint64_t o = 0; o + 8 <= fx[k].size; o += 8) {
			unsigned int i = r->pointers++;
			uint64_t ptr = cs_rd64(im, fx[k].bytes + o);
			const char *why = NULL;
			int base = 0;
			bool found = false;

			if (field_ok(im, &fx[k], o, true, &why) < 0) {
				r->array_unvalidated = true;
				unvalidated(r, "__rseq_cs_ptr_array: %s", why);
				continue;
			}
			for (size_t j = 0; j < nfx && !found; j++) {
				const struct cs_section *t = &im->sec[fx[j].index];

				if (!named(t, "__rseq_cs"))
					continue;
				if (ptr >= t->addr && ptr - t->addr < fx[j].size &&
				    (ptr - t->addr) % CS_DESC_SIZE == 0) {
					found = true;
					base += (int)((ptr - t->addr) / CS_DESC_SIZE);
				} else {
					base += (int)(fx[j].size / CS_DESC_SIZE);
				}
			}
			if (!found) {
				problem(&c, -1, ptr, "__rseq_cs_ptr_array[%u] = 0x%"
					PRIx64 " is not a descriptor", i, ptr);
			} else if (listed[base]++ && require_array) {
				problem(&c, -1, ptr, "__rseq_cs_ptr_array[%u] "
					"lists descriptor %d again", i, base);
			}
		}
	}
	if (require_array && !r->ptr_array && r->cs_sections)
		problem(&c, -1, 0, "no __rseq_cs_ptr_array section");
	if (require_array && r->ptr_array && !r->array_unvalidated) {
		n = 0;
		for (size_t k = 0; k < nfx; k++) {
			const struct cs_section *s = &im->sec[fx[k].index];

			if (!named(s, "__rseq_cs"))
				continue;
			for (uint64_t o = 0; o < fx[k].size; o += CS_DESC_SIZE, n++)
				if (!listed[n])
					problem(&c, n, s->addr + o,
						"not in __rseq_cs_ptr_array");
		}
	}
	ret = 0;
out:
	for (size_t k = 0; k < nfx; k++) {
		free(fx[k].bytes);
		free(fx[k].state);
	}
	free(fx);
	free(listed);
	return ret;
}
