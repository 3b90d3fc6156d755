/* SPDX-License-Identifier: MIT */
/*
 * nng: NNG's pair1 protocol over ipc:// (a UNIX socket in the run directory), nng_send and
 * nng_recv copying, blocking receive, no message size limit.
 */
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "transport.h"

static nng_socket sock = NNG_SOCKET_INITIALIZER;

static void url(const struct bt_ctx *c, char *buf, size_t len)
{
	snprintf(buf, len, "ipc://%s/nng-%u", c->rundir, c->instance);
}

static int nng_err(struct bt_ctx *c, int rv, const char *what)
{
	return bt_fail(c, rv == NNG_EMSGSIZE ? -EMSGSIZE : -EIO, "%s: %s", what, nng_strerror(rv));
}

static int n_setup(struct bt_ctx *c)
{
	return 0;
}

static int n_attach(struct bt_ctx *c)
{
	char u[600];
	url(c, u, sizeof(u));
	int rv = nng_pair1_open(&sock);
	if (rv)
		return nng_err(c, rv, "nng_pair1_open");
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0); /* the default drops > 1 MiB */
	/* The client dials in the background until the server listens; a send blocks until
	 * the pair is connected, so nothing is lost. */
	rv = c->role == BT_SERVER ? nng_listen(sock, u, NULL, 0)
	                          : nng_dial(sock, u, NULL, NNG_FLAG_NONBLOCK);
	return rv ? nng_err(c, rv, c->role == BT_SERVER ? "nng_listen" : "nng_dial") : 0;
}

static int n_send(struct bt_ctx *c, const void *msg, size_t len)
{
	int rv = nng_send(sock, (void *)msg, len, 0);
	return rv ? nng_err(c, rv, "nng_send") : 0;
}

static int n_recv(struct bt_ctx *c, void *buf, size_t len)
{
	size_t n = c->max_size;
	int rv = nng_recv(sock, buf, &n, 0);
	if (rv)
		return nng_err(c, rv, "nng_recv");
	if (n != len)
		return bt_fail(c, -EBADMSG, "a message of %zu bytes, expected %zu", n, len);
	return 0;
}

static void n_detach(struct bt_ctx *c)
{
	nng_close(sock);
}

static void n_unlink(struct bt_ctx *c)
{
	char u[600];
	url(c, u, sizeof(u));
	unlink(u + strlen("ipc://"));
}

static const struct bt_transport nng_transport = {
    .name = "nng",
    .what = "NNG pair1 over ipc://, nng_send/nng_recv (copying), blocking receive",
    .order = BT_ORDER_PEER + 21,
    .flags = BT_SLEEPING,
    .setup = n_setup,
    .attach = n_attach,
    .send = n_send,
    .recv = n_recv,
    .detach = n_detach,
    .teardown = n_unlink,
};
BT_REGISTER(nng_transport);
