/* SPDX-License-Identifier: MIT */
/*
 * pipe and fifo: one pipe per direction, default pipe buffer (64 KiB). The FIFOs are named
 * in the run directory and unlinked once both sides have opened them.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "transport.h"

/* Descriptors of the rendezvous: client -> server, then server -> client. */
enum { C2S_R, C2S_W, S2C_R, S2C_W };

struct ends {
	int rfd, wfd;
};

static struct ends ends;

static int pipe_setup(struct bt_ctx *c)
{
	if (pipe2(c->fd + C2S_R, O_CLOEXEC) < 0 || pipe2(c->fd + S2C_R, O_CLOEXEC) < 0)
		return bt_fail(c, -errno, "pipe2");
	c->nfd = 4;
	return 0;
}

static int pipe_attach(struct bt_ctx *c)
{
	bool client = c->role == BT_CLIENT;
	ends.rfd = c->fd[client ? S2C_R : C2S_R];
	ends.wfd = c->fd[client ? C2S_W : S2C_W];
	/* Close the other ends: a dead peer is then an error, not a hang. */
	close(c->fd[client ? S2C_W : C2S_W]);
	close(c->fd[client ? C2S_R : S2C_R]);
	c->priv = &ends;
	return 0;
}

static int stream_send(struct bt_ctx *c, const void *msg, size_t len)
{
	return bt_write_all(((struct ends *)c->priv)->wfd, msg, len);
}

static int stream_recv(struct bt_ctx *c, void *buf, size_t len)
{
	return bt_read_all(((struct ends *)c->priv)->rfd, buf, len);
}

static const struct bt_transport pipe_transport = {
    .name = "pipe",
    .what = "two pipes (pipe2), 64 KiB pipe buffer, blocking read/write",
    .order = BT_ORDER_KERNEL + 1,
    .flags = BT_SLEEPING,
    .setup = pipe_setup,
    .attach = pipe_attach,
    .send = stream_send,
    .recv = stream_recv,
};
BT_REGISTER(pipe_transport);

/* ---- FIFO ---- */

static void fifo_path(const struct bt_ctx *c, int dir, char *buf, size_t len)
{
	snprintf(buf, len, "%s/fifo-%u-%s", c->rundir, c->instance, dir ? "s2c" : "c2s");
}

static int fifo_setup(struct bt_ctx *c)
{
	char path[512];
	for (int dir = 0; dir < 2; dir++) {
		fifo_path(c, dir, path, sizeof(path));
		if (mkfifo(path, 0600) < 0)
			return bt_fail(c, -errno, "mkfifo %s", path);
		c->host->track("path", path);
	}
	return 0;
}

static int fifo_attach(struct bt_ctx *c)
{
	char c2s[512], s2c[512];
	fifo_path(c, 0, c2s, sizeof(c2s));
	fifo_path(c, 1, s2c, sizeof(s2c));
	/* The same order on both sides (c2s first), so the blocking opens meet. */
	if (c->role == BT_CLIENT) {
		ends.wfd = open(c2s, O_WRONLY | O_CLOEXEC);
		ends.rfd = ends.wfd < 0 ? -1 : open(s2c, O_RDONLY | O_CLOEXEC);
	} else {
		ends.rfd = open(c2s, O_RDONLY | O_CLOEXEC);
		ends.wfd = ends.rfd < 0 ? -1 : open(s2c, O_WRONLY | O_CLOEXEC);
	}
	if (ends.rfd < 0 || ends.wfd < 0)
		return bt_fail(c, -errno, "open fifo");
	c->priv = &ends;
	return 0;
}

static void fifo_unlink(struct bt_ctx *c)
{
	char path[512];
	for (int dir = 0; dir < 2; dir++) {
		fifo_path(c, dir, path, sizeof(path));
		if (unlink(path) == 0 || errno == ENOENT)
			c->host->untrack("path", path);
	}
}

static const struct bt_transport fifo_transport = {
    .name = "fifo",
    .what = "two named pipes (mkfifo), opened by name, blocking read/write",
    .order = BT_ORDER_KERNEL + 2,
    .flags = BT_SLEEPING,
    .setup = fifo_setup,
    .ready = fifo_unlink,
    .attach = fifo_attach,
    .send = stream_send,
    .recv = stream_recv,
    .teardown = fifo_unlink,
};
BT_REGISTER(fifo_transport);
