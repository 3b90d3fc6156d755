/* SPDX-License-Identifier: MIT */
/*
 * Description: kill -9 at every crash point of every channel call, for every kind. A script
 * opens a sender and a receiver, sends (copy, loan + commit, try), receives (copy, peek +
 * release), closes with a peek and a loan out, opens again, after a process that died
 * holding a peek and a loan; it dies at its n-th crash point, for each n in turn. Then:
 * nothing hangs (the next receiver drains within deadlines and ends with -EPIPE), a SPSC role
 * is taken by a new process, every message whose send returned is delivered, none twice but
 * one a receiver died (or closed) holding, which SPSC and MPMC deliver again, nothing of a
 * loan given up is delivered and it is counted abandoned, and every position claimed is
 * delivered or abandoned.
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "../chan/chantest.h"
#include "internal/crash.h"

#define MAXMSG 64
#define SMALL  48

/* What happened to message n, in memory the test shares with the processes it kills. */
enum { S_NONE, S_SENDING, S_LOANED, S_COMMITTING, S_SENT };
enum { R_NONE, R_PEEKED, R_RELEASING, R_DONE };

struct clog {
	_Atomic uint32_t next; /* messages numbered so far */
	_Atomic uint8_t sent[MAXMSG];
	_Atomic uint8_t held[MAXMSG];      /* R_*: its last peek */
	_Atomic uint8_t got[MAXMSG];       /* deliveries to the dying processes */
	_Atomic uint8_t got_after[MAXMSG]; /* deliveries to the test's receiver */
	_Atomic int in_recv;               /* a copying receive was under way */
	_Atomic int lost_in_recv;          /* ... when its process died */
};

static struct clog *lg;
static uint32_t kind;

static uint32_t number(void)
{
	uint32_t n = atomic_fetch_add(&lg->next, 1);
	if (n >= MAXMSG)
		_exit(40);
	return n;
}

static void log_send(shmkit_chan_t *c, uint32_t len)
{
	unsigned char buf[SMALL];
	uint32_t n = number();
	struct timespec dl = chan_in_ms(5000);
	atomic_store(&lg->sent[n], S_SENDING);
	cm_fill(buf, len, 0, n);
	if (shmkit_chan_send(c, buf, len, &dl))
		_exit(41);
	atomic_store(&lg->sent[n], S_SENT);
}

static void log_trysend(shmkit_chan_t *c)
{
	unsigned char buf[SMALL];
	uint32_t n = number();
	atomic_store(&lg->sent[n], S_SENDING);
	cm_fill(buf, CM_HDR, 0, n);
	int e = shmkit_chan_trysend(c, buf, CM_HDR);
	if (e && e != -EAGAIN)
		_exit(42);
	atomic_store(&lg->sent[n], e ? S_NONE : S_SENT);
}

/* A loan, committed or left out (then whoever closes or reaps us gives it up). */
static void log_loan(shmkit_chan_t *c, int commit)
{
	void *slot;
	uint32_t n = number();
	struct timespec dl = chan_in_ms(5000);
	atomic_store(&lg->sent[n], S_SENDING);
	if (shmkit_chan_loan(c, SMALL, &slot, &dl))
		_exit(43);
	cm_fill(slot, SMALL, 0, n);
	atomic_store(&lg->sent[n], S_LOANED);
	if (!commit)
		return;
	atomic_store(&lg->sent[n], S_COMMITTING);
	if (shmkit_chan_commit(c, slot, SMALL))
		_exit(44);
	atomic_store(&lg->sent[n], S_SENT);
}

static uint32_t id_of(const void *m, ssize_t len)
{
	unsigned s;
	uint32_t q;
	if (len < 0 || cm_check(m, (size_t)len, &s, &q) || s != 0 || q >= MAXMSG)
		_exit(45);
	return q;
}

static void log_recv(shmkit_chan_t *c)
{
	unsigned char buf[SMALL];
	struct timespec dl = chan_in_ms(5000);
	atomic_store(&lg->in_recv, 1);
	ssize_t len = shmkit_chan_recv(c, buf, sizeof(buf), &dl);
	atomic_fetch_add(&lg->got[id_of(buf, len)], 1);
	atomic_store(&lg->in_recv, 0);
}

/* A peek, released or left held. */
static void log_peek(shmkit_chan_t *c, int release)
{
	const void *m;
	struct timespec dl = chan_in_ms(5000);
	ssize_t len = shmkit_chan_peek(c, &m, &dl);
	uint32_t n = id_of(m, len);
	atomic_fetch_add(&lg->got[n], 1);
	atomic_store(&lg->held[n], R_PEEKED);
	if (!release)
		return;
	atomic_store(&lg->held[n], R_RELEASING);
	if (shmkit_chan_release(c, m))
		_exit(46);
	atomic_store(&lg->held[n], R_DONE);
}

static shmkit_chan_t *must_open(const char *name, uint32_t role)
{
	shmkit_chan_t *c;
	if (shmkit_chan_open(&c, name, role))
		_exit(47);
	return c;
}

/* A process that dies (kill -9) holding a peek and a loan: the script's opens reap it. */
static void die_holding(const char *name)
{
	pid_t pid = fork();
	if (pid == 0) {
		shmkit_chan_t *tx = must_open(name, SHMKIT_CHAN_SEND);
		shmkit_chan_t *rx = must_open(name, SHMKIT_CHAN_RECV);
		for (int i = 0; i < 3; i++)
			log_send(tx, CM_HDR + 8 * (uint32_t)i);
		log_peek(rx, 0);
		log_loan(tx, 0);
		raise(SIGKILL);
	}
	cr_assert_eq(tu_wait_timeout(pid, 20000), 128 + SIGKILL);
}

/* Every call, every path; killed at crash point k (sk_crash_countdown). */
static void script(const char *name)
{
	shmkit_chan_t *tx = must_open(name, SHMKIT_CHAN_SEND);
	shmkit_chan_t *rx = must_open(name, SHMKIT_CHAN_RECV);
	for (int i = 0; i < 3; i++)
		log_send(tx, CM_HDR + 8 * (uint32_t)i);
	log_loan(tx, 1);
	log_loan(tx, 1);
	log_trysend(tx);
	log_recv(rx);
	log_recv(rx);
	log_peek(rx, 1);
	log_peek(rx, 1);
	log_peek(rx, 0);
	shmkit_chan_close(rx); /* with the peek out */
	log_loan(tx, 0);
	shmkit_chan_close(tx); /* with the loan out: given up */
	tx = must_open(name, SHMKIT_CHAN_SEND);
	rx = must_open(name, SHMKIT_CHAN_RECV);
	log_send(tx, SMALL);
	log_send(tx, CM_HDR);
	log_recv(rx);
	shmkit_chan_close(tx);
	shmkit_chan_close(rx);
}

/* The test's receiver takes what is left: within deadlines, ending with -EPIPE. */
static void drain(shmkit_chan_t *rx, int k)
{
	unsigned char buf[SMALL];
	for (int i = 0; i < MAXMSG; i++) {
		struct timespec dl = chan_in_ms(5000);
		ssize_t len = shmkit_chan_recv(rx, buf, sizeof(buf), &dl);
		if (len == -EPIPE)
			return;
		cr_assert_geq(len, 0, "kind %u step %d: drain: %s", kind, k, strerror((int)-len));
		unsigned s;
		uint32_t q;
		cr_assert_eq(cm_check(buf, (size_t)len, &s, &q), 0, "kind %u step %d: corrupt",
		             kind, k);
		cr_assert_lt(q, MAXMSG);
		atomic_fetch_add(&lg->got_after[q], 1);
	}
	cr_assert_fail("kind %u step %d: more messages than were ever sent", kind, k);
}

/* Our receiver's count of abandoned slots it skipped (broadcast). */
static uint64_t skipped_by(shmkit_chan_t *rx)
{
	struct shmkit_chan_peer peers[SHMKIT_CHAN_MAX_PEERS];
	int n = shmkit_chan_stat_handle(rx, NULL, peers, SHMKIT_CHAN_MAX_PEERS);
	for (int i = 0; i < n && i < SHMKIT_CHAN_MAX_PEERS; i++)
		if (peers[i].pid == getpid() && peers[i].role == SHMKIT_CHAN_RECV)
			return peers[i].abandoned;
	return UINT64_MAX;
}

static void check_after(const char *name, shmkit_chan_t *rx, int k)
{
	int bcast = kind == SHMKIT_CHAN_BROADCAST;
	uint32_t total = atomic_load(&lg->next), delivered = 0, lost = 0;
	uint32_t given_up = 0, in_flight = 0, not_again = 0;
	for (uint32_t n = 0; n < total; n++) {
		int st = atomic_load(&lg->sent[n]), held = atomic_load(&lg->held[n]);
		/* broadcast: the test's receiver saw everything once; the others at most once */
		int got = bcast ? lg->got_after[n] : lg->got[n] + lg->got_after[n];
		int again = !bcast && (held == R_PEEKED || held == R_RELEASING);
		cr_assert_leq(got, 1 + again, "kind %u step %d: message %u delivered %d times",
		              kind, k, n, got);
		if (bcast)
			cr_assert_leq(lg->got[n], 1, "kind %u step %d: message %u", kind, k, n);
		/* Held by the dead: delivered again (unless to a receive that died with it). */
		not_again += !bcast && held == R_PEEKED && got == 1;
		lost += st == S_SENT && got == 0;
		if (st == S_LOANED)
			cr_assert_eq(got, 0, "kind %u step %d: a loan given up was delivered", kind,
			             k);
		given_up += st == S_LOANED;
		in_flight += (st == S_SENDING || st == S_COMMITTING) && got == 0;
		delivered += got > 0;
	}
	/* A copying receive that died after it took a message loses that one, and only it. */
	cr_assert_leq(lost + not_again, bcast ? 0 : (uint32_t)atomic_load(&lg->lost_in_recv),
	              "kind %u step %d: %u sent never delivered, %u held by the dead not again",
	              kind, k, lost, not_again);
	struct shmkit_chan_info info;
	cr_assert_geq(shmkit_chan_stat(name, &info, NULL, 0), 0);
	uint64_t accounted = delivered + lost + (bcast ? skipped_by(rx) : info.abandoned);
	if (kind == SHMKIT_CHAN_SPSC)
		accounted = delivered + lost; /* SPSC: only what was published has a position */
	cr_assert_eq(info.sent, accounted,
	             "kind %u step %d: %llu positions, %u delivered, %u lost, %llu abandoned", kind,
	             k, (unsigned long long)info.sent, delivered, lost,
	             (unsigned long long)info.abandoned);
	cr_assert_geq(info.abandoned, given_up, "kind %u step %d: loans given up", kind, k);
	cr_assert_leq(info.abandoned, given_up + in_flight,
	              "kind %u step %d: %llu abandoned, %u loans given up, %u in flight", kind, k,
	              (unsigned long long)info.abandoned, given_up, in_flight);
}

/* After the drain: a new sender takes the role (SPSC), and the channel works. */
static void still_works(const char *name, shmkit_chan_t *rx, int k)
{
	shmkit_chan_t *tx;
	cr_assert_eq(shmkit_chan_open(&tx, name, SHMKIT_CHAN_SEND), 0, "kind %u step %d", kind, k);
	cr_assert_eq(shmkit_chan_send(tx, "after", 5, NULL), 0);
	char buf[SMALL];
	struct timespec dl = chan_in_ms(5000);
	cr_assert_eq(shmkit_chan_recv(rx, buf, sizeof(buf), &dl), 5, "kind %u step %d", kind, k);
	cr_assert_eq(memcmp(buf, "after", 5), 0);
	shmkit_chan_close(tx);
}

static void crash_every_step(uint32_t k_kind)
{
	int k;
	kind = k_kind;
	lg = tu_shared_alloc(sizeof(*lg));
	cr_assert_not_null(lg);
	for (k = 1; k < 1000; k++) {
		const char *name = chan_fresh(kind, SMALL, 16, 0);
		memset(lg, 0, sizeof(*lg));
		/* Broadcast: a receiver from the start sees everything; the others open after. */
		shmkit_chan_t *rx =
		    kind == SHMKIT_CHAN_BROADCAST ? chan_open(name, SHMKIT_CHAN_RECV) : NULL;
		die_holding(name);
		pid_t pid = fork();
		if (pid == 0) {
			sk_crash_countdown = k;
			script(name);
			_exit(sk_crash_countdown > 0 ? 0 : 48);
		}
		int status = tu_wait_timeout(pid, 30000);
		cr_assert(status == 0 || status == 128 + SIGKILL, "kind %u step %d: status %d",
		          kind, k, status);
		if (status != 0 && atomic_load(&lg->in_recv))
			atomic_store(&lg->lost_in_recv, 1);
		if (!rx) /* a SPSC role is free for a new process */
			cr_assert_eq(shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV), 0,
			             "kind %u step %d", kind, k);
		drain(rx, k);
		check_after(name, rx, k);
		still_works(name, rx, k);
		shmkit_chan_close(rx);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
		if (status == 0)
			break; /* k is past the last crash point */
	}
	cr_assert_gt(k, 10, "only %d crash points were reached", k - 1);
	cr_log_info("kind %u: %d crash points exercised", kind, k - 1);
	tu_shared_free(lg, sizeof(*lg));
}

/* The last sender gone, a receiver killed holding a message: the next receiver gets it. */
Test(chan_crash, mpmc_held_by_the_dead_before_epipe)
{
	const char *name = chan_fresh(SHMKIT_CHAN_MPMC, SMALL, 4, 0);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
	shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV); /* open before the death */
	cr_assert_eq(shmkit_chan_send(tx, "held", 4, NULL), 0);
	shmkit_chan_close(tx);
	pid_t pid = fork();
	if (pid == 0) {
		const void *m;
		shmkit_chan_t *mine = must_open(name, SHMKIT_CHAN_RECV);
		struct timespec dl = chan_in_ms(5000);
		if (shmkit_chan_peek(mine, &m, &dl) != 4)
			_exit(1);
		raise(SIGKILL);
	}
	cr_assert_eq(tu_wait_timeout(pid, 20000), 128 + SIGKILL);
	char buf[SMALL];
	struct timespec dl = chan_in_ms(5000);
	cr_assert_eq(shmkit_chan_recv(rx, buf, sizeof(buf), &dl), 4, "given back, not -EPIPE");
	cr_assert_eq(memcmp(buf, "held", 4), 0);
	cr_assert_eq(shmkit_chan_recv(rx, buf, sizeof(buf), &dl), -EPIPE);
	shmkit_chan_close(rx);
	cr_assert_eq(shmkit_chan_unlink(name), 0);
}

/*
 * A sender killed after its claim leaves its slot to be skipped as abandoned; the receiver
 * that skips it is killed at its n-th crash point, for each n in turn (before or after its
 * CAS on head, before it frees the slot for the next lap). Whatever it left, the next lap's
 * message through that slot is sent and received: nobody finds the lap before's mark and
 * says -EPROTO or waits for ever (tests/chan/model/mpmc.pml found both).
 */
Test(chan_crash, mpmc_skipper_killed_at_every_step)
{
	int reached = 0;
	for (int n = 1; n <= 6; n++) {
		const char *name = chan_fresh(SHMKIT_CHAN_MPMC, 8, 2, 0);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		pid_t dead = fork();
		if (dead == 0) {
			shmkit_chan_t *t = must_open(name, SHMKIT_CHAN_SEND);
			sk_crash_countdown = 2; /* the first point after its CAS on tail */
			shmkit_chan_send(t, "lost", 4, NULL);
			_exit(1);
		}
		cr_assert_eq(tu_wait_timeout(dead, 20000), 128 + SIGKILL);
		pid_t skipper = fork();
		if (skipper == 0) {
			shmkit_chan_t *r = must_open(name, SHMKIT_CHAN_RECV);
			char b[8];
			struct timespec dl = chan_in_ms(300);
			sk_crash_countdown = n;
			ssize_t got = shmkit_chan_recv(r, b, sizeof(b), &dl);
			/* Nothing to deliver, only a skip; and no sender left. */
			_exit(got == -EPIPE || got == -ETIMEDOUT ? 0 : 2);
		}
		int st = tu_wait_timeout(skipper, 20000);
		cr_assert(st == 0 || st == 128 + SIGKILL, "n %d: skipper ended with %d", n, st);
		reached += st == 128 + SIGKILL;
		/* Two laps through both slots: position 2 uses the skipped slot again. */
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		for (int i = 0; i < 4; i++) {
			char m = (char)('a' + i), b[8];
			struct timespec dl = chan_in_ms(5000);
			cr_assert_eq(shmkit_chan_send(tx, &m, 1, &dl), 0, "n %d: send %d", n, i);
			cr_assert_eq(shmkit_chan_recv(rx, b, sizeof(b), &dl), 1, "n %d: recv %d", n,
			             i);
			cr_assert_eq(b[0], m, "n %d: message %d", n, i);
		}
		struct shmkit_chan_info info;
		cr_assert_geq(shmkit_chan_stat(name, &info, NULL, 0), 0);
		cr_assert_eq(info.abandoned, 1, "n %d: the dead sender's slot, counted once", n);
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
	cr_assert_gt(reached, 1, "the skipper died at %d crash points only", reached);
}

/* A message given back from a receiver with a big buffer to one with a small one stays. */
Test(chan_crash, mpmc_held_by_the_dead_too_big_for_the_next)
{
	const char *name = chan_fresh(SHMKIT_CHAN_MPMC, SMALL, 4, 0);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
	shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
	unsigned char msg[SMALL];
	cm_fill(msg, SMALL, 0, 7);
	cr_assert_eq(shmkit_chan_send(tx, msg, SMALL, NULL), 0);
	pid_t pid = fork();
	if (pid == 0) {
		const void *m;
		shmkit_chan_t *mine = must_open(name, SHMKIT_CHAN_RECV);
		struct timespec dl = chan_in_ms(5000);
		if (shmkit_chan_peek(mine, &m, &dl) != SMALL)
			_exit(1);
		raise(SIGKILL);
	}
	cr_assert_eq(tu_wait_timeout(pid, 20000), 128 + SIGKILL);
	unsigned char *buf = malloc(4 * SMALL);
	memset(buf, 0xa5, 4 * SMALL);
	struct timespec dl = chan_in_ms(5000);
	/* Nothing at head: the wait looks at the peers, reaps the dead, and finds it given back. */
	cr_assert_eq(shmkit_chan_recv(rx, buf, 16, &dl), -EMSGSIZE, "16 bytes cannot hold it");
	for (size_t i = 0; i < 4 * SMALL; i++)
		cr_assert_eq(buf[i], 0xa5, "byte %zu of the buffer written", i);
	unsigned s;
	uint32_t q;
	cr_assert_eq(shmkit_chan_recv(rx, buf, 4 * SMALL, &dl), SMALL,
	             "it stayed for a buffer that can");
	cr_assert_eq(cm_check(buf, SMALL, &s, &q), 0);
	cr_assert_eq(q, 7);
	free(buf);
	shmkit_chan_close(tx);
	shmkit_chan_close(rx);
	cr_assert_eq(shmkit_chan_unlink(name), 0);
}

Test(chan_crash, spsc_kill9_at_every_step, .timeout = 300)
{
	crash_every_step(SHMKIT_CHAN_SPSC);
}

Test(chan_crash, mpmc_kill9_at_every_step, .timeout = 300)
{
	crash_every_step(SHMKIT_CHAN_MPMC);
}

Test(chan_crash, broadcast_kill9_at_every_step, .timeout = 300)
{
	crash_every_step(SHMKIT_CHAN_BROADCAST);
}
