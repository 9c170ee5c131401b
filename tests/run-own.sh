#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs tests/X for tests/X-vrseq.own with glibc's registration disabled, so
# that vrseq registers (and owns) the thread's rseq area. (The suffix keeps
# the variant's log apart from tests/X.log.)
prog=${1%-vrseq.own}
shift
GLIBC_TUNABLES=glibc.pthread.rseq=0 VRSEQ_EXPECT_OWNER=vrseq exec "$prog" "$@"
