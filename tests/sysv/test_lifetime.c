/* SPDX-License-Identifier: MIT */
/*
 * Description: nattch and deferred destruction across fork, exit, _exit, exec and kill -9,
 * safe against PID reuse, without cooperation from the dying process.
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>

#include <sys/mman.h>

#include "sysvtest.h"

TestSuite(lifetime, .init = ns_fresh, .fini = ns_gone, .timeout = 60);

static struct shmid_ds st(int id)
{
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(id, IPC_STAT, &ds), 0, "IPC_STAT: %s", strerror(errno));
	return ds;
}

/* A child that reports its view through a pipe, then ends the way 'how' says. */
enum end { END_EXIT, END__EXIT, END_KILL, END_EXEC, END_RETURN_SHMDT };

static pid_t child_attached(int id, enum end how, int *ready_fd)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		struct shmid_ds ds;
		if (shmkit_shmctl(id, IPC_STAT, &ds) < 0)
			_exit(10);
		unsigned long n = ds.shm_nattch;
		if (write(pfd[1], &n, sizeof(n)) != sizeof(n))
			_exit(11);
		switch (how) {
		case END_EXIT:
			exit(0);
		case END__EXIT:
			_exit(0);
		case END_KILL:
			raise(SIGKILL);
			break;
		case END_EXEC:
			execl("/bin/true", "true", (char *)NULL);
			_exit(12);
		case END_RETURN_SHMDT:
			break;
		}
		_exit(13);
	}
	close(pfd[1]);
	*ready_fd = pfd[0];
	return pid;
}

static void inherit_then_end(enum end how, int status)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	cr_assert_neq(p, (void *)-1);
	strcpy(p, "inherited");
	int fd;
	pid_t pid = child_attached(id, how, &fd);
	unsigned long seen = 0;
	cr_assert_eq(read(fd, &seen, sizeof(seen)), (ssize_t)sizeof(seen));
	close(fd);
	cr_assert_eq(seen, 2, "the child inherits the attachment: nattch 2, saw %lu", seen);
	cr_assert_eq(tu_wait_timeout(pid, 10000), status);
	struct shmid_ds ds = st(id);
	cr_assert_eq(ds.shm_nattch, 1, "after the child ended: nattch %lu", ds.shm_nattch);
	cr_assert_eq(ds.shm_lpid, pid, "lpid is the child that detached");
	cr_assert_str_eq(p, "inherited");
	cr_assert_eq(shmkit_shmdt(p), 0);
	ns_check();
}

Test(lifetime, fork_then_exit)
{
	inherit_then_end(END_EXIT, 0);
}

Test(lifetime, fork_then__exit)
{
	inherit_then_end(END__EXIT, 0);
}

Test(lifetime, fork_then_kill9)
{
	inherit_then_end(END_KILL, 128 + SIGKILL);
}

Test(lifetime, fork_then_exec)
{
	inherit_then_end(END_EXEC, 0);
}

Test(lifetime, fork_sets_atime_and_lpid_of_the_parent)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(pfd[1]);
		if (read(pfd[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(pfd[0]);
	struct shmid_ds ds = st(id);
	cr_assert_eq(ds.shm_nattch, 2);
	cr_assert_eq(ds.shm_lpid, getpid(), "fork: lpid is the forking process");
	close(pfd[1]);
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	cr_assert_eq(st(id).shm_nattch, 1);
	shmkit_shmdt(p);
}

Test(lifetime, rmid_then_last_attacher_killed_destroys)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		char *p = shmkit_shmat(id, NULL, 0);
		if (p == (void *)-1 || write(pfd[1], "a", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(pfd[1]);
	char c;
	cr_assert_eq(read(pfd[0], &c, 1), 1);
	cr_assert_eq(st(id).shm_nattch, 1);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
	cr_assert(backing_exists(id));
	kill(pid, SIGKILL);
	cr_assert_eq(tu_wait_timeout(pid, 10000), 128 + SIGKILL);
	/* The next operation in the namespace collects the dead attacher. */
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(id, IPC_STAT, &ds), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_not(backing_exists(id), "the memory is freed");
	ns_check();
}

Test(lifetime, gc_collects_without_joining)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	pid_t pid = fork();
	if (pid == 0) {
		if (shmkit_shmat(id, NULL, 0) == (void *)-1)
			_exit(1);
		if (shmkit_shmctl(id, IPC_RMID, NULL) < 0)
			_exit(2);
		raise(SIGKILL);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 128 + SIGKILL);
	cr_assert(backing_exists(id));
	cr_assert_eq(shmkit_ns_gc(test_ns), 1);
	cr_assert_not(backing_exists(id));
}

Test(lifetime, exit_detaches_at_once)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	pid_t pid = fork();
	if (pid == 0) {
		if (shmkit_shmat(id, NULL, 0) == (void *)-1)
			_exit(1);
		if (shmkit_shmctl(id, IPC_RMID, NULL) < 0)
			_exit(2);
		exit(0); /* exit() runs the library's destructor: no sweep needed */
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	cr_assert_not(backing_exists(id));
}

Test(lifetime, pid_reuse_does_not_keep_a_dead_attacher)
{
	/* Liveness is the kernel-held lock, not the pid: forge the dead child's record to name a
	 * live pid (ours) and check it is still collected. */
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	pid_t pid = fork();
	if (pid == 0) {
		if (shmkit_shmat(id, NULL, 0) == (void *)-1)
			_exit(1);
		raise(SIGKILL);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 128 + SIGKILL);
	struct sk_ns ns;
	cr_assert_eq(sk_ns_open(&ns, test_ns, 0), 0);
	cr_assert_eq(sk_reg_lock(&ns), 0);
	for (uint32_t i = 0; i < ns.hdr->procs_hi; i++)
		if (ns.procs[i].pid == pid)
			ns.procs[i].pid = getppid(); /* a live process now "has" that pid */
	sk_reg_unlock(&ns);
	sk_ns_close(&ns);
	cr_assert_eq(st(id).shm_nattch, 0);
}

Test(lifetime, threads_share_attachments)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* In the child, the inherited attachment can be detached normally. */
		_exit(shmkit_shmdt(p) == 0 ? 0 : 1);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	cr_assert_eq(st(id).shm_nattch, 1);
	cr_assert_eq(st(id).shm_lpid, pid);
	shmkit_shmdt(p);
}

Test(lifetime, closing_every_descriptor_keeps_the_process_attached)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	pid_t pid = fork();
	if (pid == 0) {
		char *p = shmkit_shmat(id, NULL, 0);
		if (p == (void *)-1)
			_exit(10);
		syscall(SYS_close_range, 3, ~0U, 0); /* the daemon idiom: our lock goes too */
		pid_t g = fork();
		if (g == 0) {
			struct shmid_ds ds;
			_exit(shmkit_shmctl(id, IPC_STAT, &ds) == 0 ? (int)ds.shm_nattch : 20);
		}
		int st;
		if (waitpid(g, &st, 0) != g || !WIFEXITED(st))
			_exit(11);
		/* 2: this process and the child that inherited its attachment */
		if (WEXITSTATUS(st) != 2)
			_exit(30 + WEXITSTATUS(st));
		struct shmid_ds ds;
		if (shmkit_shmctl(id, IPC_STAT, &ds) < 0 || ds.shm_nattch != 1)
			_exit(12);
		_exit(0);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	cr_assert_eq(st(id).shm_nattch, 0);
	ns_check();
}

Test(lifetime, a_process_taken_for_dead_counts_again_at_its_next_call)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	volatile int *flag = tu_shared_alloc(4096);
	pid_t pid = fork();
	if (pid == 0) {
		if (shmkit_shmat(id, NULL, 0) == (void *)-1)
			_exit(10);
		syscall(SYS_close_range, 3, ~0U, 0);
		flag[0] = 1;
		while (flag[0] != 2)
			usleep(1000);
		struct shmid_ds ds; /* our next call: we rejoin and count our attachment again */
		if (shmkit_shmctl(id, IPC_STAT, &ds) < 0 || ds.shm_nattch != 1)
			_exit(11);
		flag[0] = 3;
		while (flag[0] != 4)
			usleep(1000);
		_exit(0);
	}
	while (flag[0] != 1)
		usleep(1000);
	/* The child's lock is gone with its descriptors: to the others it looks dead. */
	cr_assert_eq(st(id).shm_nattch, 0);
	flag[0] = 2;
	while (flag[0] != 3)
		usleep(1000);
	cr_assert_eq(st(id).shm_nattch, 1, "counted again after its next call");
	flag[0] = 4;
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	cr_assert_eq(st(id).shm_nattch, 0);
	tu_shared_free((void *)flag, 4096);
	ns_check();
}

Test(lifetime, a_process_taken_for_dead_still_detaches_what_was_destroyed_meanwhile)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	volatile int *flag = tu_shared_alloc(4096);
	pid_t pid = fork();
	if (pid == 0) {
		char *p = shmkit_shmat(id, NULL, 0);
		if (p == (void *)-1)
			_exit(10);
		syscall(SYS_close_range, 3, ~0U, 0); /* our token goes: we look dead */
		flag[0] = 1;
		while (flag[0] != 2)
			usleep(1000);
		/* Destroyed meanwhile (nobody counted us): shmdt still finds and unmaps it. */
		if (shmkit_shmdt(p) != 0)
			_exit(11);
		unsigned char vec;
		_exit(mincore(p, 4096, &vec) == -1 && errno == ENOMEM ? 0 : 12);
	}
	while (flag[0] != 1)
		usleep(1000);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0); /* nattch 0 to us: destroyed */
	cr_assert_not(backing_exists(id));
	flag[0] = 2;
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	tu_shared_free((void *)flag, 4096);
	ns_check();
}
