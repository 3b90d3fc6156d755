/* SPDX-License-Identifier: MIT */
/*
 * Description: senders and receivers in separate processes, every kind, small and large
 * messages, copying and zero-copy calls mixed at random. Every message says who sent it, its
 * number and its checksum. SPSC and MPMC: every message is delivered exactly once, intact, in
 * each sender's order at each receiver. Broadcast: every receiver sees every sender's
 * messages in order, all receivers in one global order, and what a receiver did not see is
 * exactly what it was told it lost (-EOVERFLOW, its lost count in stat); with a ring that
 * holds everything, nothing is lost. Afterwards stat counts every message, and nothing is
 * abandoned.
 *
 * SHMKIT_CHAN_STRESS_SECONDS (default 0: each plan once) repeats the plans for that long.
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "chantest.h"

#define MAXP        4
#define DEADLINE_MS 20000 /* any one call: far beyond what a healthy run needs */

struct plan {
	uint32_t kind, senders, receivers;
	uint64_t msg_size, capacity;
	uint32_t per_sender;       /* messages each sender sends */
	uint32_t min_len, max_len; /* of a message */
	int nap;                   /* receivers nap now and then (broadcast: to fall behind) */
};

struct board {
	_Atomic int ready, go, errors;
	char why[2 * MAXP][200];
	_Atomic uint32_t nlog[MAXP];
	uint64_t lost[MAXP], skipped[MAXP], overflows[MAXP], torn[MAXP];
	uint64_t log[]; /* receiver j's ids at [j * total, ...) */
};

static struct board *bd;

#define FAIL(who, ...)                                                                             \
	do {                                                                                       \
		snprintf(bd->why[who], sizeof(bd->why[who]), __VA_ARGS__);                         \
		atomic_fetch_add(&bd->errors, 1);                                                  \
		_exit(1);                                                                          \
	} while (0)

static uint32_t total_of(const struct plan *p)
{
	return p->senders * p->per_sender;
}

static int lossless(const struct plan *p)
{
	return p->kind != SHMKIT_CHAN_BROADCAST || p->capacity >= total_of(p);
}

/* Everyone opens first (a broadcast receiver sees what is sent after it opened), then goes. */
static void arrive(int who)
{
	atomic_fetch_add(&bd->ready, 1);
	uint64_t until = chan_now_ms() + DEADLINE_MS;
	while (!atomic_load(&bd->go))
		if (chan_now_ms() > until)
			FAIL(who, "never told to go");
		else
			sched_yield();
}

static int send_one(shmkit_chan_t *c, unsigned char *buf, uint32_t len, unsigned me, uint32_t seq,
                    int how)
{
	struct timespec dl = chan_in_ms(DEADLINE_MS);
	uint64_t until = chan_now_ms() + DEADLINE_MS;
	int e;
	if (how == 2) {
		void *slot;
		if ((e = shmkit_chan_loan(c, len, &slot, &dl)) != 0)
			return e;
		cm_fill(slot, len, me, seq);
		return shmkit_chan_commit(c, slot, len);
	}
	cm_fill(buf, len, me, seq);
	if (how == 0)
		return shmkit_chan_send(c, buf, len, &dl);
	while ((e = shmkit_chan_trysend(c, buf, len)) == -EAGAIN && chan_now_ms() < until)
		sched_yield();
	return e;
}

static void sender(const struct plan *p, const char *name, unsigned me)
{
	int who = MAXP + (int)me;
	shmkit_chan_t *c;
	int e = shmkit_chan_open(&c, name, SHMKIT_CHAN_SEND);
	if (e)
		FAIL(who, "sender %u: open: %s", me, strerror(-e));
	arrive(who);
	uint64_t rs = 0x9e3779b97f4a7c15ull * (getpid() + 1);
	unsigned char *buf = malloc(p->max_len);
	for (uint32_t seq = 0; seq < p->per_sender; seq++) {
		uint32_t len = p->min_len + cm_rand(&rs, p->max_len - p->min_len + 1);
		if ((e = send_one(c, buf, len, me, seq, (int)cm_rand(&rs, 3))) != 0)
			FAIL(who, "sender %u: message %u: %s", me, seq, strerror(-e));
	}
	free(buf);
	shmkit_chan_close(c);
	_exit(0);
}

/* One receive by a random one of the three calls: its length and where it is, or -errno. */
static ssize_t recv_one(shmkit_chan_t *c, unsigned char *buf, size_t cap, int how, const void **msg)
{
	struct timespec dl = chan_in_ms(DEADLINE_MS);
	uint64_t until = chan_now_ms() + DEADLINE_MS;
	ssize_t n;
	*msg = buf;
	if (how == 0)
		return shmkit_chan_recv(c, buf, cap, &dl);
	if (how == 2)
		return shmkit_chan_peek(c, msg, &dl);
	while ((n = shmkit_chan_tryrecv(c, buf, cap)) == -EAGAIN && chan_now_ms() < until)
		sched_yield();
	return n == -EAGAIN ? -ETIMEDOUT : n;
}

/* Our own record's counts, as stat reports them. */
static void own_counts(shmkit_chan_t *c, uint64_t *lost, uint64_t *skipped)
{
	struct shmkit_chan_peer peers[2 * MAXP + 2];
	int n = shmkit_chan_stat_handle(c, NULL, peers, 2 * MAXP + 2);
	*lost = *skipped = UINT64_MAX;
	for (int i = 0; i < n && i < 2 * MAXP + 2; i++)
		if (peers[i].pid == getpid() && peers[i].role == SHMKIT_CHAN_RECV) {
			*lost = peers[i].lost;
			*skipped = peers[i].abandoned;
		}
}

static void receiver(const struct plan *p, const char *name, unsigned me)
{
	int who = (int)me;
	shmkit_chan_t *c;
	int e = shmkit_chan_open(&c, name, SHMKIT_CHAN_RECV);
	if (e)
		FAIL(who, "receiver %u: open: %s", me, strerror(-e));
	arrive(who);
	uint64_t rs = 0xd1b54a32d192ed03ull * (getpid() + 1), *log = bd->log + me * total_of(p);
	int64_t last[MAXP] = {-1, -1, -1, -1};
	unsigned char *buf = malloc(p->msg_size);
	uint32_t n = 0;
	for (;;) {
		int how = (int)cm_rand(&rs, 3);
		const void *m;
		ssize_t len = recv_one(c, buf, p->msg_size, how, &m);
		if (len == -EPIPE)
			break; /* every sender is done, and everything is read */
		if (len == -EOVERFLOW && p->kind == SHMKIT_CHAN_BROADCAST) {
			bd->overflows[me]++;
			continue;
		}
		if (len < 0)
			FAIL(who, "receiver %u after %u: %s", me, n, strerror((int)-len));
		unsigned s = 0;
		uint32_t q = 0;
		int ok =
		    cm_check(m, (size_t)len, &s, &q) == 0 && s < p->senders && q < p->per_sender;
		if (how == 2 && (e = shmkit_chan_release(c, m)) != 0) {
			if (e != -EOVERFLOW || p->kind != SHMKIT_CHAN_BROADCAST)
				FAIL(who, "receiver %u: release: %s", me, strerror(-e));
			bd->torn[me]++; /* overwritten while lent: counted lost, not delivered */
			continue;
		}
		if (!ok)
			FAIL(who, "receiver %u: message %u (%zd bytes) is corrupt", me, n, len);
		if ((int64_t)q <= last[s])
			FAIL(who, "receiver %u: sender %u's %u after its %lld", me, s, q,
			     (long long)last[s]);
		if (lossless(p) && p->receivers == 1 && q != last[s] + 1)
			FAIL(who, "receiver %u: sender %u's %u after its %lld", me, s, q,
			     (long long)last[s]);
		last[s] = q;
		if (n >= total_of(p))
			FAIL(who, "receiver %u: more messages than were sent", me);
		log[n++] = cm_id(s, q);
		atomic_store(&bd->nlog[me], n);
		if (p->nap && cm_rand(&rs, 400) == 0)
			usleep(2000);
	}
	own_counts(c, &bd->lost[me], &bd->skipped[me]);
	free(buf);
	shmkit_chan_close(c);
	_exit(0);
}

/* Index of an id in a dense table of every message. */
static uint32_t slot_of(const struct plan *p, uint64_t id)
{
	return (uint32_t)(id >> 32) * p->per_sender + (uint32_t)id;
}

/* SPSC, MPMC: every message exactly once, over all receivers. */
static void check_once(const struct plan *p)
{
	uint32_t total = total_of(p), got = 0;
	uint8_t *seen = calloc(total, 1);
	for (uint32_t j = 0; j < p->receivers; j++) {
		uint32_t n = atomic_load(&bd->nlog[j]);
		for (uint32_t k = 0; k < n; k++) {
			uint32_t i = slot_of(p, bd->log[j * total + k]);
			cr_assert_eq(seen[i], 0, "message %#llx delivered twice",
			             (unsigned long long)bd->log[j * total + k]);
			seen[i] = 1;
		}
		got += n;
	}
	cr_assert_eq(got, total, "%u of %u messages delivered", got, total);
	free(seen);
}

/* Broadcast: one global order, and what is missing is what was reported lost. */
static void check_broadcast(const struct plan *p)
{
	uint32_t total = total_of(p);
	int64_t *at = malloc(sizeof(*at) * total);
	for (uint32_t a = 0; a < p->receivers; a++) {
		uint32_t na = atomic_load(&bd->nlog[a]);
		uint64_t missing = total - na;
		cr_assert_eq(missing, bd->lost[a] + bd->skipped[a],
		             "receiver %u: %llu missing, %llu reported lost, %llu skipped", a,
		             (unsigned long long)missing, (unsigned long long)bd->lost[a],
		             (unsigned long long)bd->skipped[a]);
		cr_assert_eq(bd->skipped[a], 0, "nobody abandoned anything");
		cr_assert_leq(bd->torn[a], bd->lost[a]);
		if (bd->lost[a] > bd->torn[a])
			cr_assert_gt(bd->overflows[a], 0, "receiver %u lost without -EOVERFLOW", a);
		if (lossless(p))
			cr_assert_eq(na, total, "receiver %u saw %u of %u", a, na, total);
		for (uint32_t i = 0; i < total; i++)
			at[i] = -1;
		for (uint32_t k = 0; k < na; k++)
			at[slot_of(p, bd->log[a * total + k])] = k;
		for (uint32_t b = 0; b < p->receivers; b++) {
			int64_t prev = -1;
			uint32_t nb = atomic_load(&bd->nlog[b]);
			for (uint32_t k = 0; k < nb; k++) {
				int64_t i = at[slot_of(p, bd->log[b * total + k])];
				if (i < 0)
					continue;
				cr_assert_gt(i, prev, "receivers %u and %u disagree on the order",
				             a, b);
				prev = i;
			}
		}
	}
	free(at);
}

/* Returns how many messages the receivers lost (broadcast). */
static uint64_t run(const struct plan *p)
{
	const char *name = chan_fresh(p->kind, p->msg_size, p->capacity, 0);
	uint32_t total = total_of(p);
	size_t size = sizeof(*bd) + sizeof(uint64_t) * p->receivers * total;
	bd = tu_shared_alloc(size);
	cr_assert_not_null(bd);
	pid_t pids[2 * MAXP];
	uint32_t np = 0;
	for (uint32_t j = 0; j < p->receivers; j++)
		if ((pids[np++] = fork()) == 0)
			receiver(p, name, j);
	for (uint32_t i = 0; i < p->senders; i++)
		if ((pids[np++] = fork()) == 0)
			sender(p, name, i);
	uint64_t until = chan_now_ms() + DEADLINE_MS;
	while (atomic_load(&bd->ready) < (int)np && !atomic_load(&bd->errors) &&
	       chan_now_ms() < until)
		usleep(1000);
	atomic_store(&bd->go, 1);
	for (uint32_t k = 0; k < np; k++) {
		int st = tu_wait_timeout(pids[k], 4 * DEADLINE_MS);
		int who = k < p->receivers ? (int)k : MAXP + (int)(k - p->receivers);
		cr_expect_eq(st, 0, "kind %u %u/%u: %s %u: status %d: %s", p->kind, p->senders,
		             p->receivers, k < p->receivers ? "receiver" : "sender",
		             k < p->receivers ? k : k - p->receivers, st, bd->why[who]);
	}
	cr_assert_eq(atomic_load(&bd->errors), 0);
	if (p->kind == SHMKIT_CHAN_BROADCAST)
		check_broadcast(p);
	else
		check_once(p);
	struct shmkit_chan_info info;
	cr_assert_eq(shmkit_chan_stat(name, &info, NULL, 0), 0, "everyone closed");
	cr_assert_eq(info.sent, total);
	cr_assert_eq(info.abandoned, 0);
	if (p->kind != SHMKIT_CHAN_BROADCAST)
		cr_assert_eq(info.depth, 0);
	uint64_t lost = 0;
	for (uint32_t j = 0; j < p->receivers; j++)
		lost += bd->lost[j];
	cr_log_info("kind %u, %u senders, %u receivers, %u messages of up to %u bytes: %llu lost",
	            p->kind, p->senders, p->receivers, total, p->max_len, (unsigned long long)lost);
	tu_shared_free(bd, size);
	cr_assert_eq(shmkit_chan_unlink(name), 0);
	return lost;
}

/* Each plan once, or again and again for SHMKIT_CHAN_STRESS_SECONDS. */
static uint64_t run_all(const struct plan *plans, size_t n)
{
	const char *env = getenv("SHMKIT_CHAN_STRESS_SECONDS");
	uint64_t until = chan_now_ms() + (env ? strtoull(env, NULL, 10) * 1000 : 0), lost = 0;
	do
		for (size_t i = 0; i < n; i++)
			lost += run(&plans[i]);
	while (chan_now_ms() < until);
	return lost;
}

Test(chan_stress, spsc, .timeout = 600)
{
	static const struct plan plans[] = {
	    {SHMKIT_CHAN_SPSC, 1, 1, 64, 64, 200000, 16, 64, 0},
	    {SHMKIT_CHAN_SPSC, 1, 1, 64, 4, 100000, 16, 64, 0},
	    {SHMKIT_CHAN_SPSC, 1, 1, 64u << 10, 8, 2000, CM_HDR, 64u << 10, 0},
	};
	run_all(plans, sizeof(plans) / sizeof(plans[0]));
}

Test(chan_stress, mpmc, .timeout = 600)
{
	static const struct plan plans[] = {
	    {SHMKIT_CHAN_MPMC, 1, 4, 64, 64, 100000, 16, 64, 0},
	    {SHMKIT_CHAN_MPMC, 4, 1, 64, 64, 30000, 16, 64, 0},
	    {SHMKIT_CHAN_MPMC, 3, 3, 64, 8, 30000, 16, 64, 0},
	    {SHMKIT_CHAN_MPMC, 4, 4, 64, 64, 25000, 16, 64, 0},
	    {SHMKIT_CHAN_MPMC, 2, 2, 64u << 10, 8, 1000, CM_HDR, 64u << 10, 0},
	};
	run_all(plans, sizeof(plans) / sizeof(plans[0]));
}

Test(chan_stress, broadcast_lossless, .timeout = 600)
{
	static const struct plan plans[] = {
	    {SHMKIT_CHAN_BROADCAST, 1, 3, 64, 65536, 60000, 16, 64, 0},
	    {SHMKIT_CHAN_BROADCAST, 4, 4, 64, 65536, 16000, 16, 64, 0},
	    {SHMKIT_CHAN_BROADCAST, 2, 1, 64, 32768, 16000, 16, 64, 0},
	    {SHMKIT_CHAN_BROADCAST, 2, 2, 64u << 10, 256, 128, CM_HDR, 64u << 10, 0},
	};
	run_all(plans, sizeof(plans) / sizeof(plans[0]));
}

Test(chan_stress, broadcast_overwritten_is_accounted, .timeout = 600)
{
	static const struct plan plans[] = {
	    {SHMKIT_CHAN_BROADCAST, 3, 3, 64, 16, 40000, 16, 64, 1},
	    {SHMKIT_CHAN_BROADCAST, 1, 4, 64, 8, 40000, 16, 64, 1},
	    {SHMKIT_CHAN_BROADCAST, 2, 2, 64u << 10, 4, 1000, CM_HDR, 64u << 10, 1},
	};
	uint64_t lost = run_all(plans, sizeof(plans) / sizeof(plans[0]));
	cr_assert_gt(lost, 0, "receivers that nap in a small ring fall behind");
}
