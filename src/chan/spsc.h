/* SPDX-License-Identifier: MIT */
/*
 * chan: the SPSC ring's steps, inline, for the try calls' fast path (open.c) and the waiting
 * paths (ring.c) alike: one copy of the protocol (ring.c's header comment and BARRIER_C1/C4
 * in chan.h say what it is).
 *
 * A send or receive that needs no wait is a leaf: no call but the copy, a few stores, so
 * that the sender's store buffer holds as many messages as it can while their cache lines
 * travel to the receiver (the calls' own register saves were half the stores of a message).
 */
#ifndef SHMKIT_CHAN_SPSC_H
#define SHMKIT_CHAN_SPSC_H

#include <errno.h>

#include "chan/chan.h"
#include "internal/crash.h"

/* The handle's fast path (shmkit_chan_t.fast): what it may do without the checks. */
#define SK_CHAN_FAST_TX 1u /* an SPSC sender with no descriptor helper and no loan */
#define SK_CHAN_FAST_RX 2u /* an SPSC receiver with no descriptor helper and no peek */

/* Wake the receivers (senders) if the masks say one may sleep (BARRIER_C4: after publishing). */
static inline void sk_chan_kick_rx(shmkit_chan_t *c)
{
	if (SK_UNLIKELY(atomic_load(&c->hdr->rx_sleep[0]) | atomic_load(&c->hdr->rx_sleep[1])))
		sk_chan_wake_rx(c);
}

static inline void sk_chan_kick_tx(shmkit_chan_t *c)
{
	if (SK_UNLIKELY(atomic_load(&c->hdr->tx_sleep[0]) | atomic_load(&c->hdr->tx_sleep[1])))
		sk_chan_wake_tx(c);
}

/*
 * An empty (full) try call that may answer -EAGAIN at once, without the waiting path's looks:
 * the other side was looked at before and not found all gone, nobody of it closed since (a
 * clean close is seen at once), and this is not the one call in SK_CHAN_IDLE_LOOK that goes
 * the whole way (the clock, and every SK_CHAN_LIVE_NS the tokens: a peer's kill -9).
 */
#define SK_CHAN_IDLE_LOOK 64u
static inline int sk_spsc_idle(shmkit_chan_t *c)
{
	return c->last_live_check && !c->gone_known && (++c->idle & (SK_CHAN_IDLE_LOOK - 1)) &&
	       sk_chan_no_leaves(c);
}

/* Room at our position? 1 yes (by the head we cached, or by head reloaded), 0 full, -EPROTO
 * a head no receiver can have left (checked before it is used). */
static inline int sk_spsc_room(shmkit_chan_t *c)
{
	uint64_t t = c->pos;
	if (SK_LIKELY(t - c->other < c->cap))
		return 1;
	/* acquire: pairs with the receiver's release of head in sk_spsc_free (BARRIER_C1): the
	 * slots before it are read, ours to write again */
	uint64_t h = atomic_load_explicit(&c->hdr->head, memory_order_acquire);
	if (SK_UNLIKELY(h > t || t - h > c->cap))
		return -EPROTO;
	c->other = h;
	return t - h < c->cap;
}

/* Publish slot t (written) with len bytes: seq, then tail, then our count. */
static inline void sk_spsc_publish(shmkit_chan_t *c, uint64_t t, size_t len)
{
	struct sk_chan_slot *s = sk_chan_slot(c, t);
	sk_store_relaxed(&s->len, (uint32_t)len);
	SK_CRASH_POINT();
	/* BARRIER_C1 (release: the slot before its seq); BARRIER_C4: seq_cst before the masks,
	 * or (asym) a release, the sleeper paying the barrier (sys/fence.c). */
	if (SK_LIKELY(c->asym)) {
		sk_store_release(&s->seq, t + 1);
		/* The compiler keeps the masks' loads after the store (sys/fence.c). */
		atomic_signal_fence(memory_order_seq_cst);
	} else {
		atomic_store(&s->seq, t + 1);
	}
	/* For openers and readers of the header only: the receiver polls the slot, not tail.
	 * release: pairs with an opener's acquire of tail (open.c), after which the slots
	 * before it are published. */
	SK_CRASH_POINT();
	sk_store_release(&c->hdr->tail, t + 1);
	c->pos = t + 1;
	struct sk_chan_part *me = &c->parts[c->self];
	sk_store_relaxed(&me->count, sk_load_relaxed(&me->count) + 1); /* ours alone */
	sk_chan_kick_rx(c);
}

/* Send len bytes at t, where there is room: the claim, the copy, the publication. */
static inline int sk_spsc_put(shmkit_chan_t *c, uint64_t t, const void *msg, size_t len)
{
	struct sk_chan_slot *s = sk_chan_slot(c, t);
	/* Whoever finds us dead with tail still at t counts the slot abandoned (open.c). */
	sk_store_relaxed(&c->parts[c->self].claim, t);
	sk_chan_copy(sk_chan_payload(s), msg, len);
	SK_CRASH_POINT();
	sk_spsc_publish(c, t, len);
	return 0;
}

/*
 * Published at position h (1), not yet (0), or a seq no sender wrote (-EPROTO)?
 *
 * Not yet: the slot's second line is read too, and dropped. A 64-byte message spans both
 * lines of its slot; a receiver that polled only the seq's line would fetch the second only
 * after the seq arrived, one cache-line transfer after the other. Asking for both on every
 * look keeps both requests in flight together when the sender's stores invalidate them
 * (measured: a 64-byte round trip 5% shorter, ref-ring's 7%; docs/bench.md). The value is
 * never used; ThreadSanitizer, which would call the read a race with the sender's copy when
 * both sides are threads of one process, builds without it.
 */
static inline int sk_spsc_seq(const shmkit_chan_t *c, uint64_t h)
{
	struct sk_chan_slot *s = sk_chan_slot(c, h);
	uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
	if (SK_LIKELY(seq == h + 1))
		return 1; /* BARRIER_C1: the slot's bytes are visible */
#ifndef __SANITIZE_THREAD__
	if (c->slot_size > 64)
		(void)sk_load_relaxed((volatile SK_ATOMIC(uint64_t) *)(void *)((char *)s + 64));
#endif
	return seq == (h >= c->cap ? h + 1 - c->cap : 0) ? 0 : -EPROTO; /* the lap before's, or 0 */
}

/* Free slot h (read): head passes it. */
static inline void sk_spsc_free(shmkit_chan_t *c, uint64_t h)
{
	/* BARRIER_C1: the slot is free once head passes it; BARRIER_C4 as in publish. */
	if (SK_LIKELY(c->asym)) {
		sk_store_release(&c->hdr->head, h + 1);
		atomic_signal_fence(memory_order_seq_cst); /* as in publish */
	} else {
		atomic_store(&c->hdr->head, h + 1);
	}
	c->pos = h + 1;
	struct sk_chan_part *me = &c->parts[c->self];
	sk_store_relaxed(&me->count, sk_load_relaxed(&me->count) + 1); /* ours alone */
	sk_chan_kick_tx(c);
}

/* Receive the message published at h into buf: its length, -EBADMSG or -EMSGSIZE. */
static inline ssize_t sk_spsc_take(shmkit_chan_t *c, uint64_t h, void *buf, size_t cap)
{
	struct sk_chan_slot *s = sk_chan_slot(c, h);
	uint32_t len = sk_load_relaxed(&s->len); /* read once, checked, then used */
	if (SK_UNLIKELY(len > c->msg_size))
		return -EBADMSG;
	if (SK_UNLIKELY(len > cap))
		return -EMSGSIZE; /* it stays at the head */
	sk_chan_copy(buf, sk_chan_payload(s), len);
	SK_CRASH_POINT();
	sk_spsc_free(c, h);
	return len;
}

#endif
