/* SPDX-License-Identifier: MIT */
/*
 * Description: the per-handle cache of small free blocks. A freed block of 16 .. 96 bytes
 * comes back, zeroed, as the same thread's next allocation of its size; freeing it again, by
 * any handle or process, is refused, and so is asking its size; the check counts it as free;
 * it goes back to the heap at close, before -ENOMEM (in whichever thread, handle or process
 * runs out: it is taken from live caches too), and after its holder is killed with kill -9;
 * a fork child never touches its parent's cache; and threads sharing a handle keep the heap
 * consistent.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>

#include "heap/heap.h"
#include "heaptest.h"

#define KIB 1024u

Test(heap_cache, a_freed_block_comes_back_zeroed)
{
	shmkit_heap_t *h = heap_fresh(256 * KIB, 0);
	uint64_t a, b, x;
	cr_assert_eq(shmkit_heap_alloc(h, 64, &a), 0);
	cr_assert_eq(shmkit_heap_alloc(h, 64, &x), 0);
	memset(shmkit_heap_ptr(h, a), 0xa5, 64);
	cr_assert_eq(shmkit_heap_free(h, a), 0);
	cr_assert_eq(shmkit_heap_alloc(h, 60, &b), 0, "the same class");
	cr_assert_eq(b, a, "the cached block is the next allocation of its class");
	const uint8_t *p = shmkit_heap_ptr(h, b);
	for (int i = 0; i < 64; i++)
		cr_assert_eq(p[i], 0, "byte %d of a reused block is not zero", i);
	/* Another class does not get it. */
	cr_assert_eq(shmkit_heap_free(h, b), 0);
	uint64_t c;
	cr_assert_eq(shmkit_heap_alloc(h, 16, &c), 0);
	cr_assert_neq(c, a);
	cr_assert_eq(shmkit_heap_free(h, c), 0);
	cr_assert_eq(shmkit_heap_free(h, x), 0, "a second block of a cached class: freed for real");
	heap_gone(h);
}

Test(heap_cache, a_cached_block_is_free_to_the_check)
{
	shmkit_heap_t *h = heap_fresh(256 * KIB, 0);
	uint64_t a, b;
	cr_assert_eq(shmkit_heap_alloc(h, 90, &a), 0); /* class 96 */
	cr_assert_eq(shmkit_heap_alloc(h, 16, &b), 0);
	struct shmkit_heap_report before = heap_report(h, 0);
	cr_assert_eq(before.used, 96 + 16);
	cr_assert_eq(shmkit_heap_free(h, a), 0);
	cr_assert_eq(shmkit_heap_free(h, b), 0);
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.used, 0);
	cr_assert_eq(r.blocks, 0);
	cr_assert_eq(r.cached, 96 + 16);
	cr_assert_eq(r.free, before.free + 96 + 16);
	cr_assert_eq(r.leaked, 0);
	shmkit_heap_close(h); /* gives them back */
	cr_assert_eq(shmkit_heap_open(&h, heap_name, 0), 0);
	r = heap_report(h, 0);
	cr_assert_eq(r.cached, 0, "close kept %llu bytes cached", (unsigned long long)r.cached);
	cr_assert_eq(r.used, 0);
	heap_gone(h);
}

struct thread_free {
	shmkit_heap_t *h;
	uint64_t off;
	int r;
};

static void *free_in_thread(void *arg)
{
	struct thread_free *t = arg;
	t->r = shmkit_heap_free(t->h, t->off);
	return NULL;
}

/* A double free of a cached block, by each kind of caller: refused, and nothing changes. */
Test(heap_cache, a_double_free_of_a_cached_block_is_refused)
{
	shmkit_heap_t *h = heap_fresh(256 * KIB, 0), *g;
	uint64_t a, usable;
	cr_assert_eq(shmkit_heap_alloc(h, 48, &a), 0);
	cr_assert_eq(shmkit_heap_free(h, a), 0);
	cr_assert_eq(shmkit_heap_free(h, a), -EINVAL, "the caching handle");
	cr_assert_eq(shmkit_heap_usable_size(h, a, &usable), -EINVAL);
	cr_assert_eq(shmkit_heap_open(&g, heap_name, 0), 0);
	uint64_t other;
	cr_assert_eq(shmkit_heap_alloc(g, 48, &other), 0);
	cr_assert_neq(other, a);
	cr_assert_eq(shmkit_heap_free(g, other), 0); /* g caches too now */
	cr_assert_eq(shmkit_heap_free(g, a), -EINVAL, "another handle that caches");
	cr_assert_eq(shmkit_heap_usable_size(g, a, &usable), -EINVAL);
	pid_t pid = fork();
	if (pid == 0) {
		shmkit_heap_t *k;
		if (shmkit_heap_open(&k, heap_name, 0))
			_exit(1);
		int r1 = shmkit_heap_free(k, a), r2 = shmkit_heap_free(k, other);
		shmkit_heap_close(k);
		_exit(r1 == -EINVAL && r2 == -EINVAL ? 0 : 2);
	}
	cr_assert_eq(tu_wait(pid), 0, "another process");
	/* A thread of the caching handle (it does not cache: the first thread does). */
	struct thread_free t = {h, a, 0};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, free_in_thread, &t), 0);
	pthread_join(th, NULL);
	cr_assert_eq(t.r, -EINVAL, "another thread of the handle");
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.used, 0);
	cr_assert_eq(r.cached, 96, "both blocks are still cached, once each");
	uint64_t b;
	cr_assert_eq(shmkit_heap_alloc(h, 48, &b), 0);
	cr_assert_eq(b, a, "still h's to reuse");
	cr_assert_eq(shmkit_heap_alloc(g, 48, &b), 0);
	cr_assert_eq(b, other, "and g's");
	cr_assert_eq(shmkit_heap_free(g, b), 0);
	cr_assert_eq(shmkit_heap_free(h, a), 0);
	shmkit_heap_close(g);
	heap_gone(h);
}

/* Allocate everything that fits, in blocks of size, until -ENOMEM; returns how many. */
static int fill(shmkit_heap_t *h, size_t size, uint64_t *offs, int cap)
{
	int n = 0;
	while (n < cap && shmkit_heap_alloc(h, size, &offs[n]) == 0)
		n++;
	return n;
}

/* In a fork child: a handle of its own on the test's heap. */
static shmkit_heap_t *child_open(void)
{
	shmkit_heap_t *k;
	if (shmkit_heap_open(&k, heap_name, 0))
		_exit(1);
	return k;
}

/* A process that caches a block of every cached class (16 .. 96 bytes), then is killed. */
static void cache_and_die(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		shmkit_heap_t *k = child_open();
		uint64_t o;
		for (size_t size = 16; size <= 96; size += 16)
			if (shmkit_heap_alloc(k, size, &o) || shmkit_heap_free(k, o))
				_exit(2);
		raise(SIGKILL);
	}
	cr_assert_eq(tu_wait(pid), 128 + SIGKILL);
}

/* Free space is real: what caches hold goes back before an allocation fails. */
Test(heap_cache, caches_give_back_before_enomem)
{
	enum { CAP = 8192 };
	uint64_t *offs = calloc(CAP, sizeof(*offs)), big;
	shmkit_heap_t *h = heap_fresh(128 * KIB, 0);
	struct shmkit_heap_report empty = heap_report(h, 0);
	/* Our own cache: a block of every cached class, the rest freed. */
	static const size_t sizes[] = {16, 32, 48, 64, 80, 96};
	for (unsigned i = 0; i < 6; i++) {
		cr_assert_eq(shmkit_heap_alloc(h, sizes[i], &offs[i]), 0);
		cr_assert_eq(shmkit_heap_free(h, offs[i]), 0);
	}
	cr_assert_eq(heap_report(h, 0).cached, 336);
	cr_assert_eq(shmkit_heap_alloc(h, empty.largest_free, &big), 0,
	             "the whole heap, with our cache holding a block of 6 runs");
	cr_assert_eq(heap_report(h, 0).cached, 0);
	cr_assert_eq(shmkit_heap_free(h, big), 0);
	/* A killed process's cache: its blocks come back with its runs. */
	cache_and_die();
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.cached, 336, "the dead process's blocks are free, not leaked");
	cr_assert_eq(r.used, 0);
	cr_assert_eq(r.leaked, 0);
	cr_assert_eq(shmkit_heap_alloc(h, empty.largest_free, &big), 0,
	             "the whole heap, with a dead process's cache in 6 runs");
	cr_assert_eq(shmkit_heap_free(h, big), 0);
	r = heap_report(h, 0);
	cr_assert_eq(r.cached, 0);
	cr_assert_eq(r.free, empty.free);
	/* Small blocks too: a heap filled with 64-byte blocks, all freed, fills again. */
	int n = fill(h, 64, offs, CAP);
	cr_assert_gt(n, 1000);
	for (int i = 0; i < n; i++)
		cr_assert_eq(shmkit_heap_free(h, offs[i]), 0);
	cr_assert_eq(fill(h, 64, offs, CAP), n, "as many blocks as the first time");
	for (int i = 0; i < n; i++)
		cr_assert_eq(shmkit_heap_free(h, offs[i]), 0);
	free(offs);
	heap_gone(h);
}

/* A handle that a fork child inherits caches in the child for the child only. */
Test(heap_cache, a_fork_child_keeps_off_its_parents_cache)
{
	shmkit_heap_t *h = heap_fresh(256 * KIB, 0);
	uint64_t a;
	cr_assert_eq(shmkit_heap_alloc(h, 32, &a), 0);
	cr_assert_eq(shmkit_heap_free(h, a), 0); /* the parent's cache holds a */
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t o, p;
		int bad = 0;
		for (int i = 0; i < 1000 && !bad; i++) {
			bad |= shmkit_heap_alloc(h, 32, &o) != 0 || o == a;
			bad |= shmkit_heap_free(h, o) != 0;
		}
		bad |= shmkit_heap_free(h, a) != -EINVAL; /* freed already: the parent's */
		bad |= shmkit_heap_alloc(h, 32, &p) != 0 || shmkit_heap_free(h, p) != 0;
		shmkit_heap_close(h);
		_exit(bad ? 3 : 0);
	}
	cr_assert_eq(tu_wait(pid), 0, "the child reused its parent's cached block");
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.used, 0);
	cr_assert_eq(r.cached, 32, "the child closed its own cache; the parent's is intact");
	uint64_t b;
	cr_assert_eq(shmkit_heap_alloc(h, 32, &b), 0);
	cr_assert_eq(b, a);
	cr_assert_eq(shmkit_heap_free(h, b), 0);
	heap_gone(h);
}

/* Threads sharing one handle: one caches, the others go the lock-free way, all at once. */
struct churn {
	shmkit_heap_t *h;
	int id, bad;
};

static void *churn_thread(void *arg)
{
	struct churn *c = arg;
	uint64_t keep[16] = {0};
	for (int i = 0; i < 20000 && !c->bad; i++) {
		size_t size = 16 + (size_t)((i * 7 + c->id * 13) % 120);
		uint64_t *slot = &keep[i % 16];
		if (*slot) {
			uint8_t *p = shmkit_heap_ptr(c->h, *slot);
			c->bad |= p[0] != (uint8_t)c->id || shmkit_heap_free(c->h, *slot) != 0;
			*slot = 0;
		}
		if (shmkit_heap_alloc(c->h, size, slot) != 0) {
			c->bad = 1;
			break;
		}
		uint8_t *p = shmkit_heap_ptr(c->h, *slot);
		c->bad |= p[0] != 0 || p[size - 1] != 0; /* zeroed */
		memset(p, c->id, size);
	}
	for (int i = 0; i < 16; i++)
		if (keep[i])
			c->bad |= shmkit_heap_free(c->h, keep[i]) != 0;
	return NULL;
}

Test(heap_cache, threads_of_one_handle)
{
	enum { T = 4 };
	shmkit_heap_t *h = heap_fresh(1024 * KIB, 0);
	pthread_t th[T];
	struct churn c[T];
	for (int i = 0; i < T; i++) {
		c[i] = (struct churn){h, i + 1, 0};
		cr_assert_eq(pthread_create(&th[i], NULL, churn_thread, &c[i]), 0);
	}
	for (int i = 0; i < T; i++) {
		pthread_join(th[i], NULL);
		cr_assert_eq(c[i].bad, 0, "thread %d saw a block it did not own", i);
	}
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.used, 0);
	cr_assert_eq(r.damage, 0);
	cr_assert_leq(r.cached, 336);
	heap_gone(h);
}

/* Free a small block into the cache of a handle h in a heap whose runs it then pins. */
static void cache_a_pinning_block(shmkit_heap_t *h, uint64_t *x)
{
	uint64_t a, b;
	cr_assert_eq(shmkit_heap_alloc(h, 8000, &a), 0);
	cr_assert_eq(shmkit_heap_alloc(h, 16, x), 0); /* a run between two large blocks */
	cr_assert_eq(shmkit_heap_alloc(h, 8000, &b), 0);
	cr_assert_eq(shmkit_heap_free(h, a), 0);
	cr_assert_eq(shmkit_heap_free(h, *x), 0); /* cached: its run stays */
	cr_assert_eq(shmkit_heap_free(h, b), 0);
}

struct big_alloc {
	shmkit_heap_t *h;
	uint64_t size, off;
	int r;
};

static void *big_in_thread(void *arg)
{
	struct big_alloc *b = arg;
	b->r = shmkit_heap_alloc(b->h, b->size, &b->off);
	return NULL;
}

/* Whoever runs out takes what a live handle's cache holds: another thread of the handle,
 * another handle, another process. */
Test(heap_cache, live_caches_give_back_to_anyone)
{
	shmkit_heap_t *h = heap_fresh(128 * KIB, 0), *g;
	uint64_t need = heap_report(h, 0).largest_free, x, off;
	/* Another thread of h (h's cache belongs to this thread). */
	cache_a_pinning_block(h, &x);
	struct big_alloc b = {h, need, 0, 0};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, big_in_thread, &b), 0);
	pthread_join(th, NULL);
	cr_assert_eq(b.r, 0, "another thread of the caching handle");
	cr_assert_eq(shmkit_heap_free(h, b.off), 0);
	/* Another handle of this process. */
	cache_a_pinning_block(h, &x);
	cr_assert_eq(shmkit_heap_open(&g, heap_name, 0), 0);
	cr_assert_eq(shmkit_heap_alloc(g, need, &off), 0, "another handle");
	cr_assert_eq(shmkit_heap_free(g, off), 0);
	shmkit_heap_close(g);
	/* Another process, which never freed anything (so has no cache of its own yet). */
	cache_a_pinning_block(h, &x);
	pid_t pid = fork();
	if (pid == 0) {
		shmkit_heap_t *k = child_open();
		uint64_t o;
		int r = shmkit_heap_alloc(k, need, &o);
		if (r == 0)
			r = shmkit_heap_free(k, o);
		shmkit_heap_close(k);
		_exit(r ? 2 : 0);
	}
	cr_assert_eq(tu_wait(pid), 0, "another process");
	/* h's cache was emptied under it: it notices, and goes on. */
	uint64_t y;
	cr_assert_eq(shmkit_heap_alloc(h, 16, &y), 0);
	cr_assert_eq(shmkit_heap_free(h, y), 0);
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.used, 0);
	cr_assert_eq(r.leaked, 0);
	cr_assert_leq(r.cached, 16);
	heap_gone(h);
}

/* Several threads of one handle run out at once, with a dead handle's and a live handle's
 * blocks to take: each block is freed once (the check agrees), and one of them gets it all. */
Test(heap_cache, sweeps_at_once)
{
	enum { T = 4, ROUNDS = 50 };
	shmkit_heap_t *h = heap_fresh(128 * KIB, 0), *g;
	uint64_t need = heap_report(h, 0).largest_free, x;
	cr_assert_eq(shmkit_heap_open(&g, heap_name, 0), 0);
	for (int round = 0; round < ROUNDS; round++) {
		cache_and_die();
		cache_a_pinning_block(g, &x);
		struct big_alloc b[T];
		pthread_t th[T];
		for (int i = 0; i < T; i++) {
			b[i] = (struct big_alloc){h, need, 0, 0};
			cr_assert_eq(pthread_create(&th[i], NULL, big_in_thread, &b[i]), 0);
		}
		int got = 0;
		for (int i = 0; i < T; i++) {
			pthread_join(th[i], NULL);
			if (b[i].r == 0) {
				got++;
				cr_assert_eq(shmkit_heap_free(h, b[i].off), 0);
			} else {
				cr_assert_eq(b[i].r, -ENOMEM);
			}
		}
		cr_assert_geq(got, 1, "round %d: nobody got the whole heap", round);
		struct shmkit_heap_report r = heap_report(h, 0);
		cr_assert_eq(r.used, 0, "round %d", round);
		cr_assert_eq(r.damage, 0, "round %d: %s", round, r.first_problem);
	}
	shmkit_heap_close(g);
	heap_gone(h);
}

/* A block a thief has taken from a record and not yet freed is no longer named by any record,
 * but still marked: a free of it then is a double free too. */
Test(heap_cache, a_block_being_given_back_is_not_free_to_free)
{
	shmkit_heap_t *h = heap_fresh(128 * KIB, 0);
	uint64_t x, y;
	cr_assert_eq(shmkit_heap_alloc(h, 32, &x), 0);
	cr_assert_eq(shmkit_heap_free(h, x), 0); /* cached */
	cr_assert_not_null(h->cache_rec, "the handle caches");
	uint32_t c = sk_class_of(32);
	cr_assert_eq(atomic_exchange(&h->cache_rec->block[c], 0), x, "a thief's exchange");
	cr_assert_eq(shmkit_heap_free(h, x), -EINVAL, "the caching thread");
	shmkit_heap_t *g;
	cr_assert_eq(shmkit_heap_open(&g, heap_name, 0), 0);
	cr_assert_eq(shmkit_heap_free(g, x), -EINVAL, "another handle");
	shmkit_heap_close(g);
	/* The holder notices that its copy is stale, and the block is nobody's but the thief's. */
	cr_assert_eq(shmkit_heap_alloc(h, 32, &y), 0);
	cr_assert_neq(y, x);
	cr_assert_eq(shmkit_heap_free(h, y), 0);
	heap_gone(h);
}

/* A thief killed while it marked a live record: the next sweep takes its mark over and the
 * blocks still come back; the holder, meanwhile allocating the ordinary way, gets its cache
 * back too. */
Test(heap_cache, a_dead_thiefs_mark_is_taken_over)
{
	shmkit_heap_t *h = heap_fresh(128 * KIB, 0), *g;
	uint64_t need = heap_report(h, 0).largest_free, x, off;
	cache_a_pinning_block(h, &x);
	/* A mark of thief slot 0 in a generation it never had: a thief that died. */
	uint64_t dead = (sk_load_relaxed(&h->hdr->thieves[0]) + 7) << 8 | 1;
	sk_store_relaxed(&h->cache_rec->steal, dead);
	for (int i = 0; i < 600; i++) { /* the holder backs off, and clears it after a while */
		uint64_t o;
		cr_assert_eq(shmkit_heap_alloc(h, 16, &o), 0);
		cr_assert_eq(shmkit_heap_free(h, o), 0);
	}
	cr_assert_eq(sk_load_relaxed(&h->cache_rec->steal), 0, "the holder cleared a dead mark");
	sk_store_relaxed(&h->cache_rec->steal, dead);
	cr_assert_eq(shmkit_heap_open(&g, heap_name, 0), 0);
	cr_assert_eq(shmkit_heap_alloc(g, need, &off), 0, "a sweep past a dead thief's mark");
	cr_assert_eq(shmkit_heap_free(g, off), 0);
	shmkit_heap_close(g);
	cr_assert_eq(sk_load_relaxed(&h->cache_rec->steal), 0);
	heap_gone(h);
}

/* A thread that keeps running out (sweeping) does not make another thread's sweep miss what
 * the first one is giving back: same handle, and another handle. */
struct spinner {
	shmkit_heap_t *h;
	SK_ATOMIC(int) stop;
};

static void *keep_running_out(void *arg)
{
	struct spinner *sp = arg;
	while (!atomic_load(&sp->stop)) {
		uint64_t o;
		if (shmkit_heap_alloc(sp->h, 1u << 30, &o) == 0) /* never fits */
			shmkit_heap_free(sp->h, o);
	}
	return NULL;
}

Test(heap_cache, sweeps_do_not_hide_from_each_other)
{
	shmkit_heap_t *h = heap_fresh(128 * KIB, 0), *g;
	uint64_t need = heap_report(h, 0).largest_free, x, off;
	cr_assert_eq(shmkit_heap_open(&g, heap_name, 0), 0);
	for (int other = 0; other < 2; other++) {
		struct spinner sp = {other ? g : h, 0};
		pthread_t th;
		cr_assert_eq(pthread_create(&th, NULL, keep_running_out, &sp), 0);
		for (int i = 0; i < 200; i++) {
			cache_a_pinning_block(h, &x);
			struct big_alloc b = {h, need, 0, 0};
			pthread_t t2;
			cr_assert_eq(pthread_create(&t2, NULL, big_in_thread, &b), 0);
			pthread_join(t2, NULL);
			cr_assert_eq(b.r, 0, "round %d: another sweeper on %s hid the block", i,
			             other ? "another handle" : "the same handle");
			cr_assert_eq(shmkit_heap_free(h, b.off), 0);
		}
		atomic_store(&sp.stop, 1);
		pthread_join(th, NULL);
	}
	(void)off;
	shmkit_heap_close(g);
	heap_gone(h);
}

/* With every cache record taken, a handle without one still takes back what caches hold. */
Test(heap_cache, a_handle_without_a_record_sweeps_too)
{
	enum { N = SK_HEAP_CACHES };
	shmkit_heap_t *h = heap_fresh(256 * KIB, 0), *k[N], *last;
	uint64_t need = heap_report(h, 0).largest_free, x, off;
	shmkit_heap_close(h);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(shmkit_heap_open(&k[i], heap_name, 0), 0);
		cache_a_pinning_block(k[i], &x);
		cr_assert_not_null(k[i]->cache_rec, "handle %d has a record", i);
	}
	cr_assert_eq(shmkit_heap_open(&last, heap_name, 0), 0);
	cr_assert_eq(shmkit_heap_alloc(last, 16, &x), 0);
	cr_assert_eq(shmkit_heap_free(last, x), 0);
	cr_assert_null(last->cache_rec, "no record left for the last handle");
	cr_assert_eq(shmkit_heap_alloc(last, need, &off), 0, "the last handle takes them back");
	cr_assert_eq(shmkit_heap_free(last, off), 0);
	shmkit_heap_close(last);
	for (int i = 0; i < N; i++)
		shmkit_heap_close(k[i]);
	cr_assert_eq(shmkit_heap_open(&h, heap_name, 0), 0);
	heap_gone(h);
}

/* A fork while another thread sweeps (each failing allocation does): neither waits for the
 * other (the sweep's new descriptor and the fork handlers take their locks in one order). */
static void *sweep_in_a_full_heap(void *arg)
{
	struct spinner *sp = arg;
	while (!atomic_load(&sp->stop)) {
		uint64_t o;
		if (shmkit_heap_alloc(sp->h, 8192, &o) == 0)
			shmkit_heap_free(sp->h, o);
	}
	return NULL;
}

Test(heap_cache, fork_while_sweeping, .timeout = 120)
{
	enum { CAP = 64 };
	shmkit_heap_t *h = heap_fresh(64 * KIB, 0);
	uint64_t offs[CAP];
	int n = 0;
	while (n < CAP && shmkit_heap_alloc(h, 8192, &offs[n]) == 0)
		n++;
	struct spinner sp = {h, 0};
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, sweep_in_a_full_heap, &sp), 0);
	for (int i = 0; i < 300; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		cr_assert_eq(tu_wait_timeout(pid, 20000), 0, "fork %d", i);
	}
	atomic_store(&sp.stop, 1);
	pthread_join(th, NULL);
	for (int i = 0; i < n; i++)
		cr_assert_eq(shmkit_heap_free(h, offs[i]), 0);
	heap_gone(h);
}
