/* SPDX-License-Identifier: MIT */
/*
 * ck-ring: Concurrency Kit's ck_ring, single producer / single consumer, typed 64-byte
 * slots, one ring per direction in a shared memfd, both sides busy-polling. A message
 * spans ceil(size / 64) slots. ck_ring keeps only indices in its header and takes the
 * buffer as an argument, which is what lets it live in memory shared between processes.
 */
#include <ck_ring.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal/atomic.h"
#include "transport.h"

enum { SLOT = 64, SLOTS = 1024, HDR = 4096 }; /* 64 KiB of slots per direction */

struct slot {
	unsigned char b[SLOT];
};

CK_RING_PROTOTYPE(slot, slot)

struct dir {
	struct ck_ring *ring;
	struct slot *buf;
};

static struct dir out, in;

static size_t total(void)
{
	return 2 * HDR + 2 * (size_t)SLOTS * SLOT;
}

static void locate(unsigned char *base, int d, struct dir *x)
{
	x->ring = (struct ck_ring *)(void *)(base + (size_t)d * HDR);
	x->buf = (struct slot *)(void *)(base + 2 * HDR + (size_t)d * SLOTS * SLOT);
}

/* A small-message reference: beyond 64 KiB (1024 slots a message) it only measures a loop. */
enum { CK_MAX = 64 * 1024 };

static int ck_setup(struct bt_ctx *c)
{
	if (c->max_size > CK_MAX) {
		c->max_size = CK_MAX;
		snprintf(c->why_max, sizeof(c->why_max),
		         "64-byte slots: a reference for small messages, run up to 64 KiB");
	}
	int fd = memfd_create("shmkit-bench-ck", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)total()) < 0)
		return bt_fail(c, -errno, "memfd");
	unsigned char *p = mmap(NULL, total(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return bt_fail(c, -errno, "mmap");
	struct dir d;
	for (int i = 0; i < 2; i++) {
		locate(p, i, &d);
		ck_ring_init(d.ring, SLOTS);
	}
	munmap(p, total());
	c->fd[0] = fd;
	c->nfd = 1;
	return 0;
}

static int ck_attach(struct bt_ctx *c)
{
	unsigned char *p = mmap(NULL, total(), PROT_READ | PROT_WRITE, MAP_SHARED, c->fd[0], 0);
	close(c->fd[0]);
	if (p == MAP_FAILED)
		return bt_fail(c, -errno, "mmap");
	locate(p, c->role == BT_CLIENT ? 0 : 1, &out);
	locate(p, c->role == BT_CLIENT ? 1 : 0, &in);
	return 0;
}

static int ck_send(struct bt_ctx *c, const void *msg, size_t len)
{
	const unsigned char *m = msg;
	struct slot s;
	for (size_t off = 0; off < len; off += SLOT) {
		size_t n = len - off < SLOT ? len - off : SLOT;
		memcpy(s.b, m + off, n);
		while (!ck_ring_enqueue_spsc_slot(out.ring, out.buf, &s))
			sk_cpu_relax(); /* full: the consumer is behind */
	}
	return 0;
}

static int ck_recv(struct bt_ctx *c, void *buf, size_t len)
{
	unsigned char *m = buf;
	struct slot s;
	for (size_t off = 0; off < len; off += SLOT) {
		size_t n = len - off < SLOT ? len - off : SLOT;
		while (!ck_ring_dequeue_spsc_slot(in.ring, in.buf, &s))
			sk_cpu_relax(); /* empty: busy-poll */
		memcpy(m + off, s.b, n);
	}
	return 0;
}

static const struct bt_transport ck_ring = {
    .name = "ck-ring",
    .what = "Concurrency Kit ck_ring SPSC, 64-byte slots (a message spans size/64), "
            "busy-polling both ways",
    .order = BT_ORDER_PEER + 1,
    .flags = BT_BUSY,
    .setup = ck_setup,
    .attach = ck_attach,
    .send = ck_send,
    .recv = ck_recv,
};
BT_REGISTER(ck_ring);
