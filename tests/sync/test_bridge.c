/* SPDX-License-Identifier: MIT */
/* Description: eventfd bridge: epoll readiness for semaphores and events, tokens consumed and
 * given back on close, no leaked threads or descriptors. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <sys/epoll.h>

#include "sync/sync.h"
#include "synctest.h"

/* Every test is killed and failed after 60 s: a bug never hangs the suite. */
TestSuite(bridge, .timeout = 60);

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* Wait for readiness with epoll; returns the eventfd count read (0 if not readable). */
static uint64_t epoll_read(int fd, int ms)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	int n = epoll_wait(ep, &out, 1, ms);
	close(ep);
	uint64_t v = 0;
	if (n == 1)
		cr_assert_eq(read(fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	return v;
}

Test(bridge, invalid_arguments)
{
	shmkit_bridge_t *b;
	shmkit_sem_t s;
	shmkit_sem_init(&s, 0);
	cr_assert_eq(shmkit_bridge_open(&b, 0, &s), -EINVAL);
	cr_assert_eq(shmkit_bridge_open(&b, SHMKIT_BRIDGE_SEM, NULL), -EINVAL);
	cr_assert_eq(shmkit_bridge_open(NULL, SHMKIT_BRIDGE_SEM, &s), -EINVAL);
	cr_assert_eq(shmkit_bridge_close(NULL), -EINVAL);
	cr_assert_eq(shmkit_bridge_fd(NULL), -EINVAL);
}

static int child_post3(void *arg)
{
	usleep(20000);
	for (int i = 0; i < 3; i++)
		shmkit_sem_post(arg);
	return 0;
}

Test(bridge, sem_posts_from_another_process_wake_epoll)
{
	shmkit_sem_t *s = tu_shared_alloc(sizeof(*s));
	shmkit_sem_init(s, 0);
	shmkit_bridge_t *b;
	cr_assert_eq(shmkit_bridge_open(&b, SHMKIT_BRIDGE_SEM, s), 0);
	int fd = shmkit_bridge_fd(b);
	cr_assert_geq(fd, 0);
	cr_assert_eq(epoll_read(fd, 30), 0, "nothing posted yet");
	pid_t pid = st_spawn(child_post3, s);
	uint64_t got = 0;
	for (int i = 0; i < 100 && got < 3; i++)
		got += epoll_read(fd, ST_WAIT_MS);
	cr_assert_eq(got, 3);
	unsigned v;
	shmkit_sem_getvalue(s, &v);
	cr_assert_eq(v, 0, "the bridge consumed the tokens");
	cr_assert_eq(tu_wait_timeout(pid, ST_WAIT_MS), 0);
	cr_assert_eq(shmkit_bridge_close(b), 0);
	tu_shared_free(s, sizeof(*s));
}

Test(bridge, close_gives_unread_tokens_back)
{
	shmkit_sem_t s;
	shmkit_sem_init(&s, 0);
	shmkit_bridge_t *b;
	cr_assert_eq(shmkit_bridge_open(&b, SHMKIT_BRIDGE_SEM, &s), 0);
	shmkit_sem_post(&s);
	shmkit_sem_post(&s);
	uint64_t end = sk_mono_ns() + ST_WAIT_MS * 1000000ULL;
	unsigned v = 1;
	while (shmkit_sem_getvalue(&s, &v) == 0 && v != 0)
		cr_assert(sk_mono_ns() < end);
	cr_assert_eq(shmkit_bridge_close(b), 0);
	shmkit_sem_getvalue(&s, &v);
	cr_assert_eq(v, 2);
}

Test(bridge, auto_event)
{
	shmkit_event_t e;
	shmkit_event_init(&e, 0);
	shmkit_bridge_t *b;
	cr_assert_eq(shmkit_bridge_open(&b, SHMKIT_BRIDGE_EVENT, &e), 0);
	shmkit_event_set(&e);
	cr_assert_eq(epoll_read(shmkit_bridge_fd(b), ST_WAIT_MS), 1);
	cr_assert_eq(shmkit_event_trywait(&e), -EAGAIN, "consumed by the bridge");
	shmkit_event_set(&e);
	cr_assert_eq(epoll_read(shmkit_bridge_fd(b), ST_WAIT_MS), 1);
	cr_assert_eq(shmkit_bridge_close(b), 0);
}

Test(bridge, manual_event_counts_set_reset_cycles)
{
	shmkit_event_t e;
	shmkit_event_init(&e, 1);
	shmkit_bridge_t *b;
	cr_assert_eq(shmkit_bridge_open(&b, SHMKIT_BRIDGE_EVENT, &e), 0);
	int fd = shmkit_bridge_fd(b);
	shmkit_event_set(&e);
	cr_assert_eq(epoll_read(fd, ST_WAIT_MS), 1);
	cr_assert_eq(epoll_read(fd, 30), 0, "one count per set, not a busy loop");
	cr_assert_eq(shmkit_event_trywait(&e), 0, "a manual event is not consumed");
	shmkit_event_reset(&e);
	shmkit_event_set(&e);
	cr_assert_eq(epoll_read(fd, ST_WAIT_MS), 1);
	cr_assert_eq(shmkit_bridge_close(b), 0, "closes while the helper waits for a reset");
}

Test(bridge, open_close_leaks_nothing)
{
	shmkit_sem_t s;
	shmkit_sem_init(&s, 0);
	int fds = count_dir("/proc/self/fd"), tasks = count_dir("/proc/self/task");
	for (int i = 0; i < 50; i++) {
		shmkit_bridge_t *b;
		cr_assert_eq(shmkit_bridge_open(&b, SHMKIT_BRIDGE_SEM, &s), 0);
		if (i % 2)
			usleep(100); /* close both before and after the helper sleeps */
		cr_assert_eq(shmkit_bridge_close(b), 0);
	}
	cr_assert_eq(count_dir("/proc/self/fd"), fds);
	cr_assert_eq(count_dir("/proc/self/task"), tasks);
	cr_assert_eq(atomic_load(&sk_sem_of(&s)->waiters), 0);
}
