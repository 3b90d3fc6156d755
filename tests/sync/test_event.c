/* SPDX-License-Identifier: MIT */
/* Description: auto- and manual-reset events: states, timeouts, wake-ups across processes. */
#include <criterion/criterion.h>
#include <errno.h>

#include "sync/sync.h"
#include "synctest.h"

/* Every test is killed and failed after 60 s: a bug never hangs the suite. */
TestSuite(event, .timeout = 60);

Test(event, auto_reset_consumes_one_set)
{
	shmkit_event_t e;
	cr_assert_eq(shmkit_event_init(&e, 0), 0);
	cr_assert_eq(shmkit_event_trywait(&e), -EAGAIN);
	cr_assert_eq(shmkit_event_set(&e), 0);
	cr_assert_eq(shmkit_event_set(&e), 0, "sets do not accumulate");
	cr_assert_eq(shmkit_event_trywait(&e), 0);
	cr_assert_eq(shmkit_event_trywait(&e), -EAGAIN);
	shmkit_event_set(&e);
	cr_assert_eq(shmkit_event_reset(&e), 0);
	cr_assert_eq(shmkit_event_trywait(&e), -EAGAIN);
	struct timespec bad = {0, -1}, abs = st_in_ms(20);
	cr_assert_eq(shmkit_event_timedwait(&e, &bad), -EINVAL);
	cr_assert_eq(shmkit_event_timedwait(&e, NULL), -EINVAL);
	cr_assert_eq(shmkit_event_timedwait(&e, &abs), -ETIMEDOUT);
	shmkit_event_set(&e);
	cr_assert_eq(shmkit_event_wait(&e), 0);
	cr_assert_eq(shmkit_event_timedwait(&e, &bad), -EINVAL, "consumed by the wait");
}

Test(event, manual_reset_stays_set)
{
	shmkit_event_t e;
	shmkit_event_init(&e, 1);
	shmkit_event_set(&e);
	cr_assert_eq(shmkit_event_trywait(&e), 0);
	cr_assert_eq(shmkit_event_wait(&e), 0);
	struct timespec abs = st_in_ms(10);
	cr_assert_eq(shmkit_event_timedwait(&e, &abs), 0);
	shmkit_event_reset(&e);
	cr_assert_eq(shmkit_event_trywait(&e), -EAGAIN);
	abs = st_in_ms(10);
	cr_assert_eq(shmkit_event_timedwait(&e, &abs), -ETIMEDOUT);
}

struct box {
	shmkit_event_t e;
	uint32_t passed;
};

static int child_wait(void *arg)
{
	struct box *b = arg;
	struct timespec abs = st_in_ms(ST_WAIT_MS);
	int r = shmkit_event_timedwait(&b->e, &abs);
	if (r == 0)
		st_bump(&b->passed);
	return -r;
}

static void await_waiters(struct box *b, uint32_t n)
{
	uint64_t end = sk_mono_ns() + ST_WAIT_MS * 1000000ULL;
	while (atomic_load(&sk_event_of(&b->e)->waiters) < n)
		cr_assert(sk_mono_ns() < end);
	usleep(5000);
}

/* N processes wait; each set releases one (auto) or all (manual). */
static void run(int manual)
{
	struct box *b = tu_shared_alloc(sizeof(*b));
	shmkit_event_init(&b->e, manual);
	enum { N = 3 };
	pid_t pid[N];
	for (int i = 0; i < N; i++)
		pid[i] = st_spawn(child_wait, b);
	await_waiters(b, N);
	for (uint32_t released = manual ? N : 1; released <= N; released++) {
		shmkit_event_set(&b->e);
		cr_assert(st_await(&b->passed, released, ST_WAIT_MS));
		usleep(20000);
		cr_assert_eq(b->passed, released, "one set released too many waiters");
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(tu_wait_timeout(pid[i], ST_WAIT_MS), 0);
	cr_assert_eq(shmkit_event_trywait(&b->e), manual ? 0 : -EAGAIN);
	tu_shared_free(b, sizeof(*b));
}

Test(event, auto_set_releases_exactly_one_process)
{
	run(0);
}

Test(event, manual_set_releases_every_process)
{
	run(1);
}
