/* SPDX-License-Identifier: MIT */
/*
 * zmq: ZeroMQ, a ZMQ_PAIR socket pair over ipc:// (a UNIX socket in the run directory),
 * zmq_send/zmq_recv copying, blocking receive; ZeroMQ's I/O thread runs on the side's CPU.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "transport.h"

static void *ctx, *sock;

static void endpoint(const struct bt_ctx *c, char *buf, size_t len)
{
	snprintf(buf, len, "ipc://%s/zmq-%u", c->rundir, c->instance);
}

static int zmq_fail(struct bt_ctx *c, const char *what)
{
	int err = zmq_errno();
	return bt_fail(c, err ? -err : -EIO, "%s: %s", what, zmq_strerror(err));
}

static int z_setup(struct bt_ctx *c)
{
	return 0;
}

static int z_attach(struct bt_ctx *c)
{
	char ep[600];
	endpoint(c, ep, sizeof(ep));
	int linger = 0;
	if (!(ctx = zmq_ctx_new()) || !(sock = zmq_socket(ctx, ZMQ_PAIR)))
		return zmq_fail(c, "zmq_socket");
	zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
	/* A PAIR socket blocks a send until its peer is connected: no message is lost to a
	 * connection still being made. */
	if ((c->role == BT_SERVER ? zmq_bind(sock, ep) : zmq_connect(sock, ep)) < 0)
		return zmq_fail(c, c->role == BT_SERVER ? "zmq_bind" : "zmq_connect");
	return 0;
}

static int z_send(struct bt_ctx *c, const void *msg, size_t len)
{
	while (zmq_send(sock, msg, len, 0) < 0)
		if (zmq_errno() != EINTR)
			return zmq_fail(c, "zmq_send");
	return 0;
}

static int z_recv(struct bt_ctx *c, void *buf, size_t len)
{
	int n;
	while ((n = zmq_recv(sock, buf, c->max_size, 0)) < 0)
		if (zmq_errno() != EINTR)
			return zmq_fail(c, "zmq_recv");
	if ((size_t)n != len)
		return bt_fail(c, -EBADMSG, "a message of %d bytes, expected %zu", n, len);
	return 0;
}

static void z_detach(struct bt_ctx *c)
{
	if (sock)
		zmq_close(sock);
	if (ctx)
		zmq_ctx_term(ctx);
}

/* The socket file: gone with the run directory anyway, removed once connected. */
static void z_unlink(struct bt_ctx *c)
{
	char ep[600];
	endpoint(c, ep, sizeof(ep));
	unlink(ep + strlen("ipc://"));
}

static const struct bt_transport zmq_transport = {
    .name = "zmq",
    .what = "ZeroMQ ZMQ_PAIR over ipc://, zmq_send/zmq_recv (copying), blocking receive",
    .order = BT_ORDER_PEER + 20,
    .flags = BT_SLEEPING,
    .setup = z_setup,
    .attach = z_attach,
    .send = z_send,
    .recv = z_recv,
    .detach = z_detach,
    .teardown = z_unlink,
};
BT_REGISTER(zmq_transport);
