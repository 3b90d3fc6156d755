/* SPDX-License-Identifier: MIT */
/*
 * Process-shared condition variable: a sequence word and a waiters hint.
 *
 *   wait:      waiters++ ; s = seq ; unlock(m) ; FUTEX_WAIT(seq, s) until seq != s ;
 *              waiters-- ; lock(m)
 *   signal:    seq++ ; if waiters: FUTEX_WAKE(seq, 1)     (broadcast: wake all)
 *
 * The lost wake-up this prevents, as a two-CPU timeline (predicate P guarded by m):
 *
 *   CPU 0 (cond_wait)                         CPU 1 (set P, signal)
 *   lock(m); P == 0
 *   waiters++ ; s = seq
 *   unlock(m)              ---BARRIER_3--->   lock(m); P = 1; unlock(m)
 *                                             seq++            (now seq != s)
 *                                             waiters >= 1 -> FUTEX_WAKE(seq)
 *   FUTEX_WAIT(seq, s)  -> the kernel re-reads seq under its lock (BARRIER_4): seq != s,
 *                          -EAGAIN, no sleep; or CPU 0 was already queued and is woken.
 *
 * Had CPU 0 read seq after unlocking, CPU 1's increment could come first and CPU 0 would sleep
 * on the new value with P already set: the wake-up lost. Model-checked, dead waiters included,
 * in tests/sync/model/cond.pml.
 *
 * Dead waiters: a waiter killed anywhere inside cond_wait leaves only the hint one too high,
 * which costs later signals a useless FUTEX_WAKE; nothing else refers to it. A waiter killed
 * after relocking is an ordinary mutex owner death (-EOWNERDEAD for the next locker).
 *
 * Caveats (documented in the man page): FUTEX_WAKE picks any thread sleeping on seq, which
 * may be one that started waiting after the signal; with one predicate per condition
 * variable that is indistinguishable from an allowed spurious wake-up. 2^32 signals while a
 * waiter is between reading seq and sleeping would hide them (the classic futex ABA).
 * Broadcast wakes every waiter, which then contend for the mutex (no requeue).
 */
#include <errno.h>
#include <limits.h>

#include "sync/sync.h"
#include "sys/sys.h"

/* Returns 0. Does not block. */
SK_EXPORT int shmkit_cond_init(shmkit_cond_t *cv)
{
	struct sk_cond *c = sk_cond_of(cv);
	sk_store_relaxed(&c->waiters, 0);
	c->reserved[0] = c->reserved[1] = 0;
	sk_store_release(&c->seq, 0); /* publishes the fields above to the first user */
	return 0;
}

static int wait(struct sk_cond *c, shmkit_mutex_t *m, const struct timespec *abs)
{
	if (!sk_mutex_owned(m))
		return -EPERM;
	atomic_fetch_add_explicit(&c->waiters, 1, memory_order_relaxed); /* see BARRIER_3 */
	uint32_t s = sk_load_relaxed(&c->seq);                           /* see BARRIER_3 */
	int r = shmkit_mutex_unlock(m);
	if (r < 0) {
		atomic_fetch_sub_explicit(&c->waiters, 1, memory_order_relaxed);
		return r;
	}
	/* Sleep until a signal or broadcast changed seq; a signal handler (EINTR) does not end
	 * the wait. */
	while (sk_load_relaxed(&c->seq) == s) {
		r = sk_futex_wait(&c->seq, s, abs); /* see BARRIER_4 */
		if (r < 0 && r != -EAGAIN)
			break;
		r = 0;
	}
	atomic_fetch_sub_explicit(&c->waiters, 1, memory_order_relaxed);
	/* POSIX: the mutex is reacquired on every return, even after a timeout. */
	int lr = shmkit_mutex_lock(m);
	return lr < 0 ? lr : r;
}

/*
 * Atomically releases m (which the caller must own) and sleeps until signalled, then
 * reacquires m. Returns 0, or what the relock returned (-EOWNERDEAD: m is owned, its previous
 * owner died; -ENOTRECOVERABLE: m is not owned), or -EPERM if the caller does not own m.
 */
SK_EXPORT int shmkit_cond_wait(shmkit_cond_t *c, shmkit_mutex_t *m)
{
	return wait(sk_cond_of(c), m, NULL);
}

/* As cond_wait, with the absolute CLOCK_MONOTONIC deadline abs: -ETIMEDOUT (m is relocked),
 * -EINVAL if abs is invalid (m untouched). */
SK_EXPORT int shmkit_cond_timedwait(shmkit_cond_t *c, shmkit_mutex_t *m, const struct timespec *abs)
{
	if (!sk_timespec_valid(abs))
		return -EINVAL;
	return wait(sk_cond_of(c), m, abs);
}

static int wake(struct sk_cond *c, int n)
{
	/* see BARRIER_3: this RMW and the hint load come after the waiter's increment. */
	atomic_fetch_add_explicit(&c->seq, 1, memory_order_seq_cst);
	if (atomic_load_explicit(&c->waiters, memory_order_seq_cst) == 0)
		return 0;
	int r = sk_futex_wake(&c->seq, n); /* see BARRIER_4 */
	return r < 0 ? r : 0;
}

/* Wakes one waiter, if any. Returns 0. Never blocks; the mutex need not be held. */
SK_EXPORT int shmkit_cond_signal(shmkit_cond_t *c)
{
	return wake(sk_cond_of(c), 1);
}

/* Wakes every waiter. Returns 0. Never blocks; the mutex need not be held. */
SK_EXPORT int shmkit_cond_broadcast(shmkit_cond_t *c)
{
	return wake(sk_cond_of(c), INT_MAX);
}
