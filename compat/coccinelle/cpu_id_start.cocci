// SPDX-License-Identifier: MIT
// Rewrites reads and writes of the kernel-owned rseq field cpu_id_start --
// through a __rseq_abi TLS area, through __rseq_offset plus the thread
// pointer, or through a struct rseq pointer -- into vrseq's virtual
// cpu_id_start (<vrseq/compat.h>). Every other field access is left alone.
//
//   spatch --sp-file compat/coccinelle/cpu_id_start.cocci --in-place file.c
//
// The rewrite assumes the area is the calling thread's own, as it is in
// every legacy allocator; code that reads another thread's area needs a
// person. See doc/porting.md for what to delete afterwards (the private
// registration, the glibc.pthread.rseq=0 requirement).
//
// Rules run in order: compound writes, plain writes, then reads, for each
// way of reaching the field.

@or_tls@
symbol __rseq_abi;
expression V;
@@
- __rseq_abi.cpu_id_start |= V
+ vrseq_compat_cpu_id_start_or(vrseq_thread_slot(), V)

@or_ptr@
struct rseq *R;
expression V;
@@
- R->cpu_id_start |= V
+ vrseq_compat_cpu_id_start_or(vrseq_thread_slot(), V)

@or_off@
expression OFF;
expression V;
@@
- ((struct rseq *)((char *)__builtin_thread_pointer() + OFF))->cpu_id_start |= V
+ vrseq_compat_cpu_id_start_or(vrseq_thread_slot(), V)

@and_tls@
symbol __rseq_abi;
expression V;
@@
- __rseq_abi.cpu_id_start &= V
+ vrseq_compat_cpu_id_start_and(vrseq_thread_slot(), V)

@and_ptr@
struct rseq *R;
expression V;
@@
- R->cpu_id_start &= V
+ vrseq_compat_cpu_id_start_and(vrseq_thread_slot(), V)

@and_off@
expression OFF;
expression V;
@@
- ((struct rseq *)((char *)__builtin_thread_pointer() + OFF))->cpu_id_start &= V
+ vrseq_compat_cpu_id_start_and(vrseq_thread_slot(), V)

@write_tls@
symbol __rseq_abi;
expression V;
@@
- __rseq_abi.cpu_id_start = V
+ vrseq_compat_cpu_id_start_store(vrseq_thread_slot(), V)

@write_ptr@
struct rseq *R;
expression V;
@@
- R->cpu_id_start = V
+ vrseq_compat_cpu_id_start_store(vrseq_thread_slot(), V)

@write_off@
expression OFF;
expression V;
@@
- ((struct rseq *)((char *)__builtin_thread_pointer() + OFF))->cpu_id_start = V
+ vrseq_compat_cpu_id_start_store(vrseq_thread_slot(), V)

@read_tls@
symbol __rseq_abi;
@@
- __rseq_abi.cpu_id_start
+ vrseq_compat_cpu_id_start(vrseq_thread_slot())

@read_ptr@
struct rseq *R;
@@
- R->cpu_id_start
+ vrseq_compat_cpu_id_start(vrseq_thread_slot())

@read_off@
expression OFF;
@@
- ((struct rseq *)((char *)__builtin_thread_pointer() + OFF))->cpu_id_start
+ vrseq_compat_cpu_id_start(vrseq_thread_slot())

// The header, once, after the rseq one.
@header depends on or_tls || or_ptr || or_off || and_tls || and_ptr || and_off || write_tls || write_ptr || write_off || read_tls || read_ptr || read_off@
@@
 #include <linux/rseq.h>
+#include <vrseq/compat.h>
