/* SPDX-License-Identifier: MIT */
/*
 * Open file description locks. They belong to the open file description, not to the process:
 * the kernel drops them when the last descriptor referring to it is closed, which happens on
 * exit, on kill -9 and, for O_CLOEXEC descriptors, on exec. That makes them liveness tokens.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "sys/sys.h"

static void fill(struct flock *fl, short type, off_t off, off_t len)
{
	memset(fl, 0, sizeof(*fl));
	fl->l_type = type;
	fl->l_whence = SEEK_SET;
	fl->l_start = off;
	fl->l_len = len;
}

int sk_ofd_lock(int fd, off_t off, off_t len, int type, int wait)
{
	struct flock fl;
	fill(&fl, type == SK_LOCK_EX ? F_WRLCK : F_RDLCK, off, len);
	for (;;) {
		if (fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) == 0)
			return 0;
		if (errno == EINTR && wait)
			continue;
		return errno == EACCES ? -EAGAIN : -errno;
	}
}

int sk_ofd_unlock(int fd, off_t off, off_t len)
{
	struct flock fl;
	fill(&fl, F_UNLCK, off, len);
	return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

int sk_ofd_test(int fd, off_t off, off_t len)
{
	struct flock fl;
	fill(&fl, F_WRLCK, off, len);
	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}
