/* SPDX-License-Identifier: MIT */
/*
 * Process-shared counting semaphore: the value is the futex word, plus a waiters hint (the
 * waiting protocol and its lost-wake-up argument are in token.c, BARRIER_5). Each post adds
 * exactly one token and wakes at most one sleeper; a woken waiter that loses the token to a
 * faster one re-checks and sleeps again, so no post and no wake-up is lost.
 */
#include <errno.h>

#include "sync/sync.h"
#include "sys/sys.h"

/* Returns 0, or -EINVAL if value > SEM_VALUE_MAX (INT_MAX). Does not block. */
SK_EXPORT int shmkit_sem_init(shmkit_sem_t *sem, unsigned value)
{
	struct sk_sem *s = sk_sem_of(sem);
	if (value > SK_SEM_VALUE_MAX)
		return -EINVAL;
	sk_store_relaxed(&s->waiters, 0);
	s->reserved[0] = s->reserved[1] = 0;
	sk_store_release(&s->value, value); /* publishes the fields above */
	return 0;
}

/*
 * Adds one token and wakes one waiter. Returns 0, or -EOVERFLOW if the value is already
 * SEM_VALUE_MAX. Never blocks. Writes before the post are visible to the waiter that takes
 * the token (BARRIER_6).
 */
SK_EXPORT int shmkit_sem_post(shmkit_sem_t *sem)
{
	struct sk_sem *s = sk_sem_of(sem);
	uint32_t v = sk_load_relaxed(&s->value);
	do {
		if (v >= SK_SEM_VALUE_MAX)
			return -EOVERFLOW;
		/* see BARRIER_5 and BARRIER_6 (release side) */
	} while (!atomic_compare_exchange_weak_explicit(&s->value, &v, v + 1, memory_order_seq_cst,
	                                                memory_order_relaxed));
	sk_token_wake(&s->value, &s->waiters, 1);
	return 0;
}

/* Blocks until a token is taken. Returns 0. Signal handlers do not interrupt it. */
SK_EXPORT int shmkit_sem_wait(shmkit_sem_t *sem)
{
	struct sk_sem *s = sk_sem_of(sem);
	return sk_token_wait(&s->value, &s->waiters, SK_TOKEN_COUNT, NULL, NULL);
}

/* Takes a token if one is available: 0, else -EAGAIN. Never blocks. */
SK_EXPORT int shmkit_sem_trywait(shmkit_sem_t *sem)
{
	return sk_token_take(&sk_sem_of(sem)->value, SK_TOKEN_COUNT);
}

/* As sem_wait, until the absolute CLOCK_MONOTONIC time abs: -ETIMEDOUT; -EINVAL if abs is
 * invalid (checked only when the call would block, as POSIX allows). */
SK_EXPORT int shmkit_sem_timedwait(shmkit_sem_t *sem, const struct timespec *abs)
{
	struct sk_sem *s = sk_sem_of(sem);
	if (sk_token_take(&s->value, SK_TOKEN_COUNT) == 0)
		return 0;
	if (!sk_timespec_valid(abs))
		return -EINVAL;
	return sk_token_wait(&s->value, &s->waiters, SK_TOKEN_COUNT, abs, NULL);
}

/* Stores the current number of tokens (never negative) in *value. Returns 0, or -EOVERFLOW if
 * the shared word is out of range (corrupt). Never blocks. */
SK_EXPORT int shmkit_sem_getvalue(shmkit_sem_t *sem, unsigned *value)
{
	uint32_t v = sk_load_relaxed(&sk_sem_of(sem)->value);
	if (v > SK_SEM_VALUE_MAX)
		return -EOVERFLOW;
	*value = v;
	return 0;
}
