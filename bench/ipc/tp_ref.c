/* SPDX-License-Identifier: MIT */
/*
 * The physical references, measured in the same run as everything else:
 *
 *   ref-pingpong  one shared slot per direction, the receiver spins on the message's first
 *                 word: at 64 B a message is exactly one cache line moving between the two
 *                 CPUs. The floor for any busy-polling shared-memory transport.
 *   ref-futex     the same slots, the receiver sleeps in FUTEX_WAIT and the sender always
 *                 calls FUTEX_WAKE: the floor for any transport whose receivers sleep.
 *   ref-ring      a bare SPSC ring with the layout of shmkit's (1024 slots of 128 bytes, a
 *                 16-byte header with the slot's sequence number before the message), and
 *                 nothing else: no roles, no crash or corruption checks, no wake-ups; its
 *                 receiver polls both lines of the slot it waits for, as shmkit's does
 *                 (src/chan/spsc.h). What a message costs when every one moves through a
 *                 new slot rather than the same line: the floor for a ring, for 64 B.
 *   ref-ring-line a ring of 1024 slots of one line and no header: at 64 B the message is its
 *                 slot, and the receiver spins on its first word, as ref-pingpong's does,
 *                 until it differs from the first word of the message a lap before in that
 *                 slot (the harness's sequence number sees to it). No ring can publish a
 *                 64-byte message in fewer lines: the floor for any ring of that capacity,
 *                 whatever its header, and so what a ring costs against ref-pingpong's one
 *                 line reused.
 *   memcpy        one copy of the message within one process: the bandwidth floor of a
 *                 copying transport.
 *
 * Memory ordering: the sender copies the message's bytes after the first word, then stores
 * the first word with release (BARRIER_1); the receiver's acquire load that sees the new
 * word (BARRIER_1) makes the rest visible. A slot is written again only after its reader
 * answered, so the receiver's copy never races with the next write. ref-ring: the sender
 * stores a slot's sequence number (position + 1) with release after its bytes, the receiver
 * loads it with acquire before reading them (BARRIER_2); the receiver stores head with
 * release once done with a slot, the sender loads it with acquire before reusing one
 * (BARRIER_3). ref-ring-line: the sender stores the first word with release after the rest
 * (BARRIER_1); head as ref-ring's (BARRIER_3).
 */
#include <linux/futex.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal/atomic.h"
#include "transport.h"

struct slots {
	unsigned char *out, *in;
	uint32_t last_in; /* the first word of the message received last */
	size_t bytes;
};

static struct slots sl;

static size_t slot_bytes(size_t max)
{
	return (max + 4095) & ~(size_t)4095;
}

static int slots_setup(struct bt_ctx *c)
{
	int fd = memfd_create("shmkit-bench-ref", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(2 * slot_bytes(c->max_size))) < 0)
		return bt_fail(c, -errno, "memfd");
	c->fd[0] = fd;
	c->nfd = 1;
	return 0;
}

static int slots_attach(struct bt_ctx *c)
{
	sl.bytes = slot_bytes(c->max_size);
	unsigned char *base =
	    mmap(NULL, 2 * sl.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd[0], 0);
	close(c->fd[0]);
	if (base == MAP_FAILED)
		return bt_fail(c, -errno, "mmap");
	sl.out = base + (c->role == BT_CLIENT ? 0 : sl.bytes);
	sl.in = base + (c->role == BT_CLIENT ? sl.bytes : 0);
	return 0;
}

static SK_ATOMIC(uint32_t) * flag(unsigned char *slot)
{
	return (SK_ATOMIC(uint32_t) *)(void *)slot;
}

static void slot_put(const void *msg, size_t len)
{
	uint32_t first;
	memcpy(sl.out + 4, (const unsigned char *)msg + 4, len - 4);
	memcpy(&first, msg, sizeof(first));
	sk_store_release(flag(sl.out), first); /* BARRIER_1: publishes the bytes before it */
}

static void slot_take(void *buf, size_t len)
{
	memcpy(buf, sl.in, len);
	memcpy(&sl.last_in, sl.in, sizeof(sl.last_in));
}

static int spin_send(struct bt_ctx *c, const void *msg, size_t len)
{
	slot_put(msg, len);
	return 0;
}

static int spin_recv(struct bt_ctx *c, void *buf, size_t len)
{
	while (sk_load_acquire(flag(sl.in)) == sl.last_in) /* BARRIER_1 */
		sk_cpu_relax();
	slot_take(buf, len);
	return 0;
}

static const struct bt_transport ref_pingpong = {
    .name = "ref-pingpong",
    .what = "reference: one shared slot per direction, busy-polling receiver (one cache line "
            "at 64 B)",
    .order = BT_ORDER_REF + 1,
    .flags = BT_BUSY | BT_RT_ONLY,
    .setup = slots_setup,
    .attach = slots_attach,
    .send = spin_send,
    .recv = spin_recv,
};
BT_REGISTER(ref_pingpong);

/* ---- raw futex wait/wake ---- */

static long futex(SK_ATOMIC(uint32_t) * w, int op, uint32_t val)
{
	return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

static int futex_send(struct bt_ctx *c, const void *msg, size_t len)
{
	slot_put(msg, len);
	futex(flag(sl.out), FUTEX_WAKE, 1); /* always: no waiter flag, the raw protocol */
	return 0;
}

static int futex_recv(struct bt_ctx *c, void *buf, size_t len)
{
	while (sk_load_acquire(flag(sl.in)) == sl.last_in) /* BARRIER_1 */
		if (futex(flag(sl.in), FUTEX_WAIT, sl.last_in) < 0 && errno != EAGAIN &&
		    errno != EINTR)
			return -errno;
	slot_take(buf, len);
	return 0;
}

static const struct bt_transport ref_futex = {
    .name = "ref-futex",
    .what = "reference: the same slots, receiver sleeps in FUTEX_WAIT at once, sender always "
            "FUTEX_WAKEs",
    .order = BT_ORDER_REF + 2,
    .flags = BT_SLEEPING | BT_RT_ONLY,
    .setup = slots_setup,
    .attach = slots_attach,
    .send = futex_send,
    .recv = futex_recv,
};
BT_REGISTER(ref_futex);

/* ---- bare rings: ref-ring (shmkit's layout) and ref-ring-line (no header) ---- */

enum { RING_SLOTS = 1024, RING_SLOT = 128, RING_HDR = 16, RING_MSG = RING_SLOT - RING_HDR };
enum { LINE_SLOT = 64 };

struct ring_dir {
	SK_ATOMIC(uint64_t) * head; /* the receiver's position, on a line of its own */
	unsigned char *slots;       /* RING_SLOTS slots */
	size_t slot;                /* bytes a slot */
	uint64_t pos, other;        /* ours, and the other side's as last seen */
};

static struct ring_dir rout, rin;

static size_t ring_dir_bytes(size_t slot)
{
	return 64 + (size_t)RING_SLOTS * slot;
}

/* Both directions' rings of slot-byte slots in one memfd; messages of 64 B at most. */
static int rings_setup(struct bt_ctx *c, size_t slot, const char *why)
{
	if (c->max_size > 64) {
		c->max_size = 64;
		snprintf(c->why_max, sizeof(c->why_max), "%s: run at 64 B only", why);
	}
	int fd = memfd_create("shmkit-bench-ring", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(2 * ring_dir_bytes(slot))) < 0)
		return bt_fail(c, -errno, "memfd");
	c->fd[0] = fd;
	c->nfd = 1;
	return 0;
}

static int rings_attach(struct bt_ctx *c, size_t slot)
{
	size_t dir = ring_dir_bytes(slot);
	unsigned char *base = mmap(NULL, 2 * dir, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd[0], 0);
	close(c->fd[0]);
	if (base == MAP_FAILED)
		return bt_fail(c, -errno, "mmap");
	for (int d = 0; d < 2; d++) {
		struct ring_dir *x = d == (c->role == BT_CLIENT ? 0 : 1) ? &rout : &rin;
		x->head = (SK_ATOMIC(uint64_t) *)(void *)(base + (size_t)d * dir);
		x->slots = base + (size_t)d * dir + 64;
		x->slot = slot;
	}
	return 0;
}

static unsigned char *ring_slot(const struct ring_dir *d, uint64_t pos)
{
	return d->slots + (pos % RING_SLOTS) * d->slot;
}

/* The sender's next slot, once the receiver has freed it. */
static unsigned char *ring_room(void)
{
	uint64_t t = rout.pos;
	while (t - rout.other >= RING_SLOTS) {
		rout.other = sk_load_acquire(rout.head); /* BARRIER_3 */
		if (t - rout.other >= RING_SLOTS)
			sk_cpu_relax();
	}
	return ring_slot(&rout, t);
}

/* The receiver is done with its slot: head passes it. */
static void ring_free(void)
{
	sk_store_release(rin.head, ++rin.pos); /* BARRIER_3 */
}

static int ring_setup(struct bt_ctx *c)
{
	return rings_setup(c, RING_SLOT, "the floor of shmkit's ring for 64-byte messages");
}

static int ring_attach(struct bt_ctx *c)
{
	return rings_attach(c, RING_SLOT);
}

static SK_ATOMIC(uint64_t) * ring_seq(unsigned char *slot)
{
	return (SK_ATOMIC(uint64_t) *)(void *)slot;
}

static int ring_send(struct bt_ctx *c, const void *msg, size_t len)
{
	if (len > RING_MSG)
		return -EMSGSIZE;
	unsigned char *s = ring_room();
	memcpy(s + RING_HDR, msg, len);
	memcpy(s + 8, &(uint32_t){(uint32_t)len}, 4);
	sk_store_release(ring_seq(s), ++rout.pos); /* BARRIER_2: seq = position + 1 */
	return 0;
}

static int ring_recv(struct bt_ctx *c, void *buf, size_t len)
{
	unsigned char *s = ring_slot(&rin, rin.pos);
	while (sk_load_acquire(ring_seq(s)) != rin.pos + 1) { /* BARRIER_2 */
		(void)*(volatile unsigned char *)(s + 64);    /* the second line: in flight too */
		sk_cpu_relax();
	}
	uint32_t n;
	memcpy(&n, s + 8, 4);
	if (n != len) /* checked before it is used: a message is len bytes here */
		return bt_fail(c, -EBADMSG, "ref-ring: a message of %u bytes, not %zu", n, len);
	memcpy(buf, s + RING_HDR, n);
	ring_free();
	return 0;
}

static const struct bt_transport ref_ring = {
    .name = "ref-ring",
    .what = "reference: a bare SPSC ring with shmkit's layout (1024 slots of 128 B, seq "
            "before the message), busy-polling, nothing else (64 B only)",
    .order = BT_ORDER_REF + 1,
    .flags = BT_BUSY,
    .setup = ring_setup,
    .attach = ring_attach,
    .send = ring_send,
    .recv = ring_recv,
};
BT_REGISTER(ref_ring);

/* ---- a ring of one-line slots, no header ---- */

static uint32_t line_last[RING_SLOTS]; /* the receiver's: each slot's first word, last read */

static int line_setup(struct bt_ctx *c)
{
	return rings_setup(c, LINE_SLOT, "the floor of any ring for 64-byte messages");
}

static int line_attach(struct bt_ctx *c)
{
	return rings_attach(c, LINE_SLOT);
}

static int line_send(struct bt_ctx *c, const void *msg, size_t len)
{
	if (len < 4 || len > LINE_SLOT)
		return -EMSGSIZE;
	unsigned char *s = ring_room();
	uint32_t first;
	memcpy(s + 4, (const unsigned char *)msg + 4, len - 4);
	memcpy(&first, msg, sizeof(first));
	sk_store_release(flag(s), first); /* BARRIER_1 */
	rout.pos++;
	return 0;
}

static int line_recv(struct bt_ctx *c, void *buf, size_t len)
{
	unsigned char *s = ring_slot(&rin, rin.pos);
	uint32_t *last = &line_last[rin.pos % RING_SLOTS];
	while (sk_load_acquire(flag(s)) == *last) /* BARRIER_1 */
		sk_cpu_relax();
	memcpy(buf, s, len); /* len: the harness's, at most max_size, 64 */
	memcpy(last, s, sizeof(*last));
	ring_free();
	return 0;
}

static const struct bt_transport ref_ring_line = {
    .name = "ref-ring-line",
    .what = "reference: a ring of 1024 one-line slots with no header, the receiver spinning on "
            "the first word (the floor of any ring; 64 B only)",
    .order = BT_ORDER_REF + 1,
    .flags = BT_BUSY,
    .setup = line_setup,
    .attach = line_attach,
    .send = line_send,
    .recv = line_recv,
};
BT_REGISTER(ref_ring_line);

/* ---- memcpy ---- */

static unsigned char *dst;

static int none_setup(struct bt_ctx *c)
{
	return 0;
}

static int memcpy_attach(struct bt_ctx *c)
{
	dst = aligned_alloc(64, slot_bytes(c->max_size));
	if (!dst)
		return -ENOMEM;
	memset(dst, 0, slot_bytes(c->max_size)); /* fault the pages in before timing */
	return 0;
}

static int memcpy_send(struct bt_ctx *c, const void *msg, size_t len)
{
	memcpy(dst, msg, len);
	return 0;
}

static int memcpy_view(struct bt_ctx *c, size_t len, const void **buf)
{
	*buf = dst;
	return 0;
}

static const struct bt_transport memcpy_transport = {
    .name = "memcpy",
    .what = "reference: one memcpy of the message within the client process (bandwidth floor)",
    .order = BT_ORDER_REF + 3,
    .flags = BT_LOCAL | BT_TP_ONLY,
    .setup = none_setup,
    .attach = memcpy_attach,
    .send = memcpy_send,
    .view = memcpy_view,
};
BT_REGISTER(memcpy_transport);
