/* SPDX-License-Identifier: MIT */
/*
 * Description: the channel API: creation and its errors, capacity and message sizes, copying
 * and zero-copy transfer for every kind, waiting with deadlines, -EPIPE for a side with no
 * peer, broadcast overwrite (-EOVERFLOW), roles, handles across fork.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include "chan/chan.h"
#include "chantest.h"

static const uint32_t kinds[] = {SHMKIT_CHAN_SPSC, SHMKIT_CHAN_MPMC, SHMKIT_CHAN_BROADCAST};

Test(chan, create_errors)
{
	const char *name = tu_name("chan");
	struct shmkit_chan_config ok = {.kind = SHMKIT_CHAN_SPSC, .msg_size = 64, .capacity = 8};
	struct shmkit_chan_config cfg = ok;
	cr_assert_eq(shmkit_chan_create(name, NULL), -EINVAL);
	cfg.kind = 0;
	cr_assert_eq(shmkit_chan_create(name, &cfg), -EINVAL);
	cfg.kind = 4;
	cr_assert_eq(shmkit_chan_create(name, &cfg), -EINVAL);
	cfg = ok, cfg.msg_size = 0;
	cr_assert_eq(shmkit_chan_create(name, &cfg), -EINVAL);
	cfg = ok, cfg.capacity = 0;
	cr_assert_eq(shmkit_chan_create(name, &cfg), -EINVAL);
	cfg = ok, cfg.reserved_[3] = 1;
	cr_assert_eq(shmkit_chan_create(name, &cfg), -EINVAL);
	cfg = ok, cfg.mode = 01600;
	cr_assert_eq(shmkit_chan_create(name, &cfg), -EINVAL);
	cfg = ok, cfg.msg_size = (uint64_t)1 << 40;
	cr_assert_eq(shmkit_chan_create(name, &cfg), -EINVAL);
	cfg = ok, cfg.capacity = UINT64_MAX;
	cr_assert_eq(shmkit_chan_create(name, &cfg), -EINVAL);
	const char *bad[] = {"", "/", "a/b", "..", ".", "sp ace", "x\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(shmkit_chan_create(bad[i], &ok), -EINVAL, "name '%s'", bad[i]);
	char longname[SHMKIT_CHAN_NAME_MAX + 2];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(shmkit_chan_create(longname, &ok), -EINVAL);
	longname[SHMKIT_CHAN_NAME_MAX] = '\0';
	cr_assert_eq(shmkit_chan_create(longname, &ok), 0, "a name of the longest length");
	cr_assert_eq(shmkit_chan_unlink(longname), 0);

	cr_assert_eq(shmkit_chan_create(name, &ok), 0);
	cr_assert_eq(shmkit_chan_create(name, &ok), -EEXIST);
	char slashed[300];
	snprintf(slashed, sizeof(slashed), "/%s", name);
	cr_assert_eq(shmkit_chan_create(slashed, &ok), -EEXIST, "a leading / is the same name");
	shmkit_chan_t *c;
	cr_assert_eq(shmkit_chan_open(&c, name, 0), -EINVAL);
	cr_assert_eq(shmkit_chan_open(&c, name, 3), -EINVAL);
	cr_assert_eq(shmkit_chan_open(NULL, name, SHMKIT_CHAN_SEND), -EINVAL);
	cr_assert_eq(shmkit_chan_unlink(slashed), 0);
	cr_assert_eq(shmkit_chan_unlink(name), -ENOENT);
	cr_assert_eq(shmkit_chan_open(&c, name, SHMKIT_CHAN_SEND), -ENOENT);
	cr_assert_eq(shmkit_chan_close(NULL), -EINVAL);
}

Test(chan, capacity_and_sizes)
{
	for (size_t k = 0; k < 3; k++) {
		const char *name = chan_fresh(kinds[k], 100, 5, 0);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		struct shmkit_chan_info info;
		cr_assert_geq(shmkit_chan_stat(name, &info, NULL, 0), 2);
		cr_assert_eq(info.capacity, 8, "5 rounds up to 8");
		cr_assert_eq(info.msg_size, 100);
		cr_assert_eq(info.kind, kinds[k]);
		char msg[101] = {0}, buf[200];
		cr_assert_eq(shmkit_chan_trysend(tx, msg, 101), -EMSGSIZE);
		for (int i = 0; i < 8; i++) {
			memset(msg, i, sizeof(msg));
			size_t len = i == 0 ? 0 : i == 1 ? 100 : (size_t)i;
			cr_assert_eq(shmkit_chan_trysend(tx, msg, len), 0, "kind %u msg %d",
			             kinds[k], i);
		}
		if (kinds[k] != SHMKIT_CHAN_BROADCAST)
			cr_assert_eq(shmkit_chan_trysend(tx, msg, 1), -EAGAIN, "exactly 8 fit");
		cr_assert_eq(shmkit_chan_stat_handle(rx, &info, NULL, 0), 2);
		cr_assert_eq(info.depth, 8);
		cr_assert_eq(info.sent, 8);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 0), 0, "the empty message");
		/* Too small a buffer: the message stays at the head. */
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 99), -EMSGSIZE);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 100), 100);
		cr_assert_eq(buf[99], 1);
		for (int i = 2; i < 8; i++) {
			cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), i);
			cr_assert_eq(buf[0], i);
		}
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), -EAGAIN);
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
}

Test(chan, wrong_role_and_args)
{
	const char *name = chan_fresh(SHMKIT_CHAN_MPMC, 16, 4, 0);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
	shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
	char buf[16];
	void *slot;
	const void *msg;
	cr_assert_eq(shmkit_chan_trysend(rx, "x", 1), -EBADF);
	cr_assert_eq(shmkit_chan_tryrecv(tx, buf, 16), -EBADF);
	cr_assert_eq(shmkit_chan_loan(rx, 1, &slot, NULL), -EBADF);
	cr_assert_eq(shmkit_chan_trysend(tx, NULL, 1), -EFAULT);
	cr_assert_eq(shmkit_chan_trysend(tx, NULL, 0), 0, "nothing to read: no buffer needed");
	cr_assert_eq(shmkit_chan_tryrecv(rx, NULL, 16), -EFAULT);
	struct timespec bad = {0, 2000000000L};
	cr_assert_eq(shmkit_chan_recv(rx, buf, 16, &bad), -EINVAL);
	cr_assert_eq(shmkit_chan_send(tx, "x", 1, &bad), -EINVAL);
	cr_assert_eq(shmkit_chan_release(rx, buf), -EINVAL, "nothing peeked");
	cr_assert_eq(shmkit_chan_commit(tx, buf, 1), -EINVAL, "nothing loaned");
	cr_assert_eq(shmkit_chan_peek(rx, NULL, NULL), -EFAULT);
	cr_assert_eq(shmkit_chan_peek(rx, &msg, NULL), 0);
	cr_assert_eq(shmkit_chan_peek(rx, &msg, NULL), -EBUSY, "one peek at a time");
	cr_assert_eq(shmkit_chan_release(rx, msg), 0);
	cr_assert_eq(shmkit_chan_loan(tx, 17, &slot, NULL), -EMSGSIZE);
	cr_assert_eq(shmkit_chan_loan(tx, 16, &slot, NULL), 0);
	cr_assert_eq(shmkit_chan_loan(tx, 16, &slot, NULL), -EBUSY, "one loan at a time");
	cr_assert_eq(shmkit_chan_commit(tx, slot, 17), -EMSGSIZE);
	cr_assert_eq(shmkit_chan_commit(tx, buf, 16), -EINVAL, "not the loaned slot");
	memcpy(slot, "0123456789abcdef", 16);
	cr_assert_eq(shmkit_chan_commit(tx, slot, 16), 0);
	cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 16), 16);
	cr_assert_eq(memcmp(buf, "0123456789abcdef", 16), 0);
	cr_assert_eq(shmkit_chan_trysend(NULL, "x", 1), -EINVAL);
	shmkit_chan_close(tx);
	shmkit_chan_close(rx);
	shmkit_chan_unlink(name);
}

/* While a loan (peek) waits, a copying send (receive) on the handle would take its slot. */
Test(chan, no_copy_while_a_loan_or_peek_waits)
{
	for (size_t k = 0; k < 3; k++) {
		const char *name = chan_fresh(kinds[k], 16, 4, 0);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		char buf[16];
		void *slot;
		const void *msg;
		cr_assert_eq(shmkit_chan_trysend(tx, "first", 5), 0);
		cr_assert_eq(shmkit_chan_loan(tx, 6, &slot, NULL), 0);
		cr_assert_eq(shmkit_chan_trysend(tx, "other", 5), -EBUSY, "kind %u", kinds[k]);
		cr_assert_eq(shmkit_chan_send(tx, "other", 5, NULL), -EBUSY);
		memcpy(slot, "second", 6);
		cr_assert_eq(shmkit_chan_commit(tx, slot, 6), 0);
		cr_assert_eq(shmkit_chan_peek(rx, &msg, NULL), 5);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 16), -EBUSY, "kind %u", kinds[k]);
		cr_assert_eq(shmkit_chan_recv(rx, buf, 16, NULL), -EBUSY);
		cr_assert_eq(memcmp(msg, "first", 5), 0, "the peeked message is intact");
		cr_assert_eq(shmkit_chan_release(rx, msg), 0);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 16), 6);
		cr_assert_eq(memcmp(buf, "second", 6), 0);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 16), -EAGAIN);
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
		shmkit_chan_unlink(name);
	}
}

Test(chan, zero_copy_every_kind)
{
	for (size_t k = 0; k < 3; k++) {
		const char *name = chan_fresh(kinds[k], 4096, 4, 0);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		for (int round = 0; round < 10; round++) {
			void *slot;
			cr_assert_eq(shmkit_chan_loan(tx, 4096, &slot, NULL), 0);
			memset(slot, 'a' + round, 4096);
			cr_assert_eq(shmkit_chan_commit(tx, slot, 1000 + round), 0);
			const void *msg;
			cr_assert_eq(shmkit_chan_peek(rx, &msg, NULL), 1000 + round);
			cr_assert_eq(((const char *)msg)[999], 'a' + round);
			cr_assert_eq(shmkit_chan_release(rx, msg), 0);
		}
		char buf[8];
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 8), -EAGAIN);
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
		shmkit_chan_unlink(name);
	}
}

Test(chan, cancel_gives_a_loan_back)
{
	for (size_t k = 0; k < 3; k++) {
		uint32_t kind = kinds[k];
		const char *name = chan_fresh(kind, 16, 4, 0);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		char buf[16];
		void *slot, *other;
		cr_assert_eq(shmkit_chan_cancel(tx, buf), -EINVAL, "no loan out");
		cr_assert_eq(shmkit_chan_cancel(rx, buf), -EINVAL, "a receiver has no loan");
		cr_assert_eq(shmkit_chan_loan(tx, 16, &slot, NULL), 0);
		memcpy(slot, "half-written", 12);
		cr_assert_eq(shmkit_chan_cancel(tx, buf), -EINVAL, "not the loan");
		cr_assert_eq(shmkit_chan_cancel(tx, slot), 0);
		cr_assert_eq(shmkit_chan_cancel(tx, slot), -EINVAL, "given back already");
		cr_assert_eq(shmkit_chan_commit(tx, slot, 12), -EINVAL, "nothing to commit");
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 16), -EAGAIN,
		             "kind %u: nothing delivered", kind);
		/* The handle is free again: a copying send, then another loan. */
		cr_assert_eq(shmkit_chan_trysend(tx, "next", 4), 0, "kind %u", kind);
		cr_assert_eq(shmkit_chan_tryloan(tx, 16, &other), 0);
		memcpy(other, "loaned", 6);
		cr_assert_eq(shmkit_chan_commit(tx, other, 6), 0);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 16), 4, "kind %u", kind);
		cr_assert_eq(memcmp(buf, "next", 4), 0);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 16), 6);
		cr_assert_eq(memcmp(buf, "loaned", 6), 0);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 16), -EAGAIN);
		struct shmkit_chan_info in;
		cr_assert_geq(shmkit_chan_stat(name, &in, NULL, 0), 2);
		/* SPSC reused the slot; the others skipped the position they had claimed. */
		cr_assert_eq(in.abandoned, kind == SHMKIT_CHAN_SPSC ? 0u : 1u, "kind %u: %llu",
		             kind, (unsigned long long)in.abandoned);
		cr_assert_eq(in.sent, kind == SHMKIT_CHAN_SPSC ? 2u : 3u, "kind %u: positions",
		             kind);
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
		shmkit_chan_unlink(name);
	}
}

Test(chan, spsc_roles_are_exclusive)
{
	const char *name = chan_fresh(SHMKIT_CHAN_SPSC, 8, 4, 0);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND),
	              *rx = chan_open(name, SHMKIT_CHAN_RECV);
	shmkit_chan_t *x;
	cr_assert_eq(shmkit_chan_open(&x, name, SHMKIT_CHAN_SEND), -EBUSY);
	cr_assert_eq(shmkit_chan_open(&x, name, SHMKIT_CHAN_RECV), -EBUSY);
	cr_assert_eq(shmkit_chan_trysend(tx, "a", 1), 0);
	shmkit_chan_close(tx);
	/* The role is free again; the new sender goes on where the last one stopped. */
	tx = chan_open(name, SHMKIT_CHAN_SEND);
	cr_assert_eq(shmkit_chan_trysend(tx, "b", 1), 0);
	char buf[8];
	cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 8), 1);
	cr_assert_eq(buf[0], 'a');
	cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 8), 1);
	cr_assert_eq(buf[0], 'b');
	/* A sender killed with -9 leaves the role to the next. */
	shmkit_chan_close(tx);
	pid_t pid = fork();
	if (pid == 0) {
		shmkit_chan_t *t;
		if (shmkit_chan_open(&t, name, SHMKIT_CHAN_SEND) || shmkit_chan_trysend(t, "c", 1))
			_exit(1);
		raise(SIGKILL);
	}
	cr_assert_eq(tu_wait(pid), 128 + SIGKILL);
	tx = chan_open(name, SHMKIT_CHAN_SEND);
	cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 8), 1);
	cr_assert_eq(buf[0], 'c', "what the dead sender sent is there");
	shmkit_chan_close(tx);
	shmkit_chan_close(rx);
	shmkit_chan_unlink(name);
}

Test(chan, no_receiver_queues_then_epipe)
{
	for (size_t k = 0; k < 2; k++) {
		const char *name = chan_fresh(kinds[k], 8, 4, 0);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		for (int i = 0; i < 4; i++)
			cr_assert_eq(shmkit_chan_send(tx, &i, sizeof(i), NULL), 0);
		/* Full and nobody to empty it: at once, not after a wait. */
		uint64_t t0 = chan_now_ms();
		cr_assert_eq(shmkit_chan_send(tx, "x", 1, NULL), -EPIPE);
		cr_assert_eq(shmkit_chan_send(tx, "x", 1, NULL), -EPIPE);
		cr_assert_lt(chan_now_ms() - t0, 2000);
		cr_assert_eq(shmkit_chan_trysend(tx, "x", 1), -EPIPE, "try: the same");
		/* A receiver that comes later gets all of them. */
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		for (int i = 0; i < 4; i++) {
			int v = -1;
			cr_assert_eq(shmkit_chan_recv(rx, &v, sizeof(v), NULL), sizeof(v));
			cr_assert_eq(v, i);
		}
		shmkit_chan_close(tx);
		/* Empty, and the only sender is gone. */
		char buf[8];
		cr_assert_eq(shmkit_chan_recv(rx, buf, 8, NULL), -EPIPE);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 8), -EPIPE);
		shmkit_chan_close(rx);
		shmkit_chan_unlink(name);
	}
}

Test(chan, receive_before_any_sender_waits)
{
	for (size_t k = 0; k < 3; k++) {
		const char *name = chan_fresh(kinds[k], 8, 4, 0);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		char buf[8];
		struct timespec dl = chan_in_ms(150);
		uint64_t t0 = chan_now_ms();
		cr_assert_eq(shmkit_chan_recv(rx, buf, 8, &dl), -ETIMEDOUT, "kind %u", kinds[k]);
		cr_assert_geq(chan_now_ms() - t0, 149);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 8), -EAGAIN);
		/* A sender in another process wakes a sleeping receiver. */
		pid_t pid = fork();
		if (pid == 0) {
			shmkit_chan_t *tx;
			usleep(100 * 1000);
			if (shmkit_chan_open(&tx, name, SHMKIT_CHAN_SEND) ||
			    shmkit_chan_send(tx, "hi", 2, NULL))
				_exit(1);
			usleep(300 * 1000);
			_exit(0); /* exit without closing: the token tells the receiver */
		}
		dl = chan_in_ms(10000);
		cr_assert_eq(shmkit_chan_recv(rx, buf, 8, &dl), 2);
		cr_assert_eq(memcmp(buf, "hi", 2), 0);
		t0 = chan_now_ms();
		cr_assert_eq(shmkit_chan_recv(rx, buf, 8, &dl), -EPIPE, "the sender exited");
		cr_assert_lt(chan_now_ms() - t0, 5000);
		cr_assert_eq(tu_wait(pid), 0);
		shmkit_chan_close(rx);
		shmkit_chan_unlink(name);
	}
}

Test(chan, blocked_sender_wakes_when_receiver_dies)
{
	for (size_t k = 0; k < 2; k++) {
		const char *name = chan_fresh(kinds[k], 8, 2, 0);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		pid_t pid = fork();
		if (pid == 0) {
			shmkit_chan_t *rx;
			if (shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV))
				_exit(1);
			pause();
		}
		usleep(50 * 1000);
		cr_assert_eq(shmkit_chan_send(tx, "1", 1, NULL), 0);
		cr_assert_eq(shmkit_chan_send(tx, "2", 1, NULL), 0);
		/* Full, the receiver alive: this waits until it is killed. */
		struct timespec dl = chan_in_ms(100);
		cr_assert_eq(shmkit_chan_send(tx, "3", 1, &dl), -ETIMEDOUT);
		pid_t killer = fork();
		if (killer == 0) {
			usleep(200 * 1000);
			kill(pid, SIGKILL);
			_exit(0);
		}
		dl = chan_in_ms(10000);
		uint64_t t0 = chan_now_ms();
		cr_assert_eq(shmkit_chan_send(tx, "3", 1, &dl), -EPIPE, "kind %u", kinds[k]);
		cr_assert_lt(chan_now_ms() - t0, 5000);
		cr_assert_eq(tu_wait(killer), 0);
		cr_assert_eq(tu_wait(pid), 128 + SIGKILL);
		shmkit_chan_close(tx);
		shmkit_chan_unlink(name);
	}
}

Test(chan, deadlines)
{
	const char *name = chan_fresh(SHMKIT_CHAN_SPSC, 8, 2, 0);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND),
	              *rx = chan_open(name, SHMKIT_CHAN_RECV);
	struct timespec past = chan_in_ms(-10);
	char buf[8];
	ssize_t got = shmkit_chan_recv(rx, buf, 8, &past);
	cr_assert_eq(got, -ETIMEDOUT, "recv: %zd", got);
	cr_assert_eq(shmkit_chan_send(tx, "a", 1, &past), 0, "room: a deadline does not matter");
	cr_assert_eq(shmkit_chan_send(tx, "b", 1, &past), 0);
	cr_assert_eq(shmkit_chan_send(tx, "c", 1, &past), -ETIMEDOUT);
	struct timespec dl = chan_in_ms(120);
	uint64_t t0 = chan_now_ms();
	cr_assert_eq(shmkit_chan_send(tx, "c", 1, &dl), -ETIMEDOUT);
	cr_assert_geq(chan_now_ms() - t0, 119);
	/* A spin longer than the deadline ends with it (1 s of spin, 50 ms of patience). */
	cr_assert_eq(shmkit_chan_set_spin(tx, SHMKIT_CHAN_SPIN_MAX), 0);
	cr_assert_eq(shmkit_chan_set_spin(rx, SHMKIT_CHAN_SPIN_MAX), 0);
	cr_assert_eq(shmkit_chan_recv(rx, buf, 8, NULL), 1);
	cr_assert_eq(shmkit_chan_recv(rx, buf, 8, NULL), 1);
	struct timespec dl2 = chan_in_ms(50);
	t0 = chan_now_ms();
	cr_assert_eq(shmkit_chan_recv(rx, buf, 8, &dl2), -ETIMEDOUT);
	uint64_t took = chan_now_ms() - t0;
	cr_assert(took >= 49 && took < 900, "a 50 ms deadline with a 1 s spin took %llu ms",
	          (unsigned long long)took);
	shmkit_chan_close(tx);
	shmkit_chan_close(rx);
	shmkit_chan_unlink(name);
}

Test(chan, broadcast_every_receiver_sees_every_message)
{
	const char *name = chan_fresh(SHMKIT_CHAN_BROADCAST, 16, 8, 0);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
	cr_assert_eq(shmkit_chan_trysend(tx, "before", 6), 0);
	shmkit_chan_t *r1 = chan_open(name, SHMKIT_CHAN_RECV),
	              *r2 = chan_open(name, SHMKIT_CHAN_RECV);
	char buf[16];
	cr_assert_eq(shmkit_chan_tryrecv(r1, buf, 16), -EAGAIN, "from the first sent after open");
	for (int i = 0; i < 5; i++)
		cr_assert_eq(shmkit_chan_send(tx, &i, sizeof(i), NULL), 0);
	for (int i = 0; i < 5; i++) {
		int a = -1, b = -1;
		cr_assert_eq(shmkit_chan_recv(r1, &a, sizeof(a), NULL), sizeof(a));
		cr_assert_eq(shmkit_chan_recv(r2, &b, sizeof(b), NULL), sizeof(b));
		cr_assert_eq(a, i);
		cr_assert_eq(b, i);
	}
	/* Senders never wait: r2 falls 20 behind in a ring of 8. */
	for (int i = 5; i < 25; i++) {
		cr_assert_eq(shmkit_chan_send(tx, &i, sizeof(i), NULL), 0);
		int a;
		cr_assert_eq(shmkit_chan_recv(r1, &a, sizeof(a), NULL), sizeof(a));
		cr_assert_eq(a, i);
	}
	int v;
	cr_assert_eq(shmkit_chan_recv(r2, &v, sizeof(v), NULL), -EOVERFLOW);
	struct shmkit_chan_peer peers[4];
	struct shmkit_chan_info info;
	int n = shmkit_chan_stat(name, &info, peers, 4);
	cr_assert_eq(n, 3);
	cr_assert_eq(info.senders, 1);
	cr_assert_eq(info.receivers, 2);
	int found = 0;
	for (int i = 0; i < n; i++)
		if (peers[i].role == SHMKIT_CHAN_RECV && peers[i].lost) {
			cr_assert_eq(peers[i].lost, 12, "25 - 5 sent, 8 kept: 12 lost");
			cr_assert_eq(peers[i].pid, getpid());
			found++;
		}
	cr_assert_eq(found, 1);
	/* Then on from the oldest still there, in order. */
	for (int i = 17; i < 25; i++) {
		cr_assert_eq(shmkit_chan_recv(r2, &v, sizeof(v), NULL), sizeof(v));
		cr_assert_eq(v, i);
	}
	cr_assert_eq(shmkit_chan_tryrecv(r2, &v, sizeof(v)), -EAGAIN);
	/* A peeked message overwritten before its release says so. */
	cr_assert_eq(shmkit_chan_send(tx, "x", 1, NULL), 0);
	const void *msg;
	cr_assert_eq(shmkit_chan_peek(r2, &msg, NULL), 1);
	for (int i = 0; i < 8; i++)
		cr_assert_eq(shmkit_chan_send(tx, "y", 1, NULL), 0);
	cr_assert_eq(shmkit_chan_release(r2, msg), -EOVERFLOW);
	shmkit_chan_close(tx);
	shmkit_chan_close(r1);
	shmkit_chan_close(r2);
	shmkit_chan_unlink(name);
}

Test(chan, handle_in_fork_child)
{
	const char *name = chan_fresh(SHMKIT_CHAN_SPSC, 8, 4, 0);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND),
	              *rx = chan_open(name, SHMKIT_CHAN_RECV);
	cr_assert_eq(shmkit_chan_trysend(tx, "a", 1), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char buf[8];
		int ok = shmkit_chan_trysend(tx, "b", 1) == -EBADF &&
		         shmkit_chan_tryrecv(rx, buf, 8) == -EBADF && shmkit_chan_fd(rx) == -EBADF;
		/* Closing an inherited handle frees the copy only. */
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
		/* The child opens its own: the roles are the parent's. */
		shmkit_chan_t *x;
		ok = ok && shmkit_chan_open(&x, name, SHMKIT_CHAN_SEND) == -EBUSY;
		_exit(ok ? 0 : 1);
	}
	cr_assert_eq(tu_wait(pid), 0);
	char buf[8];
	cr_assert_eq(shmkit_chan_trysend(tx, "c", 1), 0);
	cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 8), 1);
	cr_assert_eq(buf[0], 'a');
	cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 8), 1);
	cr_assert_eq(buf[0], 'c');
	shmkit_chan_close(tx);
	shmkit_chan_close(rx);
	shmkit_chan_unlink(name);
}

Test(chan, descriptor_is_level_triggered)
{
	for (size_t k = 0; k < 3; k++) {
		const char *name = chan_fresh(kinds[k], 8, 2, 0);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND),
		              *rx = chan_open(name, SHMKIT_CHAN_RECV);
		int rfd = shmkit_chan_fd(rx), wfd = shmkit_chan_fd(tx);
		cr_assert_geq(rfd, 0);
		cr_assert_geq(wfd, 0);
		cr_assert_eq(shmkit_chan_fd(rx), rfd, "one descriptor per handle");
		struct pollfd p = {.fd = rfd, .events = POLLIN};
		cr_assert_eq(poll(&p, 1, 50), 0, "empty: not readable");
		struct pollfd w = {.fd = wfd, .events = POLLOUT};
		cr_assert_eq(poll(&w, 1, 1000), 1, "room: writable");
		cr_assert_eq(shmkit_chan_send(tx, "a", 1, NULL), 0);
		cr_assert_eq(poll(&p, 1, 5000), 1, "kind %u: a message: readable", kinds[k]);
		cr_assert_eq(poll(&p, 1, 0), 1, "still, until it is taken");
		cr_assert_eq(shmkit_chan_send(tx, "b", 1, NULL), 0);
		if (kinds[k] != SHMKIT_CHAN_BROADCAST) {
			cr_assert_eq(poll(&w, 1, 0), 0, "full: not writable");
		}
		char buf[8];
		cr_assert_eq(shmkit_chan_recv(rx, buf, 8, NULL), 1);
		cr_assert_eq(poll(&p, 1, 0), 1, "one left");
		cr_assert_eq(poll(&w, 1, 5000), 1, "room again");
		cr_assert_eq(shmkit_chan_recv(rx, buf, 8, NULL), 1);
		cr_assert_eq(poll(&p, 1, 0), 0, "empty again");
		/* A pending -EPIPE is readable. */
		shmkit_chan_close(tx);
		cr_assert_eq(poll(&p, 1, 5000), 1);
		cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 8), -EPIPE);
		shmkit_chan_close(rx);
		shmkit_chan_unlink(name);
	}
}

Test(chan, list_and_stat)
{
	const char *name = chan_fresh(SHMKIT_CHAN_MPMC, 32, 16, 0640);
	char names[64][SHMKIT_CHAN_NAME_MAX + 1];
	int n = shmkit_chan_list(names, 64), found = 0;
	cr_assert_geq(n, 1);
	for (int i = 0; i < n && i < 64; i++)
		found += !strcmp(names[i], name);
	cr_assert_eq(found, 1);
	shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND),
	              *rx = chan_open(name, SHMKIT_CHAN_RECV);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(shmkit_chan_trysend(tx, "abc", 3), 0);
	char buf[32];
	cr_assert_eq(shmkit_chan_tryrecv(rx, buf, 32), 3);
	struct shmkit_chan_info info;
	struct shmkit_chan_peer peers[2];
	cr_assert_eq(shmkit_chan_stat(name, &info, peers, 1), 2, "how many, even if fewer fit");
	cr_assert_eq(info.mode, 0640);
	cr_assert_eq(info.owner, geteuid());
	cr_assert_eq(info.depth, 4);
	cr_assert_eq(info.sent, 5);
	cr_assert_eq(info.senders, 1);
	cr_assert_eq(info.receivers, 1);
	cr_assert_eq(shmkit_chan_stat(name, &info, peers, 2), 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(peers[i].pid, getpid());
		cr_assert_eq(peers[i].count, peers[i].role == SHMKIT_CHAN_SEND ? 5u : 1u);
		cr_assert_gt(strlen(peers[i].comm), 0);
	}
	cr_assert_eq(shmkit_chan_stat(name, &info, NULL, 1), -EFAULT);
	shmkit_chan_close(tx);
	cr_assert_eq(shmkit_chan_stat(name, &info, NULL, 0), 1);
	cr_assert_eq(info.senders, 0);
	shmkit_chan_close(rx);
	shmkit_chan_unlink(name);
	cr_assert_eq(shmkit_chan_stat(name, &info, NULL, 0), -ENOENT);
}

/* A receiver killed in its sleep: its sleeper bit goes with it, so sends stop waking nobody. */
Test(chan, dead_sleeper_leaves_no_bit)
{
	for (size_t k = 0; k < 3; k++) {
		const char *name = chan_fresh(kinds[k], 8, 16, 0);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		pid_t pid = fork();
		if (pid == 0) {
			shmkit_chan_t *rx;
			char buf[8];
			if (shmkit_chan_open(&rx, name, SHMKIT_CHAN_RECV))
				_exit(1);
			shmkit_chan_recv(rx, buf, 8, NULL); /* sleeps until killed */
			_exit(2);
		}
		/* Asleep: its bit is up. */
		int up = 0;
		for (int i = 0; i < 500 && !up; i++, usleep(10 * 1000))
			up = sk_load_relaxed(&tx->hdr->rx_sleep[0]) != 0;
		cr_assert(up, "kind %u: the receiver sleeps with its bit set", kinds[k]);
		kill(pid, SIGKILL);
		cr_assert_eq(tu_wait(pid), 128 + SIGKILL);
		/* The sender's next wakes find nobody, and after a while it looks at the dead. */
		for (int i = 0; i < 16 && sk_load_relaxed(&tx->hdr->rx_sleep[0]); i++) {
			usleep(20 * 1000);
			cr_assert_eq(shmkit_chan_trysend(tx, "x", 1), 0);
		}
		cr_assert_eq(sk_load_relaxed(&tx->hdr->rx_sleep[0]), 0,
		             "the dead one's bit is gone");
		shmkit_chan_close(tx);
		shmkit_chan_unlink(name);
	}
}

/* Creators racing for a name: one wins, and every -EEXIST names a channel that opens. */
Test(chan, racing_creators)
{
	for (int round = 0; round < 200; round++) {
		const char *name = tu_name("chanrace");
		pid_t kids[3];
		for (int k = 0; k < 3; k++) {
			kids[k] = fork();
			if (kids[k] == 0) {
				struct shmkit_chan_config cfg = {
				    .kind = SHMKIT_CHAN_MPMC, .msg_size = 64, .capacity = 16};
				int err = shmkit_chan_create(name, &cfg);
				if (err && err != -EEXIST)
					_exit(3);
				shmkit_chan_t *c;
				if (shmkit_chan_open(&c, name, SHMKIT_CHAN_SEND))
					_exit(4);
				shmkit_chan_close(c);
				_exit(err ? 1 : 0); /* 0: this one created it */
			}
		}
		int winners = 0;
		for (int k = 0; k < 3; k++) {
			int st = tu_wait(kids[k]);
			cr_assert(st == 0 || st == 1, "round %d: exit %d", round, st);
			winners += st == 0;
		}
		cr_assert_eq(winners, 1, "round %d", round);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
}

/* A creator killed half-way leaves no name behind; the user's next create sweeps its files. */
Test(chan, creator_killed_half_way)
{
	const char *name = tu_name("chanhalf");
	int killed = 0;
	for (int n = 1; n < 20; n++) {
		pid_t pid = fork();
		if (pid == 0) {
			struct shmkit_chan_config cfg = {
			    .kind = SHMKIT_CHAN_SPSC, .msg_size = 64, .capacity = 16};
			sk_crash_countdown = n;
			int err = shmkit_chan_create(name, &cfg);
			_exit(err ? 1 : 0);
		}
		int st = tu_wait(pid);
		if (st == 0) {
			cr_assert_eq(shmkit_chan_unlink(name), 0);
			break; /* no crash point left before it completed */
		}
		cr_assert_eq(st, 128 + SIGKILL);
		killed++;
		struct shmkit_chan_config cfg = {
		    .kind = SHMKIT_CHAN_SPSC, .msg_size = 64, .capacity = 16};
		cr_assert_eq(shmkit_chan_create(name, &cfg), 0, "crash point %d: the name is free",
		             n);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
	cr_assert_gt(killed, 0, "the build has crash points");
}

/* An owner truncating its ring under an inspector gets it an error, never a SIGBUS. */
Test(chan, stat_of_a_ring_truncated_meanwhile)
{
	const char *name = chan_fresh(SHMKIT_CHAN_MPMC, 64, 64, 0);
	char ring[300];
	snprintf(ring, sizeof(ring), "/dev/shm/shmkit.chan.%s/ring", name);
	pid_t pid = tu_truncator(ring, 0, 0);
	cr_assert_gt(pid, 0);
	int ok = 0, bad = 0;
	for (int i = 0; i < 2000; i++) {
		struct shmkit_chan_info info;
		int n = shmkit_chan_stat(name, &info, NULL, 0);
		cr_assert(n >= 0 || n == -EBADMSG || n == -EPROTO, "stat: %d", n);
		ok += n >= 0;
		bad += n < 0;
	}
	kill(pid, SIGKILL);
	cr_assert_eq(tu_wait(pid), 128 + SIGKILL);
	cr_log_info("%d whole, %d torn", ok, bad);
	cr_assert_eq(shmkit_chan_unlink(name), 0);
}

/* A name that is not a channel's directory (a file, a link): unlink frees it. */
Test(chan, unlink_frees_a_name_that_is_not_a_directory)
{
	const char *name = tu_name("chanfile");
	char path[300];
	snprintf(path, sizeof(path), "/dev/shm/shmkit.chan.%s", name);
	for (int link = 0; link < 2; link++) {
		if (link)
			cr_assert_eq(symlink("/etc", path), 0);
		else
			cr_assert_geq(close(open(path, O_CREAT | O_WRONLY, 0600)), 0);
		struct shmkit_chan_config cfg = {
		    .kind = SHMKIT_CHAN_SPSC, .msg_size = 8, .capacity = 2};
		shmkit_chan_t *c;
		cr_assert_eq(shmkit_chan_create(name, &cfg), -EEXIST);
		cr_assert_eq(shmkit_chan_open(&c, name, SHMKIT_CHAN_RECV), -EBADMSG);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
		cr_assert_eq(access("/etc/passwd", F_OK), 0, "a link's target is untouched");
		cr_assert_eq(shmkit_chan_create(name, &cfg), 0);
		cr_assert_eq(shmkit_chan_unlink(name), 0);
	}
}

Test(chan, try_zero_copy_and_spin)
{
	for (size_t k = 0; k < 3; k++) {
		const char *name = chan_fresh(kinds[k], 32, 2, 0);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND),
		              *rx = chan_open(name, SHMKIT_CHAN_RECV);
		const void *m;
		void *slot;
		cr_assert_eq(shmkit_chan_trypeek(rx, &m), -EAGAIN);
		cr_assert_eq(shmkit_chan_trypeek(rx, NULL), -EFAULT);
		cr_assert_eq(shmkit_chan_tryloan(tx, 32, NULL), -EFAULT);
		cr_assert_eq(shmkit_chan_tryloan(rx, 32, &slot), -EBADF);
		for (int i = 0; i < 2; i++) {
			cr_assert_eq(shmkit_chan_tryloan(tx, 32, &slot), 0);
			memset(slot, 'a' + i, 32);
			cr_assert_eq(shmkit_chan_commit(tx, slot, 3), 0);
		}
		if (kinds[k] != SHMKIT_CHAN_BROADCAST)
			cr_assert_eq(shmkit_chan_tryloan(tx, 32, &slot), -EAGAIN, "full");
		cr_assert_eq(shmkit_chan_trypeek(rx, &m), 3);
		cr_assert_eq(((const char *)m)[0], 'a');
		cr_assert_eq(shmkit_chan_release(rx, m), 0);
		cr_assert_eq(shmkit_chan_set_spin(rx, SHMKIT_CHAN_SPIN_MAX + 1), -EINVAL);
		cr_assert_eq(shmkit_chan_set_spin(rx, 0), 0);
		char buf[32];
		cr_assert_eq(shmkit_chan_recv(rx, buf, 32, NULL), 3);
		cr_assert_eq(buf[0], 'b');
		/* Sleeping at once, woken by another sender in another process (SPSC has one). */
		if (kinds[k] == SHMKIT_CHAN_SPSC) {
			shmkit_chan_close(tx);
			shmkit_chan_close(rx);
			shmkit_chan_unlink(name);
			continue;
		}
		pid_t pid = fork();
		if (pid == 0) {
			shmkit_chan_t *t;
			usleep(50 * 1000);
			_exit(shmkit_chan_open(&t, name, SHMKIT_CHAN_SEND) ||
			      shmkit_chan_send(t, "z", 1, NULL));
		}
		struct timespec dl = chan_in_ms(10000);
		cr_assert_eq(shmkit_chan_recv(rx, buf, 32, &dl), 1, "kind %u", kinds[k]);
		cr_assert_eq(buf[0], 'z');
		cr_assert_eq(tu_wait(pid), 0);
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
		shmkit_chan_unlink(name);
	}
}

/*
 * A try call that finds an SPSC ring empty (full) answers at once without looking at its
 * peers, except when one of them closed since it last looked, and every so often: a peer's
 * close is still seen by the very next call, and a peer killed with kill -9 soon after.
 */
static pid_t peer_in_child(const char *name, uint32_t role, int *go)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[1]);
		shmkit_chan_t *c;
		if (shmkit_chan_open(&c, name, role))
			_exit(1);
		char x;
		if (read(p[0], &x, 1) != 1) /* until told, or until the parent dies */
			_exit(2);
		if (x == 'k')
			pause(); /* to be killed */
		_exit(shmkit_chan_close(c) ? 3 : 0);
	}
	close(p[0]);
	*go = p[1];
	return pid;
}

static void tell(int go, char x)
{
	cr_assert_eq(write(go, &x, 1), 1);
	close(go);
}

/* Call try until it answers something else than -EAGAIN; its answer; at most 5 s. */
static long try_until(shmkit_chan_t *c, int send, uint64_t *ms)
{
	uint64_t t0 = chan_now_ms();
	long r;
	char buf[8] = "x";
	do
		r = send ? shmkit_chan_trysend(c, buf, 1)
		         : shmkit_chan_tryrecv(c, buf, sizeof(buf));
	while (r == -EAGAIN && chan_now_ms() - t0 < 5000);
	*ms = chan_now_ms() - t0;
	return r;
}

Test(chan, spinning_try_calls_see_a_peer_leave)
{
	for (int side = 0; side < 2; side++)        /* 0: a receiver spins, 1: a sender */
		for (int how = 0; how < 2; how++) { /* 0: the peer closes, 1: it is killed */
			const char *name = chan_fresh(SHMKIT_CHAN_SPSC, 8, 4, 0);
			uint32_t me = side ? SHMKIT_CHAN_SEND : SHMKIT_CHAN_RECV;
			uint32_t peer = side ? SHMKIT_CHAN_RECV : SHMKIT_CHAN_SEND;
			int go;
			pid_t pid = peer_in_child(name, peer, &go);
			shmkit_chan_t *c = NULL;
			/* Our open and the child's race: wait for its record to be live. */
			struct shmkit_chan_info st;
			do {
				usleep(1000);
				cr_assert_geq(shmkit_chan_stat(name, &st, NULL, 0), 0);
			} while ((side ? st.receivers : st.senders) == 0);
			c = chan_open(name, me);
			if (side)
				for (int i = 0; i < 4; i++)
					cr_assert_eq(shmkit_chan_trysend(c, "x", 1), 0);
			for (int i = 0; i < 10000; i++) {
				char buf[8];
				long r = side ? shmkit_chan_trysend(c, "x", 1)
				              : shmkit_chan_tryrecv(c, buf, sizeof(buf));
				cr_assert_eq(r, -EAGAIN, "side %d call %d: %ld", side, i, r);
			}
			if (how == 0) {
				tell(go, 'c');
				cr_assert_eq(tu_wait(pid), 0);
				uint64_t ms;
				char buf[8];
				long r = side ? shmkit_chan_trysend(c, "x", 1)
				              : shmkit_chan_tryrecv(c, buf, sizeof(buf));
				cr_assert_eq(r, -EPIPE,
				             "side %d: the next call sees the close (%ld)", side,
				             r);
				cr_assert_eq(try_until(c, side, &ms), -EPIPE,
				             "and every one after");
			} else {
				tell(go, 'k');
				usleep(20 * 1000);
				kill(pid, SIGKILL);
				cr_assert_eq(tu_wait(pid), 128 + SIGKILL);
				uint64_t ms;
				cr_assert_eq(try_until(c, side, &ms), -EPIPE,
				             "side %d: killed peer", side);
				cr_assert_lt(ms, 1000,
				             "seen within the liveness period, not %llu ms",
				             (unsigned long long)ms);
			}
			/* A new peer: the ring is usable again, and try calls wait for it. */
			shmkit_chan_t *p = chan_open(name, peer);
			char buf[8];
			if (side) {
				cr_assert_eq(shmkit_chan_trysend(c, "x", 1), -EAGAIN,
				             "full, a receiver");
				cr_assert_eq(shmkit_chan_tryrecv(p, buf, sizeof(buf)), 1);
				cr_assert_eq(shmkit_chan_trysend(c, "y", 1), 0);
			} else {
				cr_assert_eq(shmkit_chan_tryrecv(c, buf, sizeof(buf)), -EAGAIN);
				cr_assert_eq(shmkit_chan_trysend(p, "y", 1), 0);
				cr_assert_eq(shmkit_chan_tryrecv(c, buf, sizeof(buf)), 1);
				cr_assert_eq(buf[0], 'y');
			}
			shmkit_chan_close(p);
			shmkit_chan_close(c);
			shmkit_chan_unlink(name);
		}
}

/* A broadcast sender killed holding a loan, and no receiver to read its position: try sends
 * give the dead writer's slot up (within the liveness period), they do not say -EAGAIN for
 * ever. */
Test(chan, broadcast_try_send_past_a_dead_loan)
{
	const char *name = chan_fresh(SHMKIT_CHAN_BROADCAST, 8, 4, 0);
	pid_t pid = fork();
	if (pid == 0) {
		shmkit_chan_t *d = NULL;
		void *slot;
		if (shmkit_chan_open(&d, name, SHMKIT_CHAN_SEND) ||
		    shmkit_chan_tryloan(d, 8, &slot))
			_exit(1);
		kill(getpid(), SIGKILL);
	}
	cr_assert_eq(tu_wait(pid), 128 + SIGKILL);
	shmkit_chan_t *s = chan_open(name, SHMKIT_CHAN_SEND);
	int sent = 0;
	uint64_t t0 = chan_now_ms();
	while (sent < 12 && chan_now_ms() - t0 < 2000) {
		int r = shmkit_chan_trysend(s, "x", 1);
		cr_assert(r == 0 || r == -EAGAIN, "trysend: %s", strerror(-r));
		sent += r == 0;
	}
	cr_assert_eq(sent, 12, "3 laps sent past the dead loan, not %d", sent);
	struct shmkit_chan_info st;
	cr_assert_geq(shmkit_chan_stat(name, &st, NULL, 0), 0);
	cr_assert_eq(st.abandoned, 1, "the dead loan is counted abandoned");
	shmkit_chan_close(s);
}

/* A receiver's descriptor is not readable while all the ring holds is a loan a live sender
 * has not committed (a poll loop would spin on -EAGAIN), and readable once it is. */
Test(chan, descriptor_not_readable_for_a_loan)
{
	uint32_t lk[] = {SHMKIT_CHAN_MPMC, SHMKIT_CHAN_BROADCAST};
	for (size_t k = 0; k < 2; k++) {
		const char *name = chan_fresh(lk[k], 8, 4, 0);
		shmkit_chan_t *r = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *s = chan_open(name, SHMKIT_CHAN_SEND);
		void *slot;
		cr_assert_eq(shmkit_chan_tryloan(s, 8, &slot), 0);
		struct pollfd p = {.fd = shmkit_chan_fd(r), .events = POLLIN};
		cr_assert_eq(poll(&p, 1, 300), 0, "kind %u: readable with only a loan", lk[k]);
		memcpy(slot, "loaned", 7);
		cr_assert_eq(shmkit_chan_commit(s, slot, 7), 0);
		cr_assert_eq(poll(&p, 1, 2000), 1, "kind %u: committed, not readable", lk[k]);
		char buf[8];
		cr_assert_eq(shmkit_chan_tryrecv(r, buf, sizeof(buf)), 7);
		cr_assert_str_eq(buf, "loaned");
		shmkit_chan_close(s);
		shmkit_chan_close(r);
	}
}

/* A sender killed holding a loan, a message behind it: the receiver's descriptor turns
 * readable, and the receive that follows gives the dead claim up at once and returns the
 * message (it said -EAGAIN for up to a liveness period, 10 ms: a poll loop spun). */
Test(chan, descriptor_readable_for_a_dead_loan_means_a_message)
{
	uint32_t lk[] = {SHMKIT_CHAN_MPMC, SHMKIT_CHAN_BROADCAST};
	for (size_t k = 0; k < 2; k++) {
		const char *name = chan_fresh(lk[k], 8, 4, 0);
		shmkit_chan_t *r = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *s = chan_open(name, SHMKIT_CHAN_SEND);
		int p[2];
		cr_assert_eq(pipe(p), 0);
		pid_t pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			shmkit_chan_t *d;
			void *slot;
			if (shmkit_chan_open(&d, name, SHMKIT_CHAN_SEND) ||
			    shmkit_chan_tryloan(d, 8, &slot))
				_exit(1);
			if (write(p[1], "l", 1) != 1)
				_exit(2);
			pause(); /* to be killed, the loan held */
		}
		char x, buf[8];
		cr_assert_eq(read(p[0], &x, 1), 1, "kind %u: the child loaned", lk[k]);
		close(p[0]);
		close(p[1]);
		/* A look at the live claim: the receiver's liveness check is fresh. */
		cr_assert_eq(shmkit_chan_tryrecv(r, buf, sizeof(buf)), -EAGAIN);
		kill(pid, SIGKILL);
		cr_assert_eq(tu_wait(pid), 128 + SIGKILL);
		cr_assert_eq(shmkit_chan_trysend(s, "m", 1), 0);
		struct pollfd pf = {.fd = shmkit_chan_fd(r), .events = POLLIN};
		cr_assert_eq(poll(&pf, 1, 2000), 1, "kind %u: not readable", lk[k]);
		cr_assert_eq(shmkit_chan_tryrecv(r, buf, sizeof(buf)), 1,
		             "kind %u: readable, yet the receive found nothing", lk[k]);
		cr_assert_eq(buf[0], 'm');
		struct shmkit_chan_info st;
		cr_assert_geq(shmkit_chan_stat(name, &st, NULL, 0), 0);
		cr_assert_eq(st.abandoned, 1, "kind %u: the dead loan is counted abandoned", lk[k]);
		shmkit_chan_close(s);
		shmkit_chan_close(r);
	}
}

/* A sender's descriptor is not writable while the slot at tail is still the lap before's (an
 * MPMC message a receiver has peeked, a broadcast loan a live sender holds): a poll loop
 * would spin on -EAGAIN. It turns writable when that slot is let go. */
Test(chan, descriptor_not_writable_for_a_held_lap)
{
	for (int bcast = 0; bcast < 2; bcast++) {
		const char *name =
		    chan_fresh(bcast ? SHMKIT_CHAN_BROADCAST : SHMKIT_CHAN_MPMC, 8, 2, 0);
		shmkit_chan_t *r = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *s = chan_open(name, SHMKIT_CHAN_SEND);
		shmkit_chan_t *other = bcast ? chan_open(name, SHMKIT_CHAN_SEND) : NULL;
		const void *msg = NULL;
		void *slot = NULL;
		if (bcast) { /* the loan's lap, then one more: tail's slot is the loan's */
			cr_assert_eq(shmkit_chan_tryloan(other, 8, &slot), 0);
			cr_assert_eq(shmkit_chan_trysend(s, "b", 1), 0);
		} else { /* full, then the first peeked: room, but its slot is held */
			cr_assert_eq(shmkit_chan_trysend(s, "a", 1), 0);
			cr_assert_eq(shmkit_chan_trysend(s, "b", 1), 0);
			cr_assert_eq(shmkit_chan_trypeek(r, &msg), 1);
		}
		cr_assert_eq(shmkit_chan_trysend(s, "c", 1), -EAGAIN);
		struct pollfd p = {.fd = shmkit_chan_fd(s), .events = POLLOUT};
		cr_assert_eq(poll(&p, 1, 300), 0, "%s: writable with the lap before held",
		             bcast ? "broadcast" : "MPMC");
		if (bcast)
			cr_assert_eq(shmkit_chan_commit(other, slot, 1), 0);
		else
			cr_assert_eq(shmkit_chan_release(r, msg), 0);
		cr_assert_eq(poll(&p, 1, 2000), 1, "%s: let go, not writable",
		             bcast ? "broadcast" : "MPMC");
		cr_assert_eq(shmkit_chan_trysend(s, "c", 1), 0);
		if (other)
			shmkit_chan_close(other);
		shmkit_chan_close(s);
		shmkit_chan_close(r);
	}
}

/* Capacity 1: SPSC holds exactly one message; MPMC rounds up to 2 (one slot cannot tell a
 * message from the next lap's free slot: sends overwrote unread messages); broadcast runs in
 * lockstep. Every message arrives, in order. */
Test(chan, capacity_one)
{
	uint32_t lk[] = {SHMKIT_CHAN_SPSC, SHMKIT_CHAN_MPMC, SHMKIT_CHAN_BROADCAST};
	for (size_t k = 0; k < 3; k++) {
		const char *name = chan_fresh(lk[k], 8, 1, 0);
		shmkit_chan_t *rx = chan_open(name, SHMKIT_CHAN_RECV);
		shmkit_chan_t *tx = chan_open(name, SHMKIT_CHAN_SEND);
		struct shmkit_chan_info info;
		cr_assert_geq(shmkit_chan_stat(name, &info, NULL, 0), 2);
		uint64_t fit = lk[k] == SHMKIT_CHAN_MPMC ? 2 : 1;
		cr_assert_eq(info.capacity, fit, "kind %u: capacity %llu", lk[k],
		             (unsigned long long)info.capacity);
		char buf[8];
		for (int round = 0; round < 5; round++) {
			int n = lk[k] == SHMKIT_CHAN_BROADCAST ? 1 : (int)fit;
			for (int i = 0; i < n; i++)
				cr_assert_eq(
				    shmkit_chan_trysend(tx, &(char){(char)(round * 2 + i)}, 1), 0);
			if (lk[k] != SHMKIT_CHAN_BROADCAST)
				cr_assert_eq(shmkit_chan_trysend(tx, "x", 1), -EAGAIN,
				             "kind %u: exactly %llu fit", lk[k],
				             (unsigned long long)fit);
			for (int i = 0; i < n; i++) {
				cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), 1,
				             "kind %u", lk[k]);
				cr_assert_eq(buf[0], (char)(round * 2 + i));
			}
			cr_assert_eq(shmkit_chan_tryrecv(rx, buf, sizeof(buf)), -EAGAIN);
		}
		shmkit_chan_close(tx);
		shmkit_chan_close(rx);
	}
}
