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

/* The liveness token of thief slot i (a sweeper holds one while it may mark live records). */
static off_t thief_token(uint32_t i)
{
	return (off_t)(offsetof(struct sk_heap_hdr, thieves) + (size_t)i * sizeof(uint64_t));
}

/* A new description of the heap's file to hold tokens with, adopted (closed in fork
 * children) under map_lock, which fork_prepare takes: no child inherits it unadopted. */
static int new_carrier(struct shmkit_heap *h)
{
	pthread_mutex_lock(&h->map_lock);
	int carrier = sk_live_reopen(h->fd);
	if (carrier >= 0 && sk_live_adopt(carrier) < 0) {
		close(carrier);
		carrier = -1;
	}
	pthread_mutex_unlock(&h->map_lock);
	return carrier;
}

/* Free a block that an entry of class c named (what a dead process or a peer wrote): only a
 * taken slot of class c that carries the cache's mark, i.e. a block that was freed into a
 * cache; anything else is left alone (and to the check). */
static void give_back(struct shmkit_heap *h, uint32_t c, uint64_t off)
{
	uint32_t p = sk_page_of(h, off), t, k;
	if (off && p != SK_NONE && sk_run_head(h, p, &t, &k) == p && k == c &&
	    sk_cache_marked(h, p, off))
		sk_small_free(h, p, t, c, off, SK_FREE_CACHED);
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

/* Is the thief that a steal mark names gone (or never was)? carrier: not the thief's. */
static int thief_gone(struct shmkit_heap *h, int carrier, uint64_t mark)
{
	uint64_t i = (mark & 0xff) - 1;
	return i >= SK_HEAP_THIEVES || sk_load_relaxed(&h->hdr->thieves[i]) != mark >> 8 ||
	       sk_live_held(carrier, thief_token((uint32_t)i)) == 0;
}

/*
 * Wait (up to about 10 ms) until no live thief is in rec, clearing a gone thief's mark: 0, or
 * -EBUSY. A thief that passed BARRIER_H7 may still be exchanging entries: the next holder of
 * a record must not change them meanwhile, and a sweeper wants what it frees.
 */
static int settle(struct shmkit_heap *h, int carrier, struct sk_heap_cache *rec)
{
	uint64_t until = sk_mono_ns() + 10000000;
	for (;;) {
		/* acquire: pairs with the thief's clearing CAS (seq_cst), after its exchanges */
		uint64_t s = sk_load_acquire(&rec->steal);
		if (!s)
			return 0;
		if (thief_gone(h, carrier, s)) {
			atomic_compare_exchange_strong(&rec->steal, &s, 0);
			continue;
		}
		if (sk_mono_ns() > until)
			return -EBUSY;
		sched_yield();
	}
}

/* Can this handle hold tokens and reach caches? (Its own object, writable, with a secret.) */
static int cache_possible(const struct shmkit_heap *h)
{
	return !h->rdonly && !h->attached && h->fd >= 0 && h->secret;
}

void sk_cache_claim(struct shmkit_heap *h)
{
	uint32_t no = 0;
	if (!atomic_compare_exchange_strong(&h->cache_tried, &no, 1))
		return; /* another thread of the handle looks, or looked */
	/* Thieves reach our entries through membarrier (BARRIER_H7): no registration, no cache. */
	if (!cache_possible(h) || !sk_asym_register())
		return;
	int carrier = new_carrier(h);
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
		/* release: pairs with sk_cache_flush's and steal_live's acquire of the owner */
		sk_store_release(&h->cache_owner, sk_thread_self());
		return;
	}
	sk_live_close(carrier); /* every record is someone's: this handle does not cache */
}

void sk_cache_contended(struct shmkit_heap *h)
{
	if (++h->contended % 256)
		return;
	/* A thief that died between its mark and its reset: a sweep would clear it, but none may
	 * come, and it keeps us off our cache meanwhile. */
	uint64_t s = sk_load_acquire(&h->cache_rec->steal); /* as in steal_live */
	if (s && thief_gone(h, h->carrier, s))
		atomic_compare_exchange_strong(&h->cache_rec->steal, &s, 0);
}

int sk_cache_marked(struct shmkit_heap *h, uint32_t page, uint64_t off)
{
	SK_ATOMIC(uint64_t) *mark = sk_mark_of(h, off);
	return h->secret && sk_heap_have(h, page) == 0 && sk_load_relaxed(&mark[0]) == h->secret &&
	       sk_load_relaxed(&mark[1]) == off;
}

int sk_cache_cached(struct shmkit_heap *h, uint64_t off, uint64_t size)
{
	uint32_t p = sk_page_of(h, off);
	return size <= sk_classes[SK_HEAP_CACHED - 1].size && p != SK_NONE &&
	       sk_cache_marked(h, p, off);
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
			give_back(h, c, off);
		}
	}
}

/* Mark, fence, take (BARRIER_H7) what live records hold; wait for other thieves to finish
 * the records they are in, so that their blocks are free when we look again. */
static void steal_live(struct shmkit_heap *h, int carrier, uint64_t mark, const uint64_t *dead)
{
	uint64_t ours[(SK_HEAP_CACHES + 63) / 64] = {0};
	int any = 0;
	for (uint32_t i = 0; i < SK_HEAP_CACHES; i++) {
		struct sk_heap_cache *rec = &h->hdr->caches[i];
		if (dead[i / 64] & (uint64_t)1 << (i % 64))
			continue;
		/* Ours, if we are the caching thread: flushed already. (The acquire pairs with the
		 * claim's release: cache_rec is read only once it is known to be set.) */
		if (sk_load_acquire(&h->cache_owner) == sk_thread_self() && rec == h->cache_rec)
			continue;
		/* acquire: a live thief's generation, stored before its mark, is what we compare */
		uint64_t s = sk_load_acquire(&rec->steal);
		if ((s == 0 || thief_gone(h, carrier, s)) &&
		    atomic_compare_exchange_strong(&rec->steal, &s, mark)) {
			ours[i / 64] |= (uint64_t)1 << (i % 64);
			any = 1;
		}
	}
	int fenced = any && sk_asym_heavy() == 0;
	for (uint32_t i = 0; i < SK_HEAP_CACHES; i++) {
		struct sk_heap_cache *rec = &h->hdr->caches[i];
		if (ours[i / 64] & (uint64_t)1 << (i % 64)) {
			if (fenced && !atomic_load_explicit(&rec->busy,
			                                    memory_order_acquire)) /* BARRIER_H7 */
				empty_record(h, rec);
			uint64_t m = mark;
			atomic_compare_exchange_strong(&rec->steal, &m, 0);
		} else if (!(dead[i / 64] & (uint64_t)1 << (i % 64))) {
			settle(h, carrier, rec); /* another thief's: let it finish */
		}
	}
}

/* Before -ENOMEM: empty the records of dead handles, then take what live ones hold. */
static void sweep_records(struct shmkit_heap *h)
{
	int carrier = new_carrier(h); /* the thief's own: its tokens end with this sweep */
	if (carrier < 0)
		return;
	uint64_t mark = 0, dead[(SK_HEAP_CACHES + 63) / 64] = {0};
	for (uint32_t i = 0; i < SK_HEAP_THIEVES && !mark; i++)
		if (sk_live_hold(carrier, thief_token(i)) == 0)
			mark = (atomic_fetch_add(&h->hdr->thieves[i], 1) + 1) << 8 | (i + 1);
	for (uint32_t i = 0; i < SK_HEAP_CACHES; i++) {
		struct sk_heap_cache *rec = &h->hdr->caches[i];
		if (sk_live_hold(carrier, token_of(i)) < 0)
			continue; /* a live holder's (ours included: another description) */
		dead[i / 64] |= (uint64_t)1 << (i % 64);
		empty_record(h, rec); /* nobody's, or a dead holder's: exchanges, so a thief */
		sk_live_drop(carrier, token_of(i)); /* still in it takes each block once */
	}
	if (mark)
		steal_live(h, carrier, mark, dead);
	sk_live_close(carrier);
}

void sk_cache_flush(struct shmkit_heap *h, int release)
{
	/* pairs with the claim's release: the record and carrier are set before the owner */
	if (sk_load_acquire(&h->cache_owner) && (release || sk_cache_mine(h)))
		flush_own(h);
	if (release) {
		if (h->cache_rec) {
			sk_store_relaxed(&h->cache_owner, 0);
			sk_live_close(h->carrier); /* drops the token with the description */
			h->carrier = -1;
			h->cache_rec = NULL;
		}
		return;
	}
	if (!cache_possible(h))
		return;
	pthread_mutex_lock(&h->cache_lock); /* one sweep at a time per handle: the next one */
	sweep_records(h);                   /* finds what this one freed */
	pthread_mutex_unlock(&h->cache_lock);
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
