/* SPDX-License-Identifier: MIT */
/*
 * Description: kill -9 from outside at random times. Senders and receivers of every kind run
 * copying and zero-copy calls at random, log what they did in shared memory, and the test
 * kills one of them every few milliseconds and starts another in its place (SPSC: the role
 * passes to the new process). Then everyone stops, the rest is drained, and: every message
 * whose send returned was delivered (but one per receiver killed in a copying receive, which
 * may have taken it), none twice but one that a killed receiver held (which SPSC and MPMC
 * deliver again), nothing of a loan killed before its commit, every position delivered or
 * abandoned; broadcast receivers that live throughout see each sender in order, agree on one
 * order, and miss exactly what they were told they lost.
 *
 * SHMKIT_CHAN_STORM_SECONDS (default 2) sets each kind's storm.
 */
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "../chan/chantest.h"

#define SLOTS  768  /* processes started in one storm, at most */
#define MAXSEQ 1024 /* messages one sender sends, at most */
#define KEEP   3    /* broadcast: receivers that live throughout */
#define LOGMAX (1u << 18)
#define SMALL  48

enum { S_NONE, S_SENDING, S_LOANED, S_COMMITTING };
enum { H_NONE, H_PENDING, H_COUNTED, H_RELEASING };

struct proc {
	pid_t pid;
	int role; /* SHMKIT_CHAN_SEND / RECV */
	int killed;
	/* sender */
	_Atomic uint32_t done; /* messages whose send returned */
	_Atomic int state;     /* S_*: what it does with message number done */
	/* receiver */
	_Atomic uint64_t held; /* id + 1 of a message it peeked, 0 none */
	_Atomic int hstate;    /* H_* */
	_Atomic int in_copy;   /* in a copying receive */
	_Atomic int opened;
};

struct keeper {
	_Atomic uint32_t n;
	uint64_t lost, skipped;
	uint64_t log[LOGMAX];
};

struct board {
	_Atomic int stop, errors;
	char why[256];
	struct proc p[SLOTS];
	_Atomic uint8_t got[SLOTS][MAXSEQ]; /* deliveries (SPSC, MPMC; broadcast transients) */
	struct keeper keep[KEEP];
};

static struct board *bd;
static uint32_t kind;
static const char *name;

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		if (atomic_fetch_add(&bd->errors, 1) == 0)                                         \
			snprintf(bd->why, sizeof(bd->why), __VA_ARGS__);                           \
		_exit(1);                                                                          \
	} while (0)

static int send_once(shmkit_chan_t *c, unsigned me, uint32_t q, uint64_t *rs)
{
	struct proc *p = &bd->p[me];
	unsigned char buf[SMALL];
	uint32_t len = CM_HDR + cm_rand(rs, SMALL - CM_HDR + 1);
	struct timespec dl = cm_in_ms(300);
	atomic_store(&p->state, S_SENDING);
	int how = (int)cm_rand(rs, 3), e;
	if (how == 2) {
		void *slot;
		if ((e = shmkit_chan_loan(c, len, &slot, &dl)) != 0)
			return e;
		cm_fill(slot, len, me, q);
		atomic_store(&p->state, S_LOANED);
		if (cm_rand(rs, 64) == 0)
			usleep(500); /* to be killed holding it, now and then */
		atomic_store(&p->state, S_COMMITTING);
		return shmkit_chan_commit(c, slot, len);
	}
	cm_fill(buf, len, me, q);
	return how ? shmkit_chan_send(c, buf, len, &dl) : shmkit_chan_trysend(c, buf, len);
}

static void sender(unsigned me)
{
	struct proc *p = &bd->p[me];
	shmkit_chan_t *c;
	uint64_t rs = 0x9e3779b97f4a7c15ull * (me + 1);
	int e = shmkit_chan_open(&c, name, SHMKIT_CHAN_SEND);
	if (e)
		FAIL("sender %u: open: %s", me, strerror(-e));
	for (uint32_t q = 0; q < MAXSEQ && !atomic_load(&bd->stop);) {
		e = send_once(c, me, q, &rs);
		if (e == 0)
			atomic_store(&p->done,
			             ++q); /* before the state: killed between, it is q's */
		atomic_store(&p->state, S_NONE);
		if (e == -EAGAIN || e == -ETIMEDOUT || e == -EPIPE)
			sched_yield(); /* full, or nobody to receive for the moment */
		else if (e)
			FAIL("sender %u: message %u: %s", me, q, strerror(-e));
		if (cm_rand(&rs, 16) == 0)
			usleep(100);
	}
	while (!atomic_load(&bd->stop))
		usleep(1000);
	shmkit_chan_close(c);
	_exit(0);
}

/* The id of a whole message, or UINT64_MAX. */
static uint64_t id_of(const void *m, ssize_t len)
{
	unsigned s;
	uint32_t q;
	if (cm_check(m, (size_t)len, &s, &q) || s >= SLOTS || q >= MAXSEQ)
		return UINT64_MAX;
	return cm_id(s, q);
}

/* Log a delivery: a keeper in its own order, SPSC and MPMC receivers in the common table
 * (broadcast's others, killed at random, are only checked for whole messages). */
static void delivered(int keeper, uint64_t id)
{
	if (keeper < 0 && kind == SHMKIT_CHAN_BROADCAST)
		return;
	if (keeper < 0) {
		atomic_fetch_add(&bd->got[id >> 32][(uint32_t)id], 1);
		return;
	}
	struct keeper *k = &bd->keep[keeper];
	uint32_t n = atomic_load(&k->n);
	if (n >= LOGMAX)
		FAIL("keeper %d: log full", keeper);
	k->log[n] = id;
	atomic_store(&k->n, n + 1);
}

/* One receive; its result. */
static ssize_t recv_once(shmkit_chan_t *c, unsigned me, int keeper, uint64_t *rs)
{
	struct proc *p = &bd->p[me];
	unsigned char buf[SMALL];
	const void *m;
	struct timespec dl = cm_in_ms(300);
	ssize_t n;
	if (cm_rand(rs, 3) == 0) {
		if ((n = shmkit_chan_peek(c, &m, &dl)) < 0)
			return n;
		uint64_t id = id_of(m, n);
		if (id == UINT64_MAX && kind == SHMKIT_CHAN_BROADCAST &&
		    shmkit_chan_release(c, m) == -EOVERFLOW)
			return -EOVERFLOW; /* torn: it was overwritten while we read it */
		if (id == UINT64_MAX)
			FAIL("receiver %u: a corrupt message peeked (%zd bytes)", me, n);
		atomic_store(&p->hstate, H_PENDING);
		atomic_store(&p->held, id + 1);
		delivered(keeper, id);
		atomic_store(&p->hstate, H_COUNTED);
		if (cm_rand(rs, 64) == 0)
			usleep(500); /* to be killed holding it, now and then */
		atomic_store(&p->hstate, H_RELEASING);
		int e = shmkit_chan_release(c, m);
		if (e && !(e == -EOVERFLOW && kind == SHMKIT_CHAN_BROADCAST))
			FAIL("receiver %u: release: %s", me, strerror(-e));
		if (e && keeper >= 0) /* overwritten while lent: lost, not delivered */
			atomic_fetch_sub(&bd->keep[keeper].n, 1);
		atomic_store(&p->held, 0);
		atomic_store(&p->hstate, H_NONE);
		return n;
	}
	atomic_store(&p->in_copy, 1);
	n = cm_rand(rs, 2) ? shmkit_chan_recv(c, buf, sizeof(buf), &dl)
	                   : shmkit_chan_tryrecv(c, buf, sizeof(buf));
	if (n >= 0 && id_of(buf, n) == UINT64_MAX)
		FAIL("receiver %u: a corrupt message received (%zd bytes)", me, n);
	if (n >= 0)
		delivered(keeper, id_of(buf, n));
	atomic_store(&p->in_copy, 0);
	return n;
}

static void receiver(unsigned me, int keeper)
{
	shmkit_chan_t *c;
	uint64_t rs = 0xd1b54a32d192ed03ull * (me + 1);
	int e = shmkit_chan_open(&c, name, SHMKIT_CHAN_RECV);
	if (e)
		FAIL("receiver %u: open: %s", me, strerror(-e));
	atomic_store(&bd->p[me].opened, 1);
	for (;;) {
		ssize_t n = recv_once(c, me, keeper, &rs);
		if (n == -EPIPE && atomic_load(&bd->stop))
			break; /* everyone stopped: every sender closed */
		if (n == -EPIPE)
			usleep(1000); /* every sender killed, for the moment */
		else if (n < 0 && n != -EAGAIN && n != -ETIMEDOUT &&
		         !(n == -EOVERFLOW && kind == SHMKIT_CHAN_BROADCAST))
			FAIL("receiver %u: %s", me, strerror((int)-n));
	}
	if (keeper >= 0) {
		struct shmkit_chan_peer peers[SHMKIT_CHAN_MAX_PEERS];
		int np = shmkit_chan_stat_handle(c, NULL, peers, SHMKIT_CHAN_MAX_PEERS);
		for (int i = 0; i < np && i < SHMKIT_CHAN_MAX_PEERS; i++)
			if (peers[i].pid == getpid() && peers[i].role == SHMKIT_CHAN_RECV) {
				bd->keep[keeper].lost = peers[i].lost;
				bd->keep[keeper].skipped = peers[i].abandoned;
			}
	}
	shmkit_chan_close(c);
	_exit(0);
}

static unsigned nprocs;

static void start(int role, int keeper)
{
	cr_assert_lt(nprocs, SLOTS, "more processes than the log has room for");
	unsigned me = nprocs++;
	bd->p[me].role = role;
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (role == SHMKIT_CHAN_SEND)
			sender(me);
		receiver(me, keeper);
	}
	bd->p[me].pid = pid;
}

/* The storm: kill one at random every few ms, start another of its role. */
static void storm(unsigned nsend, unsigned nrecv, uint64_t ms)
{
	uint64_t rs = 0x2545f4914f6cdd1dull ^ (uint64_t)getpid();
	unsigned live[16], nlive = 0;
	for (unsigned i = 0; i < nsend + nrecv; i++) {
		live[nlive++] = nprocs;
		start(i < nsend ? SHMKIT_CHAN_SEND : SHMKIT_CHAN_RECV, -1);
	}
	uint64_t until = chan_now_ms() + ms;
	while (chan_now_ms() < until && !atomic_load(&bd->errors) && nprocs < SLOTS) {
		usleep(1000 + cm_rand(&rs, 8000));
		unsigned k = cm_rand(&rs, nlive), v = live[k];
		kill(bd->p[v].pid, SIGKILL);
		int st = tu_wait_timeout(bd->p[v].pid, 10000);
		cr_assert(st == 128 + SIGKILL || st == 0, "process %u: status %d: %s", v, st,
		          bd->why);
		bd->p[v].killed = st != 0;
		live[k] = nprocs;
		start(bd->p[v].role, -1);
	}
	atomic_store(&bd->stop, 1);
	for (unsigned i = 0; i < nprocs; i++)
		if (!bd->p[i].killed && bd->p[i].pid) {
			int st = tu_wait_timeout(bd->p[i].pid, 30000);
			cr_assert(st == 0 || st == -1, "process %u: status %d: %s", i, st, bd->why);
		}
	cr_assert_eq(atomic_load(&bd->errors), 0, "%s", bd->why);
}

/* What is left goes to the test's receiver, within deadlines, ending with -EPIPE. */
static void drain(void)
{
	shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
	unsigned char buf[SMALL];
	for (;;) {
		struct timespec dl = chan_in_ms(5000);
		ssize_t n = shmkit_chan_recv(rx, buf, sizeof(buf), &dl);
		if (n == -EPIPE)
			break;
		cr_assert_geq(n, 0, "drain: %s", strerror((int)-n));
		unsigned s;
		uint32_t q;
		cr_assert_eq(cm_check(buf, (size_t)n, &s, &q), 0);
		cr_assert(s < SLOTS && q < MAXSEQ);
		atomic_fetch_add(&bd->got[s][q], 1);
	}
	shmkit_chan_close(rx);
}

/* SPSC, MPMC: each message's deliveries against what its sender and receivers did. */
static void check_deliveries(void)
{
	uint32_t lost = 0, allowed = 0, distinct = 0, given_up = 0, in_flight = 0;
	/* Killed receivers that held it: may have counted it (PENDING: killed in delivered(),
	 * after the count, before COUNTED), did count it without releasing it (COUNTED). */
	uint8_t *again = calloc(SLOTS, MAXSEQ), *sure = calloc(SLOTS, MAXSEQ);
	for (unsigned i = 0; i < nprocs; i++) {
		struct proc *p = &bd->p[i];
		if (p->role != SHMKIT_CHAN_RECV || !p->killed)
			continue;
		allowed += atomic_load(&p->in_copy);
		uint64_t held = atomic_load(&p->held);
		int h = atomic_load(&p->hstate);
		if (held && h != H_NONE) {
			size_t at = ((held - 1) >> 32) * MAXSEQ + (uint32_t)(held - 1);
			again[at]++;
			sure[at] += h == H_COUNTED;
		}
	}
	for (unsigned s = 0; s < nprocs; s++) {
		struct proc *p = &bd->p[s];
		uint32_t done = p->role == SHMKIT_CHAN_SEND ? atomic_load(&p->done) : 0;
		int st = atomic_load(&p->state);
		for (uint32_t q = 0; q < MAXSEQ; q++) {
			/* Held by a killed receiver that counted it: delivered again (COUNTED), or
			 * maybe (RELEASING: its release may have been done). */
			int got = atomic_load(&bd->got[s][q]), a = again[s * MAXSEQ + q];
			cr_assert_leq(got, 1 + a, "message %u/%u delivered %d times", s, q, got);
			if (q > done || (q == done && (!p->killed || st == S_NONE)))
				cr_assert_eq(got, 0, "message %u/%u was never sent", s, q);
			if (q == done && p->killed && st == S_LOANED)
				cr_assert_eq(
				    got, 0, "message %u/%u: a loan killed before its commit", s, q);
			if (q < done && got < 1 + sure[s * MAXSEQ + q])
				lost++;
			distinct += got > 0;
		}
		given_up += p->killed && p->role == SHMKIT_CHAN_SEND && st == S_LOANED;
		in_flight += p->killed && p->role == SHMKIT_CHAN_SEND &&
		             (st == S_SENDING || st == S_COMMITTING) && !bd->got[s][done];
	}
	free(again);
	free(sure);
	cr_assert_leq(lost, allowed, "%u sent never delivered (again), %u receivers killed in one",
	              lost, allowed);
	struct shmkit_chan_info info;
	cr_assert_eq(shmkit_chan_stat(name, &info, NULL, 0), 0);
	uint32_t unseen = 0; /* sent, taken by a receive that was killed */
	for (unsigned s = 0; s < nprocs; s++)
		for (uint32_t q = 0; q < atomic_load(&bd->p[s].done) && q < MAXSEQ; q++)
			unseen += bd->p[s].role == SHMKIT_CHAN_SEND && bd->got[s][q] == 0;
	/* Every position delivered, taken by a killed receive, or abandoned; a message whose
	 * sender was killed in its send may be either of the last two. */
	uint64_t accounted = distinct + unseen + (kind == SHMKIT_CHAN_SPSC ? 0 : info.abandoned);
	cr_assert(info.sent >= accounted && info.sent <= accounted + in_flight,
	          "%llu positions: %u delivered, %u unseen, %llu abandoned, %u in flight",
	          (unsigned long long)info.sent, distinct, unseen,
	          (unsigned long long)info.abandoned, in_flight);
	cr_assert_geq(info.abandoned, given_up, "loans killed before their commit");
	cr_assert_leq(info.abandoned, given_up + in_flight + unseen);
	cr_log_info("kind %u: %u processes, %llu messages, %llu abandoned", kind, nprocs,
	            (unsigned long long)info.sent, (unsigned long long)info.abandoned);
}

/* Broadcast: the keepers' logs against what the senders did, and against each other. */
static void check_broadcast(void)
{
	struct shmkit_chan_info info;
	cr_assert_eq(shmkit_chan_stat(name, &info, NULL, 0), 0);
	int32_t *at = malloc(sizeof(*at) * SLOTS * MAXSEQ);
	int64_t *last = malloc(sizeof(*last) * SLOTS);
	for (unsigned a = 0; a < KEEP; a++) {
		struct keeper *k = &bd->keep[a];
		uint32_t n = atomic_load(&k->n);
		cr_assert_eq(info.sent, n + k->lost + k->skipped,
		             "keeper %u: %llu positions, %u delivered, %llu lost, %llu skipped", a,
		             (unsigned long long)info.sent, n, (unsigned long long)k->lost,
		             (unsigned long long)k->skipped);
		memset(at, 0xff, sizeof(*at) * SLOTS * MAXSEQ);
		for (unsigned s = 0; s < SLOTS; s++)
			last[s] = -1;
		for (uint32_t i = 0; i < n; i++) {
			uint32_t s = (uint32_t)(k->log[i] >> 32), q = (uint32_t)k->log[i];
			struct proc *p = &bd->p[s];
			uint32_t done = atomic_load(&p->done);
			int st = atomic_load(&p->state);
			cr_assert(q < done || (q == done && p->killed &&
			                       (st == S_SENDING || st == S_COMMITTING)),
			          "keeper %u: message %u/%u was never sent", a, s, q);
			cr_assert_lt(at[s * MAXSEQ + q], 0, "keeper %u: message %u/%u twice", a, s,
			             q);
			cr_assert_gt((int64_t)q, last[s],
			             "keeper %u: sender %u's %u after its %lld", a, s, q,
			             (long long)last[s]);
			last[s] = q;
			at[s * MAXSEQ + q] = (int32_t)i;
		}
		for (unsigned s = 0; s < nprocs && !k->lost; s++)
			for (uint32_t q = 0; bd->p[s].role == SHMKIT_CHAN_SEND && q < bd->p[s].done;
			     q++)
				cr_assert_geq(at[s * MAXSEQ + q], 0,
				              "keeper %u lost nothing, not %u/%u", a, s, q);
		for (unsigned b = 0; b < KEEP; b++) {
			int32_t prev = -1;
			for (uint32_t i = 0; i < atomic_load(&bd->keep[b].n); i++) {
				uint64_t id = bd->keep[b].log[i];
				int32_t j = at[(id >> 32) * MAXSEQ + (uint32_t)id];
				if (j < 0)
					continue;
				cr_assert_gt(j, prev, "keepers %u and %u disagree on the order", a,
				             b);
				prev = j;
			}
		}
	}
	free(at);
	free(last);
	cr_log_info("broadcast: %u processes, %llu messages, %llu abandoned, %llu lost by one",
	            nprocs, (unsigned long long)info.sent, (unsigned long long)info.abandoned,
	            (unsigned long long)bd->keep[0].lost);
}

/* One storm of up to 2 s; again for SHMKIT_CHAN_STORM_SECONDS (default 2) in all. */
static void storms(uint32_t k, unsigned nsend, unsigned nrecv)
{
	const char *env = getenv("SHMKIT_CHAN_STORM_SECONDS");
	uint64_t total = (env ? strtoull(env, NULL, 10) : 2) * 1000, t0 = chan_now_ms();
	kind = k;
	do {
		name = chan_fresh(kind, SMALL, kind == SHMKIT_CHAN_BROADCAST ? 1024 : 64, 0);
		bd = tu_shared_alloc(sizeof(*bd));
		cr_assert_not_null(bd);
		nprocs = 0;
		if (kind == SHMKIT_CHAN_BROADCAST) {
			for (int i = 0; i < KEEP; i++)
				start(SHMKIT_CHAN_RECV, i);
			for (int i = 0; i < KEEP; i++)
				while (!atomic_load(&bd->p[i].opened) && !atomic_load(&bd->errors))
					usleep(1000);
		}
		storm(nsend, nrecv, 2000);
		if (kind == SHMKIT_CHAN_BROADCAST) {
			check_broadcast();
		} else {
			drain();
			check_deliveries();
		}
		tu_shared_free(bd, sizeof(*bd));
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	} while (chan_now_ms() - t0 < total);
}

Test(chan_storm, spsc, .timeout = 600)
{
	storms(SHMKIT_CHAN_SPSC, 1, 1);
}

Test(chan_storm, mpmc, .timeout = 600)
{
	storms(SHMKIT_CHAN_MPMC, 3, 3);
}

Test(chan_storm, broadcast, .timeout = 600)
{
	storms(SHMKIT_CHAN_BROADCAST, 3, 1);
}
