/* SPDX-License-Identifier: MIT */
/*
 * heap: runs of small slots, the lock-free fast path of small allocations.
 *
 * A run is a span of 1..7 pages cut into slots of one size class (16 .. 3584 bytes, four
 * classes per doubling above 128), with a 256-bit allocation bitmap in its head's descriptor.
 * Each arena has one current run per class. Allocating takes the first clear bit of the
 * current run with one fetch_or; freeing clears the bit with one fetch_and. Neither takes a
 * lock, and the bitmap is the only fact either changes, so a process killed anywhere in them
 * leaves the slot either taken or free (a taken slot whose offset nobody received is the one
 * leak a crash can cause).
 *
 * The arena lock is taken only to change lists:
 *
 *   current run has no free slot   refill: mark it FULL (BARRIER_H5), make the next partial
 *                                  run current, or cut a new run from the page allocator
 *   free into a FULL run           put it on the partial list (BARRIER_H5)
 *   free empties a PARTIAL run     retire it: its pages go back to the page allocator
 *                                  (BARRIER_H4)
 *   nothing fits anywhere          sweep: retire every empty run, current ones included
 *
 * A process that allocates on the fast path may have read the current run before that run
 * was retired and its descriptor reused: it re-reads the tag after setting its bit and gives
 * the bit back unless the run is the one it read (same incarnation: kind and generation).
 * Bitmaps are only ever changed by single-bit read-modify-writes of their owner (a new run's
 * tail bits are ORed in, a retired run's ANDed out), so such a late bit and its undo never
 * disturb anyone else's bit. Slot indexes are checked against the class's slot count before
 * use, which also heals a tail bit an undo cleared.
 */
#include <errno.h>
#include <string.h>

#include "heap/fast.h"

#define NONE   UINT32_MAX
#define ROUNDS 8 /* refills of one allocation before it gives up (each hands out a slot) */

#define CLASS(size, pages, slots)                                                                  \
	{                                                                                          \
		(size), (uint32_t)((0x100000000ull + (size)-1) / (size)), (slots), (pages), 0      \
	}
const struct sk_class sk_classes[SK_HEAP_CLASSES] = {
    CLASS(16, 1, 256), CLASS(32, 1, 128), CLASS(48, 1, 85),  CLASS(64, 1, 64),  CLASS(80, 1, 51),
    CLASS(96, 1, 42),  CLASS(112, 1, 36), CLASS(128, 1, 32), CLASS(160, 1, 25), CLASS(192, 1, 21),
    CLASS(224, 1, 18), CLASS(256, 1, 16), CLASS(320, 1, 12), CLASS(384, 1, 10), CLASS(448, 1, 9),
    CLASS(512, 1, 8),  CLASS(640, 2, 12), CLASS(768, 2, 10), CLASS(896, 2, 9),  CLASS(1024, 2, 8),
    CLASS(1280, 3, 9), CLASS(1536, 3, 8), CLASS(1792, 4, 9), CLASS(2048, 4, 8), CLASS(2560, 5, 8),
    CLASS(3072, 6, 8), CLASS(3584, 7, 8),
};

uint32_t sk_run_used(struct sk_heap_page *d, uint32_t klass)
{
	uint32_t slots = sk_classes[klass].slots, n = 0;
	for (uint32_t w = 0; w < (slots + 63) / 64; w++) /* seq_cst: BARRIER_H4 and H5 */
		n +=
		    (uint32_t)__builtin_popcountll(atomic_load(&d->bits[w]) & ~tail_bits(slots, w));
	return n;
}

/* ---- lists, under the arena lock ---- */

static int arena_lock(struct shmkit_heap *h, uint32_t a)
{
	return sk_heap_lock(h, &h->hdr->arenas[a].lock, sk_arena_repair, a);
}

static void arena_unlock(struct shmkit_heap *h, uint32_t a)
{
	sk_heap_unlock(&h->hdr->arenas[a].lock);
}

static void set_sub(struct sk_heap_page *d, uint32_t sub)
{
	uint32_t t = sk_load_relaxed(&d->tag);
	atomic_store(&d->tag, (t & ~SK_TAG_SUB_MASK) | sub << 4); /* seq_cst: H4, H5 */
}

static void partial_push(struct shmkit_heap *h, uint32_t a, uint32_t c, uint32_t p)
{
	SK_ATOMIC(uint32_t) *head = &h->hdr->arenas[a].partial[c];
	uint32_t e = sk_load_relaxed(head);
	sk_store_relaxed(&h->pages[p].prev, 0);
	sk_store_relaxed(&h->pages[p].next, e);
	if (e && e - 1 < h->max_pages)
		sk_store_relaxed(&h->pages[e - 1].prev, p + 1);
	sk_store_relaxed(head, p + 1);
}

/* Unlink run p from its partial list; -EBADMSG if the links disagree. */
static int partial_remove(struct shmkit_heap *h, uint32_t a, uint32_t c, uint32_t p)
{
	SK_ATOMIC(uint32_t) *head = &h->hdr->arenas[a].partial[c];
	uint32_t prev = sk_load_relaxed(&h->pages[p].prev),
	         next = sk_load_relaxed(&h->pages[p].next);
	if (prev > h->max_pages || next > h->max_pages)
		return -EBADMSG;
	if (prev ? sk_load_relaxed(&h->pages[prev - 1].next) != p + 1
	         : sk_load_relaxed(head) != p + 1)
		return -EBADMSG;
	if (next && sk_load_relaxed(&h->pages[next - 1].prev) != p + 1)
		return -EBADMSG;
	if (prev)
		sk_store_relaxed(&h->pages[prev - 1].next, next);
	else
		sk_store_relaxed(head, next);
	if (next)
		sk_store_relaxed(&h->pages[next - 1].prev, prev);
	sk_store_relaxed(&h->pages[p].prev, 0);
	sk_store_relaxed(&h->pages[p].next, 0);
	return 0;
}

/* A new run of class c for arena a, tagged CURRENT (BARRIER_H3): its page, or -errno. */
static int new_run(struct shmkit_heap *h, uint32_t a, uint32_t c, int may_grow)
{
	uint32_t k = sk_classes[c].pages, slots = sk_classes[c].slots, p;
	int err = sk_pages_lock(h);
	if (err)
		return err;
	err = sk_pages_take(h, k, may_grow, &p);
	if (!err) {
		struct sk_heap_page *d = &h->pages[p];
		for (uint32_t w = 0; w < SK_HEAP_WORDS; w++)
			if (tail_bits(slots, w))
				atomic_fetch_or_explicit(&d->bits[w], tail_bits(slots, w),
				                         memory_order_relaxed);
		for (uint32_t i = 1; i < k; i++) {
			sk_store_relaxed(&h->pages[p + i].npages, i);
			uint32_t t = sk_load_relaxed(&h->pages[p + i].tag);
			sk_store_relaxed(&h->pages[p + i].tag, SK_TAG_NEXT(t, SK_PG_CONT, 0, 0, 0));
		}
		SK_CRASH_POINT();
		uint32_t t = sk_load_relaxed(&d->tag);
		/* see BARRIER_H3: the bitmap above is published with the tag */
		sk_store_release(&d->tag, SK_TAG_NEXT(t, SK_PG_RUN, SK_RUN_CURRENT, c, a));
	}
	sk_pages_unlock(h);
	return err ? err : (int)p;
}

/*
 * Under the arena lock: give empty run p back to the page allocator. 1 if it went, 0 if a
 * slot turned out to be taken after all (by a late allocator: BARRIER_H4).
 */
static int retire(struct shmkit_heap *h, uint32_t a, uint32_t c, uint32_t p)
{
	struct sk_heap_page *d = &h->pages[p];
	uint32_t t = sk_load_relaxed(&d->tag), k = sk_classes[c].pages, slots = sk_classes[c].slots;
	uint32_t tot = sk_load_relaxed(&h->npages);
	if (sk_load_relaxed(&d->npages) != k || p >= tot || k > tot - p)
		return 0;            /* not a run that adds up: the pages repair's business */
	set_sub(d, SK_RUN_RETIRING); /* see BARRIER_H4 */
	if (sk_run_used(d, c) || sk_pages_lock(h)) {
		sk_store_relaxed(&d->tag, t);
		return 0;
	}
	SK_CRASH_POINT();
	if (SK_TAG_SUB(t) == SK_RUN_PARTIAL)
		partial_remove(h, a, c, p);
	if (sk_load_relaxed(&h->hdr->arenas[a].current[c]) == p + 1)
		sk_store_relaxed(&h->hdr->arenas[a].current[c], 0);
	for (uint32_t w = 0; w < SK_HEAP_WORDS; w++)
		if (tail_bits(slots, w))
			atomic_fetch_and_explicit(&d->bits[w], ~tail_bits(slots, w),
			                          memory_order_relaxed);
	for (uint32_t i = 1; i < k; i++) {
		uint32_t ti = sk_load_relaxed(&h->pages[p + i].tag);
		sk_store_relaxed(&h->pages[p + i].tag, SK_TAG_NEXT(ti, SK_PG_NONE, 0, 0, 0));
		sk_store_relaxed(&h->pages[p + i].npages, 0);
	}
	SK_CRASH_POINT();
	sk_pages_give(h, p, k); /* the commit: the head becomes FREE */
	sk_pages_unlock(h);
	return 1;
}

/*
 * Under the arena lock: the current run has no free slot. Mark it FULL, then look again
 * (BARRIER_H5): 1 if it really is full (and is current no more), 0 if a free arrived.
 */
static int mark_full(struct shmkit_heap *h, uint32_t a, uint32_t c, uint32_t p)
{
	struct sk_heap_page *d = &h->pages[p];
	set_sub(d, SK_RUN_FULL);
	if (sk_run_used(d, c) < sk_classes[c].slots) {
		set_sub(d, SK_RUN_CURRENT);
		return 0;
	}
	sk_store_relaxed(&h->hdr->arenas[a].current[c], 0);
	return 1;
}

/* Under the arena lock: the first valid run of the partial list, unlinked; or NONE. */
static uint32_t partial_pop(struct shmkit_heap *h, uint32_t a, uint32_t c)
{
	for (int repaired = 0;; repaired++) {
		uint32_t e = sk_load_relaxed(&h->hdr->arenas[a].partial[c]), p = e - 1;
		if (!e)
			return NONE;
		if (p < h->max_pages) {
			struct sk_heap_page *d = &h->pages[p];
			uint32_t t = sk_load_relaxed(&d->tag);
			if (is_run_of(t, a, c) && SK_TAG_SUB(t) == SK_RUN_PARTIAL &&
			    partial_remove(h, a, c, p) == 0)
				return p;
		}
		if (repaired)
			return NONE;
		/* Derived data that does not add up: rebuild the arena's lists from the runs. */
		sk_heap_damaged(h);
		sk_arena_repair(h, a);
	}
}

/* Under the arena lock: the run to allocate from, made current if it was not. create: 0 use
 * only existing runs, 1 cut a new one if needed, 2 and grow the heap for it. */
static int install(struct shmkit_heap *h, uint32_t a, uint32_t c, int create)
{
	SK_ATOMIC(uint32_t) *cur = &h->hdr->arenas[a].current[c];
	uint32_t e = sk_load_relaxed(cur), p = e - 1;
	if (e && p < h->max_pages) {
		uint32_t t = sk_load_relaxed(&h->pages[p].tag);
		if (is_run_of(t, a, c) && SK_TAG_SUB(t) == SK_RUN_CURRENT)
			return (int)p;
	}
	if (e)
		sk_store_relaxed(cur, 0); /* not a current run of ours: corrupt, forget it */
	p = partial_pop(h, a, c);
	if (p != NONE) {
		set_sub(&h->pages[p], SK_RUN_CURRENT);
	} else {
		int r = create ? new_run(h, a, c, create > 1) : -ENOMEM;
		if (r < 0)
			return r;
		p = (uint32_t)r;
	}
	sk_store_release(cur, p + 1); /* see BARRIER_H3 */
	return (int)p;
}

/* The slow path: take the arena lock, find a run with a free slot, and take one there. */
static int refill(struct shmkit_heap *h, uint32_t a, uint32_t c, int create, uint64_t *off)
{
	int err = arena_lock(h, a);
	if (err)
		return err;
	for (int i = 0; i < ROUNDS; i++) {
		err = install(h, a, c, create);
		if (err < 0)
			break;
		uint32_t p = (uint32_t)err;
		/* Under the lock no retire can happen: whatever bit we get is a slot of this run.
		 */
		int slot = take_bit(&h->pages[p], sk_classes[c].slots);
		if (slot >= 0) {
			arena_unlock(h, a);
			return hand_out(h, &h->pages[p], p, c, (uint32_t)slot, off);
		}
		mark_full(h, a, c, p);
		err = -ENOMEM;
	}
	arena_unlock(h, a);
	return err;
}

static int alloc_slow(struct shmkit_heap *h, uint32_t a, uint32_t c, uint64_t *off)
{
	int r = refill(h, a, c, 1, off);
	if (r != -ENOMEM)
		return r;
	/* Nothing without growing: first give every empty run back, then grow. */
	sk_sweep(h);
	r = refill(h, a, c, 2, off);
	if (r != -ENOMEM || a == SK_HEAP_NAMES_ARENA)
		return r;
	/* Other arenas may still have free slots of this class. */
	for (uint32_t i = 1; i < SK_HEAP_ARENAS && r == -ENOMEM; i++)
		r = refill(h, (a + i) % SK_HEAP_ARENAS, c, 0, off);
	return r;
}

int sk_take_bit(struct sk_heap_page *d, uint32_t slots)
{
	for (uint32_t w = 0; w < (slots + 63) / 64; w++) {
		uint64_t x = sk_load_relaxed(&d->bits[w]);
		/* At most 64 tries a word, so that frees racing with us cannot keep us here. */
		for (int tries = 0; x != ~(uint64_t)0 && tries < 64; tries++) {
			uint32_t b = (uint32_t)__builtin_ctzll(~x);
			uint64_t m = (uint64_t)1 << b;
			/* seq_cst: acquire for BARRIER_H2, and the store half of BARRIER_H4 */
			if (!(atomic_fetch_or(&d->bits[w], m) & m)) {
				if (SK_LIKELY(w * 64 + b < slots))
					return (int)(w * 64 + b);
				/* A tail bit an undo cleared: set again now, and not a slot. */
			}
			x = sk_load_relaxed(&d->bits[w]) | m;
		}
	}
	return -1;
}

int sk_small_alloc(struct shmkit_heap *h, uint32_t a, uint32_t c, uint64_t *off)
{
	for (int i = 0; i < 4; i++) {
		int r = sk_small_alloc_fast(h, a, c, off);
		if (r != -EAGAIN)
			return r;
	}
	return alloc_slow(h, a, c, off);
}

/* ---- free ---- */

/* After a free into a run that is not current: relist it, or retire it if it is empty. */
static void after_free(struct shmkit_heap *h, uint32_t a, uint32_t c, uint32_t p, uint32_t seen)
{
	if (arena_lock(h, a))
		return; /* the slot is free; only its run's list entry waits for a repair */
	struct sk_heap_page *d = &h->pages[p];
	uint32_t t = sk_load_relaxed(&d->tag);
	if (SK_TAG_INCARNATION(t) == SK_TAG_INCARNATION(seen)) {
		uint32_t used = sk_run_used(d, c);
		if (SK_TAG_SUB(t) == SK_RUN_FULL && used < sk_classes[c].slots) {
			set_sub(d, SK_RUN_PARTIAL);
			partial_push(h, a, c, p);
		} else if (SK_TAG_SUB(t) == SK_RUN_PARTIAL && used == 0) {
			retire(h, a, c, p);
		}
	}
	arena_unlock(h, a);
}

void sk_small_freed(struct shmkit_heap *h, uint32_t p, uint32_t t, uint32_t c, uint32_t word)
{
	struct sk_heap_page *d = &h->pages[p];
	uint32_t a = SK_TAG_ARENA(t), sub = SK_TAG_SUB(atomic_load(&d->tag)); /* H5 */
	if (a >= SK_HEAP_NARENAS)
		return;
	/* A word that looks empty may be the last: after_free looks at the whole run. */
	if (sub == SK_RUN_FULL ||
	    (sub == SK_RUN_PARTIAL &&
	     !(sk_load_relaxed(&d->bits[word]) & ~tail_bits(sk_classes[c].slots, word))))
		after_free(h, a, c, p, t);
}

/* ---- sweep and repair ---- */

/* Under the arena lock: retire the empty runs of class c, current and partial. */
static int sweep_class(struct shmkit_heap *h, uint32_t a, uint32_t c)
{
	int n = 0;
	uint32_t e = sk_load_relaxed(&h->hdr->arenas[a].current[c]);
	if (e && e - 1 < h->max_pages) {
		struct sk_heap_page *d = &h->pages[e - 1];
		uint32_t t = sk_load_relaxed(&d->tag);
		if (is_run_of(t, a, c) && SK_TAG_SUB(t) == SK_RUN_CURRENT && !sk_run_used(d, c))
			n += retire(h, a, c, e - 1);
	}
	e = sk_load_relaxed(&h->hdr->arenas[a].partial[c]);
	for (uint32_t i = 0; e && i <= h->max_pages; i++) {
		uint32_t p = e - 1;
		if (p >= h->max_pages)
			break;
		struct sk_heap_page *d = &h->pages[p];
		uint32_t t = sk_load_relaxed(&d->tag);
		if (!is_run_of(t, a, c) || SK_TAG_SUB(t) != SK_RUN_PARTIAL)
			break; /* the list is broken: the next repair rebuilds it */
		e = sk_load_relaxed(&d->next);
		if (!sk_run_used(d, c))
			n += retire(h, a, c, p);
	}
	return n;
}

int sk_sweep(struct shmkit_heap *h)
{
	int n = 0;
	if (!sk_load_relaxed(&h->cache_tried))
		sk_cache_claim(
		    h);       /* a record, and so a carrier to take dead holders' records with */
	sk_cache_flush(h, 0); /* cached blocks keep their runs from being retired */
	for (uint32_t a = 0; a < SK_HEAP_NARENAS; a++) {
		if (arena_lock(h, a))
			continue;
		for (uint32_t c = 0; c < SK_HEAP_CLASSES; c++)
			n += sweep_class(h, a, c);
		arena_unlock(h, a);
	}
	return n;
}

/* Under the arena lock: put run p (not current) on the right list for what it holds. */
static void relist(struct shmkit_heap *h, uint32_t a, uint32_t c, uint32_t p)
{
	struct sk_heap_page *d = &h->pages[p];
	set_sub(d, SK_RUN_FULL); /* see BARRIER_H5: a free from now on relists it itself */
	if (sk_run_used(d, c) < sk_classes[c].slots) {
		set_sub(d, SK_RUN_PARTIAL);
		partial_push(h, a, c, p);
	}
}

void sk_arena_repair(struct shmkit_heap *h, uint32_t a)
{
	struct sk_heap_arena *ar = &h->hdr->arenas[a];
	sk_heap_sync(h);
	uint32_t tot = sk_load_relaxed(&h->npages);
	for (uint32_t c = 0; c < SK_HEAP_CLASSES; c++)
		sk_store_relaxed(&ar->partial[c], 0);
	SK_CRASH_POINT();
	for (uint32_t p = 0; p < tot; p++) {
		struct sk_heap_page *d = &h->pages[p];
		uint32_t t = sk_load_relaxed(&d->tag), c = SK_TAG_CLASS(t);
		if (SK_TAG_KIND(t) != SK_PG_RUN || SK_TAG_ARENA(t) != a || c >= SK_HEAP_CLASSES ||
		    sk_load_relaxed(&d->npages) != sk_classes[c].pages)
			continue; /* not a run of ours (or not one at all: the pages repair's
			             business) */
		if (sk_load_relaxed(&ar->current[c]) == p + 1)
			set_sub(d, SK_RUN_CURRENT);
		else
			relist(h, a, c, p);
	}
	SK_CRASH_POINT();
	for (uint32_t c = 0; c < SK_HEAP_CLASSES; c++) {
		uint32_t e = sk_load_relaxed(&ar->current[c]);
		if (!e)
			continue;
		struct sk_heap_page *d = e - 1 < tot ? &h->pages[e - 1] : NULL;
		if (!d || !is_run_of(sk_load_relaxed(&d->tag), a, c) ||
		    SK_TAG_SUB(sk_load_relaxed(&d->tag)) != SK_RUN_CURRENT)
			sk_store_relaxed(&ar->current[c], 0);
	}
	atomic_fetch_add_explicit(&ar->repairs, 1, memory_order_relaxed);
}
