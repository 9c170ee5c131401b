/* SPDX-License-Identifier: MIT */
/*
 * vrseq-slot.pml: SPIN model of vrseq's slot protocol (vrseq(7), "How it
 * works", "Fences", "Fallback"). Checked by tests/test-model.sh; see
 * doc/model.md for bounds, abstractions and measured state counts.
 *
 * MAPPING TO THE C CODE
 *   tags[c]        vrseq__proc.cpu_tags[c] (src/init.c setup_tags: gen 1|c,
 *                  VRSEQ_TAG_FIRST); tag = gen << ID_BITS | id, ID_BITS = 1,
 *                  GEN_BITS = 2 (the C code has 20 and 44), so generation 1,
 *                  2 are live, 3 (all ones) is VRSEQ_TAG_RETIRED, 0 never live.
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
 *   proctype kernel: preemption (by another process), migration, signal
 *                  delivery (the handler runs vrseq_slot_store() on the same
 *                  slot, as vrseq(7) "Async-signal safety" allows), bounded
 *                  by KEV events, SIGS of them signals.
 *   proctype worker (thread 0): vrseq_slot_store() = vrseq_slot_observe() +
 *                  vrseq_slot_commit() (vrseq.h) with vrseq_arch_commit()
 *                  (arch/x86_64.h: CHECK_TAG then value store, then the
 *                  committing tag store; retry while ABORTED);
 *                  fast path = VRSEQ_CS_BEGIN, VRSEQ_CS_SLOT_LOAD, use,
 *                  committing store, VRSEQ_CS_END; vrseq_slot_load() snapshot.
 *   proctype fencer (thread 1): vrseq_fence_cpu() (src/fence.c: own-CPU path
 *                  advance_own_cpu()/advance_on_cpu(), else advance() +
 *                  interrupt()), vrseq_fence_all(); interrupt() by
 *                  membarrier(PRIVATE_EXPEDITED_RSEQ) (IPI aborts the section
 *                  running on the target CPU) or visit_cpus() (the affinity
 *                  fallback: run on each CPU, which preempts it). Its own slot
 *                  may be a fallback slot (nondeterministic), then it also
 *                  stores and loads into that slot.
 *
 * GHOST STATE (not in the C code, for the properties)
 *   value v = 1 + cpu + 2 * epoch: the value computed for the observed token
 *   (VCPU, the token's id) under the observation's epoch (VEP); 0 = never
 *   committed. epoch[c] counts real advances of tags[c]; fenced[c] = the
 *   epoch the last returned fence of c produced; seen[c] = tags c has held;
 *   okv[t] = values whose commit returned VRSEQ_COMMITTED.
 *
 * PROPERTIES (assertions; the message names the property)
 *   (a) a value used by a committing section or returned valid by a load
 *       was observed at an epoch no returned fence of its CPU has passed.
 *   (b) it was computed for the CPU the thread is on.
 *   (c) it was written by a commit of this thread that returned COMMITTED.
 *   (d) a fallback slot never validates.
 *   (e) an advance never produces generation 0 or a tag the CPU held before.
 *
 * KNOBS (tests/test-model.sh builds every variant from this file):
 *   configurations: -DAFFINITY (fence_method = VRSEQ_FENCE_AFFINITY, else
 *   membarrier), -DFENCER_FALLBACK (thread 1's slot is a fallback slot),
 *   bounds -DKEV= (preemptions + migrations) -DSIGS= -DWOPS= -DFOPS=
 *   -DOWN_TRIES=;
 *   -DCLEAR_EACH_ATTEMPT: the fix for the bug this model found in 0.4.0
 *   (doc/model.md "Finding"): vrseq_slot_commit() clears the tag once,
 *   before its retry loop, so a signal handler's commit in between leaves
 *   a live tag under which an aborted attempt's value store then validates.
 *   Without the knob the model is the code as it stands and fails (b)/(c);
 *   broken variants: -DBROKEN_NO_GEN_ADVANCE -DBROKEN_NO_CS_CHECK
 *   -DBROKEN_NO_IPI -DBROKEN_OWN_NO_CS -DBROKEN_WRAP_ZERO -DBROKEN_WRAP_OLD
 *   -DBROKEN_NO_CLEAR -DBROKEN_FALLBACK_LIVE; -DNO_PROP_E drops (e) to
 *   show what a wrap leads to.
 *
 * ABSTRACTIONS (doc/model.md): sequential consistency (ordering is in
 * doc/litmus/), the handler's commit is atomic, one signal level, one
 * fencer, no MM_CID array, no vrseq_slot_cas() word.
 */

#define NT	2		/* threads: 0 worker, 1 fencer */
#define NC	2		/* CPUs */
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
#define TAGOF(t)	(FBX(t) -> FB_TAG : tags[cpu[t]])
/* vrseq_slot_observe(): a fallback token has generation 0 and the real id. */
#define OBSERVE(t)	(FBX(t) -> cpu[t] : tags[cpu[t]])
/* vrseq_slot_commit()'s guard: generation 0 or retired, computed as in C. */
#define REFUSED(tok)	(((GEN(tok) + TAGMOD - GONE) % TAGMOD) >= GMASK - GONE)

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
	assert(VCPU(v) == cpu[t]);		/* (b) */		\
	assert(VEP(v) >= fenced[cpu[t]])	/* (a) */

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

/* Store the advanced tag n of CPU c and the ghost epoch. */
#define SET_TAG(c, n)							\
	PROP_E(c, n);							\
	seen[c] = seen[c] | (1 << (n));					\
	tags[c] = n;							\
	epoch[c]++

/* advance() of src/fence.c for one id: a release CAS loop, atomic here. */
#ifdef BROKEN_NO_GEN_ADVANCE
#define ADVANCE(c)	epoch[c]++	/* the fence happened; the tag stays */
#else
#define ADVANCE(c)							\
	if								\
	:: STAYS(tags[c]) -> skip					\
	:: else -> SET_TAG(c, NEXT(tags[c]))				\
	fi
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
	d_step { SW(t); tok = OBSERVE(t); v = VAL(tok & IDMASK) };
	/* compute outside any section */
	d_step {
		SW(t);
#ifndef BROKEN_NO_CLEAR
		stag[t] = 0;		/* vrseq_slot_clear() */
#endif
		if
		:: REFUSED(tok) || FBX(t) -> ret = UNCACHED
		:: else -> ret = ABORTED
		fi
	};
	do
	:: ret != ABORTED -> break
	:: else ->
#if defined(CLEAR_EACH_ATTEMPT) && !defined(BROKEN_NO_CLEAR)
		/* the fix: clear again before every retry, its own step */
		if
		:: ret == ABORTED && again -> d_step { SW(t); stag[t] = 0 }
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
		:: !abrt[t] && TAGOF(t) != stag[t] -> in_cs[t] = 0
		:: !abrt[t] && TAGOF(t) == stag[t] -> v = sval[t]
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

inline signal_handler(t, tok, v, ret)
{
	/* The handler's own vrseq_slot_store(), atomic here: its section's
	 * interruptions are those of the thread's, modelled above. */
	SW(t);
	tok = OBSERVE(t);
	v = VAL(tok & IDMASK);
	stag[t] = 0;
	if
	:: !(REFUSED(tok) || FBX(t)) && TAGOF(t) == tok ->
		sval[t] = v; stag[t] = tok;
		okv[t] = okv[t] | (1 << v)
	:: else -> skip
	fi
}

active proctype kernel()
{
	byte t, htok, hv, hret;

	ready;

	do
	:: kev > 0 || sigs > 0 ->
		atomic {
			if :: t = 0 :: kev > 0 -> t = 1 fi;
			if
			:: kev > 0 && in_cs[t] ->	/* preemption by another
						 * process (outside a section it
						 * changes nothing SW() misses) */
				kev--;
				abrt[t] = 1;
				if
				:: running[cpu[t]] == t -> running[cpu[t]] = NT
				:: else -> skip
				fi
			:: kev > 0 ->		/* migration */
				kev--;
				if :: in_cs[t] -> abrt[t] = 1 :: else -> skip fi;
				if
				:: running[cpu[t]] == t -> running[cpu[t]] = NT
				:: else -> skip
				fi;
				cpu[t] = 1 - cpu[t]
			:: sigs > 0 && t == 0 ->	/* signal: abort, run handler */
				sigs--;
				if :: in_cs[t] -> abrt[t] = 1 :: else -> skip fi;
				signal_handler(t, htok, hv, hret)
			fi;
			t = 0; htok = 0; hv = 0; hret = 0
		}
	:: else -> break
	od
}

active proctype worker()
{
	byte ops = WOPS, tok, v, ret;
	bit ok, again;

	ready;
	do
	:: ops > 0 ->
		ops--;
		if
		:: true -> slot_store(0, tok, v, ret, again)
		:: ops < WOPS - 1 -> fast_path(0, v, ok)	/* not first: */
		:: ops < WOPS - 1 -> slot_load(0)	/* nothing to read yet */
		fi;
		tok = 0; v = 0; ret = 0; ok = 0; again = 0	/* dead: forget */
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
				:: tags[c] == old -> SET_TAG(c, old + GONE); myep = epoch[c]; done = 1
				:: else -> skip		/* another fencer: retry */
				fi
			:: else -> skip
			fi
		}
#endif
	od;
	if
	:: done -> skip
	:: else ->
		d_step { SW(me); ADVANCE(c); myep = epoch[c] };
		INTERRUPT(me, c, false)
	fi;
	fenced[c] = MAX(fenced[c], myep)	/* returns */
}

inline fence_all(me, e0, e1)
{
	d_step { SW(me); ADVANCE(0); e0 = epoch[0] };
	d_step { SW(me); ADVANCE(1); e1 = epoch[1] };
	INTERRUPT(me, 0, true);
	d_step { fenced[0] = MAX(fenced[0], e0); fenced[1] = MAX(fenced[1], e1) }
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
		:: true -> fence_cpu(1, 0, old, tries, done, myep)
		:: true -> fence_cpu(1, 1, old, tries, done, myep)
		:: true -> fence_all(1, myep, e1)
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
#ifdef AFFINITY
		affinity = 1;		/* no membarrier-rseq: visit_cpus() */
#endif
#ifdef FENCER_FALLBACK
		fb[1] = 1;		/* the fencing thread has no usable rseq */
#endif
		ready = 1
	}
}
