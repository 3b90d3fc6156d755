/* SPDX-License-Identifier: MIT */
/*
 * heap: the per-handle cache of small free blocks (the protocol is at struct sk_heap_cache in
 * layout.h; the get and put of the fast paths are in fast.h).
 *
 * A free of a block of 16 .. 128 bytes by the caching thread keeps the block, still taken in
 * its run's bitmap, as the next allocation of its class; that allocation then needs no atomic
 * read-modify-write, and neither did the free. One block per class and handle: at most 8
 * blocks, 576 bytes, wait in a cache. Only one thread of a handle caches (the first that
 * frees); the others take the lock-free paths as before.
 *
 * The blocks go back to the heap when the handle closes, before an allocation fails with
 * -ENOMEM, and after a kill -9: the next handle that takes the dead holder's record (or
 * sweeps before -ENOMEM) frees what it held.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "heap/fast.h"
#include "sys/sys.h"

static off_t token_of(uint32_t i)
{
	return (off_t)(offsetof(struct sk_heap_hdr, caches) +
	               (size_t)i * sizeof(struct sk_heap_cache));
}

/* Free what a record that is ours to clear holds (its holder is dead, or it is ours). */
static void empty_record(struct shmkit_heap *h, struct sk_heap_cache *rec)
{
	for (uint32_t c = 0; c < SK_HEAP_CACHED; c++) {
		uint64_t off = sk_load_relaxed(&rec->block[c]);
		if (!off)
			continue;
		sk_store_relaxed(&rec->block[c], 0); /* first: see struct sk_heap_cache */
		SK_CRASH_POINT();
		/* An entry is what a dead process or a peer wrote: free() checks it is a taken slot
		 * of class c (anything else is refused, and left to the check). */
		uint32_t p = sk_page_of(h, off), t, k;
		if (p != SK_NONE && sk_run_head(h, p, &t, &k) == p && k == c)
			sk_heap_free_in(h, 0, off);
	}
}

void sk_cache_claim(struct shmkit_heap *h)
{
	uint32_t no = 0;
	if (!atomic_compare_exchange_strong(&h->cache_tried, &no, 1))
		return; /* another thread of the handle looks, or looked */
	if (h->rdonly || h->attached || h->fd < 0 || !h->secret)
		return;
	int carrier = sk_live_reopen(h->fd);
	if (carrier < 0)
		return;
	if (sk_live_adopt(carrier) < 0) {
		close(carrier);
		return;
	}
	for (uint32_t i = 0; i < SK_HEAP_CACHES; i++) {
		if (sk_live_hold(carrier, token_of(i)) < 0)
			continue;
		struct sk_heap_cache *rec = &h->hdr->caches[i];
		empty_record(h, rec); /* a dead holder's blocks */
		h->carrier = carrier;
		h->cache_rec = rec;
		for (uint32_t c = 0; c < SK_HEAP_CACHED; c++)
			h->cached[c] = 0;
		sk_store_release(&h->cache_owner, sk_thread_self());
		return;
	}
	sk_live_close(carrier); /* every record is someone's: this handle does not cache */
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

void sk_cache_flush(struct shmkit_heap *h, int release)
{
	/* pairs with the claim's release: the record and carrier are set before the owner */
	if (!sk_load_acquire(&h->cache_owner))
		return;
	if (release || sk_cache_mine(h)) {
		for (uint32_t c = 0; c < SK_HEAP_CACHED; c++) {
			uint64_t off = h->cached[c];
			if (!off)
				continue;
			h->cached[c] = 0;
			sk_store_relaxed(&h->cache_rec->block[c], 0); /* first */
			SK_CRASH_POINT();
			sk_heap_free_in(h, 0, off);
		}
	}
	if (release) {
		sk_store_relaxed(&h->cache_owner, 0);
		sk_live_close(h->carrier); /* drops the token with the description */
		h->carrier = -1;
		h->cache_rec = NULL;
		return;
	}
	/* Records of dead handles: take each free token in turn, empty its record, drop it. */
	for (uint32_t i = 0; i < SK_HEAP_CACHES; i++) {
		struct sk_heap_cache *rec = &h->hdr->caches[i];
		if (rec == h->cache_rec || sk_live_hold(h->carrier, token_of(i)) < 0)
			continue;
		empty_record(h, rec);
		sk_live_drop(h->carrier, token_of(i));
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
