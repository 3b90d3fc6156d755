/* SPDX-License-Identifier: MIT */
/*
 * heap: the page allocator. Spans of whole pages, kept in bins by length (exact up to 32
 * pages, then one bin per power of two), split on allocation and coalesced on free with
 * boundary tags (a free span's last page repeats its length). Large allocations are spans;
 * runs of small slots (run.c) are spans too. Growth appends pages. Everything here runs with
 * pages_lock held.
 *
 * Crash safety. The head of a span is the only fact; bins, tails and the bin mask are
 * derived. Every change writes the new heads first and commits with one store of the head's
 * tag, so the heads, walked from page 0, always describe the whole data area with no
 * overlap: a split writes the remainder's head (inside the old span, so still covered) before
 * shrinking the old head; a merge grows the surviving head before clearing the absorbed one.
 * A page whose tag is NONE where a head should be is free space (a merge or a growth that
 * was interrupted). sk_pages_repair() walks the heads and rebuilds everything derived; a span
 * in flight (hdr->intent) when its holder died is given back, since the call never returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heap/heap.h"
#include "sys/sys.h"

#define NONE UINT32_MAX

static inline struct sk_heap_page *pg(struct shmkit_heap *h, uint32_t p)
{
	return &h->pages[p];
}

static inline uint32_t tag_of(struct shmkit_heap *h, uint32_t p)
{
	return sk_load_relaxed(&pg(h, p)->tag);
}

static inline void set_tag(struct shmkit_heap *h, uint32_t p, uint32_t kind, uint32_t sub)
{
	sk_store_relaxed(&pg(h, p)->tag, SK_TAG_NEXT(tag_of(h, p), kind, sub, 0, 0));
}

/* Data pages the allocator may hand out: what the header says, as far as it is mapped here
 * (a header claiming more than the file holds is not believed). */
static uint32_t total(struct shmkit_heap *h)
{
	sk_heap_sync(h);
	return sk_load_relaxed(&h->npages);
}

int sk_pages_lock(struct shmkit_heap *h)
{
	return sk_heap_lock(h, &h->hdr->pages_lock, sk_pages_repair, 0);
}

void sk_pages_unlock(struct shmkit_heap *h)
{
	sk_heap_unlock(&h->hdr->pages_lock);
}

/* ---- bins (derived) ---- */

static void bin_push(struct shmkit_heap *h, uint32_t p, uint32_t n)
{
	struct sk_heap_hdr *hdr = h->hdr;
	uint32_t b = sk_bin_of(n), head = sk_load_relaxed(&hdr->bins[b]);
	sk_store_relaxed(&pg(h, p)->prev, 0);
	sk_store_relaxed(&pg(h, p)->next, head);
	if (head && head - 1 < h->max_pages)
		sk_store_relaxed(&pg(h, head - 1)->prev, p + 1);
	sk_store_relaxed(&hdr->bins[b], p + 1);
	sk_store_relaxed(&hdr->bin_mask, sk_load_relaxed(&hdr->bin_mask) | (uint64_t)1 << b);
}

/* Unlink span p of n pages from its bin. -EBADMSG if the links do not agree (derived data
 * someone broke: the caller repairs). */
static int bin_unlink(struct shmkit_heap *h, uint32_t p, uint32_t n)
{
	struct sk_heap_hdr *hdr = h->hdr;
	uint32_t b = sk_bin_of(n);
	uint32_t prev = sk_load_relaxed(&pg(h, p)->prev), next = sk_load_relaxed(&pg(h, p)->next);
	if (prev > h->max_pages || next > h->max_pages)
		return -EBADMSG;
	if (prev ? sk_load_relaxed(&pg(h, prev - 1)->next) != p + 1
	         : sk_load_relaxed(&hdr->bins[b]) != p + 1)
		return -EBADMSG;
	if (next && sk_load_relaxed(&pg(h, next - 1)->prev) != p + 1)
		return -EBADMSG;
	if (prev)
		sk_store_relaxed(&pg(h, prev - 1)->next, next);
	else
		sk_store_relaxed(&hdr->bins[b], next);
	if (next)
		sk_store_relaxed(&pg(h, next - 1)->prev, prev);
	if (!sk_load_relaxed(&hdr->bins[b]))
		sk_store_relaxed(&hdr->bin_mask,
		                 sk_load_relaxed(&hdr->bin_mask) & ~((uint64_t)1 << b));
	sk_store_relaxed(&pg(h, p)->prev, 0);
	sk_store_relaxed(&pg(h, p)->next, 0);
	return 0;
}

/* A free span of at least n pages: 0 and *page, *len; -ENOMEM; -EBADMSG if a bin is broken. */
static int find(struct shmkit_heap *h, uint32_t n, uint32_t tot, uint32_t *page, uint32_t *len)
{
	uint64_t mask = sk_load_relaxed(&h->hdr->bin_mask) & (~(uint64_t)0 << sk_bin_of(n));
	while (mask) {
		uint32_t b = (uint32_t)__builtin_ctzll(mask);
		mask &= mask - 1;
		if (b >= SK_HEAP_BINS)
			return -EBADMSG;
		uint32_t e = sk_load_relaxed(&h->hdr->bins[b]);
		/* A list longer than the pages there are has a cycle in it. */
		for (uint32_t i = 0; e; i++) {
			uint32_t p = e - 1, t, k;
			if (p >= tot || i > tot)
				return -EBADMSG;
			t = tag_of(h, p);
			k = sk_load_relaxed(&pg(h, p)->npages);
			if (SK_TAG_KIND(t) != SK_PG_FREE || k == 0 || k > tot - p ||
			    sk_bin_of(k) != b)
				return -EBADMSG;
			if (k >= n) {
				*page = p;
				*len = k;
				return 0;
			}
			e = sk_load_relaxed(&pg(h, p)->next);
		}
	}
	return -ENOMEM;
}

/* Cut the first n pages off free span p of len pages; the rest goes back to a bin. */
static int split(struct shmkit_heap *h, uint32_t p, uint32_t len, uint32_t n)
{
	if (bin_unlink(h, p, len) < 0)
		return -EBADMSG;
	if (len > n) {
		uint32_t q = p + n, m = len - n;
		sk_store_relaxed(&pg(h, q)->npages, m);
		set_tag(h, q, SK_PG_FREE, 0);
		sk_store_relaxed(&pg(h, p + len - 1)->tail, m);
		bin_push(h, q, m);
	} else {
		sk_store_relaxed(&pg(h, p + len - 1)->tail, 0);
	}
	SK_CRASH_POINT();
	sk_store_relaxed(&pg(h, p)->npages, n); /* still FREE: the caller commits the tag */
	return 0;
}

/* Pages of the free span the data area ends with (0 if it ends otherwise). */
static uint32_t free_tail(struct shmkit_heap *h, uint32_t tot)
{
	uint32_t t = tot ? sk_load_relaxed(&pg(h, tot - 1)->tail) : 0;
	if (!t || t > tot || SK_TAG_KIND(tag_of(h, tot - t)) != SK_PG_FREE ||
	    sk_load_relaxed(&pg(h, tot - t)->npages) != t)
		return 0;
	return t;
}

/* Append pages to the heap so that a span of need pages fits (the new pages join a free span
 * the heap ends with), doubling where max_size allows. */
static int grow(struct shmkit_heap *h, uint32_t need)
{
	uint32_t old = sk_load_relaxed(&h->npages), tail = free_tail(h, old);
	need = need > tail ? need - tail : 1;
	if (h->attached || h->fd < 0 || old >= h->max_pages || need > h->max_pages - old)
		return -ENOMEM;
	uint32_t add = need > old ? need : old;
	if (add > h->max_pages - old)
		add = h->max_pages - old;
	uint64_t sys = sk_page_size();
	uint64_t size = SK_ALIGN_UP(sk_page_off(h, old + add), sys);
	uint64_t was = sk_load_relaxed(&h->hdr->size);
	struct stat st;
	if (fstat(h->fd, &st) < 0)
		return -ENOMEM;
	if ((uint64_t)st.st_size < size && ftruncate(h->fd, (off_t)size) < 0)
		return -ENOMEM;
	if (sk_heap_back(h->fd, h->data_off, old, old + add) < 0) {
		if (ftruncate(h->fd, (off_t)was) < 0) {
			/* The file stays longer than the heap: harmless, the next growth reuses it.
			 */
		}
		return -ENOMEM;
	}
	SK_CRASH_POINT();
	sk_store_release(&h->hdr->size, size); /* see BARRIER_H1 */
	SK_CRASH_POINT();
	int err = sk_heap_sync(h);
	if (err)
		return err;
	sk_pages_give(h, old, add);
	return 0;
}

int sk_pages_take(struct shmkit_heap *h, uint32_t n, int may_grow, uint32_t *page)
{
	for (int round = 0; round < 4; round++) {
		uint32_t tot = total(h), p, len;
		int err = n && n <= tot ? find(h, n, tot, &p, &len) : -ENOMEM;
		if (!err)
			err = split(h, p, len, n);
		if (!err) {
			*page = p;
			return 0;
		}
		if (err == -EBADMSG) {
			/* Derived data that does not add up, without a crash: someone wrote there.
			 */
			sk_heap_damaged(h);
			sk_pages_repair(h, 0);
			continue;
		}
		if (!may_grow || grow(h, n) < 0)
			return -ENOMEM;
	}
	return -ENOMEM;
}

void sk_pages_give(struct shmkit_heap *h, uint32_t p, uint32_t n)
{
	uint32_t tot = total(h);
	sk_store_relaxed(&pg(h, p)->npages, n);
	set_tag(h, p, SK_PG_FREE, 0); /* the commit: these pages are free from here on */
	SK_CRASH_POINT();
	uint32_t q = p + n;
	if (q < tot && SK_TAG_KIND(tag_of(h, q)) == SK_PG_FREE) {
		uint32_t m = sk_load_relaxed(&pg(h, q)->npages);
		if (m && m <= tot - q && bin_unlink(h, q, m) == 0) {
			sk_store_relaxed(&pg(h, p)->npages, n + m);
			SK_CRASH_POINT();
			set_tag(h, q, SK_PG_NONE, 0);
			sk_store_relaxed(&pg(h, q)->npages, 0);
			n += m;
		}
	}
	uint32_t t = p ? sk_load_relaxed(&pg(h, p - 1)->tail) : 0;
	if (t && t <= p && SK_TAG_KIND(tag_of(h, p - t)) == SK_PG_FREE &&
	    sk_load_relaxed(&pg(h, p - t)->npages) == t && bin_unlink(h, p - t, t) == 0) {
		sk_store_relaxed(&pg(h, p - t)->npages, t + n);
		sk_store_relaxed(&pg(h, p - 1)->tail, 0);
		SK_CRASH_POINT();
		set_tag(h, p, SK_PG_NONE, 0);
		sk_store_relaxed(&pg(h, p)->npages, 0);
		p -= t;
		n += t;
	}
	sk_store_relaxed(&pg(h, p + n - 1)->tail, n);
	bin_push(h, p, n);
}

/* ---- large allocations ---- */

int sk_large_alloc(struct shmkit_heap *h, uint32_t arena, size_t size, uint64_t *off)
{
	uint64_t n = ((uint64_t)size + SK_HEAP_PAGE - 1) >> SK_HEAP_PAGE_SHIFT;
	if (size > h->max_size || n > h->max_pages)
		return -ENOMEM;
	/* First without growing; if nothing fits, empty runs go back to the pages first. */
	for (int pass = 0; pass < 2; pass++) {
		uint32_t p;
		int err = sk_pages_lock(h);
		if (err)
			return err;
		err = sk_pages_take(h, (uint32_t)n, pass, &p);
		if (!err) {
			struct sk_heap_page *d = pg(h, p);
			sk_store_relaxed(&h->hdr->intent, p + 1);
			SK_CRASH_POINT();
			/* see BARRIER_H3: a lock-free free() reads arena after this tag */
			sk_store_release(&d->tag,
			                 SK_TAG_NEXT(tag_of(h, p), SK_PG_LARGE, 0, 0, arena));
			SK_CRASH_POINT();
			sk_store_relaxed(&h->hdr->intent, 0);
			sk_pages_unlock(h);
			*off = sk_page_off(h, p);
			memset(h->base + *off, 0, (size_t)n << SK_HEAP_PAGE_SHIFT);
			return 0;
		}
		sk_pages_unlock(h);
		if (err != -ENOMEM)
			return err;
		if (pass == 0)
			sk_sweep(h);
	}
	return -ENOMEM;
}

int sk_large_free(struct shmkit_heap *h, uint32_t p, int names)
{
	int err = sk_pages_lock(h);
	if (err)
		return err;
	uint32_t tot = total(h), t = tag_of(h, p), n = sk_load_relaxed(&pg(h, p)->npages);
	if (p >= tot || SK_TAG_KIND(t) != SK_PG_LARGE || !sk_arena_ok(SK_TAG_ARENA(t), names)) {
		err = -EINVAL;
	} else if (n == 0 || n > tot - p) {
		sk_heap_damaged(h);
		err = -EBADMSG;
	} else {
		sk_store_relaxed(&h->hdr->intent, p + 1);
		SK_CRASH_POINT();
		sk_pages_give(h, p, n);
		SK_CRASH_POINT();
		sk_store_relaxed(&h->hdr->intent, 0);
	}
	sk_pages_unlock(h);
	return err;
}

/* ---- repair ---- */

/* Inside a span that is not a run, no page is a head and none carries a tail. */
static void clear_inside(struct shmkit_heap *h, uint32_t from, uint32_t to)
{
	for (uint32_t q = from; q < to; q++) {
		if (SK_TAG_KIND(tag_of(h, q)) != SK_PG_NONE)
			set_tag(h, q, SK_PG_NONE, 0);
		if (sk_load_relaxed(&pg(h, q)->tail))
			sk_store_relaxed(&pg(h, q)->tail, 0);
	}
}

static void close_free(struct shmkit_heap *h, uint32_t from, uint32_t to)
{
	if (from == NONE)
		return;
	sk_store_relaxed(&pg(h, from)->npages, to - from);
	if (SK_TAG_KIND(tag_of(h, from)) != SK_PG_FREE)
		set_tag(h, from, SK_PG_FREE, 0);
	clear_inside(h, from + 1, to);
	sk_store_relaxed(&pg(h, to - 1)->tail, to - from);
	bin_push(h, from, to - from);
}

/* Length of the span whose head is p if its head adds up, else 0. */
static uint32_t head_len(struct shmkit_heap *h, uint32_t p, uint32_t tot)
{
	uint32_t t = tag_of(h, p), n = sk_load_relaxed(&pg(h, p)->npages);
	if (n == 0 || n > tot - p)
		return 0;
	if (SK_TAG_KIND(t) == SK_PG_RUN) {
		uint32_t c = SK_TAG_CLASS(t);
		return c < SK_HEAP_CLASSES && n == sk_classes[c].pages ? n : 0;
	}
	return SK_TAG_KIND(t) == SK_PG_FREE || SK_TAG_KIND(t) == SK_PG_LARGE ? n : 0;
}

void sk_pages_repair(struct shmkit_heap *h, uint32_t unused)
{
	struct sk_heap_hdr *hdr = h->hdr;
	uint32_t tot = total(h), fstart = NONE;
	(void)unused;
	for (uint32_t b = 0; b < SK_HEAP_BINS; b++)
		sk_store_relaxed(&hdr->bins[b], 0);
	sk_store_relaxed(&hdr->bin_mask, 0);
	SK_CRASH_POINT();
	for (uint32_t p = 0; p < tot;) {
		uint32_t kind = SK_TAG_KIND(tag_of(h, p)), n = head_len(h, p, tot);
		if (kind == SK_PG_NONE || kind == SK_PG_FREE) {
			n = n ? n : 1; /* NONE where a head should be: free space */
			if (fstart == NONE)
				fstart = p;
			p += n;
			continue;
		}
		close_free(h, fstart, p);
		fstart = NONE;
		if (!n) {
			/* A CONT without its run, or a head that does not add up: fence it off. */
			sk_store_relaxed(&pg(h, p)->npages, 1);
			sk_store_relaxed(&pg(h, p)->tag, SK_TAG_NEXT(tag_of(h, p), SK_PG_LARGE, 0,
			                                             0, SK_ARENA_FENCE));
			sk_store_relaxed(&pg(h, p)->tail, 0);
			sk_heap_damaged(h);
			p++;
			continue;
		}
		sk_store_relaxed(&pg(h, p)->tail, 0);
		if (kind == SK_PG_RUN) {
			for (uint32_t i = 1; i < n; i++) {
				sk_store_relaxed(&pg(h, p + i)->npages, i);
				if (SK_TAG_KIND(tag_of(h, p + i)) != SK_PG_CONT)
					set_tag(h, p + i, SK_PG_CONT, 0);
				sk_store_relaxed(&pg(h, p + i)->tail, 0);
			}
		} else {
			clear_inside(h, p + 1, p + n);
		}
		p += n;
	}
	close_free(h, fstart, tot);
	SK_CRASH_POINT();
	/* A span in flight when the holder died: the call never returned it, so it is free. */
	uint32_t e = sk_load_relaxed(&hdr->intent);
	uint32_t n = e && e - 1 < tot && SK_TAG_KIND(tag_of(h, e - 1)) == SK_PG_LARGE
	                 ? head_len(h, e - 1, tot)
	                 : 0;
	if (n)
		sk_pages_give(h, e - 1, n);
	sk_store_relaxed(&hdr->intent, 0);
}
