/* SPDX-License-Identifier: MIT */
/*
 * The rseq critical-section descriptor checks, on top of libelf: one
 * implementation for vrseq-scan(1) and tests/rseq-cs-lint.c.
 *
 * struct cs_image is an ELF object as the checks see it: every section's
 * header, name and bytes, and the address it would have. Executables and
 * shared objects use sh_addr; a relocatable object gets a synthetic layout
 * (each allocated section at its own 32-byte aligned address, 4 KiB apart)
 * so that the same address arithmetic works on it once its relocations are
 * applied. Reading never trusts the file: a header or a section that libelf
 * cannot give back makes the object "damaged" (cs_image_open fails), a
 * string out of range reads as "".
 */
#ifndef VRSEQ_TOOLS_CS_LINT_H
#define VRSEQ_TOOLS_CS_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gelf.h>

#define CS_DESC_SIZE	32u

struct cs_section {
	GElf_Shdr sh;
	const char *name;		/* never NULL */
	const unsigned char *data;	/* NULL: no bytes (NOBITS, empty) */
	size_t size;			/* bytes at data */
	uint64_t addr;			/* sh_addr, or the synthetic address */
};

struct cs_image {
	Elf *elf;
	GElf_Ehdr eh;
	bool big;			/* ELFDATA2MSB */
	bool is64;
	size_t shnum;
	struct cs_section *sec;		/* shnum entries, [0] the null one */
	char err[200];			/* why cs_image_open failed */
};

/* 0, or -1 with im->err set (the object is damaged). */
int cs_image_open(struct cs_image *im, Elf *e);
void cs_image_close(struct cs_image *im);

uint16_t cs_rd16(const struct cs_image *im, const unsigned char *p);
uint32_t cs_rd32(const struct cs_image *im, const unsigned char *p);
uint64_t cs_rd64(const struct cs_image *im, const unsigned char *p);

/* The allocated executable PROGBITS section holding [addr, addr + len), or
 * -1. The bytes are then sec[i].data + (addr - sec[i].addr) when the section
 * has them. */
int cs_exec_section(const struct cs_image *im, uint64_t addr, uint64_t len);

/* "x86_64", "aarch64", ... or "machine N" (static storage, or buf). */
const char *cs_machine_name(unsigned int machine, char *buf, size_t len);

/*
 * A problem: with a descriptor (desc >= 0, its address `at`) or about the
 * sections as a whole (desc < 0).
 */
typedef void cs_report_fn(void *ctx, int desc, uint64_t at, const char *msg);

struct cs_result {
	unsigned int cs_sections;	/* sections named __rseq_cs */
	unsigned int descriptors;
	unsigned int pointers;		/* __rseq_cs_ptr_array entries */
	unsigned int problems;		/* reported through the callback */
	unsigned int bad;		/* descriptors with a problem */
	unsigned int unvalidated;	/* descriptors that could not be checked */
	bool ptr_array;			/* a __rseq_cs_ptr_array exists */
	bool array_unvalidated;		/* its entries could not be checked */
	bool failure;			/* a __rseq_failure section exists */
	uint64_t failure_bytes;
	char why_unvalidated[160];	/* the first reason, "" if none */
};

/*
 * Check every descriptor of every __rseq_cs section: version and flags 0;
 * post_commit_offset > 0; start_ip and start_ip + post_commit_offset in one
 * executable section; abort_ip in an executable section, outside the
 * section's range, 4-byte aligned on aarch64, preceded by the machine's
 * RSEQ_SIG as the kernel reads it. Entries of __rseq_cs_ptr_array must each
 * point at a descriptor; with require_array the array must exist and list
 * each descriptor exactly once. Relocations are applied first (ET_REL:
 * absolute relocations of the sections; ET_DYN: R_*_RELATIVE); a
 * descriptor whose addresses stay unknown is counted in `unvalidated`,
 * never as checked.
 * Returns 0, or -1 when out of memory.
 */
int cs_lint(const struct cs_image *im, bool require_array,
	    struct cs_result *r, cs_report_fn *report, void *ctx);

#endif /* VRSEQ_TOOLS_CS_LINT_H */
