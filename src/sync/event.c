/* SPDX-License-Identifier: MIT */
/*
 * Process-shared event. The state word (0 reset, 1 set) is the futex word; waiting follows
 * token.c (BARRIER_5). Auto-reset: each wait consumes the set state, so one set releases one
 * waiter, and sets while already set do not accumulate. Manual-reset: the state stays set
 * until reset; every waiter passes while it is set; a second word counts sets for bridges.
 */
#include <errno.h>
#include <limits.h>

#include "sync/sync.h"
#include "sys/sys.h"

static enum sk_token_kind kind_of(struct sk_event *e)
{
	return e->manual ? SK_TOKEN_LEVEL : SK_TOKEN_ONE;
}

/* manual: 0 auto-reset, non-zero manual-reset. Starts reset. Returns 0. Does not block. */
SK_EXPORT int shmkit_event_init(shmkit_event_t *ev, int manual)
{
	struct sk_event *e = sk_event_of(ev);
	sk_store_relaxed(&e->waiters, 0);
	e->manual = manual ? 1 : 0;
	sk_store_relaxed(&e->sets, 0);
	sk_store_release(&e->state, 0); /* publishes the fields above */
	return 0;
}

/* Sets the event and wakes one waiter (auto-reset) or all (manual-reset). Returns 0. Never
 * blocks. Writes before the set are visible to the waiters it releases (BARRIER_6). */
SK_EXPORT int shmkit_event_set(shmkit_event_t *ev)
{
	struct sk_event *e = sk_event_of(ev);
	atomic_exchange_explicit(&e->state, 1, memory_order_seq_cst); /* see BARRIER_5/6 */
	if (!e->manual) {
		sk_token_wake(&e->state, &e->waiters, 1);
		return 0;
	}
	/* Bridges sleep on sets, not on state: a reset and a set between two of their looks
	 * would leave state unchanged, the set unseen. */
	atomic_fetch_add_explicit(&e->sets, 1, memory_order_seq_cst); /* see BARRIER_5 */
	sk_token_wake(&e->state, &e->waiters, INT_MAX);
	sk_token_wake(&e->sets, &e->waiters, INT_MAX);
	return 0;
}

/* Resets the event. Returns 0. Never blocks. */
SK_EXPORT int shmkit_event_reset(shmkit_event_t *ev)
{
	atomic_store_explicit(&sk_event_of(ev)->state, 0, memory_order_seq_cst);
	return 0;
}

/* Blocks until the event is set (consuming it if auto-reset). Returns 0. Signal handlers do
 * not interrupt it. */
SK_EXPORT int shmkit_event_wait(shmkit_event_t *ev)
{
	struct sk_event *e = sk_event_of(ev);
	return sk_token_wait(&e->state, &e->waiters, kind_of(e), NULL, NULL);
}

/* 0 if the event is set (consumed if auto-reset), else -EAGAIN. Never blocks. */
SK_EXPORT int shmkit_event_trywait(shmkit_event_t *ev)
{
	struct sk_event *e = sk_event_of(ev);
	return sk_token_take(&e->state, kind_of(e));
}

/* As event_wait, until the absolute CLOCK_MONOTONIC time abs: -ETIMEDOUT; -EINVAL if abs is
 * invalid (checked only when the call would block). */
SK_EXPORT int shmkit_event_timedwait(shmkit_event_t *ev, const struct timespec *abs)
{
	struct sk_event *e = sk_event_of(ev);
	if (sk_token_take(&e->state, kind_of(e)) == 0)
		return 0;
	if (!sk_timespec_valid(abs))
		return -EINVAL;
	return sk_token_wait(&e->state, &e->waiters, kind_of(e), abs, NULL);
}
