/* SPDX-License-Identifier: MIT */
/*
 * rseq-cs-lint: check the rseq critical-section descriptors of a static,
 * non-PIE executable (x86_64 or aarch64) without running it, the way the
 * kernel will judge them when it has to abort one.
 *
 *	rseq-cs-lint [-a] FILE...
 *
 * The checks are tools/cs-lint.c's, the ones vrseq-scan(1) makes (built
 * with it: cc -I tools tests/rseq-cs-lint.c tools/cs-lint.c -lelf). For
 * every 32-byte descriptor (struct rseq_cs) in the __rseq_cs section:
 *   version == 0 and flags == 0;
 *   post_commit_offset > 0;
 *   start_ip and start_ip + post_commit_offset inside one executable section;
 *   abort_ip in an executable section, outside [start_ip, start_ip + offset);
 *   the 4 bytes before abort_ip are the architecture's RSEQ_SIG
 *   (x86_64 0x53053053, aarch64 0xd428bc00) as the kernel reads them;
 *   on aarch64, start_ip and abort_ip are instruction-aligned.
 * Entries of __rseq_cs_ptr_array, when there is one, must each point at a
 * descriptor; with -a the array must exist and list every descriptor
 * exactly once (what --gc-sections can break). This driver keeps to
 * static non-PIE executables, whose descriptors hold final addresses (the
 * tests link with -no-pie for it); vrseq-scan also reads relocatable and
 * shared objects.
 *
 * Prints one line per file (and one per problem); exit status 0 when every
 * file is clean, 1 when a descriptor is wrong, 2 when a file cannot be read
 * or is not such an executable.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gelf.h>

#include "cs-lint.h"

static void report(void *arg, int desc, uint64_t at, const char *msg)
{
	const char *path = arg;

	if (desc >= 0)
		printf("%s: descriptor %d at 0x%" PRIx64 ": %s\n", path, desc,
		       at, msg);
	else
		printf("%s: %s\n", path, msg);
}

static int bad_file(const char *path, const char *why)
{
	fprintf(stderr, "rseq-cs-lint: %s: %s\n", path, why);
	return 2;
}

static int lint_image(const char *path, struct cs_image *im, bool require_array)
{
	struct cs_result r;
	char buf[32];
	const char *arch = cs_machine_name(im->eh.e_machine, buf, sizeof(buf));
	unsigned int problems;

	if (im->eh.e_type != ET_EXEC)
		return bad_file(path, "not a non-PIE executable (ET_EXEC); "
				"link with -static -no-pie");
	if (im->eh.e_machine != EM_X86_64 && im->eh.e_machine != EM_AARCH64)
		return bad_file(path, "neither x86_64 nor aarch64");
	if (cs_lint(im, require_array, &r, report, (void *)path) < 0)
		return bad_file(path, "out of memory");
	if (!r.cs_sections) {
		printf("%s: %s: no __rseq_cs section\n", path, arch);
		return 1;
	}
	problems = r.problems;
	/* Never counted as right: a descriptor the checks could not read. */
	if (r.unvalidated) {
		printf("%s: %u descriptors not validated: %s\n", path,
		       r.unvalidated, r.why_unvalidated);
		problems += r.unvalidated;
	}
	printf("%s: %s: %u descriptors, %u pointers, %u problems\n", path, arch,
	       r.descriptors, r.pointers, problems);
	return problems ? 1 : 0;
}

static int lint(const char *path, bool require_array)
{
	struct cs_image im = { .sec = NULL };
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;
	Elf *e;

	if (fd < 0)
		return bad_file(path, strerror(errno));
	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		rc = bad_file(path, "not an ELF file");
	} else if (cs_image_open(&im, e) < 0) {
		rc = bad_file(path, im.err);
	} else {
		rc = lint_image(path, &im, require_array);
	}
	cs_image_close(&im);
	elf_end(e);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	bool require_array = false;
	int status = 0, first = 1;

	if (argc > 1 && strcmp(argv[1], "-a") == 0) {
		require_array = true;
		first = 2;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: rseq-cs-lint [-a] FILE...\n");
		return 2;
	}
	if (elf_version(EV_CURRENT) == EV_NONE) {
		fprintf(stderr, "rseq-cs-lint: libelf is too old\n");
		return 2;
	}
	for (int i = first; i < argc; i++) {
		int rc = lint(argv[i], require_array);

		if (rc > status)
			status = rc;
	}
	return status;
}
