/*
 * Model of the MPMC ring (src/chan/ring.c: mpmc_claim, sk_mpmc_send/commit, sk_mpmc_recv,
 * mpmc_data, abandon, mpmc_deliver, sk_mpmc_release; src/chan/open.c: sk_chan_unclaimed,
 * reap, give_back, the redo table), BARRIER_C2 and C3 of src/chan/chan.h.
 *
 * Vyukov's bounded queue, CAP slots: a slot's seq is pos (free for pos), pos + 1 (published,
 * or with ABANDONED: its sender died), pos + CAP (freed for the next lap). Two senders send
 * MSGS0 and MSGS1 messages (the payload is the message's id); two receivers take them. Each
 * statement is one atomic step: the model is sequentially consistent, as the seq_cst
 * operations of chan.h are; a CAS is one atomic block. Only the spin on a slot another side
 * took is left as a loop (stuck()'s bound is not modelled).
 *
 * Deaths: the kernel drops a dead process's token at once (s/ralive cleared as it dies); its
 * announcements stay.
 *  - sender SVICTIM may die after announcing its claim, or after its CAS on tail, before it
 *    publishes (whether it wrote the payload first is the same to everyone else). A receiver
 *    that finds the slot at head claimed (tail past it) and unpublished scans the claims
 *    (claim, then token, record by record); if no live one names the position it marks the
 *    slot abandoned with a CAS from pos, and receivers take it, free it and skip it.
 *  - receiver RVICTIM may die after announcing a hold, after a failed CAS on head, after its
 *    CAS on head, after its release, and between giving up an abandoned slot's hold and
 *    freeing the slot. The reaper (whoever finds the record dead, one at a time: the reap
 *    token) gives its hold back through the redo table (one entry: one death) if it is a
 *    message nobody has: head past it, its seq still pos + 1, no live receiver announcing it,
 *    not in the table; receivers look at the table first.
 *
 * Waiting: a waiter sleeps until its check (mpmc_data, mpmc_room) would find something, or
 * the other side is all gone: the real loop's poll tick makes every change seen, and the
 * tick's liveness look is the `now' the abandon needs. A receiver that finds the ring empty
 * and every sender gone waits for the dead receiver's reaping (rx_check reaps before it says
 * -EPIPE), looks once more, and leaves.
 *
 * Checked:
 *  - every published message is delivered exactly once (the delivery is the release CAS: a
 *    receiver that dies before it has not had the message), the payload read is the one
 *    published at that position, and no abandoned (unpublished) message is delivered;
 *  - each receiver gets each sender's messages in order (a redone one apart);
 *  - a live sender is never taken for dead (its publishing CAS never fails), and a live
 *    receiver's release never fails (nobody else delivered its message meanwhile);
 *  - no state no participant writes is seen (-EPROTO); head <= tail <= head + CAP always;
 *  - no invalid end state: nobody waits for ever, on a slot a dead sender claimed or one a
 *    dead receiver held; at the end a published message not delivered is only one given back
 *    to the redo table when no receiver was left to take it.
 *
 * The model found two bugs in src/chan (in 77f2661, fixed since); it checks the protocol with the fix
 * each names, as the code now has it, and the code as it was is a broken variant, which must fail:
 *  -DBROKEN_GIVE_BACK_ANNOUNCED   (open.c give_back, as it was) a live receiver's hold that
 *                      names the position makes the reaper give the message up for good,
 *                      but a hold is announced before the CAS on head: the live one's CAS
 *                      fails (the dead one took it), nobody has the message and its slot is
 *                      never freed. Fix modelled: the reaper leaves the record for a later
 *                      look until that hold changes.
 *  -DBROKEN_LAP_ABANDONED_EPROTO  (ring.c sk_mpmc_recv, as it was) a receiver at pos that
 *                      finds the slot still marked (pos + 1 - CAP) | ABANDONED returns
 *                      -EPROTO, yet that is the lap before's mark, which the receiver that
 *                      took that position has not freed yet (or never will: it died). Fix
 *                      modelled: the receiver at pos frees it (a CAS to pos), as that one
 *                      would.
 *
 * Broken variants, which spin must catch (check.sh builds them):
 *  -DBROKEN_ABANDON_PUBLISHED  the receiver marks the slot abandoned with a plain store, not
 *                              a CAS from pos: a mark decided on an old look lands on the
 *                              next lap, a live sender's slot
 *  -DBROKEN_CLAIM_AFTER_CAS    the sender announces its claim after its CAS on tail: a
 *                              receiver that sees tail past pos finds no claim and abandons a
 *                              live sender's slot
 *  -DBROKEN_NO_TAIL_CHECK      mpmc_data abandons an unpublished slot without checking that
 *                              tail is past it: a free slot nobody claimed is abandoned
 *  -DBROKEN_NO_ABANDON         receivers never abandon: a slot a dead sender claimed is
 *                              waited on for ever (an invalid end state)
 *  -DBROKEN_GIVE_BACK_UNTAKEN  give_back does not check that head is past the hold: the hold
 *                              of one that died before its CAS on head is given back, and
 *                              head and tail go wrong
 *  -DBROKEN_NO_GIVE_BACK       the reaper gives nothing back: the message a dead receiver
 *                              held is lost
 * and the two above. Not caught with two receivers, and so not named: give_back without its
 * look for a live holder (the redo taker re-checks seq, and with two receivers the only live
 * one has released before it takes the redo).
 *
 * Bigger searches by hand: -DMSGS0=3 (6 M states), -DMSGS0=3 -DSDIES=0 (12 M).
 */
#ifndef MSGS0
#define MSGS0     2     /* sender 0's messages: ids 1 .. MSGS0 */
#endif
#ifndef MSGS1
#define MSGS1     1     /* sender 1's: ids MSGS0 + 1 .. */
#endif
#ifndef SDIES
#define SDIES     1     /* the victim sender may die */
#endif
#ifndef RDIES
#define RDIES     1     /* the victim receiver may die */
#endif
#define SENDERS   2
#define RECEIVERS 2
#define CAP       2
#define SVICTIM   1
#define RVICTIM   1
#define NMSG      (MSGS0 + MSGS1)
#define MSGS(s)   ((s) == 0 -> MSGS0 : MSGS1)
#define ID(s, k)  ((s) * MSGS0 + (k) + 1)
#define SENDER(c) ((c) > MSGS0)
#define K(c)      ((c) - SENDER(c) * MSGS0) /* k + 1 */
#define NONE      255
#define ABANDONED 128
#define POS       127

#define SEQ(p)    seq[(p) % CAP]
#define SEQPOS(p) (SEQ(p) & POS)
#define DATA(p)   data[(p) % CAP]

byte head, tail;
byte seq[CAP];            /* slot i starts free for position i (init) */
byte data[CAP];           /* the payload: a message id, ID(sender, k) */
byte claim[SENDERS] = NONE;
byte hold[RECEIVERS] = NONE;
bool salive[SENDERS] = true;
bool ralive[RECEIVERS] = true;
byte redo = NONE;         /* the redo table: one entry, one death */
byte nredo;
byte sgone, rgone;        /* senders, receivers gone (done or dead) */
bool reaped;              /* the dead receiver's record is reaped */

/* ghosts */
byte pub_at[NMSG + 1];    /* position -> the message published there, 0 none */
bool published[NMSG + 1];
byte delivered[NMSG + 1];
byte lastk[RECEIVERS * SENDERS]; /* the last k + 1 each receiver had of each sender */

/* No live sender announces p (sk_chan_unclaimed, as one look: for the sleeper's guard). */
#define UNCLAIMED(p) (!((claim[0] == (p) && salive[0]) || (claim[1] == (p) && salive[1])))
#define REDO_PENDING (nredo > 0 && redo != NONE)
#ifdef BROKEN_NO_TAIL_CHECK
#define CLAIMED_PAST(p) true
#else
#define CLAIMED_PAST(p) (tail > (p))
#endif
/* mpmc_data would find something (with now = 1): what a sleeping receiver at p waits for. */
#ifdef BROKEN_NO_ABANDON
#define RX_READY(p) (REDO_PENDING || head != (p) || SEQPOS(p) > (p))
#else
#define RX_READY(p) (REDO_PENDING || head != (p) || SEQPOS(p) > (p) || \
                     (SEQPOS(p) == (p) && CLAIMED_PAST(p) && UNCLAIMED(p)))
#endif
/* The slot of p still holds the lap before's abandoned mark, not yet freed by the receiver
 * that took that position. */
#ifdef BROKEN_LAP_ABANDONED_EPROTO
#define LAP_MARK(p) false
#else
#define LAP_MARK(p) ((p) + 1 >= CAP && SEQ(p) == (((p) + 1 - CAP) | ABANDONED))
#endif

inline sdie() {
	if
	:: victim -> atomic { salive[me] = false; sgone++ }; goto dead
	:: true -> skip
	fi
}

inline rdie() {
	if
	:: victim -> atomic { ralive[me] = false; rgone++ }; goto dead
	:: true -> skip
	fi
}

proctype sender(byte me; bool victim)
{
	byte k, pos;
	for (k : 0 .. MSGS(me) - 1) {
claim_pos:	/* mpmc_claim */
		pos = tail;
		if
		:: SEQPOS(pos) == pos ->
#ifndef BROKEN_CLAIM_AFTER_CAS
			claim[me] = pos; /* BARRIER_C3: announced before the CAS */
			sdie();
#endif
			if
			:: atomic { tail == pos -> tail = pos + 1 }
			:: else -> claim[me] = NONE; goto claim_pos
			fi
#ifdef BROKEN_CLAIM_AFTER_CAS
			; claim[me] = pos
#endif
		:: SEQPOS(pos) < pos ->
			/* full: sleep until mpmc_room finds room, or every receiver is gone */
			atomic { tail != pos || SEQPOS(pos) >= pos || rgone == RECEIVERS };
			if
			:: tail == pos && SEQPOS(pos) < pos -> goto gone /* -EPIPE */
			:: else -> goto claim_pos
			fi
		:: SEQPOS(pos) > pos -> goto claim_pos /* another sender took pos */
		fi;
		sdie();
		DATA(pos) = ID(me, k);
		/* sk_mpmc_commit: BARRIER_C2; fails only if we were taken for dead */
		if
		:: atomic { SEQ(pos) == pos ->
			SEQ(pos) = pos + 1;
			pub_at[pos] = ID(me, k);
			published[ID(me, k)] = true }
		:: else -> assert(false) /* a live sender taken for dead */
		fi;
		claim[me] = NONE
	}
gone:
	sgone++;
dead:
	skip
}

proctype receiver(byte me; bool victim)
{
	byte pos, sq, c;
	bool fromredo, epipe;
loop:
	atomic { pos = 0; sq = 0; c = 0; fromredo = false; epipe = false };
	/* take_redo: the hold announced first (BARRIER_C3), then a CAS on the entry */
	if
	:: nredo > 0 ->
		pos = redo;
		if
		:: pos != NONE ->
			hold[me] = pos;
			rdie();
			if
			:: atomic { redo == pos -> redo = NONE; fromredo = true };
				nredo--;
				goto deliver
			:: else -> hold[me] = NONE
			fi
		:: else -> skip
		fi
	:: else -> skip
	fi;
	pos = head;
	if
	:: SEQPOS(pos) == pos + 1 -> /* published, or abandoned */
		hold[me] = pos; /* BARRIER_C3 */
		rdie();
		if
		:: atomic { head == pos -> head = pos + 1 }
		:: else -> rdie(); hold[me] = NONE; goto loop
		fi;
		rdie();
		goto deliver
	:: SEQPOS(pos) <= pos && SEQ(pos) == SEQPOS(pos) -> goto wait /* empty, or claimed */
	:: LAP_MARK(pos) ->
		/* freed here, as the receiver that took it (which may have died) would */
		atomic {
			if
			:: LAP_MARK(pos) -> SEQ(pos) = pos
			:: else -> skip
			fi
		};
		goto loop
	:: SEQPOS(pos) <= pos && SEQ(pos) != SEQPOS(pos) && !LAP_MARK(pos) ->
		assert(false) /* -EPROTO: a state no participant writes */
	:: SEQPOS(pos) > pos + 1 -> goto loop /* another receiver took pos */
	fi;

wait:	/* sk_wait_masked with rx_check: mpmc_data, then are the senders all gone? */
	atomic { RX_READY(pos) || sgone == SENDERS };
	if
	:: sgone == SENDERS && !RX_READY(pos) ->
		/* rx_check: no sender left; the dead are reaped before the last look */
		(reaped || ralive[RVICTIM]);
		epipe = true
	:: else -> skip
	fi;
	/* mpmc_data, step by step */
	if
	:: REDO_PENDING -> goto loop
	:: else -> skip
	fi;
	if
	:: head != pos -> goto loop
	:: else -> skip
	fi;
	if
	:: SEQPOS(pos) > pos -> goto loop
	:: SEQPOS(pos) < pos -> goto not_ready
	:: SEQPOS(pos) == pos -> skip
	fi;
	if
	:: CLAIMED_PAST(pos) -> skip
	:: else -> goto not_ready
	fi;
#ifdef BROKEN_NO_ABANDON
	goto not_ready;
#endif
	/* BARRIER_C3: tail loaded before the claims are scanned, claim then token */
	if
	:: claim[0] == pos ->
		if
		:: salive[0] -> goto not_ready
		:: else -> skip
		fi
	:: else -> skip
	fi;
	if
	:: claim[1] == pos ->
		if
		:: salive[1] -> goto not_ready
		:: else -> skip
		fi
	:: else -> skip
	fi;
	/* abandon: a CAS from the unpublished state, so that a sender that publishes wins */
#ifdef BROKEN_ABANDON_PUBLISHED
	SEQ(pos) = (pos + 1) | ABANDONED;
	goto loop;
#else
	if
	:: atomic { SEQ(pos) == pos -> SEQ(pos) = (pos + 1) | ABANDONED }; goto loop
	:: else -> skip
	fi;
#endif
not_ready:
	if
	:: epipe -> goto gone /* -EPIPE */
	:: else -> goto wait
	fi;

deliver: /* mpmc_deliver: we hold pos (hold == pos, head past it) */
	sq = SEQ(pos);
	if
	:: sq == pos + 1 -> skip
	:: (sq & POS) != pos + 1 -> hold[me] = NONE; goto loop /* a stale redo */
	:: sq == ((pos + 1) | ABANDONED) ->
		hold[me] = NONE;
		rdie();
		atomic { /* free it, skip it */
			if
			:: SEQ(pos) == sq -> SEQ(pos) = pos + CAP
			:: else -> skip
			fi
		};
		goto loop
	fi;
	c = DATA(pos);
	assert(c != 0 && c == pub_at[pos]); /* the message published there */
	/* sk_mpmc_release: BARRIER_C2; this is the delivery */
	if
	:: atomic { SEQ(pos) == pos + 1 ->
		SEQ(pos) = pos + CAP;
		delivered[c]++;
		assert(published[c] && delivered[c] == 1);
		if /* each sender's messages in order (a redone one apart) */
		:: !fromredo ->
			assert(K(c) > lastk[me * SENDERS + SENDER(c)]);
			lastk[me * SENDERS + SENDER(c)] = K(c)
		:: else -> skip
		fi }
	:: else -> assert(false) /* someone else delivered it meanwhile */
	fi;
	rdie();
	hold[me] = NONE;
	goto loop;
gone:
	rgone++;
dead:
	skip
}

/* reap and give_back (open.c), for the dead receiver: whoever reaps holds the reap token. */
active proctype reaper()
{
	byte h;
end:	(!ralive[RVICTIM]);
again:
	h = hold[RVICTIM];
	if
	:: h == NONE -> goto freed
	:: else -> skip
	fi;
#ifndef BROKEN_GIVE_BACK_UNTAKEN
	if
	:: head <= h -> goto freed /* never taken */
	:: else -> skip
	fi;
#endif
	if
	:: SEQ(h) != h + 1 -> goto freed /* released already, or abandoned */
	:: else -> skip
	fi;
	/* a live receiver has it, or announces it only (its CAS fails: the dead one took it) */
	if
	:: hold[0] == h ->
		if
		:: ralive[0] ->
#ifdef BROKEN_GIVE_BACK_ANNOUNCED
			goto freed
#else
			(hold[0] != h); /* the record stays for a later look */
			goto again
#endif
		:: else -> skip
		fi
	:: else -> skip
	fi;
	if
	:: redo == h -> goto freed
	:: else -> skip
	fi;
#ifndef BROKEN_NO_GIVE_BACK
	nredo++;
	atomic { assert(redo == NONE); redo = h };
#endif
freed:
	atomic { hold[RVICTIM] = NONE; reaped = true; h = 0 }
}

/* At every step: head <= tail <= head + CAP. */
active proctype positions()
{
end:	atomic { !(head <= tail && tail <= head + CAP) -> assert(false) }
}

/* At the end: every published message delivered once, nothing else delivered. */
active proctype outcome()
{
	byte m;
end:	atomic {
		sgone == SENDERS && rgone == RECEIVERS && (reaped || ralive[RVICTIM]) ->
		for (m : 1 .. NMSG) {
			assert(published[m] || delivered[m] == 0);
			/* undelivered: only one given back when no receiver was left to take it */
			assert(!published[m] || delivered[m] == 1 ||
			       (redo != NONE && pub_at[redo] == m && rgone == RECEIVERS))
		}
	}
}

init {
	atomic {
		seq[0] = 0; seq[1] = 1;
		run sender(0, SDIES && SVICTIM == 0);
		run sender(1, SDIES && SVICTIM == 1);
		run receiver(0, RDIES && RVICTIM == 0);
		run receiver(1, RDIES && RVICTIM == 1)
	}
}
