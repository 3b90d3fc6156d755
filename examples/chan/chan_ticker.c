/* SPDX-License-Identifier: MIT */
/*
 * chan_ticker — a broadcast ticker: one publisher, several subscribers, each of which sees
 * every tick; a subscriber that falls behind learns how many it lost.
 *
 *   chan_ticker [NAME [SUBSCRIBERS [TICKS]]]
 *
 * The publisher sends TICKS numbered ticks, one a millisecond, on a broadcast channel that
 * holds the last 64. A broadcast sender never waits for anyone: the oldest tick is
 * overwritten. Every subscriber but the last keeps up and sees each tick, in order; the last
 * takes 10 ms over each tick, so it is overtaken, again and again: each time, its receive
 * says -EOVERFLOW once, the channel counts how many ticks it lost, and it goes on with the
 * oldest tick still there.
 *
 * Each subscriber prints the runs of consecutive ticks it saw and each loss, for example
 *   subscriber 2: ticks 1-66
 *   subscriber 2: overflow: lost 9 ticks
 *   subscriber 2: ticks 76-140
 * and, once the publisher has closed and it has read what is left (-EPIPE), how many it saw.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmkit.h>

#define MAX_SUBSCRIBERS 16

struct tick {
	uint64_t seq; /* 1, 2, 3, ... */
};

static int fail(const char *who, const char *what, int err)
{
	fprintf(stderr, "chan_ticker: %s: %s: %s\n", who, what, strerror(-err));
	return 1;
}

/* How many ticks the channel says this receiver has lost so far (its record, by pid). */
static int lost_so_far(shmkit_chan_t *c, uint64_t *lost)
{
	struct shmkit_chan_peer peers[SHMKIT_CHAN_MAX_PEERS];
	int n = shmkit_chan_stat_handle(c, NULL, peers, SHMKIT_CHAN_MAX_PEERS);
	for (int i = 0; i < n && i < SHMKIT_CHAN_MAX_PEERS; i++)
		if (peers[i].pid == getpid() && peers[i].role == SHMKIT_CHAN_RECV) {
			*lost = peers[i].lost;
			return 0;
		}
	return n < 0 ? n : -ESRCH;
}

/* Print the run of consecutive ticks first..last, if there is one. */
static void run_ends(uint32_t id, uint64_t first, uint64_t last)
{
	if (first)
		printf("subscriber %u: ticks %llu-%llu\n", id, (unsigned long long)first,
		       (unsigned long long)last);
	fflush(stdout); /* one line at a time: the subscribers share standard output */
}

static int subscriber(uint32_t id, const char *name, int slow)
{
	shmkit_chan_t *c;
	int err = shmkit_chan_open(&c, name, SHMKIT_CHAN_RECV);
	if (err < 0)
		return fail("subscriber", "open", err);
	struct timespec work = {0, slow ? 10 * 1000 * 1000 : 0};
	uint64_t first = 0, last = 0, seen = 0, lost = 0;
	struct tick t;
	ssize_t len;
	/* Before the publisher opens, receive waits; after it has closed: -EPIPE. */
	while ((len = shmkit_chan_recv(c, &t, sizeof(t), NULL)) != -EPIPE) {
		if (len == -EOVERFLOW) {
			uint64_t now;
			if ((err = lost_so_far(c, &now)) < 0)
				break;
			run_ends(id, first, last);
			printf("subscriber %u: overflow: lost %llu ticks\n", id,
			       (unsigned long long)(now - lost));
			lost = now, first = 0;
			continue;
		}
		if (len != sizeof(t)) {
			err = len < 0 ? (int)len : -EBADMSG;
			break;
		}
		seen++;
		if (!first || t.seq != last + 1) { /* a new run (out of order would show here) */
			run_ends(id, first, last);
			first = t.seq;
		}
		last = t.seq;
		nanosleep(&work, NULL);
	}
	shmkit_chan_close(c);
	if (err < 0)
		return fail("subscriber", "receive", err);
	run_ends(id, first, last);
	printf("subscriber %u: %llu ticks seen, %llu lost%s\n", id, (unsigned long long)seen,
	       (unsigned long long)lost, slow ? " (the slow one)" : "");
	fflush(stdout); /* the caller leaves with _exit */
	return 0;
}

/* Wait (10 s at most) until n subscribers have opened: a receiver sees what is sent after. */
static int wait_subscribers(const char *name, uint32_t n)
{
	struct shmkit_chan_info info;
	for (int i = 0; i < 10000; i++) {
		int err = shmkit_chan_stat(name, &info, NULL, 0);
		if (err < 0)
			return err;
		if (info.receivers >= n)
			return 0;
		nanosleep(&(struct timespec){0, 1000 * 1000}, NULL);
	}
	return -ETIMEDOUT;
}

static int publisher(const char *name, uint32_t subscribers, uint64_t ticks)
{
	shmkit_chan_t *c;
	int err = shmkit_chan_open(&c, name, SHMKIT_CHAN_SEND);
	if (err < 0)
		return fail("publisher", "open", err);
	if ((err = wait_subscribers(name, subscribers)) < 0) {
		shmkit_chan_close(c);
		return fail("publisher", "waiting for the subscribers", err);
	}
	printf("publisher: %u subscribers; sending %llu ticks, one a millisecond\n", subscribers,
	       (unsigned long long)ticks);
	fflush(stdout);
	struct timespec at;
	clock_gettime(CLOCK_MONOTONIC, &at);
	for (uint64_t seq = 1; seq <= ticks && err >= 0; seq++) {
		err = shmkit_chan_send(c, &(struct tick){seq}, sizeof(struct tick), NULL);
		at.tv_nsec += 1000 * 1000;
		if (at.tv_nsec >= 1000 * 1000 * 1000)
			at.tv_sec++, at.tv_nsec -= 1000 * 1000 * 1000;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL);
	}
	shmkit_chan_close(c); /* the subscribers' -EPIPE, once they have read the rest */
	if (err < 0)
		return fail("publisher", "send", err);
	printf("publisher: sent %llu ticks\n", (unsigned long long)ticks);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "shmkit-ticker";
	uint32_t subscribers = argc > 2 ? (uint32_t)atoi(argv[2]) : 3;
	uint64_t ticks = argc > 3 ? strtoull(argv[3], NULL, 10) : 200;
	if (argc > 4 || subscribers < 1 || subscribers > MAX_SUBSCRIBERS || ticks < 1) {
		fprintf(stderr, "usage: chan_ticker [NAME [SUBSCRIBERS (1-%d) [TICKS]]]\n",
		        MAX_SUBSCRIBERS);
		return 2;
	}
	struct shmkit_chan_config cfg = {
	    .kind = SHMKIT_CHAN_BROADCAST, .msg_size = sizeof(struct tick), .capacity = 64};
	int err = shmkit_chan_create(name, &cfg);
	if (err < 0)
		return fail("publisher", "create", err);
	fflush(stdout);

	pid_t pids[MAX_SUBSCRIBERS];
	uint32_t started = 0;
	for (; started < subscribers; started++) {
		pids[started] = fork();
		if (pids[started] == 0) /* the last one is the slow one */
			_exit(subscriber(started, name, started == subscribers - 1));
		if (pids[started] < 0)
			break;
	}
	int status = started == subscribers ? publisher(name, subscribers, ticks)
	                                    : fail("publisher", "fork", -errno);
	for (uint32_t i = 0; i < started; i++) {
		int ws;
		if (status) /* they may be waiting for a publisher that never opened */
			kill(pids[i], SIGKILL);
		if (waitpid(pids[i], &ws, 0) != pids[i] || !WIFEXITED(ws) || WEXITSTATUS(ws))
			status = 1;
	}
	shmkit_chan_unlink(name);
	return status;
}
