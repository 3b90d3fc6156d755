/*
 * Model of the broadcast ring (src/chan/bcast.c: sk_bcast_send, take_slot, sk_bcast_commit,
 * resolve, abandon, sk_bcast_recv, overrun, read_slot, bcast_data), BARRIER_C2, C3 and C5 of
 * src/chan/chan.h.
 *
 * CAP slots; positions start at CAP, and slot i starts as published for position i (the lap
 * before the first, which nobody reads); readers start at tail. A slot's seq is p + 1
 * (published for p, or with ABANDONED: given up), WRITING | p (taken for p and being
 * written). WRITERS writers claim positions as MPMC senders do (announce, CAS tail), take the
 * slot from the lap before by a CAS from its finished state to WRITING | pos, write the
 * payload as two words, one step each, and publish with a CAS to pos + 1. READERS readers
 * read a slot as a seqlock: seq, the two words, seq again; the copy is delivered only if both
 * loads saw the same published seq. A reader more than a lap behind tail gets an overflow,
 * counts what it lost and goes on from tail - CAP. Each statement is one atomic step (the
 * seq_cst operations, and the acquire fence, of chan.h; a CAS is one atomic block).
 *
 * Writer WVICTIM may die (the kernel drops its token at once: walive is cleared as it dies,
 * its claim stays) after announcing its claim, after its CAS on tail, or in the middle of
 * writing. A claimed, unpublished position is waited for while a live writer announces it;
 * when none does, the reader (or the next lap's writer) that finds it so marks it abandoned
 * with a CAS from the state it saw (resolve), and readers skip it. Waiting is as in mpmc.pml:
 * until the check would find something (with the liveness look), or every writer is gone.
 *
 * Checked:
 *  - a delivered message is whole and is the one published at that position: both words are
 *    the same message, never a torn or mixed copy; nothing unpublished or abandoned is
 *    delivered;
 *  - each reader gets positions in increasing order (each writer's messages in order), none
 *    twice;
 *  - every position a reader passes is accounted for: delivered, skipped as abandoned (never
 *    published), or lost in an overflow, and only positions whose slot a later lap has
 *    claimed are counted lost; so a reader that never overflows gets every message;
 *  - at the end each reader is at tail; a live writer is never taken for dead (its publishing
 *    CAS never fails); no state no participant writes is ever seen (-EPROTO);
 *  - no invalid end state: nobody waits for ever on a position a dead writer claimed.
 *
 * Not modelled: passive (read-only) receivers, loans and peeks, readers dying (a reader writes
 * nothing but the abandon mark, which is a CAS from the state seen), the try (no-wait) paths.
 *
 * The model found a bug in src/chan (in 77f2661, fixed since); it checks the protocol with the fix
 * named, as the code now has it, and the code as it was is a broken variant, which must fail:
 *  -DBROKEN_RESOLVE_SKIPS_LAP  (bcast.c resolve, as it was) only a lap being written
 *                      (WRITING | an earlier position) is looked at for a live writer; but the
 *                      slot may still hold a lap older than the one before (finished for
 *                      pos - 2 CAP) while the lap in between has a live writer that claimed
 *                      its position and has not taken the slot yet. The reader gives pos up
 *                      from that state, and that writer's take_slot then sees a later lap's
 *                      mark and fails with -EPROTO. Fix modelled: no lap the slot still owes
 *                      before pos (from the one being written, or the one after the one
 *                      finished) may have a live claimant.
 *
 * Broken variants, which spin must catch (check.sh builds them):
 *  -DBROKEN_NO_RECHECK       the reader does not load seq again after copying: a copy that the
 *                            next lap's writer overwrote half-way is delivered
 *  -DBROKEN_NO_WRITING_MARK  the writer writes over the lap before's message without
 *                            marking the slot WRITING first (and publishes with a CAS from
 *                            the state it saw): a reader's re-check cannot tell a torn copy
 *  -DBROKEN_OVERRUN_TO_TAIL  a reader that fell behind goes on from tail, not tail - CAP: it
 *                            counts as lost messages that are still there
 *  -DBROKEN_ABANDON_STORE    abandon is a plain store, not a CAS from the state seen: a slow
 *                            reader marks a slot the next lap's live writer has taken
 *  -DBROKEN_NO_RESOLVE       a position a dead writer claimed is never given up: the next
 *                            lap's writer waits for it for ever (an invalid end state)
 * and the one above.
 *
 * The default is one reader (two readers share nothing but the abandon CAS, which the next
 * lap's writer races as well); by hand: -DREADERS=2 -DMSGS0=2 -DMSGS1=1 (21 M states).
 */
#ifndef READERS
#define READERS   1
#endif
#ifndef MSGS0
#define MSGS0     3     /* writer 0's messages: ids 1 .. MSGS0 */
#endif
#ifndef MSGS1
#define MSGS1     2     /* writer 1's: ids MSGS0 + 1 .. */
#endif
#ifndef WDIES
#define WDIES     1     /* the victim writer may die */
#endif
#define WRITERS   2
#define WVICTIM   1
#define CAP       2
#define NMSG      (MSGS0 + MSGS1)
#define NONE      255
#define ABANDONED 128
#define WRITING   64
#define POS       63
#define MSGS(w)   ((w) == 0 -> MSGS0 : MSGS1)
#define ID(w, k)  ((w) * MSGS0 + (k) + 1)
#define WRITER(c) ((c) > MSGS0)
#define K(c)      ((c) - WRITER(c) * MSGS0) /* k + 1 */

#define SEQ(p)    seq[(p) % CAP]
#define W1(p)     word1[(p) % CAP]
#define W2(p)     word2[(p) % CAP]

byte tail = CAP;
byte seq[CAP];            /* slot i: i + 1 (init) */
byte word1[CAP], word2[CAP]; /* the payload: the message id, twice */
byte claim[WRITERS] = NONE;
bool walive[WRITERS] = true;
byte wgone, rgone;        /* writers, readers gone (done or dead) */
byte cursor[READERS] = CAP;

/* ghosts */
byte pub_at[CAP + NMSG];  /* position -> the message published there, 0 none */
byte lastk[READERS * WRITERS]; /* the last k + 1 each reader had of each writer */
byte accounted[READERS];  /* positions passed: delivered, skipped or lost */

/* done_with, beyond (bcast.c) */
#define DONE_WITH(s, p) (((s) & WRITING) == 0 && ((s) & POS) == (p) + 1)
#define BEYOND(s, p)    (((s) & WRITING) -> ((s) & POS) > (p) : ((s) & POS) > (p) + 1)
/* For the sleepers' guards, as one look: no live writer announces p; resolve gives p up. */
#define UNCLAIMED(p)    (!((claim[0] == (p) && walive[0]) || (claim[1] == (p) && walive[1])))
#if defined(BROKEN_NO_RESOLVE)
#define RESOLVABLE(p, s) false
#elif defined(BROKEN_RESOLVE_SKIPS_LAP)
#define RESOLVABLE(p, s) (UNCLAIMED(p) && \
                          (((s) & WRITING) == 0 || ((s) & POS) == (p) || UNCLAIMED((s) & POS)))
#else
/* (CAP 2, at most 6 messages: a slot owes two laps at the most before p) */
#define OWED(s)          (((s) & WRITING) -> ((s) & POS) : ((s) & POS) - 1 + CAP)
#define RESOLVABLE(p, s) (UNCLAIMED(p) && (OWED(s) >= (p) || UNCLAIMED(OWED(s))) && \
                          (OWED(s) + CAP >= (p) || UNCLAIMED(OWED(s) + CAP)))
#endif
/* bcast_data would find something (with the look) for a reader at p. */
#define BC_READY(p) (tail - (p) > CAP || \
                     (tail != (p) && (DONE_WITH(SEQ(p), p) || BEYOND(SEQ(p), p) || \
                                      RESOLVABLE(p, SEQ(p)))))

inline wdie() {
	if
	:: victim -> atomic { walive[me] = false; wgone++ }; goto dead
	:: true -> skip
	fi
}

/* sk_chan_unclaimed(p): claim, then token, record by record; un says */
inline scan(p) {
	un = true;
	if
	:: claim[0] == (p) ->
		if
		:: walive[0] -> un = false
		:: else -> skip
		fi
	:: else -> skip
	fi;
	if
	:: un && claim[1] == (p) ->
		if
		:: walive[1] -> un = false
		:: else -> skip
		fi
	:: else -> skip
	fi
}

/*
 * resolve(p, seen): give p up if nobody alive will write it or an earlier lap of its slot;
 * ok says whether it did. The slot owes the laps from q (being written for q, or finished
 * for q - CAP) to p: none may have a live writer.
 */
inline resolve(p, seen) {
	ok = false;
	un = true;
#ifdef BROKEN_NO_RESOLVE
	un = false;
#endif
#ifdef BROKEN_RESOLVE_SKIPS_LAP
	/* bcast.c as it was: only a lap being written is looked at */
	if
	:: (seen & WRITING) && (seen & POS) != (p) -> scan(seen & POS)
	:: else -> skip
	fi;
#else
	q = ((seen & WRITING) -> (seen & POS) : (seen & POS) - 1 + CAP);
	do
	:: un && q < (p) -> scan(q); q = q + CAP
	:: else -> break
	od;
	q = 0;
#endif
	if
	:: un ->
		scan(p);
		if
		:: un && SEQ(p) == seen ->
			/* abandon, from the state seen */
#ifdef BROKEN_ABANDON_STORE
			SEQ(p) = ((p) + 1) | ABANDONED;
#else
			atomic {
				if
				:: SEQ(p) == seen -> SEQ(p) = ((p) + 1) | ABANDONED
				:: else -> skip
				fi
			};
#endif
			ok = true
		:: else -> skip
		fi
	:: else -> skip
	fi;
	un = false
}

proctype writer(byte me; bool victim)
{
	byte k, pos, sq, q;
	bool ok, un;
	for (k : 0 .. MSGS(me) - 1) {
claim_pos:	/* sk_bcast_send */
		pos = tail;
		claim[me] = pos; /* BARRIER_C3 */
		wdie();
		if
		:: atomic { tail == pos -> tail = pos + 1 }
		:: else -> goto claim_pos
		fi;
		wdie();
take:		/* take_slot: from the lap before, pos - CAP */
		sq = SEQ(pos);
		if
		:: DONE_WITH(sq, pos - CAP) ->
#ifndef BROKEN_NO_WRITING_MARK
			if
			:: atomic { SEQ(pos) == sq -> SEQ(pos) = WRITING | pos } /* BARRIER_C5 */
			:: else -> goto take
			fi
#else
			skip
#endif
		:: BEYOND(sq, pos - CAP) -> assert(false) /* -EPROTO */
		:: else ->
			/* the lap before still being written: nap, or give it up if its writer
			 * is dead */
			atomic { SEQ(pos) != sq || RESOLVABLE(pos - CAP, sq) };
			if
			:: SEQ(pos) == sq -> resolve(pos - CAP, sq)
			:: else -> skip
			fi;
			goto take
		fi;
		W1(pos) = ID(me, k);
		wdie();
		W2(pos) = ID(me, k);
		/* sk_bcast_commit: BARRIER_C2; fails only if we were taken for dead */
		if
#ifndef BROKEN_NO_WRITING_MARK
		:: atomic { SEQ(pos) == (WRITING | pos) ->
#else
		:: atomic { SEQ(pos) == sq ->
#endif
			SEQ(pos) = pos + 1;
			pub_at[pos] = ID(me, k) }
		:: else -> assert(false) /* a live writer taken for dead */
		fi;
		atomic { claim[me] = NONE; sq = 0 }
	}
	wgone++;
dead:
	skip
}

proctype reader(byte me)
{
	byte t, sq, w1, w2, p, q;
	bool ok, un, epipe;
loop:	/* sk_bcast_recv */
	atomic { t = tail; sq = 0; w1 = 0; w2 = 0; epipe = false };
	assert(t >= cursor[me]); /* load_tail */
	if
	:: t - cursor[me] > CAP ->
		/* overrun: -EOVERFLOW, lost what a later lap claimed, on from the oldest left */
		atomic {
#ifdef BROKEN_OVERRUN_TO_TAIL
			t = t + CAP;
#endif
			for (p : cursor[me] .. t - CAP - 1) {
				assert(tail > p + CAP);
				accounted[me]++
			}
			cursor[me] = t - CAP;
			p = 0
		};
		goto loop
	:: else -> skip
	fi;
	if
	:: cursor[me] == t -> goto wait
	:: else -> skip
	fi;
	sq = SEQ(cursor[me]); /* BARRIER_C2, C5 */
	if
	:: DONE_WITH(sq, cursor[me]) ->
		/* read_slot */
		if
		:: sq & ABANDONED ->
			atomic { assert(pub_at[cursor[me]] == 0); accounted[me]++; cursor[me]++ };
			goto loop
		:: else -> skip
		fi;
		w1 = W1(cursor[me]);
		w2 = W2(cursor[me]);
#ifndef BROKEN_NO_RECHECK
		if
		:: SEQ(cursor[me]) != sq -> goto loop /* overwritten while we read */
		:: else -> skip
		fi;
#endif
		atomic {
			assert(w1 != 0 && w1 == w2 && w1 == pub_at[cursor[me]]);
			assert(K(w1) > lastk[me * WRITERS + WRITER(w1)]);
			lastk[me * WRITERS + WRITER(w1)] = K(w1);
			accounted[me]++;
			cursor[me]++
		};
		goto loop
	:: BEYOND(sq, cursor[me]) ->
		/* overwritten: the tail says how far behind we are */
		t = tail;
		assert(t - cursor[me] > CAP); /* else -EPROTO */
		goto loop
	:: else -> goto wait /* claimed, not yet published */
	fi;

wait:	/* sk_wait_masked with bcast_check */
	atomic { BC_READY(cursor[me]) || wgone == WRITERS };
	if
	:: wgone == WRITERS && !BC_READY(cursor[me]) -> epipe = true
	:: else -> skip
	fi;
	/* bcast_data, with the look */
	t = tail;
	if
	:: t - cursor[me] > CAP -> goto loop
	:: t == cursor[me] -> goto not_ready /* nothing sent, whatever the slot says */
	:: else -> skip
	fi;
	sq = SEQ(cursor[me]);
	if
	:: DONE_WITH(sq, cursor[me]) || BEYOND(sq, cursor[me]) -> goto loop
	:: else -> skip
	fi;
	resolve(cursor[me], sq);
	if
	:: ok -> goto loop
	:: else -> skip
	fi;
not_ready:
	if
	:: epipe -> goto gone /* -EPIPE */
	:: else -> goto wait
	fi;
gone:
	rgone++
}

/* At the end: each reader is at tail, every position it passed accounted for. */
active proctype outcome()
{
	byte r;
end:	atomic {
		wgone == WRITERS && rgone == READERS ->
		for (r : 0 .. READERS - 1) {
			assert(cursor[r] == tail && accounted[r] == tail - CAP)
		}
	}
}

init {
	byte r;
	assert(NMSG <= 6); /* RESOLVABLE looks at two owed laps at the most */
	atomic {
		seq[0] = 1; seq[1] = 2;
		run writer(0, WDIES && WVICTIM == 0);
		run writer(1, WDIES && WVICTIM == 1);
		for (r : 0 .. READERS - 1) {
			run reader(r)
		}
	}
}
