// SPDX-License-Identifier: MIT
// The C++ twin of tests/test-stress.c (see twin.h).
#include "twin.h"
#include "../test-stress.c"
