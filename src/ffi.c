/* SPDX-License-Identifier: MIT */
/*
 * libvrseq-ffi.so.1: every inline function of <vrseq.h> and <vrseq/compat.h>
 * (the slot fast paths and the legacy views) as a real exported function
 * under the same name and prototype, for languages that cannot inline C --
 * Rust, Go, Python ctypes, Zig. Each call costs a function call (and the
 * PLT) on top of the inline version; the semantics are the same.
 *
 * No wrapper is written by hand: the headers define their inline functions
 * with VRSEQ_INLINE, which is "static inline" unless it is defined first.
 * Here it is defined as default visibility (the library is built with
 * -fvisibility=hidden), so each header definition becomes the external
 * definition, and src/libvrseq-ffi.map gives it its version.
 *
 * This library holds no state of its own and links against libvrseq.so.1
 * for everything else (vrseq_init(), vrseq_thread_slot(), the fences, the
 * fallback ids): the tag arrays and each thread's registration must exist
 * once per process, or a fence through one copy would leave slots bound
 * through the other valid.
 */
#define VRSEQ_INLINE __attribute__((visibility("default")))

/* The header definitions are the prototypes: nothing declares them first. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#include <vrseq.h>
#include <vrseq/compat.h>
#pragma GCC diagnostic pop

#ifdef VRSEQ_BUILDING
# error "src/ffi.c is not part of libvrseq: build it without VRSEQ_BUILDING"
#endif
