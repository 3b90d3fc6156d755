/* SPDX-License-Identifier: MIT */
/*
 * Description: seg handles used from several threads at once: concurrent map/unmap of one
 * object, short-lived memfds whose mappings outlive their handles, and threads racing for
 * the same fixed address (never more than one wins a round, the others get -EEXIST).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mtcheck.h"
#include "shmkit.h"

enum { THREADS = 4, ITERS = 200, ROUNDS = 50, SLICE = 4096 };

static shmkit_seg_t *shared;
static pthread_barrier_t start, round_go, round_done;
static void *round_addr;
static int round_wins;

static void map_write_verify(int id, uint32_t iter)
{
	uint32_t *p;
	CHECK(shmkit_seg_map(shared, NULL, (void **)&p) == 0);
	uint32_t *mine = p + id * SLICE / sizeof(uint32_t);
	for (size_t i = 0; i < SLICE / sizeof(uint32_t); i++)
		mine[i] = iter ^ (uint32_t)i;
	for (size_t i = 0; i < SLICE / sizeof(uint32_t); i++)
		CHECK(mine[i] == (iter ^ (uint32_t)i));
	CHECK(shmkit_seg_unmap(shared, p, THREADS * SLICE) == 0);
}

static void memfd_outlives_handle(uint32_t iter)
{
	struct shmkit_seg_config c = SHMKIT_SEG_CONFIG_INIT;
	shmkit_seg_t *s;
	volatile uint32_t *p;
	c.backend = SHMKIT_SEG_MEMFD;
	CHECK(shmkit_seg_create(&s, "mt", SLICE, &c) == 0);
	CHECK(shmkit_seg_map(s, NULL, (void **)&p) == 0);
	shmkit_seg_close(s);
	p[0] = iter;
	CHECK(p[0] == iter);
	CHECK(shmkit_seg_unmap(NULL, (void *)p, SLICE) == 0);
}

static void race_for_fixed(void)
{
	struct shmkit_map_opts o = {.flags = SHMKIT_MAP_FIXED, .length = SLICE};
	void *p;
	for (int r = 0; r < ROUNDS; r++) {
		pthread_barrier_wait(&round_go); /* main has set round_addr */
		o.addr = round_addr;
		int err = shmkit_seg_map(shared, &o, &p);
		CHECK(err == 0 || err == -EEXIST);
		if (!err) {
			CHECK(p == o.addr);
			__atomic_fetch_add(&round_wins, 1, __ATOMIC_RELAXED);
		}
		pthread_barrier_wait(&round_done); /* main counts the winners */
		if (!err)
			CHECK(shmkit_seg_unmap(shared, p, SLICE) == 0);
	}
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	pthread_barrier_wait(&start);
	for (uint32_t i = 1; i <= ITERS; i++) {
		map_write_verify(id, i);
		memfd_outlives_handle(i);
	}
	race_for_fixed();
	return NULL;
}

int main(void)
{
	pthread_t t[THREADS];
	char name[64];
	int rounds_won = 0;
	uint32_t *p;

	snprintf(name, sizeof(name), "sk-mt-seg-%d", (int)getpid());
	CHECK(shmkit_seg_create(&shared, name, THREADS * SLICE, NULL) == 0);
	CHECK(pthread_barrier_init(&start, NULL, THREADS) == 0);
	CHECK(pthread_barrier_init(&round_go, NULL, THREADS + 1) == 0);
	CHECK(pthread_barrier_init(&round_done, NULL, THREADS + 1) == 0);
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
	for (int r = 0; r < ROUNDS; r++) {
		void *a = mmap(NULL, 4 * SLICE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(a != MAP_FAILED);
		munmap(a, 4 * SLICE);
		round_addr = a;
		__atomic_store_n(&round_wins, 0, __ATOMIC_RELAXED);
		pthread_barrier_wait(&round_go);
		pthread_barrier_wait(&round_done);
		/*
		 * Never two. Usually exactly one, but a sanitizer's allocator may take the free
		 * range first, so zero is possible.
		 */
		int wins = __atomic_load_n(&round_wins, __ATOMIC_RELAXED);
		CHECK(wins <= 1);
		rounds_won += wins;
	}
	CHECK(rounds_won > 0);
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	CHECK(shmkit_seg_map(shared, NULL, (void **)&p) == 0);
	for (int id = 0; id < THREADS; id++)
		CHECK(p[id * SLICE / sizeof(uint32_t) + 1] == (ITERS ^ 1u));
	CHECK(shmkit_seg_unmap(shared, p, THREADS * SLICE) == 0);
	CHECK(shmkit_seg_remove(shared) == 0);
	shmkit_seg_close(shared);
	MT_PASS("mt_seg");
}
