#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs tests/X for tests/X.own with glibc's registration disabled, so that
# vrseq registers (and owns) the thread's rseq area.
prog=${1%.own}
shift
GLIBC_TUNABLES=glibc.pthread.rseq=0 VRSEQ_EXPECT_OWNER=vrseq exec "$prog" "$@"
