/*
 * Model of the shmkit condition variable (src/sync/cond.c) with the waiters hint.
 *
 * A producer hands out ITEMS items, one signal each; CONSUMERS consumers and a victim take one
 * each with the canonical predicate loop. The victim may be killed at any step of cond_wait. The kernel futex is modelled exactly as far as ordering goes:
 * FUTEX_WAIT compares and queues atomically, FUTEX_WAKE dequeues up to n sleepers.
 * The mutex is an ideal lock here (its own model is mutex.pml).
 *
 * Checked: no item lost or taken twice (assert), mutual exclusion (assert in unlock), and no
 * end state with a consumer asleep: a lost wake-up is an invalid end state.
 */
#define CONSUMERS 2
#define ITEMS     3   /* one per consumer and one for the victim, if it lives */
#define NPROC     (CONSUMERS + 1)   /* consumers + the victim; pids 0..NPROC-1 */

byte lock = 255;          /* owner or 255 */
byte seq;                 /* futex word (wraps at 256: no ABA within this bound) */
byte waiters;             /* hint */
bool queued[NPROC];
byte items;
byte consumed;

inline mutex_lock(me)   { atomic { lock == 255 -> lock = me } }
inline mutex_unlock(me) { assert(lock == me); lock = 255 }

inline futex_wait(expected, me) {
	atomic {
		if
		:: seq != expected -> skip
		:: else -> queued[me] = true
		fi
	}
	(!queued[me])
}

inline futex_wake_one() {
	atomic {
		if
		:: queued[0] -> queued[0] = false
		:: queued[1] -> queued[1] = false
		:: queued[2] -> queued[2] = false
		:: else -> skip
		fi
	}
}

/* cond_wait: waiters++ ; s = seq ; unlock ; wait until seq != s ; waiters-- ; lock */
inline cond_wait(me) {
	byte s;
	waiters++;
	s = seq;
	mutex_unlock(me);
	do
	:: seq == s -> futex_wait(s, me)
	:: else -> break
	od;
	waiters--;
	mutex_lock(me)
}

inline cond_signal() {
	seq++;
	if
	:: waiters > 0 -> futex_wake_one()
	:: else -> skip
	fi
}

active [CONSUMERS] proctype consumer()
{
	byte me = _pid;   /* producer and victim are started after the consumers */
	mutex_lock(me);
	do
	:: items > 0 -> break
	:: else -> cond_wait(me)
	od;
	atomic { items--; consumed++ }
	mutex_unlock(me)
}

/* A third consumer, killed (kill -9: no cleanup runs) at a nondeterministic step. */
active proctype victim()
{
	byte me = _pid;
	byte s;
	mutex_lock(me);
	do
	:: items > 0 -> break
	:: else ->
		waiters++;
		if :: atomic { lock = 255; goto done } :: skip fi; /* see "holding" below */
		s = seq;
		mutex_unlock(me);
		if :: goto done :: skip fi;
		atomic {
			if
			:: seq != s -> skip
			:: else -> queued[me] = true
			fi
		}
		if
		:: atomic { queued[me] -> queued[me] = false; goto done } /* killed asleep */
		:: !queued[me] -> skip                                     /* woken */
		fi;
		/* Not modelled: a death between being woken and relocking. That waiter absorbs
		 * the one FUTEX_WAKE of a signal, like a woken thread that dies; broadcasts and
		 * later signals are unaffected (documented in shmkit_sync(3)). */
		waiters--;
		mutex_lock(me);
		/* Killed holding the mutex ("holding"): the robust mutex gives the next locker
		 * EOWNERDEAD and it carries on (mutex.pml checks that), so the lock is freed. */
		if :: atomic { lock = 255; goto done } :: skip fi
	od;
	atomic { items--; consumed++ }
	mutex_unlock(me);
done:
	skip
}

active proctype producer()
{
	byte me = _pid;
	byte n;
	do
	:: n < ITEMS ->
		mutex_lock(me);
		items++;
		mutex_unlock(me);
		cond_signal();
		n++
	:: else -> break
	od;
	(consumed >= CONSUMERS);
	assert(items + consumed == ITEMS)
}
