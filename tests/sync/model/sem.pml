/*
 * Model of the semaphore / event waiting loop (src/sync/token.c) with the waiters hint.
 *
 * WAITERS waiters each take one token, a victim waiter may be killed at any step, POSTERS
 * post POSTS tokens in total; every post wakes at most one sleeper, and only when the hint
 * says someone may sleep. The kernel futex: FUTEX_WAIT compares and queues atomically,
 * FUTEX_WAKE dequeues one sleeper, a killed sleeper is dequeued. Spin explores sequentially
 * consistent interleavings, which is what the seq_cst pairing of BARRIER_5 provides.
 *
 * Checked: no token created or lost (assert), and no waiter asleep forever while a token it
 * could take exists (invalid end state).
 */
#define WAITERS 2
#define POSTS   3   /* one per waiter and one for the victim, if it lives */

byte value;
byte waiters;
bool queued[WAITERS + 1];
byte taken;
byte posted;

inline take(ok) {
	atomic {
		if
		:: value > 0 -> value--; taken++; ok = true
		:: else -> ok = false
		fi
	}
}

inline futex_wait0(me) {
	atomic {
		if
		:: value != 0 -> skip
		:: else -> queued[me] = true
		fi
	}
}

inline wake_one() {
	atomic {
		if
		:: queued[0] -> queued[0] = false
		:: queued[1] -> queued[1] = false
		:: queued[2] -> queued[2] = false
		:: else -> skip
		fi
	}
}

active [WAITERS] proctype waiter()
{
	byte me = _pid;
	bool ok;
	take(ok);
	if
	:: ok -> goto done
	:: else -> skip
	fi;
	waiters++;
	do
	:: take(ok);
		if
		:: ok -> break
		:: else -> skip
		fi;
		futex_wait0(me);
		(!queued[me])
	od;
	waiters--;
done:
	skip
}

active proctype victim()
{
	byte me = _pid;
	bool ok;
	take(ok);
	if
	:: ok -> goto done
	:: else -> skip
	fi;
	waiters++;
	if :: goto dead :: skip fi;
	do
	:: take(ok);
		if
		:: ok -> break
		:: else -> skip
		fi;
		if :: goto dead :: skip fi;
		futex_wait0(me);
		if
		:: atomic { queued[me] -> queued[me] = false; goto dead } /* killed asleep */
		:: !queued[me] -> skip
		fi
	od;
	waiters--;
done:
	skip;
dead:
	skip
}

active [2] proctype poster()
{
	do
	:: atomic { posted < POSTS -> value++; posted++ };
		if
		:: waiters > 0 -> wake_one()
		:: else -> skip
		fi
	:: else -> break
	od
}

/* At the end every token is either taken or still counted. */
active proctype checker()
{
	timeout -> assert(value + taken == POSTS)
}
