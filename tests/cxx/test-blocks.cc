// SPDX-License-Identifier: MIT
// The C++ twin of tests/test-blocks.c (see twin.h).
#include "twin.h"
#include "../test-blocks.c"
