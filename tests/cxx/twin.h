/* SPDX-License-Identifier: MIT */
/*
 * The C++ twins: tests/cxx/X.cc is tests/X.c compiled as C++ (g++ or
 * clang++, whichever CXX is), so that everything the tests exercise in
 * <vrseq.h> and the building blocks is also built and run as C++. The C
 * sources stay C; this bridges what C++ spells differently. The per-CPU
 * cache fixture's C11 atomics need C++23's <stdatomic.h>.
 */
#ifndef VRSEQ_TEST_CXX_TWIN_H
#define VRSEQ_TEST_CXX_TWIN_H

#ifndef __cplusplus
# error "tests/cxx/*.cc are C++"
#endif

/* g++ and clang++ predefine it; the sources define it again. */
#undef _GNU_SOURCE
#define _Static_assert	static_assert
#define _Alignof	alignof

#endif
