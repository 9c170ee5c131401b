// SPDX-License-Identifier: MIT
// The C++ twin of tests/test-slot.c (see twin.h).
#include "twin.h"
#include "../test-slot.c"
