// SPDX-License-Identifier: MIT
// The C++ twin of tests/test-compat.c (see twin.h).
#include "twin.h"
#include "../test-compat.c"
