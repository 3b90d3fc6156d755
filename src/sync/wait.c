/* SPDX-License-Identifier: MIT */
/*
 * The one waiting loop of shmkit: spin briefly, then announce yourself in a waiters hint and
 * sleep on a futex word until a condition holds. The semaphore and the event (token.c) wait
 * on their value word; the channels (src/chan) on a sequence word their wakers bump.
 *
 * The waker makes the condition true, then (seq_cst, BARRIER_5) reads the waiters hint and
 * calls FUTEX_WAKE only if someone may sleep: a busy waker pays a load, nothing more, for a
 * waiter that does not sleep. The waiter increments the hint (seq_cst) before its last check,
 * so either the waker sees the hint, or the waiter's check sees the condition; and
 * FUTEX_WAIT compares the word with the value the check saw (BARRIER_4), so a change between
 * the check and the sleep makes the sleep return at once. The lost wake-up that either half
 * alone would allow is drawn in token.c.
 */
#include <errno.h>

#include "sync/sync.h"
#include "sys/sys.h"

#define SK_ASYM_POLL_NS (1000ull * 1000)

/* Spin: check up to spin more times. What check returned last (0: go on to sleep). */
static int spin_on(sk_wait_check_fn check, void *arg, int spin)
{
	uint32_t expect;
	int r = check(arg, &expect);
	for (int i = 0; !r && i < spin; i++) {
		sk_cpu_relax();
		r = check(arg, &expect);
	}
	return r;
}

/* Sleep on word (the caller has announced itself) until check says the wait is over. */
static int sleep_on(SK_ATOMIC(uint32_t) * word, sk_wait_check_fn check, void *arg,
                    const struct timespec *abs, uint64_t poll_ns)
{
	uint32_t expect;
	for (;;) {
		int r = check(arg, &expect);
		if (r != 0)
			return r;
		/* Every poll_ns, check() runs again even if nobody woke us: it is how a waiter
		 * learns that a peer died (no code of the dead runs to wake it). */
		struct timespec tick;
		const struct timespec *until = abs;
		if (poll_ns) {
			sk_deadline_after(&tick, poll_ns);
			if (!abs || sk_ns_until(&tick) < sk_ns_until(abs))
				until = &tick;
		}
		r = sk_futex_wait(word, expect, until); /* see BARRIER_4 */
		if (r == -ETIMEDOUT && until == abs) {
			r = check(arg, &expect);
			return r ? r : -ETIMEDOUT;
		}
		/* 0 (woken, or EINTR: keep waiting), -EAGAIN (the word changed), a poll tick */
		if (r < 0 && r != -EAGAIN && r != -ETIMEDOUT)
			return r;
	}
}

int sk_wait_loop(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint32_t) * waiters, sk_wait_check_fn check,
                 void *arg, const struct timespec *abs, uint64_t poll_ns, int spin)
{
	int r = spin_on(check, arg, spin);
	if (!r) {
		atomic_fetch_add_explicit(waiters, 1, memory_order_seq_cst); /* see BARRIER_5 */
		r = sleep_on(word, check, arg, abs, poll_ns);
		atomic_fetch_sub_explicit(waiters, 1, memory_order_relaxed);
	}
	return r > 0 ? 0 : r;
}

void sk_wait_wake(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint32_t) * waiters, int n, int bump)
{
	if (atomic_load_explicit(waiters, memory_order_seq_cst) == 0) /* see BARRIER_5 */
		return;
	if (bump)
		atomic_fetch_add_explicit(word, 1, memory_order_seq_cst);
	sk_futex_wake(word, n); /* see BARRIER_4 */
}

/*
 * The same loop with a set of sleepers instead of a count, for words whose waiters may be
 * killed in their sleep (the channels): a count raised by the dead stays raised, and every
 * later waker pays a system call for nobody. Here each waiter has a bit of its own in a
 * 64-bit mask; whoever finds a waiter dead clears its bit for it.
 *
 *   waiter                                   waker
 *   mask |= bit         (seq_cst)            publish            (seq_cst)
 *   expect = word; check -> nothing          if mask:
 *   FUTEX_WAIT(word, expect)                       word++      (seq_cst)
 *   mask &= ~bit                                   FUTEX_WAKE(word, all)
 *
 * As with the count (BARRIER_5): either the waker sees the bit, or the waiter's check sees the
 * message; and the word++ after the waiter read expect makes FUTEX_WAIT return (BARRIER_4).
 * A bit cannot be raised by anyone else, so no waiter is fooled (a single shared flag would
 * be: tests/sync/model/waitmask.pml has that variant, and catches it).
 */
/* Spin for about spin_ns (the clock read every 16 checks): what check returned last. */
static int spin_for(sk_wait_check_fn check, void *arg, uint64_t spin_ns)
{
	uint32_t expect;
	int r = check(arg, &expect);
	if (r || !spin_ns)
		return r;
	uint64_t until = sk_mono_ns() + spin_ns;
	for (unsigned i = 1; !r; i++) {
		sk_cpu_relax();
		r = check(arg, &expect);
		if (!(i & 15) && sk_mono_ns() > until)
			break;
	}
	return r;
}

int sk_wait_masked(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint64_t) * mask, uint64_t bit,
                   sk_wait_check_fn check, void *arg, const struct timespec *abs, uint64_t poll_ns,
                   uint64_t spin_ns, int asym)
{
	/* A deadline already past: one look, no spin, no sleep. */
	if (abs && sk_ns_until(abs) == 0) {
		uint32_t expect;
		int r = check(arg, &expect);
		return r > 0 ? 0 : r ? r : -ETIMEDOUT;
	}
	/* The spin ends by the deadline too: a long spin (a busy-polling receiver's) must not
	 * outlast the caller's patience. */
	if (abs) {
		uint64_t left = sk_ns_until(abs);
		spin_ns = spin_ns < left ? spin_ns : left;
	}
	int r = spin_for(check, arg, spin_ns);
	if (!r) {
		atomic_fetch_or_explicit(mask, bit, memory_order_seq_cst);
		/* Wakers that publish without a full fence: the barrier is ours to pay
		 * (sys/fence.c). Without membarrier, a wake-up may be missed: look again every
		 * millisecond. */
		if (asym && sk_asym_heavy() < 0 && (!poll_ns || poll_ns > SK_ASYM_POLL_NS))
			poll_ns = SK_ASYM_POLL_NS;
		r = sleep_on(word, check, arg, abs, poll_ns);
		atomic_fetch_and_explicit(mask, ~bit, memory_order_relaxed);
	}
	return r > 0 ? 0 : r;
}

int sk_wake_masked(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint64_t) * masks, int n)
{
	uint64_t any = 0;
	for (int i = 0; i < n; i++)
		any |= atomic_load_explicit(&masks[i], memory_order_seq_cst);
	if (!any)
		return 0;
	atomic_fetch_add_explicit(word, 1, memory_order_seq_cst);
	int woken = sk_futex_wake(word, INT32_MAX);
	return woken > 0 ? woken : -ESRCH; /* bits set, nobody asleep: about to be, or dead */
}
