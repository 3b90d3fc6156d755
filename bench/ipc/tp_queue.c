/* SPDX-License-Identifier: MIT */
/*
 * posix-mq, sysv-mq and eventfd: the kernel's message queues (one queue per direction, the
 * default depth of 10 messages) and an eventfd counter pair.
 */
#include <fcntl.h>
#include <mqueue.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <unistd.h>

#include "transport.h"

/* ---- POSIX message queue ---- */

static mqd_t mq_out, mq_in;

/* Create a queue and unlink it at once: the descriptors keep it, no name stays behind. */
static int mq_make(struct bt_ctx *c, int dir, long msgsize)
{
	char name[64];
	snprintf(name, sizeof(name), "/shmkit-bench.%d.%u.%d", (int)getpid(), c->instance, dir);
	struct mq_attr a = {.mq_maxmsg = 10, .mq_msgsize = msgsize};
	c->host->track("mq", name);
	mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &a);
	int err = q == (mqd_t)-1 ? -errno : 0;
	mq_unlink(name);
	c->host->untrack("mq", name);
	c->fd[dir] = (int)q; /* a descriptor on Linux: it crosses exec like one */
	return err;
}

static int pmq_setup(struct bt_ctx *c)
{
	/* The per-user byte limit counts depth x size: raise it where allowed. */
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	if (setrlimit(RLIMIT_MSGQUEUE, &rl) < 0 && getrlimit(RLIMIT_MSGQUEUE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_MSGQUEUE, &rl);
	}
	long size = (long)c->max_size;
	int r;
	while ((r = mq_make(c, 0, size)) < 0 && size > 8192)
		size /= 2; /* over fs.mqueue.msgsize_max without the privilege, or memory */
	if (r == 0 && (r = mq_make(c, 1, size)) < 0)
		close(c->fd[0]);
	if (r < 0)
		return bt_fail(c, r, "mq_open");
	c->nfd = 2;
	if ((size_t)size < c->max_size) {
		c->max_size = (size_t)size;
		snprintf(
		    c->why_max, sizeof(c->why_max),
		    "mq_msgsize is limited to %ld here (fs.mqueue.msgsize_max, RLIMIT_MSGQUEUE)",
		    size);
	}
	return 0;
}

static int pmq_attach(struct bt_ctx *c)
{
	mq_out = (mqd_t)c->fd[c->role == BT_CLIENT ? 0 : 1];
	mq_in = (mqd_t)c->fd[c->role == BT_CLIENT ? 1 : 0];
	return 0;
}

static int pmq_send(struct bt_ctx *c, const void *msg, size_t len)
{
	while (mq_send(mq_out, msg, len, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int pmq_recv(struct bt_ctx *c, void *buf, size_t len)
{
	ssize_t n;
	while ((n = mq_receive(mq_in, buf, c->max_size, NULL)) < 0)
		if (errno != EINTR)
			return -errno;
	if ((size_t)n != len)
		return bt_fail(c, -EBADMSG, "a message of %zd bytes, expected %zu", n, len);
	return 0;
}

static const struct bt_transport posix_mq = {
    .name = "posix-mq",
    .what = "POSIX message queues (mq_send/mq_receive), depth 10, unlinked once open",
    .order = BT_ORDER_KERNEL + 6,
    .flags = BT_SLEEPING,
    .setup = pmq_setup,
    .attach = pmq_attach,
    .send = pmq_send,
    .recv = pmq_recv,
};
BT_REGISTER(posix_mq);

/* ---- System V message queue ---- */

struct smq {
	int out, in;
	struct msgbuf *buf; /* the API's mtype + text: messages are copied through it */
};

static struct smq smq;

static int smq_ids[2] = {-1, -1};

static int smq_setup(struct bt_ctx *c)
{
	char id[16];
	for (int dir = 0; dir < 2; dir++) {
		if ((smq_ids[dir] = msgget(IPC_PRIVATE, IPC_CREAT | 0600)) < 0)
			return bt_fail(c, -errno, "msgget");
		snprintf(id, sizeof(id), "%d", smq_ids[dir]);
		c->host->track("sysv-msg", id);
	}
	snprintf(c->arg, sizeof(c->arg), "%d %d", smq_ids[0], smq_ids[1]);
	FILE *f = fopen("/proc/sys/kernel/msgmax", "r");
	unsigned long msgmax = 8192;
	if (f && fscanf(f, "%lu", &msgmax) != 1)
		msgmax = 8192;
	if (f)
		fclose(f);
	if (msgmax < c->max_size) {
		c->max_size = msgmax;
		snprintf(c->why_max, sizeof(c->why_max), "a message is at most kernel.msgmax = %lu",
		         msgmax);
	}
	return 0;
}

static int smq_attach(struct bt_ctx *c)
{
	int ids[2];
	if (sscanf(c->arg, "%d %d", &ids[0], &ids[1]) != 2)
		return -EINVAL;
	smq.out = ids[c->role == BT_CLIENT ? 0 : 1];
	smq.in = ids[c->role == BT_CLIENT ? 1 : 0];
	smq.buf = malloc(sizeof(long) + c->max_size);
	return smq.buf ? 0 : -ENOMEM;
}

static int smq_send(struct bt_ctx *c, const void *msg, size_t len)
{
	smq.buf->mtype = 1;
	memcpy(smq.buf->mtext, msg, len);
	while (msgsnd(smq.out, smq.buf, len, 0) < 0)
		if (errno != EINTR)
			return errno == EINVAL ? -EMSGSIZE : -errno;
	return 0;
}

static int smq_recv(struct bt_ctx *c, void *buf, size_t len)
{
	ssize_t n;
	while ((n = msgrcv(smq.in, smq.buf, c->max_size, 0, 0)) < 0)
		if (errno != EINTR)
			return -errno;
	if ((size_t)n != len)
		return bt_fail(c, -EBADMSG, "a message of %zd bytes, expected %zu", n, len);
	memcpy(buf, smq.buf->mtext, len);
	return 0;
}

static void smq_teardown(struct bt_ctx *c)
{
	char id[16];
	for (int dir = 0; dir < 2; dir++) {
		if (smq_ids[dir] < 0)
			continue;
		msgctl(smq_ids[dir], IPC_RMID, NULL);
		snprintf(id, sizeof(id), "%d", smq_ids[dir]);
		c->host->untrack("sysv-msg", id);
		smq_ids[dir] = -1;
	}
}

static const struct bt_transport sysv_mq = {
    .name = "sysv-mq",
    .what = "System V message queues (msgsnd/msgrcv), kernel default limits",
    .order = BT_ORDER_KERNEL + 7,
    .flags = BT_SLEEPING,
    .setup = smq_setup,
    .attach = smq_attach,
    .send = smq_send,
    .recv = smq_recv,
    .teardown = smq_teardown,
};
BT_REGISTER(sysv_mq);

/* ---- eventfd ---- */

static int efd_out, efd_in;

static int efd_setup(struct bt_ctx *c)
{
	for (int dir = 0; dir < 2; dir++)
		if ((c->fd[dir] = eventfd(0, EFD_CLOEXEC)) < 0)
			return bt_fail(c, -errno, "eventfd");
	c->nfd = 2;
	if (c->max_size > 8) {
		c->max_size = 8;
		snprintf(c->why_max, sizeof(c->why_max), "an eventfd carries one 8-byte counter");
	}
	return 0;
}

static int efd_attach(struct bt_ctx *c)
{
	efd_out = c->fd[c->role == BT_CLIENT ? 0 : 1];
	efd_in = c->fd[c->role == BT_CLIENT ? 1 : 0];
	return 0;
}

/* The message is the counter's value (never 0: it starts with the sequence number). */
static int efd_send(struct bt_ctx *c, const void *msg, size_t len)
{
	uint64_t v;
	memcpy(&v, msg, sizeof(v));
	return bt_write_all(efd_out, &v, sizeof(v));
}

static int efd_recv(struct bt_ctx *c, void *buf, size_t len)
{
	uint64_t v;
	int r = bt_read_all(efd_in, &v, sizeof(v));
	memcpy(buf, &v, sizeof(v));
	return r;
}

static const struct bt_transport eventfd_transport = {
    .name = "eventfd",
    .what = "two eventfds, the 8-byte message is the counter value, blocking read",
    .order = BT_ORDER_KERNEL + 8,
    .flags = BT_SLEEPING | BT_RT_ONLY,
    .setup = efd_setup,
    .attach = efd_attach,
    .send = efd_send,
    .recv = efd_recv,
};
BT_REGISTER(eventfd_transport);
