/* SPDX-License-Identifier: MIT */
/*
 * SPSC and MPMC rings.
 *
 * SPSC: head and tail counters, each written by one side only (the role is exclusive, taken
 * from a dead holder by a new one); each side keeps its own position and caches the other's,
 * reloading it only when the ring looks full (sender) or empty (receiver). A slot is written,
 * then tail passes it (BARRIER_C1); a receiver's head passes it when it is done with it, so a
 * receiver that dies holding a peeked message leaves head where it was and the next receiver
 * reads the message again. A sender announces the position it writes (claim) before it
 * writes; one that dies writing (or holding a loan) leaves tail where it was: nothing is
 * published, the slot is counted abandoned by whoever takes note of the death first (its
 * claim is still tail), and a new sender writes that slot again.
 *
 * MPMC: Vyukov's bounded queue (a sequence number per slot: pos free, pos + 1 published,
 * pos + capacity free for the next lap), with two things added for crashes (BARRIER_C3):
 *
 *   - a sender announces the position it claims (claim) before its CAS on tail; a receiver
 *     that finds a claimed position unpublished for long scans the announcements, and if the
 *     claimant's token is gone it marks the slot abandoned ((pos + 1) | ABANDONED): receivers
 *     skip it, and a late publish by a sender taken for dead fails (it gets -ECANCELED);
 *   - a receiver announces the position it holds (hold) before its CAS on head; whoever finds
 *     the holder dead (reap in open.c) puts the position in the redo table, which receivers
 *     look at (one load) before the ring, so the message is delivered again.
 *
 * Waiting (BARRIER_C4): receivers sleep on rx_seq, senders on tx_seq, through sync's wait
 * loop; whoever makes a message or room bumps the other side's word if its hint says someone
 * may sleep. Sleepers also wake every SK_CHAN_POLL_NS to look at their peers' tokens, since
 * no code of a dead peer runs to wake them.
 */
#include <errno.h>
#include <string.h>

#include "chan/chan.h"
#include "chan/spsc.h"
#include "sync/sync.h"
#include "sys/sys.h"

struct waiting {
	shmkit_chan_t *c;
	int wait;
	int (*ready)(struct waiting *w);
	uint64_t pos;
	int now; /* this check may look at peers' tokens (-1: not asked yet) */
};

/* Look at peers now? Every SK_CHAN_LIVE_NS (a clean close is seen at once: peers_gone). */
static int look(struct waiting *w)
{
	return sk_chan_time_to_check(w->c);
}

/* Asked only when the ring is not ready, so that the check of a ready ring reads no clock. */
static int now_of(struct waiting *w)
{
	if (w->now < 0)
		w->now = look(w);
	return w->now;
}

/* sync's wait loop asks: is it there yet? (It reads the sequence word first: BARRIER_C4.) */
static int rx_look(void *arg, uint32_t *expect)
{
	struct waiting *w = arg;
	*expect = atomic_load(&w->c->hdr->rx_seq);
	w->now = -1;
	int r = w->ready(w);
	if (r)
		return r;
	if (!sk_load_relaxed(&w->c->hdr->ever_senders) || !sk_chan_peers_gone(w->c, now_of(w)))
		return w->wait ? 0 : -EAGAIN;
	/* No sender left. Before calling the ring empty, look at it as closely as we can: a
	 * receiver that died holding a message gives it back when its record is reaped (MPMC:
	 * looking at the peers reaps every dead record), and a slot a dead sender claimed is
	 * given up only by a check that may look at tokens. */
	w->now = 1;
	if (w->c->kind == SHMKIT_CHAN_MPMC)
		sk_chan_live(w->c, SHMKIT_CHAN_RECV);
	return (r = w->ready(w)) ? r : -EPIPE;
}

static int tx_look(void *arg, uint32_t *expect)
{
	struct waiting *w = arg;
	*expect = atomic_load(&w->c->hdr->tx_seq);
	w->now = -1;
	int r = w->ready(w);
	if (r)
		return r;
	if (sk_chan_peers_gone(w->c, now_of(w)))
		return -EPIPE;
	return w->wait ? 0 : -EAGAIN;
}

/* A ring truncated under a look ends the wait: what the look saw was zeros. */
static int rx_check(void *arg, uint32_t *expect)
{
	int r = rx_look(arg, expect);
	return sk_chan_verdict(((struct waiting *)arg)->c, r);
}

static int tx_check(void *arg, uint32_t *expect)
{
	int r = tx_look(arg, expect);
	return sk_chan_verdict(((struct waiting *)arg)->c, r);
}

static int wait_rx(shmkit_chan_t *c, struct waiting *w, const struct timespec *abs)
{
	struct sk_chan_hdr *h = c->hdr;
	return sk_wait_masked(&h->rx_seq, &h->rx_sleep[0], (uint64_t)1 << c->self, rx_check, w, abs,
	                      SK_CHAN_POLL_NS, w->wait ? c->spin_ns : 0, sk_chan_asym(c));
}

static int wait_tx(shmkit_chan_t *c, struct waiting *w, const struct timespec *abs)
{
	struct sk_chan_hdr *h = c->hdr;
	return sk_wait_masked(&h->tx_seq, &h->tx_sleep[0], (uint64_t)1 << c->self, tx_check, w, abs,
	                      SK_CHAN_POLL_NS, w->wait ? c->spin_ns : 0, sk_chan_asym(c));
}

/* ---- SPSC ---- */

/* Room for position t? (spsc.h: the head we cached, else head reloaded) */
static int spsc_room(struct waiting *w)
{
	return sk_spsc_room(w->c);
}

/*
 * Published at our position yet (1), not yet (0)? Now and then (every SK_CHAN_LIVE_NS, never
 * on the fast path) also: has tail passed a slot that is not published? The sender stores
 * tail after the slot's seq (sk_spsc_publish), so that is a slot written back, a lie that
 * would be waited on for ever (-EPROTO).
 */
static int spsc_data(struct waiting *w)
{
	int r = sk_spsc_seq(w->c, w->pos);
	/* acquire: pairs with sk_spsc_publish's release of tail, after the slot's seq: seq read
	 * again after it is at least what was published before tail passed pos */
	if (r || !now_of(w) || sk_load_acquire(&w->c->hdr->tail) <= w->pos)
		return r;
	return (r = sk_spsc_seq(w->c, w->pos)) ? r : -EPROTO;
}

int sk_spsc_send(shmkit_chan_t *c, const void *msg, size_t len, const struct timespec *abs,
                 int wait, void **loan)
{
	uint64_t t = c->pos;
	if (SK_UNLIKELY(t - c->other >= c->cap)) {
		struct waiting w = {c, wait, spsc_room, t, 0};
		int r = wait_tx(c, &w, abs);
		if (r < 0)
			return r;
	}
	if (!loan)
		return sk_spsc_put(c, t, msg, len);
	/* Whoever finds us dead with tail still at t counts the slot abandoned (open.c). */
	sk_store_relaxed(&c->parts[c->self].claim, t);
	c->loan_pos = t;
	*loan = sk_chan_payload(sk_chan_slot(c, t));
	return 0;
}

int sk_spsc_commit(shmkit_chan_t *c, uint64_t t, size_t len)
{
	sk_spsc_publish(c, t, len);
	return 0;
}

ssize_t sk_spsc_recv(shmkit_chan_t *c, void *buf, size_t cap, const struct timespec *abs, int wait,
                     const void **peek)
{
	uint64_t h = c->pos;
	int r = sk_spsc_seq(c, h);
	if (SK_UNLIKELY(r <= 0)) {
		if (r < 0)
			return r;
		struct waiting w = {c, wait, spsc_data, h, 0};
		if ((r = wait_rx(c, &w, abs)) < 0)
			return r;
	}
	if (!peek)
		return sk_spsc_take(c, h, buf, cap);
	struct sk_chan_slot *s = sk_chan_slot(c, h);
	uint32_t len = sk_load_relaxed(&s->len); /* read once, checked, then used */
	if (len > c->msg_size)
		return -EBADMSG;
	c->peek_pos = h;
	c->peek_slot = *peek = sk_chan_payload(s);
	return len;
}

void sk_spsc_release(shmkit_chan_t *c, uint64_t h)
{
	sk_spsc_free(c, h);
}

/* ---- MPMC ---- */

/*
 * A slot ahead of the position we read means another sender (receiver) took that position,
 * and the position moves on: we look again (0). One that stays put for a million looks is a
 * lie, given up on rather than spun on for ever (-EPROTO). Meanwhile the caller's terms hold:
 * every 1024 looks, a passed deadline is -ETIMEDOUT and a call that may not wait -EAGAIN (a
 * look can be slow: tests/fuzz found a million of them outlasting a 20 ms deadline).
 */
static int stuck(uint64_t pos, uint64_t *last, unsigned *stale, const struct timespec *abs,
                 int wait)
{
	*stale = pos == *last ? *stale + 1 : 0;
	*last = pos;
	sk_cpu_relax();
	if (SK_LIKELY(*stale & 1023) || !*stale)
		return 0;
	if (*stale > 1000000)
		return -EPROTO;
	if (!wait)
		return -EAGAIN;
	return abs && sk_ns_until(abs) == 0 ? -ETIMEDOUT : 0;
}

/*
 * head <= tail <= head + capacity, as every receiver and sender leaves them (a receiver takes
 * only what was published, a sender claims only a slot the lap before freed). Checked before
 * waiting: a liar's head past tail would have receivers mark every free slot abandoned, one
 * by one, for ever. Loaded tail, head, tail (seq_cst): each bound holds against whatever
 * moved between the loads.
 */
static int positions_ok(shmkit_chan_t *c)
{
	uint64_t t1 = atomic_load(&c->hdr->tail), h = atomic_load(&c->hdr->head);
	uint64_t t2 = atomic_load(&c->hdr->tail);
	return h <= t2 && t1 <= h + c->cap;
}

/* A slot's state for position pos: its seq's position part, and whether it is abandoned. */
static uint64_t seq_pos(uint64_t seq)
{
	return seq & SK_SEQ_POS;
}

/*
 * The slot of pos says the lap before's position was abandoned, and head has passed that
 * position: the receiver that skipped it frees it for pos, or died before it could (then
 * every sender of pos would wait, and every receiver at pos find a state it cannot use:
 * tests/chan/model/mpmc.pml). Free it as that receiver would: 1 if it is free for pos now.
 */
static int free_skipped(shmkit_chan_t *c, uint64_t pos, uint64_t seq)
{
	if (pos < c->cap || seq != ((pos + 1 - c->cap) | SK_SEQ_ABANDONED) ||
	    atomic_load(&c->hdr->head) <= pos - c->cap)
		return 0;
	atomic_compare_exchange_strong(&sk_chan_slot(c, pos)->seq, &seq, pos);
	return 1;
}

/*
 * The slot of pos says sp < pos: a state the lap before leaves (1), or one no participant
 * leaves, which would be waited on for ever (0)? For a receiver at pos (head == pos): the
 * lap before's message, still held by its receiver (pos + 1 - cap). For a sender at pos
 * (tail == pos) also: the lap before's claim, not yet published, while head has not passed
 * it (pos - cap; a receiver passes only a published position). The first lap's slots start
 * free for it.
 */
static int lap_before(shmkit_chan_t *c, uint64_t pos, uint64_t sp, int sender)
{
	if (pos < c->cap)
		return 0;
	if (sp == pos + 1 - c->cap)
		return 1;
	return sender && sp == pos - c->cap && atomic_load(&c->hdr->head) <= sp;
}

/* A sender at pos: is the slot free (1), or still holding the previous lap (0)? */
static int mpmc_room(struct waiting *w)
{
	shmkit_chan_t *c = w->c;
	uint64_t pos = w->pos;
	uint64_t tail = sk_load_relaxed(&c->hdr->tail);
	if (tail != pos)
		return 1; /* moved on: look again */
	uint64_t seq = atomic_load_explicit(&sk_chan_slot(c, pos)->seq, memory_order_acquire);
	if (seq_pos(seq) >= pos || free_skipped(c, pos, seq) ||
	    !lap_before(c, pos, seq_pos(seq), 1))
		return 1; /* look again (a lie: the claim says so) */
	/* Held by a receiver that may be dead: reaping it gives the message back. */
	if (now_of(w) && sk_chan_unclaimed(c, pos - c->cap, 1))
		sk_chan_live(c, SHMKIT_CHAN_RECV);
	return 0;
}

/* Claim a position (announced first: BARRIER_C3). Returns it, or -errno. */
static int64_t mpmc_claim(shmkit_chan_t *c, const struct timespec *abs, int wait)
{
	struct sk_chan_part *me = &c->parts[c->self];
	uint64_t last = SK_CHAN_NONE;
	for (unsigned stale = 0;;) {
		uint64_t pos = sk_load_relaxed(&c->hdr->tail);
		if (pos > SK_SEQ_POS - c->cap)
			return -EPROTO;
		uint64_t s = seq_pos(atomic_load_explicit(&sk_chan_slot(c, pos)->seq,
		                                          memory_order_acquire)); /* BARRIER_C2 */
		if (s == pos) {
			atomic_store(&me->claim, pos); /* BARRIER_C3 */
			SK_CRASH_POINT();
			if (atomic_compare_exchange_strong(&c->hdr->tail, &pos, pos + 1))
				return (int64_t)pos;
			sk_store_relaxed(&me->claim, SK_CHAN_NONE);
			continue;
		}
		if (s < pos) {
			/* Full: the slot still holds the previous lap's message, or a state no
			 * participant leaves (waiting would never end). A lap before's claim that
			 * was published and taken meanwhile changed seq before head passed it: the
			 * slot is read again before it is called a lie. */
			if (!lap_before(c, pos, s, 1) &&
			    !free_skipped(c, pos, atomic_load(&sk_chan_slot(c, pos)->seq))) {
				if (seq_pos(atomic_load(&sk_chan_slot(c, pos)->seq)) == s &&
				    sk_load_relaxed(&c->hdr->tail) == pos)
					return -EPROTO;
				int r =
				    stuck(pos, &last, &stale, abs, wait); /* a slot that flips */
				if (r)
					return r;
				continue;
			}
			struct waiting w = {c, wait, mpmc_room, pos, 0};
			int r = wait_tx(c, &w, abs);
			if (r < 0)
				return r;
			continue;
		}
		/* Another sender took pos: it moved tail before it wrote the slot, so tail is seen
		 * past pos after the slot's seq (acquire), or this is a lie, reported at once
		 * (a try call would say -EAGAIN for ever). */
		if (sk_load_relaxed(&c->hdr->tail) == pos)
			return -EPROTO;
		int r = stuck(pos, &last, &stale, abs, wait);
		if (r)
			return r;
	}
}

int sk_mpmc_send(shmkit_chan_t *c, const void *msg, size_t len, const struct timespec *abs,
                 int wait, void **loan)
{
	int64_t pos = mpmc_claim(c, abs, wait);
	if (pos < 0)
		return (int)pos;
	SK_CRASH_POINT();
	struct sk_chan_slot *s = sk_chan_slot(c, (uint64_t)pos);
	if (loan) {
		c->loan_pos = (uint64_t)pos;
		*loan = sk_chan_payload(s);
		return 0;
	}
	sk_chan_copy(sk_chan_payload(s), msg, len);
	SK_CRASH_POINT();
	return sk_mpmc_commit(c, (uint64_t)pos, len);
}

int sk_mpmc_commit(shmkit_chan_t *c, uint64_t pos, size_t len)
{
	struct sk_chan_slot *s = sk_chan_slot(c, pos);
	sk_store_relaxed(&s->len, (uint32_t)len);
	s->writer = c->self + 1;
	SK_CRASH_POINT();
	uint64_t want = pos;
	/* BARRIER_C2 (release: the slot before its seq), BARRIER_C4. Fails only if a receiver
	 * took us for dead and marked the slot abandoned. */
	int ok = atomic_compare_exchange_strong(&s->seq, &want, pos + 1);
	SK_CRASH_POINT();
	sk_store_relaxed(&c->parts[c->self].claim, SK_CHAN_NONE);
	if (!ok)
		return -ECANCELED;
	atomic_fetch_add_explicit(&c->parts[c->self].count, 1, memory_order_relaxed);
	sk_chan_wake_rx(c);
	return 0;
}

/*
 * Take a position from the redo table (announced first: BARRIER_C3): 1 (in *out), 0 if there
 * is none, or -EMSGSIZE if the only ones there are too big for the caller's buffer (a receiver
 * with a bigger one held them): they stay, as a message too big at head does.
 */
static int take_redo(shmkit_chan_t *c, size_t cap, int peek, uint64_t *out)
{
	struct sk_chan_part *me = &c->parts[c->self];
	int big = 0;
	for (uint32_t r = 0; r < SK_CHAN_REDO; r++) {
		uint64_t pos = sk_load_relaxed(&c->hdr->redo[r]);
		if (pos == SK_CHAN_NONE)
			continue;
		if (!peek) {
			struct sk_chan_slot *s = sk_chan_slot(c, pos);
			uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
			uint32_t len = sk_load_relaxed(&s->len); /* after seq: BARRIER_C2 */
			if (seq == pos + 1 && len <= c->msg_size && len > cap) {
				big = 1;
				continue;
			}
		}
		atomic_store(&me->hold, pos);
		SK_CRASH_POINT();
		if (atomic_compare_exchange_strong(&c->hdr->redo[r], &pos, SK_CHAN_NONE)) {
			SK_CRASH_POINT();
			atomic_fetch_sub(&c->hdr->nredo, 1);
			*out = pos;
			return 1;
		}
		sk_store_relaxed(&me->hold, SK_CHAN_NONE);
	}
	return big ? -EMSGSIZE : 0;
}

/* The slot of a claim nobody alive announces (its sender died): abandoned, for receivers to
 * skip. From the state seen only: a sender that publishes meanwhile wins. */
static int abandon(shmkit_chan_t *c, uint64_t pos)
{
	uint64_t want = pos;
	if (!atomic_compare_exchange_strong(&sk_chan_slot(c, pos)->seq, &want,
	                                    (pos + 1) | SK_SEQ_ABANDONED))
		return 0;
	atomic_fetch_add(&c->hdr->abandoned, 1);
	return 1;
}

/* A receiver at pos: something to look at (1), or nothing yet (0)? */
static int mpmc_data(struct waiting *w)
{
	shmkit_chan_t *c = w->c;
	uint64_t pos = w->pos;
	if (sk_chan_redo_pending(c))
		return 1;
	if (sk_load_relaxed(&c->hdr->head) != pos)
		return 1;
	uint64_t s =
	    seq_pos(atomic_load_explicit(&sk_chan_slot(c, pos)->seq, memory_order_acquire));
	if (s > pos)
		return 1; /* published (or nonsense that the caller reports) */
	if (s < pos)      /* the lap before's reader still at it, or nonsense the caller reports */
		return !lap_before(c, pos, s, 0);
	/* BARRIER_C3: tail loaded (seq_cst) before the claims are scanned. Not past pos: empty
	 * (or a lie the caller reports). */
	if (atomic_load(&c->hdr->tail) <= pos)
		return 0;
	/* Claimed, not published: if nobody alive claims it, its sender died writing it. Once
	 * marked, there is something to look at; if the mark failed, the slot changed, and the
	 * next look sees how. */
	return now_of(w) && sk_chan_unclaimed(c, pos, 0) && abandon(c, pos);
}

void sk_mpmc_unloan(shmkit_chan_t *c, uint64_t pos)
{
	abandon(c, pos);
	sk_store_relaxed(&c->parts[c->self].claim, SK_CHAN_NONE);
	sk_chan_wake_rx(c);
}

/* Deliver the message at pos, which we hold (hold == pos, head past it). */
static ssize_t mpmc_deliver(shmkit_chan_t *c, uint64_t pos, void *buf, size_t cap,
                            const void **peek)
{
	struct sk_chan_part *me = &c->parts[c->self];
	struct sk_chan_slot *s = sk_chan_slot(c, pos);
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire); /* BARRIER_C2 */
	uint32_t len = sk_load_relaxed(&s->len);
	/* Read again, and checked again: a length that grew past what the caller was found to
	 * have room for (before it took the position) was not written by a sender. */
	if (seq != pos + 1 || len > c->msg_size || (!peek && len > cap)) {
		sk_store_relaxed(&me->hold, SK_CHAN_NONE);
		if (seq_pos(seq) != pos + 1)
			return -EAGAIN; /* not this position's any more (a stale redo): look again
			                 */
		/* Abandoned, or a length no sender wrote: free the slot (and say which). Which is
		 * what we saw: a failed CAS overwrites seq, and a sender's free_skipped() may
		 * free an abandoned slot first (head is past it). */
		uint64_t want = seq;
		atomic_compare_exchange_strong(&s->seq, &want, pos + c->cap);
		sk_chan_wake_tx(c);
		if (!(seq & SK_SEQ_ABANDONED))
			return -EBADMSG;
		atomic_fetch_add_explicit(&me->abandoned, 1, memory_order_relaxed);
		return -EAGAIN; /* nothing delivered: look again */
	}
	if (peek) {
		c->peek_pos = pos;
		c->peek_slot = *peek = sk_chan_payload(s);
		return len;
	}
	sk_chan_copy(buf, sk_chan_payload(s), len);
	SK_CRASH_POINT();
	int err = sk_mpmc_release(c, pos);
	return err ? err : (ssize_t)len;
}

int sk_mpmc_release(shmkit_chan_t *c, uint64_t pos)
{
	struct sk_chan_part *me = &c->parts[c->self];
	struct sk_chan_slot *s = sk_chan_slot(c, pos);
	uint64_t want = pos + 1;
	/* BARRIER_C2: free for the next lap. If it fails, another receiver delivered it again
	 * (we were taken for dead): the message was seen twice, as documented. */
	atomic_compare_exchange_strong(&s->seq, &want, pos + c->cap);
	SK_CRASH_POINT();
	sk_store_relaxed(&me->hold, SK_CHAN_NONE);
	atomic_fetch_add_explicit(&me->count, 1, memory_order_relaxed);
	sk_chan_wake_tx(c);
	return 0;
}

ssize_t sk_mpmc_recv(shmkit_chan_t *c, void *buf, size_t cap, const struct timespec *abs, int wait,
                     const void **peek)
{
	struct sk_chan_part *me = &c->parts[c->self];
	uint64_t last = SK_CHAN_NONE;
	for (unsigned stale = 0;;) {
		if (SK_UNLIKELY(sk_load_relaxed(&c->hdr->nredo))) {
			uint64_t pos;
			int took = take_redo(c, cap, peek != NULL, &pos);
			if (took < 0)
				return took;
			if (took) {
				ssize_t r = mpmc_deliver(c, pos, buf, cap, peek);
				if (r != -EAGAIN)
					return r;
				continue;
			}
		}
		uint64_t pos = sk_load_relaxed(&c->hdr->head);
		if (pos > SK_SEQ_POS - c->cap)
			return -EPROTO;
		struct sk_chan_slot *s = sk_chan_slot(c, pos);
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire); /* BARRIER_C2 */
		uint64_t sp = seq_pos(seq);
		if (sp == pos + 1) {
			uint32_t len = sk_load_relaxed(&s->len);
			/* Too big for the caller: it stays queued for any receiver. */
			if (!peek && !(seq & SK_SEQ_ABANDONED) && len <= c->msg_size && len > cap)
				return -EMSGSIZE;
			atomic_store(&me->hold, pos); /* BARRIER_C3 */
			SK_CRASH_POINT();
			if (!atomic_compare_exchange_strong(&c->hdr->head, &pos, pos + 1)) {
				sk_store_relaxed(&me->hold, SK_CHAN_NONE);
				continue;
			}
			SK_CRASH_POINT();
			ssize_t r = mpmc_deliver(c, pos, buf, cap, peek);
			if (r != -EAGAIN)
				return r;
			continue;
		}
		if (sp <= pos) {
			if (free_skipped(c, pos, seq))
				continue;
			/* Empty, or claimed by a sender that has not published yet; with another
			 * flag, a state no MPMC participant writes (waiting on it would never end).
			 */
			if (seq != sp || !positions_ok(c) ||
			    (sp < pos && !lap_before(c, pos, sp, 0) &&
			     sk_load_relaxed(&c->hdr->head) == pos))
				return -EPROTO;
			struct waiting w = {c, wait, mpmc_data, pos, 0};
			int r = wait_rx(c, &w, abs);
			if (r < 0)
				return r;
			continue;
		}
		/* Another receiver took pos and freed its slot: it moved head first (a lie
		 * otherwise, reported at once, as a sender's). */
		if (sk_load_relaxed(&c->hdr->head) == pos)
			return -EPROTO;
		int r = stuck(pos, &last, &stale, abs, wait);
		if (r)
			return r;
	}
}

/* ---- readiness, for the descriptor (fd.c): peers are looked at each time ---- */

/*
 * Something at position h, below tail, for a receive (1), or only a claim whose live writer
 * has not published it (0)? SPSC's tail passes a slot once published; MPMC's and broadcast's
 * once claimed, so a loan held (or a sender between claim and copy) would make a receiver's
 * descriptor readable with nothing to receive: poll and epoll loops would spin. A claim whose
 * writer died counts (the receive gives it up), as does any state that is not a claim of h
 * (a message, an abandoned slot, an overrun, a lie: the receive says which).
 */
static int slot_ready(shmkit_chan_t *c, uint64_t h)
{
	if (c->kind == SHMKIT_CHAN_SPSC)
		return 1;
	uint64_t p =
	    atomic_load_explicit(&sk_chan_slot(c, h)->seq, memory_order_acquire) &
	    SK_SEQ_POS; /* BARRIER_C2: pairs with a publisher's release of seq, as a receive's */
	if (p > h)
		return 1;
	/* MPMC: free for h and claimed (p == h), or the lap before still held (p < h: not
	 * ours to judge, a dead holder's slot comes back through redo). Broadcast: taken for h,
	 * or the lap before unfinished, by writers that may have died (a receive resolves it). */
	int dead = c->kind == SHMKIT_CHAN_MPMC ? p == h && sk_chan_unclaimed(c, h, 0)
	                                       : sk_chan_unclaimed_laps(c, p, h);
	/* Readable for a dead writer's claim: the owner's next receive gives it up at once
	 * (open.c sk_chan_time_to_check), not a liveness period later, while poll says ready. */
	if (dead)
		atomic_store(&c->look_now, 1);
	return dead;
}

int sk_chan_readable(shmkit_chan_t *c)
{
	uint64_t h = c->kind == SHMKIT_CHAN_BROADCAST ? sk_load_relaxed(&c->cursor)
	                                              : sk_load_relaxed(&c->hdr->head);
	uint64_t t = sk_load_acquire(&c->hdr->tail);
	if (c->kind == SHMKIT_CHAN_MPMC && sk_chan_redo_pending(c))
		return 1;
	if (t != h && (t < h || t - h > c->cap || slot_ready(c, h)))
		return 1; /* a message, or positions no peer leaves: the receive says -EPROTO */
	/* A pending -EPIPE counts as readable. */
	return sk_load_relaxed(&c->hdr->ever_senders) &&
	       sk_chan_live_noreap(c, SHMKIT_CHAN_SEND) == 0;
}

/*
 * May a send take the slot at tail t (1), or does the lap before still have it (0)? MPMC:
 * a receiver past the lap before's message still holding it (a peek; a dead holder's comes
 * back through redo, and its release wakes us). Broadcast: the lap before still being
 * written by a live sender (a loan; a dead one's the send gives up). Any other state is the
 * send's to judge (free, taken by another sender, skipped, a lie): 1.
 */
static int tail_ready(shmkit_chan_t *c, uint64_t t)
{
	if (c->kind == SHMKIT_CHAN_SPSC || t < c->cap)
		return 1;
	/* BARRIER_C2: pairs with the release that freed (MPMC) or published (broadcast) the lap
	 * before, as the send's own look does */
	uint64_t seq = atomic_load_explicit(&sk_chan_slot(c, t)->seq, memory_order_acquire);
	uint64_t p = seq & SK_SEQ_POS, prev = t - c->cap;
	if (c->kind == SHMKIT_CHAN_MPMC)
		return p != prev + 1 || (seq & SK_SEQ_ABANDONED);
	if (p > prev) /* done with prev (published, abandoned), or beyond it */
		return 1;
	return sk_chan_unclaimed_laps(c, p < prev ? p : prev, prev);
}

int sk_chan_writable(shmkit_chan_t *c)
{
	/* acquire: pairs with the claiming sender's CAS of tail (BARRIER_C3), so that the slot
	 * tail_ready reads is not older than the claim that moved tail to t */
	uint64_t t = sk_load_acquire(&c->hdr->tail);
	if (c->kind == SHMKIT_CHAN_BROADCAST)
		return tail_ready(c, t); /* never waits for receivers, only for the lap before */
	uint64_t h = sk_load_acquire(&c->hdr->head); /* pairs with a receiver's CAS of head */
	/* Room, or positions no peer leaves (the send says -EPROTO). A full ring with no live
	 * receiver is not writable: the send says -EPIPE at once, and the descriptor turns
	 * writable when a receiver makes room. */
	return t < h || t - h > c->cap || (t - h < c->cap && tail_ready(c, t));
}
