/* SPDX-License-Identifier: MIT */
/*
 * Description: rings truncated under threads (also under ThreadSanitizer, which runs no
 * Criterion program): a receiver blocked in shmkit_chan_recv, a descriptor's helper thread
 * and a sender spinning on shmkit_chan_trysend, each on its own channel, all wake with
 * -EPROTO when their ring is truncated, and the process lives on (sys/guard.c).
 * Exit 0 pass, 1 fail.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mtcheck.h"
#include "internal/atomic.h"
#include "shmkit.h"

#define NCHAN 3

static char names[NCHAN][64];
static shmkit_chan_t *tx[NCHAN], *rx[NCHAN];
static SK_ATOMIC(int) started;

static void *blocked_receiver(void *arg)
{
	(void)arg;
	char buf[64];
	atomic_fetch_add(&started, 1);
	return (void *)(intptr_t)shmkit_chan_recv(rx[0], buf, sizeof(buf), NULL);
}

static void *spinning_sender(void *arg)
{
	(void)arg;
	char msg[64] = {1};
	atomic_fetch_add(&started, 1);
	for (;;) {
		int r = shmkit_chan_trysend(tx[2], msg, sizeof(msg));
		if (r < 0)
			return (void *)(intptr_t)r; /* a broadcast sender never finds it full */
	}
}

static void truncate_ring(int i)
{
	char ring[300];
	snprintf(ring, sizeof(ring), "/dev/shm/shmkit.chan.%s/ring", names[i]);
	CHECK(truncate(ring, 0) == 0);
}

int main(void)
{
	static const uint32_t kinds[NCHAN] = {SHMKIT_CHAN_SPSC, SHMKIT_CHAN_MPMC,
	                                      SHMKIT_CHAN_BROADCAST};
	for (int i = 0; i < NCHAN; i++) {
		snprintf(names[i], sizeof(names[i]), "mttrunc-%d-%d", (int)getpid(), i);
		struct shmkit_chan_config cfg = {.kind = kinds[i], .msg_size = 64, .capacity = 8};
		CHECK(shmkit_chan_create(names[i], &cfg) == 0);
		CHECK(shmkit_chan_open(&tx[i], names[i], SHMKIT_CHAN_SEND) == 0);
		CHECK(shmkit_chan_open(&rx[i], names[i], SHMKIT_CHAN_RECV) == 0);
	}
	int fd = shmkit_chan_fd(rx[1]);
	CHECK(fd >= 0);
	pthread_t t0, t2;
	CHECK(pthread_create(&t0, NULL, blocked_receiver, NULL) == 0);
	CHECK(pthread_create(&t2, NULL, spinning_sender, NULL) == 0);
	while (atomic_load(&started) < 2)
		usleep(1000);
	usleep(100 * 1000); /* the receiver and the helper asleep, the sender spinning */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	CHECK(poll(&p, 1, 0) == 0);
	for (int i = 0; i < NCHAN; i++)
		truncate_ring(i);
	void *r0, *r2;
	CHECK(pthread_join(t0, &r0) == 0);
	CHECK((intptr_t)r0 == -EPROTO);
	CHECK(pthread_join(t2, &r2) == 0);
	CHECK((intptr_t)r2 == -EPROTO);
	CHECK(poll(&p, 1, 10000) == 1);
	char buf[64];
	CHECK(shmkit_chan_tryrecv(rx[1], buf, sizeof(buf)) == -EPROTO);
	for (int i = 0; i < NCHAN; i++) {
		CHECK(shmkit_chan_close(tx[i]) == 0);
		CHECK(shmkit_chan_close(rx[i]) == 0);
		CHECK(shmkit_chan_unlink(names[i]) == 0);
	}
	MT_PASS("mt_chan_truncate");
}
