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

int vrseq_version_major(void)
{
	return VRSEQ_VERSION_MAJOR;
}

int vrseq_version_minor(void)
{
	return VRSEQ_VERSION_MINOR;
}

int vrseq_version_micro(void)
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
