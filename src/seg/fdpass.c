/* SPDX-License-Identifier: MIT */
/*
 * Passing an object's descriptor between processes over a UNIX socket (SCM_RIGHTS).
 *
 * The message is a magic, the sender's backend and, for a POSIX object, the name the sender
 * knows it by (the descriptor alone cannot tell: an object published from an O_TMPFILE keeps
 * its anonymous dentry), with exactly one descriptor. The
 * receiver trusts none of it: it takes room for several descriptors so that it sees (and
 * closes) extra ones instead of leaking them, treats a truncated control message as hostile,
 * and decides what the descriptor is from the descriptor itself (fstat/fstatfs), checking
 * the sender's claims against that: the name is kept only if it names this very inode.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "seg/handle.h"
#include "sys/sys.h"

#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif
#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#define RECV_FDS_MAX 8 /* room to see (and close) what a hostile sender adds */

/* The name under /dev/shm that fd is linked to, or "" (unlinked, or elsewhere). */
static void posix_name(int fd, char *name, size_t len)
{
	static const char deleted[] = " (deleted)";
	char self[64], path[SK_SHM_NAME_MAX + 32];
	const char *prefix = SK_SHM_DIR "/";

	name[0] = '\0';
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(self, path, sizeof(path) - 1);
	if (n <= 0)
		return;
	path[n] = '\0';
	size_t plen = strlen(prefix), dlen = sizeof(deleted) - 1;
	if (strncmp(path, prefix, plen) || strchr(path + plen, '/'))
		return;
	if ((size_t)n >= dlen && !strcmp(path + n - dlen, deleted))
		return;
	if ((size_t)n - plen < len)
		strcpy(name, path + plen);
}

static int is_memfd(int fd)
{
	char self[64], path[16];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(self, path, sizeof(path));
	return n >= 7 && !memcmp(path, "/memfd:", 7);
}

int sk_seg_classify(int fd, uint32_t *backend, uint64_t *huge_page_size, char *name,
                    size_t name_len)
{
	struct statfs sf;
	struct stat st;

	name[0] = '\0';
	*huge_page_size = 0;
	if (fstat(fd, &st) < 0 || fstatfs(fd, &sf) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	/* f_type is a signed word: an int on 32-bit ABIs, where this magic is negative. */
	if ((uint32_t)sf.f_type == HUGETLBFS_MAGIC) {
		*backend = SHMKIT_SEG_HUGETLB;
		*huge_page_size = (uint64_t)sf.f_bsize;
	} else if ((uint32_t)sf.f_type == TMPFS_MAGIC) {
		*backend = is_memfd(fd) ? SHMKIT_SEG_MEMFD : SHMKIT_SEG_POSIX;
		if (*backend == SHMKIT_SEG_POSIX)
			posix_name(fd, name, name_len);
	} else {
		return -EINVAL; /* a disk file is not a shared-memory object */
	}
	return 0;
}

/* Take the sender's name for the object if, and only if, it names this very inode. */
static void adopt_name(struct shmkit_seg *s, const char *name)
{
	char path[SK_SHM_NAME_MAX + 16];
	struct stat a, b;

	if (sk_shm_path(path, sizeof(path), name) || fstat(s->fd, &a) || stat(path, &b))
		return;
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		strcpy(s->name, name + (*name == '/'));
}

SK_EXPORT int shmkit_seg_send(int sock, const shmkit_seg_t *s)
{
	struct sk_seg_msg m = {.magic = SK_SEG_MSG_MAGIC};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (!s)
		return -EINVAL;
	if (sock < 0)
		return -EBADF;
	if (s->backend == SHMKIT_SEG_SYSV)
		return -EOPNOTSUPP;
	m.backend = s->backend;
	memcpy(m.name, s->name, sizeof(s->name));
	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &s->fd, sizeof(int));
	/* MSG_NOSIGNAL: a dead peer is -EPIPE, never a SIGPIPE in the caller's process. */
	ssize_t n = SK_RETRY_EINTR(sendmsg(sock, &mh, MSG_NOSIGNAL));
	if (n < 0)
		return -errno;
	return n == (ssize_t)sizeof(m) ? 0 : -EPROTO;
}

/* Every descriptor the message carried, into fds (at most max); returns how many. */
static int collect_fds(struct msghdr *mh, int *fds, int max)
{
	int n = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && n < max; i++)
			memcpy(&fds[n++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
	}
	return n;
}

/* Validate one received message; the descriptor it carried, or -EPROTO/-ECONNRESET. */
static int check_msg(ssize_t got, struct msghdr *mh, const struct sk_seg_msg *m, int *fds, int nfds)
{
	if (got == 0 && nfds == 0)
		return -ECONNRESET;
	if (got != (ssize_t)sizeof(*m) || (mh->msg_flags & (MSG_CTRUNC | MSG_TRUNC)) || nfds != 1 ||
	    m->magic != SK_SEG_MSG_MAGIC || !memchr(m->name, 0, sizeof(m->name)))
		return -EPROTO;
	return fds[0];
}

SK_EXPORT int shmkit_seg_recv(int sock, shmkit_seg_t **out, uint32_t flags)
{
	struct sk_seg_msg m = {0};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * RECV_FDS_MAX)];
	} u;
	struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	int fds[RECV_FDS_MAX];

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (sock < 0)
		return -EBADF;
	if (flags & ~SHMKIT_SEG_RDONLY)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	ssize_t got = SK_RETRY_EINTR(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC));
	if (got < 0)
		return -errno;
	int nfds = collect_fds(&mh, fds, RECV_FDS_MAX);
	int fd = check_msg(got, &mh, &m, fds, nfds);
	int err = fd < 0 ? fd : shmkit_seg_from_fd(out, fd, flags);
	if (!err && m.backend == SHMKIT_SEG_POSIX && !(*out)->name[0])
		adopt_name(*out, m.name);
	if (!err && (*out)->backend != m.backend) {
		shmkit_seg_close(*out); /* closes fd */
		*out = NULL;
		return -EPROTO;
	}
	if (err) {
		for (int i = 0; i < nfds; i++)
			close(fds[i]);
		return err == -EINVAL || err == -EACCES ? -EPROTO : err;
	}
	return 0;
}
