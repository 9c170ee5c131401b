/* SPDX-License-Identifier: MIT */
/*
 * For tests/test-cxx-link.sh: C++ functions that hold critical sections and
 * are emitted in a COMDAT group in every object that uses them -- inline
 * functions, templates, a member function defined in its class -- calling
 * vrseq_slot_store/commit/cas or holding a section written with the building
 * blocks. tests/cxx-comdat-a.cc and tests/cxx-comdat-b.cc both include this
 * and take every function's address, so both objects emit every one of them
 * at any optimisation level, and the linker must discard one copy of each
 * group, descriptors included.
 */
#ifndef VRSEQ_TEST_CXX_COMDAT_H
#define VRSEQ_TEST_CXX_COMDAT_H

#include <vrseq.h>

namespace cxxc {

inline int store(struct vrseq_slot *slot, uint64_t value)
{
	return vrseq_slot_store(slot, value);
}

inline int commit(struct vrseq_slot *slot, uint64_t value)
{
	return vrseq_slot_commit(slot, vrseq_slot_observe(slot), value);
}

inline int cas(const struct vrseq_slot *slot, uint64_t *word,
	       uint64_t expected, uint64_t desired)
{
	return vrseq_slot_cas(slot, word, expected, desired);
}

template <typename T> int store_as(struct vrseq_slot *slot, T value)
{
	return vrseq_slot_store(slot, static_cast<uint64_t>(value));
}

/*
 * Hand-written sections. load: *out = the slot's value, if it is valid,
 * the store to *out being the commit. add: *n += k if the slot is valid.
 */
#if defined(__x86_64__)
# define CXXC_LOAD							\
	VRSEQ_CS_SLOT_LOAD("%%rcx", "invalid")				\
	"movq %%rcx, (%[out])\n\t"
# define CXXC_ADD							\
	VRSEQ_CS_SLOT_CHECK("invalid")					\
	"movq (%[n]), %%rcx\n\t"					\
	"addq %[k], %%rcx\n\t"						\
	"movq %%rcx, (%[n])\n\t"
# define CXXC_SCRATCH	"rcx"
#elif defined(__aarch64__)
# define CXXC_LOAD							\
	VRSEQ_CS_SLOT_LOAD("x11", "invalid")				\
	"str x11, [%[out]]\n\t"
# define CXXC_ADD							\
	VRSEQ_CS_SLOT_CHECK("invalid")					\
	"ldr x11, [%[n]]\n\t"						\
	"add x11, x11, %[k]\n\t"					\
	"str x11, [%[n]]\n\t"
# define CXXC_SCRATCH	"x11"
#endif

/* Abort handlers taken, in the one copy of the functions the link kept. */
inline unsigned long &aborts()
{
	static unsigned long n;

	return n;
}

template <typename T> int load_as(const struct vrseq_slot *slot, T *out)
{
	static_assert(sizeof(T) == 8, "64-bit values only");
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		CXXC_LOAD
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [out] "r" (out)
		: VRSEQ_CS_CLOBBERS, CXXC_SCRATCH
		: invalid, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
aborted:
	aborts()++;
	goto retry;
}

inline int load(const struct vrseq_slot *slot, uint64_t *out)
{
retry:
	__asm__ __volatile__ goto (
		VRSEQ_CS_BEGIN
		CXXC_LOAD
		VRSEQ_CS_END("aborted")
		VRSEQ_CS_LEAVE
		:
		: VRSEQ_CS_INPUTS(slot), [out] "r" (out)
		: VRSEQ_CS_CLOBBERS, CXXC_SCRATCH
		: invalid, aborted);
	return VRSEQ_COMMITTED;
invalid:
	vrseq_cs_leave(slot);
	return VRSEQ_INVALIDATED;
aborted:
	aborts()++;
	goto retry;
}

struct counter {
	uint64_t n;

	/* Defined in the class: inline. */
	int add(const struct vrseq_slot *slot, uint64_t k)
	{
		uint64_t *p = &n;
retry:
		__asm__ __volatile__ goto (
			VRSEQ_CS_BEGIN
			CXXC_ADD
			VRSEQ_CS_END("aborted")
			VRSEQ_CS_LEAVE
			:
			: VRSEQ_CS_INPUTS(slot), [n] "r" (p), [k] "r" (k)
			: VRSEQ_CS_CLOBBERS, CXXC_SCRATCH
			: invalid, aborted);
		return VRSEQ_COMMITTED;
invalid:
		vrseq_cs_leave(slot);
		return VRSEQ_INVALIDATED;
aborted:
		aborts()++;
		goto retry;
	}
};

/* Every function above, as each object sees it. */
struct table {
	int (*store)(struct vrseq_slot *, uint64_t);
	int (*commit)(struct vrseq_slot *, uint64_t);
	int (*cas)(const struct vrseq_slot *, uint64_t *, uint64_t, uint64_t);
	int (*store_u64)(struct vrseq_slot *, uint64_t);
	int (*store_i64)(struct vrseq_slot *, int64_t);
	int (*load_u64)(const struct vrseq_slot *, uint64_t *);
	int (*load_i64)(const struct vrseq_slot *, int64_t *);
	int (*load)(const struct vrseq_slot *, uint64_t *);
	int (counter::*add)(const struct vrseq_slot *, uint64_t);
	unsigned long &(*aborts)();
};

#define CXXC_TABLE_INIT {						\
	cxxc::store, cxxc::commit, cxxc::cas,				\
	cxxc::store_as<uint64_t>, cxxc::store_as<int64_t>,		\
	cxxc::load_as<uint64_t>, cxxc::load_as<int64_t>,		\
	cxxc::load, &cxxc::counter::add, cxxc::aborts }

} /* namespace cxxc */

extern const cxxc::table cxxc_table_a, cxxc_table_b;

#endif
