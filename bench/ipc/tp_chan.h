/* SPDX-License-Identifier: MIT */
/*
 * The shmkit channels as transports of shmkit-bench, shared by tp_chan_spsc.c, tp_chan_mpmc.c
 * and tp_chan_bcast.c: the same code for every kind, through the public API only.
 *
 * Geometry. A channel's slots are sized for its largest message (msg_size), and a user sizes
 * a channel for the messages it carries: a 64 B message in a ring of 4 MiB slots would touch
 * a new page per message, and slots 4 MiB apart share one cache set. So setup creates, per
 * direction, one channel per size class (powers of two from 64 B up to the run's largest
 * size), and both sides pick the class of each message by its length; a job's messages all
 * have one length, and every message of a job is consumed before the next job starts. Each
 * ring holds CHAN_RING_BYTES of payload, between CHAN_CAP_MIN and CHAN_CAP_MAX messages
 * (ck-ring, the peer for small messages, holds 1023 of 64 B).
 *
 * Names. The channels are named (shmkit.chan.NAME in /dev/shm): setup creates them and
 * reports each to the cleaner ("shmkit-chan"); ready() unlinks them once both sides are
 * attached (open handles keep working), teardown unlinks what is left.
 *
 * Waiting. The busy variants spin on the non-blocking calls (shmkit_chan_trysend/tryrecv,
 * tryloan/trypeek: never a system call while waiting). The sleeping variants use the blocking
 * calls with a NULL deadline and no spin (shmkit_chan_set_spin(h, 0)): a waiter sleeps in
 * FUTEX_WAIT at once, as ref-futex's receiver does.
 */
#ifndef SHMKIT_BENCH_TP_CHAN_H
#define SHMKIT_BENCH_TP_CHAN_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal/atomic.h"
#include "shmkit.h"
#include "transport.h"

#define CHAN_MIN_CLASS  ((size_t)64)
#define CHAN_RING_BYTES ((size_t)8 << 20)
#define CHAN_CAP_MIN    4u
#define CHAN_CAP_MAX    1024u
#define CHAN_CLASSES    24 /* 64 B << 23 = 512 MiB, beyond BT_SIZE_MAX */

/* chan_variant.flags */
#define CHAN_ZC    (1u << 0) /* loan/commit, peek/release */
#define CHAN_SLEEP (1u << 1) /* blocking calls, NULL deadline */

struct chan_variant {
	uint32_t kind; /* SHMKIT_CHAN_* */
	unsigned flags;
};

/* One side's handles: [direction][class]; direction 0 is client -> server. */
struct chan_side {
	const struct chan_variant *v;
	unsigned nclasses;
	shmkit_chan_t *h[2][CHAN_CLASSES];
	shmkit_chan_t *peeked; /* the handle of the message being viewed */
};

static struct chan_side chan_side __attribute__((unused));

static inline size_t chan_class_size(unsigned k)
{
	return CHAN_MIN_CLASS << k;
}

/* The smallest class that holds len bytes. */
static inline unsigned chan_class_of(size_t len)
{
	unsigned k = 0;
	while (k + 1 < CHAN_CLASSES && chan_class_size(k) < len)
		k++;
	return k;
}

static inline unsigned chan_nclasses(size_t max_size)
{
	return chan_class_of(max_size) + 1;
}

static inline uint64_t chan_capacity(size_t msg)
{
	size_t cap = CHAN_RING_BYTES / msg;
	return cap < CHAN_CAP_MIN ? CHAN_CAP_MIN : cap > CHAN_CAP_MAX ? CHAN_CAP_MAX : cap;
}

/* The channel of direction d, class k: "<c->arg>.<d>.<k>". */
static inline void chan_name(const struct bt_ctx *c, int d, unsigned k, char *buf, size_t len)
{
	snprintf(buf, len, "%.100s.%d.%u", c->arg, d, k);
}

static inline void chan_unlink_all(struct bt_ctx *c)
{
	char name[SHMKIT_CHAN_NAME_MAX + 1];
	if (!c->arg[0])
		return;
	for (int d = 0; d < 2; d++)
		for (unsigned k = 0; k < chan_nclasses(c->max_size); k++) {
			chan_name(c, d, k, name, sizeof(name));
			int r = shmkit_chan_unlink(name);
			if (r == 0 || r == -ENOENT)
				c->host->untrack("shmkit-chan", name);
		}
}

static inline int chan_setup(struct bt_ctx *c, uint32_t kind)
{
	char name[SHMKIT_CHAN_NAME_MAX + 1];
	snprintf(c->arg, sizeof(c->arg), "shmkit-bench.%d.%u", (int)getpid(), c->instance);
	for (int d = 0; d < 2; d++)
		for (unsigned k = 0; k < chan_nclasses(c->max_size); k++) {
			struct shmkit_chan_config cfg = {
			    .kind = kind,
			    .msg_size = chan_class_size(k),
			    .capacity = chan_capacity(chan_class_size(k)),
			};
			chan_name(c, d, k, name, sizeof(name));
			c->host->track("shmkit-chan", name);
			int r = shmkit_chan_create(name, &cfg);
			if (r < 0)
				return bt_fail(c, r, "shmkit_chan_create %s", name);
		}
	return 0;
}

static inline void chan_detach(struct bt_ctx *c)
{
	struct chan_side *s = &chan_side;
	for (int d = 0; d < 2; d++)
		for (unsigned k = 0; k < s->nclasses; k++)
			if (s->h[d][k]) {
				shmkit_chan_close(s->h[d][k]);
				s->h[d][k] = NULL;
			}
}

/* Receivers first: a broadcast receiver sees only what is sent after it opened (the
 * harness sends nothing before both sides said READY). */
static inline int chan_attach(struct bt_ctx *c, const struct chan_variant *v)
{
	struct chan_side *s = &chan_side;
	char name[SHMKIT_CHAN_NAME_MAX + 1];
	int out = c->role == BT_CLIENT ? 0 : 1;
	s->v = v;
	s->nclasses = chan_nclasses(c->max_size);
	for (int pass = 0; pass < 2; pass++) {
		int d = pass == 0 ? !out : out;
		uint32_t role = pass == 0 ? SHMKIT_CHAN_RECV : SHMKIT_CHAN_SEND;
		for (unsigned k = 0; k < s->nclasses; k++) {
			chan_name(c, d, k, name, sizeof(name));
			int r = shmkit_chan_open(&s->h[d][k], name, role);
			if (r == 0 && (v->flags & CHAN_SLEEP))
				r = shmkit_chan_set_spin(s->h[d][k], 0);
			if (r < 0) {
				s->h[d][k] = NULL;
				chan_detach(c);
				return bt_fail(c, r, "shmkit_chan_open %s", name);
			}
		}
	}
	c->priv = s;
	return 0;
}

static inline shmkit_chan_t *chan_out(const struct bt_ctx *c, size_t len)
{
	return chan_side.h[c->role == BT_CLIENT ? 0 : 1][chan_class_of(len)];
}

static inline shmkit_chan_t *chan_in(const struct bt_ctx *c, size_t len)
{
	return chan_side.h[c->role == BT_CLIENT ? 1 : 0][chan_class_of(len)];
}

static inline int chan_len_ok(struct bt_ctx *c, ssize_t got, size_t len)
{
	if (got < 0)
		return (int)got;
	if ((size_t)got != len)
		return bt_fail(c, -EBADMSG, "received %zd bytes, expected %zu", got, len);
	return 0;
}

static inline int chan_send(struct bt_ctx *c, const void *msg, size_t len)
{
	shmkit_chan_t *h = chan_out(c, len);
	if (chan_side.v->flags & CHAN_SLEEP)
		return shmkit_chan_send(h, msg, len, NULL);
	int r;
	while ((r = shmkit_chan_trysend(h, msg, len)) == -EAGAIN)
		sk_cpu_relax(); /* full: the receiver is behind */
	return r;
}

static inline int chan_recv(struct bt_ctx *c, void *buf, size_t len)
{
	shmkit_chan_t *h = chan_in(c, len);
	if (chan_side.v->flags & CHAN_SLEEP)
		return chan_len_ok(c, shmkit_chan_recv(h, buf, len, NULL), len);
	ssize_t n;
	while ((n = shmkit_chan_tryrecv(h, buf, len)) == -EAGAIN)
		sk_cpu_relax(); /* empty: busy-poll */
	return chan_len_ok(c, n, len);
}

static inline int chan_loan(struct bt_ctx *c, size_t len, void **buf)
{
	shmkit_chan_t *h = chan_out(c, len);
	if (chan_side.v->flags & CHAN_SLEEP)
		return shmkit_chan_loan(h, len, buf, NULL);
	int r;
	while ((r = shmkit_chan_tryloan(h, len, buf)) == -EAGAIN)
		sk_cpu_relax(); /* full: the receiver is behind */
	return r;
}

static inline int chan_publish(struct bt_ctx *c, void *buf, size_t len)
{
	return shmkit_chan_commit(chan_out(c, len), buf, len);
}

static inline int chan_view(struct bt_ctx *c, size_t len, const void **buf)
{
	shmkit_chan_t *h = chan_in(c, len);
	ssize_t n;
	if (chan_side.v->flags & CHAN_SLEEP)
		n = shmkit_chan_peek(h, buf, NULL);
	else
		while ((n = shmkit_chan_trypeek(h, buf)) == -EAGAIN)
			sk_cpu_relax(); /* empty: busy-poll */
	int r = chan_len_ok(c, n, len);
	if (r == 0)
		chan_side.peeked = h;
	return r;
}

static inline int chan_release(struct bt_ctx *c, const void *buf)
{
	return shmkit_chan_release(chan_side.peeked, buf);
}

/*
 * CHAN_DEFINE(id, name, what, n, kind, chan_flags, bt_flags, hooks): one registered variant,
 * .order BT_ORDER_CHAN + n; hooks is CHAN_COPY or CHAN_ZEROCOPY.
 */
#define CHAN_COPY .send = chan_send, .recv = chan_recv
#define CHAN_ZEROCOPY                                                                              \
	.loan = chan_loan, .publish = chan_publish, .view = chan_view, .release = chan_release
#define CHAN_DEFINE(id, tname, twhat, n, k, cf, bf, hooks)                                         \
	static const struct chan_variant id##_variant = {k, cf};                                   \
	static int id##_setup(struct bt_ctx *c)                                                    \
	{                                                                                          \
		return chan_setup(c, k);                                                           \
	}                                                                                          \
	static int id##_attach(struct bt_ctx *c)                                                   \
	{                                                                                          \
		return chan_attach(c, &id##_variant);                                              \
	}                                                                                          \
	static const struct bt_transport id = {                                                    \
	    .name = tname,                                                                         \
	    .what = twhat,                                                                         \
	    .order = BT_ORDER_CHAN + (n),                                                          \
	    .flags = bf,                                                                           \
	    .setup = id##_setup,                                                                   \
	    .ready = chan_unlink_all,                                                              \
	    .attach = id##_attach,                                                                 \
	    .detach = chan_detach,                                                                 \
	    .teardown = chan_unlink_all,                                                           \
	    hooks,                                                                                 \
	};                                                                                         \
	BT_REGISTER(id)

#endif
