/* SPDX-License-Identifier: MIT */
/*
 * Description: threads allocate, write, hand over and free blocks through one heap handle,
 * race for named objects, and run checks, while ThreadSanitizer watches the lock-free fast
 * paths and the seqlock of the name table. Plain program (exit 0 pass, 1 fail): Criterion
 * cannot start under TSan. All threads use one handle, so one mapping: TSan tracks memory by
 * address, and an atomic done through a second mapping of the same pages would look
 * unrelated to it (the multi-process stress test covers several mappings).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtcheck.h"
#include "shmkit.h"

#define THREADS 4
#define OPS     20000
#define LOCAL   200
#define BOX     64
#define SHARED  8

static shmkit_heap_t *heap;
static char name[64];
static _Atomic uint64_t box[BOX];
static _Atomic int creators[SHARED];
static _Atomic uint64_t named_off[SHARED];
static _Atomic int stop;

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * Each block holds one tag in every 8-byte word: its offset and a number of its allocation,
 * unique across threads. A block handed out twice shows as a tag that changed under its
 * owner; a misplaced one as a tag naming another offset.
 */
static _Atomic uint64_t allocations;

static uint64_t stamp(shmkit_heap_t *h, uint64_t off)
{
	uint64_t usable, tag = off << 20 | (atomic_fetch_add(&allocations, 1) & 0xfffff);
	CHECK(shmkit_heap_usable_size(h, off, &usable) == 0);
	uint64_t *p = shmkit_heap_ptr(h, off);
	for (uint64_t i = 0; i < usable / 8; i++)
		p[i] = tag;
	return tag;
}

/* tag 0: whatever the block says, as long as it says it everywhere and names off. */
static void verify(shmkit_heap_t *h, uint64_t off, uint64_t tag)
{
	uint64_t usable;
	CHECK(shmkit_heap_usable_size(h, off, &usable) == 0);
	uint64_t *p = shmkit_heap_ptr(h, off);
	if (!tag)
		tag = p[0];
	CHECK(tag >> 20 == off);
	for (uint64_t i = 0; i < usable / 8; i++)
		CHECK(p[i] == tag);
}

static void *worker(void *arg)
{
	int me = (int)(intptr_t)arg;
	shmkit_heap_t *h = heap;
	uint64_t local[LOCAL], tags[LOCAL], off, s = 0x9e3779b97f4a7c15ull * (uint64_t)(me + 1);
	int n = 0;
	for (int op = 0; op < OPS; op++) {
		uint64_t r = rnd(&s) % 100;
		if (r < 40 && n < LOCAL) {
			size_t size = rnd(&s) % 10 ? 16 + rnd(&s) % 500 : 4000 + rnd(&s) % 20000;
			int e = shmkit_heap_alloc(h, size, &off);
			CHECK(e == 0 || e == -ENOMEM);
			if (e == 0) {
				tags[n] = stamp(h, off);
				local[n++] = off;
			}
		} else if (r < 70 && n) {
			int k = (int)(rnd(&s) % (uint64_t)n);
			verify(h, local[k], tags[k]);
			CHECK(shmkit_heap_free(h, local[k]) == 0);
			local[k] = local[--n];
			tags[k] = tags[n];
		} else if (r < 80 && n) {
			uint64_t empty = 0;
			int k = (int)(rnd(&s) % (uint64_t)n);
			verify(h, local[k], tags[k]);
			if (atomic_compare_exchange_strong(&box[rnd(&s) % BOX], &empty, local[k])) {
				local[k] = local[--n];
				tags[k] = tags[n];
			}
		} else if (r < 90) {
			uint64_t got = atomic_exchange(&box[rnd(&s) % BOX], 0);
			if (got) {
				verify(h, got, 0);
				CHECK(shmkit_heap_free(h, got) == 0);
			}
		} else if (r < 96) {
			char nm[32];
			int k = (int)(rnd(&s) % SHARED);
			snprintf(nm, sizeof(nm), "mt-shared-%d", k);
			int e = shmkit_heap_named(h, nm, 32, &off);
			CHECK(e == 0 || e == 1);
			if (e == 1) {
				atomic_fetch_add(&creators[k], 1);
				atomic_store(&named_off[k], off);
			} else {
				uint64_t seen = atomic_load(&named_off[k]);
				CHECK(seen == 0 || seen == off);
			}
		} else {
			char nm[32];
			snprintf(nm, sizeof(nm), "mt-own-%d-%d", me, (int)(rnd(&s) % 4));
			int e = shmkit_heap_named(h, nm, 100, &off);
			CHECK(e == 0 || e == 1);
			if (e == 0)
				CHECK(shmkit_heap_unname(h, nm) == 0);
		}
	}
	for (int i = 0; i < n; i++) {
		verify(h, local[i], tags[i]);
		CHECK(shmkit_heap_free(h, local[i]) == 0);
	}
	for (int k = 0; k < 4; k++) {
		char nm[32];
		snprintf(nm, sizeof(nm), "mt-own-%d-%d", me, k);
		shmkit_heap_unname(h, nm);
	}
	return NULL;
}

/* A thread that keeps checking while the others work: it takes every lock in turn. */
static void *checker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		struct shmkit_heap_report r;
		int c = shmkit_heap_check(heap, &r, 0);
		CHECK(c == 0 || c == 1); /* a free waiting for its arena lock looks stranded */
		CHECK(r.damage == 0);
		usleep(2000);
	}
	return NULL;
}

int main(void)
{
	struct shmkit_heap_opts o = {.size = 1u << 20, .max_size = 64u << 20};
	pthread_t t[THREADS], c;
	snprintf(name, sizeof(name), "shmkit-mt-heap-%d", (int)getpid());
	CHECK(shmkit_heap_create_opts(&heap, name, &o) == 1);
	shmkit_heap_unlink(name); /* nothing left behind, whatever happens next */
	CHECK(pthread_create(&c, NULL, checker, NULL) == 0);
	for (int i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)(intptr_t)i) == 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(c, NULL);
	for (int i = 0; i < BOX; i++) {
		uint64_t off = atomic_load(&box[i]);
		if (off) {
			verify(heap, off, 0);
			CHECK(shmkit_heap_free(heap, off) == 0);
		}
	}
	for (int k = 0; k < SHARED; k++) {
		char nm[32];
		CHECK(atomic_load(&creators[k]) <= 1);
		snprintf(nm, sizeof(nm), "mt-shared-%d", k);
		shmkit_heap_unname(heap, nm);
	}
	struct shmkit_heap_report r;
	CHECK(shmkit_heap_check(heap, &r, 0) == 0);
	CHECK(r.used == 0 && r.leaked == 0 && r.damage == 0 && r.named == 0);
	shmkit_heap_close(heap);
	MT_PASS("mt_heap");
}
