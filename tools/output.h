/* SPDX-License-Identifier: MIT */
/*
 * Output helpers shared by the tools (vrseq-check, vrseq-scan, vrseq-run):
 * JSON strings and the -V line. The tools are programs, not the library:
 * they may allocate and use stdio freely; libvrseq never links this.
 */
#ifndef VRSEQ_TOOLS_OUTPUT_H
#define VRSEQ_TOOLS_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

/* Exit status every tool gives a usage error (sysexits' EX_USAGE). */
#define TOOL_EXIT_USAGE	64

/* `s` as a JSON string literal, quotes included (NULL prints null). */
void json_string(FILE *f, const char *s);
/* "true" or "false". */
const char *json_bool(bool b);
/* Print "name (vrseq) X.Y.Z, libvrseq A.B.C" for -V/--version. */
void tool_print_version(const char *name);

#endif /* VRSEQ_TOOLS_OUTPUT_H */
