/* SPDX-License-Identifier: MIT */
/*
 * sys: the thin Linux layer. The one place where errno becomes -errno: every function here
 * returns >= 0 on success and -errno on failure, and leaves errno alone otherwise.
 */
#ifndef SHMKIT_SYS_H
#define SHMKIT_SYS_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "internal/atomic.h"
#include "internal/compiler.h"

/* ---- futex (shared: no FUTEX_PRIVATE_FLAG; the word may live in any shared mapping) ---- */

/*
 * Sleep while *word == expected. abs is an absolute CLOCK_MONOTONIC deadline or NULL.
 * Returns 0 when woken (or spuriously, or on EINTR: callers re-check their condition),
 * -EAGAIN when *word != expected on entry, -ETIMEDOUT, or another -errno.
 */
int sk_futex_wait(SK_ATOMIC(uint32_t) * word, uint32_t expected, const struct timespec *abs);
/* Wake up to n sleepers; returns how many were woken, or -errno. */
int sk_futex_wake(SK_ATOMIC(uint32_t) * word, int n);
/* Priority-inheritance futex ops (used by the robust mutex). abs: CLOCK_MONOTONIC or NULL. */
int sk_futex_lock_pi(SK_ATOMIC(uint32_t) * word, const struct timespec *abs);
int sk_futex_trylock_pi(SK_ATOMIC(uint32_t) * word);
int sk_futex_unlock_pi(SK_ATOMIC(uint32_t) * word);

/* ---- threads and processes ---- */
pid_t sk_gettid(void);   /* cached per thread; refreshed after fork */
pid_t sk_self_pid(void); /* getpid(), cached per process; refreshed after fork */
/* The same without a call once the cache is filled (fast paths). */
extern pid_t sk_pid_cache SK_HIDDEN;
static inline pid_t sk_self_pid_inline(void)
{
	pid_t p = sk_pid_cache;
	return SK_LIKELY(p) ? p : sk_self_pid();
}
int sk_memfd_create(const char *name, unsigned flags);
/* pidfd for pid; -ENOSYS on kernels without pidfd_open (< 5.3). */
int sk_pidfd_open(pid_t pid);

/*
 * A PID-reuse-safe reference to a process: pid plus its start time (in clock ticks since
 * boot, field 22 of /proc/PID/stat), and a pidfd where the kernel has them.
 */
struct sk_proc_ref {
	pid_t pid;
	int pidfd; /* -1 when unavailable */
	uint64_t start;
};
int sk_proc_ref_open(struct sk_proc_ref *r, pid_t pid);
/* 1 alive, 0 gone (exited or the pid now names another process), -errno on error. */
int sk_proc_ref_alive(const struct sk_proc_ref *r);
void sk_proc_ref_close(struct sk_proc_ref *r);
/* Start time of pid (clock ticks since boot), from /proc/PID/stat. -ESRCH if it is gone. */
int sk_proc_starttime(pid_t pid, uint64_t *start);
/* 1 if a process with this pid exists and started at 'start', 0 if not, -errno on error. */
int sk_proc_alive(pid_t pid, uint64_t start);
/* Short command name (/proc/PID/comm), NUL-terminated. */
int sk_proc_comm(pid_t pid, char *buf, size_t len);

/* ---- open file description locks (released by the kernel on last close, so on exit/exec) ---- */
#define SK_LOCK_SH 0
#define SK_LOCK_EX 1
/* Lock [off, off+len). wait=0: -EAGAIN if held elsewhere. */
int sk_ofd_lock(int fd, off_t off, off_t len, int type, int wait);
int sk_ofd_unlock(int fd, off_t off, off_t len);
/* 0 if nobody else holds a lock conflicting with an exclusive lock on the range, 1 if held. */
int sk_ofd_test(int fd, off_t off, off_t len);

/* ---- descriptors (fd.c) ---- */
/* A new open file description of fd's file (through /proc/self/fd), e.g. O_RDONLY. O_CLOEXEC. */
int sk_fd_reopen(int fd, int flags);
/* Move fd to 1024 or above (close loops of daemons usually stop there) where the limit allows;
 * returns the descriptor to use (fd itself when it cannot move). */
int sk_fd_high(int fd);

/* ---- liveness tokens (live.c): an OFD lock byte per participant ---- */
/*
 * A carrier for tokens: a new open file description of fd's file, O_WRONLY | O_CLOEXEC, placed
 * high. Never map it or hand it to another process: whatever shares the description keeps
 * its tokens alive.
 */
int sk_live_reopen(int fd);
/* Register a carrier so that the child of every later fork closes it (its tokens end with
 * this process); sk_live_close() unregisters and closes it, and is a no-op -EBADF for a
 * carrier that is not (or no longer, in a fork child) registered. */
int sk_live_adopt(int carrier);
int sk_live_close(int carrier);
/* Unregister without closing: the number no longer names our carrier (the process closed it). */
int sk_live_forget(int carrier);
/* Install the fork handler now: fork handlers that adopt carriers in the child must be
 * registered after it. */
void sk_live_init(void);
/* Hold, drop or test the token at byte 'slot'. hold: 0 or -EAGAIN when another description
 * holds it. held: 1 if another description holds it (alive), 0 if nobody does (dead); a
 * token held through this carrier itself reads as 0. On errors held says 1. */
int sk_live_hold(int carrier, off_t slot);
int sk_live_drop(int carrier, off_t slot);
int sk_live_held(int carrier, off_t slot);

/* ---- credentials (cred.c) ---- */
/* 1 if the capability (CAP_*) is in the effective set. */
int sk_has_cap(int cap);
/* 1 if gid is the effective group or a supplementary group. */
int sk_in_group(gid_t gid);
/* mlock2(MLOCK_ONFAULT) / munlock, as system calls (sanitizers stub the libc ones). */
int sk_mlock_onfault(void *addr, size_t len, int lock);
/* Fill buf from the kernel's random source. */
int sk_getrandom(void *buf, size_t len);

/* ---- memory ---- */
size_t sk_page_size(void);

/*
 * Guarded mappings (guard.c): a SIGBUS in a registered MAP_SHARED mapping (its file truncated
 * under it) replaces the whole mapping with private zero pages of protection prot and trips
 * its guard, instead of killing the process. The owner checks sk_guard_tripped() after each
 * use (whatever the use read or wrote may have been the zeros) and removes the guard before
 * it unmaps. sk_guard_trips counts trips in this process: 0 means no guard has tripped.
 */
struct sk_guard;
extern SK_ATOMIC(uint32_t) sk_guard_trips SK_HIDDEN;
int sk_guard_add(void *base, size_t len, int prot, struct sk_guard **out); /* 0, -ENOMEM */
void sk_guard_remove(struct sk_guard *g);
int sk_guard_tripped(const struct sk_guard *g);
/* Has g tripped? One load of a process-wide word until some guard has. */
static inline int sk_guard_check(const struct sk_guard *g)
{
	return SK_UNLIKELY(sk_load_relaxed(&sk_guard_trips)) && sk_guard_tripped(g);
}

/* ---- /proc/sys/kernel limits ---- */
struct sk_shm_limits {
	uint64_t shmmax;      /* bytes */
	uint64_t shmall;      /* pages */
	uint64_t shmmni;      /* segments */
	uint32_t rmid_forced; /* 0 or 1 */
};
/* Read the kernel's current values (falls back to the kernel's defaults if /proc is missing). */
int sk_shm_limits_read(struct sk_shm_limits *l);
/* Open a file of the kernel's (/proc/sys/kernel/shm*, /proc/sysvipc/shm) with the system call
 * itself, so that no interposer of open() answers instead. O_CLOEXEC. */
int sk_open_kernel(const char *path, int flags);
/* Parse an unsigned decimal number from a file like /proc/sys/kernel/shmmax. */
int sk_read_u64_file(const char *path, uint64_t *out);
/* Parse an unsigned decimal with no junk; -EINVAL / -ERANGE. */
int sk_parse_u64(const char *s, uint64_t *out);

/* ---- time ---- */
uint64_t sk_mono_ns(void);
/*
 * Asymmetric fences (fence.c): sk_asym_register() registers this process (again after a
 * fork) so that sk_asym_heavy() of any process reaches it; 1 if it may then publish with
 * release stores, 0 if not (no membarrier: it must use full fences). sk_asym_heavy() makes
 * every registered process's CPU execute a full barrier; 0 or -errno.
 */
int sk_asym_register(void);
int sk_asym_heavy(void);
/* CLOCK_MONOTONIC to the kernel's tick (a few ms), for rate limits: a fraction of the cost. */
uint64_t sk_mono_coarse_ns(void);
int64_t sk_real_sec(void);
/* abs = now(CLOCK_MONOTONIC) + ns */
void sk_deadline_after(struct timespec *abs, uint64_t ns);
/* Nanoseconds until abs (0 if past). */
uint64_t sk_ns_until(const struct timespec *abs);
/* Convert an absolute CLOCK_MONOTONIC time to absolute CLOCK_REALTIME (for old kernels). */
void sk_mono_to_real(const struct timespec *mono, struct timespec *real);
int sk_timespec_valid(const struct timespec *ts);

/* Retry a system call expression while it fails with EINTR; evaluates to its result. */
#define SK_RETRY_EINTR(expr)                                                                       \
	({                                                                                         \
		long sk_r_;                                                                        \
		do                                                                                 \
			sk_r_ = (long)(expr);                                                      \
		while (sk_r_ == -1 && errno == EINTR);                                             \
		sk_r_;                                                                             \
	})

#endif
