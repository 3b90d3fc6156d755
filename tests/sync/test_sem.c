/* SPDX-License-Identifier: MIT */
/* Description: process-shared semaphore: errors, overflow, timeouts, bounded buffer with
 * several producers and consumers, ping-pong storm, dead waiters, signals to a waiter. */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>

#include "sync/sync.h"
#include "synctest.h"

/* Every test is killed and failed after 60 s: a bug never hangs the suite. */
TestSuite(sem, .timeout = 60);

Test(sem, errors_overflow_and_values)
{
	shmkit_sem_t s;
	unsigned v;
	cr_assert_eq(shmkit_sem_init(&s, (unsigned)INT_MAX + 1), -EINVAL);
	cr_assert_eq(shmkit_sem_init(&s, 0), 0);
	cr_assert_eq(shmkit_sem_trywait(&s), -EAGAIN);
	cr_assert_eq(shmkit_sem_post(&s), 0);
	cr_assert_eq(shmkit_sem_post(&s), 0);
	cr_assert_eq(shmkit_sem_getvalue(&s, &v), 0);
	cr_assert_eq(v, 2);
	struct timespec bad = {0, 2000000000L};
	cr_assert_eq(shmkit_sem_timedwait(&s, &bad), 0, "a token is taken before abs is checked");
	cr_assert_eq(shmkit_sem_wait(&s), 0);
	cr_assert_eq(shmkit_sem_timedwait(&s, &bad), -EINVAL);
	cr_assert_eq(shmkit_sem_timedwait(&s, NULL), -EINVAL);
	uint64_t t0 = sk_mono_ns();
	struct timespec abs = st_in_ms(30);
	cr_assert_eq(shmkit_sem_timedwait(&s, &abs), -ETIMEDOUT);
	cr_assert_geq(sk_mono_ns() - t0, 29 * 1000000ULL);
	cr_assert_eq(atomic_load(&sk_sem_of(&s)->waiters), 0);

	cr_assert_eq(shmkit_sem_init(&s, INT_MAX), 0);
	cr_assert_eq(shmkit_sem_post(&s), -EOVERFLOW);
	cr_assert_eq(shmkit_sem_getvalue(&s, &v), 0);
	cr_assert_eq(v, INT_MAX);
	atomic_store(&sk_sem_of(&s)->value, 0xfffffff0u);
	cr_assert_eq(shmkit_sem_getvalue(&s, &v), -EOVERFLOW, "corrupt value");
	cr_assert_eq(shmkit_sem_post(&s), -EOVERFLOW);
}

enum { SLOTS = 8, PRODUCERS = 3, CONSUMERS = 3, ITEMS = 6000 };

struct ring {
	shmkit_sem_t empty, full;
	shmkit_mutex_t m;
	uint32_t head, tail;
	uint32_t slot[SLOTS];
	uint32_t seen[PRODUCERS * ITEMS];
	uint64_t sum;
	uint32_t consumed;
};

static uint32_t producer_id;

static int produce(void *arg)
{
	struct ring *r = arg;
	for (uint32_t i = 0; i < ITEMS; i++) {
		struct timespec abs = st_in_ms(ST_WAIT_MS);
		if (shmkit_sem_timedwait(&r->empty, &abs) != 0)
			return 10;
		if (shmkit_mutex_lock(&r->m) != 0)
			return 11;
		r->slot[r->head++ % SLOTS] = producer_id * ITEMS + i;
		shmkit_mutex_unlock(&r->m);
		if (shmkit_sem_post(&r->full) != 0)
			return 12;
	}
	return 0;
}

static int consume(void *arg)
{
	struct ring *r = arg;
	for (;;) {
		struct timespec abs = st_in_ms(ST_WAIT_MS);
		if (shmkit_sem_timedwait(&r->full, &abs) != 0)
			return 10;
		if (shmkit_mutex_lock(&r->m) != 0)
			return 11;
		uint32_t item = r->slot[r->tail++ % SLOTS];
		int stop = item == UINT32_MAX;
		if (!stop) {
			if (item >= PRODUCERS * ITEMS) {
				shmkit_mutex_unlock(&r->m);
				return 13;
			}
			r->seen[item]++;
			r->sum += item;
			r->consumed++;
		}
		shmkit_mutex_unlock(&r->m);
		shmkit_sem_post(&r->empty);
		if (stop)
			return 0;
	}
}

Test(sem, bounded_buffer_every_item_exactly_once)
{
	struct ring *r = tu_shared_alloc(sizeof(*r));
	cr_assert_not_null(r);
	shmkit_sem_init(&r->empty, SLOTS);
	shmkit_sem_init(&r->full, 0);
	shmkit_mutex_init(&r->m);
	pid_t p[PRODUCERS], c[CONSUMERS];
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		producer_id = i;
		p[i] = st_spawn(produce, r);
	}
	for (int i = 0; i < CONSUMERS; i++)
		c[i] = st_spawn(consume, r);
	for (int i = 0; i < PRODUCERS; i++)
		cr_assert_eq(tu_wait_timeout(p[i], 60000), 0);
	/* One stop marker per consumer, through the same protocol. */
	for (int i = 0; i < CONSUMERS; i++) {
		struct timespec abs = st_in_ms(ST_WAIT_MS);
		cr_assert_eq(shmkit_sem_timedwait(&r->empty, &abs), 0);
		shmkit_mutex_lock(&r->m);
		r->slot[r->head++ % SLOTS] = UINT32_MAX;
		shmkit_mutex_unlock(&r->m);
		shmkit_sem_post(&r->full);
	}
	for (int i = 0; i < CONSUMERS; i++)
		cr_assert_eq(tu_wait_timeout(c[i], 60000), 0);
	uint64_t n = (uint64_t)PRODUCERS * ITEMS;
	cr_assert_eq(r->consumed, n);
	cr_assert_eq(r->sum, n * (n - 1) / 2, "checksum");
	for (uint64_t i = 0; i < n; i++)
		cr_assert_eq(r->seen[i], 1, "item %llu seen %u times", (unsigned long long)i,
		             r->seen[i]);
	unsigned v;
	shmkit_sem_getvalue(&r->empty, &v);
	cr_assert_eq(v, SLOTS);
	tu_shared_free(r, sizeof(*r));
}

struct pingpong {
	shmkit_sem_t ping, pong;
	uint32_t rounds;
};

enum { ROUNDS = 20000 };

static int ponger(void *arg)
{
	struct pingpong *pp = arg;
	for (int i = 0; i < ROUNDS; i++) {
		struct timespec abs = st_in_ms(ST_WAIT_MS);
		if (shmkit_sem_timedwait(&pp->ping, &abs) != 0)
			return 10; /* a lost wake-up */
		pp->rounds++;
		shmkit_sem_post(&pp->pong);
	}
	return 0;
}

Test(sem, ping_pong_storm_loses_no_wakeup)
{
	struct pingpong *pp = tu_shared_alloc(sizeof(*pp));
	shmkit_sem_init(&pp->ping, 0);
	shmkit_sem_init(&pp->pong, 0);
	pid_t pid = st_spawn(ponger, pp);
	for (int i = 0; i < ROUNDS; i++) {
		shmkit_sem_post(&pp->ping);
		struct timespec abs = st_in_ms(ST_WAIT_MS);
		cr_assert_eq(shmkit_sem_timedwait(&pp->pong, &abs), 0, "round %d", i);
		cr_assert_eq(pp->rounds, (uint32_t)i + 1, "the post published the data");
	}
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 0);
	tu_shared_free(pp, sizeof(*pp));
}

static uint32_t *handled;
static void on_usr1(int sig)
{
	(void)sig;
	st_bump(handled);
}

struct waitbox {
	shmkit_sem_t s;
	uint32_t handled;
	uint32_t returned;
};

static int child_sem_wait(void *arg)
{
	struct waitbox *w = arg;
	handled = &w->handled;
	struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	int r = shmkit_sem_wait(&w->s);
	st_bump(&w->returned);
	return -r;
}

static void await_sem_waiter(shmkit_sem_t *s)
{
	uint64_t end = sk_mono_ns() + ST_WAIT_MS * 1000000ULL;
	while (atomic_load(&sk_sem_of(s)->waiters) == 0)
		cr_assert(sk_mono_ns() < end);
	usleep(5000);
}

Test(sem, signal_handler_does_not_end_the_wait)
{
	struct waitbox *w = tu_shared_alloc(sizeof(*w));
	shmkit_sem_init(&w->s, 0);
	pid_t pid = st_spawn(child_sem_wait, w);
	await_sem_waiter(&w->s);
	for (uint32_t i = 1; i <= 5; i++) {
		kill(pid, SIGUSR1);
		cr_assert(st_await(&w->handled, i, ST_WAIT_MS));
	}
	usleep(10000);
	cr_assert_eq(w->returned, 0, "sem_wait returned on a signal");
	shmkit_sem_post(&w->s);
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 0);
	tu_shared_free(w, sizeof(*w));
}

Test(sem, killed_waiter_loses_no_post)
{
	struct waitbox *w = tu_shared_alloc(sizeof(*w));
	shmkit_sem_init(&w->s, 0);
	pid_t pid = st_spawn(child_sem_wait, w);
	await_sem_waiter(&w->s);
	kill(pid, SIGKILL);
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 128 + SIGKILL);
	cr_assert_eq(atomic_load(&sk_sem_of(&w->s)->waiters), 1, "the hint stays high");
	cr_assert_eq(shmkit_sem_post(&w->s), 0);
	cr_assert_eq(shmkit_sem_trywait(&w->s), 0, "the post went to nobody but the value");
	pid = st_spawn(child_sem_wait, w);
	usleep(5000);
	shmkit_sem_post(&w->s);
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 0);
	tu_shared_free(w, sizeof(*w));
}
