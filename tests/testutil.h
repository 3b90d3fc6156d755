/* SPDX-License-Identifier: MIT */
/* Helpers shared by the test programs. */
#ifndef SHMKIT_TESTUTIL_H
#define SHMKIT_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* A unique name for this test process: "<prefix>-<pid>-<counter>". */
const char *tu_name(const char *prefix);
/* Shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS), survives fork. */
void *tu_shared_alloc(size_t size);
void tu_shared_free(void *p, size_t size);
/* Wait for pid; returns its exit status (0..255), 128+signal if killed, -1 on error. */
int tu_wait(pid_t pid);
/* Wait for pid with a timeout in ms; kills it (SIGKILL) on timeout and returns -2. */
int tu_wait_timeout(pid_t pid, int ms);
/* Drop to uid/gid (e.g. 65534) in a child: setgroups(0), setgid, setuid. 0 or -errno. */
int tu_become(uid_t uid, gid_t gid);
/* Path of a helper program built next to the tests. */
const char *tu_helper(const char *name);
/* Random number in [0, n) from a per-process xorshift seeded by pid and time. */
unsigned tu_rand(unsigned n);
/* Fork a hostile peer that truncates the file at path and gives it back its size, over and
 * over: to 0, or (shrink_half) to 0 or half at random, pausing up to pause_us between rounds
 * (0: none). It dies with its parent; kill it with SIGKILL. */
pid_t tu_truncator(const char *path, unsigned pause_us, int shrink_half);

#endif
