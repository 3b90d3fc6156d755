/* SPDX-License-Identifier: MIT */
/*
 * chan_lines — the classic producer/consumer: one process sends the lines of its standard
 * input, another prints them. Over a channel, with no buffer or semaphore of one's own.
 *
 *   chan_lines send NAME < FILE    send every line (either side may start first)
 *   chan_lines recv NAME [MS]      print every line until every sender is gone, then remove
 *                                  the channel; MS: milliseconds spent on each line
 *
 * The consumer can be killed (kill -9) and started again without a line being lost: it
 * releases a line only after printing it, and a line a dead receiver held is delivered again
 * (so that one line may be printed twice); lines queue while no consumer runs. When the ring
 * is full and nobody receives, send says -EPIPE at once: the producer waits on the channel's
 * descriptor until there is room again.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <shmkit.h>

#define LINE 256 /* the longest message; a longer line goes as several */

static int fail(const char *what, int err)
{
	fprintf(stderr, "chan_lines: %s: %s\n", what, strerror(-err));
	return 1;
}

static int producer(shmkit_chan_t *c)
{
	char line[LINE + 1];
	while (fgets(line, sizeof(line), stdin)) {
		int err;
		while ((err = shmkit_chan_send(c, line, strlen(line), NULL)) == -EPIPE) {
			/* Full, and no consumer to make room: writable once one does. */
			struct pollfd p = {.fd = shmkit_chan_fd(c), .events = POLLOUT};
			if (p.fd < 0)
				return fail("fd", p.fd);
			poll(&p, 1, -1);
		}
		if (err < 0)
			return fail("send", err);
	}
	return 0;
}

static int consumer(shmkit_chan_t *c, const char *name, long ms)
{
	struct timespec work = {ms / 1000, ms % 1000 * 1000000};
	const void *msg;
	ssize_t len;
	/* Read each line in place; release it only once it is printed (and worked on). */
	while ((len = shmkit_chan_peek(c, &msg, NULL)) >= 0) {
		fwrite(msg, 1, (size_t)len, stdout);
		fflush(stdout);
		nanosleep(&work, NULL);
		int err = shmkit_chan_release(c, msg);
		if (err < 0)
			return fail("release", err);
	}
	if (len != -EPIPE) /* -EPIPE: empty, and every sender has closed: the end */
		return fail("receive", (int)len);
	int err = shmkit_chan_unlink(name);
	return err < 0 ? fail("unlink", err) : 0;
}

int main(int argc, char **argv)
{
	int send = argc == 3 && !strcmp(argv[1], "send");
	if (!send && !((argc == 3 || argc == 4) && !strcmp(argv[1], "recv"))) {
		fprintf(stderr, "usage: chan_lines send NAME < FILE | chan_lines recv NAME [MS]\n");
		return 2;
	}
	/* Whoever starts first creates it: one sender, one receiver, room for 16 lines. */
	struct shmkit_chan_config cfg = {
	    .kind = SHMKIT_CHAN_SPSC, .msg_size = LINE, .capacity = 16};
	int err = shmkit_chan_create(argv[2], &cfg);
	if (err < 0 && err != -EEXIST)
		return fail("create", err);
	shmkit_chan_t *c;
	err = shmkit_chan_open(&c, argv[2], send ? SHMKIT_CHAN_SEND : SHMKIT_CHAN_RECV);
	if (err < 0)
		return fail("open", err);
	int status = send ? producer(c) : consumer(c, argv[2], argc == 4 ? atol(argv[3]) : 0);
	shmkit_chan_close(c);
	return status;
}
