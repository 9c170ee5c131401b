// SPDX-License-Identifier: MIT
// The C++ twin of tests/harness.c (see twin.h).
#include "twin.h"
#include "../harness.c"
