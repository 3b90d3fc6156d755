/* SPDX-License-Identifier: MIT */
/* Description: the sys layer: futex, memfd, pidfd, OFD locks, /proc parsing, limits, clocks. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sys/sys.h"
#include "testutil.h"

Test(futex, wait_on_changed_value_returns_eagain)
{
	SK_ATOMIC(uint32_t) w = 1;
	cr_assert_eq(sk_futex_wait(&w, 0, NULL), -EAGAIN);
}

Test(futex, wait_times_out_on_monotonic_deadline)
{
	SK_ATOMIC(uint32_t) w = 0;
	struct timespec abs;
	uint64_t t0 = sk_mono_ns();
	sk_deadline_after(&abs, 20 * 1000 * 1000);
	cr_assert_eq(sk_futex_wait(&w, 0, &abs), -ETIMEDOUT);
	cr_assert_geq(sk_mono_ns() - t0, 19 * 1000 * 1000);
}

Test(futex, wake_across_processes)
{
	SK_ATOMIC(uint32_t) *w = tu_shared_alloc(4096);
	cr_assert_not_null(w);
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec abs;
		sk_deadline_after(&abs, 5ULL * 1000 * 1000 * 1000);
		while (atomic_load(w) == 0)
			if (sk_futex_wait(w, 0, &abs) == -ETIMEDOUT)
				_exit(1);
		_exit(atomic_load(w) == 7 ? 0 : 2);
	}
	usleep(20000);
	atomic_store(w, 7);
	cr_assert_geq(sk_futex_wake(w, 1), 0);
	cr_assert_eq(tu_wait(pid), 0);
	tu_shared_free((void *)w, 4096);
}

Test(futex, pi_lock_reports_dead_owner_as_esrch)
{
	SK_ATOMIC(uint32_t) *w = tu_shared_alloc(4096);
	pid_t pid = fork();
	if (pid == 0) {
		atomic_store(w, (uint32_t)sk_gettid()); /* take the PI lock by hand and die */
		_exit(0);
	}
	cr_assert_eq(tu_wait(pid), 0);
	cr_assert_eq(sk_futex_lock_pi(w, NULL), -ESRCH);
	tu_shared_free((void *)w, 4096);
}

Test(memfd, create_and_size)
{
	int fd = sk_memfd_create("sk-test", 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, 8192), 0);
	close(fd);
	cr_assert_eq(sk_memfd_create(NULL, 0), -EFAULT);
}

Test(proc, starttime_and_liveness_are_pid_reuse_safe)
{
	uint64_t st;
	cr_assert_eq(sk_proc_starttime(getpid(), &st), 0);
	cr_assert_eq(sk_proc_alive(getpid(), st), 1);
	cr_assert_eq(sk_proc_alive(getpid(), st + 1), 0,
	             "a different start time is another process");
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	uint64_t cst = 0;
	sk_proc_starttime(pid, &cst); /* may race with exit; fine */
	tu_wait(pid);
	cr_assert_eq(sk_proc_alive(pid, cst), 0);
	cr_assert_eq(sk_proc_starttime(-1, &st), -EINVAL);
}

Test(proc, ref_tracks_exit)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(pfd[1]);
		read(pfd[0], &c, 1);
		_exit(0);
	}
	close(pfd[0]);
	struct sk_proc_ref r;
	cr_assert_eq(sk_proc_ref_open(&r, pid), 0);
	cr_assert_eq(sk_proc_ref_alive(&r), 1);
	close(pfd[1]);
	tu_wait(pid);
	cr_assert_eq(sk_proc_ref_alive(&r), 0);
	sk_proc_ref_close(&r);
}

Test(proc, comm_names_the_process)
{
	char buf[32];
	cr_assert_gt(sk_proc_comm(getpid(), buf, sizeof(buf)), 0);
	cr_assert_eq(sk_proc_comm(0x3fffffff, buf, sizeof(buf)), -ESRCH);
}

Test(ofd, lock_is_liveness_token_released_on_exit)
{
	char path[] = "/tmp/sk-ofd-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	unlink(path);
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char p[64];
		snprintf(p, sizeof(p), "/proc/%d/fd/%d", (int)getppid(), fd);
		int own = open(p, O_RDWR | O_CLOEXEC); /* a new open file description */
		if (own < 0 || sk_ofd_lock(own, 100, 1, SK_LOCK_EX, 0) != 0)
			_exit(1);
		write(pfd[1], "x", 1);
		pause();
		_exit(0);
	}
	char c;
	cr_assert_eq(read(pfd[0], &c, 1), 1);
	cr_assert_eq(sk_ofd_test(fd, 100, 1), 1);
	cr_assert_eq(sk_ofd_lock(fd, 100, 1, SK_LOCK_EX, 0), -EAGAIN);
	cr_assert_eq(sk_ofd_test(fd, 101, 1), 0);
	kill(pid, SIGKILL);
	tu_wait(pid);
	cr_assert_eq(sk_ofd_test(fd, 100, 1), 0, "kill -9 releases the lock");
	cr_assert_eq(sk_ofd_lock(fd, 100, 1, SK_LOCK_EX, 0), 0);
	cr_assert_eq(sk_ofd_unlock(fd, 100, 1), 0);
	close(fd);
}

Test(limits, parse_and_read)
{
	uint64_t v;
	cr_assert_eq(sk_parse_u64("4096\n", &v), 0);
	cr_assert_eq(v, 4096);
	cr_assert_eq(sk_parse_u64("12x", &v), -EINVAL);
	cr_assert_eq(sk_parse_u64("", &v), -EINVAL);
	cr_assert_eq(sk_parse_u64("-1", &v), -EINVAL);
	cr_assert_eq(sk_parse_u64("99999999999999999999999", &v), -ERANGE);
	struct sk_shm_limits l;
	cr_assert_eq(sk_shm_limits_read(&l), 0);
	uint64_t mni;
	cr_assert_eq(sk_read_u64_file("/proc/sys/kernel/shmmni", &mni), 0);
	cr_assert_eq(l.shmmni, mni);
	cr_assert_eq(sk_read_u64_file("/nonexistent/x", &v), -ENOENT);
}

Test(time, deadlines)
{
	struct timespec abs;
	sk_deadline_after(&abs, 1000000000ULL);
	uint64_t left = sk_ns_until(&abs);
	cr_assert(left > 900000000ULL && left <= 1000000000ULL);
	cr_assert(sk_timespec_valid(&abs));
	struct timespec bad = {.tv_sec = 0, .tv_nsec = 1000000000L};
	cr_assert_not(sk_timespec_valid(&bad));
	cr_assert_eq(sk_page_size(), (size_t)sysconf(_SC_PAGESIZE));
}
