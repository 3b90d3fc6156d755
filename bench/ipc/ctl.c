/* SPDX-License-Identifier: MIT */
/* Framed messages over the control sockets: u32 type, u32 length, payload. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

struct frame {
	uint32_t type, len;
};

enum { FRAME_MAX = 256u << 20 };

int bt_ctl_send(int fd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen)
{
	struct frame f = {type, (uint32_t)(alen + blen)};
	int r = bt_write_all(fd, &f, sizeof(f));
	if (r == 0 && alen)
		r = bt_write_all(fd, a, alen);
	if (r == 0 && blen)
		r = bt_write_all(fd, b, blen);
	return r;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read exactly len bytes before the deadline (-1: none). */
static int read_deadline(int fd, void *buf, size_t len, int64_t deadline)
{
	char *p = buf;
	while (len) {
		int wait = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && wait <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int n = poll(&pfd, 1, wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		ssize_t got = read(fd, p, len);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EPIPE;
		p += got, len -= (size_t)got;
	}
	return 0;
}

int bt_ctl_recv(int fd, int timeout_ms, uint32_t *type, void **payload, size_t *len)
{
	int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	struct frame f;
	*payload = NULL;
	*len = 0;
	int r = read_deadline(fd, &f, sizeof(f), deadline);
	if (r < 0)
		return r;
	if (f.len > FRAME_MAX)
		return -EPROTO;
	char *p = malloc((size_t)f.len + 1);
	if (!p)
		return -ENOMEM;
	r = read_deadline(fd, p, f.len, deadline);
	if (r < 0) {
		free(p);
		return r;
	}
	p[f.len] = '\0';
	*type = f.type;
	*payload = p;
	*len = f.len;
	return 0;
}
