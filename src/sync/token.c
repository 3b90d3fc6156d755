/* SPDX-License-Identifier: MIT */
/*
 * The waiting loop shared by the semaphore and the event: a futex word whose value 0 means
 * "nothing to take", and a waiters hint that lets posters skip FUTEX_WAKE when nobody sleeps.
 *
 * The lost wake-up the hint could cause, and why it cannot (two CPUs, word == 0):
 *
 *   CPU 0 (wait)                              CPU 1 (post)
 *   waiters++            (seq_cst, BARRIER_5)
 *   v = word  -> 0       (seq_cst)
 *                                             word++            (seq_cst, BARRIER_5)
 *                                             n = waiters  -> 1 (seq_cst)
 *                                             FUTEX_WAKE(word, 1)
 *   FUTEX_WAIT(word, 0)  -> the kernel re-reads word == 1: -EAGAIN, retry (BARRIER_4);
 *                           or CPU 0 was queued first and CPU 1's wake finds it.
 *
 * Without seq_cst on both sides CPU 1 could read waiters == 0 from before CPU 0's increment
 * (store buffering) while CPU 0 reads word == 0 from before CPU 1's increment: CPU 1 skips
 * the wake, CPU 0 sleeps with a token available. A waiter killed while counted leaves the hint
 * too high: posters then make a useless FUTEX_WAKE, nothing worse. Model-checked in
 * tests/sync/model/sem.pml.
 */
#include <errno.h>

#include "sync/sync.h"
#include "sys/sys.h"

int sk_token_take(SK_ATOMIC(uint32_t) * word, enum sk_token_kind kind)
{
	uint32_t v = atomic_load_explicit(word, memory_order_seq_cst); /* see BARRIER_5/6 */
	while (v != 0) {
		if (kind == SK_TOKEN_LEVEL)
			return 0;
		uint32_t next = kind == SK_TOKEN_COUNT ? v - 1 : 0;
		/* see BARRIER_6 (acquire side) */
		if (atomic_compare_exchange_weak_explicit(word, &v, next, memory_order_seq_cst,
		                                          memory_order_seq_cst))
			return 0;
	}
	return -EAGAIN;
}

struct token_wait {
	SK_ATOMIC(uint32_t) * word;
	enum sk_token_kind kind;
	SK_ATOMIC(uint32_t) * stop;
};

/* Take a token (done), or say that the word is still 0 (sleep on that). */
static int token_check(void *arg, uint32_t *expect)
{
	const struct token_wait *w = arg;
	if (sk_token_take(w->word, w->kind) == 0)
		return 1;
	if (w->stop && atomic_load_explicit(w->stop, memory_order_seq_cst)) /* see BARRIER_7 */
		return -ECANCELED;
	*expect = 0;
	return 0;
}

int sk_token_wait(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint32_t) * waiters,
                  enum sk_token_kind kind, const struct timespec *abs, SK_ATOMIC(uint32_t) * stop)
{
	struct token_wait w = {word, kind, stop};
	return sk_wait_loop(word, waiters, token_check, &w, abs, 0, SK_WAIT_SPIN);
}

void sk_token_wake(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint32_t) * waiters, int n)
{
	sk_wait_wake(word, waiters, n, 0);
}
