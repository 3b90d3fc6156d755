/* SPDX-License-Identifier: MIT */
/*
 * Description: SPSC sleeping without membarrier(2). A sender registered for membarrier
 * publishes with release stores and its sleeping receiver pays the barrier (sys/fence.c);
 * where a seccomp filter (a sandbox, a container runtime) refuses membarrier, the sender
 * publishes with full fences and the receiver looks again every millisecond. Round trips with
 * both sides sleeping (each process sends and receives), for every pairing of a refused and an
 * allowed process, lose no message and miss no wake-up past the deadline.
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "chantest.h"

#define ROUNDS 300

/* Make membarrier(2) fail with ENOSYS in this process and its children. */
static int refuse_membarrier(void)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		return -1;
	return syscall(SYS_membarrier, 0, 0, 0) == -1 && errno == ENOSYS ? 0 : -1;
}

/* ROUNDS messages out on ping, each sent back on pong; both sides sleep at once (spin 0).
 * 0, or the round (1-based) that failed. */
static int bounce(const char *ping, const char *pong, int first)
{
	shmkit_chan_t *in, *out;
	if (shmkit_chan_open(&in, first ? pong : ping, SHMKIT_CHAN_RECV) ||
	    shmkit_chan_open(&out, first ? ping : pong, SHMKIT_CHAN_SEND) ||
	    shmkit_chan_set_spin(in, 0) || shmkit_chan_set_spin(out, 0))
		return -1;
	for (uint32_t i = 1; i <= ROUNDS; i++) {
		uint32_t v = i, got = 0;
		struct timespec dl = chan_in_ms(5000);
		if (first && shmkit_chan_send(out, &v, sizeof(v), &dl))
			return (int)i;
		if (shmkit_chan_recv(in, &got, sizeof(got), &dl) != sizeof(got) || got != i)
			return (int)i;
		if (!first && shmkit_chan_send(out, &got, sizeof(got), &dl))
			return (int)i;
	}
	shmkit_chan_close(in);
	shmkit_chan_close(out);
	return 0;
}

static void pairing(int refuse_parent, int refuse_child)
{
	const char *ping = chan_fresh(SHMKIT_CHAN_SPSC, 4, 4, 0);
	const char *pong = chan_fresh(SHMKIT_CHAN_SPSC, 4, 4, 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		if (refuse_child && refuse_membarrier())
			_exit(100);
		int r = bounce(ping, pong, 0);
		_exit(r < 0 ? 101 : r > 99 ? 99 : r);
	}
	/* The parent refuses in a child of its own so that the test process stays as it was. */
	pid_t me = refuse_parent ? fork() : 0;
	cr_assert_geq(me, 0);
	if (me == 0) {
		if (refuse_parent && refuse_membarrier())
			_exit(100);
		int r = bounce(ping, pong, 1);
		if (refuse_parent)
			_exit(r < 0 ? 101 : r > 99 ? 99 : r);
		cr_assert_eq(r, 0, "round %d lost (parent refused %d, child refused %d)", r,
		             refuse_parent, refuse_child);
	} else {
		cr_assert_eq(tu_wait(me), 0, "the refusing parent side");
	}
	cr_assert_eq(tu_wait(pid), 0, "the child side (refused %d)", refuse_child);
	shmkit_chan_unlink(ping);
	shmkit_chan_unlink(pong);
}

Test(chan_fence, both_allowed)
{
	pairing(0, 0);
}

Test(chan_fence, child_refused)
{
	pairing(0, 1);
}

Test(chan_fence, parent_refused)
{
	pairing(1, 0);
}

Test(chan_fence, both_refused)
{
	pairing(1, 1);
}
