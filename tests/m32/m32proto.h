/* SPDX-License-Identifier: MIT */
/*
 * What the 32/64-bit tests and their helper (helper_m32, built for both classes) share: the
 * layout of the shared area that holds the synchronization objects, the same for 32- and
 * 64-bit processes (asserted), and the words of the helper's command protocol
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

/* Replies: "ok ...", "err ENAME", "skip why", "bad why" (a check inside the helper failed). */
#define M32_OK   "ok"
#define M32_ERR  "err"
#define M32_SKIP "skip"
#define M32_BAD  "bad"

#endif
