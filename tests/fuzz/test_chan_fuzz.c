/* SPDX-License-Identifier: MIT */
/*
 * Description: a hostile ring. A header that lies about its geometry is refused at open
 * (-EBADMSG; an unknown version -EPROTO). Then, for every kind, the ring file is mapped
 * read-write and garbage — random and targeted values — is written into header fields
 * (positions, counters, owners, the redo table, geometry), participant records (state,
 * claims, holds, cursors) and slots (seq, length), between and while processes that hold a
 * peek and a loan, and processes that open afresh, call everything with deadlines. Every
 * call must return in time with a result it may return (0 or a length that fits, or
 * -EPROTO, -EBADMSG, -EAGAIN, -ETIMEDOUT, -EPIPE, -EOVERFLOW, -EMSGSIZE, -ECANCELED), and
 * touching what peek and loan hand out must stay inside the mapping: no crash, no hang.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../chan/chantest.h"
#include "chan/chan.h"

#define MSG 64
#define CAP 8
#define DL  20 /* ms: every blocking call's deadline */

static const uint32_t kinds[] = {SHMKIT_CHAN_SPSC, SHMKIT_CHAN_MPMC, SHMKIT_CHAN_BROADCAST};

struct shared {
	_Atomic int ready, go;
	char why[200];
};
static struct shared *sh;

#define BAD(...)                                                                                   \
	do {                                                                                       \
		snprintf(sh->why, sizeof(sh->why), __VA_ARGS__);                                   \
		_exit(2);                                                                          \
	} while (0)

static void ring_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "/dev/shm/shmkit.chan.%s/ring", name);
}

/* ---- lying geometry ---- */

struct lie {
	const char *what;
	size_t off, width;
	uint64_t value;
	int want;
};

Test(fuzz, chan_lying_geometry_is_refused)
{
	const struct lie lies[] = {
	    {"magic", 0, 4, 0x4e414844, -EBADMSG},
	    {"version", 4, 4, 2, -EPROTO},
	    {"kind 0", 8, 4, 0, -EBADMSG},
	    {"kind 4", 8, 4, 4, -EBADMSG},
	    {"nparts", 12, 4, 63, -EBADMSG},
	    {"msg_size 0", 16, 8, 0, -EBADMSG},
	    {"msg_size past the slot", 16, 8, 2 * MSG, -EBADMSG},
	    {"msg_size huge", 16, 8, UINT64_MAX, -EBADMSG},
	    {"capacity 0", 24, 8, 0, -EBADMSG},
	    {"capacity 6", 24, 8, 6, -EBADMSG},
	    {"capacity past the file", 24, 8, 64, -EBADMSG},
	    {"capacity huge", 24, 8, (uint64_t)1 << 40, -EBADMSG},
	    {"slot_size 0", 32, 4, 0, -EBADMSG},
	    {"slot_size below a message", 32, 4, MSG, -EBADMSG},
	    {"slot_size unaligned", 32, 4, 129, -EBADMSG},
	    {"slot_size past the file", 32, 4, 1u << 20, -EBADMSG},
	    {"slot_size huge", 32, 4, UINT32_MAX, -EBADMSG},
	    {"slots_off 0", 40, 8, 0, -EBADMSG},
	    {"slots_off 4096", 40, 8, 4096, -EBADMSG},
	    {"size 0", 48, 8, 0, -EBADMSG},
	    {"size past the file", 48, 8, 1u << 20, -EBADMSG},
	    {"size huge", 48, 8, UINT64_MAX, -EBADMSG},
	};
	for (size_t k = 0; k < 3; k++) {
		const char *name = chan_fresh(kinds[k], MSG, CAP, 0);
		char path[300];
		ring_path(path, sizeof(path), name);
		int fd = open(path, O_RDWR);
		cr_assert_geq(fd, 0);
		unsigned char hdr[64];
		cr_assert_eq(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
		for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
			const struct lie *l = &lies[i];
			unsigned char v[8];
			memcpy(v, &l->value, 8); /* little-endian: the low bytes first */
			cr_assert_eq(pwrite(fd, v, l->width, (off_t)l->off), (ssize_t)l->width);
			shmkit_chan_t *c = NULL;
			cr_assert_eq(shmkit_chan_open(&c, name, SHMKIT_CHAN_SEND), l->want,
			             "kind %u, %s: send", kinds[k], l->what);
			cr_assert_eq(shmkit_chan_open(&c, name, SHMKIT_CHAN_RECV), l->want,
			             "kind %u, %s: receive", kinds[k], l->what);
			cr_assert_eq(shmkit_chan_stat(name, NULL, NULL, 0), l->want,
			             "kind %u, %s: stat", kinds[k], l->what);
			cr_assert_eq(pwrite(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
		}
		/* A file too short for what it says. */
		struct stat st;
		cr_assert_eq(fstat(fd, &st), 0);
		cr_assert_eq(ftruncate(fd, SK_CHAN_SLOTS), 0);
		shmkit_chan_t *c = NULL;
		cr_assert_eq(shmkit_chan_open(&c, name, SHMKIT_CHAN_RECV), -EBADMSG,
		             "kind %u: short", kinds[k]);
		cr_assert_eq(ftruncate(fd, st.st_size), 0);
		/* The truth, told again, opens. */
		cr_assert_eq(shmkit_chan_open(&c, name, SHMKIT_CHAN_SEND), 0);
		shmkit_chan_close(c);
		close(fd);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
}

/*
 * Positions near 2^64 (tail and head at 64 and 128): SPSC refuses them at open; MPMC and
 * broadcast at the claim. None hands out a loan it could not take back, or wraps.
 */
Test(fuzz, chan_lying_positions_are_refused)
{
	const uint64_t lies[] = {UINT64_MAX, UINT64_MAX - 1, (uint64_t)1 << 63, SK_SEQ_POS};
	for (size_t k = 0; k < 3; k++)
		for (size_t i = 0; i < sizeof(lies) / sizeof(lies[0]); i++) {
			const char *name = chan_fresh(kinds[k], MSG, CAP, 0);
			char path[300];
			ring_path(path, sizeof(path), name);
			int fd = open(path, O_RDWR);
			cr_assert_geq(fd, 0);
			uint64_t pos[2] = {lies[i], lies[i] - 1}; /* tail, then head: one queued */
			cr_assert_eq(pwrite(fd, &pos[0], 8, 64), 8);
			cr_assert_eq(pwrite(fd, &pos[1], 8, 128), 8);
			close(fd);
			shmkit_chan_t *tx = NULL, *rx = NULL;
			int e = shmkit_chan_open(&tx, name, SHMKIT_CHAN_SEND);
			if (kinds[k] == SHMKIT_CHAN_SPSC) {
				cr_assert_eq(e, -EPROTO, "SPSC, tail %#llx: open",
				             (unsigned long long)lies[i]);
				cr_assert_eq(shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV),
				             -EPROTO);
				struct shmkit_chan_info info;
				cr_assert_geq(shmkit_chan_stat(name, &info, NULL, 0), 0);
				cr_assert_eq(info.senders + info.receivers, 0, "nobody stays in");
			} else {
				cr_assert_eq(e, 0);
				void *slot = NULL;
				struct timespec dl = chan_in_ms(100);
				cr_assert_eq(shmkit_chan_loan(tx, 8, &slot, &dl), -EPROTO,
				             "kind %u, tail %#llx: loan", kinds[k],
				             (unsigned long long)lies[i]);
				cr_assert_eq(shmkit_chan_trysend(tx, "x", 1), -EPROTO);
				shmkit_chan_close(tx);
			}
			cr_assert_eq(shmkit_chan_unlink(name), 0);
		}
}

/* SPSC owner words that name nobody (out of range) or a record of the other role: the roles
 * are free, not taken for good (every open said -EBUSY). */
Test(fuzz, chan_lying_owners_do_not_wedge_the_roles)
{
	for (int lie = 0; lie < 2; lie++) {
		const char *name = chan_fresh(SHMKIT_CHAN_SPSC, MSG, CAP, 0);
		shmkit_chan_t *rx = NULL, *tx = NULL;
		if (lie == 1)
			rx = chan_open(name, SHMKIT_CHAN_RECV); /* record 0, a live receiver */
		char path[300];
		ring_path(path, sizeof(path), name);
		int fd = open(path, O_RDWR);
		cr_assert_geq(fd, 0);
		uint32_t owners[2] = {lie ? 1u : 1000u, lie ? 1u : 65u}; /* tx_owner, rx_owner */
		cr_assert_eq(pwrite(fd, &owners[0], 4, offsetof(struct sk_chan_hdr, tx_owner)), 4);
		if (!lie)
			cr_assert_eq(
			    pwrite(fd, &owners[1], 4, offsetof(struct sk_chan_hdr, rx_owner)), 4);
		close(fd);
		cr_assert_eq(shmkit_chan_open(&tx, name, SHMKIT_CHAN_SEND), 0, "lie %d: send role",
		             lie);
		if (!lie)
			cr_assert_eq(shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV), 0,
			             "receive role");
		shmkit_chan_t *again = NULL;
		cr_assert_eq(shmkit_chan_open(&again, name, SHMKIT_CHAN_SEND), -EBUSY,
		             "and it is ours now");
		cr_assert_eq(shmkit_chan_trysend(tx, "x", 1), 0);
		char buf[8];
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), 1);
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
	}
}

/* An open refused (-EBUSY) gives its record back at once, counted neither way. */
Test(fuzz, chan_refused_open_leaves_no_record)
{
	const char *name = chan_fresh(SHMKIT_CHAN_SPSC, MSG, CAP, 0);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND), *t2 = NULL;
	cr_assert_eq(shmkit_chan_open(&t2, name, SHMKIT_CHAN_SEND), -EBUSY);
	char path[300];
	ring_path(path, sizeof(path), name);
	int fd = open(path, O_RDONLY);
	cr_assert_geq(fd, 0);
	struct sk_chan_part parts[2];
	cr_assert_eq(pread(fd, parts, sizeof(parts), SK_CHAN_HDR), (ssize_t)sizeof(parts));
	cr_assert_eq(parts[0].state, SK_PART_LIVE);
	cr_assert_eq(parts[1].state, SK_PART_FREE, "the refused opener's record is free");
	shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV); /* looks at everyone */
	struct sk_chan_hdr h;
	cr_assert_eq(pread(fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
	cr_assert_eq(h.opens[0], 1);
	cr_assert_eq(h.leaves[0], 0, "nobody counted as gone: the sender is alive");
	close(fd);
	shmkit_chan_close(rx);
	shmkit_chan_close(tx);
}

/* The ring of channel name, mapped read-write (its length in *len). */
static uint64_t *ring_rw(const char *name, size_t *len)
{
	char path[300];
	ring_path(path, sizeof(path), name);
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	*len = (size_t)st.st_size;
	uint64_t *ring = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(ring, MAP_FAILED);
	close(fd);
	return ring;
}

static uint64_t *slot_seq(uint64_t *ring, uint64_t cap, uint32_t slot_size, uint64_t pos)
{
	return (uint64_t *)(void *)((char *)ring + SK_CHAN_SLOTS + (pos & (cap - 1)) * slot_size);
}

/* A slot rolled back to a state no participant leaves (MPMC: two laps old at an empty ring;
 * SPSC: "not yet" at a position tail has passed) is reported (-EPROTO), not waited on for
 * ever (the calls without a deadline returned never). */
Test(fuzz, chan_rolled_back_slots_are_reported, .timeout = 30)
{
	for (int spsc = 0; spsc < 2; spsc++) {
		const char *name = chan_fresh(spsc ? SHMKIT_CHAN_SPSC : SHMKIT_CHAN_MPMC, 8, 4, 0);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		char buf[8];
		for (int i = 0; i < (spsc ? 1 : 4); i++) {
			cr_assert_eq(shmkit_chan_trysend(tx, "x", 1), 0);
			if (!spsc)
				cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), 1);
		}
		size_t len;
		uint64_t *ring = ring_rw(name, &len);
		uint32_t slot_size = ((struct sk_chan_hdr *)(void *)ring)->slot_size;
		/* MPMC: position 4's slot says 0; SPSC: position 0, published, says "not yet". */
		atomic_store((_Atomic uint64_t *)slot_seq(ring, 4, slot_size, spsc ? 0 : 4), 0);
		uint64_t t0 = chan_now_ms();
		ssize_t r = shmkit_chan_recv(rx, buf, sizeof(buf), NULL);
		cr_assert_eq(r, -EPROTO, "%s: recv without a deadline: %zd", spsc ? "SPSC" : "MPMC",
		             r);
		cr_assert_lt(chan_now_ms() - t0, 1000);
		if (!spsc) {
			cr_assert_eq(shmkit_chan_send(tx, "x", 1, NULL), -EPROTO, "MPMC: send");
			cr_assert_eq(shmkit_chan_trysend(tx, "x", 1), -EPROTO);
			cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), -EPROTO);
		}
		munmap(ring, len);
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
	}
}

/* MPMC: a slot that says a later lap at a position tail (head) has not left: no sender
 * (receiver) writes a slot before it moves tail (head) past it, so the try calls say -EPROTO
 * at once, not -EAGAIN for ever. */
Test(fuzz, chan_slots_ahead_of_the_positions_are_reported)
{
	for (int side = 0; side < 2; side++) { /* 0: the sender's slot, 1: the receiver's */
		const char *name = chan_fresh(SHMKIT_CHAN_MPMC, 8, 4, 0);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		char buf[8];
		size_t len;
		uint64_t *ring = ring_rw(name, &len);
		uint32_t slot_size = ((struct sk_chan_hdr *)(void *)ring)->slot_size;
		/* position 0 (head == tail == 0): a later lap's free slot, or its message */
		atomic_store((_Atomic uint64_t *)slot_seq(ring, 4, slot_size, 0), side ? 6 : 4);
		for (int i = 0; i < 3; i++) {
			if (side)
				cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), -EPROTO);
			else
				cr_assert_eq(shmkit_chan_trysend(tx, "x", 1), -EPROTO);
		}
		munmap(ring, len);
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
	}
}

/* MPMC: a close with a message peeked gives it back even while another live record's hold
 * names it for good (a lie): the next receiver gets it, and the close does not spin. */
Test(fuzz, chan_close_gives_a_peek_back_past_a_lying_hold)
{
	const char *name = chan_fresh(SHMKIT_CHAN_MPMC, 8, 4, 0);
	shmkit_chan_t *a = chan_open(name, SHMKIT_CHAN_RECV),
	              *b = chan_open(name, SHMKIT_CHAN_RECV);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
	cr_assert_eq(shmkit_chan_trysend(tx, "held", 5), 0);
	const void *msg;
	cr_assert_eq(shmkit_chan_trypeek(a, &msg), 5);
	size_t len;
	uint64_t *ring = ring_rw(name, &len);
	struct sk_chan_part *parts = (void *)((char *)ring + SK_CHAN_HDR);
	for (int i = 0; i < 3; i++) /* every other record says it holds position 0 */
		if (atomic_load(&parts[i].state) == SK_PART_LIVE &&
		    atomic_load(&parts[i].hold) != 0)
			atomic_store(&parts[i].hold, 0);
	uint64_t t0 = chan_now_ms();
	cr_assert_eq(shmkit_chan_close(a), 0);
	cr_assert_lt(chan_now_ms() - t0, 2000);
	atomic_store(&parts[1].hold, SK_CHAN_NONE); /* b's own record, lying no more */
	char buf[8];
	cr_assert_eq(shmkit_chan_tryrecv(b, buf, sizeof(buf)), 5, "the message came back");
	cr_assert_str_eq(buf, "held");
	munmap(ring, len);
	shmkit_chan_close(tx);
	shmkit_chan_close(b);
}

/* ---- garbage ---- */

static int ok_send(int e)
{
	/* -EMSGSIZE: a header that lied about msg_size, but consistently, when we opened */
	return e == 0 || e == -EPROTO || e == -EBADMSG || e == -EAGAIN || e == -ETIMEDOUT ||
	       e == -EPIPE || e == -ECANCELED || e == -EMSGSIZE;
}

static int ok_recv(ssize_t n, size_t cap)
{
	return (n >= 0 && (size_t)n <= cap) || n == -EPROTO || n == -EBADMSG || n == -EAGAIN ||
	       n == -ETIMEDOUT || n == -EPIPE || n == -EOVERFLOW || n == -EMSGSIZE;
}

static int ok_open(int e)
{
	return e == 0 || e == -EBADMSG || e == -EPROTO || e == -EAGAIN || e == -EBUSY;
}

/* Touch every byte a peek or a loan hands out: outside the mapping, this faults. */
static unsigned touch(const void *p, size_t n, int write)
{
	unsigned sum = 0;
	volatile unsigned char *b = (volatile unsigned char *)(uintptr_t)p;
	for (size_t i = 0; i < n; i++) {
		sum += b[i];
		if (write)
			b[i] = (unsigned char)i;
	}
	return sum;
}

static void do_send(shmkit_chan_t *c, int how, uint32_t n)
{
	unsigned char buf[MSG];
	struct timespec dl = chan_in_ms(DL);
	uint32_t len = CM_HDR + n % (MSG - CM_HDR + 1);
	cm_fill(buf, len, 0, n);
	int e;
	if (how == 0) {
		e = shmkit_chan_send(c, buf, len, &dl);
	} else if (how == 1) {
		e = shmkit_chan_trysend(c, buf, len);
	} else {
		void *slot;
		e = shmkit_chan_loan(c, len, &slot, &dl);
		if (e == 0) {
			touch(slot, len, 1);
			e = shmkit_chan_commit(c, slot, len);
		}
	}
	if (!ok_send(e))
		BAD("send (%d): %s", how, strerror(-e));
}

static void do_recv(shmkit_chan_t *c, int how)
{
	unsigned char buf[MSG];
	struct timespec dl = chan_in_ms(DL);
	ssize_t n;
	if (how == 0) {
		n = shmkit_chan_recv(c, buf, sizeof(buf), &dl);
	} else if (how == 1) {
		n = shmkit_chan_tryrecv(c, buf, sizeof(buf));
	} else {
		const void *m;
		n = shmkit_chan_peek(c, &m, &dl);
		if (n >= 0) {
			if ((size_t)n > MSG)
				BAD("peek: %zd bytes of a %d-byte channel", n, MSG);
			touch(m, (size_t)n, 0);
			int e = shmkit_chan_release(c, m);
			if (e && e != -EOVERFLOW)
				BAD("release: %s", strerror(-e));
			return;
		}
	}
	if (!ok_recv(n, sizeof(buf)))
		BAD("receive (%d): %zd (%s)", how, n, n < 0 ? strerror((int)-n) : "too long");
}

/* Open both sides and call everything, a few rounds, then look and close. */
static void exercise(const char *name, uint64_t seed)
{
	shmkit_chan_t *tx = NULL, *rx = NULL;
	int e = shmkit_chan_open(&tx, name, SHMKIT_CHAN_SEND);
	if (!ok_open(e))
		BAD("open to send: %s", strerror(-e));
	e = shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV);
	if (!ok_open(e))
		BAD("open to receive: %s", strerror(-e));
	for (int round = 0; round < 6; round++) {
		if (tx)
			do_send(tx, (int)cm_rand(&seed, 3), (uint32_t)round);
		if (rx)
			do_recv(rx, (int)cm_rand(&seed, 3));
	}
	struct shmkit_chan_info info;
	struct shmkit_chan_peer peers[SHMKIT_CHAN_MAX_PEERS];
	int n = shmkit_chan_stat(name, &info, peers, SHMKIT_CHAN_MAX_PEERS);
	if (n < 0 && n != -EBADMSG && n != -EPROTO)
		BAD("stat: %s", strerror(-n));
	if (rx) {
		int fd = shmkit_chan_fd(rx);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (fd >= 0)
			poll(&p, 1, 0);
		shmkit_chan_close(rx);
	}
	if (tx)
		shmkit_chan_close(tx);
}

/* A process holding a peek and a loan while the ring is corrupted, then finishing them. */
static void holder(const char *name, uint64_t seed)
{
	shmkit_chan_t *tx, *rx;
	if (shmkit_chan_open(&tx, name, SHMKIT_CHAN_SEND) ||
	    shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV))
		BAD("holder: open");
	for (uint32_t i = 0; i < 5; i++)
		do_send(tx, (int)(i % 3), i);
	do_recv(rx, 0);
	const void *m = NULL;
	void *slot = NULL;
	struct timespec dl = chan_in_ms(DL);
	if (shmkit_chan_peek(rx, &m, &dl) < 0)
		m = NULL;
	if (shmkit_chan_loan(tx, MSG, &slot, &dl))
		slot = NULL;
	atomic_store(&sh->ready, 1);
	while (!atomic_load(&sh->go))
		usleep(100);
	int e;
	if (m && (e = shmkit_chan_release(rx, m)) != 0 && e != -EOVERFLOW)
		BAD("holder: release: %s", strerror(-e));
	if (slot && !ok_send(e = shmkit_chan_commit(tx, slot, MSG)))
		BAD("holder: commit: %s", strerror(-e));
	for (int i = 0; i < 4; i++) {
		do_recv(rx, (int)cm_rand(&seed, 3));
		do_send(tx, (int)cm_rand(&seed, 3), 100 + (uint32_t)i);
	}
	shmkit_chan_close(tx);
	shmkit_chan_close(rx);
}

/* Where garbage goes: a field's offset and width in the ring. */
struct field {
	uint32_t off, width;
};

/* A value worth writing at a field: random, extreme, or near what positions are. */
static uint64_t garbage(uint64_t *rs, uint64_t near)
{
	switch (cm_rand(rs, 8)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return cm_rand(rs, 70);
	case 3:
		return near + cm_rand(rs, 3 * CAP) - CAP;
	case 4:
		return (near + cm_rand(rs, 2 * CAP)) | SK_SEQ_WRITING;
	case 5:
		return (near + cm_rand(rs, 2 * CAP)) | SK_SEQ_ABANDONED;
	case 6:
		return near + CAP * (1 + cm_rand(rs, 4));
	default:
		return (uint64_t)cm_rand(rs, UINT32_MAX) << 32 | cm_rand(rs, UINT32_MAX);
	}
}

static struct field pick_field(uint64_t *rs, uint32_t slot_size)
{
	static const struct field hdr[] = {
	    {64, 8},  {128, 8}, {192, 4}, {196, 4}, {256, 4}, {260, 4}, {320, 4}, {324, 4},
	    {328, 4}, {332, 4}, {336, 8}, {344, 8}, {352, 4}, {356, 4}, {360, 4}, {364, 4},
	    {8, 4},   {16, 8},  {24, 8},  {32, 4},  {40, 8},  {48, 8},
	};
	static const struct field part[] = {
	    {0, 4}, {4, 4}, {8, 4}, {40, 8}, {48, 8}, {56, 8}, {64, 8}, {72, 8}, {80, 8},
	};
	switch (cm_rand(rs, 4)) {
	case 0: { /* runtime header fields, and now and then the geometry (for later opens) */
		uint32_t n = sizeof(hdr) / sizeof(hdr[0]);
		return hdr[cm_rand(rs, cm_rand(rs, 4) ? n - 6 : n)];
	}
	case 1: /* the redo table */
		return (struct field){384 + 8 * cm_rand(rs, SK_CHAN_REDO), 8};
	case 2: { /* a participant record: mostly the live ones */
		struct field f = part[cm_rand(rs, sizeof(part) / sizeof(part[0]))];
		uint32_t i = cm_rand(rs, 4) ? cm_rand(rs, 4) : cm_rand(rs, SK_CHAN_PARTS);
		f.off += SK_CHAN_HDR + 128 * i;
		return f;
	}
	default: { /* a slot's seq or length */
		struct field f = cm_rand(rs, 2) ? (struct field){0, 8} : (struct field){8, 4};
		f.off += SK_CHAN_SLOTS + slot_size * cm_rand(rs, CAP);
		return f;
	}
	}
}

static void corrupt(unsigned char *ring, uint32_t slot_size, uint64_t *rs, int n)
{
	for (int i = 0; i < n; i++) {
		struct field f = pick_field(rs, slot_size);
		uint64_t near;
		memcpy(&near, ring + 64, 8); /* tail */
		uint64_t v = garbage(rs, near);
		/* Racing the processes' atomics on purpose: relaxed atomic stores, whole words. */
		if (f.width == 8)
			__atomic_store_n((uint64_t *)(void *)(ring + f.off), v, __ATOMIC_RELAXED);
		else
			__atomic_store_n((uint32_t *)(void *)(ring + f.off), (uint32_t)v,
			                 __ATOMIC_RELAXED);
	}
}

static int dbg_wait(pid_t pid)
{
	for (int i = 0; i < 5000; i++) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(1000);
	}
	char cmd[300];
	snprintf(cmd, sizeof(cmd),
	         "gdb -p %d -batch -ex 'thread apply all bt' -ex 'frame function sk_mpmc_recv' -ex "
	         "'p *c->hdr' -ex 'frame function sk_bcast_recv' -ex 'p *c->hdr' -ex 'p c->cursor' "
	         "-ex 'p/x ((struct sk_chan_slot*)(c->slots + (c->cursor & 7)*c->slot_size))->seq' "
	         "2>&1 | grep -v New >&2",
	         pid);
	system(cmd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -2;
}

static pid_t spawn_exerciser(const char *name, uint64_t seed)
{
	pid_t pid = fork();
	if (pid == 0) {
		exercise(name, seed);
		_exit(0);
	}
	return pid;
}

static void one_run(uint32_t kind, int run, uint64_t *rs)
{
	const char *name = chan_fresh(kind, MSG, CAP, 0);
	size_t len;
	unsigned char *ring = (unsigned char *)ring_rw(name, &len);
	uint32_t slot_size = ((const struct sk_chan_hdr *)(void *)ring)->slot_size;
	memset(sh, 0, sizeof(*sh));
	uint64_t seed = *rs;
	pid_t hold = fork();
	if (hold == 0) {
		holder(name, seed);
		_exit(0);
	}
	uint64_t until = chan_now_ms() + 10000;
	while (!atomic_load(&sh->ready) && chan_now_ms() < until &&
	       waitpid(hold, NULL, WNOHANG) == 0)
		usleep(100);
	/* Between calls: a few fields; while calls run (every third run): garbage for 30 ms. */
	corrupt(ring, slot_size, rs, 1 + (int)cm_rand(rs, run % 4 ? 4 : 16));
	pid_t ex = spawn_exerciser(name, seed ^ 0x5555);
	pid_t storm = -1;
	if (run % 3 == 0 && (storm = fork()) == 0) {
		uint64_t r = seed ^ 0xaaaa, stop = chan_now_ms() + 30;
		while (chan_now_ms() < stop) {
			corrupt(ring, slot_size, &r, 1);
			usleep(200);
		}
		_exit(0);
	}
	atomic_store(&sh->go, 1);
	pid_t who[] = {hold, ex, spawn_exerciser(name, seed ^ 0x3333), -1, storm};
	const char *what[] = {"holder", "exerciser", "second exerciser", "exerciser after",
	                      "corrupter"};
	int status[5] = {0};
	for (int i = 0; i < 5; i++) {
		if (i == 3) /* SPSC: the roles are free once the holder is done */
			who[3] = spawn_exerciser(name, seed ^ 0x7777);
		if (who[i] > 0)
			status[i] = dbg_wait(who[i]);
	}
	for (int i = 0; i < 5; i++)
		cr_assert_eq(status[i], 0, "kind %u run %d: %s: status %d (%s): %s", kind, run,
		             what[i], status[i],
		             status[i] == -2   ? "hung"
		             : status[i] > 128 ? "crashed"
		                               : "failed",
		             sh->why);
	munmap(ring, len);
	cr_assert_eq(shmkit_chan_unlink(name), 0);
}

static void fuzz_kind(uint32_t kind)
{
	sh = tu_shared_alloc(sizeof(*sh));
	cr_assert_not_null(sh);
	uint64_t rs = 0x853c49e6748fea9bull ^ ((uint64_t)getpid() << 16) ^ kind;
	const char *env = getenv("SHMKIT_CHAN_FUZZ_RUNS");
	int runs = env ? atoi(env) : 80;
	for (int run = 0; run < runs; run++)
		one_run(kind, run, &rs);
	tu_shared_free(sh, sizeof(*sh));
}

Test(fuzz, chan_spsc_garbage_never_crashes_or_hangs, .timeout = 300)
{
	fuzz_kind(SHMKIT_CHAN_SPSC);
}

Test(fuzz, chan_mpmc_garbage_never_crashes_or_hangs, .timeout = 300)
{
	fuzz_kind(SHMKIT_CHAN_MPMC);
}

Test(fuzz, chan_broadcast_garbage_never_crashes_or_hangs, .timeout = 300)
{
	fuzz_kind(SHMKIT_CHAN_BROADCAST);
}
