/* SPDX-License-Identifier: MIT */
/*
 * heap internals: the process-local handle and the functions the files of src/heap share.
 * The shared layout and the memory ordering block are in layout.h.
 */
#ifndef SHMKIT_HEAP_INTERNAL_H
#define SHMKIT_HEAP_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "heap/layout.h"
#include "internal/crash.h"
#include <shmkit/heap.h>

/*
 * The handle. One per shmkit_heap_create/open/attach call: each maps the heap anew (so two
 * handles of one heap in one process have different addresses; offsets are the same).
 * Several threads may use one handle at once.
 */
struct shmkit_heap {
	uint8_t *base;     /* offset 0 */
	size_t reserve;    /* bytes of address space reserved at base (max_size, page-rounded) */
	uint64_t max_size; /* these four are read once from the header at open, and checked */
	uint64_t data_off;
	uint32_t max_pages;
	uint32_t rdonly;            /* mapped read-only: nothing may be written */
	SK_ATOMIC(uint64_t) mapped; /* bytes of the object mapped at base (grows, never shrinks) */
	SK_ATOMIC(uint32_t) npages; /* data pages within mapped */
	SK_ATOMIC(uint32_t) arena;  /* arena hint for user allocations */
	int fd;                     /* the object; -1 when attached to caller's memory */
	uint32_t attached;          /* caller's memory: never mapped, grown or unmapped by us */
	pthread_mutex_t map_lock;   /* serialises growth of this handle's mapping */
	struct sk_heap_hdr *hdr;
	struct sk_heap_page *pages;
	struct shmkit_heap *list_prev, *list_next; /* every handle of the process (fork) */
	/* The cache (cache.c): one free block per small class, for one thread of the handle. */
	SK_ATOMIC(uintptr_t) cache_owner; /* pthread_self() of the thread using it, 0 = none */
	SK_ATOMIC(uint32_t) cache_tried;  /* a record was looked for (or may never be) */
	int carrier;                      /* the record's liveness token, -1 = none */
	struct sk_heap_cache *cache_rec;  /* our record in the header */
	uint64_t secret;                  /* hdr->cache_secret as read at open */
	uint64_t cached[SK_HEAP_CACHED];  /* our copy of the record: the one we trust */
	uint32_t cache_self;              /* our record's index */
	uint32_t contended;               /* BARRIER_H7 back-offs (a dead thief is looked for) */
	pthread_mutex_t cache_lock;       /* one sweep of the records at a time in this handle */
};

_Static_assert(SHMKIT_HEAP_MIN_SIZE == SK_HEAP_MIN_SIZE &&
                   SHMKIT_HEAP_MAX_SIZE == SK_HEAP_MAX_SIZE &&
                   SHMKIT_HEAP_NAME_MAX == SK_HEAP_NAME_MAX,
               "the public limits are the layout's");

/* ---- size classes (run.c) ---- */
struct sk_class {
	uint32_t size;  /* bytes of a slot */
	uint32_t recip; /* ceil(2^32 / size): slot = delta * recip >> 32, exact below 2^16 */
	uint16_t slots; /* slots of a run */
	uint8_t pages;  /* pages of a run: the fewest that hold 8 slots with at most 1/16 left */
	uint8_t pad;
};
extern const struct sk_class sk_classes[SK_HEAP_CLASSES] SK_HIDDEN;
/* The class of a small request (1 .. SK_HEAP_SMALL_MAX bytes). */
static inline uint32_t sk_class_of(size_t size)
{
	if (size <= 128)
		return (uint32_t)((size + 15) >> 4) - (size != 0);
	/* Four classes per doubling above 128: 160, 192, 224, 256, 320, ... */
	uint32_t x = (uint32_t)size - 1;
	uint32_t lg = 31u - (uint32_t)__builtin_clz(x);
	return 8u + (lg - 7u) * 4u + ((x >> (lg - 2u)) & 3u);
}

/* ---- geometry and mapping (heap.c) ---- */
static inline uint64_t sk_page_off(const struct shmkit_heap *h, uint32_t page)
{
	return h->data_off + ((uint64_t)page << SK_HEAP_PAGE_SHIFT);
}
/* The data page holding offset off, or UINT32_MAX if off is not in the data area. */
static inline uint32_t sk_page_of(const struct shmkit_heap *h, uint64_t off)
{
	if (off < h->data_off)
		return UINT32_MAX;
	uint64_t p = (off - h->data_off) >> SK_HEAP_PAGE_SHIFT;
	return p < h->max_pages ? (uint32_t)p : UINT32_MAX;
}
/* Data pages of a heap whose object is size bytes (0 if it is too small). */
uint32_t sk_heap_pages_in(uint64_t data_off, uint64_t size);
/* Extend the mapping to what the header says the heap has now (BARRIER_H1). 0 or -errno. */
int sk_heap_sync(struct shmkit_heap *h);
/* Make sure data page page is mapped (it may be new space another process added). */
static inline int sk_heap_have(struct shmkit_heap *h, uint32_t page)
{
	if (SK_LIKELY(page < sk_load_relaxed(&h->npages)))
		return 0;
	int err = sk_heap_sync(h);
	return err ? err : page < sk_load_relaxed(&h->npages) ? 0 : -EBADMSG;
}
/*
 * Back data pages [from, to) of the file and their descriptors (the header too when from is
 * 0), so that a full /dev/shm is -ENOSPC now and not a SIGBUS at some later first touch.
 * Descriptors of pages the heap does not have yet stay holes.
 */
int sk_heap_back(int fd, uint64_t data_off, uint32_t from, uint32_t to);
/* Mark damage found (and fenced off) in the shared header. */
void sk_heap_damaged(struct shmkit_heap *h);

/* ---- locks (heap.c): take a heap mutex, repairing what it guards after a dead holder ---- */
int sk_heap_lock(struct shmkit_heap *h, shmkit_mutex_t *m,
                 void (*repair)(struct shmkit_heap *, uint32_t), uint32_t arg);
void sk_heap_unlock(shmkit_mutex_t *m);

/* ---- the per-handle cache (cache.c; its fast paths are in fast.h) ---- */
/* Look for a cache record for the calling thread, once per handle (and after a fork). */
void sk_cache_claim(struct shmkit_heap *h);
/* The holder backed off (BARRIER_H7): now and then, see whether the thief is dead. */
void sk_cache_contended(struct shmkit_heap *h);
/* Does the block at off (a slot of run page) carry the cache's mark? It was freed into a
 * cache then, and is not free to free again (from then until it is handed out again). */
int sk_cache_marked(struct shmkit_heap *h, uint32_t page, uint64_t off);
#define SK_FREE_CACHED 2 /* sk_small_free's how: a cache gives a marked block back */
/* Is the block at off (size bytes, a slot of a run) in some cache, i.e. freed? */
int sk_cache_cached(struct shmkit_heap *h, uint64_t off, uint64_t size);
/* Give our cached blocks back, then the record too if release (close); else (before -ENOMEM)
 * also free what the records of dead handles hold, and take what live ones hold. */
void sk_cache_flush(struct shmkit_heap *h, int release);
/* The fork child: its handles' records are the parent's. */
void sk_cache_forget(struct shmkit_heap *h);
/* The blocks the records hold, sorted and unique, for the check (caller frees *out). */
int sk_cache_list(struct shmkit_heap *h, uint64_t **out, size_t *n);

/* ---- page allocator (pages.c) ---- */
/* The bin of a free span of n pages: exact up to 32 pages, then one per power of two. */
static inline uint32_t sk_bin_of(uint32_t n)
{
	return n <= 32 ? n - 1 : 32u + (31u - (uint32_t)__builtin_clz(n)) - 5u;
}
/* Is arena a one that a free of this kind may touch? Names-arena blocks are freed by unname. */
static inline int sk_arena_ok(uint32_t a, int names)
{
	return names ? a == SK_HEAP_NAMES_ARENA : a < SK_HEAP_ARENAS;
}
int sk_pages_lock(struct shmkit_heap *h);
void sk_pages_unlock(struct shmkit_heap *h);
/*
 * Under pages_lock: remove a free span of at least n pages from the bins, split off what is
 * not needed and return its head in *page, still tagged FREE with npages n; the caller writes
 * its fields and commits the tag. Grows the heap if may_grow and it may. -ENOMEM.
 */
int sk_pages_take(struct shmkit_heap *h, uint32_t n, int may_grow, uint32_t *page);
/* Under pages_lock: the span at page (tagged anything but FREE) becomes free and coalesces. */
void sk_pages_give(struct shmkit_heap *h, uint32_t page, uint32_t npages);
/* Recompute bins and tails from the heads; fence off what does not add up. pages_lock held. */
void sk_pages_repair(struct shmkit_heap *h, uint32_t unused);
/* Large allocations: whole pages, under pages_lock. */
int sk_large_alloc(struct shmkit_heap *h, uint32_t arena, size_t size, uint64_t *off);
int sk_large_free(struct shmkit_heap *h, uint32_t page, int names);

/* ---- runs of small slots (run.c) ---- */
/* Take a clear bit of a run's bitmap: the slot, or -1 if none (see take_bit in fast.h). */
int sk_take_bit(struct sk_heap_page *d, uint32_t slots);
int sk_small_alloc(struct shmkit_heap *h, uint32_t arena, uint32_t klass, uint64_t *off);
/* After a lock-free free into run p (tag t, class c, bitmap word) that is not current: relist
 * the run if it was full, retire it if it is empty now (fast.h has the free itself). */
void sk_small_freed(struct shmkit_heap *h, uint32_t p, uint32_t t, uint32_t c, uint32_t word);
/* Retire every empty run of every arena (before -ENOMEM). Takes the arena locks in turn, so
 * the caller holds none of them (names_lock is fine). Returns how many runs went. */
int sk_sweep(struct shmkit_heap *h);
void sk_arena_repair(struct shmkit_heap *h, uint32_t arena);
/* Slots in use in a run's bitmap (tail bits excluded). */
uint32_t sk_run_used(struct sk_heap_page *d, uint32_t klass);

/* ---- allocation entry points shared with names.c (alloc.c) ---- */
/* Allocate size zeroed bytes in arena (any arena, names arena included). */
int sk_heap_alloc_in(struct shmkit_heap *h, uint32_t arena, size_t size, uint64_t *off);
/* Free a user allocation (names 0) or a names-arena one (names 1); -EINVAL if off is not
 * the start of such an allocation. */
int sk_heap_free_in(struct shmkit_heap *h, int names, uint64_t off);
/* What off is: 0 and *size (usable bytes) and *arena if an allocation, else -EINVAL. */
int sk_heap_block(struct shmkit_heap *h, uint64_t off, uint64_t *size, uint32_t *arena);

/* ---- named objects (names.c) ---- */
void sk_names_repair(struct shmkit_heap *h, uint32_t unused);
/* The object's offset in a named block of a name of len bytes. */
static inline uint64_t sk_names_obj(uint64_t block, size_t len)
{
	return block + SK_ALIGN_UP((uint64_t)len + 1, 16);
}
struct sk_names_snap {
	char name[SK_HEAP_NAME_MAX + 1];
	uint64_t off, size;
};
/* A copy of every entry (malloc'ed, *n of them). Lock-free readers get a consistent one or
 * -EAGAIN; writable handles take the lock. */
int sk_names_snapshot(struct shmkit_heap *h, struct sk_names_snap **out, size_t *n);

/* The sorted offsets of every block the name table refers to (the table included), and how
 * many entries did not check out. */
int sk_names_refs(struct shmkit_heap *h, uint64_t **refs, size_t *n, uint64_t *bad);
int sk_names_referenced(const uint64_t *refs, size_t n, uint64_t off);

/* ---- check (check.c) ---- */
int sk_heap_check(struct shmkit_heap *h, struct shmkit_heap_report *r, int locked);

#endif
