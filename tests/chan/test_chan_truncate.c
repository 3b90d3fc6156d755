/* SPDX-License-Identifier: MIT */
/*
 * A ring truncated under its participants (by a hostile or buggy peer that may write it):
 * every call of theirs says -EPROTO, blocked calls and descriptors wake to say it, and the
 * process lives on (sys/guard.c). A SIGBUS that is not a channel's goes where it went before.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "chantest.h"

static void ring_path(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "/dev/shm/shmkit.chan.%s/ring", name);
}

static void truncate_ring(const char *name)
{
	char ring[300];
	ring_path(name, ring, sizeof(ring));
	cr_assert_eq(truncate(ring, 0), 0, "truncate %s: %s", ring, strerror(errno));
}

static const uint32_t kinds[] = {SHMKIT_CHAN_SPSC, SHMKIT_CHAN_MPMC, SHMKIT_CHAN_BROADCAST};

/* Each of the calls, on both sides, after the ring is gone; a peeked message reads as zeros. */
Test(chan_truncate, every_call_after_says_eproto)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const char *name = chan_fresh(kinds[k], 64, 8, 0);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		char msg[64], buf[64];
		memset(msg, 0x5a, sizeof(msg));
		for (int i = 0; i < 3; i++)
			cr_assert_eq(shmkit_chan_send(tx, msg, sizeof(msg), NULL), 0);
		const void *peeked;
		cr_assert_eq(shmkit_chan_peek(rx, &peeked, NULL), 64);
		cr_assert_eq(((const unsigned char *)peeked)[0], 0x5a);
		truncate_ring(name);
		/* The first touch is the user's own, through the peek: zeros, not SIGBUS. */
		cr_assert_eq(((const volatile unsigned char *)peeked)[0], 0, "kind %u", kinds[k]);
		cr_assert_eq(shmkit_chan_release(rx, peeked), -EPROTO, "kind %u", kinds[k]);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), -EPROTO);
		struct timespec soon = chan_in_ms(5000);
		cr_assert_eq(shmkit_chan_recv(rx, buf, sizeof(buf), &soon), -EPROTO);
		cr_assert_eq(shmkit_chan_trypeek(rx, &peeked), -EPROTO);
		cr_assert_eq(shmkit_chan_fd(rx), -EPROTO);
		struct shmkit_chan_info info;
		cr_assert_eq(shmkit_chan_stat_handle(rx, &info, NULL, 0), -EPROTO);
		/* The sender's mapping is its own: its first touch is the try call's fast path. */
		cr_assert_eq(shmkit_chan_trysend(tx, msg, sizeof(msg)), -EPROTO, "kind %u",
		             kinds[k]);
		cr_assert_eq(shmkit_chan_send(tx, msg, sizeof(msg), &soon), -EPROTO);
		void *slot;
		cr_assert_eq(shmkit_chan_loan(tx, 8, &slot, &soon), -EPROTO);
		cr_assert_eq(shmkit_chan_close(tx), 0);
		cr_assert_eq(shmkit_chan_close(rx), 0);
		/* What is left of it is refused, and removable. */
		cr_assert_eq(shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV), -EBADMSG);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
}

/* A loan being written when the ring goes: the writes land in zeros, the commit says so. */
Test(chan_truncate, a_loan_written_meanwhile_is_refused_at_commit)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const char *name = chan_fresh(kinds[k], 4096, 4, 0);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		void *slot;
		cr_assert_eq(shmkit_chan_loan(tx, 4096, &slot, NULL), 0);
		memset(slot, 1, 2048);
		truncate_ring(name);
		memset((char *)slot + 2048, 2, 2048);
		cr_assert_eq(shmkit_chan_commit(tx, slot, 4096), -EPROTO, "kind %u", kinds[k]);
		char buf[4096];
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), -EPROTO);
		cr_assert_eq(shmkit_chan_close(tx), 0);
		cr_assert_eq(shmkit_chan_close(rx), 0);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
}

/* A child that opens name as role, waits (blocking, no spin) and exits with -result. */
static pid_t blocked_child(const char *name, uint32_t role, int fill)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid)
		return pid;
	shmkit_chan_t *c;
	if (shmkit_chan_open(&c, name, role) < 0 || shmkit_chan_set_spin(c, 0) < 0)
		_exit(100);
	char msg[64] = {0};
	int r;
	if (role == SHMKIT_CHAN_SEND) {
		for (int i = 0; i < fill; i++)
			if (shmkit_chan_trysend(c, msg, sizeof(msg)) < 0)
				_exit(101);
		r = shmkit_chan_send(c, msg, sizeof(msg), NULL); /* the ring is full */
	} else {
		r = (int)shmkit_chan_recv(c, msg, sizeof(msg), NULL); /* the ring is empty */
	}
	_exit(r < 0 ? -r : 102);
}

/* Waiting for the sleeper's bit: it is asleep (or about to be) in the futex. */
static void await_sleeper(const char *name, int sender)
{
	char ring[300];
	ring_path(name, ring, sizeof(ring));
	int fd = open(ring, O_RDONLY);
	cr_assert_geq(fd, 0);
	uint64_t mask = 0;
	for (int i = 0; i < 5000 && !mask; i++) {
		cr_assert_eq(pread(fd, &mask, 8, sender ? 264 : 200), 8); /* tx_sleep, rx_sleep */
		if (!mask)
			usleep(1000);
	}
	close(fd);
	cr_assert_neq(mask, 0, "the waiter went to sleep");
	usleep(20 * 1000);
}

/* Blocked on an empty ring (receivers) or a full one (senders): they wake and say -EPROTO. */
Test(chan_truncate, blocked_waiters_wake_with_eproto)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		for (int sender = 0; sender < 2; sender++) {
			if (sender && kinds[k] == SHMKIT_CHAN_BROADCAST)
				continue; /* its senders never wait */
			const char *name = chan_fresh(kinds[k], 64, 4, 0);
			shmkit_chan_t *other =
			    chan_open(name, sender ? SHMKIT_CHAN_RECV : SHMKIT_CHAN_SEND);
			pid_t pid =
			    blocked_child(name, sender ? SHMKIT_CHAN_SEND : SHMKIT_CHAN_RECV, 4);
			await_sleeper(name, sender);
			truncate_ring(name);
			cr_assert_eq(tu_wait_timeout(pid, 10000), EPROTO, "kind %u, %s", kinds[k],
			             sender ? "sender" : "receiver");
			cr_assert_eq(shmkit_chan_close(other), 0);
			cr_assert_eq(shmkit_chan_unlink(name), 0);
		}
}

/* A descriptor that waits for a message turns readable; the call then says why. */
Test(chan_truncate, a_waiting_descriptor_turns_ready)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const char *name = chan_fresh(kinds[k], 64, 4, 0);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		int fd = shmkit_chan_fd(rx);
		cr_assert_geq(fd, 0);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		cr_assert_eq(poll(&p, 1, 50), 0, "nothing to read yet");
		truncate_ring(name);
		cr_assert_eq(poll(&p, 1, 10000), 1, "kind %u", kinds[k]);
		char buf[64];
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), -EPROTO);
		cr_assert_eq(shmkit_chan_close(rx), 0);
		cr_assert_eq(shmkit_chan_close(tx), 0);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
}

/* A passive broadcast receiver (read-only mapping, another user) is saved the same way. */
Test(chan_truncate, a_passive_receiver_is_saved_too)
{
	const char *name = chan_fresh(SHMKIT_CHAN_BROADCAST, 64, 4, 0644);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
	int ready[2];
	cr_assert_eq(pipe(ready), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		shmkit_chan_t *rx;
		char buf[64];
		if (tu_become(65534, 65534) < 0 ||
		    shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV) < 0)
			_exit(100);
		if (shmkit_chan_tryrecv(rx, buf, sizeof(buf)) != -EAGAIN)
			_exit(101);
		(void)!write(ready[1], "r", 1);
		ssize_t r = shmkit_chan_recv(rx, buf, sizeof(buf), NULL);
		_exit(r < 0 ? (int)-r : 102);
	}
	char c;
	cr_assert_eq(read(ready[0], &c, 1), 1);
	usleep(50 * 1000);
	truncate_ring(name);
	cr_assert_eq(tu_wait_timeout(pid, 10000), EPROTO);
	close(ready[0]);
	close(ready[1]);
	cr_assert_eq(shmkit_chan_close(tx), 0);
	cr_assert_eq(shmkit_chan_unlink(name), 0);
}

/* A peer truncating and restoring the ring as fast as it can, under a busy pair: every call
 * answers something a call may answer, and nobody crashes or hangs. */
Test(chan_truncate, a_truncation_storm_is_survived)
{
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const char *name = chan_fresh(kinds[k], 64, 16, 0);
		char ring[300];
		ring_path(name, ring, sizeof(ring));
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		pid_t pid = tu_truncator(ring, 200, 1);
		cr_assert_gt(pid, 0);
		int errors = 0, got = 0;
		char msg[64] = {7}, buf[64];
		for (uint64_t end = chan_now_ms() + 300; chan_now_ms() < end;) {
			int s = shmkit_chan_trysend(tx, msg, sizeof(msg));
			cr_assert(s == 0 || s == -EAGAIN || s == -EPROTO || s == -EBADMSG ||
			              s == -EPIPE || s == -ECANCELED,
			          "send: %d", s);
			ssize_t r = shmkit_chan_tryrecv(rx, buf, sizeof(buf));
			/* a length zeroed under the receiver is a message of 0 bytes */
			cr_assert((r >= 0 && r <= 64) || r == -EAGAIN || r == -EPROTO ||
			              r == -EBADMSG || r == -EOVERFLOW || r == -EPIPE,
			          "receive: %zd", r);
			errors += (s < 0 && s != -EAGAIN) + (r < 0 && r != -EAGAIN);
			got += r == 64;
		}
		kill(pid, SIGKILL);
		cr_assert_eq(tu_wait(pid), 128 + SIGKILL);
		cr_log_info("kind %u: %d received, %d errors", kinds[k], got, errors);
		cr_assert_gt(errors, 0, "the storm reached the pair");
		cr_assert_eq(shmkit_chan_close(tx), 0);
		cr_assert_eq(shmkit_chan_close(rx), 0);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
}

/* ---- a SIGBUS that is not a channel's ---- */

/* A shared mapping of a file that is then truncated: touching it faults. */
static volatile char *doomed_mapping(void)
{
	int fd = memfd_create("doomed", 0);
	if (fd < 0 || ftruncate(fd, 8192) < 0)
		_exit(110);
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || ftruncate(fd, 0) < 0)
		_exit(111);
	return p;
}

static volatile sig_atomic_t touching_doomed;

/* The program's own handler: 42 for its own fault, 43 for one the channel should have saved. */
static void exit_42(int sig, siginfo_t *si, void *uc)
{
	(void)sig, (void)si, (void)uc;
	_exit(touching_doomed ? 42 : 43);
}

/* In a child: open a channel (which installs the guard) unless name is NULL, then how. */
enum { TOUCH_DEFAULT, SENT_DEFAULT, SENT_IGNORED, TOUCH_HANDLER };
static int child_after_open(const char *name, int how)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid)
		return tu_wait_timeout(pid, 10000);
	if (how == SENT_IGNORED)
		signal(SIGBUS, SIG_IGN);
	if (how == TOUCH_HANDLER) {
		struct sigaction sa = {.sa_sigaction = exit_42, .sa_flags = SA_SIGINFO};
		sigemptyset(&sa.sa_mask);
		sigaction(SIGBUS, &sa, NULL);
	}
	shmkit_chan_t *rx;
	if (name && shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV) < 0)
		_exit(100);
	if (name && how == TOUCH_HANDLER) {
		/* The channel's own fault is still saved, before the program's handler. */
		truncate_ring(name);
		char buf[64];
		if (shmkit_chan_tryrecv(rx, buf, sizeof(buf)) != -EPROTO)
			_exit(101);
	}
	if (how == SENT_DEFAULT || how == SENT_IGNORED)
		kill(getpid(), SIGBUS);
	else {
		volatile char *p = doomed_mapping();
		touching_doomed = 1;
		p[100] = 1;
	}
	_exit(0);
}

/* Each way, with a channel open and without one: the same end (128 + SIGBUS in a plain
 * build; a sanitizer's handler, installed before ours, reports and exits instead). */
Test(chan_truncate, other_sigbus_goes_where_it_went)
{
	const char *name = chan_fresh(SHMKIT_CHAN_SPSC, 64, 4, 0);
	static const char *what[] = {"a fault elsewhere", "kill -BUS", "an ignored kill -BUS",
	                             "a fault with the program's handler"};
	for (int how = TOUCH_DEFAULT; how <= TOUCH_HANDLER; how++) {
		int without = child_after_open(NULL, how);
		cr_assert_eq(child_after_open(name, how), without, "%s", what[how]);
		cr_assert_neq(without, -2, "%s: no hang", what[how]);
		if (how == SENT_IGNORED)
			cr_assert_eq(without, 0);
		else if (how == TOUCH_HANDLER)
			cr_assert_eq(without, 42);
		else
			cr_assert_neq(without, 0, "%s ends the process", what[how]);
	}
	cr_assert_eq(shmkit_chan_unlink(name), 0);
}
