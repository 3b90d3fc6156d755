/* SPDX-License-Identifier: MIT */
/*
 * heap: the allocation entry points. Requests up to SK_HEAP_SMALL_MAX bytes are slots of a
 * run (run.c, no lock on the fast path); larger ones are spans of whole pages (pages.c).
 * A free finds what an offset is from the descriptor of its page alone, so anything that is
 * not the start of a live allocation is refused with -EINVAL.
 */
#include <errno.h>

#include "heap/fast.h"

#define NONE UINT32_MAX

int sk_heap_alloc_in(struct shmkit_heap *h, uint32_t arena, size_t size, uint64_t *off)
{
	if (size > SK_HEAP_SMALL_MAX)
		return sk_large_alloc(h, arena, size, off);
	uint32_t c = sk_class_of(size);
	int r = sk_small_alloc_fast(h, arena, c, off);
	return SK_LIKELY(r != -EAGAIN) ? r : sk_small_alloc(h, arena, c, off);
}

int sk_heap_free_in(struct shmkit_heap *h, int names, uint64_t off)
{
	uint32_t p = sk_page_of(h, off), t, c;
	if (p == NONE || off % SHMKIT_HEAP_ALIGN)
		return -EINVAL;
	uint32_t head = sk_run_head(h, p, &t, &c);
	if (head != NONE)
		return sk_small_free(h, head, t, c, off, names);
	t = sk_load_acquire(&h->pages[p].tag); /* see BARRIER_H3 */
	if (SK_TAG_KIND(t) == SK_PG_LARGE && off == sk_page_off(h, p))
		return sk_large_free(h, p, names);
	return -EINVAL;
}

int sk_heap_block(struct shmkit_heap *h, uint64_t off, uint64_t *size, uint32_t *arena)
{
	uint32_t p = sk_page_of(h, off), t, c;
	if (p == NONE || off % SHMKIT_HEAP_ALIGN)
		return -EINVAL;
	uint32_t head = sk_run_head(h, p, &t, &c);
	if (head != NONE) {
		struct sk_heap_page *d = &h->pages[head];
		uint64_t delta = off - sk_page_off(h, head);
		uint64_t slot = delta / sk_classes[c].size;
		if (slot * sk_classes[c].size != delta || slot >= sk_classes[c].slots ||
		    !(sk_load_relaxed(&d->bits[slot / 64]) & (uint64_t)1 << (slot % 64)))
			return -EINVAL;
		*size = sk_classes[c].size;
		*arena = SK_TAG_ARENA(t);
		return 0;
	}
	t = sk_load_acquire(&h->pages[p].tag); /* see BARRIER_H3 */
	uint32_t n = sk_load_relaxed(&h->pages[p].npages);
	if (SK_TAG_KIND(t) != SK_PG_LARGE || off != sk_page_off(h, p) || n == 0 ||
	    n > h->max_pages - p)
		return -EINVAL;
	*size = (uint64_t)n << SK_HEAP_PAGE_SHIFT;
	*arena = SK_TAG_ARENA(t);
	return 0;
}

SK_EXPORT int shmkit_heap_alloc(shmkit_heap_t *h, size_t size, uint64_t *off)
{
	if (!h || !off)
		return -EINVAL;
	if (SK_UNLIKELY(h->rdonly)) {
		*off = 0;
		return -EACCES;
	}
	uint32_t a = sk_load_relaxed(&h->arena) % SK_HEAP_ARENAS;
	if (SK_LIKELY(size <= SK_HEAP_SMALL_MAX)) {
		uint32_t c = sk_class_of(size);
		if (c < SK_HEAP_CACHED && sk_cache_mine(h) && sk_cache_get(h, c, off) == 0)
			return 0;
		if (SK_LIKELY(sk_small_alloc_fast(h, a, c, off) == 0))
			return 0;
	}
	int r = sk_heap_alloc_in(h, a, size, off);
	if (SK_UNLIKELY(r))
		*off = 0;
	return r;
}

/*
 * A free by the caching thread: into the cache, or -EAGAIN, and then the usual way checks the
 * offset again (a few loads, on the path of the blocks the cache does not take: keeping that
 * path out of this one keeps the cache's frame small, which measured faster than sharing it).
 */
static inline int cache_free(struct shmkit_heap *h, uint64_t off)
{
	uint32_t p = sk_page_of(h, off), t, c;
	if (p == NONE || off % SHMKIT_HEAP_ALIGN)
		return -EINVAL;
	uint32_t head = sk_run_head(h, p, &t, &c);
	if (head == NONE || c >= SK_HEAP_CACHED)
		return -EAGAIN;
	uint64_t m;
	int w = sk_small_slot(h, head, t, c, off, 0, &m);
	if (w < 0)
		return w;
	if (!(sk_load_relaxed(&h->pages[head].bits[w]) & m))
		return -EINVAL; /* a double free */
	return sk_cache_keep(h, head, c, off);
}

static int free_slow(struct shmkit_heap *h, uint64_t off)
{
	if (h->rdonly)
		return -EACCES;
	if (!sk_load_relaxed(&h->cache_tried)) {
		sk_cache_claim(h);
		if (sk_cache_mine(h))
			return shmkit_heap_free(h, off);
	}
	return sk_heap_free_in(h, 0, off);
}

SK_EXPORT int shmkit_heap_free(shmkit_heap_t *h, uint64_t off)
{
	if (!h)
		return -EINVAL;
	if (off == 0)
		return 0;
	if (SK_LIKELY(sk_cache_mine(h))) { /* never on a read-only handle */
		int r = cache_free(h, off);
		if (SK_LIKELY(r != -EAGAIN))
			return r;
		return sk_heap_free_in(h, 0, off);
	}
	return free_slow(h, off);
}

SK_EXPORT int shmkit_heap_usable_size(shmkit_heap_t *h, uint64_t off, uint64_t *size)
{
	uint64_t n;
	uint32_t a;
	if (!h || !size)
		return -EINVAL;
	int err = sk_heap_block(h, off, &n, &a);
	if (err || !sk_arena_ok(a, 0))
		return -EINVAL; /* not a user allocation (a named object's block is not one) */
	if (sk_cache_cached(h, off, n))
		return -EINVAL; /* freed: a handle keeps it for its next allocation */
	*size = n;
	return 0;
}
