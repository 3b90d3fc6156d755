/* SPDX-License-Identifier: MIT */
/*
 * Description: channels shared by 32-bit and 64-bit processes: SPSC, MPMC and broadcast with
 * senders and receivers of both classes, copying and zero-copy (loan/commit, peek/release),
 * every message checked whole on the other side (sender, sequence number, length, checksum)
 * and the set of messages compared with what was sent; deadlines in both classes; kill -9 of
 * a 32-bit receiver holding a peeked message and of a 32-bit sender; shmkit_chan_stat of
 * either class listing the other's participants.
 */
#include "m32test.h"

static char name[64];

static void setup(void)
{
	snprintf(name, sizeof(name), "m32-chan-%d-%u", (int)getpid(), tu_rand(1u << 30));
}

static void teardown(void)
{
	peers_reap();
	shmkit_chan_unlink(name); /* gone already when the test passed */
}

TestSuite(m32_chan, .init = setup, .fini = teardown, .timeout = 60);

#define MSG    1024 /* msg_size of the channels; messages are 16..MAXLEN bytes */
#define MAXLEN 1000

/* The sum of m32_msg_hash over messages first..first+count-1 of sender s. */
static uint64_t sent_sum(unsigned s, uint32_t first, uint32_t count)
{
	uint64_t sum = 0;
	for (uint32_t q = first; q < first + count; q++)
		sum += m32_msg_hash(s, q);
	return sum;
}

/* A receive's reply: n messages, in order per sender, summing to sum. */
static void got(const char *r, const char *who, unsigned long long n, uint64_t sum)
{
	cr_assert(!strncmp(r, "ok ", 3), "%s: %s", who, r);
	cr_assert_eq(reply_field(r, "n"), n, "%s: %s, want %llu messages", who, r, n);
	cr_assert_eq(reply_field(r, "inv"), 0, "%s: a sender's messages out of order: %s", who, r);
	char s[32];
	cr_assert_eq(strtoull(reply_word(r, "sum", s, sizeof(s)), NULL, 16), sum,
	             "%s: not the messages that were sent: %s", who, r);
}

/* A receive's reply must have taken exactly the messages first..last (by "first=", "last="). */
static void got_range(const char *g, const char *first, const char *last)
{
	char w[32];
	cr_assert_str_eq(reply_word(g, "first", w, sizeof(w)), first, "%s", g);
	cr_assert_str_eq(reply_word(g, "last", w, sizeof(w)), last, "%s", g);
}

static void create(struct peer *p, const char *kind, unsigned cap)
{
	peer_expect(p, "ok", "chan-create %s %s %d %u", name, kind, MSG, cap);
}

static void open_as(struct peer *p, const char *role)
{
	peer_expect(p, "ok 0", "chan-open %s %s", name, role);
}

/* ---- one sender, one receiver, each class each way ---- */

struct pair {
	char kind[8];
	int bits_s, bits_r;
	char send[8], recv[8]; /* copy|loan, copy|peek */
};

ParameterizedTestParameters(m32_chan, pair)
{
	static struct pair p[] = {
	    {"spsc", 32, 64, "copy", "copy"},  {"spsc", 64, 32, "copy", "copy"},
	    {"spsc", 32, 64, "loan", "peek"},  {"spsc", 64, 32, "loan", "peek"},
	    {"mpmc", 32, 64, "loan", "copy"},  {"mpmc", 64, 32, "copy", "peek"},
	    {"bcast", 32, 64, "copy", "peek"}, {"bcast", 64, 32, "loan", "copy"},
	};
	return cr_make_param_array(struct pair, p, sizeof(p) / sizeof(p[0]));
}

/*
 * The sender's class creates the channel (capacity 64: the ring wraps many times, the sender
 * waits for room across classes); the receiver drains until -EPIPE, which the sender's close
 * gives it. Broadcast senders never wait, so that ring holds every message.
 */
ParameterizedTest(struct pair *k, m32_chan, pair)
{
	m32_require();
	const uint32_t n = 3000;
	struct peer s, r;
	peer_start(&s, k->bits_s, -1);
	peer_start(&r, k->bits_r, -1);
	create(&s, k->kind, strcmp(k->kind, "bcast") ? 64 : 4096);
	open_as(&r, "recv");
	open_as(&s, "send");
	peer_send(&r, "chan-recv 0 0 %s 20000", k->recv);
	peer_expect(&s, "ok", "chan-send 0 1 0 %u %d %s 20000", n, MAXLEN, k->send);
	peer_expect(&s, "ok", "chan-close 0");
	const char *g = peer_reply(&r, PEER_MS);
	cr_assert(g, "the %d-bit receiver did not answer", k->bits_r);
	char who[64];
	snprintf(who, sizeof(who), "%s %d -> %d (%s/%s)", k->kind, k->bits_s, k->bits_r, k->send,
	         k->recv);
	got(g, who, n, sent_sum(1, 0, n));
	got_range(g, "1:0", "1:2999");
	peer_expect(&r, "ok", "chan-close 0");
	peer_expect(&r, "ok", "chan-unlink %s", name);
	peer_stop(&s);
	peer_stop(&r);
}

/* ---- a sender and a receiver of each class ---- */

struct four {
	struct peer s32, s64, r32, r64;
};

/* Four helpers on a new channel (made by the 64-bit receiver), receivers open first. */
static void four_open(struct four *f, const char *kind, unsigned cap)
{
	peer_start(&f->s32, 32, -1);
	peer_start(&f->s64, 64, -1);
	peer_start(&f->r32, 32, -1);
	peer_start(&f->r64, 64, -1);
	create(&f->r64, kind, cap);
	open_as(&f->r32, "recv");
	open_as(&f->r64, "recv");
	open_as(&f->s32, "send");
	open_as(&f->s64, "send");
}

/*
 * All four at once: messages first..first+n-1 from each sender (sender 1, 32-bit, copies;
 * sender 2, 64-bit, loans), receivers draining until -EPIPE (32-bit copies, 64-bit peeks),
 * which the senders' closes give them. The receivers' replies are left to read.
 */
static void four_blast(struct four *f, uint32_t first, uint32_t n)
{
	peer_send(&f->r32, "chan-recv 0 0 copy 20000");
	peer_send(&f->r64, "chan-recv 0 0 peek 20000");
	peer_send(&f->s32, "chan-send 0 1 %u %u %d copy 20000", first, n, MAXLEN);
	peer_send(&f->s64, "chan-send 0 2 %u %u %d loan 20000", first, n, MAXLEN);
	struct peer *snd[] = {&f->s32, &f->s64};
	for (int i = 0; i < 2; i++) {
		const char *g = peer_reply(snd[i], PEER_MS);
		cr_assert(g && !strcmp(g, "ok"), "%d-bit sender: %s", snd[i]->bits, g ? g : "-");
		peer_expect(snd[i], "ok", "chan-close 0");
	}
}

static void four_stop(struct four *f)
{
	peer_stop(&f->s32);
	peer_stop(&f->s64);
	peer_stop(&f->r32);
	peer_stop(&f->r64);
}

/*
 * MPMC. First in order: the senders take turns (10 messages each, twice); the 32-bit receiver
 * takes the first 20 and the 64-bit one the next 20, exactly in the order sent. Then all four
 * at once, 1500 messages from each sender: between them the receivers got every message once,
 * each sender's in order.
 */
Test(m32_chan, mpmc_both_classes_each_side)
{
	m32_require();
	struct four f;
	four_open(&f, "mpmc", 64);
	for (uint32_t round = 0; round < 2; round++) {
		peer_expect(&f.s32, "ok", "chan-send 0 1 %u 10 %d copy 5000", 10 * round, MAXLEN);
		peer_expect(&f.s64, "ok", "chan-send 0 2 %u 10 %d loan 5000", 10 * round, MAXLEN);
	}
	const char *g = peer_cmd(&f.r32, "chan-recv 0 20 copy 5000");
	got(g, "32-bit receiver, in order", 20, sent_sum(1, 0, 10) + sent_sum(2, 0, 10));
	got_range(g, "1:0", "2:9");
	g = peer_cmd(&f.r64, "chan-recv 0 20 peek 5000");
	got(g, "64-bit receiver, in order", 20, sent_sum(1, 10, 10) + sent_sum(2, 10, 10));
	got_range(g, "1:10", "2:19");

	const uint32_t n = 1500;
	four_blast(&f, 20, n);
	unsigned long long total = 0, from1 = 0, from2 = 0;
	uint64_t sum = 0;
	struct peer *rcv[] = {&f.r32, &f.r64};
	for (int i = 0; i < 2; i++) {
		g = peer_reply(rcv[i], PEER_MS);
		cr_assert(g && !strncmp(g, "ok ", 3), "%d-bit receiver: %s", rcv[i]->bits,
		          g ? g : "-");
		cr_assert_eq(reply_field(g, "inv"), 0, "out of order: %s", g);
		total += reply_field(g, "n");
		char w[64];
		sum += strtoull(reply_word(g, "sum", w, sizeof(w)), NULL, 16);
		unsigned c[4];
		reply_word(g, "from", w, sizeof(w));
		cr_assert_eq(sscanf(w, "%u,%u,%u,%u", &c[0], &c[1], &c[2], &c[3]), 4);
		from1 += c[1];
		from2 += c[2];
	}
	cr_assert_eq(total, 2 * n);
	cr_assert_eq(from1, n);
	cr_assert_eq(from2, n);
	cr_assert_eq(sum, sent_sum(1, 20, n) + sent_sum(2, 20, n), "lost or doubled messages");
	four_stop(&f);
}

/* Broadcast: every receiver of either class sees every message of either class. */
Test(m32_chan, broadcast_both_classes_each_side)
{
	m32_require();
	struct four f;
	four_open(&f, "bcast", 4096);
	peer_expect(&f.s32, "ok", "chan-send 0 1 0 5 %d loan 5000", MAXLEN);
	peer_expect(&f.s64, "ok", "chan-send 0 2 0 5 %d copy 5000", MAXLEN);
	struct peer *rcv[] = {&f.r32, &f.r64};
	for (int i = 0; i < 2; i++) {
		const char *g = peer_cmd(rcv[i], "chan-recv 0 10 %s 5000", i ? "copy" : "peek");
		got(g, i ? "64-bit receiver" : "32-bit receiver", 10,
		    sent_sum(1, 0, 5) + sent_sum(2, 0, 5));
		got_range(g, "1:0", "2:4");
	}
	const uint32_t n = 1500;
	four_blast(&f, 5, n);
	for (int i = 0; i < 2; i++) {
		const char *g = peer_reply(rcv[i], PEER_MS);
		cr_assert(g, "%d-bit receiver: no reply", rcv[i]->bits);
		got(g, i ? "64-bit receiver" : "32-bit receiver", 2 * n,
		    sent_sum(1, 5, n) + sent_sum(2, 5, n));
	}
	four_stop(&f);
}

/* ---- deadlines ---- */

/* A timed wait of either side ends at its deadline (the helper: not before; here: not much
 * after), and a message of the other class ends one early. */
static void timed(struct peer *p, int ms)
{
	long long t0 = mono_ms();
	peer_expect(p, "err ETIMEDOUT", "chan-timed 0 %d", ms);
	long long took = mono_ms() - t0;
	cr_assert_geq(took, ms, "%d-bit: timed out after %lld ms, deadline %d", p->bits, took, ms);
	cr_assert_lt(took, ms + 1500, "%d-bit: timed out after %lld ms, deadline %d", p->bits, took,
	             ms);
}

Test(m32_chan, timed_waits_end_at_their_deadline)
{
	m32_require();
	struct peer s32, r32, s64, r64;
	peer_start(&s32, 32, -1);
	peer_start(&r32, 32, -1);
	peer_start(&s64, 64, -1);
	peer_start(&r64, 64, -1);
	create(&s32, "mpmc", 2);
	open_as(&r32, "recv");
	open_as(&r64, "recv");
	open_as(&s32, "send");
	open_as(&s64, "send");
	timed(&r32, 150); /* empty */
	timed(&r64, 150);
	peer_expect(&s64, "ok", "chan-send 0 2 0 2 64 copy 1000");
	timed(&s32, 150); /* full */
	timed(&s64, 150);
	got(peer_cmd(&r32, "chan-recv 0 2 copy 1000"), "32-bit receiver", 2, sent_sum(2, 0, 2));
	/* A message of the other class ends a long timed wait at once. */
	struct peer *rcv[] = {&r32, &r64}, *snd[] = {&s64, &s32};
	for (int i = 0; i < 2; i++) {
		peer_send(rcv[i], "chan-recv 0 1 copy 20000");
		cr_assert_null(peer_reply(rcv[i], 100), "%d-bit receive returned on an empty ring",
		               rcv[i]->bits);
		long long t0 = mono_ms();
		peer_expect(snd[i], "ok", "chan-send 0 3 %d 1 64 copy 1000", i);
		const char *g = peer_reply(rcv[i], PEER_MS);
		cr_assert(g, "%d-bit receiver: no reply", rcv[i]->bits);
		got(g, "woken receiver", 1, sent_sum(3, (uint32_t)i, 1));
		cr_assert_lt(mono_ms() - t0, 1000,
		             "a send of the other class took long to wake it");
	}
	peer_stop(&s32);
	peer_stop(&r32);
	peer_stop(&s64);
	peer_stop(&r64);
}

/* ---- kill -9 ---- */

/*
 * MPMC: a receiver of class bits_k peeks a message and is killed holding it; the receiver of
 * the other class gets it (once), after the two messages it could take meanwhile, and stat
 * no longer lists the dead one.
 */
static void killed_holding(int bits_k)
{
	m32_require();
	struct peer s, k, r;
	int bits_r = bits_k == 32 ? 64 : 32;
	peer_start(&s, bits_r, -1);
	peer_start(&k, bits_k, -1);
	peer_start(&r, bits_r, -1);
	create(&s, "mpmc", 16);
	open_as(&k, "recv");
	open_as(&r, "recv");
	open_as(&s, "send");
	peer_expect(&s, "ok", "chan-send 0 1 0 3 %d copy 1000", MAXLEN);
	peer_expect(&k, "ok 1:0", "chan-hold 0 1000");
	got(peer_cmd(&r, "chan-recv 0 2 copy 1000"), "the live receiver", 2, sent_sum(1, 1, 2));
	long long kpid = peer_num(&k, "pid");
	const char *st = peer_cmd(&r, "chan-stat %s", name);
	cr_assert_eq(reply_field(st, "receivers"), 2, "%s", st);
	cr_assert(strstr(st, "peers="), "%s", st);
	char want[32];
	snprintf(want, sizeof(want), "%lld:r:0", kpid);
	cr_assert(strstr(st, want), "the %d-bit receiver holding a message: %s", bits_k, st);
	peer_kill9(&k);
	long long t0 = mono_ms();
	const char *g = peer_cmd(&r, "chan-recv 0 1 peek 3000");
	got(g, "after the kill", 1, sent_sum(1, 0, 1));
	cr_assert_lt(mono_ms() - t0, 2000, "the message held by the dead took long to come back");
	/* Once: nothing else is there. */
	g = peer_cmd(&r, "chan-recv 0 1 copy 100");
	cr_assert(!strncmp(g, "err ETIMEDOUT n=0 ", 18), "%s", g);
	st = peer_cmd(&s, "chan-stat %s", name);
	cr_assert_eq(reply_field(st, "receivers"), 1, "%s", st);
	cr_assert_null(strstr(st, want), "the dead receiver is still listed: %s", st);
	peer_stop(&s);
	peer_stop(&r);
}

Test(m32_chan, receiver_32_killed_holding_peek_64_gets_it)
{
	killed_holding(32);
}

Test(m32_chan, receiver_64_killed_holding_peek_32_gets_it)
{
	killed_holding(64);
}

/*
 * A 32-bit sender is killed (idle, or holding a loaned slot half written): the 64-bit
 * receiver blocked on the empty ring gets -EPIPE soon after, and a loaned slot is counted
 * abandoned, never delivered.
 */
struct sender_kill {
	char kind[8];
	int loan;
};

ParameterizedTestParameters(m32_chan, sender_32_killed_64_gets_epipe)
{
	static struct sender_kill p[] = {{"spsc", 0}, {"spsc", 1}, {"mpmc", 0}, {"mpmc", 1}};
	return cr_make_param_array(struct sender_kill, p, sizeof(p) / sizeof(p[0]));
}

ParameterizedTest(struct sender_kill *k, m32_chan, sender_32_killed_64_gets_epipe)
{
	m32_require();
	struct peer s, r;
	peer_start(&s, 32, -1);
	peer_start(&r, 64, -1);
	create(&r, k->kind, 16);
	open_as(&r, "recv");
	open_as(&s, "send");
	peer_expect(&s, "ok", "chan-send 0 1 0 5 %d loan 1000", MAXLEN);
	got(peer_cmd(&r, "chan-recv 0 5 copy 1000"), "64-bit receiver", 5, sent_sum(1, 0, 5));
	if (k->loan)
		peer_expect(&s, "ok", "chan-loan 0 100");
	peer_send(&r, "chan-recv 0 1 copy 10000");
	cr_assert_null(peer_reply(&r, 200), "the receive returned with the sender alive");
	peer_kill9(&s);
	long long t0 = mono_ms();
	const char *g = peer_reply(&r, PEER_MS);
	long long took = mono_ms() - t0;
	cr_assert(g && !strncmp(g, "err EPIPE n=0 ", 14),
	          "%s after kill -9 of the 32-bit sender: %s", k->kind, g ? g : "(no reply)");
	cr_assert_lt(took, 2000, "-EPIPE came %lld ms after the kill", took);
	const char *st = peer_cmd(&r, "chan-stat %s", name);
	cr_assert_eq(reply_field(st, "senders"), 0, "%s", st);
	cr_assert_eq(reply_field(st, "abandoned"), (unsigned long long)k->loan, "%s", st);
	peer_stop(&r);
}

/* ---- stat ---- */

static int by_pid(const void *a, const void *b)
{
	return (int)(*(const long long *)a - *(const long long *)b);
}

/*
 * Two senders and two receivers, one of each class each: shmkit_chan_stat from a 32-bit and
 * a 64-bit observer (and from the participants) lists all four, with pids, roles and counts,
 * the same from every class.
 */
Test(m32_chan, stat_shows_the_other_class)
{
	m32_require();
	struct peer s32, s64, r32, r64, o32, o64;
	peer_start(&s32, 32, -1);
	peer_start(&s64, 64, -1);
	peer_start(&r32, 32, -1);
	peer_start(&r64, 64, -1);
	peer_start(&o32, 32, -1);
	peer_start(&o64, 64, -1);
	create(&s32, "mpmc", 32);
	open_as(&r32, "recv");
	open_as(&r64, "recv");
	open_as(&s32, "send");
	open_as(&s64, "send");
	peer_expect(&s32, "ok", "chan-send 0 1 0 7 %d copy 1000", MAXLEN);
	peer_expect(&s64, "ok", "chan-send 0 2 0 3 %d loan 1000", MAXLEN);
	got(peer_cmd(&r64, "chan-recv 0 4 copy 1000"), "64-bit receiver", 4, sent_sum(1, 0, 4));
	got(peer_cmd(&r32, "chan-recv 0 2 peek 1000"), "32-bit receiver", 2, sent_sum(1, 4, 2));
	/* pid:role:count, by pid */
	struct {
		long long pid;
		char role;
		int count;
	} e[4] = {{peer_num(&s32, "pid"), 's', 7},
	          {peer_num(&s64, "pid"), 's', 3},
	          {peer_num(&r32, "pid"), 'r', 2},
	          {peer_num(&r64, "pid"), 'r', 4}};
	qsort(e, 4, sizeof(e[0]), by_pid);
	char want[256];
	snprintf(want, sizeof(want),
	         "ok n=4 senders=2 receivers=2 sent=10 depth=4 abandoned=0 kind=mpmc msg=%d cap=32 "
	         "peers=%lld:%c:%d,%lld:%c:%d,%lld:%c:%d,%lld:%c:%d",
	         MSG, e[0].pid, e[0].role, e[0].count, e[1].pid, e[1].role, e[1].count, e[2].pid,
	         e[2].role, e[2].count, e[3].pid, e[3].role, e[3].count);
	struct peer *obs[] = {&o32, &o64, &s32, &r64};
	for (size_t i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		peer_expect(obs[i], want, "chan-stat %s", name);
	peer_stop(&s32);
	peer_stop(&s64);
	peer_stop(&r32);
	peer_stop(&r64);
	peer_stop(&o32);
	peer_stop(&o64);
}

/*
 * A ring as large as channels may be (4 GiB, SK_CHAN_SIZE_MAX; made here by growing a small
 * channel's ring file, sparse) is more than a 32-bit process can map: opening it there is
 * -ENOMEM, as mapping any object larger than the address space is, while a 64-bit process
 * opens it. Inspecting it reads only the header: both classes see the same.
 */
Test(m32_chan, ring_of_4gib_is_enomem_in_32_bit)
{
	m32_require();
	struct peer a, b;
	peer_start(&a, 64, -1);
	peer_start(&b, 32, -1);
	create(&a, "mpmc", 4);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/shmkit.chan.%s/ring", name);
	cr_assert_eq(truncate(path, (off_t)1 << 32), 0, "%s: %s", path, strerror(errno));
	open_as(&a, "recv");
	peer_expect(&b, "err ENOMEM", "chan-open %s recv", name);
	peer_expect(&b, "err ENOMEM", "chan-open %s send", name);
	char want[512];
	snprintf(want, sizeof(want), "%s", peer_cmd(&a, "chan-stat %s", name));
	cr_assert_eq(strncmp(want, "ok ", 3), 0, "64-bit stat: %s", want);
	peer_expect(&b, want, "chan-stat %s", name);
	peer_stop(&a);
	peer_stop(&b);
}
