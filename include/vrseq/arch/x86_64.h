/* SPDX-License-Identifier: MIT */
/*
 * x86_64 critical sections. Include <vrseq.h>, not this file.
 *
 * A section publishes a descriptor in the __rseq_cs section, stores its
 * address in the thread's rseq_cs (the one field user space owns), runs from
 * label 1 to label 2, and ends with a single committing store. The abort
 * handler lives out of line in __rseq_failure after the signature the kernel
 * checks, encoded as the immediate of a ud1 so that falling into it traps.
 *
 * BUILDING BLOCKS for your own sections (the same names on every
 * architecture; see vrseq(7) and tests/percpu-cache.c for pop and push):
 *
 *	__asm__ __volatile__ goto (
 *		VRSEQ_CS_BEGIN
 *		VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")	// rcx = cached value
 *		... your loads, at most one committing store, last ...
 *		VRSEQ_CS_END("aborted")
 *		VRSEQ_CS_LEAVE				// see UNLOADING below
 *		: outputs : VRSEQ_CS_INPUTS(slot), more inputs
 *		: VRSEQ_CS_CLOBBERS, your clobbers : invalid, aborted, ...);
 *	...
 *	invalid:
 *		vrseq_cs_leave(slot);			// see UNLOADING below
 *
 * VRSEQ_CS_SLOT_CHECK/LOAD leave through `fail` unless the slot is valid
 * *now*: same CPU (or cid) as at its commit and no fence since. Because the
 * check runs inside the section, a migration or fence after it aborts the
 * section, so whatever you do with the value until the commit is covered.
 * Scratch register: rax. Labels 1-4 are taken. The fast path of a slot load
 * is VRSEQ_X86_64_SLOT_LOAD_INSNS instructions (checked by make check).
 *
 * UNLOADING. A section stores its descriptor's address in rseq_cs; the
 * kernel clears it when it aborts the section, and otherwise only lazily,
 * the next time it looks after the section has ended. Until then rseq_cs
 * points into the object that holds the section. If that object is
 * dlclose()d first, the kernel faults on the pointer the next time the
 * thread is preempted, signalled or woken, and kills it (SIGSEGV,
 * SI_KERNEL). So a section in an object that can be unloaded must clear
 * rseq_cs on every exit but the abort: VRSEQ_CS_LEAVE right after
 * VRSEQ_CS_END for the exit that falls through (the commit), and
 * vrseq_cs_leave(slot) first thing at every other label the section leaves
 * to. Objects that are never unloaded (an allocator, the main program) need
 * neither: a stale rseq_cs pointing at a mapped descriptor is harmless, the
 * instruction pointer being outside that section. vrseq_slot_commit() and
 * vrseq_slot_cas() (and its 32-bit, pointer and _value forms) always clear
 * it (one store, to the line the section began by writing).
 *
 * Why clearing after the section is safe, here and on aarch64:
 *  - The clear is not part of the section: [start_ip, start_ip +
 *    post_commit_offset) ends at label 2, before it. A preemption,
 *    migration, signal or fence between the commit and the clear aborts
 *    nothing; the commit stands. The kernel may clear rseq_cs itself there;
 *    the store then writes the 0 it already holds.
 *  - A signal handler that runs there may run sections of its own (nested
 *    in time, never in code): each stores its descriptor and, if it follows
 *    these rules, clears it again. Whatever a handler leaves behind, the
 *    interrupted code resumes only after it has returned, with none of its
 *    sections still running, so storing 0 is right: no section is live.
 *  - The clear never hides a live section. A handler can only interrupt our
 *    code before its store of rseq_cs (which then overwrites whatever the
 *    handler left), inside the section (the instruction right after that
 *    store is start_ip: the kernel aborts, clears rseq_cs, and the retry
 *    stores it again), or after label 2 (nothing left to protect).
 *  - No ordering against other threads is needed: rseq_cs is read only by
 *    the kernel, on this thread's own way back to user space.
 * The abort exit needs no clear: the kernel clears rseq_cs before it jumps
 * to abort_ip (and the retry sets it again).
 */
#ifndef VRSEQ_ARCH_X86_64_H
#define VRSEQ_ARCH_X86_64_H

#include <vrseq/arch/x86_64-cs.h>

#define VRSEQ_HAVE_CS		1	/* the building blocks exist here */

#define VRSEQ_RSEQ_SIG_PASTE_(x, u)	x##u
#define VRSEQ_RSEQ_SIG_PASTE(x, u)	VRSEQ_RSEQ_SIG_PASTE_(x, u)
/* 0x53053053u: VRSEQ_X86_SIG_T of <vrseq/arch/x86_64-cs.h>, unsigned. */
#define VRSEQ_RSEQ_SIG		VRSEQ_RSEQ_SIG_PASTE(VRSEQ_X86_SIG_T, u)
/* The same, spelled for the assembler (no C suffix). */
#define VRSEQ_RSEQ_SIG_ASM	VRSEQ_CS_STR(VRSEQ_X86_SIG_T)

/*
 * Instructions on the valid path of
 *	uint64_t f(const struct vrseq_slot *s)
 *	{ uint64_t v; return vrseq_slot_load(s, &v) ? v : 0; }
 * up to and including ret: 2 pointer loads, the id, the tag, compare,
 * branch, the value, ret. A raw cpu_id_start load through __rseq_offset is 3
 * instructions plus ret.
 */
#define VRSEQ_X86_64_SLOT_LOAD_INSNS	8

#include <vrseq/arch/sections.h>

/*
 * The blocks are written once, in <vrseq/arch/x86_64-cs.h>, for C and for
 * .S files (<vrseq/asm.h>); here they get the operands of the asm: [area],
 * [id], [tags], [slot], and rax as the scratch register.
 */
#define VRSEQ_CS_BEGIN							\
	VRSEQ_X86_BEGIN_T(VRSEQ_CS_C_, %%rip, %[area], %%rax)

#define VRSEQ_CS_END_TO(abort_target)					\
	VRSEQ_X86_END_T(VRSEQ_CS_C_, abort_target)

/*
 * rseq_cs = 0, right after VRSEQ_CS_END: the exit that falls through
 * clears it outside the section (see UNLOADING above). Uses [area].
 */
#define VRSEQ_CS_LEAVE							\
	VRSEQ_X86_LEAVE_T(VRSEQ_CS_C_, %[area])

#define VRSEQ_CS_SLOT_CHECK_TO(target)					\
	VRSEQ_X86_SLOT_CHECK_T(VRSEQ_CS_C_, %[id], %[tags],		\
			       VRSEQ_SLOT_OFF_TAG(%[slot]), %%rax, %%eax, \
			       target)

#define VRSEQ_CS_SLOT_LOAD_TO(dst, target)				\
	VRSEQ_X86_SLOT_LOAD_T(VRSEQ_CS_C_, %[id], %[tags],		\
			      VRSEQ_SLOT_OFF_TAG(%[slot]),		\
			      VRSEQ_SLOT_OFF_VALUE(%[slot]), %%rax, %%eax, \
			      dst, target)

#define VRSEQ_CS_INPUTS(s)						\
	[area] "r" ((s)->area), [id] "r" ((s)->id),			\
	[tags] "r" ((s)->tags), [slot] "r" (s)

/*
 * For VRSEQ_SLOT_CPU slots only: the id is cpu_id_start, the first field
 * of the area, so one register serves as both and a load is saved. (A
 * fallback slot's area is unregistered memory whose first field reads 0,
 * the index its one-entry tag array expects.)
 */
#define VRSEQ_CS_INPUTS_CPU(s)						\
	[area] "r" ((s)->area), [id] "r" ((s)->area),			\
	[tags] "r" ((s)->tags), [slot] "r" (s)

#define VRSEQ_CS_CLOBBERS	"memory", "cc", "rax"

/*
 * SLOT-OPERAND BLOCKS (0.4.0+), for fast paths that must cost what the
 * legacy trick cost. The slot is addressed %fs-relative, through its offset
 * from the thread pointer, instead of through three pointers held in
 * registers: for a slot in initial-exec TLS that offset is one load the
 * compiler hoists out of loops and shares between sections (a `lea` for
 * local-exec), the value is then one %fs-relative load as the legacy cached
 * word was, and the compiler places the scratch register. Pass the slot
 * itself (an lvalue: `slot`, `*p`; any slot works, TLS or not), and operand
 * *names* where the register blocks take operand strings:
 *
 *	static __thread struct vrseq_slot slot
 *		__attribute__((tls_model("initial-exec"))) = VRSEQ_SLOT_UNBOUND;
 *	uint64_t v, vrseq_tmp;
 *
 *	__asm__ __volatile__ goto (
 *		VRSEQ_CS_BEGIN_M("v")
 *		VRSEQ_CS_SLOT_LOAD_M("v", "miss")	// v = the value
 *		... your code, at most one committing store, last ...
 *		VRSEQ_CS_END("aborted")
 *		: [v] "=&r" (v), VRSEQ_CS_SCRATCH_M(vrseq_tmp)
 *		: VRSEQ_CS_INPUTS_M(slot)
 *		: VRSEQ_CS_CLOBBERS_M : miss, aborted);
 *
 * Register cost: [vrseq_tp] (the slot's offset, an input live through the
 * section, the same register for every section on that slot) and
 * [vrseq_scratch], which is free again after VRSEQ_CS_SLOT_LOAD_M/_CHECK_M:
 * use it for your own temporaries (declare your variable with
 * VRSEQ_CS_SCRATCH_M instead of a separate output). The `tmp`/`dst` you
 * name holds the id during the check and is your value's register anyway.
 * No fixed register, no clobber but "memory" and "cc". (The register
 * blocks keep three pointers live through the section and clobber rax.)
 * Valid path of BEGIN_M + SLOT_LOAD_M: 9 instructions and 6 loads (area,
 * cpu_id_start, tags, tags[cpu], tag, value); cpu_id_start depends on the
 * area load and tags[cpu] on both, the value on none. Counted by
 * bench/count-insns.sh in `make bench`.
 *
 * Why not "m" operands: GCC (12.2 and 14.2 checked) miscompiles an asm goto
 * that has outputs and an initial-exec or local-exec TLS memory operand:
 * the code at its labels is deleted and every jump to them lands at the
 * start of the function. An offset in a register is an ordinary input.
 *
 * _M reads the id at the area's cpu_id_start: for VRSEQ_SLOT_CPU slots only
 * (and VRSEQ_SLOT_UNBOUND and fallback slots, whose check always fails).
 * For a VRSEQ_SLOT_MM_CID slot use VRSEQ_CS_SLOT_LOAD_CID_M/_CHECK_CID_M,
 * which read mm_cid. Mixing them up reads the wrong id: a value could
 * validate on a CPU whose number equals the cid it was committed for.
 * Labels 1-4 are taken, as in every block.
 */
#if (defined(__GNUC__) && __GNUC__ >= 11) || defined(__clang__)
# define VRSEQ_X86_TP()		((uintptr_t)__builtin_thread_pointer())
#else
# define VRSEQ_X86_TP()		vrseq_x86_tp__()
static inline uintptr_t vrseq_x86_tp__(void)
{
	uintptr_t tp;

	__asm__ ("movq %%fs:0, %0" : "=r" (tp));
	return tp;
}
#endif
#define VRSEQ_CS_INPUTS_M(s)						\
	[vrseq_tp] "r" ((uintptr_t)&(s) - VRSEQ_X86_TP())
#define VRSEQ_CS_SCRATCH_M(var)	[vrseq_scratch] "=&r" (var)
#define VRSEQ_CS_CLOBBERS_M	"memory", "cc"

/*
 * The slot's fields are %fs-relative memory operands, %%fs:OFF(%[vrseq_tp])
 * (the offsets are checked against struct vrseq_slot in
 * <vrseq/arch/sections.h>).
 */
/* [vrseq_scratch] = area, rseq_cs = the descriptor (through tmp). */
#define VRSEQ_CS_BEGIN_M(tmp)						\
	VRSEQ_X86_BEGIN_M_T(VRSEQ_CS_C_, %%rip,				\
			    %%fs:VRSEQ_SLOT_OFF_AREA(%[vrseq_tp]),	\
			    %[vrseq_scratch], "%q[" tmp "]")

/* tags[id] == tag, the id at cpu_id_start (or mm_cid); tmp = the id. */
#define VRSEQ_CS_SLOT_CHECK_M_TO(tmp, target)				\
	VRSEQ_X86_CHECK_M_T(VRSEQ_CS_C_, VRSEQ_AREA_OFF_CPU_ID_START,	\
			    %%fs:VRSEQ_SLOT_OFF_TAGS(%[vrseq_tp]),	\
			    %%fs:VRSEQ_SLOT_OFF_TAG(%[vrseq_tp]),	\
			    %[vrseq_scratch], "%q[" tmp "]", "%k[" tmp "]", \
			    target)
#define VRSEQ_CS_SLOT_LOAD_M_TO(dst, target)				\
	VRSEQ_X86_LOAD_M_T(VRSEQ_CS_C_, VRSEQ_AREA_OFF_CPU_ID_START,	\
			   %%fs:VRSEQ_SLOT_OFF_TAGS(%[vrseq_tp]),	\
			   %%fs:VRSEQ_SLOT_OFF_TAG(%[vrseq_tp]),	\
			   %%fs:VRSEQ_SLOT_OFF_VALUE(%[vrseq_tp]),	\
			   %[vrseq_scratch], "%q[" dst "]", "%k[" dst "]", \
			   target)
#define VRSEQ_CS_SLOT_CHECK_CID_M_TO(tmp, target)			\
	VRSEQ_X86_CHECK_M_T(VRSEQ_CS_C_, VRSEQ_AREA_OFF_MM_CID,		\
			    %%fs:VRSEQ_SLOT_OFF_TAGS(%[vrseq_tp]),	\
			    %%fs:VRSEQ_SLOT_OFF_TAG(%[vrseq_tp]),	\
			    %[vrseq_scratch], "%q[" tmp "]", "%k[" tmp "]", \
			    target)
#define VRSEQ_CS_SLOT_LOAD_CID_M_TO(dst, target)			\
	VRSEQ_X86_LOAD_M_T(VRSEQ_CS_C_, VRSEQ_AREA_OFF_MM_CID,		\
			   %%fs:VRSEQ_SLOT_OFF_TAGS(%[vrseq_tp]),	\
			   %%fs:VRSEQ_SLOT_OFF_TAG(%[vrseq_tp]),	\
			   %%fs:VRSEQ_SLOT_OFF_VALUE(%[vrseq_tp]),	\
			   %[vrseq_scratch], "%q[" dst "]", "%k[" dst "]", \
			   target)

/* rseq_cs = 0 after VRSEQ_CS_END (see UNLOADING); uses [vrseq_scratch]. */
#define VRSEQ_CS_LEAVE_M						\
	VRSEQ_X86_LEAVE_M_T(VRSEQ_CS_C_,				\
			    %%fs:VRSEQ_SLOT_OFF_AREA(%[vrseq_tp]),	\
			    %[vrseq_scratch])

/*
 * THE STATUS FORM (0.4.0+), for compilers without asm goto with outputs
 * (GCC before 11, clang before 11) and code that wants a result code: a
 * plain asm whose blocks jump to VRSEQ_CS_FAIL (the _TO forms take a jump
 * target), ended by VRSEQ_CS_END_STATUS, which sets the output
 * VRSEQ_CS_STATUS(var) to VRSEQ_COMMITTED (fell through the commit),
 * VRSEQ_INVALIDATED (jumped to VRSEQ_CS_FAIL) or VRSEQ_ABORTED, and joins
 * the three paths. Labels 5-7 are taken too. Put VRSEQ_CS_LEAVE(_M) after
 * it if the object can be unloaded: it then runs on every path, which is
 * right (the abort path's rseq_cs is already 0).
 *
 *	__asm__ __volatile__ (
 *		VRSEQ_CS_BEGIN_M("v")
 *		VRSEQ_CS_SLOT_LOAD_M_TO("v", VRSEQ_CS_FAIL)
 *		...
 *		VRSEQ_CS_END_STATUS
 *		: [v] "=&r" (v), VRSEQ_CS_SCRATCH_M(tmp), VRSEQ_CS_STATUS(st)
 *		: VRSEQ_CS_INPUTS_M(slot) : VRSEQ_CS_CLOBBERS_M);
 *	if (st != VRSEQ_COMMITTED) ...
 *
 * Costs two instructions on the committing path (clear and jump) and a
 * test and branch after the asm.
 */
#define VRSEQ_CS_FAIL		"5f"
#define VRSEQ_CS_STATUS(var)	[vrseq_status] "=&r" (var)
#define VRSEQ_CS_END_STATUS						\
	VRSEQ_X86_END_STATUS_T(VRSEQ_CS_C_, %k[vrseq_status])

/*
 * The sections of vrseq_slot_commit() and vrseq_slot_cas(). Every exit but
 * the abort clears rseq_cs (see UNLOADING above): the commit in the asm,
 * right after the section, the others at their labels.
 */
static inline int vrseq_arch_commit(struct vrseq_slot *slot, uint64_t token,
				    uint64_t value)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_X86_CHECK_TAG_T(VRSEQ_CS_C_, %[id], %[tags], %%rax,
				      %%eax, %[token], VRSEQ_CS_GOTO("invalid"))
		"movq %[value], (%[slot])\n\t"
		"movq %[token], 8(%[slot])\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [token] "r" (token), [value] "r" (value)
		: VRSEQ_CS_CLOBBERS
		: invalid, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
aborted:
	return VRSEQ_ABORTED;
}

static inline int vrseq_arch_cas(const struct vrseq_slot *slot, uint64_t *word,
				 uint64_t expected, uint64_t desired)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_CHECK("invalid")
		"cmpq %[expected], (%[word])\n\t"
		"jne %l[changed]\n\t"
		"movq %[desired], (%[word])\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [word] "r" (word),
		  [expected] "r" (expected), [desired] "r" (desired)
		: VRSEQ_CS_CLOBBERS
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
changed:
	vrseq_cs_leave(slot);
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

/*
 * 0.4.0+: the same on a 32-bit word (vrseq_slot_cas32()): compared and
 * stored 32 bits wide, so the neighbouring half of a 64-bit word is neither
 * read nor written. The movl is the committing store, last in the section.
 */
static inline int vrseq_arch_cas32(const struct vrseq_slot *slot,
				   uint32_t *word, uint32_t expected,
				   uint32_t desired)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_CHECK("invalid")
		"cmpl %k[expected], (%[word])\n\t"
		"jne %l[changed]\n\t"
		"movl %k[desired], (%[word])\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [word] "r" (word),
		  [expected] "r" (expected), [desired] "r" (desired)
		: VRSEQ_CS_CLOBBERS
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
changed:
	vrseq_cs_leave(slot);
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

/*
 * 0.4.0+: vrseq_arch_cas() that also requires the slot's committed value to
 * be `value` (vrseq_slot_cas_value()); a valid slot holding another value
 * leaves through `invalid`. rax holds the value after the check.
 */
static inline int vrseq_arch_cas_value(const struct vrseq_slot *slot,
				       uint64_t value, uint64_t *word,
				       uint64_t expected, uint64_t desired)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%%rax", "invalid")
		"cmpq %[value], %%rax\n\t"
		"jne %l[invalid]\n\t"
		"cmpq %[expected], (%[word])\n\t"
		"jne %l[changed]\n\t"
		"movq %[desired], (%[word])\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [value] "r" (value), [word] "r" (word),
		  [expected] "r" (expected), [desired] "r" (desired)
		: VRSEQ_CS_CLOBBERS
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
changed:
	vrseq_cs_leave(slot);
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

/* The same on a 32-bit word (vrseq_slot_cas32_value()). */
static inline int vrseq_arch_cas32_value(const struct vrseq_slot *slot,
					 uint64_t value, uint32_t *word,
					 uint32_t expected, uint32_t desired)
{
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		VRSEQ_CS_SLOT_LOAD("%%rax", "invalid")
		"cmpq %[value], %%rax\n\t"
		"jne %l[invalid]\n\t"
		"cmpl %k[expected], (%[word])\n\t"
		"jne %l[changed]\n\t"
		"movl %k[desired], (%[word])\n\t"
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [value] "r" (value), [word] "r" (word),
		  [expected] "r" (expected), [desired] "r" (desired)
		: VRSEQ_CS_CLOBBERS
		: invalid, changed, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
changed:
	vrseq_cs_leave(slot);
	return VRSEQ_CHANGED;
aborted:
	return VRSEQ_ABORTED;
}

#endif /* VRSEQ_ARCH_X86_64_H */
