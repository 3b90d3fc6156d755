/* SPDX-License-Identifier: MIT */
/*
 * heap: the fast paths of small allocations and frees, inline, for the entry points in
 * alloc.c and the slow paths in run.c. See run.c for the protocol, layout.h for the barriers.
 */
#ifndef SHMKIT_HEAP_FAST_H
#define SHMKIT_HEAP_FAST_H

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "heap/heap.h"

#define SK_NONE UINT32_MAX

/* Bits of bitmap word w that are not slots of a run with that many slots. */
static inline uint64_t tail_bits(uint32_t slots, uint32_t w)
{
	uint32_t lo = w * 64;
	if (slots >= lo + 64)
		return 0;
	return slots <= lo ? ~(uint64_t)0 : ~(uint64_t)0 << (slots - lo);
}

/*
 * Take the first free slot: its index, or -1 if none. Inline for the common case, a clear
 * bit in the first word that nobody takes first; sk_take_bit (run.c) does the rest. The RMW's
 * result is only tested for the one bit (x86: lock bts, no compare-and-swap loop).
 */
static inline int take_bit(struct sk_heap_page *d, uint32_t slots)
{
	uint64_t x = sk_load_relaxed(&d->bits[0]);
	if (SK_LIKELY(x != ~(uint64_t)0)) {
		uint32_t b = (uint32_t)__builtin_ctzll(~x);
		uint64_t m = (uint64_t)1 << b;
		/* seq_cst: acquire for BARRIER_H2, and the store half of BARRIER_H4 */
		if (SK_LIKELY(!(atomic_fetch_or(&d->bits[0], m) & m) && b < slots))
			return (int)b;
	}
	return sk_take_bit(d, slots);
}

static inline void untake(struct sk_heap_page *d, uint32_t slot)
{
	atomic_fetch_and(&d->bits[slot / 64], ~((uint64_t)1 << (slot % 64)));
}

static inline int is_run_of(uint32_t t, uint32_t a, uint32_t c)
{
	return (t & SK_TAG_OWNER_MASK) == SK_TAG(SK_PG_RUN, 0, c, a, 0);
}

/*
 * Still the run whose tag was t, and not being retired? (BARRIER_H4, the load half.) The tag
 * holds the class and arena, so even a generation that wrapped around can only leave us a
 * slot of a live run of the same class and arena: a slot like any other.
 */
static inline int same_run(struct sk_heap_page *d, uint32_t t)
{
	uint32_t now = atomic_load(&d->tag);
	return SK_TAG_INCARNATION(now) == SK_TAG_INCARNATION(t) &&
	       SK_TAG_SUB(now) != SK_RUN_RETIRING;
}

/*
 * Zero a slot (16-aligned, a multiple of 16 bytes). For the smallest classes a few vector
 * stores cost less than the call to memset; the empty asm keeps the compiler from turning the
 * loop back into that call.
 */
static inline void zero_slot(void *p, uint32_t size)
{
	typedef uint64_t v16 __attribute__((vector_size(16), may_alias));
	if (size > 256) {
		memset(p, 0, size);
		return;
	}
	for (v16 *v = p, *end = (v16 *)((char *)p + size); v < end; v++) {
		*v = (v16){0, 0};
		__asm__("" : : "r"(v) : "memory");
	}
}

static inline int hand_out(struct shmkit_heap *h, struct sk_heap_page *d, uint32_t p, uint32_t c,
                           uint32_t slot, uint64_t *off)
{
	/* The run may be in space another process added: map it before touching it. */
	if (SK_UNLIKELY(sk_heap_have(h, p + sk_classes[c].pages - 1) < 0)) {
		untake(d, slot);
		return -EBADMSG;
	}
	uint64_t o = sk_page_off(h, p) + (uint64_t)slot * sk_classes[c].size;
	zero_slot(h->base + o, sk_classes[c].size);
	*off = o;
	return 0;
}

/*
 * Take a slot of the arena's current run without a lock: 0 and *off, or -EAGAIN when the
 * slow path must run (no current run, it is full, or it was being retired under us).
 */
static inline int sk_small_alloc_fast(struct shmkit_heap *h, uint32_t a, uint32_t c, uint64_t *off)
{
	uint32_t e = sk_load_acquire(&h->hdr->arenas[a].current[c]); /* see BARRIER_H3 */
	uint32_t p = e - 1;
	if (SK_UNLIKELY(p >= h->max_pages))
		return -EAGAIN;
	struct sk_heap_page *d = &h->pages[p];
	uint32_t t = sk_load_acquire(&d->tag); /* see BARRIER_H3 */
	if (SK_UNLIKELY((t & (SK_TAG_OWNER_MASK | SK_TAG_SUB_MASK)) !=
	                SK_TAG(SK_PG_RUN, SK_RUN_CURRENT, c, a, 0)))
		return -EAGAIN;
	int slot = take_bit(d, sk_classes[c].slots);
	if (SK_UNLIKELY(slot < 0))
		return -EAGAIN;
	if (SK_LIKELY(same_run(d, t)))
		return hand_out(h, d, p, c, (uint32_t)slot, off);
	untake(d, (uint32_t)slot); /* retired meanwhile: BARRIER_H4 */
	return -EAGAIN;
}

/* The head of the run covering page, if page is a RUN or CONT page of a run that adds up,
 * with its tag and (checked) class; else SK_NONE. */
static inline uint32_t sk_run_head(struct shmkit_heap *h, uint32_t page, uint32_t *tag,
                                   uint32_t *klass)
{
	uint32_t t = sk_load_acquire(&h->pages[page].tag); /* see BARRIER_H3 */
	uint32_t head = page, back = 0;
	if (SK_UNLIKELY(SK_TAG_KIND(t) == SK_PG_CONT)) {
		back = sk_load_relaxed(&h->pages[page].npages);
		if (back == 0 || back >= SK_HEAP_RUN_PAGES || back > page)
			return SK_NONE;
		head = page - back;
		t = sk_load_acquire(&h->pages[head].tag); /* see BARRIER_H3 */
	}
	uint32_t c = SK_TAG_CLASS(t);
	if (SK_TAG_KIND(t) != SK_PG_RUN || c >= SK_HEAP_CLASSES ||
	    (back && back >= sk_classes[c].pages))
		return SK_NONE;
	*tag = t;
	*klass = c;
	return head;
}

/*
 * The slot at off of run p (tag t and class c as sk_run_head checked them): its bitmap word
 * and bit, or -EINVAL if off is not a slot of it, or the run is another kind's (names vs user).
 */
static inline int sk_small_slot(struct shmkit_heap *h, uint32_t p, uint32_t t, uint32_t c,
                                uint64_t off, int names, uint64_t *bit)
{
	if (!sk_arena_ok(SK_TAG_ARENA(t), names))
		return -EINVAL;
	uint64_t delta = off - sk_page_off(h, p);
	if (delta >= (uint64_t)sk_classes[c].pages << SK_HEAP_PAGE_SHIFT)
		return -EINVAL;
	uint32_t slot = (uint32_t)((delta * sk_classes[c].recip) >> 32);
	if ((uint64_t)slot * sk_classes[c].size != delta || slot >= sk_classes[c].slots)
		return -EINVAL; /* inside a slot, or in the run's tail */
	*bit = (uint64_t)1 << (slot % 64);
	return (int)(slot / 64);
}

/* The first two words of a block, where a cached block carries its mark. */
static inline SK_ATOMIC(uint64_t) * sk_mark_of(struct shmkit_heap *h, uint64_t off)
{
	return (SK_ATOMIC(uint64_t) *)(void *)(h->base + off);
}

/*
 * Free the slot at off of run p (tag t and class c as sk_run_head checked them). -EINVAL if
 * off is not a taken slot of it, or the run is another kind's (names vs user), or the block
 * carries the cache's mark (it was freed into a cache: freed already). how: 0 a user's
 * free, 1 a named object's, SK_FREE_CACHED a cache giving a marked block back.
 */
static inline int sk_small_free(struct shmkit_heap *h, uint32_t p, uint32_t t, uint32_t c,
                                uint64_t off, int how)
{
	struct sk_heap_page *d = &h->pages[p];
	uint64_t m;
	int w = sk_small_slot(h, p, t, c, off, how == 1, &m);
	if (w < 0)
		return w;
	if (how == 0 && c < SK_HEAP_CACHED && SK_UNLIKELY(sk_cache_marked(h, p, off)))
		return -EINVAL;
	/* seq_cst: release for BARRIER_H2, and the store half of BARRIER_H5 (x86: lock btr) */
	if (!(atomic_fetch_and(&d->bits[w], ~m) & m))
		return -EINVAL; /* not taken: a double free */
	SK_CRASH_POINT();
	if (SK_UNLIKELY(SK_TAG_SUB(atomic_load(&d->tag)) != SK_RUN_CURRENT)) /* BARRIER_H5 */
		sk_small_freed(h, p, t, c, (uint32_t)w);
	return 0;
}

/* ---- the handle's cache (cache.c has the rest) ---- */

/* A number that names the calling thread among the process's live threads (never 0): its
 * thread pointer where the compiler reads it in one instruction. */
static inline uintptr_t sk_thread_self(void)
{
#if defined(__has_builtin)
#if __has_builtin(__builtin_thread_pointer) &&                                                     \
    (defined(__x86_64__) || defined(__i386__) || defined(__aarch64__))
	return (uintptr_t)__builtin_thread_pointer();
#define SK_HAVE_THREAD_POINTER 1
#endif
#endif
#ifndef SK_HAVE_THREAD_POINTER
	return (uintptr_t)pthread_self();
#endif
}

/* May the calling thread use h's cache? */
static inline int sk_cache_mine(struct shmkit_heap *h)
{
	return sk_load_relaxed(&h->cache_owner) == sk_thread_self();
}

/* BARRIER_H7, the holder's half: may the caching thread change its record's entries now? */
static inline int sk_cache_enter(struct shmkit_heap *h)
{
	struct sk_heap_cache *r = h->cache_rec;
	sk_store_relaxed(&r->busy, 1);
	atomic_signal_fence(memory_order_seq_cst); /* the thief's membarrier is the fence */
	if (SK_LIKELY(!sk_load_relaxed(&r->steal)))
		return 1;
	sk_store_release(&r->busy, 0); /* BARRIER_H7: the thief's acquire of busy */
	sk_cache_contended(h);
	return 0;
}

static inline void sk_cache_leave(struct shmkit_heap *h)
{
	/* BARRIER_H7: our entries before it; pairs with the thief's acquire of busy */
	sk_store_release(&h->cache_rec->busy, 0);
}

/* A cached block of class c for the caching thread: 0 and *off, or -EAGAIN. */
static inline int sk_cache_get(struct shmkit_heap *h, uint32_t c, uint64_t *off)
{
	uint64_t o = h->cached[c];
	if (!o || !sk_cache_enter(h))
		return -EAGAIN;
	struct sk_heap_cache *r = h->cache_rec;
	if (SK_UNLIKELY(sk_load_relaxed(&r->block[c]) != o)) {
		sk_cache_leave(h); /* a thief took it (or someone wrote the record) */
		h->cached[c] = 0;
		return -EAGAIN;
	}
	sk_store_relaxed(&r->block[c], 0); /* first: see struct sk_heap_cache */
	sk_cache_leave(h);
	h->cached[c] = 0;
	SK_CRASH_POINT();
	zero_slot(h->base + o, sk_classes[c].size);
	*off = o;
	return 0;
}

/*
 * The caching thread frees off, a taken slot of run p of class c < SK_HEAP_CACHED (checked):
 * keep it for the next allocation of its class. 0, -EINVAL (in a cache already: a double
 * free), or -EAGAIN when the class's place is taken (the caller frees it for real).
 */
static inline int sk_cache_keep(struct shmkit_heap *h, uint32_t p, uint32_t c, uint64_t off)
{
	if (SK_UNLIKELY(sk_heap_have(h, p) < 0))
		return -EAGAIN;
	SK_ATOMIC(uint64_t) *mark = sk_mark_of(h, off);
	if (SK_UNLIKELY(sk_load_relaxed(&mark[0]) == h->secret) && sk_load_relaxed(&mark[1]) == off)
		return -EINVAL; /* freed into a cache (and maybe being given back): a double free */
	/* No BARRIER_H7 here: a thief only ever takes an entry away (exchanging it for 0), so an
	 * empty place stays empty until this store, and a block stored there may be taken at once
	 * (the next get sees the record disagree with our copy). */
	struct sk_heap_cache *r = h->cache_rec;
	if (sk_load_relaxed(&r->block[c]))
		return -EAGAIN; /* the place is taken (by our block, or by a writer's) */
	sk_store_relaxed(&mark[0], h->secret);
	sk_store_relaxed(&mark[1], off);
	SK_CRASH_POINT();
	/* release: whoever takes the block from the record (a thief's exchange) sees what the
	 * user wrote in it before this free (BARRIER_H2's chain goes on through its free) */
	sk_store_release(&r->block[c], off);
	h->cached[c] = off;
	return 0;
}

#endif
