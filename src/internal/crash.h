/* SPDX-License-Identifier: MIT */
/*
 * Crash-point injection for the crash tests, shared by every layer with a shared-memory
 * protocol (the sysv registry, the heap).
 *
 * When sk_crash_countdown is set to n > 0, the n-th crash point reached kills the process with
 * SIGKILL, as a kill -9 at that instruction would: no handler, no destructor, no unlock. Zero
 * (always, outside the tests) costs one predictable branch per point. Place a point between
 * every two steps of a multi-step update of shared state; tests/crash kills at each in turn and
 * checks that the next user repairs what was left.
 */
#ifndef SHMKIT_INTERNAL_CRASH_H
#define SHMKIT_INTERNAL_CRASH_H

#include "internal/compiler.h"

extern int sk_crash_countdown SK_HIDDEN;
void sk_crash_now(void);
#define SK_CRASH_POINT()                                                                           \
	do {                                                                                       \
		if (SK_UNLIKELY(sk_crash_countdown) && --sk_crash_countdown == 0)                  \
			sk_crash_now();                                                            \
	} while (0)

#endif
