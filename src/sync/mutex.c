/* SPDX-License-Identifier: MIT */
/*
 * Robust, error-checking, process-shared mutex on a PI futex word.
 *
 * Why PI futexes: owner death must be detected without glibc's per-thread robust list (which
 * glibc owns). A PI futex word names its owner's TID, and the kernel knows what to do when
 * that owner dies:
 *  (a) waiters queued in the kernel: exit_pi_state_list() releases the rt_mutex, the top waiter
 *      returns 0 from FUTEX_LOCK_PI owning the word (it writes its own TID there when it next
 *      runs; until then the word still names the dead owner and other lockers get EINVAL,
 *      handled like (b));
 *  (b) nobody queued: a later FUTEX_LOCK_PI on a word naming a dead TID fails with ESRCH
 *      (attach_to_pi_owner -> handle_exit_race; while the owner is still exiting, a zombie's
 *      futex exit included, the kernel waits for it). The locker then checks with the kernel
 *      that the TID in the value it reads is dead (sk_futex_owner_dead), marks the word
 *      TID 0 | OWNER_DIED by CAS from exactly that value, and calls FUTEX_LOCK_PI again: the
 *      kernel itself takes a TID-0 word over (see mark_owner_dead for why the takeover is left
 *      to the kernel).
 *
 * Whether the dead owner was inside its critical section is told by the holder word:
 *
 *   lock:   CAS word 0 -> tid      (or kernel / takeover)   ; owns the word
 *           h = holder             (acquire, BARRIER_2)      ; previous owner's last word
 *           holder = tid                                     ; critical section starts
 *   unlock: holder = 0             (release, BARRIER_2)      ; critical section ends
 *           CAS word tid -> 0      (release, BARRIER_1), else FUTEX_UNLOCK_PI
 *
 * h != 0 means the previous owner died between its two holder stores: -EOWNERDEAD, state
 * INCONSISTENT until consistent(). A death after "holder = 0" and before the word is released
 * is a clean unlock; a death after taking the word and before "holder = tid" is a clean
 * lock+unlock (nothing was protected yet). If the owner that was told -EOWNERDEAD unlocks
 * without consistent(), the state becomes NOTRECOVERABLE; every later locker, including each
 * waiter the kernel hands the word to, releases it at once and returns -ENOTRECOVERABLE, so
 * the handoff chain wakes every waiter.
 *
 * Limits: TIDs are only meaningful inside one PID namespace, so every process sharing a mutex
 * must be in the same one. A dead owner's TID reused by a new thread (after pid_max wraps)
 * before anyone took the mutex over makes the dead owner look alive: lockers then wait until
 * their deadline. glibc's robust list, which marks the word at exit, has no such window.
 */
#include <errno.h>
#include <sched.h>

#include "sync/sync.h"
#include "sys/futex_owner.h"
#include "sys/sys.h"

static inline uint32_t self(void)
{
	return (uint32_t)sk_gettid();
}

static inline int cas_word(struct sk_mutex *m, uint32_t expect, uint32_t desired)
{
	/* see BARRIER_1 (acquire side) */
	return atomic_compare_exchange_strong_explicit(&m->word, &expect, desired,
	                                               memory_order_acquire, memory_order_relaxed);
}

static int release_word(struct sk_mutex *m, uint32_t tid)
{
	uint32_t expect = tid;
	/* see BARRIER_1 (release side) */
	if (atomic_compare_exchange_strong_explicit(&m->word, &expect, SK_MUTEX_UNLOCKED,
	                                            memory_order_release, memory_order_relaxed))
		return 0;
	/* SK_MUTEX_WAITERS is set: the kernel hands the word to the top waiter. */
	return sk_futex_unlock_pi(&m->word);
}

/* The word is ours: decide what the caller is told, from holder and state. */
static int acquired(struct sk_mutex *m, uint32_t tid)
{
	uint32_t h = sk_load_acquire(&m->holder); /* see BARRIER_2 */
	uint32_t st = sk_load_relaxed(&m->state); /* ordered by the acquire above */

	if (SK_UNLIKELY(st != SK_MUTEX_CONSISTENT && st != SK_MUTEX_INCONSISTENT)) {
		release_word(m, tid);
		return st == SK_MUTEX_NOTRECOVERABLE ? -ENOTRECOVERABLE : -EPROTO;
	}
	sk_store_relaxed(&m->holder, tid);
	if (SK_UNLIKELY(h != 0 || st == SK_MUTEX_INCONSISTENT)) {
		sk_store_relaxed(&m->state, SK_MUTEX_INCONSISTENT);
		return -EOWNERDEAD;
	}
	return 0;
}

/*
 * FUTEX_LOCK_PI found the owner dead (ESRCH), or the word disagreeing with the kernel's state
 * (EINVAL: the owner died with waiters queued and the top waiter has not yet written its TID).
 * Mark the word the way the kernel's robust-list code would: TID 0 | SK_MUTEX_OWNER_DIED,
 * keeping SK_MUTEX_WAITERS. From there only the kernel assigns the word (futex_lock_pi_atomic
 * takes over a TID-0 word; a pending handoff's fixup keeps OWNER_DIED and writes the top
 * waiter's TID), so a takeover can never overwrite an owner the kernel is installing. (A
 * direct CAS dead -> our TID would: the pending waiter's fixup then overwrites it and two
 * threads own the mutex; tests/sync/model/mutex.pml finds that interleaving.) The CAS
 * expects the very value whose owner was just found dead: a dead TID cannot reappear, so the
 * CAS cannot clear a live owner. Returns 0 (ask the kernel again), -EAGAIN (the owner is
 * alive), -EDEADLK, or -errno.
 */
static int mark_owner_dead(struct sk_mutex *m, uint32_t tid)
{
	for (;;) {
		uint32_t w = sk_load_relaxed(&m->word);
		uint32_t owner = w & SK_MUTEX_TID_MASK;
		if (owner == 0)
			return 0;
		if (owner == tid)
			return -EDEADLK;
		int dead = sk_futex_owner_dead((pid_t)owner);
		if (dead == -EPERM)
			return -EPROTO; /* the word names a kernel thread: corrupt */
		if (dead <= 0)
			return dead < 0 ? dead : -EAGAIN;
		uint32_t marked = (w & SK_MUTEX_WAITERS) | SK_MUTEX_OWNER_DIED;
		if (atomic_compare_exchange_strong_explicit(
		        &m->word, &w, marked, memory_order_relaxed, memory_order_relaxed))
			return 0;
	}
}

/* The kernel gave us a word it took over: drop OWNER_DIED so that unlock's CAS can succeed
 * (holder, not this bit, tells whether the previous owner died inside). */
static void clear_owner_died(struct sk_mutex *m)
{
	if (SK_UNLIKELY(sk_load_relaxed(&m->word) & SK_MUTEX_OWNER_DIED))
		atomic_fetch_and_explicit(&m->word, ~SK_MUTEX_OWNER_DIED, memory_order_relaxed);
}

static int deadline_passed(const struct timespec *abs)
{
	return abs && sk_ns_until(abs) == 0;
}

/* Consecutive EINVALs from the kernel with a live owner named in the word: corruption. */
#define SK_MUTEX_EINVAL_MAX 100

static int lock_kernel(struct sk_mutex *m, uint32_t tid, const struct timespec *abs)
{
	for (int einval = 0;;) {
		int r = sk_futex_lock_pi(&m->word, abs);
		if (r == 0) {
			clear_owner_died(m);
			return 0;
		}
		if (r == -ESRCH || r == -EINVAL) {
			int d = mark_owner_dead(m, tid);
			if (d < 0 && d != -EAGAIN)
				return d;
			if (d == -EAGAIN && r == -EINVAL && ++einval > SK_MUTEX_EINVAL_MAX)
				return -EPROTO;
		} else if (r != -EAGAIN && r != -EBUSY) {
			return r; /* -ETIMEDOUT, -EDEADLK, or -errno */
		}
		/* A handoff in progress, an owner still exiting, or a word changed under us. */
		if (deadline_passed(abs))
			return -ETIMEDOUT;
		sched_yield();
	}
}

static int lock_slow(struct sk_mutex *m, uint32_t tid, const struct timespec *abs)
{
	for (int i = 0; i < SK_MUTEX_SPIN; i++) {
		uint32_t w = sk_load_relaxed(&m->word);
		if ((w & SK_MUTEX_TID_MASK) == tid)
			return -EDEADLK;
		if (w == SK_MUTEX_UNLOCKED && cas_word(m, SK_MUTEX_UNLOCKED, tid))
			return 0;
		if (w & SK_MUTEX_WAITERS)
			break; /* others already sleep: queue behind them */
		sk_cpu_relax();
	}
	return lock_kernel(m, tid, abs);
}

static int lock(shmkit_mutex_t *mu, const struct timespec *abs)
{
	struct sk_mutex *m = sk_mutex_of(mu);
	uint32_t tid = self();
	if (SK_LIKELY(cas_word(m, SK_MUTEX_UNLOCKED, tid)))
		return acquired(m, tid);
	int r = lock_slow(m, tid, abs);
	return r == 0 ? acquired(m, tid) : r;
}

/* Returns 0. Does not block. Any existing contents are overwritten. */
SK_EXPORT int shmkit_mutex_init(shmkit_mutex_t *mu)
{
	struct sk_mutex *m = sk_mutex_of(mu);
	sk_store_relaxed(&m->holder, 0);
	sk_store_relaxed(&m->state, SK_MUTEX_CONSISTENT);
	m->reserved = 0;
	sk_store_release(&m->word, SK_MUTEX_UNLOCKED); /* publishes the fields above to lockers */
	return 0;
}

/*
 * Blocks until the mutex is owned. Returns 0; -EOWNERDEAD (owned, but the previous owner died
 * inside its critical section: repair the data, then consistent()); -ENOTRECOVERABLE (not
 * owned, never will be); -EDEADLK if the caller already owns it; -EPROTO if corrupt.
 */
SK_EXPORT int shmkit_mutex_lock(shmkit_mutex_t *m)
{
	return lock(m, NULL);
}

/* As lock, but gives up at the absolute CLOCK_MONOTONIC time abs: -ETIMEDOUT; -EINVAL if abs
 * is not a valid timespec. */
SK_EXPORT int shmkit_mutex_timedlock(shmkit_mutex_t *m, const struct timespec *abs)
{
	if (!sk_timespec_valid(abs))
		return -EINVAL;
	return lock(m, abs);
}

/*
 * Never blocks. As lock, but -EBUSY when a live thread (the caller included) owns the mutex.
 * A held mutex costs one system call to ask the kernel whether its owner is dead; a dead
 * owner is taken over and reported as by lock.
 */
SK_EXPORT int shmkit_mutex_trylock(shmkit_mutex_t *mu)
{
	struct sk_mutex *m = sk_mutex_of(mu);
	uint32_t tid = self();
	if (SK_LIKELY(cas_word(m, SK_MUTEX_UNLOCKED, tid)))
		return acquired(m, tid);
	int r = mark_owner_dead(m, tid);
	if (r == -EAGAIN || r == -EDEADLK)
		return -EBUSY;
	if (r < 0)
		return r;
	/* The word is free or marked OWNER_DIED: the kernel takes it over unless a handoff to a
	 * queued waiter is pending. */
	r = sk_futex_trylock_pi(&m->word);
	if (r < 0)
		return r == -EAGAIN || r == -EBUSY || r == -EINVAL || r == -ESRCH ? -EBUSY : r;
	clear_owner_died(m);
	return acquired(m, tid);
}

/*
 * Does the calling thread own the mutex? 1: yes; 2: yes, and it is inconsistent (the lock
 * that took it returned -EOWNERDEAD, consistent() has not been called); 0: no. Never blocks.
 */
SK_EXPORT int shmkit_mutex_owned(const shmkit_mutex_t *mu)
{
	const struct sk_mutex *m = (const struct sk_mutex *)(const void *)mu;
	/* Relaxed, no pair: only this thread's own lock (or the kernel's handover to it, which
	 * it waited for) puts its TID in the word, and only its unlock takes it out. */
	if ((sk_load_relaxed(&m->word) & SK_MUTEX_TID_MASK) != self())
		return 0;
	return sk_load_relaxed(&m->state) == SK_MUTEX_INCONSISTENT ? 2 : 1;
}

/*
 * Marks a mutex whose lock returned -EOWNERDEAD consistent again. Returns 0; -EPERM if the
 * caller does not own it; -EINVAL if it is not inconsistent. Does not block.
 */
SK_EXPORT int shmkit_mutex_consistent(shmkit_mutex_t *mu)
{
	struct sk_mutex *m = sk_mutex_of(mu);
	if ((sk_load_relaxed(&m->word) & SK_MUTEX_TID_MASK) != self())
		return -EPERM;
	if (sk_load_relaxed(&m->state) != SK_MUTEX_INCONSISTENT)
		return -EINVAL;
	sk_store_relaxed(&m->state, SK_MUTEX_CONSISTENT); /* published by unlock, BARRIER_2 */
	return 0;
}

/*
 * Releases the mutex. Returns 0, or -EPERM if the caller does not own it. Does not block
 * (one system call when waiters are queued). Unlocking an inconsistent mutex (after
 * -EOWNERDEAD, without consistent()) makes it permanently not recoverable.
 */
SK_EXPORT int shmkit_mutex_unlock(shmkit_mutex_t *mu)
{
	struct sk_mutex *m = sk_mutex_of(mu);
	uint32_t tid = self();
	/* Only this thread stores its own TID, so a relaxed load suffices to recognise it. */
	if ((sk_load_relaxed(&m->word) & SK_MUTEX_TID_MASK) != tid)
		return -EPERM;
	if (SK_UNLIKELY(sk_load_relaxed(&m->state) == SK_MUTEX_INCONSISTENT))
		sk_store_relaxed(&m->state, SK_MUTEX_NOTRECOVERABLE);
	sk_store_release(&m->holder, 0); /* see BARRIER_2 */
	return release_word(m, tid);
}

int sk_mutex_owned(shmkit_mutex_t *mu)
{
	return (sk_load_relaxed(&sk_mutex_of(mu)->word) & SK_MUTEX_TID_MASK) == self();
}
