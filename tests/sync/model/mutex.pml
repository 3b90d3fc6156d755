/*
 * Model of the shmkit robust mutex (src/sync/mutex.c) over the kernel's PI futex.
 *
 * N processes lock and unlock (one of them twice); up to MAXDEATHS of them are killed (kill -9: no
 * cleanup of ours runs) at any step. The kernel part follows kernel/futex/pi.c closely
 * enough for the races that matter:
 *  - a pi_state exists while somebody is queued, or a handoff to a waiter is pending after
 *    its owner died (exit_pi_state_list: owner NULL, top waiter gets the rt_mutex and writes
 *    its TID into the word later, in its own context: "fixup");
 *  - FUTEX_LOCK_PI: with a pi_state, attach_to_pi_state (TID 0 -> queue; TID != 0 with no
 *    kernel owner, or not the kernel owner -> EINVAL); without one, TID 0 -> take the word
 *    (keeping OWNER_DIED), live owner -> queue, dead owner -> ESRCH;
 *  - FUTEX_UNLOCK_PI hands the word to a queued waiter (WAITERS | its TID) or clears it.
 *
 * Checked: mutual exclusion among live owners; a clean lock (0) never sees a torn critical
 * section; EOWNERDEAD exactly when the previous owner died inside; once NOTRECOVERABLE every
 * locker gets ENOTRECOVERABLE; no process blocked forever (invalid end state), i.e. every
 * waiter is released whatever dies.
 */
#define N         3
#define MAXDEATHS 2

#define OK        0
#define QUEUED    1
#define ESRCH     2
#define EINVAL    3
#define EOWNERDEAD 4
#define ENOTREC   5

#define CONSISTENT   0
#define INCONSISTENT 1
#define NOTREC       2

/* The lock word: TID (pid+1, 0 = none) | WAITERS | OWNER_DIED. */
byte word_tid;
bool word_w;
bool word_od;

byte holder;   /* pid+1 inside the critical section, else 0 */
byte state = CONSISTENT;

/* Kernel state. */
bool alive[N];
bool queued[N];
byte pending;  /* pid+1 of the waiter handed the rt_mutex by an owner's death, before fixup */
byte owner_k;  /* pi_state owner (pid+1), 0 = NULL */
byte deaths;

/* Checking state. */
bool in_cs[N];
bool dirty;    /* set inside the critical section, cleared before unlock */
bool was_torn; /* the last owner died with dirty set */

#define ANYQ (queued[0] || queued[1] || queued[2])

inline pick_waiter(q) {
	if
	:: queued[0] -> q = 0
	:: queued[1] -> q = 1
	:: queued[2] -> q = 2
	fi;
	queued[q] = false
}

/* kill -9 of process me (never while the kernel still owes it a fixup). */
inline die(me) {
	alive[me] = false;
	queued[me] = false;
	deaths++;
	if
	:: in_cs[me] -> in_cs[me] = false; was_torn = dirty
	:: else -> skip
	fi;
	if
	:: owner_k == me + 1 && ANYQ -> pick_waiter(q); pending = q + 1; owner_k = 0
	:: owner_k == me + 1 && !ANYQ -> owner_k = 0
	:: else -> skip
	fi
}

#define MAYDIE                                                                                     \
	if                                                                                         \
	:: deaths < MAXDEATHS && pending != me + 1 -> atomic { die(me); goto dead }                \
	:: skip                                                                                    \
	fi

inline futex_lock_pi(me, r) {
	atomic {
		if
		:: ANYQ || pending ->  /* attach_to_pi_state */
			if
			:: word_tid == 0 -> queued[me] = true; r = QUEUED
			:: word_tid != 0 && (owner_k == 0 || owner_k != word_tid) -> r = EINVAL
			:: word_tid != 0 && owner_k != 0 && owner_k == word_tid ->
				queued[me] = true; word_w = true; r = QUEUED
			fi
		:: else ->              /* attach_to_pi_owner, or take over a TID-0 word */
			if
			:: word_tid == 0 -> word_tid = me + 1; word_w = false; r = OK
			:: word_tid != 0 && alive[word_tid - 1] ->
				owner_k = word_tid; queued[me] = true; word_w = true; r = QUEUED
			:: word_tid != 0 && !alive[word_tid - 1] -> r = ESRCH
			fi
		fi
	}
}

inline futex_unlock_pi(me) {
	atomic {
		assert(word_tid == me + 1);
		if
		:: ANYQ -> pick_waiter(q); word_tid = q + 1; word_od = false;
			word_w = ANYQ; owner_k = q + 1
		:: else -> word_tid = 0; word_w = false; word_od = false; owner_k = 0
		fi
	}
}

/* release_word(): CAS tid -> 0, else FUTEX_UNLOCK_PI. */
inline release_word(me) {
	atomic {
		if
		:: word_tid == me + 1 && !word_w && !word_od -> word_tid = 0
		:: else -> futex_unlock_pi(me)
		fi
	}
}

proctype P(byte me; byte rounds)
{
	byte r, q, t, h, st;
	bool w, d;
again:

	/* ---- lock ---- */
	if
	:: atomic { word_tid == 0 && !word_w && !word_od -> word_tid = me + 1 } -> goto acquired
	:: else -> skip
	fi;
	MAYDIE;
retry:
	futex_lock_pi(me, r);
	if
	:: r == OK -> goto got_word
	:: r == QUEUED ->
		if
		:: atomic { queued[me] && deaths < MAXDEATHS -> die(me); goto dead } /* killed queued */
		:: !queued[me] -> skip
		fi;
		atomic {
			if
			:: pending == me + 1 -> /* fixup: TID | WAITERS, keep OWNER_DIED */
				word_tid = me + 1; word_w = true; pending = 0;
				owner_k = (ANYQ -> me + 1 : 0)
			:: else -> assert(word_tid == me + 1)
			fi
		}
		goto got_word
	:: r == ESRCH || r == EINVAL -> skip
	fi;
	/* mark_owner_dead: read, ask whether the TID is dead, CAS to TID 0 | OWNER_DIED */
	atomic { t = word_tid; w = word_w; d = word_od }
	MAYDIE;
	if
	:: t == 0 -> goto retry
	:: t != 0 && alive[t - 1] -> goto retry   /* alive: ask the kernel again */
	:: t != 0 && !alive[t - 1] ->
		atomic {
			if
			:: word_tid == t && word_w == w && word_od == d -> word_tid = 0; word_od = true
			:: else -> skip
			fi
		}
		goto retry
	fi;
got_word:
	word_od = false;  /* clear_owner_died (an atomic AND in the code) */
acquired:
	assert(word_tid == me + 1);
	MAYDIE;
	atomic { h = holder; st = state }
	if
	:: st == NOTREC -> release_word(me); goto done
	:: else -> skip
	fi;
	holder = me + 1;
	atomic {
		in_cs[me] = true;
		assert(!(in_cs[(me + 1) % N] && alive[(me + 1) % N]));
		assert(!(in_cs[(me + 2) % N] && alive[(me + 2) % N]))
	}
	if
	:: h != 0 || st == INCONSISTENT ->
		state = INCONSISTENT;
		MAYDIE;
		dirty = false; was_torn = false;  /* repair */
		if
		:: state = CONSISTENT       /* consistent() */
		:: skip                     /* unlock without consistent(): NOTRECOVERABLE */
		fi
	:: else ->
		assert(!was_torn && !dirty) /* a clean lock never sees a torn section */
	fi;
	/* ---- critical section ---- */
	dirty = true;
	MAYDIE;
	dirty = false;
	/* ---- unlock ---- */
	if
	:: state == INCONSISTENT -> state = NOTREC
	:: else -> skip
	fi;
	in_cs[me] = false;
	MAYDIE;
	holder = 0;
	MAYDIE;
	release_word(me);
done:
	rounds--;
	if
	:: rounds > 0 -> goto again
	:: else -> skip
	fi;
dead:
	skip
}

init {
	atomic {
		alive[0] = true; alive[1] = true; alive[2] = true;
		run P(0, 1); run P(1, 2); run P(2, 1)
	}
}
