/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the sync tests: children, deadlines, a shared arena. */
#ifndef SHMKIT_TESTS_SYNCTEST_H
#define SHMKIT_TESTS_SYNCTEST_H

#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <shmkit.h>
#include "sys/sys.h"
#include "testutil.h"

/* Every wait in these tests has a deadline: a bug fails a test, it never hangs the suite. */
#define ST_WAIT_MS 10000

static inline struct timespec st_in_ms(unsigned ms)
{
	struct timespec ts;
	sk_deadline_after(&ts, (uint64_t)ms * 1000 * 1000);
	return ts;
}

/* Run fn(arg) in a child that exits with its return value. */
static inline pid_t st_spawn(int (*fn)(void *), void *arg)
{
	pid_t ppid = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		/* A failed assertion in the parent must not leave children running. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != ppid)
			_exit(99);
		_exit(fn(arg));
	}
	return pid;
}

/* Spin-sleep until *flag >= v or ms pass; returns 1 if reached. */
static inline int st_await(const volatile uint32_t *flag, uint32_t v, unsigned ms)
{
	uint64_t end = sk_mono_ns() + (uint64_t)ms * 1000000;
	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) < v) {
		if (sk_mono_ns() > end)
			return 0;
		usleep(200);
	}
	return 1;
}

static inline void st_bump(volatile uint32_t *flag)
{
	__atomic_fetch_add(flag, 1, __ATOMIC_RELEASE);
}

#endif
