/* SPDX-License-Identifier: MIT */
/*
 * Compiled twice by check.sh (tests/sync/tests.cmake), with -m32 and with -m64, freestanding:
 * every structure that lives in shared memory has the same size and the same offset of every
 * field in a 32-bit and a 64-bit process. The headers' own asserts (src/sync/sync.h, the
 * heap's src/heap/layout.h, the channel's src/chan/chan.h) hold in both; the asserts below name
 * every field of the heap's and the channel's shared structs that those headers leave out,
 * with the same constants for both classes.
 */
#include "chan/chan.h"
#include "heap/layout.h"
#include "shmkit/heap.h"
#include "sync/sync.h"

#if LAYOUT_BITS == 32
_Static_assert(sizeof(void *) == 4, "this compile is meant for a 32-bit target");
#elif LAYOUT_BITS == 64
_Static_assert(sizeof(void *) == 8, "this compile is meant for a 64-bit target");
#else
#error "LAYOUT_BITS must be 32 or 64"
#endif

_Static_assert(sizeof(SHMKIT_RELPTR(int)) == 8 && _Alignof(SHMKIT_RELPTR(int)) == 8,
               "relptr layout");

/* Shared structs holding 64-bit words are 8-aligned in both classes (i386 aligns a plain
 * uint64_t member to 4), so that arrays of them and structs embedding them agree. */
#define ALIGN8(type) _Static_assert(_Alignof(type) == 8, #type " must be 8-aligned")

/* ---- channels (src/chan/chan.h): the ring file's header, participants, slots ---- */

ALIGN8(struct sk_chan_hdr);
SK_ASSERT_OFFSET(struct sk_chan_hdr, magic, 0);
SK_ASSERT_OFFSET(struct sk_chan_hdr, version, 4);
SK_ASSERT_OFFSET(struct sk_chan_hdr, kind, 8);
SK_ASSERT_OFFSET(struct sk_chan_hdr, nparts, 12);
SK_ASSERT_OFFSET(struct sk_chan_hdr, msg_size, 16);
SK_ASSERT_OFFSET(struct sk_chan_hdr, capacity, 24);
SK_ASSERT_OFFSET(struct sk_chan_hdr, slot_size, 32);
SK_ASSERT_OFFSET(struct sk_chan_hdr, mode, 36);
SK_ASSERT_OFFSET(struct sk_chan_hdr, slots_off, 40);
SK_ASSERT_OFFSET(struct sk_chan_hdr, size, 48);
SK_ASSERT_OFFSET(struct sk_chan_hdr, ctime, 56);
SK_ASSERT_OFFSET(struct sk_chan_hdr, rx_owner, 324);
SK_ASSERT_OFFSET(struct sk_chan_hdr, ever_senders, 328);
SK_ASSERT_OFFSET(struct sk_chan_hdr, nredo, 332);
SK_ASSERT_OFFSET(struct sk_chan_hdr, abandoned, 336);
SK_ASSERT_OFFSET(struct sk_chan_hdr, start, 344);
SK_ASSERT_OFFSET(struct sk_chan_hdr, opens, 352);
SK_ASSERT_OFFSET(struct sk_chan_hdr, leaves, 360);
SK_ASSERT_OFFSET(struct sk_chan_hdr, reserved, 384 + 8 * SK_CHAN_REDO);

ALIGN8(struct sk_chan_part);
SK_ASSERT_OFFSET(struct sk_chan_part, state, 0);
SK_ASSERT_OFFSET(struct sk_chan_part, role, 4);
SK_ASSERT_OFFSET(struct sk_chan_part, pid, 8);
SK_ASSERT_OFFSET(struct sk_chan_part, uid, 12);
SK_ASSERT_OFFSET(struct sk_chan_part, start, 16);
SK_ASSERT_OFFSET(struct sk_chan_part, comm, 24);
SK_ASSERT_OFFSET(struct sk_chan_part, hold, 48);
SK_ASSERT_OFFSET(struct sk_chan_part, cursor, 56);
SK_ASSERT_OFFSET(struct sk_chan_part, lost, 64);
SK_ASSERT_OFFSET(struct sk_chan_part, abandoned, 72);
SK_ASSERT_OFFSET(struct sk_chan_part, count, 80);
SK_ASSERT_OFFSET(struct sk_chan_part, unused, 88);
SK_ASSERT_OFFSET(struct sk_chan_part, reserved, 92);

ALIGN8(struct sk_chan_slot);
SK_ASSERT_OFFSET(struct sk_chan_slot, seq, 0);
SK_ASSERT_OFFSET(struct sk_chan_slot, len, 8);
SK_ASSERT_OFFSET(struct sk_chan_slot, writer, 12);

/* The file's regions and the tokens' bytes of "live" (an off_t: 64-bit in both classes). */
_Static_assert(SK_CHAN_HDR == 4096 && SK_CHAN_PARTS == 64 && SK_CHAN_SLOTS == 12288,
               "channel ring regions");
_Static_assert(SK_CHAN_TOKEN(0) == 1 << 20 && SK_CHAN_REAP_TOKEN == (1 << 20) + 64,
               "channel liveness token bytes");
_Static_assert(SK_CHAN_SIZE_MAX == (uint64_t)1 << 32 && SK_CHAN_MSG_MAX == 1u << 30,
               "channel bounds");

/* ---- heaps (src/heap/layout.h): the header, arenas, page descriptors, name entries ---- */

ALIGN8(struct sk_heap_page);
SK_ASSERT_OFFSET(struct sk_heap_page, tag, 0);
SK_ASSERT_OFFSET(struct sk_heap_page, next, 12);
SK_ASSERT_OFFSET(struct sk_heap_page, reserved, 20);

ALIGN8(struct sk_heap_arena);
SK_ASSERT_OFFSET(struct sk_heap_arena, lock, 0);
SK_ASSERT_OFFSET(struct sk_heap_arena, reserved, 240);

ALIGN8(struct sk_heap_name);
SK_ASSERT_OFFSET(struct sk_heap_name, hash, 0);
SK_ASSERT_OFFSET(struct sk_heap_name, len, 4);

ALIGN8(struct sk_heap_hdr);
SK_ASSERT_OFFSET(struct sk_heap_hdr, magic, 0);
SK_ASSERT_OFFSET(struct sk_heap_hdr, version, 4);
SK_ASSERT_OFFSET(struct sk_heap_hdr, page_size, 8);
SK_ASSERT_OFFSET(struct sk_heap_hdr, hdr_size, 12);
SK_ASSERT_OFFSET(struct sk_heap_hdr, data_off, 32);
SK_ASSERT_OFFSET(struct sk_heap_hdr, max_pages, 40);
SK_ASSERT_OFFSET(struct sk_heap_hdr, flags, 44);
SK_ASSERT_OFFSET(struct sk_heap_hdr, next_arena, 48);
SK_ASSERT_OFFSET(struct sk_heap_hdr, narenas, 52);
SK_ASSERT_OFFSET(struct sk_heap_hdr, damage, 348);
SK_ASSERT_OFFSET(struct sk_heap_hdr, names_seq, 376);
SK_ASSERT_OFFSET(struct sk_heap_hdr, names_count, 380);
SK_ASSERT_OFFSET(struct sk_heap_hdr, pad0, 396);
SK_ASSERT_OFFSET(struct sk_heap_hdr, cache_secret, 400);
SK_ASSERT_OFFSET(struct sk_heap_hdr, reserved, 408);
SK_ASSERT_OFFSET(struct sk_heap_hdr, caches, 512 + 17 * 256);
SK_ASSERT_OFFSET(struct sk_heap_hdr, thieves, 512 + 17 * 256 + 48 * 64);
SK_ASSERT_OFFSET(struct sk_heap_hdr, reserved2, 512 + 17 * 256 + 48 * 64 + 8 * 8);
SK_ASSERT_SIZE(struct sk_heap_cache, 64);
