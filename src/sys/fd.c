/* SPDX-License-Identifier: MIT */
/* Descriptors: new open file descriptions of an open file, and descriptors kept out of the way. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sys/sys.h"

int sk_fd_reopen(int fd, int flags)
{
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	/* A fresh open file description: its access mode is checked against the inode again. */
	int nfd = open(self, flags | O_CLOEXEC);
	return nfd < 0 ? -errno : nfd;
}

#define FD_FLOOR 1024

int sk_fd_high(int fd)
{
	struct rlimit rl;
	if (fd < 0 || getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur <= FD_FLOOR + 64)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, FD_FLOOR);
	if (hi < 0)
		return fd;
	close(fd);
	return hi;
}
