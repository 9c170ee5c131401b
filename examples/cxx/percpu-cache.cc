// SPDX-License-Identifier: MIT
// The C++ twin of examples/percpu-cache.c, built and run by `make check`:
// the example is written in the subset of C11 and C++ that both compile
// (casts from void *, static_assert, __alignof__), so that a C++ allocator
// can copy it as well.
#include "../percpu-cache.c"
