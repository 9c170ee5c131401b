// SPDX-License-Identifier: MIT
// The C++ twin of tests/percpu-cache.c (see twin.h).
#include "twin.h"
#include "../percpu-cache.c"
