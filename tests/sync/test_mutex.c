/* SPDX-License-Identifier: MIT */
/* Description: robust process-shared mutex: every errno path, owner death in each window,
 * ENOTRECOVERABLE for every waiter, multi-process counter, kill -9 storm. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "sync/sync.h"
#include "synctest.h"

/* Every test is killed and failed after 60 s: a bug never hangs the suite. */
TestSuite(mutex, .timeout = 60);

struct arena {
	shmkit_mutex_t m;
	uint32_t ready;
	uint32_t go;
	uint32_t dirty;     /* set inside the critical section, cleared before unlock */
	uint32_t recovered; /* EOWNERDEAD seen by the children */
	uint64_t counter;
};

static struct arena *arena_new(void)
{
	struct arena *a = tu_shared_alloc(sizeof(*a));
	cr_assert_not_null(a);
	cr_assert_eq(shmkit_mutex_init(&a->m), 0);
	return a;
}

static struct sk_mutex *raw(struct arena *a)
{
	return sk_mutex_of(&a->m);
}

/* Wait until a locker sleeps in the kernel (it set SK_MUTEX_WAITERS). */
static void await_kernel_waiter(struct arena *a)
{
	uint64_t end = sk_mono_ns() + ST_WAIT_MS * 1000000ULL;
	while (!(atomic_load(&raw(a)->word) & SK_MUTEX_WAITERS)) {
		cr_assert(sk_mono_ns() < end, "no waiter reached the kernel");
		usleep(200);
	}
}

Test(mutex, layout_is_fixed)
{
	cr_assert_eq(sizeof(shmkit_mutex_t), 16);
	cr_assert_eq(_Alignof(shmkit_mutex_t), 8);
	shmkit_mutex_t m = SHMKIT_MUTEX_INITIALIZER;
	cr_assert_eq(shmkit_mutex_lock(&m), 0, "an all-zero mutex is valid and unlocked");
	cr_assert_eq(shmkit_mutex_unlock(&m), 0);
}

Test(mutex, own_errors)
{
	shmkit_mutex_t m;
	shmkit_mutex_init(&m);
	cr_assert_eq(shmkit_mutex_unlock(&m), -EPERM, "unlock of an unlocked mutex");
	cr_assert_eq(shmkit_mutex_consistent(&m), -EPERM);
	cr_assert_eq(shmkit_mutex_owned(&m), 0);
	cr_assert_eq(shmkit_mutex_lock(&m), 0);
	cr_assert_eq(shmkit_mutex_owned(&m), 1);
	cr_assert_eq(atomic_load(&sk_mutex_of(&m)->word), (uint32_t)sk_gettid(),
	             "uncontended: the word is just the owner's TID");
	cr_assert_eq(shmkit_mutex_lock(&m), -EDEADLK);
	cr_assert_eq(shmkit_mutex_trylock(&m), -EBUSY);
	struct timespec abs = st_in_ms(10);
	cr_assert_eq(shmkit_mutex_timedlock(&m, &abs), -EDEADLK);
	cr_assert_eq(shmkit_mutex_consistent(&m), -EINVAL, "consistent on a consistent mutex");
	cr_assert_eq(shmkit_mutex_unlock(&m), 0);
	cr_assert_eq(shmkit_mutex_unlock(&m), -EPERM);
	cr_assert_eq(shmkit_mutex_trylock(&m), 0);
	cr_assert_eq(shmkit_mutex_unlock(&m), 0);
}

Test(mutex, timedlock_rejects_invalid_timespec)
{
	shmkit_mutex_t m;
	shmkit_mutex_init(&m);
	struct timespec bad1 = {0, -1}, bad2 = {0, 1000000000L}, bad3 = {-1, 0};
	cr_assert_eq(shmkit_mutex_timedlock(&m, NULL), -EINVAL);
	cr_assert_eq(shmkit_mutex_timedlock(&m, &bad1), -EINVAL);
	cr_assert_eq(shmkit_mutex_timedlock(&m, &bad2), -EINVAL);
	cr_assert_eq(shmkit_mutex_timedlock(&m, &bad3), -EINVAL);
	struct timespec past = {0, 0};
	cr_assert_eq(shmkit_mutex_timedlock(&m, &past), 0, "a free mutex is taken at once");
	cr_assert_eq(shmkit_mutex_unlock(&m), 0);
}

static void *unlock_from_thread(void *arg)
{
	return (void *)(intptr_t)shmkit_mutex_unlock(arg);
}

Test(mutex, unlock_by_non_owner_thread_is_eperm)
{
	shmkit_mutex_t m;
	shmkit_mutex_init(&m);
	cr_assert_eq(shmkit_mutex_lock(&m), 0);
	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, unlock_from_thread, &m);
	pthread_join(t, &ret);
	cr_assert_eq((intptr_t)ret, -EPERM);
	cr_assert_eq(shmkit_mutex_unlock(&m), 0);
}

static int child_hold(void *arg)
{
	struct arena *a = arg;
	if (shmkit_mutex_lock(&a->m) != 0)
		return 10;
	st_bump(&a->ready);
	if (!st_await(&a->go, 1, ST_WAIT_MS))
		return 11;
	return shmkit_mutex_unlock(&a->m) == 0 ? 0 : 12;
}

Test(mutex, held_by_other_process_busy_timeout_eperm)
{
	struct arena *a = arena_new();
	pid_t pid = st_spawn(child_hold, a);
	cr_assert(st_await(&a->ready, 1, ST_WAIT_MS));
	cr_assert_eq(shmkit_mutex_trylock(&a->m), -EBUSY);
	cr_assert_eq(shmkit_mutex_unlock(&a->m), -EPERM);
	cr_assert_eq(shmkit_mutex_consistent(&a->m), -EPERM);
	uint64_t t0 = sk_mono_ns();
	struct timespec abs = st_in_ms(30);
	cr_assert_eq(shmkit_mutex_timedlock(&a->m, &abs), -ETIMEDOUT);
	cr_assert_geq(sk_mono_ns() - t0, 29 * 1000000ULL);
	st_bump(&a->go);
	abs = st_in_ms(ST_WAIT_MS);
	cr_assert_eq(shmkit_mutex_timedlock(&a->m, &abs), 0, "handed over when the owner unlocks");
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 0);
	tu_shared_free(a, sizeof(*a));
}

static int child_lock_and_exit(void *arg)
{
	struct arena *a = arg;
	return shmkit_mutex_lock(&a->m) == 0 ? 0 : 10; /* exits holding it */
}

static void expect_owner_dead_then_recover(struct arena *a)
{
	struct timespec abs = st_in_ms(ST_WAIT_MS);
	cr_assert_eq(shmkit_mutex_owned(&a->m), 0);
	cr_assert_eq(shmkit_mutex_timedlock(&a->m, &abs), -EOWNERDEAD);
	cr_assert_eq(shmkit_mutex_owned(&a->m), 2, "owned, inconsistent");
	cr_assert_eq(shmkit_mutex_consistent(&a->m), 0);
	cr_assert_eq(shmkit_mutex_owned(&a->m), 1);
	cr_assert_eq(shmkit_mutex_consistent(&a->m), -EINVAL);
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	cr_assert_eq(shmkit_mutex_lock(&a->m), 0, "consistent again");
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
}

Test(mutex, owner_exit_without_waiters_gives_eownerdead)
{
	struct arena *a = arena_new();
	pid_t pid = st_spawn(child_lock_and_exit, a);
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 0);
	expect_owner_dead_then_recover(a);
	tu_shared_free(a, sizeof(*a));
}

Test(mutex, zombie_owner_gives_eownerdead)
{
	struct arena *a = arena_new();
	pid_t pid = st_spawn(child_lock_and_exit, a);
	/* Not reaped: the owner is a zombie, dead for the futex code. */
	siginfo_t si;
	cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	expect_owner_dead_then_recover(a);
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 0);
	tu_shared_free(a, sizeof(*a));
}

Test(mutex, trylock_takes_over_from_dead_owner)
{
	struct arena *a = arena_new();
	cr_assert_eq(tu_wait_timeout(st_spawn(child_lock_and_exit, a), ST_WAIT_MS), 0);
	cr_assert_eq(shmkit_mutex_trylock(&a->m), -EOWNERDEAD);
	cr_assert_eq(shmkit_mutex_consistent(&a->m), 0);
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	tu_shared_free(a, sizeof(*a));
}

static int child_hold_forever(void *arg)
{
	struct arena *a = arg;
	if (shmkit_mutex_lock(&a->m) != 0)
		return 10;
	st_bump(&a->ready);
	st_await(&a->go, 1, ST_WAIT_MS);
	return 11;
}

static int child_lock_report(void *arg)
{
	struct arena *a = arg;
	struct timespec abs = st_in_ms(ST_WAIT_MS);
	int r = shmkit_mutex_timedlock(&a->m, &abs);
	if (r == -EOWNERDEAD)
		shmkit_mutex_consistent(&a->m);
	if (r == 0 || r == -EOWNERDEAD)
		shmkit_mutex_unlock(&a->m);
	return -r; /* exit status: the errno */
}

Test(mutex, owner_killed_with_waiter_queued_hands_over_eownerdead)
{
	struct arena *a = arena_new();
	pid_t owner = st_spawn(child_hold_forever, a);
	cr_assert(st_await(&a->ready, 1, ST_WAIT_MS));
	pid_t waiter = st_spawn(child_lock_report, a);
	await_kernel_waiter(a);
	kill(owner, SIGKILL);
	cr_assert_eq(tu_wait_timeout(owner, ST_WAIT_MS), 128 + SIGKILL);
	cr_assert_eq(tu_wait_timeout(waiter, ST_WAIT_MS), EOWNERDEAD);
	cr_assert_eq(shmkit_mutex_lock(&a->m), 0, "the waiter repaired it");
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	tu_shared_free(a, sizeof(*a));
}

Test(mutex, unlock_without_consistent_is_notrecoverable_for_all_waiters)
{
	struct arena *a = arena_new();
	cr_assert_eq(tu_wait_timeout(st_spawn(child_lock_and_exit, a), ST_WAIT_MS), 0);
	cr_assert_eq(shmkit_mutex_lock(&a->m), -EOWNERDEAD);
	enum { N = 3 };
	pid_t w[N];
	for (int i = 0; i < N; i++)
		w[i] = st_spawn(child_lock_report, a);
	await_kernel_waiter(a);
	usleep(20000); /* let the others queue too */
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	for (int i = 0; i < N; i++)
		cr_assert_eq(tu_wait_timeout(w[i], ST_WAIT_MS), ENOTRECOVERABLE,
		             "every waiter is released with ENOTRECOVERABLE");
	cr_assert_eq(shmkit_mutex_lock(&a->m), -ENOTRECOVERABLE);
	cr_assert_eq(shmkit_mutex_trylock(&a->m), -ENOTRECOVERABLE);
	struct timespec abs = st_in_ms(10);
	cr_assert_eq(shmkit_mutex_timedlock(&a->m, &abs), -ENOTRECOVERABLE);
	cr_assert_eq(atomic_load(&raw(a)->word), 0, "the word is left free");
	cr_assert_eq(shmkit_mutex_init(&a->m), 0, "init makes it usable again");
	cr_assert_eq(shmkit_mutex_lock(&a->m), 0);
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	tu_shared_free(a, sizeof(*a));
}

/* Simulated deaths in the two windows that must count as clean: the word owned by a dead
 * TID while holder is 0. */
static int child_die_in_window(void *arg)
{
	struct arena *a = arg;
	if (a->go == 0) {
		/* Died between the CAS and "holder = tid". */
		atomic_store(&raw(a)->word, (uint32_t)sk_gettid());
	} else {
		/* Died between "holder = 0" and releasing the word. */
		if (shmkit_mutex_lock(&a->m) != 0)
			return 10;
		atomic_store(&raw(a)->holder, 0);
	}
	return 0;
}

Test(mutex, death_outside_critical_section_is_clean)
{
	struct arena *a = arena_new();
	for (uint32_t window = 0; window < 2; window++) {
		a->go = window;
		cr_assert_eq(tu_wait_timeout(st_spawn(child_die_in_window, a), ST_WAIT_MS), 0);
		struct timespec abs = st_in_ms(ST_WAIT_MS);
		cr_assert_eq(shmkit_mutex_timedlock(&a->m, &abs), 0, "window %u", window);
		cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	}
	tu_shared_free(a, sizeof(*a));
}

Test(mutex, dead_owner_with_stale_waiters_bit)
{
	struct arena *a = arena_new();
	cr_assert_eq(tu_wait_timeout(st_spawn(child_lock_and_exit, a), ST_WAIT_MS), 0);
	atomic_fetch_or(&raw(a)->word, SK_MUTEX_WAITERS); /* a waiter that left */
	cr_assert_eq(shmkit_mutex_lock(&a->m), -EOWNERDEAD);
	cr_assert_eq(shmkit_mutex_consistent(&a->m), 0);
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	cr_assert_eq(atomic_load(&raw(a)->word), 0);
	tu_shared_free(a, sizeof(*a));
}

Test(mutex, corrupt_state_is_eproto)
{
	shmkit_mutex_t m;
	shmkit_mutex_init(&m);
	atomic_store(&sk_mutex_of(&m)->state, 77);
	cr_assert_eq(shmkit_mutex_lock(&m), -EPROTO);
	cr_assert_eq(atomic_load(&sk_mutex_of(&m)->word), 0, "released again");
}

enum { PROCS = 4, ITERS = 20000 };

static int child_count(void *arg)
{
	struct arena *a = arg;
	for (int i = 0; i < ITERS; i++) {
		int r = (i & 7) == 0 ? shmkit_mutex_trylock(&a->m) : shmkit_mutex_lock(&a->m);
		if (r == -EBUSY) {
			i--;
			continue;
		}
		if (r != 0)
			return 10;
		if (a->dirty)
			return 11;
		a->dirty = 1;
		a->counter++;
		a->dirty = 0;
		if (shmkit_mutex_unlock(&a->m) != 0)
			return 12;
	}
	return 0;
}

Test(mutex, processes_count_exactly)
{
	struct arena *a = arena_new();
	pid_t pid[PROCS];
	for (int i = 0; i < PROCS; i++)
		pid[i] = st_spawn(child_count, a);
	for (int i = 0; i < PROCS; i++)
		cr_assert_eq(tu_wait_timeout(pid[i], 60000), 0);
	cr_assert_eq(a->counter, (uint64_t)PROCS * ITERS);
	tu_shared_free(a, sizeof(*a));
}

static int child_hammer(void *arg)
{
	struct arena *a = arg;
	st_bump(&a->ready);
	for (;;) {
		int r = shmkit_mutex_lock(&a->m);
		if (r == -EOWNERDEAD) {
			a->dirty = 0; /* repair */
			a->recovered++;
			shmkit_mutex_consistent(&a->m);
		} else if (r != 0) {
			return -r;
		} else if (a->dirty) {
			return 11; /* a clean lock must never see a torn critical section */
		}
		a->dirty = 1;
		a->counter++;
		for (volatile int spin = 0; spin < 50; spin++)
			;
		a->dirty = 0;
		if (shmkit_mutex_unlock(&a->m) != 0)
			return 12;
	}
}

/* kill -9 of holders and waiters at random points: recovery is exact, nothing hangs. */
Test(mutex, kill9_storm)
{
	struct arena *a = arena_new();
	enum { KIDS = 3 };
	/* SHMKIT_SOAK_ROUNDS raises the count for soak runs. */
	const char *soak = getenv("SHMKIT_SOAK_ROUNDS");
	int rounds = soak ? atoi(soak) : 120;
	pid_t kid[KIDS];
	for (int i = 0; i < KIDS; i++)
		kid[i] = st_spawn(child_hammer, a);
	unsigned owner_dead = 0;
	for (int round = 0; round < rounds; round++) {
		usleep(200 + tu_rand(2000));
		int victim = (int)tu_rand(KIDS);
		kill(kid[victim], SIGKILL);
		int st = tu_wait_timeout(kid[victim], ST_WAIT_MS);
		cr_assert_eq(st, 128 + SIGKILL, "child %d failed an invariant: %d", victim, st);
		/* The parent checks the invariant itself every few rounds. */
		if (round % 4 == 0) {
			struct timespec abs = st_in_ms(ST_WAIT_MS);
			int r = shmkit_mutex_timedlock(&a->m, &abs);
			cr_assert(r == 0 || r == -EOWNERDEAD, "round %d: lock returned %d", round,
			          r);
			if (r == -EOWNERDEAD) {
				owner_dead++;
				a->dirty = 0;
				cr_assert_eq(shmkit_mutex_consistent(&a->m), 0);
			} else {
				cr_assert_eq(a->dirty, 0, "round %d: clean lock saw a torn section",
				             round);
			}
			cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
		}
		kid[victim] = st_spawn(child_hammer, a);
	}
	for (int i = 0; i < KIDS; i++) {
		kill(kid[i], SIGKILL);
		cr_assert_eq(tu_wait_timeout(kid[i], ST_WAIT_MS), 128 + SIGKILL,
		             "a survivor failed an invariant");
	}
	struct timespec abs = st_in_ms(ST_WAIT_MS);
	int r = shmkit_mutex_timedlock(&a->m, &abs);
	cr_assert(r == 0 || r == -EOWNERDEAD);
	cr_assert_gt(a->counter, 0);
	cr_assert_gt(a->recovered + owner_dead, 0, "no holder was ever killed: the test is void");
	cr_log_info("kill9_storm: EOWNERDEAD %u (parent) + %u (children), %llu increments",
	            owner_dead, a->recovered, (unsigned long long)a->counter);
	tu_shared_free(a, sizeof(*a));
}

static void *lock_and_exit_thread(void *arg)
{
	return (void *)(intptr_t)shmkit_mutex_lock(arg); /* the thread ends holding it */
}

Test(mutex, owner_thread_exit_gives_eownerdead)
{
	shmkit_mutex_t m;
	shmkit_mutex_init(&m);
	pthread_t t;
	void *ret;
	pthread_create(&t, NULL, lock_and_exit_thread, &m);
	pthread_join(t, &ret);
	cr_assert_eq((intptr_t)ret, 0);
	cr_assert_eq(shmkit_mutex_trylock(&m), -EOWNERDEAD);
	cr_assert_eq(shmkit_mutex_unlock(&m), 0);
	cr_assert_eq(shmkit_mutex_trylock(&m), -ENOTRECOVERABLE);
}

static int child_timedlock_then_report(void *arg)
{
	struct arena *a = arg;
	struct timespec abs = st_in_ms(30);
	int r = shmkit_mutex_timedlock(&a->m, &abs);
	return r == -ETIMEDOUT ? 0 : 10;
}

Test(mutex, timed_out_waiters_leave_no_trace)
{
	struct arena *a = arena_new();
	pid_t owner = st_spawn(child_hold_forever, a);
	cr_assert(st_await(&a->ready, 1, ST_WAIT_MS));
	pid_t w[2] = {st_spawn(child_timedlock_then_report, a),
	              st_spawn(child_timedlock_then_report, a)};
	for (int i = 0; i < 2; i++)
		cr_assert_eq(tu_wait_timeout(w[i], ST_WAIT_MS), 0);
	kill(owner, SIGKILL);
	cr_assert_eq(tu_wait_timeout(owner, ST_WAIT_MS), 128 + SIGKILL);
	cr_assert_eq(shmkit_mutex_lock(&a->m), -EOWNERDEAD, "the stale waiters bit is harmless");
	cr_assert_eq(shmkit_mutex_consistent(&a->m), 0);
	cr_assert_eq(shmkit_mutex_unlock(&a->m), 0);
	cr_assert_eq(atomic_load(&raw(a)->word), 0);
	tu_shared_free(a, sizeof(*a));
}

static uint32_t *usr1_count;
static void on_usr1(int sig)
{
	(void)sig;
	st_bump(usr1_count);
}

struct sigbox {
	shmkit_mutex_t m;
	uint32_t handled;
	uint32_t returned;
};

static int child_lock_with_handler(void *arg)
{
	struct sigbox *b = arg;
	usr1_count = &b->handled;
	struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART */
	sigaction(SIGUSR1, &sa, NULL);
	int r = shmkit_mutex_lock(&b->m);
	st_bump(&b->returned);
	if (r == 0)
		shmkit_mutex_unlock(&b->m);
	return -r;
}

Test(mutex, signal_handler_does_not_end_the_wait)
{
	struct sigbox *b = tu_shared_alloc(sizeof(*b));
	shmkit_mutex_init(&b->m);
	cr_assert_eq(shmkit_mutex_lock(&b->m), 0);
	pid_t pid = st_spawn(child_lock_with_handler, b);
	uint64_t end = sk_mono_ns() + ST_WAIT_MS * 1000000ULL;
	while (!(atomic_load(&sk_mutex_of(&b->m)->word) & SK_MUTEX_WAITERS))
		cr_assert(sk_mono_ns() < end, "the locker never slept");
	for (uint32_t i = 1; i <= 5; i++) {
		kill(pid, SIGUSR1);
		cr_assert(st_await(&b->handled, i, ST_WAIT_MS));
	}
	usleep(10000);
	cr_assert_eq(b->returned, 0, "lock returned on a signal");
	cr_assert_eq(shmkit_mutex_unlock(&b->m), 0);
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 0);
	tu_shared_free(b, sizeof(*b));
}

Test(mutex, corrupt_words_are_recovered_or_rejected)
{
	shmkit_mutex_t m;
	shmkit_mutex_init(&m);
	/* An owner TID no process has: taken over like a dead owner. */
	atomic_store(&sk_mutex_of(&m)->word, SK_MUTEX_TID_MASK);
	cr_assert_eq(shmkit_mutex_lock(&m), 0, "no holder: a clean takeover");
	cr_assert_eq(shmkit_mutex_unlock(&m), 0);
	/* kthreadd (TID 2 in the initial namespace) cannot own a futex. */
	char comm[32];
	if (sk_proc_comm(2, comm, sizeof(comm)) > 0 && strcmp(comm, "kthreadd") == 0) {
		atomic_store(&sk_mutex_of(&m)->word, 2);
		cr_assert_eq(shmkit_mutex_trylock(&m), -EPROTO);
	}
}

struct objs {
	shmkit_mutex_t m;
	shmkit_sem_t s;
};

static int run_helper(int fd, const char *action)
{
	char fdstr[16];
	snprintf(fdstr, sizeof(fdstr), "%d", fd);
	pid_t pid = fork();
	if (pid == 0) {
		execl(tu_helper("helper_sync"), "helper_sync", fdstr, action, (char *)NULL);
		_exit(127);
	}
	return tu_wait_timeout(pid, ST_WAIT_MS);
}

/* Separately exec'd programs sharing a memfd: owner death and wake-ups across them. */
Test(mutex, exec_programs_share_objects_in_a_memfd)
{
	int fd = sk_memfd_create("sk-sync-test", 0); /* no CLOEXEC: the helper inherits it */
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, sizeof(struct objs)), 0);
	struct objs *o = mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	cr_assert_neq(o, MAP_FAILED);
	shmkit_mutex_init(&o->m);
	shmkit_sem_init(&o->s, 0);
	cr_assert_eq(run_helper(fd, "lock-exit"), 0);
	cr_assert_eq(run_helper(fd, "recover"), 0,
	             "another program sees EOWNERDEAD and repairs it");
	struct timespec abs = st_in_ms(ST_WAIT_MS);
	cr_assert_eq(shmkit_mutex_timedlock(&o->m, &abs), 0);
	cr_assert_eq(shmkit_mutex_unlock(&o->m), 0);
	cr_assert_eq(run_helper(fd, "post"), 0);
	cr_assert_eq(shmkit_sem_trywait(&o->s), 0);
	munmap(o, sizeof(*o));
	close(fd);
}
