/* SPDX-License-Identifier: MIT */
#include "testutil.h"

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *tu_name(const char *prefix)
{
	static __thread char buf[128];
	static unsigned counter;
	snprintf(buf, sizeof(buf), "%s-%d-%u", prefix, (int)getpid(),
	         __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
	return buf;
}

void *tu_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void tu_shared_free(void *p, size_t size)
{
	munmap(p, size);
}

static int decode(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

int tu_wait(pid_t pid)
{
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return decode(st);
}

int tu_wait_timeout(pid_t pid, int ms)
{
	int st;
	for (int waited = 0;; waited++) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid)
			return decode(st);
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= ms) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			return -2;
		}
		usleep(1000);
	}
}

int tu_become(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
		return -errno;
	return 0;
}

const char *tu_helper(const char *name)
{
	static __thread char buf[512];
#ifdef SHMKIT_BUILD_DIR
	snprintf(buf, sizeof(buf), "%s/tests/%s", SHMKIT_BUILD_DIR, name);
#else
	snprintf(buf, sizeof(buf), "./%s", name);
#endif
	return buf;
}

unsigned tu_rand(unsigned n)
{
	static __thread uint64_t s;
	static __thread pid_t owner;
	if (!s || owner != getpid()) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		owner = getpid();
		s = ((uint64_t)owner << 32) ^ (uint64_t)ts.tv_nsec ^ 0x9e3779b97f4a7c15ULL;
	}
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return n ? (unsigned)(s % n) : 0;
}

pid_t tu_truncator(const char *path, unsigned pause_us, int shrink_half)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return -1;
	pid_t pid = fork();
	if (pid)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int fd = open(path, O_RDWR);
	for (;;) {
		if (pause_us)
			usleep(tu_rand(pause_us));
		off_t to = shrink_half && tu_rand(2) ? st.st_size / 2 : 0;
		if (fd < 0 || ftruncate(fd, to) < 0 || ftruncate(fd, st.st_size) < 0)
			_exit(1);
	}
}
