/* SPDX-License-Identifier: MIT */
/*
 * Description: the other process of the 32/64-bit tests (tests/m32), built for both classes:
 * <build>/tests/helper_m32 (64-bit) and <build>/m32/bin/helper_m32 (32-bit, -m32 sub-build).
 *
 * It reads one command per line on stdin and answers each with one line on stdout: "ok ...",
 * "err ENAME" (the call failed with that errno), "skip WHY" or "bad WHY" (a check of its own
 * failed). The System V commands use shmkit_shm* in $SHMKIT_NAMESPACE, or the kernel after
 * "backend kernel"; the synchronization commands use the struct m32_area (m32proto.h) of a
 * POSIX object or an inherited memfd. tests/m32/README.md lists the commands and how to add
 * one (the channel and heap hooks are commands that answer "skip" until those layers exist).
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

/* ---- hooks for the layers to come ---- */

/*
 * The channel and heap tests gain their 32/64-bit case here: replace the hook by commands that
 * open a channel (or heap) in the area's object or a named one, send/receive (allocate/free),
 * and answer with what the other class must see. Until then the test skeletons in test_sync32.c
 * get "skip".
 */
static void c_chan(char **a)
{
	reply(M32_SKIP " channels (src/chan) are not built in this branch");
}

static void c_heap(char **a)
{
	reply(M32_SKIP " the in-segment heap (src/heap) is not built in this branch");
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
    {"chan", -1, c_chan},
    {"heap", -1, c_heap},
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
