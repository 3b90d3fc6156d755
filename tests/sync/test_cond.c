/* SPDX-License-Identifier: MIT */
/* Description: process-shared condition variable: errors, timeouts, wake-ups across processes,
 * dead waiters, EOWNERDEAD through the relock, signals to a waiter. */
#include <criterion/criterion.h>
#include <errno.h>

#include "sync/sync.h"
#include "synctest.h"

/* Every test is killed and failed after 60 s: a bug never hangs the suite. */
TestSuite(cond, .timeout = 60);

struct arena {
	shmkit_mutex_t m;
	shmkit_cond_t c;
	uint32_t pred;
	uint32_t ready;
	uint32_t woken;
	uint32_t handled; /* signal handler runs */
	uint64_t turns;
};

static struct arena *arena_new(void)
{
	struct arena *a = tu_shared_alloc(sizeof(*a));
	cr_assert_not_null(a);
	shmkit_mutex_init(&a->m);
	shmkit_cond_init(&a->c);
	return a;
}

static uint32_t hint(struct arena *a)
{
	return atomic_load(&sk_cond_of(&a->c)->waiters);
}

static void await_hint(struct arena *a, uint32_t n)
{
	uint64_t end = sk_mono_ns() + ST_WAIT_MS * 1000000ULL;
	while (hint(a) < n) {
		cr_assert(sk_mono_ns() < end, "waiters never arrived");
		usleep(200);
	}
	usleep(5000); /* from counted to asleep in the kernel */
}

Test(cond, errors_and_timeout)
{
	struct arena *a = arena_new();
	cr_assert_eq(shmkit_cond_wait(&a->c, &a->m), -EPERM, "mutex not owned");
	struct timespec abs = st_in_ms(10), bad = {0, -5};
	cr_assert_eq(shmkit_cond_timedwait(&a->c, &a->m, &abs), -EPERM);
	cr_assert_eq(shmkit_mutex_lock(&a->m), 0);
	cr_assert_eq(shmkit_cond_timedwait(&a->c, &a->m, &bad), -EINVAL);
	cr_assert_eq(shmkit_cond_timedwait(&a->c, &a->m, NULL), -EINVAL);
	uint64_t t0 = sk_mono_ns();
	abs = st_in_ms(30);
	cr_assert_eq(shmkit_cond_timedwait(&a->c, &a->m, &abs), -ETIMEDOUT);
	cr_assert_geq(sk_mono_ns() - t0, 29 * 1000000ULL);
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0, "the mutex is held again after a timeout");
	cr_assert_eq(hint(a), 0);
	cr_assert_eq(shmkit_cond_signal(&a->c), 0);
	cr_assert_eq(shmkit_cond_broadcast(&a->c), 0);
	tu_shared_free(a, sizeof(*a));
}

/* Wait for pred under the mutex; exit status 0 on success, else the error. */
static int child_wait_pred(void *arg)
{
	struct arena *a = arg;
	struct timespec abs = st_in_ms(ST_WAIT_MS);
	if (shmkit_mutex_lock(&a->m) != 0)
		return 10;
	int r = 0;
	while (!a->pred && r == 0)
		r = shmkit_cond_timedwait(&a->c, &a->m, &abs);
	if (r == 0)
		a->woken++;
	if (r == 0 || r == -ETIMEDOUT)
		shmkit_mutex_unlock(&a->m);
	return -r;
}

static void set_pred_and(struct arena *a, int (*wake)(shmkit_cond_t *))
{
	cr_assert_eq(shmkit_mutex_lock(&a->m), 0);
	a->pred = 1;
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	cr_assert_eq(wake(&a->c), 0);
}

Test(cond, broadcast_wakes_every_process)
{
	struct arena *a = arena_new();
	enum { N = 4 };
	pid_t pid[N];
	for (int i = 0; i < N; i++)
		pid[i] = st_spawn(child_wait_pred, a);
	await_hint(a, N);
	set_pred_and(a, shmkit_cond_broadcast);
	for (int i = 0; i < N; i++)
		cr_assert_eq(tu_wait_timeout(pid[i], ST_WAIT_MS), 0);
	cr_assert_eq(a->woken, N);
	cr_assert_eq(hint(a), 0);
	tu_shared_free(a, sizeof(*a));
}

Test(cond, killed_waiter_does_not_break_the_others)
{
	struct arena *a = arena_new();
	enum { N = 3 };
	pid_t pid[N];
	for (int i = 0; i < N; i++)
		pid[i] = st_spawn(child_wait_pred, a);
	await_hint(a, N);
	kill(pid[0], SIGKILL);
	cr_assert_eq(tu_wait_timeout(pid[0], ST_WAIT_MS), 128 + SIGKILL);
	cr_assert_eq(hint(a), N, "the dead waiter leaves the hint high, nothing else");
	/* One signal per live waiter, each with the predicate set under the mutex. */
	set_pred_and(a, shmkit_cond_signal);
	cr_assert_eq(shmkit_cond_signal(&a->c), 0);
	for (int i = 1; i < N; i++)
		cr_assert_eq(tu_wait_timeout(pid[i], ST_WAIT_MS), 0);
	cr_assert_eq(a->woken, N - 1);
	/* The condvar still works for newcomers. */
	a->pred = 0;
	pid_t late = st_spawn(child_wait_pred, a);
	await_hint(a, 2); /* the dead one and the newcomer */
	set_pred_and(a, shmkit_cond_signal);
	cr_assert_eq(tu_wait_timeout(late, ST_WAIT_MS), 0);
	tu_shared_free(a, sizeof(*a));
}

static int child_hold_mutex(void *arg)
{
	struct arena *a = arg;
	if (shmkit_mutex_lock(&a->m) != 0)
		return 10;
	st_bump(&a->ready);
	pause();
	return 11;
}

Test(cond, relock_passes_eownerdead_through)
{
	struct arena *a = arena_new();
	pid_t w = st_spawn(child_wait_pred, a);
	await_hint(a, 1);
	pid_t h = st_spawn(child_hold_mutex, a);
	cr_assert(st_await(&a->ready, 1, ST_WAIT_MS));
	a->pred = 1; /* the holder "owns" it now; the waiter re-checks after relocking */
	cr_assert_eq(shmkit_cond_signal(&a->c), 0);
	uint64_t end = sk_mono_ns() + ST_WAIT_MS * 1000000ULL;
	while (!(atomic_load(&sk_mutex_of(&a->m)->word) & SK_MUTEX_WAITERS))
		cr_assert(sk_mono_ns() < end);
	kill(h, SIGKILL);
	cr_assert_eq(tu_wait_timeout(h, ST_WAIT_MS), 128 + SIGKILL);
	cr_assert_eq(tu_wait_timeout(w, ST_WAIT_MS), EOWNERDEAD);
	tu_shared_free(a, sizeof(*a));
}

static struct arena *sig_arena;
static void on_usr1(int sig)
{
	(void)sig;
	st_bump(&sig_arena->handled);
}

static int child_wait_with_handler(void *arg)
{
	struct arena *a = sig_arena = arg;
	struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	struct timespec abs = st_in_ms(ST_WAIT_MS);
	shmkit_mutex_lock(&a->m);
	/* One wait, no predicate loop: only a signal of the condvar may end it. */
	int r = shmkit_cond_timedwait(&a->c, &a->m, &abs);
	if (r == 0 && a->pred)
		a->woken++;
	shmkit_mutex_unlock(&a->m);
	return -r;
}

Test(cond, signal_handler_does_not_end_the_wait)
{
	struct arena *a = arena_new();
	pid_t pid = st_spawn(child_wait_with_handler, a);
	await_hint(a, 1);
	for (uint32_t i = 1; i <= 5; i++) {
		kill(pid, SIGUSR1);
		cr_assert(st_await(&a->handled, i, ST_WAIT_MS));
	}
	usleep(10000);
	cr_assert_eq(a->woken, 0);
	cr_assert_eq(hint(a), 1, "still waiting after EINTR");
	set_pred_and(a, shmkit_cond_signal);
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 0);
	cr_assert_eq(a->woken, 1);
	tu_shared_free(a, sizeof(*a));
}

enum { TURNS = 5000 };

static uint64_t turn_parity; /* set by the parent before each fork */

/* Two processes alternate on turn parity: every lost wake-up would be a timeout. */
static int child_turns(void *arg)
{
	struct arena *a = arg;
	uint64_t me = turn_parity;
	for (;;) {
		struct timespec abs = st_in_ms(ST_WAIT_MS);
		if (shmkit_mutex_lock(&a->m) != 0)
			return 10;
		while ((a->turns & 1) != me && a->turns < 2 * TURNS)
			if (shmkit_cond_timedwait(&a->c, &a->m, &abs) != 0)
				return 11;
		if (a->turns >= 2 * TURNS) {
			shmkit_mutex_unlock(&a->m);
			return 0;
		}
		a->turns++;
		shmkit_cond_signal(&a->c);
		shmkit_mutex_unlock(&a->m);
	}
}

Test(cond, ping_pong_turns_between_processes)
{
	struct arena *a = arena_new();
	turn_parity = 0;
	pid_t p0 = st_spawn(child_turns, a);
	turn_parity = 1;
	pid_t p1 = st_spawn(child_turns, a);
	cr_assert_eq(tu_wait_timeout(p0, 60000), 0);
	cr_assert_eq(tu_wait_timeout(p1, 60000), 0);
	cr_assert_eq(a->turns, 2 * TURNS);
	tu_shared_free(a, sizeof(*a));
}

static int child_consume_forever(void *arg)
{
	struct arena *a = arg;
	for (;;) {
		struct timespec abs = st_in_ms(ST_WAIT_MS);
		int r = shmkit_mutex_lock(&a->m);
		if (r == -EOWNERDEAD)
			r = shmkit_mutex_consistent(&a->m); /* the counters are single words */
		if (r != 0)
			return 10;
		while (a->turns == 0 && r == 0)
			r = shmkit_cond_timedwait(&a->c, &a->m, &abs);
		if (r == -EOWNERDEAD)
			r = shmkit_mutex_consistent(&a->m);
		if (r != 0)
			return 11;
		a->turns--;
		a->woken++;
		shmkit_mutex_unlock(&a->m);
	}
}

/* Consumers killed at random points (asleep, waking, holding the mutex) while items are
 * signalled one by one: the survivors and replacements still drain every item. */
Test(cond, kill9_storm_consumers_keep_draining)
{
	struct arena *a = arena_new();
	enum { KIDS = 3, ROUNDS = 80 };
	pid_t kid[KIDS];
	for (int i = 0; i < KIDS; i++)
		kid[i] = st_spawn(child_consume_forever, a);
	for (int round = 0; round < ROUNDS; round++) {
		int r = shmkit_mutex_lock(&a->m);
		if (r == -EOWNERDEAD)
			r = shmkit_mutex_consistent(&a->m);
		cr_assert_eq(r, 0);
		a->turns++;
		shmkit_mutex_unlock(&a->m);
		shmkit_cond_signal(&a->c);
		usleep(tu_rand(1500));
		int victim = (int)tu_rand(KIDS);
		kill(kid[victim], SIGKILL);
		cr_assert_eq(tu_wait_timeout(kid[victim], ST_WAIT_MS), 128 + SIGKILL);
		kid[victim] = st_spawn(child_consume_forever, a);
	}
	/* A victim killed between its wake-up and its relock absorbed one signal: a final
	 * broadcast covers it, as the man page advises. */
	shmkit_cond_broadcast(&a->c);
	uint64_t end = sk_mono_ns() + ST_WAIT_MS * 1000000ULL;
	for (;;) {
		int r = shmkit_mutex_lock(&a->m);
		if (r == -EOWNERDEAD)
			r = shmkit_mutex_consistent(&a->m);
		cr_assert_eq(r, 0);
		uint64_t left = a->turns;
		shmkit_mutex_unlock(&a->m);
		if (left == 0)
			break;
		cr_assert(sk_mono_ns() < end, "%llu items never consumed",
		          (unsigned long long)left);
		usleep(1000);
	}
	for (int i = 0; i < KIDS; i++) {
		kill(kid[i], SIGKILL);
		cr_assert_eq(tu_wait_timeout(kid[i], ST_WAIT_MS), 128 + SIGKILL,
		             "a consumer failed");
	}
	cr_assert_leq(a->woken, ROUNDS);
	tu_shared_free(a, sizeof(*a));
}

Test(cond, relock_of_unrecoverable_mutex_is_reported)
{
	struct arena *a = arena_new();
	pid_t w = st_spawn(child_wait_pred, a);
	await_hint(a, 1);
	pid_t h = st_spawn(child_hold_mutex, a);
	cr_assert(st_await(&a->ready, 1, ST_WAIT_MS));
	kill(h, SIGKILL);
	cr_assert_eq(tu_wait_timeout(h, ST_WAIT_MS), 128 + SIGKILL);
	cr_assert_eq(shmkit_mutex_lock(&a->m), -EOWNERDEAD);
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0, "unlocked without consistent()");
	a->pred = 1;
	cr_assert_eq(shmkit_cond_signal(&a->c), 0);
	cr_assert_eq(tu_wait_timeout(w, ST_WAIT_MS), ENOTRECOVERABLE);
	tu_shared_free(a, sizeof(*a));
}
