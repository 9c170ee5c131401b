/* SPDX-License-Identifier: MIT */
/*
 * rseq-cs-lint: check the rseq critical-section descriptors of a static,
 * non-PIE ELF64 little-endian executable (x86_64 or aarch64) without running
 * it, the way the kernel will judge them when it has to abort one.
 *
 *	rseq-cs-lint [-a] FILE...
 *
 * For every 32-byte descriptor (struct rseq_cs) in the __rseq_cs section:
 *   version == 0 and flags == 0;
 *   post_commit_offset > 0;
 *   start_ip and start_ip + post_commit_offset inside one executable section;
 *   abort_ip in an executable section, outside [start_ip, start_ip + offset);
 *   the 4 bytes before abort_ip are the architecture's RSEQ_SIG
 *   (x86_64 0x53053053, aarch64 0xd428bc00) as the kernel reads them;
 *   on aarch64, start_ip and abort_ip are instruction-aligned.
 * Entries of __rseq_cs_ptr_array, when there is one, must each point at a
 * descriptor; with -a the array must exist and list every descriptor
 * exactly once (what --gc-sections can break). Descriptors of a static non-PIE executable hold absolute
 * addresses, which is why PIE and shared objects are refused: their
 * descriptors are only right after relocation.
 *
 * Prints one line per file (and one per problem); exit status 0 when every
 * file is clean, 1 when a descriptor is wrong, 2 when a file cannot be read
 * or is not such an executable.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DESC_SIZE	32u

struct image {
	const char *path;
	unsigned char *data;
	size_t size;
	uint16_t machine;
	uint64_t shoff;
	uint16_t shnum, shentsize, shstrndx;
	unsigned int problems;
};

/* Little-endian reads, whatever the host's byte order. */
static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) |
	       ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint64_t le64(const unsigned char *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

#define SH(img, i, field)						\
	sh_field((img), (i), offsetof(Elf64_Shdr, field),		\
		 sizeof(((Elf64_Shdr *)0)->field))

static uint64_t sh_field(const struct image *img, unsigned int i,
			 size_t off, size_t size)
{
	const unsigned char *p = img->data + img->shoff +
				 (uint64_t)i * img->shentsize + off;

	return size == 8 ? le64(p) : size == 4 ? le32(p) : le16(p);
}

static int read_file(struct image *img)
{
	FILE *f = fopen(img->path, "rb");
	size_t cap = 1 << 20, n;

	if (!f) {
		fprintf(stderr, "rseq-cs-lint: %s: %s\n", img->path,
			strerror(errno));
		return -1;
	}
	img->size = 0;
	img->data = malloc(cap);
	while (img->data) {
		unsigned char *bigger;

		n = fread(img->data + img->size, 1, cap - img->size, f);
		img->size += n;
		if (img->size < cap)
			break;
		cap *= 2;
		bigger = realloc(img->data, cap);
		if (!bigger)
			free(img->data);
		img->data = bigger;
	}
	if (!img->data || ferror(f)) {
		fprintf(stderr, "rseq-cs-lint: %s: cannot read\n", img->path);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

static int bad_file(const struct image *img, const char *why)
{
	fprintf(stderr, "rseq-cs-lint: %s: %s\n", img->path, why);
	return -1;
}

static int parse_header(struct image *img)
{
	const unsigned char *e = img->data;
	uint64_t end;

	if (img->size < sizeof(Elf64_Ehdr) || memcmp(e, ELFMAG, SELFMAG))
		return bad_file(img, "not an ELF file");
	if (e[EI_CLASS] != ELFCLASS64 || e[EI_DATA] != ELFDATA2LSB)
		return bad_file(img, "not ELF64 little-endian");
	if (le16(e + offsetof(Elf64_Ehdr, e_type)) != ET_EXEC)
		return bad_file(img, "not a non-PIE executable (ET_EXEC); "
				"link with -static -no-pie");
	img->machine = le16(e + offsetof(Elf64_Ehdr, e_machine));
	if (img->machine != EM_X86_64 && img->machine != EM_AARCH64)
		return bad_file(img, "neither x86_64 nor aarch64");
	img->shoff = le64(e + offsetof(Elf64_Ehdr, e_shoff));
	img->shnum = le16(e + offsetof(Elf64_Ehdr, e_shnum));
	img->shentsize = le16(e + offsetof(Elf64_Ehdr, e_shentsize));
	img->shstrndx = le16(e + offsetof(Elf64_Ehdr, e_shstrndx));
	if (img->shentsize < sizeof(Elf64_Shdr) || img->shnum == 0 ||
	    img->shstrndx >= img->shnum)
		return bad_file(img, "no usable section headers");
	end = img->shoff + (uint64_t)img->shnum * img->shentsize;
	if (img->shoff > img->size || end > img->size)
		return bad_file(img, "section headers past the end of the file");
	/* Every section with contents must lie inside the file. */
	for (unsigned int i = 0; i < img->shnum; i++) {
		uint64_t off = SH(img, i, sh_offset), size = SH(img, i, sh_size);

		if (SH(img, i, sh_type) == SHT_NOBITS)
			continue;
		if (off > img->size || size > img->size - off)
			return bad_file(img, "a section lies past the end of the file");
	}
	return 0;
}

static const char *section_name(const struct image *img, unsigned int i)
{
	uint64_t strtab = SH(img, img->shstrndx, sh_offset);
	uint64_t strsize = SH(img, img->shstrndx, sh_size);
	uint64_t name = SH(img, i, sh_name);

	if (name >= strsize || !memchr(img->data + strtab + name, 0,
				       strsize - name))
		return "";
	return (const char *)img->data + strtab + name;
}

static int find_section(const struct image *img, const char *name)
{
	for (unsigned int i = 1; i < img->shnum; i++)
		if (strcmp(section_name(img, i), name) == 0)
			return (int)i;
	return -1;
}

/* The allocated executable section holding [addr, addr + len), or -1. */
static int exec_section(const struct image *img, uint64_t addr, uint64_t len)
{
	for (unsigned int i = 1; i < img->shnum; i++) {
		uint64_t flags = SH(img, i, sh_flags);
		uint64_t start = SH(img, i, sh_addr), size = SH(img, i, sh_size);

		if ((flags & (SHF_ALLOC | SHF_EXECINSTR)) !=
		    (SHF_ALLOC | SHF_EXECINSTR) ||
		    SH(img, i, sh_type) != SHT_PROGBITS)
			continue;
		if (addr >= start && addr - start <= size &&
		    len <= size - (addr - start))
			return (int)i;
	}
	return -1;
}

static void problem(struct image *img, unsigned int n, uint64_t at,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void problem(struct image *img, unsigned int n, uint64_t at,
		    const char *fmt, ...)
{
	va_list ap;

	img->problems++;
	printf("%s: descriptor %u at 0x%" PRIx64 ": ", img->path, n, at);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static uint32_t signature(uint16_t machine)
{
	return machine == EM_X86_64 ? 0x53053053u : 0xd428bc00u;
}

static const char *arch_name(uint16_t machine)
{
	return machine == EM_X86_64 ? "x86_64" : "aarch64";
}

static void check_descriptor(struct image *img, unsigned int n, uint64_t at,
			     const unsigned char *d)
{
	uint32_t version = le32(d + 0), flags = le32(d + 4);
	uint64_t start = le64(d + 8), off = le64(d + 16), abort_ip = le64(d + 24);
	uint32_t want = signature(img->machine), got;
	int s;

	if (version != 0)
		problem(img, n, at, "version %" PRIu32 ", not 0", version);
	if (flags != 0)
		problem(img, n, at, "flags 0x%" PRIx32 ", not 0", flags);
	if (off == 0)
		problem(img, n, at, "post_commit_offset is 0");
	if (exec_section(img, start, 0) < 0)
		problem(img, n, at, "start_ip 0x%" PRIx64
			" is not in an executable section", start);
	else if (start + off < start || exec_section(img, start, off) < 0)
		problem(img, n, at, "start_ip 0x%" PRIx64
			" + post_commit_offset 0x%" PRIx64
			" leaves its executable section", start, off);
	if (abort_ip >= start && abort_ip - start < off)
		problem(img, n, at, "abort_ip 0x%" PRIx64
			" is inside the section [0x%" PRIx64 ", 0x%" PRIx64 ")",
			abort_ip, start, start + off);
	if (img->machine == EM_AARCH64 && ((start | abort_ip) & 3))
		problem(img, n, at, "start_ip 0x%" PRIx64 " or abort_ip 0x%"
			PRIx64 " not 4-byte aligned", start, abort_ip);
	if (abort_ip < 4 || (s = exec_section(img, abort_ip - 4, 4)) < 0) {
		problem(img, n, at, "abort_ip 0x%" PRIx64 " (and the signature "
			"before it) not in an executable section", abort_ip);
		return;
	}
	got = le32(img->data + SH(img, s, sh_offset) +
		   (abort_ip - 4 - SH(img, s, sh_addr)));
	if (got != want)
		problem(img, n, at, "signature before abort_ip 0x%" PRIx64
			" is 0x%08" PRIx32 ", not 0x%08" PRIx32, abort_ip, got,
			want);
}

static bool require_array;

static int lint(struct image *img)
{
	int cs, arr;
	uint64_t cs_addr, cs_size, cs_off;
	unsigned int count, pointers = 0;

	if (read_file(img) < 0 || parse_header(img) < 0)
		return 2;
	cs = find_section(img, "__rseq_cs");
	if (cs < 0) {
		printf("%s: %s: no __rseq_cs section\n", img->path,
		       arch_name(img->machine));
		return 1;
	}
	cs_addr = SH(img, cs, sh_addr);
	cs_size = SH(img, cs, sh_size);
	cs_off = SH(img, cs, sh_offset);
	if (SH(img, cs, sh_type) != SHT_PROGBITS || cs_size == 0 ||
	    cs_size % DESC_SIZE || cs_addr % DESC_SIZE) {
		printf("%s: __rseq_cs: size %" PRIu64 " at 0x%" PRIx64
		       " is not a 32-byte aligned array of descriptors\n",
		       img->path, cs_size, cs_addr);
		return 1;
	}
	count = (unsigned int)(cs_size / DESC_SIZE);
	for (unsigned int i = 0; i < count; i++)
		check_descriptor(img, i, cs_addr + (uint64_t)i * DESC_SIZE,
				 img->data + cs_off + (uint64_t)i * DESC_SIZE);

	arr = find_section(img, "__rseq_cs_ptr_array");
	if (arr < 0 && require_array) {
		printf("%s: no __rseq_cs_ptr_array section\n", img->path);
		img->problems++;
	}
	if (arr >= 0) {
		uint64_t size = SH(img, arr, sh_size);
		const unsigned char *p = img->data + SH(img, arr, sh_offset);
		unsigned char *listed = calloc(count, 1);

		if (!listed) {
			fprintf(stderr, "rseq-cs-lint: out of memory\n");
			return 2;
		}

		if (size % 8) {
			printf("%s: __rseq_cs_ptr_array: size %" PRIu64
			       " is not a multiple of 8\n", img->path, size);
			img->problems++;
		}
		pointers = (unsigned int)(size / 8);
		for (unsigned int i = 0; i < pointers; i++) {
			uint64_t ptr = le64(p + 8 * (uint64_t)i);

			if (ptr < cs_addr || ptr - cs_addr >= cs_size ||
			    (ptr - cs_addr) % DESC_SIZE) {
				printf("%s: __rseq_cs_ptr_array[%u] = 0x%" PRIx64
				       " is not a descriptor\n", img->path, i, ptr);
				img->problems++;
			} else if (listed[(ptr - cs_addr) / DESC_SIZE]++ &&
				   require_array) {
				printf("%s: __rseq_cs_ptr_array[%u] lists descriptor "
				       "%u again\n", img->path, i,
				       (unsigned int)((ptr - cs_addr) / DESC_SIZE));
				img->problems++;
			}
		}
		for (unsigned int i = 0; require_array && i < count; i++)
			if (!listed[i])
				problem(img, i, cs_addr + (uint64_t)i * DESC_SIZE,
					"not in __rseq_cs_ptr_array");
		free(listed);
	}
	printf("%s: %s: %u descriptors, %u pointers, %u problems\n", img->path,
	       arch_name(img->machine), count, pointers, img->problems);
	return img->problems ? 1 : 0;
}

int main(int argc, char **argv)
{
	int status = 0;

	int first = 1;

	if (argc > 1 && strcmp(argv[1], "-a") == 0) {
		require_array = true;
		first = 2;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: rseq-cs-lint [-a] FILE...\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		struct image img = { .path = argv[i] };
		int rc = lint(&img);

		free(img.data);
		if (rc > status)
			status = rc;
	}
	return status;
}
