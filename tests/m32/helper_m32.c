/* SPDX-License-Identifier: MIT */
/*
 * Description: the other process of the 32/64-bit tests (tests/m32), built for both classes:
 * <build>/tests/helper_m32 (64-bit) and <build>/m32/bin/helper_m32 (32-bit, -m32 sub-build).
 *
 * It reads one command per line on stdin and answers each with one line on stdout: "ok ...",
 * "err ENAME" (the call failed with that errno), "skip WHY" or "bad WHY" (a check of its own
 * failed). The System V commands use shmkit_shm* in $SHMKIT_NAMESPACE, or the kernel after
 * "backend kernel"; the synchronization commands use the struct m32_area (m32proto.h) of a
 * POSIX object or an inherited memfd; the channel commands open channels by name and send and
 * receive self-checking messages (tests/chan/chanmsg.h); the heap commands work on one heap
 * opened by name. tests/m32/README.md lists the commands and how to add one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "../chan/chanmsg.h"
#include "internal/crash.h"
#include "m32proto.h"
#include "shmkit.h"

#define MAX_ARGS 8
#define MAX_ATTS 64

struct backend {
	int (*get)(key_t key, size_t size, int flg);
	void *(*at)(int id, const void *addr, int flg);
	int (*dt)(const void *addr);
	int (*ctl)(int id, int cmd, struct shmid_ds *buf);
};
static const struct backend be_shmkit = {shmkit_shmget, shmkit_shmat, shmkit_shmdt, shmkit_shmctl};
static const struct backend be_kernel = {shmget, shmat, shmdt, shmctl};
static const struct backend *be = &be_shmkit;

static struct {
	void *addr;
	size_t len;
} atts[MAX_ATTS];
static struct m32_area *area;

/* ---- replies ---- */

static void reply(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static const char *ename(int e)
{
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* r: 0 / -errno (the shmkit_ convention) */
static void reply_r(int r)
{
	if (r)
		reply(M32_ERR " %s", ename(-r));
	else
		reply(M32_OK);
}

/* r: -1 and errno (the libc convention) */
static void reply_libc(int r)
{
	if (r < 0)
		reply(M32_ERR " %s", ename(errno));
	else
		reply(M32_OK " %d", r);
}

static long long num(const char *s)
{
	return strtoll(s, NULL, 0);
}

static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct timespec deadline_ms(long long ms)
{
	uint64_t t = mono_ns() + (uint64_t)ms * 1000000u;
	return (struct timespec){(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
}

/* ---- generic ---- */

static void c_abi(char **a)
{
	reply(M32_OK " ptr=%zu time=%zu off=%zu long=%zu", 8 * sizeof(void *), 8 * sizeof(time_t),
	      8 * sizeof(off_t), 8 * sizeof(long));
}

static void c_pid(char **a)
{
	reply(M32_OK " %d", (int)getpid());
}

static void c_backend(char **a)
{
	if (!strcmp(a[1], "kernel"))
		be = &be_kernel;
	else if (!strcmp(a[1], "shmkit"))
		be = &be_shmkit;
	else
		return reply(M32_BAD " unknown backend %s", a[1]);
	reply(M32_OK);
}

static void c_ns(char **a)
{
	reply_r(shmkit_ns_use(a[1]));
}

/* ---- System V ---- */

static void c_get(char **a)
{
	reply_libc(be->get((key_t)num(a[1]), (size_t)num(a[2]), (int)num(a[3])));
}

static void c_at(char **a)
{
	int n = 0;
	while (n < MAX_ATTS && atts[n].addr)
		n++;
	if (n == MAX_ATTS)
		return reply(M32_BAD " too many attachments");
	int id = (int)num(a[1]);
	struct shmid_ds ds;
	void *p = be->at(id, NULL, (int)num(a[2]));
	if (p == (void *)-1)
		return reply(M32_ERR " %s", ename(errno));
	atts[n].addr = p;
	atts[n].len = be->ctl(id, IPC_STAT, &ds) == 0 ? ds.shm_segsz : 1;
	reply(M32_OK " %d", n);
}

static int att(const char *s)
{
	long long n = num(s);
	return n >= 0 && n < MAX_ATTS && atts[n].addr ? (int)n : -1;
}

static void c_dt(char **a)
{
	int n = att(a[1]);
	if (n < 0)
		return reply(M32_BAD " no attachment %s", a[1]);
	int r = be->dt(atts[n].addr);
	if (r == 0)
		atts[n].addr = NULL;
	reply_libc(r);
}

static void c_poke(char **a)
{
	int n = att(a[1]);
	size_t off = (size_t)num(a[2]), len = strlen(a[3]);
	if (n < 0 || off > atts[n].len || len > atts[n].len - off)
		return reply(M32_BAD " poke outside attachment %s", a[1]);
	memcpy((char *)atts[n].addr + off, a[3], len);
	reply(M32_OK);
}

static void c_peek(char **a)
{
	int n = att(a[1]);
	size_t off = (size_t)num(a[2]), len = (size_t)num(a[3]);
	char buf[256];
	if (n < 0 || len >= sizeof(buf) || off > atts[n].len || len > atts[n].len - off)
		return reply(M32_BAD " peek outside attachment %s", a[1]);
	memcpy(buf, (char *)atts[n].addr + off, len);
	buf[len] = '\0';
	reply(M32_OK " %s", buf);
}

/* Every field of struct shmid_ds that both classes have, exactly (times in seconds). */
static void c_stat(char **a)
{
	struct shmid_ds d;
	memset(&d, 0x5a, sizeof(d));
	if (be->ctl((int)num(a[1]), IPC_STAT, &d) < 0)
		return reply(M32_ERR " %s", ename(errno));
	reply(M32_OK " key=%d uid=%u gid=%u cuid=%u cgid=%u mode=%o seq=%u segsz=%llu atime=%lld "
	             "dtime=%lld ctime=%lld cpid=%d lpid=%d nattch=%llu",
	      (int)d.shm_perm.__key, (unsigned)d.shm_perm.uid, (unsigned)d.shm_perm.gid,
	      (unsigned)d.shm_perm.cuid, (unsigned)d.shm_perm.cgid, (unsigned)d.shm_perm.mode,
	      (unsigned)d.shm_perm.__seq, (unsigned long long)d.shm_segsz, (long long)d.shm_atime,
	      (long long)d.shm_dtime, (long long)d.shm_ctime, (int)d.shm_cpid, (int)d.shm_lpid,
	      (unsigned long long)d.shm_nattch);
}

static void c_set(char **a)
{
	struct shmid_ds d;
	int id = (int)num(a[1]);
	if (be->ctl(id, IPC_STAT, &d) < 0)
		return reply(M32_ERR " %s", ename(errno));
	d.shm_perm.uid = (uid_t)num(a[2]);
	d.shm_perm.gid = (gid_t)num(a[3]);
	d.shm_perm.mode = (unsigned)num(a[4]);
	reply_libc(be->ctl(id, IPC_SET, &d));
}

static void c_rmid(char **a)
{
	reply_libc(be->ctl((int)num(a[1]), IPC_RMID, NULL));
}

/* IPC_INFO and SHM_INFO as this class sees them (a 32-bit caller gets the compat values). */
static void c_info(char **a)
{
	struct shminfo i;
	struct shm_info s;
	if (be->ctl(0, IPC_INFO, (struct shmid_ds *)&i) < 0 ||
	    be->ctl(0, SHM_INFO, (struct shmid_ds *)&s) < 0)
		return reply(M32_ERR " %s", ename(errno));
	reply(M32_OK " shmmax=%llu shmmin=%llu shmmni=%llu shmseg=%llu shmall=%llu used_ids=%d "
	             "shm_tot=%llu",
	      (unsigned long long)i.shmmax, (unsigned long long)i.shmmin,
	      (unsigned long long)i.shmmni, (unsigned long long)i.shmseg,
	      (unsigned long long)i.shmall, s.used_ids, (unsigned long long)s.shm_tot);
}

/* ---- shared objects (seg) ---- */

/* Map a POSIX object: all of it (len 0) or its first len bytes. */
static int map_posix(const char *name, uint64_t len, void **out)
{
	shmkit_seg_t *s;
	int r = shmkit_seg_open(&s, SHMKIT_SEG_POSIX, name, 0);
	if (r)
		return r;
	struct shmkit_map_opts o = {.length = len};
	r = shmkit_seg_map(s, &o, out);
	shmkit_seg_close(s);
	return r;
}

static void c_seg_map(char **a)
{
	void *p;
	int r = map_posix(a[1], (uint64_t)num(a[2]), &p);
	reply_r(r);
}

static void area_init(void)
{
	shmkit_mutex_init(&area->m);
	shmkit_cond_init(&area->c);
	shmkit_sem_init(&area->s, 0);
	shmkit_event_init(&area->e, 0);
}

/* area-new NAME: create the POSIX object and initialise its objects. */
static void c_area_new(char **a)
{
	struct shmkit_seg_config cfg = SHMKIT_SEG_CONFIG_INIT;
	shmkit_seg_t *s;
	cfg.mode = 0600;
	int r = shmkit_seg_create(&s, a[1], M32_AREA_SIZE, &cfg);
	if (!r) {
		r = shmkit_seg_map(s, NULL, (void **)&area);
		shmkit_seg_close(s);
	}
	if (!r)
		area_init();
	reply_r(r);
}

static void c_area_open(char **a)
{
	reply_r(map_posix(a[1], M32_AREA_SIZE, (void **)&area));
}

/* area-fd FD: an inherited memfd (or any shared-memory descriptor). */
static void c_area_fd(char **a)
{
	shmkit_seg_t *s;
	int r = shmkit_seg_from_fd(&s, (int)num(a[1]), 0);
	if (!r) {
		struct shmkit_map_opts o = {.length = M32_AREA_SIZE};
		r = shmkit_seg_map(s, &o, (void **)&area);
		shmkit_seg_close(s);
	}
	reply_r(r);
}

/* ---- synchronization ---- */

#define NEED_AREA()                                                                                \
	do {                                                                                       \
		if (!area)                                                                         \
			return reply(M32_BAD " no area mapped");                                   \
	} while (0)

static void c_lock(char **a)
{
	NEED_AREA();
	int r = shmkit_mutex_lock(&area->m);
	if (r == 0 || r == -EOWNERDEAD)
		area->inside = 1;
	reply_r(r);
}

static void c_trylock(char **a)
{
	NEED_AREA();
	reply_r(shmkit_mutex_trylock(&area->m));
}

static void c_timedlock(char **a)
{
	NEED_AREA();
	struct timespec d = deadline_ms(num(a[1]));
	reply_r(shmkit_mutex_timedlock(&area->m, &d));
}

static void c_consistent(char **a)
{
	NEED_AREA();
	reply_r(shmkit_mutex_consistent(&area->m));
}

static void c_unlock(char **a)
{
	NEED_AREA();
	area->inside = 0;
	reply_r(shmkit_mutex_unlock(&area->m));
}

/* hammer N: N critical sections, each checking that nobody else is inside. */
static void c_hammer(char **a)
{
	NEED_AREA();
	long long n = num(a[1]);
	for (long long i = 0; i < n; i++) {
		int r = shmkit_mutex_lock(&area->m);
		if (r)
			return reply(M32_ERR " %s", ename(-r));
		if (area->inside)
			return reply(M32_BAD " two holders at once (round %lld)", i);
		area->inside = 1;
		area->counter++;
		area->inside = 0;
		if ((r = shmkit_mutex_unlock(&area->m)))
			return reply(M32_ERR " %s", ename(-r));
	}
	reply(M32_OK);
}

static void c_counter(char **a)
{
	NEED_AREA();
	reply(M32_OK " %llu", (unsigned long long)area->counter);
}

/* cond-wait: wait (at most 20 s) under the mutex until flag is set; consume it. */
static void c_cond_wait(char **a)
{
	NEED_AREA();
	struct timespec d = deadline_ms(20000);
	int r = shmkit_mutex_lock(&area->m);
	while (r == 0 && !area->flag)
		r = shmkit_cond_timedwait(&area->c, &area->m, &d);
	if (r == 0)
		area->flag--;
	if (r == 0 || r == -ETIMEDOUT)
		shmkit_mutex_unlock(&area->m);
	reply_r(r);
}

/* cond-signal / cond-broadcast N: add N to flag under the mutex, then wake. */
static void c_cond_wake(char **a)
{
	NEED_AREA();
	int r = shmkit_mutex_lock(&area->m);
	if (r)
		return reply_r(r);
	area->flag += (uint32_t)num(a[1]);
	r = !strcmp(a[0], "cond-signal") ? shmkit_cond_signal(&area->c)
	                                 : shmkit_cond_broadcast(&area->c);
	shmkit_mutex_unlock(&area->m);
	reply_r(r);
}

static void c_sem_post(char **a)
{
	NEED_AREA();
	int r = 0;
	for (long long i = num(a[1]); i > 0 && !r; i--)
		r = shmkit_sem_post(&area->s);
	reply_r(r);
}

static void c_sem_wait(char **a)
{
	NEED_AREA();
	reply_r(shmkit_sem_wait(&area->s));
}

static void c_sem_value(char **a)
{
	NEED_AREA();
	unsigned v = 0;
	int r = shmkit_sem_getvalue(&area->s, &v);
	if (r)
		return reply_r(r);
	reply(M32_OK " %u", v);
}

static void c_ev_set(char **a)
{
	NEED_AREA();
	reply_r(shmkit_event_set(&area->e));
}

static void c_ev_wait(char **a)
{
	NEED_AREA();
	reply_r(shmkit_event_wait(&area->e));
}

/* cond_timedwait under the mutex, which a timeout leaves locked too. */
static int cond_timed(const struct timespec *d)
{
	int r = shmkit_mutex_lock(&area->m);
	if (r)
		return r;
	r = shmkit_cond_timedwait(&area->c, &area->m, d);
	shmkit_mutex_unlock(&area->m);
	return r;
}

/*
 * sem-timedwait MS / ev-timedwait MS / cond-timedwait MS / timedlock-check MS: a timed wait; a
 * timeout must not come before its deadline (a 32-bit process passes the kernel a time64
 * struct timespec).
 */
static void c_timed(char **a)
{
	NEED_AREA();
	struct timespec d = deadline_ms(num(a[1]));
	uint64_t want = (uint64_t)d.tv_sec * 1000000000u + (uint64_t)d.tv_nsec;
	int r = !strcmp(a[0], "sem-timedwait")    ? shmkit_sem_timedwait(&area->s, &d)
	        : !strcmp(a[0], "ev-timedwait")   ? shmkit_event_timedwait(&area->e, &d)
	        : !strcmp(a[0], "cond-timedwait") ? cond_timed(&d)
	                                          : shmkit_mutex_timedlock(&area->m, &d);
	uint64_t now = mono_ns();
	if (r == -ETIMEDOUT && now < want)
		return reply(M32_BAD " timed out %llu us before the deadline",
		             (unsigned long long)(want - now) / 1000);
	reply_r(r);
}

/* ---- channels ---- */

#define MAX_CHANS 8
static shmkit_chan_t *chans[MAX_CHANS];

static const char *const kinds[] = {"?", "spsc", "mpmc", "bcast"};

/* The handle of argument s, or NULL. */
static shmkit_chan_t *chan_of(const char *s)
{
	long long n = num(s);
	return n >= 0 && n < MAX_CHANS ? chans[n] : NULL;
}

#define NEED_CHAN(c, s)                                                                            \
	shmkit_chan_t *c = chan_of(s);                                                             \
	if (!c)                                                                                    \
	return reply(M32_BAD " no channel handle %s", s)

/* chan-create NAME spsc|mpmc|bcast MSG_SIZE CAPACITY */
static void c_chan_create(char **a)
{
	struct shmkit_chan_config cfg = {.msg_size = (uint64_t)num(a[3]),
	                                 .capacity = (uint64_t)num(a[4])};
	for (uint32_t k = 1; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(a[2], kinds[k]))
			cfg.kind = k;
	if (!cfg.kind)
		return reply(M32_BAD " unknown kind %s", a[2]);
	reply_r(shmkit_chan_create(a[1], &cfg));
}

static void c_chan_unlink(char **a)
{
	reply_r(shmkit_chan_unlink(a[1]));
}

/* chan-open NAME send|recv: "ok N", the handle's number. */
static void c_chan_open(char **a)
{
	int n = 0;
	while (n < MAX_CHANS && chans[n])
		n++;
	if (n == MAX_CHANS)
		return reply(M32_BAD " too many channel handles");
	uint32_t role = !strcmp(a[2], "send") ? SHMKIT_CHAN_SEND : SHMKIT_CHAN_RECV;
	int r = shmkit_chan_open(&chans[n], a[1], role);
	if (r)
		return reply_r(r);
	reply(M32_OK " %d", n);
}

static void c_chan_close(char **a)
{
	NEED_CHAN(c, a[1]);
	chans[num(a[1])] = NULL;
	reply_r(shmkit_chan_close(c));
}

/* The length of message (sender, seq) when messages are up to max bytes: it varies. */
static uint32_t msg_len(unsigned sender, uint32_t seq, uint32_t max)
{
	return CM_HDR + (uint32_t)(cm_mix(cm_id(sender, seq)) % (max - CM_HDR + 1));
}

/* What a receiver reports of the messages it got: the other side checks it. */
struct got {
	uint32_t n, inv;  /* messages; those not after their sender's previous one */
	uint64_t sum;     /* of m32_msg_hash over them (a multiset's fingerprint) */
	uint32_t from[8]; /* per sender */
	int64_t last[8];  /* each sender's last seq, -1 none */
	unsigned first_s, last_s;
	uint32_t first_q, last_q;
};

static void got_init(struct got *g)
{
	memset(g, 0, sizeof(*g));
	for (int i = 0; i < 8; i++)
		g->last[i] = -1;
}

/* Check a message and count it: 0, or -1 if it is not a whole message of a known sender. */
static int got_add(struct got *g, const void *m, size_t len)
{
	unsigned s;
	uint32_t q;
	if (cm_check(m, len, &s, &q) || s >= 8)
		return -1;
	if ((int64_t)q <= g->last[s])
		g->inv++;
	g->last[s] = q;
	g->from[s]++;
	g->sum += m32_msg_hash(s, q);
	if (!g->n++)
		g->first_s = s, g->first_q = q;
	g->last_s = s, g->last_q = q;
	return 0;
}

/* "ok" or "err ENAME" (r), then what was received. */
static void got_reply(const struct got *g, int r)
{
	char head[32];
	if (r)
		snprintf(head, sizeof(head), M32_ERR " %s", ename(-r));
	else
		snprintf(head, sizeof(head), M32_OK);
	reply("%s n=%u sum=%016llx inv=%u first=%u:%u last=%u:%u from=%u,%u,%u,%u", head, g->n,
	      (unsigned long long)g->sum, g->inv, g->first_s, g->first_q, g->last_s, g->last_q,
	      g->from[0], g->from[1], g->from[2], g->from[3]);
}

/*
 * chan-send N SENDER FIRST COUNT MAXLEN copy|loan MS: messages FIRST.. of sender SENDER, of
 * varying lengths up to MAXLEN, copied or written in a loaned slot; all within MS.
 */
static void c_chan_send(char **a)
{
	NEED_CHAN(c, a[1]);
	unsigned sender = (unsigned)num(a[2]);
	uint32_t first = (uint32_t)num(a[3]), count = (uint32_t)num(a[4]);
	uint32_t max = (uint32_t)num(a[5]);
	int loan = !strcmp(a[6], "loan");
	struct timespec d = deadline_ms(num(a[7]));
	static unsigned char buf[1 << 16];
	if (max < CM_HDR || max > sizeof(buf))
		return reply(M32_BAD " message size %u", max);
	for (uint32_t q = first; q < first + count; q++) {
		uint32_t len = msg_len(sender, q, max);
		int r;
		if (loan) {
			void *slot;
			r = shmkit_chan_loan(c, len, &slot, &d);
			if (!r) {
				cm_fill(slot, len, sender, q);
				r = shmkit_chan_commit(c, slot, len);
			}
		} else {
			cm_fill(buf, len, sender, q);
			r = shmkit_chan_send(c, buf, len, &d);
		}
		if (r)
			return reply(M32_ERR " %s sent=%u", ename(-r), q - first);
	}
	reply(M32_OK);
}

/*
 * chan-recv N COUNT copy|peek MS: COUNT messages (0: until -EPIPE, which then is no error),
 * each checked whole, copied or read in place and released; all within MS.
 */
static void c_chan_recv(char **a)
{
	NEED_CHAN(c, a[1]);
	uint32_t count = (uint32_t)num(a[2]);
	int peek = !strcmp(a[3], "peek");
	struct timespec d = deadline_ms(num(a[4]));
	static unsigned char buf[1 << 16];
	struct got g;
	got_init(&g);
	int r = 0;
	while (!count || g.n < count) {
		const void *m = buf;
		ssize_t len =
		    peek ? shmkit_chan_peek(c, &m, &d) : shmkit_chan_recv(c, buf, sizeof(buf), &d);
		if (len < 0) {
			r = (int)len;
			break;
		}
		if (got_add(&g, m, (size_t)len))
			return reply(M32_BAD " message %u: %zd bytes, not a whole message", g.n,
			             len);
		if (peek && (r = shmkit_chan_release(c, m)))
			break;
	}
	got_reply(&g, !count && r == -EPIPE ? 0 : r);
}

/* chan-hold N MS: peek one message, check it, and keep it: "ok SENDER:SEQ". */
static void c_chan_hold(char **a)
{
	NEED_CHAN(c, a[1]);
	struct timespec d = deadline_ms(num(a[2]));
	const void *m;
	ssize_t len = shmkit_chan_peek(c, &m, &d);
	unsigned s;
	uint32_t q;
	if (len < 0)
		return reply_r((int)len);
	if (cm_check(m, (size_t)len, &s, &q))
		return reply(M32_BAD " the peeked message is not whole");
	reply(M32_OK " %u:%u", s, q);
}

/* chan-loan N LEN: loan a slot, write half a message in it, and keep it. */
static void c_chan_loan(char **a)
{
	NEED_CHAN(c, a[1]);
	struct timespec d = deadline_ms(20000);
	void *slot;
	int r = shmkit_chan_loan(c, (size_t)num(a[2]), &slot, &d);
	if (!r)
		memset(slot, 0x5a, (size_t)num(a[2]) / 2);
	reply_r(r);
}

/*
 * chan-timed N MS: a receive (or, for a sender, a send) that has to wait, with a deadline MS
 * ahead: it must not time out before the deadline (a 32-bit process hands the kernel a time64
 * struct timespec).
 */
static void c_chan_timed(char **a)
{
	NEED_CHAN(c, a[1]);
	struct timespec d = deadline_ms(num(a[2]));
	uint64_t want = (uint64_t)d.tv_sec * 1000000000u + (uint64_t)d.tv_nsec;
	unsigned char buf[64];
	cm_fill(buf, sizeof(buf), 7, 0);
	ssize_t r = shmkit_chan_recv(c, buf, sizeof(buf), &d);
	if (r == -EBADF) /* a sender */
		r = shmkit_chan_send(c, buf, sizeof(buf), &d);
	uint64_t now = mono_ns();
	if (r == -ETIMEDOUT && now < want)
		return reply(M32_BAD " timed out %llu us before the deadline",
		             (unsigned long long)(want - now) / 1000);
	if (r > 0)
		return reply(M32_OK " %zd", r);
	reply_r((int)r);
}

/*
 * chan-stat NAME: shmkit_chan_stat as this class reads it: "ok n=N senders=S receivers=R
 * sent=X depth=D abandoned=A kind=K msg=M cap=C peers=PID:s|r:COUNT,..." (peers by pid).
 */
static void c_chan_stat(char **a)
{
	struct shmkit_chan_info info;
	struct shmkit_chan_peer p[16];
	int n = shmkit_chan_stat(a[1], &info, p, 16);
	if (n < 0)
		return reply_r(n);
	char peers[16 * 40] = "", *w = peers;
	for (int i = 0; i < n && i < 16; i++) {
		int best = i; /* sorted by pid, so that both classes print the same */
		for (int j = i + 1; j < n && j < 16; j++)
			if (p[j].pid < p[best].pid)
				best = j;
		struct shmkit_chan_peer t = p[i];
		p[i] = p[best];
		p[best] = t;
		w += sprintf(w, "%s%d:%c:%llu", i ? "," : "", (int)p[i].pid,
		             p[i].role == SHMKIT_CHAN_SEND ? 's' : 'r',
		             (unsigned long long)p[i].count);
	}
	reply(M32_OK " n=%d senders=%u receivers=%u sent=%llu depth=%llu abandoned=%llu kind=%s "
	             "msg=%llu cap=%llu peers=%s",
	      n, info.senders, info.receivers, (unsigned long long)info.sent,
	      (unsigned long long)info.depth, (unsigned long long)info.abandoned,
	      info.kind < 4 ? kinds[info.kind] : "?", (unsigned long long)info.msg_size,
	      (unsigned long long)info.capacity, peers);
}

/* ---- heaps ---- */

static shmkit_heap_t *heap;

#define NEED_HEAP()                                                                                \
	do {                                                                                       \
		if (!heap)                                                                         \
			return reply(M32_BAD " no heap open");                                     \
	} while (0)

static uint8_t pattern(uint64_t seed, uint64_t i)
{
	return (uint8_t)((seed * 0x9e3779b97f4a7c15ull + i * 31) >> 24);
}

static void fill(void *p, uint64_t n, uint64_t seed)
{
	for (uint64_t i = 0; i < n; i++)
		((uint8_t *)p)[i] = pattern(seed, i);
}

/* 0 if p holds seed's pattern, else 1 + the first byte that does not. */
static uint64_t verify(const void *p, uint64_t n, uint64_t seed)
{
	for (uint64_t i = 0; i < n; i++)
		if (((const uint8_t *)p)[i] != pattern(seed, i))
			return i + 1;
	return 0;
}

/* heap-new NAME SIZE MAX_SIZE */
static void c_heap_new(char **a)
{
	struct shmkit_heap_opts o = {.size = (uint64_t)num(a[2]), .max_size = (uint64_t)num(a[3])};
	shmkit_heap_close(heap);
	heap = NULL;
	int r = shmkit_heap_create_opts(&heap, a[1], &o);
	reply_r(r == 1 ? 0 : r < 0 ? r : -EEXIST);
}

/* heap-open NAME rw|ro */
static void c_heap_open(char **a)
{
	shmkit_heap_close(heap);
	heap = NULL;
	reply_r(shmkit_heap_open(&heap, a[1], !strcmp(a[2], "ro") ? SHMKIT_HEAP_RDONLY : 0));
}

static void c_heap_close(char **a)
{
	int r = shmkit_heap_close(heap);
	heap = NULL;
	reply_r(r);
}

static void c_heap_unlink(char **a)
{
	reply_r(shmkit_heap_unlink(a[1]));
}

/* heap-alloc SIZE SEED: "ok OFF USABLE", the block filled with SEED's pattern. */
static void c_heap_alloc(char **a)
{
	NEED_HEAP();
	uint64_t off, usable;
	int r = shmkit_heap_alloc(heap, (size_t)num(a[1]), &off);
	if (!r)
		r = shmkit_heap_usable_size(heap, off, &usable);
	if (r)
		return reply_r(r);
	void *p = shmkit_heap_ptr(heap, off);
	if (!p || shmkit_heap_off(heap, p) != off || (uintptr_t)p % SHMKIT_HEAP_ALIGN)
		return reply(M32_BAD " offset %llu does not map back", (unsigned long long)off);
	fill(p, usable, (uint64_t)num(a[2]));
	reply(M32_OK " %llu %llu", (unsigned long long)off, (unsigned long long)usable);
}

/* heap-verify OFF LEN SEED: the block holds SEED's pattern ("bad" if not). */
static void c_heap_verify(char **a)
{
	NEED_HEAP();
	uint64_t off = (uint64_t)num(a[1]), len = (uint64_t)num(a[2]);
	const void *p = shmkit_heap_ptr(heap, off);
	if (!p || !shmkit_heap_ptr(heap, off + len - 1))
		return reply(M32_BAD " offset %llu is not in the heap", (unsigned long long)off);
	uint64_t at = verify(p, len, (uint64_t)num(a[3]));
	if (at)
		return reply(M32_BAD " byte %llu of block %llu differs", (unsigned long long)at - 1,
		             (unsigned long long)off);
	reply(M32_OK);
}

static void c_heap_free(char **a)
{
	NEED_HEAP();
	reply_r(shmkit_heap_free(heap, (uint64_t)num(a[1])));
}

static void c_heap_usable(char **a)
{
	NEED_HEAP();
	uint64_t usable;
	int r = shmkit_heap_usable_size(heap, (uint64_t)num(a[1]), &usable);
	if (r)
		return reply_r(r);
	reply(M32_OK " %llu", (unsigned long long)usable);
}

/* heap-named NAME SIZE SEED: "ok CREATED OFF"; a new object is filled with SEED's pattern. */
static void c_heap_named(char **a)
{
	NEED_HEAP();
	uint64_t off, size = (uint64_t)num(a[2]);
	int r = shmkit_heap_named(heap, a[1], (size_t)size, &off);
	if (r < 0)
		return reply_r(r);
	if (r == 1)
		fill(shmkit_heap_ptr(heap, off), size, (uint64_t)num(a[3]));
	reply(M32_OK " %d %llu", r, (unsigned long long)off);
}

/* heap-find NAME: "ok OFF SIZE" */
static void c_heap_find(char **a)
{
	NEED_HEAP();
	uint64_t off, size;
	int r = shmkit_heap_find(heap, a[1], &off, &size);
	if (r)
		return reply_r(r);
	reply(M32_OK " %llu %llu", (unsigned long long)off, (unsigned long long)size);
}

static void c_heap_unname(char **a)
{
	NEED_HEAP();
	reply_r(shmkit_heap_unname(heap, a[1]));
}

static int name_count(const char *name, uint64_t off, uint64_t size, void *arg)
{
	(*(uint64_t *)arg) += size;
	return 0;
}

/*
 * heap-check 0|repair: "ok ret=R size= meta= used= free= slack= leaked= blocks= leaked_blocks=
 * named= damage= repairs= names=N/BYTES" (every figure, and the name walk's).
 */
static void c_heap_check(char **a)
{
	NEED_HEAP();
	struct shmkit_heap_report r;
	int ret =
	    shmkit_heap_check(heap, &r, strcmp(a[1], "repair") ? 0 : SHMKIT_HEAP_CHECK_REPAIR);
	if (ret < 0 && ret != -EBADMSG)
		return reply_r(ret);
	if (r.size != r.meta + r.used + r.free + r.slack + r.leaked)
		return reply(M32_BAD " the report does not add up");
	uint64_t bytes = 0;
	int names = shmkit_heap_names(heap, name_count, &bytes);
	reply(M32_OK " ret=%d size=%llu meta=%llu used=%llu free=%llu slack=%llu leaked=%llu "
	             "blocks=%llu leaked_blocks=%llu named=%llu damage=%llu repairs=%llu "
	             "names=%d/%llu",
	      ret, (unsigned long long)r.size, (unsigned long long)r.meta,
	      (unsigned long long)r.used, (unsigned long long)r.free, (unsigned long long)r.slack,
	      (unsigned long long)r.leaked, (unsigned long long)r.blocks,
	      (unsigned long long)r.leaked_blocks, (unsigned long long)r.named,
	      (unsigned long long)r.damage, (unsigned long long)r.repairs, names,
	      (unsigned long long)bytes);
}

/* The list rooted at the named object NAME (created empty if need be), or NULL. */
static struct m32_list *list_of(const char *name, int create, int *err)
{
	uint64_t off;
	*err = create ? shmkit_heap_named(heap, name, sizeof(struct m32_list), &off)
	              : shmkit_heap_find(heap, name, &off, NULL);
	return *err < 0 ? NULL : shmkit_heap_ptr(heap, off);
}

/* heap-push NAME VALUE: a node pushed on the list NAME, linked by relptrs: "ok OFF". */
static void c_heap_push(char **a)
{
	NEED_HEAP();
	int r;
	struct m32_list *l = list_of(a[1], 1, &r);
	uint64_t off;
	if (!l)
		return reply_r(r);
	if ((r = shmkit_heap_alloc(heap, sizeof(struct m32_node), &off)))
		return reply_r(r);
	struct m32_node *n = shmkit_heap_ptr(heap, off);
	n->self = off;
	n->value = (uint64_t)num(a[2]);
	SHMKIT_RELPTR_SET(n->next, SHMKIT_RELPTR_GET(l->head));
	SHMKIT_RELPTR_SET(l->head, n);
	SHMKIT_RELPTR_SET(l->last_value, &n->value);
	l->count++;
	l->sum += n->value;
	reply(M32_OK " %llu", (unsigned long long)off);
}

/*
 * heap-walk NAME [free]: follow the relptrs from the root; every node must be where its
 * offset says, in the heap, and the count and the sum the root's: "ok COUNT SUM LAST". With
 * "free", the nodes and the root are freed on the way.
 */
static void c_heap_walk(char **a)
{
	NEED_HEAP();
	int r;
	if (!a[1])
		return reply(M32_BAD " heap-walk NAME [free]");
	struct m32_list *l = list_of(a[1], 0, &r);
	if (!l)
		return reply_r(r);
	int drop = a[2] && !strcmp(a[2], "free");
	uint64_t count = 0, sum = 0;
	const uint64_t *last = SHMKIT_RELPTR_GET(l->last_value);
	uint64_t last_v = last ? *last : 0;
	if (last && (!l->count || last != &SHMKIT_RELPTR_GET(l->head)->value))
		return reply(M32_BAD " last_value does not point into the newest node");
	for (struct m32_node *n = SHMKIT_RELPTR_GET(l->head), *next; n; n = next, count++) {
		if (count > l->count)
			return reply(M32_BAD " the list is longer than its count");
		if (shmkit_heap_off(heap, n) != n->self || shmkit_heap_ptr(heap, n->self) != n)
			return reply(M32_BAD " node %llu: at offset %llu, says %llu",
			             (unsigned long long)count,
			             (unsigned long long)shmkit_heap_off(heap, n),
			             (unsigned long long)n->self);
		sum += n->value;
		next = SHMKIT_RELPTR_GET(n->next);
		if (drop && (r = shmkit_heap_free(heap, n->self)))
			return reply_r(r);
	}
	if (count != l->count || sum != l->sum)
		return reply(M32_BAD " walked %llu nodes summing %llu, the root says %llu and %llu",
		             (unsigned long long)count, (unsigned long long)sum,
		             (unsigned long long)l->count, (unsigned long long)l->sum);
	if (drop && (r = shmkit_heap_unname(heap, a[1])))
		return reply_r(r);
	reply(M32_OK " %llu %llu %llu", (unsigned long long)count, (unsigned long long)sum,
	      (unsigned long long)last_v);
}

/* ---- heaps: kill -9 at a crash point, repaired by the other class ---- */

static struct m32_heaplog *heaplog(void)
{
	return (struct m32_heaplog *)(void *)area->data;
}

static int logged_alloc(uint64_t size, uint64_t seed)
{
	struct m32_heaplog *lg = heaplog();
	uint64_t off, usable;
	int r = shmkit_heap_alloc(heap, (size_t)size, &off);
	if (!r)
		r = shmkit_heap_usable_size(heap, off, &usable);
	if (r || lg->n == M32_BLOCKS)
		return r ? r : -ENOSPC;
	fill(shmkit_heap_ptr(heap, off), usable, seed);
	lg->b[lg->n] = (struct m32_block){off, usable, seed, 1, 0};
	__atomic_store_n(&lg->n, lg->n + 1, __ATOMIC_RELEASE); /* logged only once complete */
	return 0;
}

static int logged_named(uint64_t size, uint64_t seed)
{
	struct m32_heaplog *lg = heaplog();
	char name[32];
	uint64_t off;
	snprintf(name, sizeof(name), "crash-%llu", (unsigned long long)seed);
	int r = shmkit_heap_named(heap, name, (size_t)size, &off);
	if (r != 1 || lg->n == M32_BLOCKS)
		return r < 0 ? r : -ENOSPC;
	fill(shmkit_heap_ptr(heap, off), size, seed);
	lg->b[lg->n] = (struct m32_block){off, size, seed, 1, 1};
	__atomic_store_n(&lg->n, lg->n + 1, __ATOMIC_RELEASE);
	return 0;
}

/* Entry i given back: marked first, so that a kill inside leaves at most it allocated. */
static int logged_drop(uint32_t i)
{
	struct m32_block *b = &heaplog()->b[i];
	char name[32];
	b->live = 0;
	if (!b->named)
		return shmkit_heap_free(heap, b->off);
	snprintf(name, sizeof(name), "crash-%llu", (unsigned long long)b->seed);
	return shmkit_heap_unname(heap, name);
}

/*
 * heap-crash K: the n-th crash point reached (internal/crash.h) kills this process, as kill -9
 * there would, in the middle of a script of small and large allocations and frees (run
 * refill and retire, span split and coalescing, growth) and named objects, each logged in the
 * area's data. "ok done" if the script ended first (K is past its last crash point).
 */
static void c_heap_crash(char **a)
{
	NEED_HEAP();
	NEED_AREA();
	memset(heaplog(), 0, sizeof(struct m32_heaplog));
	sk_crash_countdown = (int)num(a[1]);
	int r = 0;
	uint64_t seed = 1;
	for (int i = 0; i < 80 && !r; i++) /* fills class-64 runs: refill, FULL, new runs */
		r = logged_alloc(64, seed++);
	for (uint32_t i = 0; i < 64 && !r; i++) /* the first run: relisted, then retired */
		r = logged_drop(i);
	for (int i = 0; i < 3 && !r; i++)
		r = logged_alloc(5 * 4096, seed++);
	for (uint32_t i = 0; i < 3 && !r; i++) /* a hole, then both neighbours coalesce */
		r = logged_drop(80 + (i + 1) % 3);
	if (!r)
		r = logged_alloc(1u << 20, seed++); /* grows the heap */
	for (int i = 0; i < 6 && !r; i++)
		r = logged_named(i % 2 ? 40 : 5000, seed++);
	for (uint32_t i = 84; i < 90 && !r; i += 2)
		r = logged_drop(i);
	sk_crash_countdown = 0;
	if (r)
		return reply_r(r);
	reply(M32_OK " done");
}

/*
 * heap-crash-check: after a process died in heap-crash, the heap is repaired by whoever
 * comes next: no damage, at most the interrupted call's block leaked, every logged block
 * intact (contents, size, name); repair gives the leak back; then every logged block is freed
 * and the heap works on, holding at most the interrupted call's block. "ok repairs=R
 * leaked_blocks=L blocks=N".
 */
static void c_heap_crash_check(char **a)
{
	NEED_HEAP();
	NEED_AREA();
	struct m32_heaplog *lg = heaplog();
	struct shmkit_heap_report r;
	uint32_t n = __atomic_load_n(&lg->n, __ATOMIC_ACQUIRE);
	int c = shmkit_heap_check(heap, &r, 0);
	if ((c != 0 && c != 1) || r.damage || r.leaked_blocks > 1)
		return reply(M32_BAD " check %d: damage %llu, %llu leaked blocks: %s", c,
		             (unsigned long long)r.damage, (unsigned long long)r.leaked_blocks,
		             r.first_problem);
	uint64_t repairs = r.repairs, leaked = r.leaked_blocks;
	for (uint32_t i = 0; i < n && i < M32_BLOCKS; i++) {
		struct m32_block *b = &lg->b[i];
		uint64_t off = 0, usable = 0;
		char name[32];
		snprintf(name, sizeof(name), "crash-%llu", (unsigned long long)b->seed);
		if (!b->live)
			continue;
		if (b->named
		        ? shmkit_heap_find(heap, name, &off, NULL) || off != b->off
		        : shmkit_heap_usable_size(heap, b->off, &usable) || usable != b->usable)
			return reply(M32_BAD " block %u (offset %llu) is not there", i,
			             (unsigned long long)b->off);
		if (verify(shmkit_heap_ptr(heap, b->off), b->usable, b->seed))
			return reply(M32_BAD " block %u lost its contents", i);
	}
	c = shmkit_heap_check(heap, &r, SHMKIT_HEAP_CHECK_REPAIR);
	if (c != 0 || r.leaked)
		return reply(M32_BAD " after repair: check %d, %llu leaked: %s", c,
		             (unsigned long long)r.leaked, r.first_problem);
	for (uint32_t i = 0; i < n && i < M32_BLOCKS; i++)
		if (lg->b[i].live && (c = logged_drop(i)))
			return reply(M32_BAD " freeing block %u: %s", i, ename(-c));
	uint64_t off;
	if ((c = shmkit_heap_alloc(heap, 100000, &off)) || (c = shmkit_heap_free(heap, off)))
		return reply(M32_BAD " the heap does not work on: %s", ename(-c));
	/* What is left is the interrupted call's block, if it was allocated (or not yet freed). */
	c = shmkit_heap_check(heap, &r, 0);
	if (c || r.blocks > 1 || r.named > 1)
		return reply(M32_BAD " at the end: check %d, %llu blocks, %llu named: %s", c,
		             (unsigned long long)r.blocks, (unsigned long long)r.named,
		             r.first_problem);
	reply(M32_OK " repairs=%llu leaked_blocks=%llu blocks=%u", (unsigned long long)repairs,
	      (unsigned long long)leaked, n);
}

/* ---- the loop ---- */

static const struct command {
	const char *name;
	int nargs;
	void (*fn)(char **argv);
} commands[] = {
    {"abi", 0, c_abi},
    {"pid", 0, c_pid},
    {"backend", 1, c_backend},
    {"ns", 1, c_ns},
    {"get", 3, c_get},
    {"at", 2, c_at},
    {"dt", 1, c_dt},
    {"poke", 3, c_poke},
    {"peek", 3, c_peek},
    {"stat", 1, c_stat},
    {"set", 4, c_set},
    {"rmid", 1, c_rmid},
    {"info", 0, c_info},
    {"seg-map", 2, c_seg_map},
    {"area-new", 1, c_area_new},
    {"area-open", 1, c_area_open},
    {"area-fd", 1, c_area_fd},
    {"lock", 0, c_lock},
    {"trylock", 0, c_trylock},
    {"timedlock", 1, c_timedlock},
    {"consistent", 0, c_consistent},
    {"unlock", 0, c_unlock},
    {"hammer", 1, c_hammer},
    {"counter", 0, c_counter},
    {"cond-wait", 0, c_cond_wait},
    {"cond-signal", 1, c_cond_wake},
    {"cond-broadcast", 1, c_cond_wake},
    {"sem-post", 1, c_sem_post},
    {"sem-wait", 0, c_sem_wait},
    {"sem-value", 0, c_sem_value},
    {"sem-timedwait", 1, c_timed},
    {"ev-set", 0, c_ev_set},
    {"ev-wait", 0, c_ev_wait},
    {"ev-timedwait", 1, c_timed},
    {"cond-timedwait", 1, c_timed},
    {"timedlock-check", 1, c_timed},
    {"chan-create", 4, c_chan_create},
    {"chan-unlink", 1, c_chan_unlink},
    {"chan-open", 2, c_chan_open},
    {"chan-close", 1, c_chan_close},
    {"chan-send", 7, c_chan_send},
    {"chan-recv", 4, c_chan_recv},
    {"chan-hold", 2, c_chan_hold},
    {"chan-loan", 2, c_chan_loan},
    {"chan-timed", 2, c_chan_timed},
    {"chan-stat", 1, c_chan_stat},
    {"heap-new", 3, c_heap_new},
    {"heap-open", 2, c_heap_open},
    {"heap-close", 0, c_heap_close},
    {"heap-unlink", 1, c_heap_unlink},
    {"heap-alloc", 2, c_heap_alloc},
    {"heap-verify", 3, c_heap_verify},
    {"heap-free", 1, c_heap_free},
    {"heap-usable", 1, c_heap_usable},
    {"heap-named", 3, c_heap_named},
    {"heap-find", 1, c_heap_find},
    {"heap-unname", 1, c_heap_unname},
    {"heap-check", 1, c_heap_check},
    {"heap-push", 2, c_heap_push},
    {"heap-walk", -1, c_heap_walk},
    {"heap-crash", 1, c_heap_crash},
    {"heap-crash-check", 0, c_heap_crash_check},
};

static void run(char *line)
{
	char *argv[MAX_ARGS + 1] = {0}, *save = NULL;
	int argc = 0;
	for (char *w = strtok_r(line, " \t\n", &save); w && argc < MAX_ARGS;
	     w = strtok_r(NULL, " \t\n", &save))
		argv[argc++] = w;
	if (!argc)
		return;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		const struct command *c = &commands[i];
		if (strcmp(argv[0], c->name))
			continue;
		if (c->nargs >= 0 && argc != c->nargs + 1)
			return reply(M32_BAD " %s takes %d arguments", c->name, c->nargs);
		return c->fn(argv);
	}
	reply(M32_BAD " unknown command %s", argv[0]);
}

int main(void)
{
	char line[512];
	while (fgets(line, sizeof(line), stdin)) {
		if (!strcmp(line, "quit\n"))
			break;
		run(line);
	}
	return 0;
}
