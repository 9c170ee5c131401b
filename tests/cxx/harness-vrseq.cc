// SPDX-License-Identifier: MIT
// The C++ twin of tests/harness-vrseq.c (see twin.h).
#include "twin.h"
#include "../harness-vrseq.c"
