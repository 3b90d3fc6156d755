/* SPDX-License-Identifier: MIT */
/*
 * heap: the layout of a heap object in shared memory (heap.h has the process-local side).
 *
 * A heap is one shared object, mapped at any address in each process; everything in it is
 * found by offsets from its start. Layout (fixed; the same for 32- and 64-bit processes):
 *
 *   [0, 8192)                 struct sk_heap_hdr  magic, version (written last), geometry,
 *                             the page allocator, the name table, 17 arenas
 *   [8192, data_off)          struct sk_heap_page x max_pages: one descriptor per data page
 *                             (sized for max_size at creation; tmpfs backs only what is touched)
 *   [data_off, size)          data pages of SK_HEAP_PAGE bytes; size grows up to max_size
 *
 * Every data page is covered by a *span* of whole pages whose first page (the head) says what
 * the span is:
 *
 *   FREE   free pages, in a bin of the page allocator (its last page repeats the length: tail)
 *   LARGE  one allocation of npages pages (requests above SK_HEAP_SMALL_MAX)
 *   RUN    run_pages[klass] pages cut into slots of one size class, with an allocation bitmap
 *          in the head's descriptor; the other pages of the run are CONT (npages = distance
 *          back to the head)
 *
 * Pages inside a span other than a run's are NONE. Facts and caches: the facts are each
 * head's tag and npages, a run's klass, arena and bitmap, a LARGE span's arena, and each
 * name entry. Derived from them, and recomputed by the repairs after a process died holding a
 * lock: the bins and their mask, free-span tails, partial-run lists, the name count and the
 * sequence word's parity.
 *
 * Locks (robust shmkit_mutex_t, taken in this order):
 *   names_lock   the name table, and allocations of the names arena (SK_HEAP_NAMES_ARENA)
 *   arena lock   which run is current per class, the arena's partial-run lists, run state
 *   pages_lock   spans: splitting, coalescing, bins, growth
 * Small allocations and frees take no lock on their fast path: a slot is taken by setting its
 * bit and given back by clearing it, one atomic read-modify-write each (BARRIER_H2). A process
 * killed between any two instructions therefore leaves either the old or the new bit; at worst
 * the slot of the interrupted call stays set with nobody holding its offset (a leak). Before
 * both, a handle's cache (struct sk_heap_cache) may keep a freed small block for its next
 * allocation: no atomic read-modify-write at all, the same worst case (BARRIER_H7).
 *
 * Memory ordering
 * ===============
 * Each pair is named once here; call sites say "see BARRIER_Hn".
 *
 * BARRIER_H1  publication. The creator writes the whole header, then magic, then the version
 *             with a release store; openers acquire-load the version before reading anything
 *             else. Growth publishes hdr->size with a release store after the file is bigger
 *             and the new pages are a span; a process that acquire-loads the new size maps
 *             the new range and may then use its descriptors.
 *
 * BARRIER_H2  slot ownership. free's fetch_and clearing a slot's bit (release, part of its
 *             seq_cst) pairs with the next allocator's fetch_or setting it (acquire): the
 *             freer's accesses to the slot happen before the new owner zeroes it.
 *
 * BARRIER_H3  run publication. A run's klass, arena and bitmap are written before its tag
 *             (release store); arena->current[c] is stored (release) after that. The
 *             allocator's acquire loads of current[c] and of the tag pair with them, so the
 *             fields it reads next belong to the run it found.
 *
 * BARRIER_H4  retiring an empty run vs a late allocator (Dekker, store-buffering). The
 *             allocator sets a bit (seq_cst RMW) and then re-reads the tag (seq_cst); the
 *             retirer moves the tag to RETIRING (seq_cst store) and then reads every bitmap
 *             word (seq_cst). In the single total order either the retirer sees the bit (and
 *             keeps the run), or the allocator sees RETIRING or a new incarnation (and gives
 *             the bit back: "untake"). Bitmaps live in descriptors, never in user memory, so
 *             a late allocator's bit and its undo touch metadata only, whatever the page has
 *             become since.
 *
 * BARRIER_H5  a full run vs a free into it (Dekker). The allocator that found no free slot
 *             stores sub FULL (seq_cst) and then rescans the bitmap (seq_cst); the freer
 *             clears its bit (seq_cst RMW) and then reads the tag (seq_cst). Either the rescan
 *             sees the free slot (the run stays current), or the freer sees FULL and puts the
 *             run on its arena's partial list under the arena lock. No free slot is stranded.
 *
 * BARRIER_H6  the name table's sequence word (a seqlock). A writer, holding names_lock,
 *             makes the word odd (relaxed store, then a release fence), changes entries
 *             (relaxed atomic stores), and makes it even with a release store. A reader
 *             acquire-loads an even value, reads entries (relaxed atomic loads), issues an
 *             acquire fence and reloads the word: equal means nothing it read was changing.
 *
 * tests/heap/model has Promela models of BARRIER_H4, BARRIER_H5 and BARRIER_H7 (spin checks
 * them, and catches a broken variant of each ordering).
 *
 * Everything else in the heap is written under one of the locks, whose acquire/release
 * (BARRIER_1/2 of src/sync/sync.h) order it. Lock-free readers (the fast paths, the
 * inspection) read descriptor fields with relaxed atomic loads and validate every value
 * before using it, so a torn or stale view costs a retry or an error, never a wild access.
 */
#ifndef SHMKIT_HEAP_LAYOUT_H
#define SHMKIT_HEAP_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "internal/atomic.h"
#include "internal/compiler.h"
#include <shmkit/sync.h>

#define SK_HEAP_MAGIC   0x50414548u /* "HEAP" */
#define SK_HEAP_VERSION 2u          /* 2: cache records (a version-1 library would not see them) */

#define SK_HEAP_PAGE       4096u
#define SK_HEAP_PAGE_SHIFT 12
#define SK_HEAP_HDR_SIZE   8192u
#define SK_HEAP_DESC_SIZE  64u
#define SK_HEAP_MIN_SIZE   (SK_HEAP_HDR_SIZE + 2u * SK_HEAP_PAGE) /* one data page */
#define SK_HEAP_MAX_SIZE   ((uint64_t)1 << 40)

#define SK_HEAP_CLASSES   27
#define SK_HEAP_SMALL_MAX 3584u
#define SK_HEAP_RUN_PAGES 8u   /* a run has fewer pages than this */
#define SK_HEAP_SLOTS     256u /* slots per run at most: the bitmap's bits */
#define SK_HEAP_WORDS     (SK_HEAP_SLOTS / 64)

#define SK_HEAP_ARENAS      16u            /* arenas of user allocations */
#define SK_HEAP_NAMES_ARENA SK_HEAP_ARENAS /* named objects and the name table */
#define SK_HEAP_NARENAS     (SK_HEAP_ARENAS + 1)
#define SK_HEAP_BINS        64u
#define SK_HEAP_CACHED      6u  /* classes a handle caches a free block of (16 .. 96 bytes) */
#define SK_HEAP_CACHES      48u /* cache records: handles that cache at once */
#define SK_HEAP_THIEVES     8u  /* thief slots: sweeps that take from live caches at once */

#define SK_HEAP_NAME_MAX 255u

/* sk_heap_page.tag: kind (4 bits) | sub (4) | class (5) | arena (5) | generation (14) */
#define SK_PG_NONE  0u /* inside a span, not its head (or a page nobody has described yet) */
#define SK_PG_FREE  1u
#define SK_PG_LARGE 2u
#define SK_PG_RUN   3u
#define SK_PG_CONT  4u /* a run's page after the first */

/* Run sub-states: which list the run is on. Only the arena lock holder changes them. */
#define SK_RUN_CURRENT  1u /* arena->current[klass]: allocated from without a lock */
#define SK_RUN_PARTIAL  2u /* on the arena's partial list: has free slots */
#define SK_RUN_FULL     3u /* on no list: no free slot when last looked at */
#define SK_RUN_RETIRING 4u /* being turned back into free pages (BARRIER_H4) */

#define SK_TAG(kind, sub, klass, arena, gen)                                                       \
	((kind) | (sub) << 4 | (klass) << 8 | (arena) << 13 | ((gen)&0x3fffu) << 18)
#define SK_TAG_KIND(t)        ((t)&0xfu)
#define SK_TAG_SUB(t)         (((t) >> 4) & 0xfu)
#define SK_TAG_CLASS(t)       (((t) >> 8) & 0x1fu)
#define SK_TAG_ARENA(t)       (((t) >> 13) & 0x1fu)
#define SK_TAG_GEN(t)         ((t) >> 18)
#define SK_TAG_SUB_MASK       0xf0u
#define SK_TAG_INCARNATION(t) ((t) & ~SK_TAG_SUB_MASK) /* all but the sub-state */
/* The next incarnation of a page whose tag was t: the generation counts kind changes. */
#define SK_TAG_NEXT(t, kind, sub, klass, arena) SK_TAG(kind, sub, klass, arena, SK_TAG_GEN(t) + 1)
#define SK_ARENA_FENCE                          31u /* the arena of pages a repair fenced off: never handed out */
/* kind, class and arena: whose the page is, without its state or generation */
#define SK_TAG_OWNER_MASK 0x3ff0fu

/* hdr->flags */
#define SK_HEAP_F_ATTACHED 0x1u /* formatted in caller's memory (e.g. a SysV segment): fixed */

/*
 * One descriptor per data page. Read without locks by the fast paths and the inspection, so
 * every field is atomic (relaxed unless a barrier says otherwise). The tag holds everything
 * the fast paths need in one word: kind, run state, the run's class, the arena of a run or a
 * large span (SK_ARENA_FENCE for pages a repair fenced off), and a generation.
 */
struct sk_heap_page {
	SK_ATOMIC(uint32_t) tag;    /* SK_TAG(kind, sub, klass, arena, gen) */
	SK_ATOMIC(uint32_t) npages; /* head: pages of the span; CONT: distance back to the head */
	SK_ATOMIC(uint32_t) prev;   /* FREE: bin list; RUN: partial list (page + 1, 0 = none) */
	SK_ATOMIC(uint32_t) next;
	SK_ATOMIC(uint32_t) tail; /* last page of a FREE span: the span's length (derived) */
	uint32_t reserved[3];     /* zero */
	SK_ATOMIC(uint64_t) bits[SK_HEAP_WORDS]; /* RUN: slot i taken <=> bit i; zero otherwise */
};
SK_ASSERT_SIZE(struct sk_heap_page, SK_HEAP_DESC_SIZE);
SK_ASSERT_OFFSET(struct sk_heap_page, npages, 4);
SK_ASSERT_OFFSET(struct sk_heap_page, prev, 8);
SK_ASSERT_OFFSET(struct sk_heap_page, tail, 16);
SK_ASSERT_OFFSET(struct sk_heap_page, bits, 32);
_Static_assert(SK_HEAP_CLASSES <= 32 && SK_HEAP_NARENAS < SK_ARENA_FENCE, "tag fields");

/* One arena: 256 bytes, four cache lines of its own. */
struct sk_heap_arena {
	shmkit_mutex_t lock;
	SK_ATOMIC(uint32_t) current[SK_HEAP_CLASSES]; /* page + 1 of the current run, 0 = none */
	SK_ATOMIC(uint32_t) partial[SK_HEAP_CLASSES]; /* head of the partial list (page + 1) */
	SK_ATOMIC(uint64_t) repairs;                  /* repairs of this arena's lists */
	uint8_t reserved[256 - 240];
};
SK_ASSERT_SIZE(struct sk_heap_arena, 256);
SK_ASSERT_OFFSET(struct sk_heap_arena, current, 16);
SK_ASSERT_OFFSET(struct sk_heap_arena, partial, 124);
SK_ASSERT_OFFSET(struct sk_heap_arena, repairs, 232);

/*
 * One named object: one cache line. Entries are read by lock-free readers (BARRIER_H6), so
 * every field is atomic. The first 40 bytes of the name are kept here too, so that a lookup
 * of a name that short touches this line only.
 */
#define SK_HEAP_NAME_HEAD 5 /* words of the name kept in the entry */
struct sk_heap_name {
	SK_ATOMIC(uint32_t) hash;  /* 0 = empty entry (real hashes are never 0) */
	SK_ATOMIC(uint32_t) len;   /* name length, 1..SK_HEAP_NAME_MAX */
	SK_ATOMIC(uint64_t) block; /* the allocation: the name, NUL-padded to 16, then the object */
	SK_ATOMIC(uint64_t) size;  /* the object's size as asked */
	SK_ATOMIC(uint64_t) head[SK_HEAP_NAME_HEAD]; /* the name's first bytes, NUL-padded */
};
SK_ASSERT_SIZE(struct sk_heap_name, 64);
SK_ASSERT_OFFSET(struct sk_heap_name, block, 8);
SK_ASSERT_OFFSET(struct sk_heap_name, size, 16);
SK_ASSERT_OFFSET(struct sk_heap_name, head, 24);

/*
 * A handle's cache record: the free blocks of classes 0 .. SK_HEAP_CACHED-1 (16 .. 96 bytes)
 * that one handle keeps for its next allocation of that class, one per class (0 = none). A
 * cached block stays taken in its run's bitmap, so nobody else can be handed it; its first
 * 16 bytes hold the heap's cache_secret and its own offset (the mark: the block was freed),
 * so that another free of it (a double free) is refused, also while a thief gives it back. The
 * record belongs to whoever holds the liveness token at the record's own byte of the file (an OFD
 * lock, which the kernel drops when the holder dies); whoever takes the token of a dead holder
 * frees the blocks it left.
 *
 *   cache a block   magic into the block, then the record entry    (killed between: the block
 *   reuse a block   the record entry cleared, then the block zeroed  of that call is leaked)
 *   give back       the record entry exchanged for 0, then the bit cleared
 *
 * The holder keeps its own copy of the record and uses an entry only while the record agrees
 * with it. Its thread changes entries with plain stores; anyone else only takes them away,
 * with an atomic exchange, and only after winning BARRIER_H7 against the holder's takes (a
 * holder's store into an empty entry needs no such care: nobody else makes one non-empty):
 *
 * BARRIER_H7  a thief (a sweep before -ENOMEM in any process, which must free cached blocks
 *             of live handles too) vs the holder taking a block (asymmetric Dekker,
 *             sys/fence.c). The holder stores busy = 1, then loads steal; only if steal is 0
 *             does it load the entry and clear it, then it stores busy = 0 (release). The
 *             thief CASes steal from 0 (or from the mark of a thief that is gone) to its own
 *             mark, runs membarrier (a full barrier on every CPU of a registered process:
 *             handles cache only in registered processes), then loads busy; only if busy is 0
 *             does it exchange entries, then it clears its mark. Either the holder sees steal
 *             and backs off (allocating the ordinary way), or the thief sees busy and skips
 *             the record, or one of them runs after the other's stores are visible. A mark is
 *             a thief slot + 1 and that slot's generation: the thief holds the slot's
 *             liveness token for its sweep, so a mark whose slot token is free or whose
 *             generation has moved on is a dead thief's, and anyone may clear it.
 */
struct sk_heap_cache {
	SK_ATOMIC(uint64_t) block[SK_HEAP_CACHED];
	SK_ATOMIC(uint64_t) busy;  /* the holder is changing block[] (BARRIER_H7) */
	SK_ATOMIC(uint64_t) steal; /* a thief's mark while it empties this one, 0 none */
};
SK_ASSERT_SIZE(struct sk_heap_cache, 64);

struct sk_heap_hdr {
	SK_ATOMIC(uint32_t) magic;
	SK_ATOMIC(uint32_t) version;    /* written last at creation: see BARRIER_H1 */
	uint32_t page_size;             /* SK_HEAP_PAGE */
	uint32_t hdr_size;              /* SK_HEAP_HDR_SIZE: the descriptor table follows */
	uint64_t max_size;              /* bytes the object may grow to */
	SK_ATOMIC(uint64_t) size;       /* bytes of the object now (BARRIER_H1) */
	uint64_t data_off;              /* first data page */
	uint32_t max_pages;             /* data pages at max_size: descriptors in the table */
	uint32_t flags;                 /* SK_HEAP_F_* */
	SK_ATOMIC(uint32_t) next_arena; /* round robin of the arenas given to new handles */
	uint32_t narenas;               /* SK_HEAP_ARENAS */
	int64_t created;                /* CLOCK_REALTIME seconds */
	/* page allocator, under pages_lock */
	shmkit_mutex_t pages_lock;
	SK_ATOMIC(uint64_t) bin_mask;           /* bit b: bins[b] is not empty (derived) */
	SK_ATOMIC(uint32_t) bins[SK_HEAP_BINS]; /* free spans by length (derived): page + 1 */
	SK_ATOMIC(uint32_t) intent;  /* page + 1 of a span being handed out under pages_lock */
	SK_ATOMIC(uint32_t) damage;  /* inconsistencies repairs found and fenced off (sticky) */
	SK_ATOMIC(uint64_t) repairs; /* repairs after a dead lock holder, all locks together */
	/* named objects, under names_lock */
	shmkit_mutex_t names_lock;
	SK_ATOMIC(uint32_t) names_seq;   /* seqlock word, odd while entries change (BARRIER_H6) */
	SK_ATOMIC(uint32_t) names_count; /* entries in use (derived) */
	SK_ATOMIC(uint64_t) names_table; /* offset of the entry array, 0 = none yet */
	SK_ATOMIC(uint32_t) names_cap;   /* entries in the array: a power of two */
	uint32_t pad0;
	uint64_t cache_secret; /* random, odd: marks cached blocks (0: this heap never caches) */
	uint8_t reserved[512 - 408];
	struct sk_heap_arena arenas[SK_HEAP_NARENAS];
	struct sk_heap_cache caches[SK_HEAP_CACHES];
	SK_ATOMIC(uint64_t) thieves[SK_HEAP_THIEVES]; /* a thief slot's generation (BARRIER_H7) */
	uint8_t reserved2[SK_HEAP_HDR_SIZE - 512 - SK_HEAP_NARENAS * 256 - SK_HEAP_CACHES * 64 -
	                  SK_HEAP_THIEVES * 8];
};
SK_ASSERT_SIZE(struct sk_heap_hdr, SK_HEAP_HDR_SIZE);
SK_ASSERT_OFFSET(struct sk_heap_hdr, max_size, 16);
SK_ASSERT_OFFSET(struct sk_heap_hdr, size, 24);
SK_ASSERT_OFFSET(struct sk_heap_hdr, created, 56);
SK_ASSERT_OFFSET(struct sk_heap_hdr, pages_lock, 64);
SK_ASSERT_OFFSET(struct sk_heap_hdr, bin_mask, 80);
SK_ASSERT_OFFSET(struct sk_heap_hdr, bins, 88);
SK_ASSERT_OFFSET(struct sk_heap_hdr, intent, 344);
SK_ASSERT_OFFSET(struct sk_heap_hdr, repairs, 352);
SK_ASSERT_OFFSET(struct sk_heap_hdr, names_lock, 360);
SK_ASSERT_OFFSET(struct sk_heap_hdr, names_table, 384);
SK_ASSERT_OFFSET(struct sk_heap_hdr, names_cap, 392);
SK_ASSERT_OFFSET(struct sk_heap_hdr, cache_secret, 400);
SK_ASSERT_OFFSET(struct sk_heap_hdr, arenas, 512);
SK_ASSERT_OFFSET(struct sk_heap_hdr, caches, 4864);
SK_ASSERT_OFFSET(struct sk_heap_hdr, thieves, 7936);

#endif
