/* SPDX-License-Identifier: MIT */
/*
 * bench_sync: the sync primitives against what a user would pick instead, measured in the same
 * run: uncontended mutex vs a robust process-shared pthread mutex; a two-process semaphore
 * ping-pong vs a process-shared POSIX sem_t and SysV semop; sleep-to-wake latency vs a raw
 * futex wait/wake.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit.h>
#include "common.h"
#include "internal/atomic.h"

enum {
	LOCK_BATCH = 10000,  /* lock+unlock pairs per timed batch */
	LOCK_ROUNDS = 400,   /* batches per implementation */
	PP_WARMUP = 2000,    /* ping-pong round trips before timing */
	PP_ROUNDS = 40000,   /* timed round trips per implementation */
	WAKE_ROUNDS = 3000,  /* timed wake-ups per implementation */
	WAKE_SLEEP_US = 150, /* the poster's pause: the waiter is asleep in the kernel by then */
};

/* ---- SysV semaphore set: removed on every path ---- */
static int sysv_id = -1;
static pid_t sysv_owner;

static void sysv_remove(void)
{
	if (sysv_id >= 0 && getpid() == sysv_owner) {
		semctl(sysv_id, 0, IPC_RMID);
		sysv_id = -1;
	}
}

static void on_fatal_signal(int sig)
{
	sysv_remove();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *what)
{
	perror(what);
	sysv_remove();
	exit(1);
}

static void *shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

static pid_t spawn(void (*fn)(void *), void *arg, int cpu)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		bn_pin_cpu(cpu);
		fn(arg);
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "bench_sync: child %d failed\n", (int)pid);
		sysv_remove();
		exit(1);
	}
}

/* ---- 1. uncontended lock + unlock ---- */

struct locks {
	shmkit_mutex_t sk;
	pthread_mutex_t pt;
};

static double time_sk(struct locks *l)
{
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < LOCK_BATCH; i++) {
		shmkit_mutex_lock(&l->sk);
		shmkit_mutex_unlock(&l->sk);
	}
	return (double)(bn_now_ns() - t0) / LOCK_BATCH;
}

static double time_pt(struct locks *l)
{
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < LOCK_BATCH; i++) {
		pthread_mutex_lock(&l->pt);
		pthread_mutex_unlock(&l->pt);
	}
	return (double)(bn_now_ns() - t0) / LOCK_BATCH;
}

static void bench_uncontended(struct bn_stats *sk, struct bn_stats *pt)
{
	struct locks *l = shared(sizeof(*l));
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(&l->pt, &a) != 0 || shmkit_mutex_init(&l->sk) != 0)
		die("mutex init");
	pthread_mutexattr_destroy(&a);
	struct bn_samples s1, s2;
	bn_samples_init(&s1, LOCK_ROUNDS);
	bn_samples_init(&s2, LOCK_ROUNDS);
	time_sk(l);
	time_pt(l);
	for (int r = 0; r < LOCK_ROUNDS; r++) { /* interleaved: both see the same noise */
		bn_samples_add(&s1, time_sk(l));
		bn_samples_add(&s2, time_pt(l));
	}
	bn_stats(&s1, sk);
	bn_stats(&s2, pt);
	bn_samples_free(&s1);
	bn_samples_free(&s2);
	pthread_mutex_destroy(&l->pt);
	munmap(l, sizeof(*l));
}

/* ---- 1b. two processes contending for one mutex (information, no target) ---- */

enum { CONT_OPS = 20000, CONT_ROUNDS = 30 };

struct contend {
	struct locks l;
	int pthread;
	uint64_t counter;
	SK_ATOMIC(uint32_t) go;
	SK_ATOMIC(uint32_t) done;
};

static void contend_ops(struct contend *c)
{
	for (int i = 0; i < CONT_OPS; i++) {
		if (c->pthread) {
			pthread_mutex_lock(&c->l.pt);
			c->counter++;
			pthread_mutex_unlock(&c->l.pt);
		} else {
			shmkit_mutex_lock(&c->l.sk);
			c->counter++;
			shmkit_mutex_unlock(&c->l.sk);
		}
	}
}

static void contender(void *arg)
{
	struct contend *c = arg;
	for (uint32_t r = 1; r <= CONT_ROUNDS; r++) {
		while (atomic_load(&c->go) != r)
			sk_cpu_relax();
		contend_ops(c);
		atomic_fetch_add(&c->done, 1);
	}
}

static void contended(struct contend *c, int pthread, struct bn_stats *st)
{
	c->pthread = pthread;
	c->counter = 0;
	atomic_store(&c->go, 0);
	atomic_store(&c->done, 0);
	pid_t pid = spawn(contender, c, 1);
	struct bn_samples s;
	bn_samples_init(&s, CONT_ROUNDS);
	for (uint32_t r = 1; r <= CONT_ROUNDS; r++) {
		uint64_t t0 = bn_now_ns();
		atomic_store(&c->go, r);
		contend_ops(c);
		while (atomic_load(&c->done) != r)
			sk_cpu_relax();
		bn_samples_add(&s, (double)(bn_now_ns() - t0) / (2.0 * CONT_OPS));
	}
	reap(pid);
	if (c->counter != 2ULL * CONT_OPS * CONT_ROUNDS) {
		fprintf(stderr, "bench_sync: contended counter is wrong\n");
		exit(1);
	}
	bn_stats(&s, st);
	bn_samples_free(&s);
}

static void bench_contended(struct bn_stats *sk, struct bn_stats *pt)
{
	struct contend *c = shared(sizeof(*c));
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(&c->l.pt, &a) != 0 || shmkit_mutex_init(&c->l.sk) != 0)
		die("mutex init");
	pthread_mutexattr_destroy(&a);
	contended(c, 0, sk);
	contended(c, 1, pt);
	pthread_mutex_destroy(&c->l.pt);
	munmap(c, sizeof(*c));
}

/* ---- 2. two-process ping-pong ---- */

struct pp_ops {
	void (*post)(void *obj, int which);
	void (*wait)(void *obj, int which);
};

struct sk_pair {
	shmkit_sem_t s[2];
};
static void sk_post(void *o, int w)
{
	shmkit_sem_post(&((struct sk_pair *)o)->s[w]);
}
static void sk_wait(void *o, int w)
{
	shmkit_sem_wait(&((struct sk_pair *)o)->s[w]);
}

struct px_pair {
	sem_t s[2];
};
static void px_post(void *o, int w)
{
	sem_post(&((struct px_pair *)o)->s[w]);
}
static void px_wait(void *o, int w)
{
	while (sem_wait(&((struct px_pair *)o)->s[w]) != 0 && errno == EINTR)
		;
}

static void sv_post(void *o, int w)
{
	struct sembuf op = {.sem_num = (unsigned short)w, .sem_op = 1};
	(void)o;
	semop(sysv_id, &op, 1);
}
static void sv_wait(void *o, int w)
{
	struct sembuf op = {.sem_num = (unsigned short)w, .sem_op = -1};
	(void)o;
	while (semop(sysv_id, &op, 1) != 0 && errno == EINTR)
		;
}

struct pp_arg {
	const struct pp_ops *ops;
	void *obj;
};

static void ponger(void *arg)
{
	struct pp_arg *a = arg;
	for (int i = 0; i < PP_WARMUP + PP_ROUNDS; i++) {
		a->ops->wait(a->obj, 0);
		a->ops->post(a->obj, 1);
	}
}

static void ping_pong(const char *name, const struct pp_ops *ops, void *obj, struct bn_stats *st)
{
	struct pp_arg a = {ops, obj};
	pid_t pid = spawn(ponger, &a, 1);
	struct bn_samples s;
	bn_samples_init(&s, PP_ROUNDS);
	for (int i = 0; i < PP_WARMUP + PP_ROUNDS; i++) {
		uint64_t t0 = bn_now_ns();
		ops->post(obj, 0);
		ops->wait(obj, 1);
		if (i >= PP_WARMUP)
			bn_samples_add(&s, (double)(bn_now_ns() - t0));
	}
	reap(pid);
	bn_stats(&s, st);
	bn_dump("sync_pingpong", name, &s);
	bn_samples_free(&s);
}

static void bench_ping_pong(struct bn_stats *sk, struct bn_stats *px, struct bn_stats *sv)
{
	static const struct pp_ops sk_ops = {sk_post, sk_wait}, px_ops = {px_post, px_wait},
	                           sv_ops = {sv_post, sv_wait};
	struct sk_pair *skp = shared(sizeof(*skp));
	struct px_pair *pxp = shared(sizeof(*pxp));
	shmkit_sem_init(&skp->s[0], 0);
	shmkit_sem_init(&skp->s[1], 0);
	if (sem_init(&pxp->s[0], 1, 0) != 0 || sem_init(&pxp->s[1], 1, 0) != 0)
		die("sem_init");
	sysv_owner = getpid();
	sysv_id = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
	if (sysv_id < 0)
		die("semget");
	ping_pong("shmkit", &sk_ops, skp, sk);
	ping_pong("posix-sem", &px_ops, pxp, px);
	ping_pong("sysv-semop", &sv_ops, NULL, sv);
	sysv_remove();
	sem_destroy(&pxp->s[0]);
	sem_destroy(&pxp->s[1]);
	munmap(skp, sizeof(*skp));
	munmap(pxp, sizeof(*pxp));
}

/* ---- 3. sleep-to-wake latency ---- */

struct wake {
	shmkit_sem_t sem;
	SK_ATOMIC(uint32_t) futex;
	SK_ATOMIC(uint32_t) ready;
	SK_ATOMIC(uint64_t) t_post;
	double lat[2 * WAKE_ROUNDS];
};

/* Even rounds use the shmkit semaphore, odd rounds the raw futex: interleaved, both see the
 * same noise. */
static void waker_child(void *arg)
{
	struct wake *w = arg;
	for (uint32_t i = 0; i < 2 * WAKE_ROUNDS; i++) {
		atomic_store(&w->ready, i + 1);
		if (i & 1)
			bn_futex_wait(&w->futex);
		else
			shmkit_sem_wait(&w->sem);
		uint64_t t1 = bn_now_ns();
		w->lat[i] = (double)(t1 - atomic_load(&w->t_post));
	}
}

static void wake_stats(struct wake *w, int raw, struct bn_stats *st)
{
	struct bn_samples s;
	bn_samples_init(&s, WAKE_ROUNDS);
	for (int i = raw; i < 2 * WAKE_ROUNDS; i += 2)
		bn_samples_add(&s, w->lat[i]);
	bn_stats(&s, st);
	bn_dump("sync_wakeup", raw ? "raw-futex" : "shmkit", &s);
	bn_samples_free(&s);
}

static void bench_wake(struct bn_stats *sk, struct bn_stats *raw)
{
	struct wake *w = shared(sizeof(*w));
	shmkit_sem_init(&w->sem, 0);
	pid_t pid = spawn(waker_child, w, 1);
	struct timespec pause = {0, WAKE_SLEEP_US * 1000};
	for (uint32_t i = 0; i < 2 * WAKE_ROUNDS; i++) {
		while (atomic_load(&w->ready) != i + 1)
			sk_cpu_relax();
		nanosleep(&pause, NULL);
		atomic_store(&w->t_post, bn_now_ns());
		if (i & 1)
			bn_futex_post(&w->futex);
		else
			shmkit_sem_post(&w->sem);
	}
	reap(pid);
	wake_stats(w, 0, sk);
	wake_stats(w, 1, raw);
	munmap(w, sizeof(*w));
}

/* ---- report ---- */

/* One table row; ratio <= 0 marks a reference, target <= 0 means none. */
static void row(const char *name, const struct bn_stats *st, double ratio, double target)
{
	bn_row(name, bn_fmt("%.0f", st->median), bn_fmt("%.0f", st->p99), bn_fmt("%.0f", st->p999),
	       ratio > 0 ? bn_fmt("%.3g", ratio) : "1 (reference)",
	       target > 0 ? bn_fmt("<= %.1f", target) : "", target > 0 ? bn_met(ratio, target) : "",
	       NULL);
}

int main(void)
{
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
	atexit(sysv_remove);
	bn_pin_cpu(0);

	struct bn_stats mu_sk, mu_pt, ct_sk, ct_pt, pp_sk, pp_px, pp_sv, wk_sk, wk_raw;
	bench_uncontended(&mu_sk, &mu_pt);
	bench_contended(&ct_sk, &ct_pt);
	bench_ping_pong(&pp_sk, &pp_px, &pp_sv);
	bench_wake(&wk_sk, &wk_raw);

	bn_section("Synchronization (bench_sync)",
	           "Uncontended lock+unlock (ns per pair, batches of 10000), two processes "
	           "contending for one mutex (ns per locked increment, medians of 30 rounds; no "
	           "target), two-process semaphore "
	           "ping-pong (round trip, processes pinned to CPUs 0 and 1), and sleep-to-wake "
	           "latency (post to return of the wait, waiter asleep in the kernel); each ratio "
	           "is the median against the reference measured in the same run.");
	bn_header("case", "median ns", "p99 ns", "p99.9 ns", "ratio vs reference", "target", "met",
	          NULL);
	row("mutex lock+unlock: shmkit", &mu_sk, mu_sk.median / mu_pt.median, 1.0);
	row("mutex lock+unlock: pthread robust pshared", &mu_pt, 0, 0);
	row("2-process contended lock+inc+unlock: shmkit", &ct_sk, ct_sk.median / ct_pt.median, 0);
	row("2-process contended lock+inc+unlock: pthread robust pshared", &ct_pt, 0, 0);
	row("sem ping-pong: shmkit vs POSIX sem_t", &pp_sk, pp_sk.median / pp_px.median, 1.0);
	row("sem ping-pong: shmkit vs SysV semop", &pp_sk, pp_sk.median / pp_sv.median, 0.7);
	row("sem ping-pong: POSIX sem_t pshared", &pp_px, 0, 0);
	row("sem ping-pong: SysV semop", &pp_sv, 0, 0);
	row("wake-up latency: shmkit sem", &wk_sk, wk_sk.median / wk_raw.median, 1.1);
	row("wake-up latency: raw futex wait/wake", &wk_raw, 0, 0);
	printf("\nWake-up p99 ratio (shmkit / raw futex): %.2f. The shmkit ping-pong waits spin "
	       "briefly (%d pauses) before sleeping, so a partner on another CPU usually answers "
	       "without a system call; sem_t and semop always sleep in the kernel.\n",
	       wk_sk.p99 / wk_raw.p99, 100);
	return 0;
}
