/* SPDX-License-Identifier: MIT */
/*
 * Description: a robust mutex, condition variable, semaphore and event shared by a 32-bit and
 * a 64-bit process (in a memfd or a POSIX object): exclusion, kill -9 of either class's owner
 * (EOWNERDEAD in the other), wake-ups each way, timed waits that never end early. Channels
 * and heaps across classes: test_chan32.c, test_heap32.c.
 */
#include <sys/mman.h>

#include "m32test.h"

static char name[64];

static void setup(void)
{
	snprintf(name, sizeof(name), "m32-sync-%d-%u", (int)getpid(), tu_rand(1u << 30));
}

static void teardown(void)
{
	shmkit_seg_unlink(SHMKIT_SEG_POSIX, name); /* may be gone already */
}

TestSuite(m32_sync, .init = setup, .fini = teardown, .timeout = 60);

/* The area in a POSIX object made and initialised by a (class bits_a), opened by b. */
static void share_posix(struct peer *a, int bits_a, struct peer *b, int bits_b)
{
	peer_start(a, bits_a, -1);
	peer_start(b, bits_b, -1);
	peer_expect(a, "ok", "area-new %s", name);
	peer_expect(b, "ok", "area-open %s", name);
}

/* The area in a memfd made by this (64-bit) process, inherited by both. */
static void share_memfd(struct peer *a, int bits_a, struct peer *b, int bits_b)
{
	shmkit_seg_t *s;
	struct shmkit_seg_config cfg = SHMKIT_SEG_CONFIG_INIT;
	cfg.backend = SHMKIT_SEG_MEMFD;
	cr_assert_eq(shmkit_seg_create(&s, "m32-area", M32_AREA_SIZE, &cfg), 0);
	struct m32_area *m;
	cr_assert_eq(shmkit_seg_map(s, NULL, (void **)&m), 0);
	cr_assert_eq(shmkit_mutex_init(&m->m), 0);
	cr_assert_eq(shmkit_cond_init(&m->c), 0);
	cr_assert_eq(shmkit_sem_init(&m->s, 0), 0);
	cr_assert_eq(shmkit_event_init(&m->e, 0), 0);
	int fd = shmkit_seg_fd(s);
	peer_start(a, bits_a, fd);
	peer_start(b, bits_b, fd);
	peer_expect(a, "ok", "area-fd %d", fd);
	peer_expect(b, "ok", "area-fd %d", fd);
	shmkit_seg_unmap(s, m, M32_AREA_SIZE);
	shmkit_seg_close(s);
}

/* Mutual exclusion: both classes hammer one mutex at once; no two holders, no lost update. */
Test(m32_sync, mutex_excludes_across_classes)
{
	m32_require();
	struct peer a, b;
	share_memfd(&a, 32, &b, 64);
	peer_send(&a, "hammer 300000");
	peer_send(&b, "hammer 300000");
	const char *r = peer_reply(&a, PEER_MS);
	cr_assert(r && !strcmp(r, "ok"), "32-bit hammer: %s", r ? r : "(no reply)");
	r = peer_reply(&b, PEER_MS);
	cr_assert(r && !strcmp(r, "ok"), "64-bit hammer: %s", r ? r : "(no reply)");
	peer_expect(&a, "ok 600000", "counter");
	peer_stop(&a);
	peer_stop(&b);
}

/*
 * The owner (class bits_owner) is killed holding the mutex: a waiter of the other class that was
 * already queued gets EOWNERDEAD (the kernel hands the PI futex over), makes it consistent and
 * unlocks, and the mutex works on.
 */
static void owner_killed(int bits_owner, int bits_other, int posix)
{
	m32_require();
	struct peer o, w;
	if (posix)
		share_posix(&o, bits_owner, &w, bits_other);
	else
		share_memfd(&o, bits_owner, &w, bits_other);
	peer_expect(&o, "ok", "lock");
	peer_expect(&w, "err EBUSY", "trylock");
	peer_send(&w, "lock");
	cr_assert_null(peer_reply(&w, 200), "the %d-bit waiter got the lock while it was held",
	               bits_other);
	peer_kill9(&o);
	const char *r = peer_reply(&w, PEER_MS);
	cr_assert(r && !strcmp(r, "err EOWNERDEAD"),
	          "%d-bit waiter after kill -9 of the %d-bit "
	          "owner: %s",
	          bits_other, bits_owner, r ? r : "(no reply)");
	peer_expect(&w, "ok", "consistent");
	peer_expect(&w, "ok", "unlock");
	peer_expect(&w, "ok", "lock");
	peer_expect(&w, "ok", "unlock");
	peer_stop(&w);
}

Test(m32_sync, owner_32_killed_64_gets_eownerdead)
{
	owner_killed(32, 64, 1);
}

Test(m32_sync, owner_64_killed_32_gets_eownerdead)
{
	owner_killed(64, 32, 1);
}

/* Nobody waiting when the owner dies: the next locker of the other class meets the dead tid. */
static void owner_killed_unwatched(int bits_owner, int bits_other)
{
	m32_require();
	struct peer o, w;
	share_posix(&o, bits_owner, &w, bits_other);
	peer_expect(&o, "ok", "lock");
	peer_kill9(&o);
	peer_expect(&w, "err EOWNERDEAD", "lock");
	/* Not made consistent: unlocking leaves it unrecoverable, for every class. */
	peer_expect(&w, "ok", "unlock");
	struct peer t;
	peer_start(&t, bits_owner, -1);
	peer_expect(&t, "ok", "area-open %s", name);
	peer_expect(&t, "err ENOTRECOVERABLE", "lock");
	peer_expect(&w, "err ENOTRECOVERABLE", "lock");
	peer_stop(&t);
	peer_stop(&w);
}

Test(m32_sync, owner_32_killed_unwatched_then_unrecoverable)
{
	owner_killed_unwatched(32, 64);
}

Test(m32_sync, owner_64_killed_unwatched_then_unrecoverable)
{
	owner_killed_unwatched(64, 32);
}

/* The same in a memfd made by a third (64-bit) process and inherited by both. */
Test(m32_sync, owner_32_killed_in_memfd)
{
	owner_killed(32, 64, 0);
}

Test(m32_sync, owner_64_killed_in_memfd)
{
	owner_killed(64, 32, 0);
}

/* A wait of class bits_w is ended by a wake of class bits_s, and not before. */
struct wake {
	char wait[16], wake[24];
	int bits_w, bits_s;
};

ParameterizedTestParameters(m32_sync, wake_across)
{
	static struct wake p[] = {
	    {"cond-wait", "cond-signal 1", 64, 32}, {"cond-wait", "cond-signal 1", 32, 64},
	    {"sem-wait", "sem-post 1", 64, 32},     {"sem-wait", "sem-post 1", 32, 64},
	    {"ev-wait", "ev-set", 64, 32},          {"ev-wait", "ev-set", 32, 64},
	};
	return cr_make_param_array(struct wake, p, sizeof(p) / sizeof(p[0]));
}

ParameterizedTest(struct wake *k, m32_sync, wake_across)
{
	m32_require();
	struct peer w, s;
	share_posix(&w, k->bits_w, &s, k->bits_s);
	peer_send(&w, "%s", k->wait);
	cr_assert_null(peer_reply(&w, 200), "%d-bit '%s' returned with nothing to wait for",
	               k->bits_w, k->wait);
	peer_expect(&s, "ok", "%s", k->wake);
	const char *r = peer_reply(&w, PEER_MS);
	cr_assert(r && !strcmp(r, "ok"), "%d-bit '%s' after a %d-bit '%s': %s", k->bits_w, k->wait,
	          k->bits_s, k->wake, r ? r : "(no reply)");
	peer_stop(&w);
	peer_stop(&s);
}

/* One broadcast wakes waiters of both classes. */
Test(m32_sync, cond_broadcast_wakes_both_classes)
{
	m32_require();
	struct peer a, b, c;
	share_posix(&a, 32, &b, 64);
	peer_start(&c, 32, -1);
	peer_expect(&c, "ok", "area-open %s", name);
	peer_send(&a, "cond-wait");
	peer_send(&b, "cond-wait");
	cr_assert_null(peer_reply(&a, 100));
	cr_assert_null(peer_reply(&b, 100));
	peer_expect(&c, "ok", "cond-broadcast 2");
	const char *r = peer_reply(&a, PEER_MS);
	cr_assert(r && !strcmp(r, "ok"), "32-bit waiter: %s", r ? r : "(no reply)");
	r = peer_reply(&b, PEER_MS);
	cr_assert(r && !strcmp(r, "ok"), "64-bit waiter: %s", r ? r : "(no reply)");
	peer_stop(&a);
	peer_stop(&b);
	peer_stop(&c);
}

/* Posts of one class are counted once by the other: value, then consumption. */
Test(m32_sync, sem_counts_across_classes)
{
	m32_require();
	struct peer a, b;
	share_memfd(&a, 32, &b, 64);
	peer_expect(&a, "ok", "sem-post 3");
	peer_expect(&b, "ok 3", "sem-value");
	peer_expect(&b, "ok", "sem-post 2");
	peer_expect(&a, "ok 5", "sem-value");
	for (int i = 0; i < 5; i++)
		peer_expect(i % 2 ? &a : &b, "ok", "sem-wait");
	peer_expect(&a, "ok 0", "sem-value");
	peer_stop(&a);
	peer_stop(&b);
}

/*
 * Timed waits end at their deadline, never before, in either class (a 32-bit process hands the
 * kernel a time64 struct timespec: futex_time64), and a wake of the other class ends them
 * early.
 */
static void timed(struct peer *w, struct peer *other)
{
	static const char *const waits[] = {"sem-timedwait", "ev-timedwait", "cond-timedwait"};
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++)
		peer_expect(w, "err ETIMEDOUT", "%s 120", waits[i]);
	peer_expect(other, "ok", "lock");
	peer_expect(w, "err ETIMEDOUT", "timedlock-check 120");
	peer_expect(other, "ok", "unlock");
	peer_send(w, "sem-timedwait 20000");
	cr_assert_null(peer_reply(w, 100));
	peer_expect(other, "ok", "sem-post 1");
	const char *r = peer_reply(w, PEER_MS);
	cr_assert(r && !strcmp(r, "ok"), "%d-bit timed wait after a post: %s", w->bits,
	          r ? r : "(no reply)");
}

Test(m32_sync, timed_waits_end_at_their_deadline)
{
	m32_require();
	struct peer a, b;
	share_posix(&a, 32, &b, 64);
	timed(&a, &b);
	timed(&b, &a);
	peer_stop(&a);
	peer_stop(&b);
}
