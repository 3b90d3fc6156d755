/* SPDX-License-Identifier: MIT */
/*
 * A side: the client or the server of one transport, a process of its own (the coordinator
 * forks and execs `shmkit-bench --side ...`), pinned to its CPU before exec. It attaches,
 * says READY, then runs each job the coordinator sends and reports its samples and CPU time.
 *
 * Round trip: the client stamps request i, takes the time, sends it, receives the reply and
 * takes the time again; it checks the reply after the second clock read. The server checks
 * the request's sequence numbers, restamps it as reply i and sends it back, then checks the
 * rest of the request while the client reads the reply: so the checks on the critical path
 * are a few words, the same for every transport.
 *
 * Throughput: the client streams a batch of messages, the server checks each one and
 * acknowledges the batch's last one with a reply; the client times each batch up to the
 * acknowledgement. Every message is checked on both paths.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "harness.h"
#include "msg.h"

struct side {
	const struct bt_transport *t;
	struct bt_ctx c;
	int ctl;
	struct bt_tmpl tmpl; /* this job's message */
	unsigned char *rbuf; /* receive buffer, max_size bytes */
	char why[400];
	int na; /* the failure means "size beyond the transport" */
};

static uint64_t cpu_ns(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* Record a transport error; EMSGSIZE/ENOBUFS from a sender mean the size does not fit. */
static int op_fail(struct side *s, int r, const char *op)
{
	s->na = (r == -EMSGSIZE || r == -ENOBUFS) && (!strcmp(op, "send") || !strcmp(op, "loan"));
	if (s->c.err[0])
		snprintf(s->why, sizeof(s->why), "%s: %s", op, s->c.err);
	else
		snprintf(s->why, sizeof(s->why), "%s: %s", op, strerror(-r));
	return r;
}

static int check_fail(struct side *s, int r, const char *what)
{
	char tmp[sizeof(s->why)];
	snprintf(tmp, sizeof(tmp), "%s", s->why);
	snprintf(s->why, sizeof(s->why), "invalid %s: %.360s", what, tmp);
	return r;
}

/* ---- one message out, one in: copying or zero-copy ---- */

static int put(struct side *s, uint32_t seq, int corrupt)
{
	size_t n = s->tmpl.size;
	int r;
	if (!(s->t->flags & BT_ZEROCOPY)) {
		bt_msg_stamp(s->tmpl.buf, &s->tmpl, seq);
		if (corrupt)
			bt_msg_corrupt(s->tmpl.buf, n);
		r = s->t->send(&s->c, s->tmpl.buf, n);
		if (corrupt)
			bt_msg_corrupt(s->tmpl.buf, n); /* flip it back: only this message */
		return r < 0 ? op_fail(s, r, "send") : 0;
	}
	void *b;
	if ((r = s->t->loan(&s->c, n, &b)) < 0)
		return op_fail(s, r, "loan");
	bt_msg_stamp_sparse(b, &s->tmpl, seq);
	if (corrupt)
		bt_msg_corrupt(b, n);
	if ((r = s->t->publish(&s->c, b, n)) < 0)
		return op_fail(s, r, "publish");
	return 0;
}

/* Receive and fully check message seq. */
static int get(struct side *s, uint32_t seq)
{
	size_t n = s->tmpl.size;
	int r;
	if (!(s->t->flags & (BT_ZEROCOPY | BT_LOCAL))) {
		if ((r = s->t->recv(&s->c, s->rbuf, n)) < 0)
			return op_fail(s, r, "recv");
		r = bt_msg_check(s->rbuf, n, seq, s->why, sizeof(s->why));
		return r < 0 ? check_fail(s, r, "message") : 0;
	}
	const void *v;
	if ((r = s->t->view(&s->c, n, &v)) < 0)
		return op_fail(s, r, "view");
	r = bt_msg_check(v, n, seq, s->why, sizeof(s->why));
	int rr = s->t->release ? s->t->release(&s->c, v) : 0;
	if (r < 0)
		return check_fail(s, r, "message");
	return rr < 0 ? op_fail(s, rr, "release") : 0;
}

/* ---- round trip ---- */

static int rt_client(struct side *s, const struct bt_job *j, uint64_t *out, uint64_t *cpu)
{
	size_t n = s->tmpl.size;
	bool zc = s->t->flags & BT_ZEROCOPY;
	uint64_t c0 = 0;
	for (uint64_t i = 0; i < j->warmup + j->count; i++) {
		uint32_t seq = j->seq0 + (uint32_t)i;
		if (i == j->warmup)
			c0 = cpu_ns();
		uint64_t t0 = bn_now_ns();
		int r = put(s, seq, j->corrupt_at && i + 1 == j->corrupt_at);
		if (r < 0)
			return r;
		const void *v = s->rbuf;
		r = zc ? s->t->view(&s->c, n, &v) : s->t->recv(&s->c, s->rbuf, n);
		uint64_t t1 = bn_now_ns();
		if (r < 0)
			return op_fail(s, r, zc ? "view" : "recv");
		r = bt_msg_check(v, n, seq | BT_REPLY, s->why, sizeof(s->why));
		if (zc && r == 0 && (r = s->t->release(&s->c, v)) < 0)
			return op_fail(s, r, "release");
		if (r < 0)
			return check_fail(s, r, "reply");
		if (i >= j->warmup)
			out[i - j->warmup] = t1 - t0;
	}
	*cpu = cpu_ns() - c0;
	return 0;
}

/* The server's echo: check the sequence numbers, answer, then check the rest. */
static int rt_serve_one(struct side *s, uint32_t seq)
{
	size_t n = s->tmpl.size;
	int r;
	if (!(s->t->flags & BT_ZEROCOPY)) {
		if ((r = s->t->recv(&s->c, s->rbuf, n)) < 0)
			return op_fail(s, r, "recv");
		if ((r = bt_msg_check_seq(s->rbuf, n, seq, s->why, sizeof(s->why))) < 0)
			return check_fail(s, r, "request");
		bt_msg_restamp(s->rbuf, n, seq, seq | BT_REPLY);
		if ((r = s->t->send(&s->c, s->rbuf, n)) < 0)
			return op_fail(s, r, "send");
		r = bt_msg_check(s->rbuf, n, seq | BT_REPLY, s->why, sizeof(s->why));
		return r < 0 ? check_fail(s, r, "request") : 0;
	}
	const void *v;
	if ((r = s->t->view(&s->c, n, &v)) < 0)
		return op_fail(s, r, "view");
	if ((r = bt_msg_check_seq(v, n, seq, s->why, sizeof(s->why))) < 0)
		return check_fail(s, r, "request");
	if ((r = put(s, seq | BT_REPLY, 0)) < 0)
		return r;
	r = bt_msg_check(v, n, seq, s->why, sizeof(s->why));
	int rr = s->t->release(&s->c, v);
	if (r < 0)
		return check_fail(s, r, "request");
	return rr < 0 ? op_fail(s, rr, "release") : 0;
}

static int rt_server(struct side *s, const struct bt_job *j, uint64_t *cpu)
{
	uint64_t c0 = 0;
	for (uint64_t i = 0; i < j->warmup + j->count; i++) {
		if (i == j->warmup)
			c0 = cpu_ns();
		int r = rt_serve_one(s, j->seq0 + (uint32_t)i);
		if (r < 0)
			return r;
	}
	*cpu = cpu_ns() - c0;
	return 0;
}

/* ---- throughput ---- */

/* Batch b of a job: its first sequence number and its size (batch 0 is the warm-up). */
static void batch_span(const struct bt_job *j, uint32_t b, uint32_t *first, uint64_t *len)
{
	uint64_t per = j->count / j->batches;
	*first = j->seq0 + (uint32_t)(b == 0 ? 0 : j->warmup + (b - 1) * per);
	*len = b == 0 ? j->warmup : b == j->batches ? j->count - (j->batches - 1) * per : per;
}

static int tp_client(struct side *s, const struct bt_job *j, uint64_t *out, uint64_t *cpu)
{
	bool local = s->t->flags & BT_LOCAL;
	uint64_t c0 = 0, sent = 0;
	for (uint32_t b = 0; b <= j->batches; b++) {
		uint32_t first;
		uint64_t len;
		batch_span(j, b, &first, &len);
		if (b == 1)
			c0 = cpu_ns();
		uint64_t t0 = bn_now_ns();
		for (uint64_t k = 0; k < len; k++) {
			uint32_t seq = first + (uint32_t)k;
			int r = put(s, seq, j->corrupt_at && ++sent == j->corrupt_at);
			if (r == 0 && local)
				r = get(s, seq);
			if (r < 0)
				return r;
		}
		int r = local || len == 0 ? 0 : get(s, (first + (uint32_t)len - 1) | BT_REPLY);
		uint64_t t1 = bn_now_ns();
		if (r < 0)
			return r;
		if (b > 0)
			out[b - 1] = t1 - t0;
	}
	*cpu = cpu_ns() - c0;
	return 0;
}

static int tp_server(struct side *s, const struct bt_job *j, uint64_t *cpu)
{
	uint64_t c0 = 0;
	for (uint32_t b = 0; b <= j->batches; b++) {
		uint32_t first;
		uint64_t len;
		batch_span(j, b, &first, &len);
		if (b == 1)
			c0 = cpu_ns();
		for (uint64_t k = 0; k < len; k++) {
			int r = get(s, first + (uint32_t)k);
			if (r < 0)
				return r;
		}
		if (len == 0)
			continue;
		int r = put(s, (first + (uint32_t)len - 1) | BT_REPLY, 0);
		if (r < 0)
			return r;
	}
	*cpu = cpu_ns() - c0;
	return 0;
}

/* ---- the job loop ---- */

static int run_job(struct side *s, const struct bt_job *j)
{
	bool client = s->c.role == BT_CLIENT;
	bool local = s->t->flags & BT_LOCAL;
	uint64_t nvals = !client ? 0 : j->mode == BT_RT ? j->count : j->batches;
	uint64_t *vals = calloc(nvals ? nvals : 1, sizeof(*vals));
	struct bt_done d = {.n = nvals};
	int r = -ENOMEM;
	s->why[0] = s->c.err[0] = '\0';
	s->na = 0;
	if (vals && (r = bt_tmpl_init(&s->tmpl, (size_t)j->size)) == 0) {
		if (!client && local)
			r = 0;
		else if (j->mode == BT_RT)
			r = client ? rt_client(s, j, vals, &d.cpu_ns) : rt_server(s, j, &d.cpu_ns);
		else
			r = client ? tp_client(s, j, vals, &d.cpu_ns) : tp_server(s, j, &d.cpu_ns);
		bt_tmpl_free(&s->tmpl);
	}
	if (r == 0)
		r = bt_ctl_send(s->ctl, BT_F_DONE, &d, sizeof(d), vals, nvals * sizeof(*vals));
	else
		r = bt_ctl_send(s->ctl, s->na ? BT_F_NA : BT_F_ERR, s->why, strlen(s->why), NULL,
		                0);
	free(vals);
	return r;
}

/* argv: --side ROLE NAME PLUGIN CTLFD MAXSIZE RUNDIR INSTANCE FDS ARG */
static int parse(struct side *s, int argc, char **argv)
{
	if (argc != 11)
		return -EINVAL;
	s->c.role = !strcmp(argv[2], "client") ? BT_CLIENT : BT_SERVER;
	const char *plugin = strcmp(argv[4], "-") ? argv[4] : NULL;
	bt_registry_load(plugin ? plugin : "");
	struct bt_entry *e = bt_registry_find(argv[3]);
	if (!e)
		return -ENOENT;
	s->t = e->t;
	s->ctl = atoi(argv[5]);
	s->c.max_size = strtoull(argv[6], NULL, 10);
	s->c.rundir = argv[7];
	s->c.instance = (unsigned)atoi(argv[8]);
	for (char *p = argv[9]; *p && s->c.nfd < BT_MAX_FDS;) {
		s->c.fd[s->c.nfd++] = (int)strtol(p, &p, 10);
		p += *p == ',';
	}
	snprintf(s->c.arg, sizeof(s->c.arg), "%s", argv[10]);
	s->c.host = &bt_host_none;
	return 0;
}

int bt_side_main(int argc, char **argv)
{
	static struct side s;
	if (parse(&s, argc, argv) < 0) {
		fprintf(stderr, "shmkit-bench: --side is for the harness's own use\n");
		return 2;
	}
	s.rbuf = aligned_alloc(64, (s.c.max_size + 63) & ~(size_t)63);
	int r = s.rbuf ? s.t->attach(&s.c) : -ENOMEM;
	if (r < 0) {
		op_fail(&s, r, "attach");
		bt_ctl_send(s.ctl, BT_F_ERR, s.why, strlen(s.why), NULL, 0);
		return 1;
	}
	bt_ctl_send(s.ctl, BT_F_READY, NULL, 0, NULL, 0);
	for (;;) {
		uint32_t type;
		void *p;
		size_t len;
		if (bt_ctl_recv(s.ctl, -1, &type, &p, &len) < 0 || type == BT_F_QUIT) {
			free(p);
			break;
		}
		r = type == BT_F_JOB && len == sizeof(struct bt_job) ? run_job(&s, p) : -EPROTO;
		free(p);
		if (r < 0)
			break;
	}
	if (s.t->detach)
		s.t->detach(&s.c);
	free(s.rbuf);
	return 0;
}
