/* SPDX-License-Identifier: MIT */
/*
 * bench_chan: what the two-party harness (shmkit bench) cannot show of the channels, each
 * against a reference measured in the same run, rounds interleaved:
 *
 *   1. MPMC, 2 senders x 2 receivers, 64 B, blocking calls (four processes on two CPUs: a
 *      busy-polling one would spin away its partner's time slice): one-way throughput, and
 *      one-way latency of paced messages (stamped by the sender, read by the receiver), against
 *      a pipe in packet mode (O_DIRECT) with the same two writers and two readers.
 *   2. Broadcast, 1 sender x 1 and x 2 receivers, 64 B: how fast the sender publishes, what
 *      share each receiver gets (a broadcast sender never waits: a receiver that falls a lap
 *      behind loses messages), and the one-way latency of paced messages.
 *   3. Sleep-to-wake, SPSC, 64 B: the receiver is asleep in the kernel when the message is
 *      sent (the sender pauses first); send to the return of recv, against a raw FUTEX_WAIT /
 *      FUTEX_WAKE of the same shape.
 *   4. Zero-copy SPSC round trip by size, 64 B to 4 MiB, busy-polling, touching only the first
 *      8 bytes of each message: the channel's own cost, without the harness's sampled checks
 *      (which read 34 words spread over a large message), against its own 64 B figure.
 *   5. Copying SPSC one-way throughput of 1 MiB messages by ring capacity (2 to 32 slots),
 *      busy trysend/tryrecv, against memcpy of 1 MiB within one process (the bandwidth floor
 *      of a copy), rounds interleaved.
 *
 * Every message carries its sender, a sequence number and a checksum, and every receiver checks
 * them (per sender in order, none twice, none lost where loss is not allowed). Channels are
 * named: each is unlinked as soon as every process has opened it, and on every exit path.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit.h>
#include "common.h"
#include "internal/atomic.h"

enum {
	MSG = 64,
	ROUNDS = 5,          /* interleaved rounds per comparison */
	TP_MSGS = 300000,    /* per sender and round, throughput */
	LAT_MSGS = 4000,     /* per sender and round, latency */
	LAT_GAP_US = 50,     /* pause between paced messages */
	WAKE_ROUNDS = 2000,  /* sleep-to-wake samples per implementation */
	WAKE_SLEEP_US = 150, /* the sender's pause: the receiver is asleep in the kernel by then */
	MAX_RX = 2,
	MAX_TX = 2,
};

enum { M_DATA = 1, M_STOP = 2 };

struct msg {
	uint32_t kind, sender;
	uint64_t seq, t_ns, sum;
	unsigned char pad[MSG - 32];
};
_Static_assert(sizeof(struct msg) == MSG, "a 64-byte message");

static uint64_t msg_sum(const struct msg *m)
{
	return (m->seq * 0x9e3779b97f4a7c15ull) ^ m->sender ^ ((uint64_t)m->kind << 56);
}

/* ---- channels: removed on every path ---- */

static char names[32][SHMKIT_CHAN_NAME_MAX + 1];
static int nnames;
static pid_t owner;

static void unlink_all(void)
{
	if (getpid() != owner)
		return;
	for (int i = 0; i < nnames; i++)
		if (names[i][0])
			shmkit_chan_unlink(names[i]);
	nnames = 0;
}

static void on_fatal_signal(int sig)
{
	unlink_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_chan: %s: %s\n", what, strerror(err < 0 ? -err : err));
	unlink_all();
	exit(1);
}

static const char *chan_new_sized(uint32_t kind, uint64_t capacity, uint64_t msg_size)
{
	if (nnames == (int)(sizeof(names) / sizeof(names[0])))
		die("too many channels", ENOSPC);
	char *name = names[nnames++];
	snprintf(name, SHMKIT_CHAN_NAME_MAX + 1, "bench_chan.%d.%d", (int)getpid(), nnames);
	struct shmkit_chan_config cfg = {.kind = kind, .msg_size = msg_size, .capacity = capacity};
	int r = shmkit_chan_create(name, &cfg);
	if (r < 0)
		die("shmkit_chan_create", r);
	return name;
}

static const char *chan_new(uint32_t kind, uint64_t capacity)
{
	return chan_new_sized(kind, capacity, MSG);
}

static void chan_gone(const char *name)
{
	for (int i = 0; i < nnames; i++)
		if (!strcmp(names[i], name)) {
			shmkit_chan_unlink(names[i]);
			names[i][0] = '\0';
		}
}

static void *shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap", errno);
	return p;
}

/* ---- the queues compared: a channel, or a pipe in packet mode ---- */

struct queue {
	const char *name; /* channel name, NULL for the pipe */
	int fd[2];        /* the pipe */
	shmkit_chan_t *h; /* this process's handle */
};

/* A pipe's end that this process does not use is closed: end of file once the writers are. */
static void q_open(struct queue *q, uint32_t role)
{
	if (!q->name) {
		close(q->fd[role == SHMKIT_CHAN_SEND ? 0 : 1]);
		return;
	}
	int r = shmkit_chan_open(&q->h, q->name, role);
	if (r < 0)
		die("shmkit_chan_open", r);
}

static void q_send(struct queue *q, const struct msg *m)
{
	int r = q->name ? shmkit_chan_send(q->h, m, MSG, NULL)
	                : (write(q->fd[1], m, MSG) == MSG ? 0 : -errno);
	if (r < 0)
		die("send", r);
}

/* 0, -EPIPE (empty, and every sender is gone), or -EOVERFLOW (broadcast: messages lost). */
static int q_recv(struct queue *q, struct msg *m)
{
	if (q->name) {
		ssize_t n = shmkit_chan_recv(q->h, m, MSG, NULL);
		if (n == -EPIPE || n == -EOVERFLOW)
			return (int)n;
		if (n != MSG)
			die("recv", n < 0 ? (int)n : EBADMSG);
		return 0;
	}
	ssize_t n = read(q->fd[0], m, MSG);
	if (n == 0)
		return -EPIPE;
	if (n != MSG)
		die("read", n < 0 ? errno : EBADMSG);
	return 0;
}

static void q_close(struct queue *q, uint32_t role)
{
	if (q->h)
		shmkit_chan_close(q->h);
	else if (!q->name)
		close(q->fd[role == SHMKIT_CHAN_SEND ? 1 : 0]);
	q->h = NULL;
}

/* ---- processes ---- */

struct ctl {
	SK_ATOMIC(uint32_t) ready, go, stops;
	SK_ATOMIC(uint64_t) t_end;
	uint64_t t0;
	uint64_t got[MAX_RX], lost[MAX_RX]; /* each receiver's counts */
	uint64_t seqsum[MAX_RX];
	size_t nlat[MAX_RX];
	double *lat[MAX_RX]; /* shared arrays, one per receiver */
};

static pid_t spawn_on(int cpu)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		bn_pin_cpu(cpu);
	}
	return pid;
}

static void reap_all(pid_t *pids, int n)
{
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("a child failed", EPROTO);
	}
}

static void wait_for(SK_ATOMIC(uint32_t) * w, uint32_t v)
{
	while (atomic_load(w) < v)
		usleep(100);
}

static void ctl_reset(struct ctl *c)
{
	memset(c->got, 0, sizeof(c->got));
	memset(c->nlat, 0, sizeof(c->nlat));
	atomic_store(&c->ready, 0);
	atomic_store(&c->go, 0);
	atomic_store(&c->stops, 0);
}

static void start(struct ctl *c, uint32_t nproc)
{
	wait_for(&c->ready, nproc);
	c->t0 = bn_now_ns();
	atomic_store(&c->go, 1);
}

static void child_ready(struct ctl *c)
{
	atomic_fetch_add(&c->ready, 1);
	while (!atomic_load(&c->go))
		sk_cpu_relax();
}

/* ---- 1. MPMC 2 x 2 ---- */

struct mpmc_job {
	struct queue *q;
	struct ctl *c;
	uint64_t n;
	int paced;
};

/* A sender's job: open, wait for the start, send n messages (paced: stamped, a pause apart). */
static void send_stream(struct mpmc_job *j, uint32_t id)
{
	q_open(j->q, SHMKIT_CHAN_SEND);
	child_ready(j->c);
	struct timespec gap = {0, LAT_GAP_US * 1000};
	struct msg m = {.kind = M_DATA, .sender = id};
	for (uint64_t i = 0; i < j->n; i++) {
		if (j->paced)
			nanosleep(&gap, NULL);
		m.seq = i;
		m.t_ns = j->paced ? bn_now_ns() : 0;
		m.sum = msg_sum(&m);
		q_send(j->q, &m);
	}
}

static void mpmc_sender(struct mpmc_job *j, uint32_t id)
{
	send_stream(j, id);
	struct msg m = {.kind = M_STOP, .sender = id};
	m.sum = msg_sum(&m);
	q_send(j->q, &m);
	q_close(j->q, SHMKIT_CHAN_SEND);
}

static void mpmc_receiver(struct mpmc_job *j, int id)
{
	struct ctl *c = j->c;
	uint64_t next[MAX_TX] = {0}, got = 0, sum = 0;
	q_open(j->q, SHMKIT_CHAN_RECV);
	child_ready(c);
	for (;;) {
		struct msg m;
		if (q_recv(j->q, &m) == -EPIPE)
			break; /* both senders gone, nothing left (the parent counts what came) */
		uint64_t now = j->paced ? bn_now_ns() : 0;
		if (m.sum != msg_sum(&m) || m.sender >= MAX_TX)
			die("a broken message", EBADMSG);
		if (m.kind == M_STOP) {
			if (atomic_fetch_add(&c->stops, 1) + 1 == MAX_TX)
				atomic_store(&c->t_end, bn_now_ns());
			continue;
		}
		if (m.seq < next[m.sender])
			die("a message out of order or twice", EBADMSG);
		next[m.sender] = m.seq + 1;
		got++;
		sum += m.seq;
		if (j->paced && c->nlat[id] < MAX_TX * LAT_MSGS)
			c->lat[id][c->nlat[id]++] = (double)(now - m.t_ns);
	}
	c->got[id] = got;
	c->seqsum[id] = sum;
	q_close(j->q, SHMKIT_CHAN_RECV);
}

/* One round: returns messages per second; latency samples are added to lat when paced. */
static double mpmc_round(struct queue *q, struct ctl *c, int paced, struct bn_samples *lat)
{
	uint64_t n = paced ? LAT_MSGS : TP_MSGS;
	struct mpmc_job j = {q, c, n, paced};
	ctl_reset(c);
	if (!q->name && pipe2(q->fd, O_DIRECT | O_CLOEXEC) < 0)
		die("pipe2 O_DIRECT", errno);
	pid_t pid[MAX_RX + MAX_TX];
	for (int i = 0; i < MAX_RX + MAX_TX; i++) {
		int rx = i < MAX_RX, id = rx ? i : i - MAX_RX;
		/* Sender k on CPU k, receiver k on the other: a sender and a receiver per CPU. */
		if ((pid[i] = spawn_on(rx ? 1 - id : id)) == 0) {
			if (rx)
				mpmc_receiver(&j, id);
			else
				mpmc_sender(&j, (uint32_t)id);
			_exit(0);
		}
	}
	if (!q->name)
		close(q->fd[0]), close(q->fd[1]);
	start(c, MAX_RX + MAX_TX);
	reap_all(pid, MAX_RX + MAX_TX);
	double secs = (double)(atomic_load(&c->t_end) - c->t0) / 1e9;
	uint64_t got = 0, sum = 0;
	if (atomic_load(&c->stops) != MAX_TX)
		die("a sender's last message lost", EBADMSG);
	for (int i = 0; i < MAX_RX; i++) {
		got += c->got[i], sum += c->seqsum[i];
		for (size_t k = 0; lat && k < c->nlat[i]; k++)
			bn_samples_add(lat, c->lat[i][k]);
	}
	if (got != MAX_TX * n || sum != MAX_TX * (n * (n - 1) / 2))
		die("messages lost", EBADMSG);
	return (double)(MAX_TX * n) / secs;
}

struct result {
	struct bn_stats tp, lat;
	struct bn_samples lat_s;
};

static void mpmc_bench(struct result *chan, struct result *pipe_r)
{
	struct ctl *c = shared(sizeof(*c));
	for (int i = 0; i < MAX_RX; i++)
		c->lat[i] = shared(sizeof(double) * MAX_TX * LAT_MSGS);
	const char *name = chan_new(SHMKIT_CHAN_MPMC, 1024);
	struct queue qc = {.name = name}, qp = {0};
	struct bn_samples tpc, tpp;
	bn_samples_init(&tpc, ROUNDS);
	bn_samples_init(&tpp, ROUNDS);
	bn_samples_init(&chan->lat_s, ROUNDS * MAX_TX * LAT_MSGS);
	bn_samples_init(&pipe_r->lat_s, ROUNDS * MAX_TX * LAT_MSGS);
	for (int r = 0; r < ROUNDS; r++) { /* interleaved: both see the same noise */
		bn_samples_add(&tpc, mpmc_round(&qc, c, 0, NULL) / 1e6);
		bn_samples_add(&tpp, mpmc_round(&qp, c, 0, NULL) / 1e6);
		mpmc_round(&qc, c, 1, &chan->lat_s);
		mpmc_round(&qp, c, 1, &pipe_r->lat_s);
	}
	chan_gone(name);
	bn_stats(&tpc, &chan->tp);
	bn_stats(&tpp, &pipe_r->tp);
	bn_stats(&chan->lat_s, &chan->lat);
	bn_stats(&pipe_r->lat_s, &pipe_r->lat);
	bn_dump("chan_mpmc_2x2_latency", "chan-mpmc", &chan->lat_s);
	bn_dump("chan_mpmc_2x2_latency", "pipe-packet", &pipe_r->lat_s);
	bn_samples_free(&tpc);
	bn_samples_free(&tpp);
	for (int i = 0; i < MAX_RX; i++)
		munmap(c->lat[i], sizeof(double) * MAX_TX * LAT_MSGS);
	munmap(c, sizeof(*c));
}

/* ---- 2. broadcast, 1 sender x R receivers ---- */

static void bcast_sender(struct mpmc_job *j)
{
	send_stream(j, 0);
	atomic_store(&j->c->t_end, bn_now_ns());
	q_close(j->q, SHMKIT_CHAN_SEND);
}

/* Receive until the sender is gone and nothing is left; count what was lost. */
static void bcast_receiver(struct mpmc_job *j, int id)
{
	struct ctl *c = j->c;
	uint64_t next = 0, got = 0;
	q_open(j->q, SHMKIT_CHAN_RECV);
	child_ready(c);
	for (;;) {
		struct msg m;
		int r = q_recv(j->q, &m);
		if (r == -EPIPE)
			break;
		if (r == -EOVERFLOW)
			continue; /* counted from the gap in sequence numbers below */
		uint64_t now = j->paced ? bn_now_ns() : 0;
		if (m.sum != msg_sum(&m) || m.seq < next)
			die("a broken, reordered or repeated broadcast message", EBADMSG);
		next = m.seq + 1;
		got++;
		if (j->paced && c->nlat[id] < LAT_MSGS)
			c->lat[id][c->nlat[id]++] = (double)(now - m.t_ns);
	}
	c->got[id] = got;
	c->lost[id] = j->n - got;
	q_close(j->q, SHMKIT_CHAN_RECV);
}

struct bcast_result {
	struct bn_stats tp;      /* the sender's rate, M messages/s */
	double share[MAX_RX];    /* median share of the messages each receiver got */
	struct bn_samples lat_s; /* every receiver's latencies */
	struct bn_stats lat;
};

static double bcast_round(const char *name, struct ctl *c, int nrx, int paced,
                          struct bcast_result *res, struct bn_samples share[MAX_RX])
{
	uint64_t n = paced ? LAT_MSGS : TP_MSGS;
	struct queue q = {.name = name};
	struct mpmc_job j = {&q, c, n, paced};
	ctl_reset(c);
	pid_t pid[MAX_RX + 1];
	for (int i = 0; i <= nrx; i++) {
		/* The sender on CPU 0; the receivers on CPU 1, then 0. */
		if ((pid[i] = spawn_on(i == nrx ? 0 : 1 - i % 2)) == 0) {
			if (i == nrx)
				bcast_sender(&j);
			else
				bcast_receiver(&j, i);
			_exit(0);
		}
	}
	start(c, (uint32_t)nrx + 1);
	reap_all(pid, nrx + 1);
	for (int i = 0; i < nrx; i++) {
		if (!paced)
			bn_samples_add(&share[i], (double)c->got[i] / (double)n);
		for (size_t k = 0; paced && k < c->nlat[i]; k++)
			bn_samples_add(&res->lat_s, c->lat[i][k]);
	}
	return (double)n / ((double)(atomic_load(&c->t_end) - c->t0) / 1e9);
}

static void bcast_bench(struct bcast_result res[MAX_RX])
{
	struct ctl *c = shared(sizeof(*c));
	for (int i = 0; i < MAX_RX; i++)
		c->lat[i] = shared(sizeof(double) * LAT_MSGS);
	/* Every receiver opens before the sender sends (a broadcast receiver sees what is sent
	 * after it opened): the start barrier waits for all of them. */
	const char *name = chan_new(SHMKIT_CHAN_BROADCAST, 1024);
	struct bn_samples tp[MAX_RX], share[MAX_RX][MAX_RX];
	for (int r = 0; r < MAX_RX; r++) {
		bn_samples_init(&tp[r], ROUNDS);
		bn_samples_init(&res[r].lat_s, ROUNDS * MAX_RX * LAT_MSGS);
		for (int i = 0; i < MAX_RX; i++)
			bn_samples_init(&share[r][i], ROUNDS);
	}
	for (int round = 0; round < ROUNDS; round++)
		for (int r = 0; r < MAX_RX; r++) {
			bn_samples_add(&tp[r],
			               bcast_round(name, c, r + 1, 0, &res[r], share[r]) / 1e6);
			bcast_round(name, c, r + 1, 1, &res[r], share[r]);
		}
	chan_gone(name);
	for (int r = 0; r < MAX_RX; r++) {
		struct bn_stats st;
		bn_stats(&tp[r], &res[r].tp);
		for (int i = 0; i <= r; i++) {
			bn_stats(&share[r][i], &st);
			res[r].share[i] = st.median;
			bn_samples_free(&share[r][i]);
		}
		bn_stats(&res[r].lat_s, &res[r].lat);
		bn_dump("chan_bcast_latency", r ? "2-receivers" : "1-receiver", &res[r].lat_s);
		bn_samples_free(&tp[r]);
	}
	for (int i = 0; i < MAX_RX; i++)
		munmap(c->lat[i], sizeof(double) * LAT_MSGS);
	munmap(c, sizeof(*c));
}

/* ---- 3. sleep-to-wake ---- */

struct wake {
	SK_ATOMIC(uint32_t) futex;
	SK_ATOMIC(uint32_t) ready;
	SK_ATOMIC(uint64_t) t_post;
	double lat[2 * WAKE_ROUNDS];
};

/* Even rounds receive from the channel, odd rounds wait on the raw futex: interleaved. */
static void wake_child(struct wake *w, const char *name)
{
	struct queue q = {.name = name};
	q_open(&q, SHMKIT_CHAN_RECV);
	for (uint32_t i = 0; i < 2 * WAKE_ROUNDS; i++) {
		struct msg m;
		atomic_store(&w->ready, i + 1);
		if (i & 1)
			bn_futex_wait(&w->futex);
		else
			q_recv(&q, &m);
		uint64_t t1 = bn_now_ns();
		if (!(i & 1) && (m.sum != msg_sum(&m) || m.seq != i))
			die("a broken message", EBADMSG);
		w->lat[i] = (double)(t1 - atomic_load(&w->t_post));
	}
	q_close(&q, SHMKIT_CHAN_RECV);
}

static void wake_bench(struct result *chan, struct result *raw)
{
	struct wake *w = shared(sizeof(*w));
	const char *name = chan_new(SHMKIT_CHAN_SPSC, 64);
	pid_t pid = spawn_on(1);
	if (pid == 0) {
		wake_child(w, name);
		_exit(0);
	}
	struct queue q = {.name = name};
	q_open(&q, SHMKIT_CHAN_SEND);
	struct timespec pause = {0, WAKE_SLEEP_US * 1000};
	for (uint32_t i = 0; i < 2 * WAKE_ROUNDS; i++) {
		while (atomic_load(&w->ready) != i + 1)
			sk_cpu_relax();
		nanosleep(&pause, NULL);
		struct msg m = {.kind = M_DATA, .seq = i};
		m.sum = msg_sum(&m);
		atomic_store(&w->t_post, bn_now_ns());
		if (i & 1)
			bn_futex_post(&w->futex);
		else
			q_send(&q, &m);
	}
	reap_all(&pid, 1);
	q_close(&q, SHMKIT_CHAN_SEND);
	chan_gone(name);
	for (int k = 0; k < 2; k++) {
		struct result *res = k ? raw : chan;
		bn_samples_init(&res->lat_s, WAKE_ROUNDS);
		for (int i = k; i < 2 * WAKE_ROUNDS; i += 2)
			bn_samples_add(&res->lat_s, w->lat[i]);
		bn_stats(&res->lat_s, &res->lat);
		bn_dump("chan_wakeup", k ? "raw-futex" : "chan-spsc", &res->lat_s);
	}
	munmap(w, sizeof(*w));
}

/* ---- 4. zero-copy round trip by size ---- */

static const size_t zc_sizes[] = {64, 4096, 65536, 1 << 20, 4 << 20};
enum { NZC = sizeof(zc_sizes) / sizeof(zc_sizes[0]), ZC_RTS = 4000 };

struct zc_ends {
	shmkit_chan_t *out[NZC], *in[NZC];
};

/* Busy-poll for a message (tryrecv with no room says -EMSGSIZE: one is queued), then peek. */
static const uint64_t *zc_take(shmkit_chan_t *h)
{
	ssize_t n;
	const void *v;
	while ((n = shmkit_chan_tryrecv(h, NULL, 0)) == -EAGAIN)
		sk_cpu_relax();
	if (n != -EMSGSIZE || (n = shmkit_chan_peek(h, &v, NULL)) < 8)
		die("peek", n < 0 ? (int)n : EBADMSG);
	return v;
}

static void zc_put(shmkit_chan_t *h, size_t size, uint64_t seq)
{
	void *slot;
	int r = shmkit_chan_loan(h, size, &slot, NULL);
	if (r == 0) {
		memcpy(slot, &seq, sizeof(seq));
		r = shmkit_chan_commit(h, slot, size);
	}
	if (r < 0)
		die("loan/commit", r);
}

static void zc_done(shmkit_chan_t *h, const uint64_t *v, uint64_t seq)
{
	if (*v != seq)
		die("a zero-copy message out of sequence", EBADMSG);
	int r = shmkit_chan_release(h, v);
	if (r < 0)
		die("release", r);
}

static void zc_open(struct zc_ends *e, const char *const name[2][NZC], int client)
{
	for (int k = 0; k < NZC; k++) {
		int r = shmkit_chan_open(&e->in[k], name[!client][k], SHMKIT_CHAN_RECV);
		if (r == 0)
			r = shmkit_chan_open(&e->out[k], name[client][k], SHMKIT_CHAN_SEND);
		if (r < 0)
			die("shmkit_chan_open", r);
	}
}

static void zc_server(const char *const name[2][NZC])
{
	struct zc_ends e;
	zc_open(&e, name, 0);
	for (int round = 0; round < ROUNDS; round++)
		for (int k = 0; k < NZC; k++)
			for (uint64_t i = 0; i < ZC_RTS; i++) {
				const uint64_t *v = zc_take(e.in[k]);
				uint64_t seq = *v;
				zc_put(e.out[k], zc_sizes[k], seq | 1ull << 63);
				zc_done(e.in[k], v, seq);
			}
	for (int k = 0; k < NZC; k++)
		shmkit_chan_close(e.in[k]), shmkit_chan_close(e.out[k]);
}

static void zc_bench(struct bn_stats st[NZC])
{
	const char *name[2][NZC];
	for (int d = 0; d < 2; d++)
		for (int k = 0; k < NZC; k++)
			name[d][k] = chan_new_sized(SHMKIT_CHAN_SPSC, 4, zc_sizes[k]);
	pid_t pid = spawn_on(1);
	if (pid == 0) {
		zc_server(name);
		_exit(0);
	}
	bn_pin_cpu(0);
	struct zc_ends e;
	zc_open(&e, name, 1);
	struct bn_samples s[NZC];
	for (int k = 0; k < NZC; k++)
		bn_samples_init(&s[k], ROUNDS * ZC_RTS);
	uint64_t seq = 0;
	for (int round = 0; round < ROUNDS; round++) /* sizes interleaved: the same noise */
		for (int k = 0; k < NZC; k++)
			for (uint64_t i = 0; i < ZC_RTS; i++, seq++) {
				uint64_t t0 = bn_now_ns();
				zc_put(e.out[k], zc_sizes[k], seq);
				const uint64_t *v = zc_take(e.in[k]);
				uint64_t t1 = bn_now_ns();
				zc_done(e.in[k], v, seq | 1ull << 63);
				if (i >= ZC_RTS / 10) /* the first tenth warms up */
					bn_samples_add(&s[k], (double)(t1 - t0));
			}
	reap_all(&pid, 1);
	for (int k = 0; k < NZC; k++) {
		shmkit_chan_close(e.in[k]), shmkit_chan_close(e.out[k]);
		chan_gone(name[0][k]), chan_gone(name[1][k]);
		bn_stats(&s[k], &st[k]);
		char series[32];
		snprintf(series, sizeof(series), "%zu-bytes", zc_sizes[k]);
		bn_dump("chan_zc_by_size", series, &s[k]);
		bn_samples_free(&s[k]);
	}
}

/* ---- 5. 1 MiB copying throughput by capacity ---- */

static const uint64_t big_caps[] = {2, 4, 8, 32};
enum { NBIG = sizeof(big_caps) / sizeof(big_caps[0]), BIG = 1 << 20, BIG_MSGS = 256 };

static void big_receiver(const char *const name[NBIG], SK_ATOMIC(uint32_t) * ready)
{
	unsigned char *dst = aligned_alloc(64, BIG);
	shmkit_chan_t *h[NBIG];
	if (!dst)
		die("aligned_alloc", ENOMEM);
	memset(dst, 0, BIG);
	for (int k = 0; k < NBIG; k++) {
		int r = shmkit_chan_open(&h[k], name[k], SHMKIT_CHAN_RECV);
		if (r < 0)
			die("shmkit_chan_open", r);
	}
	atomic_store(ready, 1); /* a sender facing a full ring with no receiver gets -EPIPE */
	for (int round = 0; round < ROUNDS; round++)
		for (int k = 0; k < NBIG; k++)
			for (uint64_t i = 0; i < BIG_MSGS; i++) {
				ssize_t n;
				while ((n = shmkit_chan_tryrecv(h[k], dst, BIG)) == -EAGAIN)
					sk_cpu_relax();
				uint64_t first;
				memcpy(&first, dst, sizeof(first));
				if (n != BIG || first != i || dst[BIG - 1] != (unsigned char)i)
					die("a broken 1 MiB message", n < 0 ? (int)n : EBADMSG);
			}
	for (int k = 0; k < NBIG; k++)
		shmkit_chan_close(h[k]);
	free(dst);
}

static void big_send_all(shmkit_chan_t *h, unsigned char *src)
{
	for (uint64_t i = 0; i < BIG_MSGS; i++) {
		memcpy(src, &i, sizeof(i));
		src[BIG - 1] = (unsigned char)i;
		int r;
		while ((r = shmkit_chan_trysend(h, src, BIG)) == -EAGAIN)
			sk_cpu_relax();
		if (r < 0)
			die("trysend", r);
	}
}

/* GB/s: each capacity's (median over rounds), and memcpy's. */
static void big_bench(struct bn_stats st[NBIG], struct bn_stats *mem)
{
	const char *name[NBIG];
	for (int k = 0; k < NBIG; k++)
		name[k] = chan_new_sized(SHMKIT_CHAN_SPSC, big_caps[k], BIG);
	SK_ATOMIC(uint32_t) *ready = shared(sizeof(*ready));
	pid_t pid = spawn_on(1);
	if (pid == 0) {
		big_receiver(name, ready);
		_exit(0);
	}
	bn_pin_cpu(0);
	while (!atomic_load(ready))
		usleep(100);
	unsigned char *src = aligned_alloc(64, BIG), *dst = aligned_alloc(64, BIG);
	shmkit_chan_t *h[NBIG];
	if (!src || !dst)
		die("aligned_alloc", ENOMEM);
	memset(src, 1, BIG);
	memset(dst, 0, BIG);
	for (int k = 0; k < NBIG; k++) {
		int r = shmkit_chan_open(&h[k], name[k], SHMKIT_CHAN_SEND);
		if (r < 0)
			die("shmkit_chan_open", r);
	}
	struct bn_samples s[NBIG], m;
	for (int k = 0; k < NBIG; k++)
		bn_samples_init(&s[k], ROUNDS);
	bn_samples_init(&m, ROUNDS);
	for (int round = 0; round < ROUNDS; round++) {
		for (int k = 0; k < NBIG; k++) {
			/* Timed from the first send to the last one accepted, then to the ring's
			 * draining: the receiver has taken every message when the next job starts.
			 */
			uint64_t t0 = bn_now_ns();
			big_send_all(h[k], src);
			struct shmkit_chan_info info;
			while (shmkit_chan_stat_handle(h[k], &info, NULL, 0) >= 0 && info.depth)
				sk_cpu_relax();
			bn_samples_add(&s[k], (double)BIG * BIG_MSGS / (double)(bn_now_ns() - t0));
		}
		uint64_t t0 = bn_now_ns();
		for (int i = 0; i < BIG_MSGS; i++) {
			memcpy(dst, src, BIG);
			BN_KEEP(dst);
		}
		bn_samples_add(&m, (double)BIG * BIG_MSGS / (double)(bn_now_ns() - t0));
	}
	reap_all(&pid, 1);
	for (int k = 0; k < NBIG; k++) {
		shmkit_chan_close(h[k]);
		chan_gone(name[k]);
		bn_stats(&s[k], &st[k]);
		bn_samples_free(&s[k]);
	}
	bn_stats(&m, mem);
	bn_samples_free(&m);
	munmap((void *)ready, sizeof(*ready));
	free(src);
	free(dst);
}

/* ---- report ---- */

static void lat_cells(const struct bn_stats *st, const char **p50, const char **p99,
                      const char **p999)
{
	*p50 = bn_fmt("%.1f", st->median / 1e3);
	*p99 = bn_fmt("%.1f", st->p99 / 1e3);
	*p999 = bn_fmt("%.1f", st->p999 / 1e3);
}

static void report_mpmc(const struct result *chan, const struct result *pipe_r)
{
	const char *a, *b, *c;
	bn_section(
	    "Channels: MPMC, 2 senders x 2 receivers (bench_chan)",
	    "One MPMC channel of 1024 x 64 B, two sender and two receiver processes (a sender "
	    "and a receiver per CPU), blocking send/recv, against a pipe in packet mode "
	    "(O_DIRECT) with the same two writers and two readers; every message checked. "
	    "Throughput: 2 x 300000 messages as fast as they go, median of 5 rounds; latency: "
	    "one-way, sender's stamp to receiver's clock, messages paced 50 us apart, 5 x "
	    "8000 samples. No target.");
	bn_header("case", "M msgs/s (median)", "latency p50 us", "p99 us", "p99.9 us",
	          "throughput ratio", "p99 ratio", NULL);
	lat_cells(&chan->lat, &a, &b, &c);
	bn_row("chan-mpmc 2x2", bn_fmt("%.3g", chan->tp.median), a, b, c,
	       bn_fmt("%.3gx", chan->tp.median / pipe_r->tp.median),
	       bn_fmt("%.3gx", chan->lat.p99 / pipe_r->lat.p99), NULL);
	lat_cells(&pipe_r->lat, &a, &b, &c);
	bn_row("pipe (packet mode) 2x2", bn_fmt("%.3g", pipe_r->tp.median), a, b, c,
	       "1 (reference)", "1 (reference)", NULL);
	printf("\n");
}

static void report_bcast(const struct bcast_result res[MAX_RX])
{
	const char *a, *b, *c;
	bn_section(
	    "Channels: broadcast, 1 sender x 1 and 2 receivers (bench_chan)",
	    "One broadcast channel of 1024 x 64 B, blocking receivers; the sender never "
	    "waits. Sender rate: 300000 messages as fast as it can publish them (median of 5 "
	    "rounds) and the median share each receiver got (the rest was overwritten before "
	    "it read it: -EOVERFLOW); latency: one-way, paced 50 us apart. No target.");
	bn_header("receivers", "sender M msgs/s", "share received", "latency p50 us", "p99 us",
	          "p99.9 us", NULL);
	for (int r = 0; r < MAX_RX; r++) {
		lat_cells(&res[r].lat, &a, &b, &c);
		bn_row(bn_fmt("%d", r + 1), bn_fmt("%.3g", res[r].tp.median),
		       r ? bn_fmt("%.3f, %.3f", res[r].share[0], res[r].share[1])
		         : bn_fmt("%.3f", res[r].share[0]),
		       a, b, c, NULL);
	}
	printf("\n");
}

static void report_wake(const struct result *chan, const struct result *raw)
{
	double ratio = chan->lat.median / raw->lat.median;
	bn_section(
	    "Channels: sleep-to-wake, SPSC 64 B (bench_chan)",
	    "The receiver is asleep in shmkit_chan_recv (NULL deadline) when the sender sends "
	    "(it pauses 150 us first); send to the return of recv, against a raw FUTEX_WAIT / "
	    "FUTEX_WAKE of the same shape, 2000 samples each, interleaved; ratio of medians.");
	bn_header("case", "median us", "p99 us", "p99.9 us", "ratio", "target", "met", NULL);
	bn_row("chan-spsc blocking recv", bn_fmt("%.1f", chan->lat.median / 1e3),
	       bn_fmt("%.1f", chan->lat.p99 / 1e3), bn_fmt("%.1f", chan->lat.p999 / 1e3),
	       bn_fmt("%.3g", ratio), "<= 1.1", bn_met(ratio, 1.1), NULL);
	bn_row("raw futex wait/wake", bn_fmt("%.1f", raw->lat.median / 1e3),
	       bn_fmt("%.1f", raw->lat.p99 / 1e3), bn_fmt("%.1f", raw->lat.p999 / 1e3),
	       "1 (reference)", "", "", NULL);
	printf("\np99 ratio: %.3g.\n", chan->lat.p99 / raw->lat.p99);
}

static void report_zc(const struct bn_stats st[NZC])
{
	bn_section("Channels: zero-copy SPSC round trip by size (bench_chan)",
	           "loan, write the first 8 bytes, commit; peek, check them, release: both sides "
	           "busy-polling (tryrecv with a zero-byte buffer, then peek), one channel of 4 "
	           "slots per size and direction, sizes interleaved, 5 x 3600 timed round trips "
	           "each. Only the channel's cost: no other byte of the message is touched. Ratio: "
	           "this size's median against 64 B's.");
	bn_header("size", "p50 us", "p99 us", "p99.9 us", "p50 vs 64 B", NULL);
	for (int k = 0; k < NZC; k++) {
		char sz[32];
		if (zc_sizes[k] >= 1 << 20)
			snprintf(sz, sizeof(sz), "%zu MiB", zc_sizes[k] >> 20);
		else if (zc_sizes[k] >= 1024)
			snprintf(sz, sizeof(sz), "%zu KiB", zc_sizes[k] >> 10);
		else
			snprintf(sz, sizeof(sz), "%zu B", zc_sizes[k]);
		bn_row(sz, bn_fmt("%.3f", st[k].median / 1e3), bn_fmt("%.3f", st[k].p99 / 1e3),
		       bn_fmt("%.3f", st[k].p999 / 1e3),
		       bn_fmt("%.3gx", st[k].median / st[0].median), NULL);
	}
	printf("\n");
}

static void report_big(const struct bn_stats st[NBIG], const struct bn_stats *mem)
{
	bn_section("Channels: 1 MiB copying throughput by ring capacity (bench_chan)",
	           "SPSC, shmkit_chan_trysend/tryrecv busy-polling, 256 messages of 1 MiB per "
	           "capacity and round (timed until the ring is drained), against memcpy of 1 MiB "
	           "within one process; 5 interleaved rounds, medians. Target (copying 1 MiB): at "
	           "least 0.8x memcpy.");
	bn_header("case", "GB/s (median)", "min", "max", "ratio vs memcpy", "target", "met", NULL);
	for (int k = 0; k < NBIG; k++) {
		double ratio = st[k].median / mem->median;
		bn_row(bn_fmt("chan-spsc, %llu slots", (unsigned long long)big_caps[k]),
		       bn_fmt("%.2f", st[k].median), bn_fmt("%.2f", st[k].min),
		       bn_fmt("%.2f", st[k].max), bn_fmt("%.3g", ratio), ">= 0.8",
		       ratio >= 0.8 ? "yes" : "no", NULL);
	}
	bn_row("memcpy 1 MiB", bn_fmt("%.2f", mem->median), bn_fmt("%.2f", mem->min),
	       bn_fmt("%.2f", mem->max), "1 (reference)", "", "", NULL);
	printf("\n");
}

int main(void)
{
	owner = getpid();
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGPIPE, SIG_IGN);
	atexit(unlink_all);
	static struct result mc, mp, wc, wr;
	static struct bcast_result bc[MAX_RX];
	static struct bn_stats zc[NZC], big[NBIG], mem;
	mpmc_bench(&mc, &mp);
	bcast_bench(bc);
	wake_bench(&wc, &wr);
	zc_bench(zc);
	big_bench(big, &mem);
	report_mpmc(&mc, &mp);
	report_bcast(bc);
	report_zc(zc);
	report_big(big, &mem);
	report_wake(&wc, &wr);
	return 0;
}
