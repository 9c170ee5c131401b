/* SPDX-License-Identifier: MIT */
/* The running library's version: the one it was built with. */
#include "internal.h"

#define STR_(x)	#x
#define STR(x)	STR_(x)

const char *vrseq_version(void)
{
	return STR(VRSEQ_VERSION_MAJOR) "." STR(VRSEQ_VERSION_MINOR) "."
		STR(VRSEQ_VERSION_MICRO);
}

/*
 * Parts that are equal (0.4.0 has two zeros) compile to equal bodies, which
 * GCC's identical code folding (-O2) merges, leaving one of the two
 * symbols without debug information: an ABI dump (abi/) that would change
 * with the version numbers. noipa implies no_icf.
 */
#if defined(__GNUC__) && !defined(__clang__)
# define SEPARATE __attribute__((noipa))
#else
# define SEPARATE
#endif

SEPARATE int vrseq_version_major(void)
{
	return VRSEQ_VERSION_MAJOR;
}

SEPARATE int vrseq_version_minor(void)
{
	return VRSEQ_VERSION_MINOR;
}

SEPARATE int vrseq_version_micro(void)
{
	return VRSEQ_VERSION_MICRO;
}

bool vrseq_check_version(int major, int minor, int micro)
{
	if (major != VRSEQ_VERSION_MAJOR)
		return major < VRSEQ_VERSION_MAJOR;
	if (minor != VRSEQ_VERSION_MINOR)
		return minor < VRSEQ_VERSION_MINOR;
	return micro <= VRSEQ_VERSION_MICRO;
}
