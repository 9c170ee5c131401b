/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for vrseq-scan: the input is one file's bytes, handed
 * to libelf with elf_memory() and through the scanner's whole per-object
 * path (archives, symbols, system call scan, descriptor checks, text or
 * JSON output to /dev/null). Built by `make fuzz`; fuzz/replay.c runs the
 * seed corpora through the same function in `make check`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int vrseq_scan_memory(const char *name, char *buf, size_t size, FILE *out,
		      unsigned int flags);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null;
	/* libelf may write into the image (elf_memory's buffer is not
	 * const), and libFuzzer's input must stay unchanged: a copy. */
	char *buf = malloc(size ? size : 1);
	unsigned int flags;

	if (!null)
		null = fopen("/dev/null", "w");
	if (!buf || !null) {
		free(buf);
		return 0;
	}
	if (size)
		memcpy(buf, data, size);
	/* The options from the last byte: text or JSON, -q, -a. */
	flags = size ? data[size - 1] & 7u : 0;
	vrseq_scan_memory("fuzz-input", buf, size, null, flags);
	free(buf);
	return 0;
}
