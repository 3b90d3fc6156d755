/* SPDX-License-Identifier: MIT */
/*
 * Shared futexes. The words live in MAP_SHARED memory used by several processes, so the
 * FUTEX_PRIVATE_FLAG is never set. Timeouts are absolute CLOCK_MONOTONIC deadlines.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/sys.h"

#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

#ifdef SYS_futex_time64
/*
 * A 32-bit ABI. shmkit is built with a 64-bit time_t there (_TIME_BITS=64), and only
 * futex_time64 (Linux 5.1) reads that struct timespec: the old futex call would read its tv_sec's
 * high word as tv_nsec, so every deadline would lose its nanoseconds and expire up to a second
 * early. A kernel without futex_time64 gets the deadline in the old layout (clamped: after
 * 2038 a CLOCK_REALTIME deadline of LOCK_PI waits until then). Only the operations below are
 * used, and each takes a timeout (or NULL) in that argument, never a count.
 */
struct old_timespec32 {
	int32_t tv_sec, tv_nsec;
};

static int futex_time64_missing;

static long futex(SK_ATOMIC(uint32_t) * uaddr, int op, uint32_t val, const struct timespec *ts,
                  uint32_t val3)
{
	if (!__atomic_load_n(&futex_time64_missing, __ATOMIC_RELAXED)) {
		long r = syscall(SYS_futex_time64, (void *)uaddr, op, val, ts, NULL, val3);
		if (r >= 0 || errno != ENOSYS)
			return r;
		__atomic_store_n(&futex_time64_missing, 1, __ATOMIC_RELAXED);
	}
	struct old_timespec32 old, *o = NULL;
	if (ts) {
		old.tv_sec = ts->tv_sec > INT32_MAX ? INT32_MAX : (int32_t)ts->tv_sec;
		old.tv_nsec = (int32_t)ts->tv_nsec;
		o = &old;
	}
	return syscall(SYS_futex, (void *)uaddr, op, val, o, NULL, val3);
}
#else
static long futex(SK_ATOMIC(uint32_t) * uaddr, int op, uint32_t val, const struct timespec *ts,
                  uint32_t val3)
{
	return syscall(SYS_futex, (void *)uaddr, op, val, ts, NULL, val3);
}
#endif

int sk_futex_wait(SK_ATOMIC(uint32_t) * word, uint32_t expected, const struct timespec *abs)
{
	/* FUTEX_WAIT_BITSET takes an absolute timeout on CLOCK_MONOTONIC (no FUTEX_CLOCK_REALTIME).
	 */
	if (futex(word, FUTEX_WAIT_BITSET, expected, abs, FUTEX_BITSET_MATCH_ANY) == 0)
		return 0;
	switch (errno) {
	case EINTR:
		return 0; /* a spurious wake-up: the caller re-checks its condition */
	case EAGAIN:
		return -EAGAIN;
	case ETIMEDOUT:
		return -ETIMEDOUT;
	default:
		return -errno;
	}
}

int sk_futex_wake(SK_ATOMIC(uint32_t) * word, int n)
{
	long r = futex(word, FUTEX_WAKE, (uint32_t)n, NULL, 0);
	return r < 0 ? -errno : (int)r;
}

static int lock_pi2_missing;

int sk_futex_lock_pi(SK_ATOMIC(uint32_t) * word, const struct timespec *abs)
{
	long r;

	for (;;) {
		if (!__atomic_load_n(&lock_pi2_missing, __ATOMIC_RELAXED)) {
			/* FUTEX_LOCK_PI2 (Linux 5.14) measures abs on CLOCK_MONOTONIC. */
			r = futex(word, FUTEX_LOCK_PI2, 0, abs, 0);
			if (r == 0)
				return 0;
			/* Only ENOSYS means the kernel lacks LOCK_PI2: EINVAL is also its answer
			 * while a dead owner's handoff is pending, which the mutex handles. */
			if (errno == ENOSYS) {
				__atomic_store_n(&lock_pi2_missing, 1, __ATOMIC_RELAXED);
				continue;
			}
		} else {
			/* FUTEX_LOCK_PI measures abs on CLOCK_REALTIME: convert the deadline. */
			struct timespec real;
			if (abs)
				sk_mono_to_real(abs, &real);
			r = futex(word, FUTEX_LOCK_PI, 0, abs ? &real : NULL, 0);
			if (r == 0)
				return 0;
		}
		if (errno == EINTR)
			continue; /* FUTEX_LOCK_PI restarts by itself; be safe on older kernels */
		return -errno;
	}
}

int sk_futex_trylock_pi(SK_ATOMIC(uint32_t) * word)
{
	return futex(word, FUTEX_TRYLOCK_PI, 0, NULL, 0) == 0 ? 0 : -errno;
}

int sk_futex_unlock_pi(SK_ATOMIC(uint32_t) * word)
{
	return futex(word, FUTEX_UNLOCK_PI, 0, NULL, 0) == 0 ? 0 : -errno;
}
