/* SPDX-License-Identifier: MIT */
/* Description: the sync invariants with threads, so ThreadSanitizer checks the memory
 * ordering: mutex counter, bounded buffer on two semaphores + mutex, condvar broadcast
 * generations, auto-reset event ping-pong, eventfd bridge. Plain (non-atomic) data is
 * protected only by the primitives under test. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include <shmkit.h>
#include "mtcheck.h"
#include "sys/sys.h"

enum { THREADS = 4, ITERS = 20000 };

static struct timespec deadline(void)
{
	struct timespec ts;
	sk_deadline_after(&ts, 10ULL * 1000 * 1000 * 1000);
	return ts;
}

/* ---- mutex counter ---- */
static shmkit_mutex_t mu;
static uint64_t counter;

static void *count_thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		int r = (i & 3) == 0 ? shmkit_mutex_trylock(&mu) : shmkit_mutex_lock(&mu);
		if (r == -EBUSY) {
			i--;
			continue;
		}
		CHECK(r == 0);
		counter++;
		CHECK(shmkit_mutex_unlock(&mu) == 0);
	}
	return NULL;
}

static void test_counter(void)
{
	pthread_t t[THREADS];
	shmkit_mutex_init(&mu);
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, count_thread, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(counter == (uint64_t)THREADS * ITERS);
}

/* ---- bounded buffer ---- */
enum { SLOTS = 4, ITEMS = 10000, PAIRS = 2 };
static shmkit_sem_t empty, full;
static uint32_t slot[SLOTS], head, tail;
static uint64_t sum;
static uint32_t seen[PAIRS * ITEMS];

static void *produce(void *arg)
{
	uint32_t id = (uint32_t)(uintptr_t)arg;
	for (uint32_t i = 0; i < ITEMS; i++) {
		struct timespec abs = deadline();
		CHECK(shmkit_sem_timedwait(&empty, &abs) == 0);
		CHECK(shmkit_mutex_lock(&mu) == 0);
		slot[head++ % SLOTS] = id * ITEMS + i;
		CHECK(shmkit_mutex_unlock(&mu) == 0);
		CHECK(shmkit_sem_post(&full) == 0);
	}
	return NULL;
}

static void *consume(void *arg)
{
	(void)arg;
	for (uint32_t i = 0; i < ITEMS; i++) {
		struct timespec abs = deadline();
		CHECK(shmkit_sem_timedwait(&full, &abs) == 0);
		CHECK(shmkit_mutex_lock(&mu) == 0);
		uint32_t item = slot[tail++ % SLOTS];
		CHECK(item < PAIRS * ITEMS);
		seen[item]++;
		sum += item;
		CHECK(shmkit_mutex_unlock(&mu) == 0);
		CHECK(shmkit_sem_post(&empty) == 0);
	}
	return NULL;
}

static void test_bounded_buffer(void)
{
	pthread_t p[PAIRS], c[PAIRS];
	shmkit_sem_init(&empty, SLOTS);
	shmkit_sem_init(&full, 0);
	for (uintptr_t i = 0; i < PAIRS; i++) {
		pthread_create(&p[i], NULL, produce, (void *)i);
		pthread_create(&c[i], NULL, consume, NULL);
	}
	for (int i = 0; i < PAIRS; i++) {
		pthread_join(p[i], NULL);
		pthread_join(c[i], NULL);
	}
	uint64_t n = (uint64_t)PAIRS * ITEMS;
	CHECK(sum == n * (n - 1) / 2);
	for (uint64_t i = 0; i < n; i++)
		CHECK(seen[i] == 1);
}

/* ---- condvar broadcast: a generation barrier ---- */
enum { GENERATIONS = 500 };
static shmkit_cond_t cv;
static uint32_t arrived, generation;
static uint64_t work[THREADS];

static void *barrier_thread(void *arg)
{
	uintptr_t me = (uintptr_t)arg;
	for (uint32_t g = 0; g < GENERATIONS; g++) {
		work[me] = g; /* plain write, read by the releaser below */
		CHECK(shmkit_mutex_lock(&mu) == 0);
		if (++arrived == THREADS) {
			for (int i = 0; i < THREADS; i++)
				CHECK(work[i] == g);
			arrived = 0;
			generation++;
			CHECK(shmkit_cond_broadcast(&cv) == 0);
		} else {
			uint32_t mine = generation;
			struct timespec abs = deadline();
			while (generation == mine)
				CHECK(shmkit_cond_timedwait(&cv, &mu, &abs) == 0);
		}
		CHECK(shmkit_mutex_unlock(&mu) == 0);
	}
	return NULL;
}

static void test_cond_barrier(void)
{
	pthread_t t[THREADS];
	shmkit_cond_init(&cv);
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, barrier_thread, (void *)i);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK(generation == GENERATIONS);
}

/* ---- auto-reset event ping-pong carrying plain data ---- */
enum { PINGS = 5000 };
static shmkit_event_t ping, pong;
static uint64_t ball;

static void *ponger(void *arg)
{
	(void)arg;
	for (int i = 0; i < PINGS; i++) {
		struct timespec abs = deadline();
		CHECK(shmkit_event_timedwait(&ping, &abs) == 0);
		ball++;
		CHECK(shmkit_event_set(&pong) == 0);
	}
	return NULL;
}

static void test_event_ping_pong(void)
{
	pthread_t t;
	shmkit_event_init(&ping, 0);
	shmkit_event_init(&pong, 0);
	pthread_create(&t, NULL, ponger, NULL);
	for (int i = 0; i < PINGS; i++) {
		ball++;
		CHECK(shmkit_event_set(&ping) == 0);
		struct timespec abs = deadline();
		CHECK(shmkit_event_timedwait(&pong, &abs) == 0);
		CHECK(ball == 2 * (uint64_t)i + 2);
	}
	pthread_join(t, NULL);
}

/* ---- bridge: posts from a thread, read through poll ---- */
static shmkit_sem_t bsem;

static void *poster(void *arg)
{
	(void)arg;
	for (int i = 0; i < 64; i++)
		CHECK(shmkit_sem_post(&bsem) == 0);
	return NULL;
}

static void test_bridge(void)
{
	shmkit_bridge_t *b;
	shmkit_sem_init(&bsem, 0);
	CHECK(shmkit_bridge_open(&b, SHMKIT_BRIDGE_SEM, &bsem) == 0);
	pthread_t t;
	pthread_create(&t, NULL, poster, NULL);
	uint64_t got = 0;
	while (got < 64) {
		struct pollfd p = {.fd = shmkit_bridge_fd(b), .events = POLLIN};
		CHECK(poll(&p, 1, 10000) == 1);
		uint64_t n;
		CHECK(read(p.fd, &n, sizeof(n)) == (ssize_t)sizeof(n));
		got += n;
	}
	pthread_join(t, NULL);
	CHECK(got == 64);
	CHECK(shmkit_bridge_close(b) == 0);
	unsigned v;
	CHECK(shmkit_sem_getvalue(&bsem, &v) == 0 && v == 0);
}

int main(void)
{
	test_counter();
	test_bounded_buffer();
	test_cond_barrier();
	test_event_ping_pong();
	test_bridge();
	MT_PASS("mt_sync");
}
