/* SPDX-License-Identifier: MIT */
#include <stdio.h>

#include <vrseq.h>

#include "output.h"

void json_string(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	putc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':	fputs("\\\"", f); break;
		case '\\':	fputs("\\\\", f); break;
		case '\n':	fputs("\\n", f); break;
		case '\t':	fputs("\\t", f); break;
		default:
			/* Control bytes escaped; other bytes pass (paths may
			 * hold any byte but NUL: the schema says so). */
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				putc(*p, f);
		}
	}
	putc('"', f);
}

const char *json_bool(bool b)
{
	return b ? "true" : "false";
}

void tool_print_version(const char *name)
{
	printf("%s (vrseq) %d.%d.%d, libvrseq %s\n", name, VRSEQ_VERSION_MAJOR,
	       VRSEQ_VERSION_MINOR, VRSEQ_VERSION_MICRO, vrseq_version());
}
