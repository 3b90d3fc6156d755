/* SPDX-License-Identifier: MIT */
/*
 * Broadcast rings: many senders, every receiver sees every message it keeps up with.
 *
 * Senders claim positions as in MPMC (announce, then CAS tail: BARRIER_C3) and never wait
 * for receivers: the slot of position pos is taken from the lap before (pos - capacity),
 * once that lap's writer is done with it, by CASing its seq to WRITING | pos; the message is
 * written, then seq goes from WRITING | pos to pos + 1 (BARRIER_C2). Receivers free nothing:
 * each keeps a cursor and reads a slot as a seqlock (BARRIER_C5), delivering a copy only if
 * seq said pos + 1 before and after it.
 *
 * A receiver whose cursor is more than a lap behind tail lost what was overwritten: it gets
 * -EOVERFLOW once, its lost count grows by how many, and it goes on from the oldest position
 * still in the ring (tail - capacity). A position claimed but unpublished is waited for while
 * a live participant announces it; when none does (its sender died, or the ring lies), the
 * first to see it so marks the slot abandoned, and everyone skips it.
 *
 * Passive receivers (read-only mapping) never write the ring: they keep their counts to
 * themselves, skip abandoned slots without marking them, and since they cannot raise the
 * waiters hint, they sleep in short, growing naps (at most SK_BCAST_NAP_MAX_NS) instead.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "chan/chan.h"
#include "sync/sync.h"
#include "sys/sys.h"

#define SK_BCAST_NAP_MIN_NS (20ull * 1000)
#define SK_BCAST_NAP_MAX_NS (1000ull * 1000)
/* Checks before a sender waiting for the lap before's writer (a copy's time), or a passive
 * receiver, starts napping. */
#define SK_BCAST_TAKE_SPINS    256
#define SK_BCAST_PASSIVE_SPINS 32

/*
 * A broadcast slot may be overwritten while a receiver copies it out: the copy is checked
 * afterwards (BARRIER_C5), and a torn one is thrown away. Under ThreadSanitizer the copy is
 * done word by word outside its view, since that race is the protocol, not a bug.
 */
#if defined(__SANITIZE_THREAD__)
__attribute__((no_sanitize("thread"))) static void racy_copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const volatile unsigned char *s = src;
	for (size_t i = 0; i < n; i++)
		d[i] = s[i];
}
#else
static void racy_copy(void *dst, const void *src, size_t n)
{
	sk_chan_copy(dst, src, n);
}
#endif

static uint64_t seq_pos(uint64_t seq)
{
	return seq & SK_SEQ_POS;
}

/* Is the slot's seq finished with position p (published or abandoned for it)? */
static int done_with(uint64_t seq, uint64_t p)
{
	return !(seq & SK_SEQ_WRITING) && seq_pos(seq) == p + 1;
}

/* Mark position pos abandoned, from the state seen (its writer is gone): receivers skip it. */
static void abandon(shmkit_chan_t *c, uint64_t pos, uint64_t seen)
{
	if (c->passive)
		return;
	if (atomic_compare_exchange_strong(&sk_chan_slot(c, pos)->seq, &seen,
	                                   (pos + 1) | SK_SEQ_ABANDONED))
		atomic_fetch_add(&c->hdr->abandoned, 1);
}

/*
 * The slot of pos says seen, a state behind pos. May pos be given up? Only if nobody alive
 * will write it: no live participant claims pos, nor a lap of the slot between seen's and pos
 * (a sender that claimed it and has not taken the slot yet, or is writing it: its bytes would
 * land on whatever replaced them, and its take would find the slot beyond its position;
 * tests/chan/model/bcast.pml). Then it is marked abandoned (a passive receiver, which cannot
 * mark it, just skips it): returns 1.
 */
static int resolve(shmkit_chan_t *c, uint64_t pos, uint64_t seen)
{
	if (!sk_chan_unclaimed_laps(c, seq_pos(seen) < pos ? seq_pos(seen) : pos, pos) ||
	    sk_load_relaxed(&sk_chan_slot(c, pos)->seq) != seen)
		return 0;
	abandon(c, pos, seen);
	return 1;
}

/* A slot state from a lap at or after pos (what a slot of pos can never hold before pos). */
static int beyond(uint64_t seq, uint64_t pos)
{
	return (seq & SK_SEQ_WRITING) ? seq_pos(seq) > pos : seq_pos(seq) > pos + 1;
}

/* ---- senders ---- */

/*
 * Take the slot of pos from the lap before: 0, or -errno. Its writer is almost always long
 * done; a live one still at it (a loan held for a whole lap) is waited for, in growing naps;
 * a dead one's position is given up (resolve).
 */
static int take_slot(shmkit_chan_t *c, uint64_t pos, const struct timespec *abs, int wait)
{
	struct sk_chan_slot *s = sk_chan_slot(c, pos);
	uint64_t prev = pos - c->cap, nap = 10 * 1000;
	for (unsigned n = 0;; n++) {
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire); /* BARRIER_C2 */
		if (done_with(seq, prev)) {
			/* BARRIER_C5: acquire-release, before any byte of the message is written.
			 */
			if (atomic_compare_exchange_strong(&s->seq, &seq, SK_SEQ_WRITING | pos))
				return 0;
			continue;
		}
		if (beyond(seq, prev))
			return -EPROTO; /* a state no slot of pos can have before pos: the ring lies
			                 */
		if (n < SK_BCAST_TAKE_SPINS) {
			sk_cpu_relax();
			continue;
		}
		if (resolve(c, prev, seq))
			continue;
		if (!wait || (abs && sk_ns_until(abs) == 0))
			return wait ? -ETIMEDOUT : -EAGAIN;
		struct timespec until;
		sk_deadline_after(&until, nap);
		if (abs && sk_ns_until(abs) < nap)
			until = *abs;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
		nap = nap * 2 > SK_BCAST_NAP_MAX_NS ? SK_BCAST_NAP_MAX_NS : nap * 2;
	}
}

int sk_bcast_send(shmkit_chan_t *c, const void *msg, size_t len, const struct timespec *abs,
                  int wait, void **loan)
{
	struct sk_chan_part *me = &c->parts[c->self];
	uint64_t pos;
	for (;;) {
		pos = sk_load_relaxed(&c->hdr->tail);
		if (pos < c->cap || pos > SK_SEQ_POS - c->cap)
			return -EPROTO;
		/* The lap before still being written: say so before claiming (try), or claim and
		 * wait for it (take_slot). A writer of it that died leaves it so for good: the try
		 * gives it up too, now and then (else every try says -EAGAIN for ever when no
		 * receiver reads that position). */
		if (!wait) {
			/* BARRIER_C2: pairs with the lap before's publishing release */
			uint64_t seq = sk_load_acquire(&sk_chan_slot(c, pos)->seq);
			/* Beyond: another sender took pos meanwhile (the claim fails, and we look
			 * again), or a lie (take_slot says so). */
			if (!done_with(seq, pos - c->cap) && !beyond(seq, pos - c->cap)) {
				if (sk_chan_time_to_check(c) && resolve(c, pos - c->cap, seq))
					continue;
				return -EAGAIN;
			}
		}
		atomic_store(&me->claim, pos); /* BARRIER_C3 */
		SK_CRASH_POINT();
		if (atomic_compare_exchange_strong(&c->hdr->tail, &pos, pos + 1))
			break;
	}
	SK_CRASH_POINT();
	/* Given up (a deadline, a lie): the claim goes, and pos is abandoned by whoever finds it
	 * unwritten. */
	int err = take_slot(c, pos, abs, wait);
	if (err) {
		atomic_store(&me->claim, SK_CHAN_NONE);
		return err;
	}
	SK_CRASH_POINT();
	if (loan) {
		c->loan_pos = pos;
		*loan = sk_chan_payload(sk_chan_slot(c, pos));
		return 0;
	}
	sk_chan_copy(sk_chan_payload(sk_chan_slot(c, pos)), msg, len);
	SK_CRASH_POINT();
	return sk_bcast_commit(c, pos, len);
}

int sk_bcast_commit(shmkit_chan_t *c, uint64_t pos, size_t len)
{
	struct sk_chan_part *me = &c->parts[c->self];
	struct sk_chan_slot *s = sk_chan_slot(c, pos);
	sk_store_relaxed(&s->len, (uint32_t)len);
	s->writer = c->self + 1;
	uint64_t want = SK_SEQ_WRITING | pos;
	SK_CRASH_POINT();
	/* BARRIER_C2 (release), BARRIER_C4. Fails only if we were taken for dead. */
	int ok = atomic_compare_exchange_strong(&s->seq, &want, pos + 1);
	SK_CRASH_POINT();
	sk_store_relaxed(&me->claim, SK_CHAN_NONE);
	if (!ok)
		return -ECANCELED;
	atomic_fetch_add_explicit(&me->count, 1, memory_order_relaxed);
	sk_chan_wake_rx(c);
	/* A sender's descriptor helper may wait for this lap to be done (ring.c tail_ready).
	 * BARRIER_C4: its mask loaded after the publishing CAS (seq_cst), as rx's are. */
	if (atomic_load(&c->hdr->tx_sleep[1]))
		sk_chan_wake_tx(c);
	return 0;
}

/* A loan given up (close): abandoned, so that receivers skip it at once. */
void sk_bcast_unloan(shmkit_chan_t *c, uint64_t pos)
{
	abandon(c, pos, SK_SEQ_WRITING | pos);
	sk_store_relaxed(&c->parts[c->self].claim, SK_CHAN_NONE);
	sk_chan_wake_rx(c);
	sk_chan_wake_tx(c); /* as in commit; not on a fast path */
}

/* ---- receivers ---- */

/* Our record's counters (a passive receiver has none). */
enum { COUNT, LOST, ABANDONED };
static void count(shmkit_chan_t *c, int which, uint64_t n)
{
	if (c->passive)
		return;
	struct sk_chan_part *me = &c->parts[c->self];
	SK_ATOMIC(uint64_t) *f = which == COUNT  ? &me->count
	                         : which == LOST ? &me->lost
	                                         : &me->abandoned;
	atomic_fetch_add_explicit(f, n, memory_order_relaxed);
}

static void move_cursor(shmkit_chan_t *c, uint64_t to)
{
	sk_store_relaxed(&c->cursor, to);
	if (!c->passive)
		sk_store_relaxed(&c->parts[c->self].cursor, to);
}

/* More than a lap behind tail? Then go on from the oldest position left: -EOVERFLOW. */
static int overrun(shmkit_chan_t *c, uint64_t cur, uint64_t tail)
{
	if (tail - cur <= c->cap)
		return 0;
	uint64_t oldest = tail - c->cap;
	c->lost += oldest - cur;
	count(c, LOST, oldest - cur);
	move_cursor(c, oldest);
	return -EOVERFLOW;
}

/* The tail as read by a receiver at cur: checked against what any sender can have left. */
static int load_tail(shmkit_chan_t *c, uint64_t cur, uint64_t *tail)
{
	uint64_t t = sk_load_acquire(&c->hdr->tail);
	if (t < cur || t > SK_SEQ_POS - c->cap)
		return -EPROTO;
	*tail = t;
	return 0;
}

/* Is there something for a receiver at pos to act on (1), or nothing yet (0)? */
static int bcast_data(shmkit_chan_t *c, uint64_t pos, int now)
{
	uint64_t t;
	if (load_tail(c, pos, &t) < 0 || t - pos > c->cap)
		return 1; /* the caller reports the lie, or the overrun */
	if (sk_load_relaxed(&c->cursor) != pos)
		return 1;
	/* Nothing sent yet, whatever the slot says: the caller would only wait again. */
	if (t == pos)
		return 0;
	uint64_t seq = atomic_load_explicit(&sk_chan_slot(c, pos)->seq, memory_order_acquire);
	if (done_with(seq, pos) || beyond(seq, pos))
		return 1; /* published, abandoned, or overwritten */
	/* Claimed, unpublished: given up if nobody alive will write it. */
	if (!now || !resolve(c, pos, seq))
		return 0;
	if (c->passive)
		move_cursor(c, pos + 1);
	return 1;
}

struct bwait {
	shmkit_chan_t *c;
	uint64_t pos;
	int wait;
};

static int bcast_look(void *arg, uint32_t *expect)
{
	struct bwait *w = arg;
	*expect = atomic_load(&w->c->hdr->rx_seq);
	if (bcast_data(w->c, w->pos, 0))
		return 1; /* the ready case reads no clock */
	int now = sk_chan_time_to_check(w->c);
	if (now && bcast_data(w->c, w->pos, 1))
		return 1;
	if (!sk_load_relaxed(&w->c->hdr->ever_senders) || !sk_chan_peers_gone(w->c, now))
		return w->wait ? 0 : -EAGAIN;
	/* No sender left: a slot a dead one claimed is given up by a check that looks. */
	return bcast_data(w->c, w->pos, 1) ? 1 : -EPIPE;
}

/* A ring truncated under a look ends the wait (ring.c's rx_check). */
static int bcast_check(void *arg, uint32_t *expect)
{
	int r = bcast_look(arg, expect);
	return sk_chan_verdict(((struct bwait *)arg)->c, r);
}

/* A passive receiver cannot raise the hint: it naps, a little longer each time. */
static int passive_wait(struct bwait *w, const struct timespec *abs)
{
	uint64_t nap = SK_BCAST_NAP_MIN_NS;
	for (int spin = 0;; spin++) {
		uint32_t expect;
		int r = bcast_check(w, &expect);
		if (r)
			return r > 0 ? 0 : r;
		if (spin < SK_BCAST_PASSIVE_SPINS) {
			sk_cpu_relax();
			continue;
		}
		if (abs && sk_ns_until(abs) == 0)
			return -ETIMEDOUT;
		struct timespec until;
		sk_deadline_after(&until, nap);
		if (abs && sk_ns_until(abs) < nap)
			until = *abs;
		sk_futex_wait(&w->c->hdr->rx_seq, expect, &until);
		nap = nap * 2 > SK_BCAST_NAP_MAX_NS ? SK_BCAST_NAP_MAX_NS : nap * 2;
	}
}

static int wait_data(shmkit_chan_t *c, uint64_t pos, const struct timespec *abs, int wait)
{
	struct bwait w = {c, pos, wait};
	if (c->passive && wait)
		return passive_wait(&w, abs);
	struct sk_chan_hdr *h = c->hdr;
	/* No waiting (try): one look, and the hint is never raised (a passive receiver, which
	 * has no record, gets here only so: no bit of its own). */
	uint64_t bit = c->passive ? 0 : (uint64_t)1 << c->self;
	return sk_wait_masked(&h->rx_seq, &h->rx_sleep[0], bit, bcast_check, &w, abs,
	                      SK_CHAN_POLL_NS, wait ? c->spin_ns : 0, 0);
}

/*
 * Copy (or lend) the message at cur if it is whole: its length, or -EAGAIN to look again
 * (the cursor moved past a skipped or overwritten slot), -EOVERFLOW, -EMSGSIZE, -EPROTO.
 */
static ssize_t read_slot(shmkit_chan_t *c, uint64_t cur, uint64_t seq, void *buf, size_t cap,
                         const void **peek)
{
	struct sk_chan_slot *s = sk_chan_slot(c, cur);
	if (seq & SK_SEQ_ABANDONED) {
		count(c, ABANDONED, 1);
		move_cursor(c, cur + 1);
		return -EAGAIN;
	}
	uint32_t len = sk_load_relaxed(&s->len);
	if (peek) {
		if (len > c->msg_size)
			return -EBADMSG;
		c->peek_pos = cur;
		c->peek_slot = *peek = sk_chan_payload(s);
		return len;
	}
	if (len <= c->msg_size && len <= cap)
		racy_copy(buf, sk_chan_payload(s), len);
	atomic_thread_fence(memory_order_acquire); /* BARRIER_C5 */
	if (sk_load_relaxed(&s->seq) != seq)
		return -EAGAIN; /* overwritten while we read: the caller sees the overrun */
	if (len > c->msg_size)
		return -EBADMSG;
	if (len > cap)
		return -EMSGSIZE; /* the cursor stays: it is still there for a bigger buffer */
	move_cursor(c, cur + 1);
	count(c, COUNT, 1);
	return len;
}

ssize_t sk_bcast_recv(shmkit_chan_t *c, void *buf, size_t cap, const struct timespec *abs, int wait,
                      const void **peek)
{
	for (;;) {
		uint64_t cur = sk_load_relaxed(&c->cursor), tail;
		if (load_tail(c, cur, &tail) < 0)
			return -EPROTO;
		int r = overrun(c, cur, tail);
		if (r)
			return r;
		if (cur == tail) {
			if ((r = wait_data(c, cur, abs, wait)) < 0)
				return r;
			continue;
		}
		uint64_t seq = atomic_load_explicit(&sk_chan_slot(c, cur)->seq,
		                                    memory_order_acquire); /* BARRIER_C2, C5 */
		if (done_with(seq, cur)) {
			ssize_t n = read_slot(c, cur, seq, buf, cap, peek);
			if (n != -EAGAIN)
				return n;
			continue;
		}
		if (beyond(seq, cur)) {
			/* Overwritten: a later lap's. The tail says how far behind we are. */
			if (load_tail(c, cur, &tail) < 0 || tail - cur <= c->cap)
				return -EPROTO; /* a later lap below a tail that does not say so */
			continue;
		}
		/* Claimed, not yet published: wait (bcast_data gives it up if its writer died). */
		if ((r = wait_data(c, cur, abs, wait)) < 0)
			return r;
	}
}

int sk_bcast_release(shmkit_chan_t *c, uint64_t pos)
{
	uint64_t seq = sk_load_acquire(&sk_chan_slot(c, pos)->seq);
	move_cursor(c, pos + 1);
	if (seq != pos + 1) {
		c->lost++;
		count(c, LOST, 1);
		return -EOVERFLOW; /* overwritten while it was lent: what was read may be torn */
	}
	count(c, COUNT, 1);
	return 0;
}
