/* SPDX-License-Identifier: MIT */
/*
 * heap: the per-handle cache of small free blocks (the protocol is at struct sk_heap_cache in
 * layout.h; the get and put of the fast paths are in fast.h).
 *
 * A free of a block of 16 .. 96 bytes by the caching thread keeps the block, still taken in
 * its run's bitmap, as the next allocation of its class; that allocation then needs no atomic
 * read-modify-write, and neither did the free. One block per class and handle: at most 6
 * blocks, 336 bytes, wait in a cache. Only one thread of a handle caches (the first that
 * frees); the others take the lock-free paths as before.
 *
 * The blocks go back to the heap when the handle closes, after a kill -9 (the next handle
 * that takes the dead holder's record frees what it held), and before any allocation, in any
 * thread or process, fails with -ENOMEM: the sweep takes dead records' blocks with their
 * tokens and live records' blocks through BARRIER_H7 (layout.h).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <unistd.h>

#include "heap/fast.h"
#include "sys/sys.h"

static off_t token_of(uint32_t i)
{
	return (off_t)(offsetof(struct sk_heap_hdr, caches) +
	               (size_t)i * sizeof(struct sk_heap_cache));
}

/* Free a block that an entry of class c named (what a dead process or a peer wrote: free()
 * checks it is a taken slot of class c; anything else is refused, and left to the check). */
static void give_back(struct shmkit_heap *h, uint32_t c, uint64_t off)
{
	uint32_t p = sk_page_of(h, off), t, k;
	if (off && p != SK_NONE && sk_run_head(h, p, &t, &k) == p && k == c)
		sk_heap_free_in(h, 0, off);
}

/* Take every entry of a record (exchanged for 0: a racing thief gets each once) and free it. */
static void empty_record(struct shmkit_heap *h, struct sk_heap_cache *rec)
{
	for (uint32_t c = 0; c < SK_HEAP_CACHED; c++) {
		uint64_t off =
		    atomic_exchange(&rec->block[c], 0); /* first: see struct sk_heap_cache */
		SK_CRASH_POINT();
		give_back(h, c, off);
	}
}

/*
 * We hold rec's token (its holder is gone): wait until no live thief is in it. A thief that
 * passed BARRIER_H7 may still be exchanging entries, and the next holder must not change
 * them meanwhile; a dead thief's mark is cleared. 0, or -EBUSY if a thief stays too long.
 */
static int settle(struct shmkit_heap *h, int carrier, struct sk_heap_cache *rec)
{
	for (int i = 0; i < 100000; i++) {
		uint64_t s = sk_load_acquire(&rec->steal);
		if (!s)
			return 0;
		uint64_t thief = s - 1;
		int ours = h->cache_rec && thief == h->cache_self; /* our own sweep: alive */
		if (thief >= SK_HEAP_CACHES ||
		    (!ours && sk_live_held(carrier, token_of((uint32_t)thief)) == 0)) {
			atomic_compare_exchange_strong(&rec->steal, &s, 0); /* a dead thief's */
			continue;
		}
		sched_yield();
	}
	return -EBUSY;
}

void sk_cache_claim(struct shmkit_heap *h)
{
	uint32_t no = 0;
	if (!atomic_compare_exchange_strong(&h->cache_tried, &no, 1))
		return; /* another thread of the handle looks, or looked */
	/* Thieves reach our entries through membarrier (BARRIER_H7): no registration, no cache. */
	if (h->rdonly || h->attached || h->fd < 0 || !h->secret || !sk_asym_register())
		return;
	/* Under map_lock, which fork_prepare takes: no fork child inherits the carrier before it
	 * is adopted (it would keep our tokens alive). */
	pthread_mutex_lock(&h->map_lock);
	int carrier = sk_live_reopen(h->fd);
	if (carrier >= 0 && sk_live_adopt(carrier) < 0) {
		close(carrier);
		carrier = -1;
	}
	pthread_mutex_unlock(&h->map_lock);
	if (carrier < 0)
		return;
	for (uint32_t i = 0; i < SK_HEAP_CACHES; i++) {
		if (sk_live_hold(carrier, token_of(i)) < 0)
			continue;
		struct sk_heap_cache *rec = &h->hdr->caches[i];
		if (settle(h, carrier, rec) < 0) {
			sk_live_drop(carrier, token_of(i));
			continue;
		}
		empty_record(h, rec); /* a dead holder's blocks */
		sk_store_relaxed(&rec->busy, 0);
		h->carrier = carrier;
		h->cache_rec = rec;
		h->cache_self = i;
		for (uint32_t c = 0; c < SK_HEAP_CACHED; c++)
			h->cached[c] = 0;
		sk_store_release(&h->cache_owner, sk_thread_self());
		return;
	}
	sk_live_close(carrier); /* every record is someone's: this handle does not cache */
}

void sk_cache_contended(struct shmkit_heap *h)
{
	if (++h->contended % 256)
		return;
	/* A thief that died between its CAS and its reset would keep us off our cache for good. */
	uint64_t s = sk_load_relaxed(&h->cache_rec->steal);
	if (s && s - 1 < SK_HEAP_CACHES && s - 1 != h->cache_self &&
	    sk_live_held(h->carrier, token_of((uint32_t)(s - 1))) == 0)
		atomic_compare_exchange_strong(&h->cache_rec->steal, &s, 0);
}

int sk_cache_holds(struct shmkit_heap *h, uint32_t c, uint64_t off)
{
	for (uint32_t i = 0; i < SK_HEAP_CACHES; i++)
		if (sk_load_relaxed(&h->hdr->caches[i].block[c]) == off)
			return 1;
	return 0;
}

int sk_cache_cached(struct shmkit_heap *h, uint64_t off, uint64_t size)
{
	uint32_t p = sk_page_of(h, off);
	return size <= sk_classes[SK_HEAP_CACHED - 1].size && h->secret && p != SK_NONE &&
	       sk_heap_have(h, p) == 0 && sk_load_relaxed(sk_mark_of(h, off)) == h->secret &&
	       sk_cache_holds(h, sk_class_of((size_t)size), off);
}

/* Give back our own entries (the caching thread, or a close: nobody else uses them). */
static void flush_own(struct shmkit_heap *h)
{
	for (uint32_t c = 0; c < SK_HEAP_CACHED; c++) {
		uint64_t off = h->cached[c];
		h->cached[c] = 0;
		/* An exchange, not BARRIER_H7: a thief that takes it first frees it itself. */
		if (off && atomic_exchange(&h->cache_rec->block[c], 0) == off) {
			SK_CRASH_POINT();
			sk_heap_free_in(h, 0, off);
		}
	}
}

/* Before -ENOMEM: empty the records of dead handles, and steal from live ones (BARRIER_H7). */
static void sweep_records(struct shmkit_heap *h)
{
	uint64_t mine = (uint64_t)h->cache_self + 1, live[(SK_HEAP_CACHES + 63) / 64] = {0};
	int any = 0;
	for (uint32_t i = 0; i < SK_HEAP_CACHES; i++) {
		struct sk_heap_cache *rec = &h->hdr->caches[i];
		if (i != h->cache_self && sk_live_hold(h->carrier, token_of(i)) == 0) {
			empty_record(h, rec); /* nobody's, or a dead holder's (exchanges: a thief */
			settle(h, h->carrier, rec); /* still in it takes each block once) */
			sk_store_relaxed(&rec->busy, 0);
			sk_live_drop(h->carrier, token_of(i));
			continue;
		}
		if (i == h->cache_self && sk_cache_mine(h))
			continue; /* flushed already */
		uint64_t none = 0;
		if (atomic_compare_exchange_strong(&rec->steal, &none, mine)) {
			live[i / 64] |= (uint64_t)1 << (i % 64);
			any = 1;
		}
	}
	int fenced = any && sk_asym_heavy() == 0;
	for (uint32_t i = 0; i < SK_HEAP_CACHES && any; i++) {
		if (!(live[i / 64] & (uint64_t)1 << (i % 64)))
			continue;
		struct sk_heap_cache *rec = &h->hdr->caches[i];
		if (fenced &&
		    !atomic_load_explicit(&rec->busy, memory_order_acquire)) /* BARRIER_H7 */
			empty_record(h, rec);
		uint64_t ours = mine;
		atomic_compare_exchange_strong(&rec->steal, &ours, 0);
	}
}

void sk_cache_flush(struct shmkit_heap *h, int release)
{
	/* pairs with the claim's release: the record and carrier are set before the owner */
	if (!sk_load_acquire(&h->cache_owner))
		return;
	if (release || sk_cache_mine(h))
		flush_own(h);
	if (release) {
		sk_store_relaxed(&h->cache_owner, 0);
		sk_live_close(h->carrier); /* drops the token with the description */
		h->carrier = -1;
		h->cache_rec = NULL;
		return;
	}
	if (pthread_mutex_trylock(&h->cache_lock) == 0) { /* one sweeper per handle: one carrier */
		sweep_records(h);
		pthread_mutex_unlock(&h->cache_lock);
	}
}

void sk_cache_forget(struct shmkit_heap *h)
{
	/* The parent's carrier is closed in the child by live.c; its blocks stay the parent's. */
	sk_store_relaxed(&h->cache_owner, 0);
	h->cache_rec = NULL;
	h->carrier = -1;
	for (uint32_t c = 0; c < SK_HEAP_CACHED; c++)
		h->cached[c] = 0;
	sk_store_relaxed(&h->cache_tried, 0);
	pthread_mutex_init(&h->cache_lock, NULL); /* a sweeping thread did not come along */
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int sk_cache_list(struct shmkit_heap *h, uint64_t **out, size_t *n)
{
	uint64_t *v = malloc(SK_HEAP_CACHES * SK_HEAP_CACHED * sizeof(*v));
	size_t k = 0;
	if (!v)
		return -ENOMEM;
	for (uint32_t i = 0; i < SK_HEAP_CACHES; i++)
		for (uint32_t c = 0; c < SK_HEAP_CACHED; c++) {
			uint64_t off = sk_load_relaxed(&h->hdr->caches[i].block[c]);
			if (off)
				v[k++] = off;
		}
	qsort(v, k, sizeof(*v), cmp_u64);
	size_t u = 0;
	for (size_t i = 0; i < k; i++)
		if (u == 0 || v[u - 1] != v[i])
			v[u++] = v[i];
	*out = v;
	*n = u;
	return 0;
}
