/* SPDX-License-Identifier: MIT */
/*
 * replay FILE...: each file through LLVMFuzzerTestOneInput() (fuzz-scan.c)
 * without libFuzzer, as `make check` does with the seed corpora, so that
 * every input the fuzzer ever crashed on stays fixed. Exit 0 when each was
 * read; a crash is the failure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
	int status = 0;

	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		uint8_t *buf = NULL;
		size_t n = 0, cap = 0;

		if (!f) {
			perror(argv[i]);
			status = 1;
			continue;
		}
		for (;;) {
			uint8_t *bigger;
			size_t got;

			if (n == cap) {
				cap = cap ? 2 * cap : 65536;
				bigger = realloc(buf, cap);
				if (!bigger)
					break;
				buf = bigger;
			}
			got = fread(buf + n, 1, cap - n, f);

			if (!got)
				break;
			n += got;
		}
		fclose(f);
		/* The bytes exactly as they are: a crasher must crash. */
		LLVMFuzzerTestOneInput(buf ? buf : (uint8_t *)"", buf ? n : 0);
		free(buf);
		printf("replayed %s (%zu bytes)\n", argv[i], n);
	}
	return status;
}
