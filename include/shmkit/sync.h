/* SPDX-License-Identifier: MIT */
/*
 * shmkit/sync.h — process-shared synchronization on futexes (part of <shmkit.h>).
 *
 * Every object here may be placed anywhere in memory shared between processes (any mapping
 * with MAP_SHARED), has a fixed 16-byte size and 8-byte alignment, and the same layout in 32-
 * and 64-bit processes. Initialise once (by one process) before use; there is no destroy.
 * Deadlines are absolute CLOCK_MONOTONIC times. All functions return 0 or -errno; signal
 * handlers never end a wait (no -EINTR). The mutex is robust: a dead owner is reported to the
 * next locker as -EOWNERDEAD. All processes sharing a mutex must be in one PID namespace.
 * Full semantics: shmkit_sync(3).
 */
#ifndef SHMKIT_SYNC_H
#define SHMKIT_SYNC_H

#include <stdint.h>
#include <time.h>

#define SHMKIT_SYNC_OBJ_SIZE 16

/* Static initialisers: all-zero objects are valid (unlocked, reset, value 0). */
/* clang-format off */
#define SHMKIT_MUTEX_INITIALIZER { { 0, 0, 0, 0 } } /* C and C++ */
/* clang-format on */
#define SHMKIT_COND_INITIALIZER SHMKIT_MUTEX_INITIALIZER

typedef union shmkit_mutex {
	uint32_t opaque_[4];
	uint64_t align_ __attribute__((aligned(8))); /* 8 on i386 too */
} shmkit_mutex_t;

typedef union shmkit_cond {
	uint32_t opaque_[4];
	uint64_t align_ __attribute__((aligned(8))); /* 8 on i386 too */
} shmkit_cond_t;

typedef union shmkit_sem {
	uint32_t opaque_[4];
	uint64_t align_ __attribute__((aligned(8))); /* 8 on i386 too */
} shmkit_sem_t;

typedef union shmkit_event {
	uint32_t opaque_[4];
	uint64_t align_ __attribute__((aligned(8))); /* 8 on i386 too */
} shmkit_event_t;

/* Robust, error-checking, process-shared mutex. */
int shmkit_mutex_init(shmkit_mutex_t *m);
int shmkit_mutex_lock(shmkit_mutex_t *m);    /* 0 | -EOWNERDEAD | -ENOTRECOVERABLE | -EDEADLK */
int shmkit_mutex_trylock(shmkit_mutex_t *m); /* ... | -EBUSY */
int shmkit_mutex_timedlock(shmkit_mutex_t *m, const struct timespec *abs); /* ... | -ETIMEDOUT */
int shmkit_mutex_consistent(shmkit_mutex_t *m);
int shmkit_mutex_owned(const shmkit_mutex_t *m); /* 1 | 2 (inconsistent) | 0: never blocks */
int shmkit_mutex_unlock(shmkit_mutex_t *m);      /* -EPERM when the caller is not the owner */

int shmkit_cond_init(shmkit_cond_t *c);
int shmkit_cond_wait(shmkit_cond_t *c, shmkit_mutex_t *m);
int shmkit_cond_timedwait(shmkit_cond_t *c, shmkit_mutex_t *m, const struct timespec *abs);
int shmkit_cond_signal(shmkit_cond_t *c);
int shmkit_cond_broadcast(shmkit_cond_t *c);

#define SHMKIT_SEM_VALUE_MAX 2147483647 /* INT_MAX: post beyond it is -EOVERFLOW */
int shmkit_sem_init(shmkit_sem_t *s, unsigned value);
int shmkit_sem_post(shmkit_sem_t *s);
int shmkit_sem_wait(shmkit_sem_t *s);
int shmkit_sem_trywait(shmkit_sem_t *s); /* -EAGAIN */
int shmkit_sem_timedwait(shmkit_sem_t *s, const struct timespec *abs);
int shmkit_sem_getvalue(shmkit_sem_t *s, unsigned *value);

/* Event: manual = 0 auto-reset (each wait consumes the set state), else manual-reset. */
int shmkit_event_init(shmkit_event_t *e, int manual);
int shmkit_event_set(shmkit_event_t *e);
int shmkit_event_reset(shmkit_event_t *e);
int shmkit_event_wait(shmkit_event_t *e);
int shmkit_event_trywait(shmkit_event_t *e); /* -EAGAIN */
int shmkit_event_timedwait(shmkit_event_t *e, const struct timespec *abs);

/*
 * Bridge to poll/epoll: a helper thread in the calling process waits on a semaphore or event
 * and makes an eventfd readable. The bridge CONSUMES what it waits for: each semaphore token
 * (or auto-reset event set) it takes adds 1 to the eventfd counter, which read(2) returns and
 * clears; a manual-reset event adds 1 per set/reset cycle. shmkit_bridge_close() stops and
 * joins the thread, gives back tokens taken but not yet read, and closes the fd. Process-local:
 * not usable across fork or exec.
 */
typedef struct shmkit_bridge shmkit_bridge_t;
#define SHMKIT_BRIDGE_SEM   1 /* obj is a shmkit_sem_t * */
#define SHMKIT_BRIDGE_EVENT 2 /* obj is a shmkit_event_t * */
int shmkit_bridge_open(shmkit_bridge_t **b, int kind, void *obj);
int shmkit_bridge_fd(const shmkit_bridge_t *b); /* non-blocking, close-on-exec eventfd */
int shmkit_bridge_close(shmkit_bridge_t *b);

#endif
