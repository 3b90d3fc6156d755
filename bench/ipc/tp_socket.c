/* SPDX-License-Identifier: MIT */
/*
 * unix-stream, unix-dgram and tcp: one connected socket per side, default buffers except
 * where a datagram must fit the send buffer.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport.h"

static int sock_fd;

static int pair_setup(struct bt_ctx *c, int type)
{
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, c->fd) < 0)
		return bt_fail(c, -errno, "socketpair");
	c->nfd = 2;
	return 0;
}

static int sock_attach(struct bt_ctx *c)
{
	sock_fd = c->fd[c->role];
	close(c->fd[!c->role]);
	return 0;
}

static int sock_send(struct bt_ctx *c, const void *msg, size_t len)
{
	return bt_write_all(sock_fd, msg, len);
}

static int sock_recv(struct bt_ctx *c, void *buf, size_t len)
{
	return bt_read_all(sock_fd, buf, len);
}

/* ---- UNIX stream ---- */

static int stream_setup(struct bt_ctx *c)
{
	return pair_setup(c, SOCK_STREAM);
}

static const struct bt_transport unix_stream = {
    .name = "unix-stream",
    .what = "UNIX stream socket pair, default buffers, blocking read/write",
    .order = BT_ORDER_KERNEL + 3,
    .flags = BT_SLEEPING,
    .setup = stream_setup,
    .attach = sock_attach,
    .send = sock_send,
    .recv = sock_recv,
};
BT_REGISTER(unix_stream);

/* ---- UNIX datagram ---- */

/* A datagram must fit the sender's buffer: raise it (root may pass net.core.wmem_max). */
static int dgram_setup(struct bt_ctx *c)
{
	int r = pair_setup(c, SOCK_DGRAM);
	if (r < 0)
		return r;
	int want = c->max_size > (1u << 29) ? 1 << 30 : (int)c->max_size * 2 + 65536, got = 0;
	socklen_t len = sizeof(got);
	for (int i = 0; i < 2; i++)
		if (setsockopt(c->fd[i], SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof(want)) < 0)
			setsockopt(c->fd[i], SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
	getsockopt(c->fd[0], SOL_SOCKET, SO_SNDBUF, &got, &len);
	size_t fits = got > 4096 ? (size_t)got / 2 - 1024 : 0; /* half of it is overhead */
	if (fits < c->max_size) {
		c->max_size = fits;
		snprintf(c->why_max, sizeof(c->why_max),
		         "a datagram must fit SO_SNDBUF (%d bytes here, net.core.wmem_max)", got);
	}
	return 0;
}

static int dgram_send(struct bt_ctx *c, const void *msg, size_t len)
{
	while (send(sock_fd, msg, len, 0) < 0)
		if (errno != EINTR)
			return bt_fail(c, -errno, "send %zu bytes", len);
	return 0;
}

static int dgram_recv(struct bt_ctx *c, void *buf, size_t len)
{
	ssize_t n;
	while ((n = recv(sock_fd, buf, len, MSG_TRUNC)) < 0)
		if (errno != EINTR)
			return -errno;
	if ((size_t)n != len)
		return bt_fail(c, -EBADMSG, "a datagram of %zd bytes, expected %zu", n, len);
	return 0;
}

static const struct bt_transport unix_dgram = {
    .name = "unix-dgram",
    .what = "UNIX datagram socket pair, one datagram per message, blocking send/recv",
    .order = BT_ORDER_KERNEL + 4,
    .flags = BT_SLEEPING,
    .setup = dgram_setup,
    .attach = sock_attach,
    .send = dgram_send,
    .recv = dgram_recv,
};
BT_REGISTER(unix_dgram);

/* ---- TCP over loopback ---- */

/* Listen on 127.0.0.1 at a port the kernel picks, connect, accept: no name to clean. */
static int tcp_setup(struct bt_ctx *c)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c->fd[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || c->fd[0] < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(l, 1) < 0 || getsockname(l, (struct sockaddr *)&a, &alen) < 0 ||
	    connect(c->fd[0], (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    (c->fd[1] = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		int err = -errno;
		if (l >= 0)
			close(l);
		return bt_fail(c, err, "loopback connection");
	}
	close(l);
	c->nfd = 2;
	for (int i = 0; i < 2; i++) /* small messages go out at once, as a request/reply needs */
		setsockopt(c->fd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return 0;
}

static const struct bt_transport tcp = {
    .name = "tcp",
    .what = "TCP over 127.0.0.1, TCP_NODELAY, default buffers, blocking read/write",
    .order = BT_ORDER_KERNEL + 5,
    .flags = BT_SLEEPING,
    .setup = tcp_setup,
    .attach = sock_attach,
    .send = sock_send,
    .recv = sock_recv,
};
BT_REGISTER(tcp);
