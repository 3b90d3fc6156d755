/* SPDX-License-Identifier: MIT */
/*
 * What the 32/64-bit tests and their helper (helper_m32, built for both classes) share: the
 * layout of the shared area that holds the synchronization objects, of the structs the heap
 * tests put in a heap and of the crash log, the same for 32- and 64-bit processes (asserted),
 * the hash of the channel tests' messages, and the words of the helper's command protocol
 * (tests/m32/README.md).
 */
#ifndef SHMKIT_M32PROTO_H
#define SHMKIT_M32PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "shmkit.h"

/* The shared area: one object of each kind, then plain words the scenarios use. */
struct m32_area {
	shmkit_mutex_t m;
	shmkit_cond_t c;
	shmkit_sem_t s;
	shmkit_event_t e;
	uint32_t flag;    /* the condition the cond waiters wait for (under m) */
	uint32_t inside;  /* 1 while a holder of m is in its critical section */
	uint64_t counter; /* incremented under m */
	uint8_t data[4096 - 80];
};
#define M32_AREA_SIZE 4096
_Static_assert(sizeof(struct m32_area) == M32_AREA_SIZE, "m32_area: 4096 bytes");
_Static_assert(offsetof(struct m32_area, c) == 16, "m32_area.c at 16");
_Static_assert(offsetof(struct m32_area, e) == 48, "m32_area.e at 48");
_Static_assert(offsetof(struct m32_area, flag) == 64, "m32_area.flag at 64");
_Static_assert(offsetof(struct m32_area, counter) == 72, "m32_area.counter at 72");

/*
 * Channels: a receiver reports the sum (mod 2^64) of this hash over the messages it got (the
 * messages are tests/chan/chanmsg.h's: sender, sequence number, length, checksum); the test
 * compares it with the sum over what was sent, so that a lost, doubled or changed message
 * shows.
 */
static inline uint64_t m32_msg_hash(unsigned sender, uint32_t seq)
{
	uint64_t x = ((uint64_t)sender << 32 | seq) + 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/*
 * Heaps: a list linked with SHMKIT_RELPTR, rooted in a named object, that both classes push
 * onto and walk (each node knows its own offset, so a walker checks where a relptr led).
 */
struct m32_node {
	SHMKIT_RELPTR(struct m32_node) next;
	uint64_t self;  /* the node's offset in the heap */
	uint64_t value; /* what the pusher put there */
	uint64_t pad;
};
_Static_assert(sizeof(struct m32_node) == 32, "m32_node: 32 bytes");
_Static_assert(offsetof(struct m32_node, value) == 16, "m32_node.value at 16");
struct m32_list {
	SHMKIT_RELPTR(struct m32_node) head;
	uint64_t count, sum;                /* nodes pushed and their values' sum */
	SHMKIT_RELPTR(uint64_t) last_value; /* the newest node's value field */
};
_Static_assert(sizeof(struct m32_list) == 32, "m32_list: 32 bytes");
_Static_assert(offsetof(struct m32_list, last_value) == 24, "m32_list.last_value at 24");

/*
 * Heaps, kill -9 at a crash point: the killed process logs every block it completed in the
 * area's data (it survives the kill); the repairing process checks them.
 */
struct m32_block {
	uint64_t off, usable, seed;
	uint32_t live, named; /* named: the object "crash-SEED" */
};
_Static_assert(sizeof(struct m32_block) == 32, "m32_block: 32 bytes");
#define M32_BLOCKS ((M32_AREA_SIZE - 80 - 8) / sizeof(struct m32_block))
struct m32_heaplog {
	uint32_t n; /* entries complete */
	uint32_t pad;
	struct m32_block b[M32_BLOCKS];
};
_Static_assert(sizeof(struct m32_heaplog) <= sizeof(((struct m32_area *)0)->data),
               "the heap log fits the area");

/* Replies: "ok ...", "err ENAME", "skip why", "bad why" (a check inside the helper failed). */
#define M32_OK   "ok"
#define M32_ERR  "err"
#define M32_SKIP "skip"
#define M32_BAD  "bad"

#endif
