/* SPDX-License-Identifier: MIT */
/*
 * Description: threads of one process use the System V model at once (create, attach, write,
 * detach, stat, remove) and fork; counts and data stay right. Runs under ThreadSanitizer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mtcheck.h"
#include "shmkit.h"

#define THREADS 4
#define ROUNDS  300

static int shared_id;

static void *worker(void *arg)
{
	int t = (int)(long)arg;
	for (int i = 0; i < ROUNDS; i++) {
		int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
		CHECK(id >= 0);
		char *p = shmkit_shmat(id, NULL, 0);
		CHECK(p != (void *)-1);
		p[0] = (char)t;
		char *q = shmkit_shmat(shared_id, NULL, 0);
		CHECK(q != (void *)-1);
		__atomic_fetch_add((int *)q, 1, __ATOMIC_RELAXED);
		struct shmid_ds ds;
		CHECK(shmkit_shmctl(id, IPC_STAT, &ds) == 0);
		/* 2 while a child forked by thread 0 holds inherited attachments, as on the kernel
		 */
		CHECK(ds.shm_nattch == 1 || ds.shm_nattch == 2);
		CHECK(p[0] == (char)t);
		CHECK(shmkit_shmdt(q) == 0);
		CHECK(shmkit_shmctl(id, IPC_RMID, NULL) == 0);
		CHECK(shmkit_shmdt(p) == 0);
		/* destroyed, or kept (SHM_DEST) by a forked child until it exits */
		int rs = shmkit_shmctl(id, IPC_STAT, &ds);
		CHECK((rs == -1 && errno == EINVAL) || (rs == 0 && (ds.shm_perm.mode & SHM_DEST)));
		if (t == 0 && i % 50 == 0) {
			pid_t pid = fork();
			if (pid == 0)
				_exit(shmkit_shmctl(shared_id, IPC_STAT, &ds) == 0 ? 0 : 1);
			int st;
			CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		}
	}
	return NULL;
}

int main(void)
{
	char ns[64];
	snprintf(ns, sizeof(ns), "mt-%d", (int)getpid());
	CHECK(shmkit_ns_create(ns, 0600) == 0);
	CHECK(shmkit_ns_use(ns) == 0);
	shared_id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	CHECK(shared_id >= 0);
	pthread_t th[THREADS];
	for (long t = 0; t < THREADS; t++)
		CHECK(pthread_create(&th[t], NULL, worker, (void *)t) == 0);
	for (int t = 0; t < THREADS; t++)
		CHECK(pthread_join(th[t], NULL) == 0);
	int *c = shmkit_shmat(shared_id, NULL, SHM_RDONLY);
	CHECK(c != (void *)-1);
	CHECK(*c == THREADS * ROUNDS);
	struct shmid_ds ds;
	CHECK(shmkit_shmctl(shared_id, IPC_STAT, &ds) == 0);
	CHECK(ds.shm_nattch == 1);
	/* Every child is reaped: all the removed segments are gone. */
	CHECK(shmkit_ns_segments(ns, NULL, 0) == 1);
	CHECK(shmkit_shmdt(c) == 0);
	CHECK(shmkit_shmctl(shared_id, IPC_RMID, NULL) == 0);
	CHECK(shmkit_ns_use(NULL) == 0);
	CHECK(shmkit_ns_destroy(ns) == 0);
	MT_PASS("mt_sysv");
}
