/* SPDX-License-Identifier: MIT */
/*
 * A few lines for the plain multi-threaded test programs (tests/<layer>/mt_*.c), which also
 * run under ThreadSanitizer: CHECK() reports file:line and exits 1; MT_PASS() prints the
 * closing line.
 */
#ifndef SHMKIT_MTCHECK_H
#define SHMKIT_MTCHECK_H

#include <stdio.h>
#include <stdlib.h>

static int mt_checks;

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		__atomic_fetch_add(&mt_checks, 1, __ATOMIC_RELAXED);                               \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			exit(1);                                                                   \
		}                                                                                  \
	} while (0)

#define MT_PASS(name)                                                                              \
	do {                                                                                       \
		printf("%s: %d checks\n1 passed, 0 failed\n", (name), mt_checks);                  \
		return 0;                                                                          \
	} while (0)

#endif
