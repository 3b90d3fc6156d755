/* SPDX-License-Identifier: MIT */
/*
 * Description: liveness ends with the process across fork. A parent killed while its fork
 * children live is not attached any more (the kernel agrees, in the same sequence); a child
 * whose fork preparation failed (no descriptor, registry lock busy) joins on its own, says so
 * through errno if it cannot, and never has the live parent reaped.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "sysvtest.h"

TestSuite(fork, .init = ns_fresh, .fini = ns_gone, .timeout = 60);

struct backend {
	const char *name;
	int (*get)(key_t, size_t, int);
	void *(*at)(int, const void *, int);
	int (*dt)(const void *);
	int (*ctl)(int, int, struct shmid_ds *);
};

static const struct backend kernel = {"kernel", shmget, shmat, shmdt, shmctl};
static const struct backend model = {"shmkit", shmkit_shmget, shmkit_shmat, shmkit_shmdt,
                                     shmkit_shmctl};

static unsigned long nattch(const struct backend *b, int id)
{
	struct shmid_ds ds;
	cr_assert_eq(b->ctl(id, IPC_STAT, &ds), 0, "%s IPC_STAT: %s", b->name, strerror(errno));
	return (unsigned long)ds.shm_nattch;
}

/*
 * A attaches and forks C, which keeps the attachment and makes no call of its own; once C
 * runs, A is killed. Returns nattch seen right after A's death; C is then let go. (C closes
 * A's carrier as soon as it runs: until then A's token lives on in C, for the few
 * instructions between fork and the child's first.)
 */
static unsigned long orphaned_child(const struct backend *b)
{
	int id = b->get(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	cr_assert_geq(id, 0);
	int ready[2], release[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(release), 0);
	cr_assert_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0); /* C comes back to us */
	pid_t a = fork();
	if (a == 0) {
		if (b->at(id, NULL, 0) == (void *)-1)
			_exit(1);
		if (fork() == 0) {
			char x;
			pid_t c = getpid();
			if (write(ready[1], &c, sizeof(c)) != sizeof(c))
				_exit(1);
			_exit(read(release[0], &x, 1) == 1 ? 0 : 1);
		}
		pause();
		_exit(0);
	}
	pid_t c = 0;
	cr_assert_eq(read(ready[0], &c, sizeof(c)), (ssize_t)sizeof(c));
	kill(a, SIGKILL);
	cr_assert_eq(tu_wait_timeout(a, 10000), 128 + SIGKILL);
	unsigned long n = nattch(b, id);
	cr_assert_eq(write(release[1], "x", 1), 1);
	cr_assert_eq(tu_wait_timeout(c, 10000), 0);
	cr_assert_eq(nattch(b, id), 0, "%s: the child's attachment outlived it", b->name);
	cr_assert_eq(b->ctl(id, IPC_RMID, NULL), 0);
	close(ready[0]), close(ready[1]), close(release[0]), close(release[1]);
	return n;
}

Test(fork, a_dead_parent_is_not_kept_attached_by_its_children)
{
	unsigned long n0 = orphaned_child(&model);
	cr_assert_eq(n0, 1, "nattch %lu: the dead parent still counts", n0);
	if (geteuid() == 0 && unshare(CLONE_NEWIPC) == 0)
		cr_assert_eq(orphaned_child(&kernel), 1);
	/* Many at once, as a crash storm with lingering children does. */
	for (int i = 0; i < 10; i++)
		cr_assert_eq(orphaned_child(&model), 1, "round %d", i);
	ns_check();
}

/* Use up every descriptor below the limit, so that the next open fails with EMFILE. */
static int fill_descriptors(int *fds, int max)
{
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	int n = 0, hi = 0;
	for (int fd = 0; fd < 4096; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			hi = fd;
	rl.rlim_cur = (rlim_t)hi + 1;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	int fd;
	while (n < max && (fd = open("/dev/null", O_RDONLY)) >= 0)
		fds[n++] = fd;
	cr_assert_eq(errno, EMFILE);
	return n;
}

Test(fork, a_child_without_a_prepared_token_joins_itself_and_never_reaps_the_parent)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	cr_assert_neq(p, (void *)-1);
	strcpy(p, "kept");
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0); /* destroyed at the last detach */
	int go[2], done[2];
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(done), 0);
	static int fds[4096];
	int n = fill_descriptors(fds, 4096);
	pid_t pid = fork(); /* the preparation cannot open the child's carrier: EMFILE */
	if (pid == 0) {
		struct shmid_ds ds;
		char x;
		/* The parent's carrier, closed here, left one descriptor: take it, so that the
		 * child is out of descriptors too. Its call says so, and harms nobody. */
		int extra = open("/dev/null", O_RDONLY);
		if (shmkit_shmctl(id, IPC_STAT, &ds) != -1 || errno != EMFILE)
			_exit(10);
		close(extra);
		/* Now it joins and counts its inherited attachment. */
		if (shmkit_shmctl(id, IPC_STAT, &ds) != 0 || ds.shm_nattch != 2)
			_exit(11);
		if (write(done[1], "j", 1) != 1 || read(go[0], &x, 1) != 1)
			_exit(12);
		if (strcmp(p, "kept") || shmkit_shmdt(p) != 0)
			_exit(13);
		_exit(0);
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	close(done[1]);
	char x;
	if (read(done[0], &x, 1) != 1)
		cr_assert_fail("the child failed: status %d", tu_wait_timeout(pid, 10000));
	cr_assert_eq(nattch(&model, id), 2, "the parent was reaped by its child");
	cr_assert_eq(shmkit_shmdt(p), 0);
	cr_assert(backing_exists(id), "destroyed while the child still had it attached");
	cr_assert_eq(write(go[1], "g", 1), 1);
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	cr_assert_not(backing_exists(id), "the last detach destroys it");
	ns_check();
}

Test(fork, a_fork_that_cannot_get_the_lock_in_time_still_gives_the_child_liveness)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	cr_assert_neq(p, (void *)-1);
	int held[2];
	cr_assert_eq(pipe(held), 0);
	pid_t holder = fork();
	if (holder == 0) {
		struct sk_ns ns;
		if (shmkit_shmdt(p) || sk_ns_open(&ns, test_ns, 0) || sk_reg_lock(&ns))
			_exit(1);
		if (write(held[1], "h", 1) != 1)
			_exit(2);
		sleep(3); /* longer than fork waits for the lock */
		sk_reg_unlock(&ns);
		_exit(0);
	}
	char x;
	cr_assert_eq(read(held[0], &x, 1), 1);
	pid_t pid = fork(); /* waits 2 s for the lock, then forks without a prepared token */
	if (pid == 0) {
		struct shmid_ds ds; /* blocks until the holder lets go, then joins */
		_exit(shmkit_shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 2 ? 0 : 1);
	}
	cr_assert_eq(tu_wait_timeout(pid, 20000), 0);
	cr_assert_eq(tu_wait_timeout(holder, 20000), 0);
	cr_assert_eq(nattch(&model, id), 1, "the parent must still count once the child is gone");
	cr_assert_eq(shmkit_shmdt(p), 0);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
	ns_check();
}
