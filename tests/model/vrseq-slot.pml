/* SPDX-License-Identifier: MIT */
/*
 * vrseq-slot.pml: SPIN model of vrseq's slot protocol (vrseq(7), "How it
 * works", "Fences", "Fallback"). Checked by tests/test-model.sh; see
 * doc/model.md for bounds, abstractions and measured state counts.
 *
 * MAPPING TO THE C CODE
 *   tags[i]        vrseq__proc.cpu_tags[i] (src/init.c setup_tags: gen 1|i,
 *                  VRSEQ_TAG_FIRST); with -DMM_CID it is cid_tags[i] (the
 *                  same set-up), and cpu_tags is not modelled (no slot of
 *                  that configuration validates against it). tag = gen <<
 *                  ID_BITS | id, ID_BITS = 1, GEN_BITS = 2 (the C code has
 *                  20 and 44), so generation 1, 2 are live, 3 (all ones) is
 *                  VRSEQ_TAG_RETIRED, 0 never live.
 *   ID(t)          *slot->id of thread t's slot: cpu[t] (cpu_id_start,
 *                  VRSEQ_SLOT_CPU) or, with -DMM_CID, cid[t] (the area's
 *                  mm_cid, VRSEQ_SLOT_MM_CID: slot->id = &area->mm_cid,
 *                  slot->tags = cid_tags, src/slot.c vrseq_slot_init()).
 *   cid[t]         the mm_cid the kernel gave t (MM_CID only; the
 *                  fencer's is never read). The kernel changes it only
 *                  when it schedules t (preemption, migration), which
 *                  aborts a section t is in; nothing else is assumed about
 *                  it (not even uniqueness: each slot has one owner).
 *   FB_TAG         fallback_tag (~0) of src/slot.c; fb[t] = VRSEQ_SLOT_F_FALLBACK
 *                  (bind_fallback: slot->tags/observe_tags = &fallback_tag,
 *                  slot->id = &fallback_index = 0).
 *   stag[t],sval[t] struct vrseq_slot .tag / .value of thread t's slot.
 *   cpu[t]         cpu_id_start of t's area (what the kernel says now).
 *   running[c]     the thread last switched in on CPU c (NT: none of ours);
 *                  SW(t) is the context switch: a thread taking a step on c
 *                  while another of ours ran there preempted it.
 *   in_cs[t],abrt[t] rseq_cs set and inside [start_ip, post_commit_ip);
 *                  abrt = the kernel will send t to abort_ip. Every step of
 *                  a section first tests abrt (the kernel aborts on the
 *                  way back to user space, before any user instruction).
 *   w[i]           (-DCAS) a per-CPU (per-cid) word, the slab header that
 *                  vrseq_slot_cas*() replace; stopped[i] the "CPU stopped"
 *                  flag a draining fencer sets before its fence and the
 *                  fast paths read after their observation (vrseq.h,
 *                  "Ordering").
 *   proctype kernel: preemption (by another process), migration, signal
 *                  delivery (the handler runs vrseq_slot_store() on the same
 *                  slot, as vrseq(7) "Async-signal safety" allows, or with
 *                  -DCAS vrseq_slot_cas_value() on the word its valid value
 *                  is for), bounded by KEV events, SIGS of them signals.
 *                  With MM_CID a preemption or migration of the worker also
 *                  gives it any cid, in or out of a section.
 *   proctype worker (thread 0): vrseq_slot_store() = vrseq_slot_observe() +
 *                  vrseq_slot_commit() (vrseq.h: clear; refuse gen 0 /
 *                  retired; vrseq_arch_commit() = CHECK_TAG, value store,
 *                  committing tag store; clear again after every ABORTED
 *                  attempt, then retry); fast path = VRSEQ_CS_BEGIN,
 *                  VRSEQ_CS_SLOT_LOAD, use, committing store, VRSEQ_CS_END;
 *                  vrseq_slot_load() snapshot. With -DCAS instead of the
 *                  last two: vrseq_slot_load(), then vrseq_slot_cas_value()
 *                  (x86_64.h vrseq_arch_cas_value(): VRSEQ_CS_SLOT_LOAD,
 *                  cmpq value, cmpq expected, committing movq desired;
 *                  retried while ABORTED) on the word of the id its value
 *                  is for, or with -DCAS_PLAIN vrseq_slot_cas()
 *                  (vrseq_arch_cas(): VRSEQ_CS_SLOT_CHECK, no value
 *                  compare). With -DWORKER_FENCES it also fences either id
 *                  (vrseq_fence_cpu(), or vrseq_fence_mm_cid() with MM_CID),
 *                  concurrently with the fencer.
 *   proctype fencer (thread 1): vrseq_fence_cpu() (src/fence.c: own-CPU path
 *                  advance_own_cpu()/advance_on_cpu(), else advance() +
 *                  interrupt()), vrseq_fence_all(); with MM_CID
 *                  vrseq_fence_mm_cid() (advance(cid_tags) +
 *                  interrupt(-1): every CPU, no own-CPU path) and
 *                  vrseq_fence_all(); with CAS the drain of an id instead:
 *                  stopped[i] = 1, the fence of i, then a plain store to
 *                  w[i]. interrupt() by membarrier(PRIVATE_EXPEDITED_RSEQ)
 *                  (IPI aborts the section running on the target CPU) or
 *                  visit_cpus() (the affinity fallback: run on each CPU,
 *                  which preempts it). Its own slot may be a fallback slot
 *                  (nondeterministic), then it also stores and loads into
 *                  that slot.
 *
 * GHOST STATE (not in the C code, for the properties)
 *   value v = 1 + id + 2 * epoch: the value computed for the observed token
 *   (VCPU, the token's id) under the observation's epoch (VEP); 0 = never
 *   committed. epoch[i] counts real advances of tags[i]; fenced[i] = the
 *   epoch the last returned fence of i produced; seen[i] = tags i has held;
 *   okv[t] = values whose commit returned VRSEQ_COMMITTED. w[i] counts its
 *   stores, so a CAS that finds w[i] == what it compared saw no store since.
 *
 * PROPERTIES (assertions; the message names the property)
 *   (a) a value used by a committing section or CAS, or returned valid by a
 *       load, was observed at an epoch no returned fence of its id passed.
 *   (b) it was computed for the id (CPU, or cid) the thread is on.
 *   (c) it was written by a commit of this thread that returned COMMITTED.
 *   (d) a fallback slot never validates.
 *   (e) an advance never produces generation 0 or a tag the id held before.
 *   (f) a vrseq_slot_cas_value() that stores found the slot holding the
 *       value it was given; with (a)-(c) on that value at the store: a CAS
 *       succeeds only while the slot holds the expected value, valid for
 *       the current id and the current epoch.
 *   (g) a CAS stores into a word nobody stored to since its compare (no
 *       lost update, against the handler's CAS and a draining fencer).
 *
 * KNOBS (tests/test-model.sh builds every variant from this file):
 *   configurations: -DAFFINITY (fence_method = VRSEQ_FENCE_AFFINITY, else
 *   membarrier), -DFENCER_FALLBACK (thread 1's slot is a fallback slot),
 *   -DMM_CID (the worker's slot is VRSEQ_SLOT_MM_CID, the fencer fences
 *   cids), -DWORKER_FENCES (two concurrent fencers), -DCAS (the CAS and the
 *   drain; -DCAS_PLAIN: vrseq_slot_cas() instead of _value, correct only
 *   when nothing commits to the slot between the caller's load and the CAS:
 *   with SIGS > 0 it is the misuse vrseq_slot_cas(3) warns about, (g));
 *   bounds -DKEV= (preemptions + migrations) -DSIGS= -DWOPS= -DFOPS=
 *   -DOWN_TRIES=;
 *   broken variants: -DBROKEN_CLEAR_ONCE (vrseq 0.4.0's commit, the bug
 *   this model found, doc/model.md "Finding": the tag cleared once, before
 *   the retry loop) -DBROKEN_NO_GEN_ADVANCE -DBROKEN_NO_CS_CHECK
 *   -DBROKEN_NO_IPI -DBROKEN_OWN_NO_CS -DBROKEN_WRAP_ZERO -DBROKEN_WRAP_OLD
 *   -DBROKEN_NO_CLEAR -DBROKEN_FALLBACK_LIVE; with MM_CID
 *   -DBROKEN_CID_NO_ADVANCE -DBROKEN_ALL_NO_CID -DBROKEN_CID_ONE_CPU
 *   -DBROKEN_CID_READS_CPU; with WORKER_FENCES -DBROKEN_ADVANCE_RACY
 *   -DBROKEN_OWN_PLAIN_STORE; with CAS -DBROKEN_CAS_NO_CHECK
 *   -DBROKEN_CAS_NO_VALUE -DBROKEN_CAS_NO_COMPARE; -DNO_PROP_E drops (e)
 *   to show what a wrap leads to.
 *
 * ABSTRACTIONS (doc/model.md): sequential consistency (ordering is in
 * doc/litmus/), the handler's commit and CAS are atomic, one signal level,
 * two threads (the second fencer is the worker), two ids, no fence errors.
 */

#define NT	2		/* threads: 0 worker, 1 fencer */
#define NC	2		/* CPUs, and cids */
#define GONE	2		/* VRSEQ_TAG_GEN_ONE */
#define TAGMOD	8		/* 2^(ID_BITS + GEN_BITS) */
#define GMASK	6		/* VRSEQ_TAG_GEN_MASK */
#define RETIRED	GMASK		/* VRSEQ_TAG_RETIRED */
#define IDMASK	1		/* VRSEQ_TAG_ID_MASK */
#define FB_TAG	7		/* fallback_tag = ~0 */

#ifndef KEV
#define KEV	3		/* preemptions and migrations */
#endif
#ifndef SIGS
#define SIGS	1		/* signals (to the worker) */
#endif
#ifndef WOPS
#define WOPS	2
#endif
#ifndef FOPS
#define FOPS	2
#endif
#ifndef OWN_TRIES
#define OWN_TRIES 2		/* advance_own_cpu() tries 4 times */
#endif

#define COMMITTED	0
#define INVALIDATED	1
#define CHANGED		2
#define ABORTED		3
#define UNCACHED	4

byte tags[NC];
byte cpu[NT];
byte running[NC];
bit in_cs[NT];
bit abrt[NT];
byte stag[NT];
byte sval[NT];
bit fb[NT];
bit affinity;			/* vrseq__proc.fence_method: 0 membarrier */
bit ready;			/* init done: process set-up (vrseq__process()) */
byte kev = KEV;
byte sigs = SIGS;
#ifdef MM_CID
byte cid[NT];			/* the area's mm_cid */
#endif
#ifdef CAS
byte w[NC];			/* per-id words (counts its stores) */
bit stopped[NC];		/* the drain's "id stopped" flag */
#endif
byte epoch[NC];			/* ghost */
byte fenced[NC];		/* ghost */
byte seen[NC];			/* ghost */
short okv[NT];			/* ghost */

#define VAL(c)		(1 + (c) + 2 * epoch[c])
#define VCPU(v)		(((v) - 1) % 2)
#define VEP(v)		(((v) - 1) / 2)
#define GEN(x)		((x) & GMASK)
#ifdef BROKEN_FALLBACK_LIVE
#define FBX(t)		0	/* a fallback slot bound like a live one */
#else
#define FBX(t)		fb[t]
#endif
#ifdef MM_CID
#define ID(t)		cid[t]
#else
#define ID(t)		cpu[t]
#endif
#define TAGOF(t)	(FBX(t) -> FB_TAG : tags[ID(t)])
/* vrseq_slot_observe(): a fallback token has generation 0 and the real id. */
#define OBSERVE(t)	(FBX(t) -> ID(t) : tags[ID(t)])
/* vrseq_slot_commit()'s guard: generation 0 or retired, computed as in C. */
#define REFUSED(tok)	(((GEN(tok) + TAGMOD - GONE) % TAGMOD) >= GMASK - GONE)
/* What the caller computes for token tok: 0 (take the slow path, commit
 * nothing) when a drain stopped its id, read after the observation. */
#ifdef CAS
#define COMPUTE(tok)	(stopped[(tok) & IDMASK] -> 0 : VAL((tok) & IDMASK))
#else
#define COMPUTE(tok)	VAL((tok) & IDMASK)
#endif
/* The tag a building-block section checks: with MM_CID the _M blocks that
 * read cpu_id_start instead of mm_cid (x86_64.h warns against the mix-up). */
#if defined(BROKEN_CID_READS_CPU)
#define CSTAG(t)	tags[cpu[t]]
#else
#define CSTAG(t)	TAGOF(t)
#endif

/* Context switch: t runs on cpu[t]; whoever of ours ran there was preempted. */
#define SW(t)								\
	if								\
	:: running[cpu[t]] != t ->					\
		if							\
		:: running[cpu[t]] < NT && cpu[running[cpu[t]]] == cpu[t] && \
		   in_cs[running[cpu[t]]] -> abrt[running[cpu[t]]] = 1	\
		:: else -> skip						\
		fi;							\
		running[cpu[t]] = t					\
	:: else -> skip							\
	fi

/* (a)-(d) for a value v that thread t has just validated. */
#define CHECK_VALID(t, v)						\
	assert(!fb[t]);				/* (d) */		\
	assert(v != 0 && (okv[t] & (1 << v)));	/* (c) */		\
	assert(VCPU(v) == ID(t));		/* (b) */		\
	assert(VEP(v) >= fenced[ID(t)])		/* (a) */

/* The tag after one advance of x (advance(): a retired tag stays). */
#if defined(BROKEN_WRAP_ZERO)
#define NEXT(x)		((x + GONE) % TAGMOD)
#define STAYS(x)	false
#elif defined(BROKEN_WRAP_OLD)
#define NEXT(x)		(GEN(x) == GMASK -> (x & IDMASK) + GONE : x + GONE)
#define STAYS(x)	false
#else
#define NEXT(x)		(x + GONE)
#define STAYS(x)	(GEN(x) == RETIRED)
#endif

#ifdef NO_PROP_E
#define PROP_E(c, n)	skip
#else
#define PROP_E(c, n)	assert(GEN(n) != 0 && !(seen[c] & (1 << (n))))	/* (e) */
#endif

/* Store the advanced tag n of id c and the ghost epoch. */
#define SET_TAG(c, n)							\
	PROP_E(c, n);							\
	seen[c] = seen[c] | (1 << (n));					\
	tags[c] = n;							\
	epoch[c]++

/* advance() of src/fence.c for one id: a release CAS loop, atomic here.
 * A variant whose fence does not advance still counts the epoch: the
 * fence happened and promises what a fence promises. */
#define TRUE_ADVANCE(c)							\
	if								\
	:: STAYS(tags[c]) -> skip					\
	:: else -> SET_TAG(c, NEXT(tags[c]))				\
	fi
#ifdef BROKEN_NO_GEN_ADVANCE
#define ADVANCE(c)	epoch[c]++	/* the fence happened; the tag stays */
#else
#define ADVANCE(c)	TRUE_ADVANCE(c)
#endif
/* vrseq_fence_mm_cid()'s advance(cid_tags, cid, 1) */
#ifdef BROKEN_CID_NO_ADVANCE
#define CID_ADVANCE(c)	epoch[c]++
#else
#define CID_ADVANCE(c)	ADVANCE(c)
#endif
/* vrseq_fence_all()'s advance of the array the model holds */
#if defined(MM_CID) && defined(BROKEN_ALL_NO_CID)
#define ALL_ADVANCE(c)	epoch[c]++	/* cpu_tags only: cid_tags stay */
#else
#define ALL_ADVANCE(c)	ADVANCE(c)
#endif

/* membarrier(PRIVATE_EXPEDITED_RSEQ) on CPU c: the IPI aborts the section
 * of the thread of ours running there. */
#define IPI(c)								\
	if								\
	:: running[c] < NT && cpu[running[c]] == c && in_cs[running[c]] -> \
		abrt[running[c]] = 1					\
	:: else -> skip							\
	fi

/* visit_cpus(): sched_setaffinity({c}); it returns with us running on c. */
#define VISIT(me, c)							\
	d_step {							\
		if							\
		:: running[cpu[me]] == me -> running[cpu[me]] = NT	\
		:: else -> skip						\
		fi;							\
		cpu[me] = c;						\
		SW(me)							\
	}

#ifdef BROKEN_NO_IPI
#define INTERRUPT(me, c, all)	skip
#else
#define INTERRUPT(me, c, all)						\
	if								\
	:: !affinity -> d_step { if :: all -> IPI(0); IPI(1) :: else -> IPI(c) fi } \
	:: else ->							\
		if							\
		:: all -> VISIT(me, 0); VISIT(me, 1)			\
		:: else -> VISIT(me, c)					\
		fi;							\
		/* restore the saved (full) mask: anywhere */		\
		atomic {						\
			if						\
			:: running[cpu[me]] == me -> running[cpu[me]] = NT \
			:: else -> skip					\
			fi;						\
			if :: cpu[me] = 0 :: cpu[me] = 1 fi		\
		}							\
	fi
#endif

#define MAX(a, b)	(a > b -> a : b)

/*
 * vrseq_slot_store(): observe, compute (the value is a function of the
 * token), vrseq_slot_commit(). The steps between atomics are where other
 * threads and the kernel can interleave.
 */
inline slot_store(t, tok, v, ret, again)
{
	again = 0;
	d_step { SW(t); tok = OBSERVE(t); v = COMPUTE(tok) };
	/* compute outside any section */
	d_step {
		SW(t);
		if
		:: v == 0 -> ret = UNCACHED	/* stopped: no commit at all */
		:: else ->
#ifndef BROKEN_NO_CLEAR
			stag[t] = 0;		/* vrseq_slot_clear() */
#endif
			if
			:: REFUSED(tok) || FBX(t) -> ret = UNCACHED
			:: else -> ret = ABORTED
			fi
		fi
	};
	do
	:: ret != ABORTED -> break
	:: else ->
#if !defined(BROKEN_CLEAR_ONCE) && !defined(BROKEN_NO_CLEAR)
		/* vrseq_slot_clear() after every aborted attempt (vrseq.h);
		 * its own step: a handler may run before or after it */
		if
		:: again -> d_step { SW(t); stag[t] = 0 }
		:: else -> skip
		fi;
		again = 1;
#endif
		/* vrseq_arch_commit(): VRSEQ_CS_BEGIN */
		d_step { SW(t); in_cs[t] = 1; abrt[t] = 0 };
		/* CHECK_TAG: tags[*id] == token */
		d_step {
			SW(t);
			if
			:: abrt[t] -> in_cs[t] = 0
#ifndef BROKEN_NO_CS_CHECK
			:: !abrt[t] && TAGOF(t) != tok -> in_cs[t] = 0; ret = INVALIDATED
			:: !abrt[t] && TAGOF(t) == tok -> skip
#else
			:: !abrt[t] -> skip
#endif
			fi
		};
		if
		:: ret == INVALIDATED -> break
		:: in_cs[t] == 0 -> skip	/* aborted: retry */
		:: else ->
			d_step {		/* movq value, (slot) */
				SW(t);
				if
				:: abrt[t] -> in_cs[t] = 0
				:: else -> sval[t] = v
				fi
			};
			d_step {		/* movq token, 8(slot): commits */
				SW(t);
				if
				:: abrt[t] -> in_cs[t] = 0
				:: else ->
					stag[t] = tok; in_cs[t] = 0;
					ret = COMMITTED;
					okv[t] = okv[t] | (1 << v)
				fi
			}
		fi
	od
}

/* vrseq_slot_load(): a snapshot; valid means tags[*id] == slot->tag. */
inline slot_load(t)
{
	d_step {
		SW(t);
		if
		:: TAGOF(t) == stag[t] -> CHECK_VALID(t, sval[t])
		:: else -> skip
		fi
	}
}

/*
 * A building-block section: VRSEQ_CS_BEGIN, VRSEQ_CS_SLOT_LOAD(v, invalid),
 * use v, the committing store (asserted: what is used must be valid),
 * VRSEQ_CS_END(aborted). One attempt; an abort or invalid ends it.
 */
inline fast_path(t, v, ok)
{
#ifdef BROKEN_NO_CS_CHECK
	/* validated outside the section (vrseq_slot_load()), used inside */
	d_step { SW(t); ok = (TAGOF(t) == stag[t]); v = sval[t] };
#endif
	d_step { SW(t); in_cs[t] = 1; abrt[t] = 0 };
	d_step {
		SW(t);
		if
		:: abrt[t] -> in_cs[t] = 0
#ifndef BROKEN_NO_CS_CHECK
		:: !abrt[t] && CSTAG(t) != stag[t] -> in_cs[t] = 0
		:: !abrt[t] && CSTAG(t) == stag[t] -> v = sval[t]
#else
		:: !abrt[t] && !ok -> in_cs[t] = 0
		:: !abrt[t] && ok -> skip
#endif
		fi
	};
	d_step {			/* the committing store */
		SW(t);
		if
		:: in_cs[t] && abrt[t] -> in_cs[t] = 0
		:: in_cs[t] && !abrt[t] -> CHECK_VALID(t, v); in_cs[t] = 0
		:: else -> skip
		fi
	}
}

#ifdef CAS
/* The section's check: VRSEQ_CS_SLOT_LOAD + cmpq value (cas_value), or
 * VRSEQ_CS_SLOT_CHECK alone (cas). */
#ifdef BROKEN_CAS_NO_CHECK
#define CAS_TAG_OK(t)		true	/* the caller's load was the check */
#else
#define CAS_TAG_OK(t)		(TAGOF(t) == stag[t])
#endif
#if defined(CAS_PLAIN) || defined(BROKEN_CAS_NO_VALUE)
#define CAS_VAL_OK(t, cv)	true
#else
#define CAS_VAL_OK(t, cv)	(sval[t] == cv)
#endif
#ifdef BROKEN_CAS_NO_COMPARE
#define CAS_CMP_OK(cw, cexp)	true	/* loaded outside, stored back inside */
#else
#define CAS_CMP_OK(cw, cexp)	(w[cw] == cexp)
#endif
#ifdef CAS_PLAIN
#define PROP_F(t, cv)		skip	/* vrseq_slot_cas() promises no value */
#else
#define PROP_F(t, cv)		assert(sval[t] == cv)			/* (f) */
#endif

/*
 * The caller: vrseq_slot_load(); if valid, cv is the per-id data it points
 * to, cw the id of that data's word and cexp the word loaded outside any
 * section (tcmalloc's Grow); then vrseq_slot_cas_value(slot, cv, &w[cw],
 * cexp, cexp + 1), or vrseq_slot_cas(slot, &w[cw], ...) with CAS_PLAIN:
 * vrseq_slot_usable(), then vrseq_arch_cas*() while ABORTED.
 */
inline slot_cas(t, cv, cw, cexp, ret)
{
	d_step {
		SW(t);
		if
		:: TAGOF(t) == stag[t] ->
			CHECK_VALID(t, sval[t]);
			cv = sval[t]; cw = VCPU(cv); cexp = w[cw]; ret = ABORTED
		:: else -> ret = INVALIDATED	/* the uncached path */
		fi
	};
	do
	:: ret != ABORTED -> break
	:: else ->
		d_step { SW(t); in_cs[t] = 1; abrt[t] = 0 };	/* VRSEQ_CS_BEGIN */
		d_step {
			SW(t);
			if
			:: abrt[t] -> in_cs[t] = 0
			:: !abrt[t] && !(CAS_TAG_OK(t) && CAS_VAL_OK(t, cv)) ->
				in_cs[t] = 0; ret = INVALIDATED
			:: !abrt[t] && CAS_TAG_OK(t) && CAS_VAL_OK(t, cv) -> skip
			fi
		};
		if
		:: ret == INVALIDATED -> break
		:: in_cs[t] == 0 -> skip	/* aborted: retry */
		:: else ->
			d_step {		/* cmpq expected, (word); jne changed */
				SW(t);
				if
				:: abrt[t] -> in_cs[t] = 0
				:: !abrt[t] && !CAS_CMP_OK(cw, cexp) -> in_cs[t] = 0; ret = CHANGED
				:: !abrt[t] && CAS_CMP_OK(cw, cexp) -> skip
				fi
			};
			if
			:: ret == CHANGED -> break
			:: in_cs[t] == 0 -> skip
			:: else ->
				d_step {	/* movq desired, (word): commits */
					SW(t);
					if
					:: abrt[t] -> in_cs[t] = 0
					:: else ->
						CHECK_VALID(t, sval[t]);	/* (a)-(d) */
						PROP_F(t, cv);
						assert(w[cw] == cexp);		/* (g) */
						w[cw] = cexp + 1;
						in_cs[t] = 0; ret = COMMITTED
					fi
				}
			fi
		fi
	od
}
#endif

inline signal_handler(t, tok, v)
{
	/* The handler's own vrseq_slot_store() or CAS, atomic here: its
	 * section's interruptions are those of the thread's, modelled above. */
	SW(t);
	if
	:: true ->
		tok = OBSERVE(t);
		v = COMPUTE(tok);
		if
		:: v == 0 -> skip		/* stopped: the slow path */
		:: else ->
			stag[t] = 0;
			if
			:: !(REFUSED(tok) || FBX(t)) && TAGOF(t) == tok ->
				sval[t] = v; stag[t] = tok;
				okv[t] = okv[t] | (1 << v)
			:: else -> skip
			fi
		fi
#ifdef CAS
	:: TAGOF(t) == stag[t] && sval[t] != 0 ->	/* load valid, CAS */
		w[VCPU(sval[t])]++
#endif
	fi
}

active proctype kernel()
{
	byte t, htok, hv;

	ready;

	do
	:: kev > 0 || sigs > 0 ->
		atomic {
			if :: t = 0 :: kev > 0 -> t = 1 fi;
			if
#ifdef MM_CID
			:: kev > 0 && (in_cs[t] || t == 0) ->
#else
			:: kev > 0 && in_cs[t] ->
#endif
				/* preemption by another process (outside a
				 * section it changes nothing SW() misses,
				 * but with MM_CID the cid) */
				kev--;
				if :: in_cs[t] -> abrt[t] = 1 :: else -> skip fi;
				if
				:: running[cpu[t]] == t -> running[cpu[t]] = NT
				:: else -> skip
				fi
#ifdef MM_CID
				;
				if
				:: t == 0 -> if :: cid[0] = 0 :: cid[0] = 1 fi
				:: else -> skip
				fi
#endif
			:: kev > 0 ->		/* migration */
				kev--;
				if :: in_cs[t] -> abrt[t] = 1 :: else -> skip fi;
				if
				:: running[cpu[t]] == t -> running[cpu[t]] = NT
				:: else -> skip
				fi;
				cpu[t] = 1 - cpu[t]
#ifdef MM_CID
				;
				if
				:: t == 0 -> if :: cid[0] = 0 :: cid[0] = 1 fi
				:: else -> skip
				fi
#endif
			:: sigs > 0 && t == 0 ->	/* signal: abort, run handler */
				sigs--;
				if :: in_cs[t] -> abrt[t] = 1 :: else -> skip fi;
				signal_handler(t, htok, hv)
			fi;
			t = 0; htok = 0; hv = 0
		}
	:: else -> break
	od
}

/* vrseq_fence_cpu(c) by thread me. */
inline fence_cpu(me, c, old, tries, done, myep)
{
	done = 0;
	tries = 0;
	/* advance_own_cpu(): only a bound, non-fallback thread */
	do
	:: fb[me] || tries >= OWN_TRIES || done -> break
	:: else ->
		tries++;
		d_step {
			SW(me);
			old = tags[c];
			if
			:: cpu[me] != c || GEN(old) == RETIRED -> tries = OWN_TRIES
			:: else -> skip
			fi
		};
		if
		:: tries >= OWN_TRIES -> break
		:: else -> skip
		fi;
#ifdef BROKEN_OWN_NO_CS
		/* the cmpxchg outside any section, no recheck */
		d_step {
			SW(me);
			if
			:: tags[c] == old -> SET_TAG(c, old + GONE); myep = epoch[c]; done = 1
			:: else -> skip
			fi
		}
#else
		d_step { SW(me); in_cs[me] = 1; abrt[me] = 0 };
		d_step {		/* cmpl cpu, (area); jne */
			SW(me);
			if
			:: abrt[me] -> in_cs[me] = 0
			:: !abrt[me] && cpu[me] != c -> in_cs[me] = 0; tries = OWN_TRIES
			:: !abrt[me] && cpu[me] == c -> skip
			fi
		};
		d_step {		/* lock cmpxchg: commits */
			SW(me);
			if
			:: in_cs[me] && abrt[me] -> in_cs[me] = 0
			:: in_cs[me] && !abrt[me] ->
				in_cs[me] = 0;
				if
#ifdef BROKEN_OWN_PLAIN_STORE
				:: true -> SET_TAG(c, old + GONE); myep = epoch[c]; done = 1	/* movq */
#else
				:: tags[c] == old -> SET_TAG(c, old + GONE); myep = epoch[c]; done = 1
				:: else -> skip		/* another fencer: retry */
#endif
				fi
			:: else -> skip
			fi
		}
#endif
	od;
	if
	:: done -> skip
	:: else ->
#ifdef BROKEN_ADVANCE_RACY
		/* advance() as a relaxed load and a plain store */
		d_step { SW(me); old = tags[c] };
		d_step {
			SW(me);
			if
			:: STAYS(old) -> skip
			:: else -> SET_TAG(c, NEXT(old))
			fi;
			myep = epoch[c]
		};
#else
		d_step { SW(me); ADVANCE(c); myep = epoch[c] };
#endif
		INTERRUPT(me, c, false)
	fi;
	fenced[c] = MAX(fenced[c], myep)	/* returns */
}

/* vrseq_fence_mm_cid(k) by thread me: no own-CPU path. */
inline fence_mm_cid(me, k, myep)
{
	d_step { SW(me); CID_ADVANCE(k); myep = epoch[k] };
#ifdef BROKEN_CID_ONE_CPU
	INTERRUPT(me, k, false);	/* interrupt(cid): as if it were a CPU */
#else
	INTERRUPT(me, k, true);		/* interrupt(-1): any CPU may hold k */
#endif
	fenced[k] = MAX(fenced[k], myep)	/* returns */
}

#ifdef MM_CID
#define FENCE_ID(me, c, old, tries, done, myep)	fence_mm_cid(me, c, myep)
#else
#define FENCE_ID(me, c, old, tries, done, myep)	fence_cpu(me, c, old, tries, done, myep)
#endif

inline fence_all(me, e0, e1)
{
	d_step { SW(me); ALL_ADVANCE(0); e0 = epoch[0] };
	d_step { SW(me); ALL_ADVANCE(1); e1 = epoch[1] };
	INTERRUPT(me, 0, true);
	d_step { fenced[0] = MAX(fenced[0], e0); fenced[1] = MAX(fenced[1], e1) }
}

#ifdef CAS
/* Drain id c (tcmalloc's per-CPU cache drain): mark it stopped, fence it,
 * then its word is the fencer's: a plain store, outside any section. */
inline drain(me, c, old, tries, done, myep)
{
	d_step { SW(me); stopped[c] = 1 };
	FENCE_ID(me, c, old, tries, done, myep);
	d_step { SW(me); w[c]++ }
}
#endif

active proctype worker()
{
	byte ops = WOPS, tok, v, ret, cv, cw, cexp, old, tries, myep;
	bit ok, again, done;

	ready;
	do
	:: ops > 0 ->
		ops--;
		if
		:: true -> slot_store(0, tok, v, ret, again)
#ifdef CAS
		:: ops < WOPS - 1 -> slot_cas(0, cv, cw, cexp, ret)	/* not first */
#else
		:: ops < WOPS - 1 -> fast_path(0, v, ok)	/* not first: */
		:: ops < WOPS - 1 -> slot_load(0)	/* nothing to read yet */
#endif
#ifdef WORKER_FENCES
		:: true -> FENCE_ID(0, 0, old, tries, done, myep)
		:: true -> FENCE_ID(0, 1, old, tries, done, myep)
#endif
		fi;
		tok = 0; v = 0; ret = 0; ok = 0; again = 0;	/* dead: forget */
		cv = 0; cw = 0; cexp = 0; old = 0; tries = 0; myep = 0; done = 0
	:: else -> break
	od
}

active proctype fencer()
{
	byte ops = FOPS, old, tries, myep, e1, tok, v, ret;
	bit done, again;

	ready;
	do
	:: ops > 0 ->
		ops--;
		if
#if defined(CAS)
		:: true -> drain(1, 0, old, tries, done, myep)
		:: true -> drain(1, 1, old, tries, done, myep)
#elif defined(MM_CID)
		:: true -> fence_mm_cid(1, 0, myep)
		:: true -> fence_mm_cid(1, 1, myep)
		:: true -> fence_all(1, myep, e1)
#else
		:: true -> fence_cpu(1, 0, old, tries, done, myep)
		:: true -> fence_cpu(1, 1, old, tries, done, myep)
		:: true -> fence_all(1, myep, e1)
#endif
		/* its slot: (d) when in fallback (else it is the worker's case) */
		:: fb[1] -> slot_store(1, tok, v, ret, again)
		:: fb[1] -> slot_load(1)
		fi;
		old = 0; tries = 0; myep = 0; e1 = 0; tok = 0; v = 0; ret = 0;
		done = 0; again = 0		/* dead: forget */
	:: else -> break
	od
}

init
{
	atomic {
		tags[0] = GONE | 0;	/* setup_tags(): VRSEQ_TAG_FIRST | i */
		tags[1] = GONE | 1;
		seen[0] = 1 << tags[0];
		seen[1] = 1 << tags[1];
		running[0] = NT; running[1] = NT;
		cpu[0] = 0;
		if :: cpu[1] = 0 :: cpu[1] = 1 fi;
#ifdef MM_CID
		cid[0] = 0; cid[1] = 1;
#endif
#ifdef AFFINITY
		affinity = 1;		/* no membarrier-rseq: visit_cpus() */
#endif
#ifdef FENCER_FALLBACK
		fb[1] = 1;		/* the fencing thread has no usable rseq */
#endif
		ready = 1
	}
}
