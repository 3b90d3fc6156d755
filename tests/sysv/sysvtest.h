/* SPDX-License-Identifier: MIT */
/* Helpers for the sysv tests: a fresh namespace per test, invariant checks, running as nobody. */
#ifndef SHMKIT_SYSVTEST_H
#define SHMKIT_SYSVTEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmkit.h"
#include "sysv/registry.h"
#include "testutil.h"

#define NOBODY 65534

static char test_ns[64];

static inline void ns_fresh(void)
{
	snprintf(test_ns, sizeof(test_ns), "t%d-%u", (int)getpid(), tu_rand(1u << 30));
	cr_assert_eq(shmkit_ns_create(test_ns, 0666), 0);
	cr_assert_eq(shmkit_ns_use(test_ns), 0);
}

static inline void ns_gone(void)
{
	shmkit_ns_destroy(test_ns);
}

/* The invariants between the registry's facts and its derived fields hold. */
static inline void ns_check(void)
{
	struct sk_ns ns;
	char why[200] = "";
	cr_assert_eq(sk_ns_open(&ns, test_ns, 0), 0);
	cr_assert_eq(sk_reg_lock(&ns), 0);
	sk_reg_sweep(&ns);
	int r = sk_reg_check(&ns, why, sizeof(why));
	sk_reg_unlock(&ns);
	sk_ns_close(&ns);
	cr_assert_eq(r, 0, "registry inconsistent: %s", why);
}

/* The path of segment shmid's backing object, created by uid. */
static inline void backing_path(char *buf, size_t len, uid_t uid, int shmid)
{
	snprintf(buf, len, "/dev/shm/shmkit.%s/u%u/%d", test_ns, (unsigned)uid, shmid);
}

/* Does the backing object of shmid exist, created by root or nobody? */
static inline int backing_exists(int shmid)
{
	char path[256];
	struct stat st;
	backing_path(path, sizeof(path), 0, shmid);
	if (stat(path, &st) == 0)
		return 1;
	backing_path(path, sizeof(path), NOBODY, shmid);
	return stat(path, &st) == 0;
}

/* Run fn(arg) in a child as uid/gid 65534; returns its result (an errno value or 0). */
static inline int as_nobody(int (*fn)(void *), void *arg)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		int r = tu_become(NOBODY, NOBODY) ? -1000 : fn(arg);
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	int r = -2000;
	cr_assert_eq(read(pfd[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	close(pfd[0]);
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	return r;
}

#endif
