/* SPDX-License-Identifier: MIT */
/* Helpers for the channel tests. */
#ifndef SHMKIT_CHANTEST_H
#define SHMKIT_CHANTEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chanmsg.h"
#include "shmkit.h"
#include "testutil.h"

/* Channels this test made: removed at exit even if an assertion ends the test early. */
static char chan_made[16][SHMKIT_CHAN_NAME_MAX + 1];

static void chan_unlink_at_exit(void)
{
	for (size_t i = 0; i < sizeof(chan_made) / sizeof(chan_made[0]); i++)
		if (chan_made[i][0])
			shmkit_chan_unlink(chan_made[i]);
}

/* Create a fresh channel (name in *name): kind, msg_size, capacity, mode. */
static inline const char *chan_fresh(uint32_t kind, uint64_t msg, uint64_t cap, uint32_t mode)
{
	static int registered;
	static unsigned next;
	if (!registered++)
		atexit(chan_unlink_at_exit);
	const char *name = tu_name("chan");
	struct shmkit_chan_config cfg = {
	    .kind = kind, .mode = mode, .msg_size = msg, .capacity = cap};
	int err = shmkit_chan_create(name, &cfg);
	cr_assert_eq(err, 0, "create %s: %s", name, strerror(-err));
	char *kept = chan_made[next++ % 16];
	snprintf(kept, SHMKIT_CHAN_NAME_MAX + 1, "%s", name);
	return kept; /* not tu_name's buffer: two fresh names may be held at once */
}

static inline shmkit_chan_t *chan_open(const char *name, uint32_t role)
{
	shmkit_chan_t *c = NULL;
	int err = shmkit_chan_open(&c, name, role);
	cr_assert_eq(err, 0, "open %s as %u: %s", name, role, strerror(-err));
	return c;
}

/* A CLOCK_MONOTONIC deadline ms from now. */
static inline struct timespec chan_in_ms(long ms)
{
	return cm_in_ms(ms);
}

static inline uint64_t chan_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

#endif
