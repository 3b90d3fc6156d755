/* SPDX-License-Identifier: MIT */
/*
 * shmkit/sync.h — process-shared synchronization on futexes (part of <shmkit.h>).
 *
 * Every object here may be placed anywhere in memory shared between processes (any mapping
 * with MAP_SHARED), has a fixed 16-byte size and 8-byte alignment, and the same layout in 32-
 * and 64-bit processes. Initialise once (by one process) before use; there is no destroy.
 * Deadlines are absolute CLOCK_MONOTONIC times. All functions return 0 or -errno.
 */
#ifndef SHMKIT_SYNC_H
#define SHMKIT_SYNC_H

#include <stdint.h>
#include <time.h>

#define SHMKIT_SYNC_OBJ_SIZE 16

typedef union shmkit_mutex {
	uint32_t opaque_[4];
	uint64_t align_;
} shmkit_mutex_t;

typedef union shmkit_cond {
	uint32_t opaque_[4];
	uint64_t align_;
} shmkit_cond_t;

typedef union shmkit_sem {
	uint32_t opaque_[4];
	uint64_t align_;
} shmkit_sem_t;

typedef union shmkit_event {
	uint32_t opaque_[4];
	uint64_t align_;
} shmkit_event_t;

/* Robust, error-checking, process-shared mutex. */
int shmkit_mutex_init(shmkit_mutex_t *m);
int shmkit_mutex_lock(shmkit_mutex_t *m);    /* 0 | -EOWNERDEAD | -ENOTRECOVERABLE | -EDEADLK */
int shmkit_mutex_trylock(shmkit_mutex_t *m); /* ... | -EBUSY */
int shmkit_mutex_timedlock(shmkit_mutex_t *m, const struct timespec *abs); /* ... | -ETIMEDOUT */
int shmkit_mutex_consistent(shmkit_mutex_t *m);
int shmkit_mutex_unlock(shmkit_mutex_t *m); /* -EPERM when the caller is not the owner */

int shmkit_cond_init(shmkit_cond_t *c);
int shmkit_cond_wait(shmkit_cond_t *c, shmkit_mutex_t *m);
int shmkit_cond_timedwait(shmkit_cond_t *c, shmkit_mutex_t *m, const struct timespec *abs);
int shmkit_cond_signal(shmkit_cond_t *c);
int shmkit_cond_broadcast(shmkit_cond_t *c);

int shmkit_sem_init(shmkit_sem_t *s, unsigned value);
int shmkit_sem_post(shmkit_sem_t *s);
int shmkit_sem_wait(shmkit_sem_t *s);
int shmkit_sem_trywait(shmkit_sem_t *s); /* -EAGAIN */
int shmkit_sem_timedwait(shmkit_sem_t *s, const struct timespec *abs);
int shmkit_sem_getvalue(shmkit_sem_t *s, unsigned *value);

#endif
