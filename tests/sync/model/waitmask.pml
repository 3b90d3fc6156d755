/*
 * Model of the masked wait (src/sync/wait.c, sk_wait_masked / sk_wake_masked), as the
 * channels use it: receivers sleep on a sequence word, each with its own bit in a sleepers
 * mask; a sender publishes a message, then, if any bit is set, bumps the word and wakes every
 * sleeper. A victim receiver may die at any step, its bit set or not (the reaper that clears
 * a dead one's bit is left out: a bit left set costs wake-ups, never a lost one).
 *
 * The kernel futex is modelled as in cond.pml: FUTEX_WAIT compares and queues atomically,
 * FUTEX_WAKE dequeues. The poll tick of the real loop is left out, so that a lost wake-up is
 * an invalid end state (a receiver asleep for ever with a message there).
 *
 * Checked: every live receiver gets a message, none sleeps on with one there. Broken variants
 * that must be caught:
 *   -DBROKEN_SHARED_BIT   all waiters share one bit (a flag): one that leaves clears it for
 *                         another that still sleeps;
 *   -DBROKEN_CHECK_FIRST  the waiter checks the ring before it sets its bit.
 * (The waker wakes all because broadcast receivers each want every message; here, where each
 * message goes to one receiver, waking one per message would do too.)
 */
#define RECEIVERS 2
#define NPROC     (RECEIVERS + 1)
#define ITEMS     (RECEIVERS + 1)

byte seq;
byte mask;
byte items;
bool queued[NPROC];

inline futex_wait(expected, me) {
	atomic {
		if
		:: seq != expected -> skip
		:: else -> queued[me] = true
		fi
	}
	(!queued[me])
}

inline futex_wake() {
	atomic {
		queued[0] = false; queued[1] = false; queued[2] = false
	}
}

/* check(): read the word, then the ring (take a message if there is one). */
inline check(expect, got) {
	expect = seq;
	atomic { if :: items > 0 -> items--; got = true :: else -> skip fi }
}

inline die() {
	if
	:: victim -> goto dead
	:: true -> skip
	fi
}

proctype receiver(byte me; bool victim)
{
	byte expect, mybit;
	bool got = false;
#ifdef BROKEN_SHARED_BIT
	mybit = 1;
#else
	mybit = 1 << me;
#endif
	check(expect, got);
	if
	:: got -> goto done
	:: else -> skip
	fi;
#ifdef BROKEN_CHECK_FIRST
	check(expect, got);
	die();
	atomic { mask = mask | mybit };
#else
	atomic { mask = mask | mybit };
	die();
	check(expect, got);
#endif
	do
	:: got -> break
	:: else ->
		die();
		futex_wait(expect, me);
		die();
		check(expect, got)
	od;
	atomic { mask = mask & ~mybit };
done:	skip;
dead:	skip
}

active proctype sender()
{
	byte i;
	for (i : 1 .. ITEMS) {
		items++;
		if
		:: mask != 0 -> seq++; futex_wake()
		:: else -> skip
		fi
	}
}

init {
	atomic {
		run receiver(0, false);
		run receiver(1, false);
		run receiver(2, true)
	}
}
