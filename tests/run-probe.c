/* SPDX-License-Identifier: MIT */
/*
 * tests/test-run.sh's witness: what a program started by vrseq-run got.
 * Prints three lines:
 *   GLIBC_TUNABLES=VALUE        or GLIBC_TUNABLES unset
 *   Seccomp: N                  from /proc/self/status
 *   rseq: 0 | ERRNO-NAME        rseq(flags 0) of a 32-byte TLS area of its
 *                               own, in a new thread (then unregistered)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define RP_SIG	0x53053053
#elif defined(__aarch64__)
#define RP_SIG	0xd428bc00
#else
#define RP_SIG	0
#endif

struct rp_area {
	uint32_t cpu_id_start, cpu_id;
	uint64_t rseq_cs;
	uint32_t flags, node_id, mm_cid, pad;
} __attribute__((aligned(32)));

static __thread struct rp_area area = { .cpu_id = (uint32_t)-1 };

static void *try_register(void *arg)
{
	int *err = arg;

	if (syscall(__NR_rseq, &area, (unsigned int)sizeof(area), 0, RP_SIG) < 0) {
		*err = errno;
		return NULL;
	}
	*err = 0;
	syscall(__NR_rseq, &area, (unsigned int)sizeof(area), 1, RP_SIG);
	return NULL;
}

int main(void)
{
	const char *tun = getenv("GLIBC_TUNABLES");
	char line[256];
	pthread_t tid;
	FILE *f;
	int err = -1;

	if (tun)
		printf("GLIBC_TUNABLES=%s\n", tun);
	else
		printf("GLIBC_TUNABLES unset\n");
	f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Seccomp:", 8))
			fputs(line, stdout);
	if (f)
		fclose(f);
	if (pthread_create(&tid, NULL, try_register, &err))
		return 1;
	pthread_join(tid, NULL);
	if (err)
		printf("rseq: %s\n", strerrorname_np(err) ? strerrorname_np(err) : "?");
	else
		printf("rseq: 0\n");
	return 0;
}
