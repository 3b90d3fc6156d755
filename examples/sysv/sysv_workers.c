/* SPDX-License-Identifier: MIT */
/*
 * sysv_workers: a parent creates a private segment and forks workers that inherit the
 * attachment; each worker sums its share of 1..N into the segment and exits without
 * detaching. Along the way it shows how the attach count follows the processes: fork adds
 * attachments, exec, exit and kill -9 remove them.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define WORKERS 4
#define N       1000000ull

struct work {
	volatile int ready; /* workers that have started */
	volatile int go;
	unsigned long long part[WORKERS];
};

static unsigned long nattch(int shmid)
{
	struct shmid_ds ds;
	if (shmctl(shmid, IPC_STAT, &ds) < 0) {
		perror("shmctl IPC_STAT");
		exit(1);
	}
	return (unsigned long)ds.shm_nattch;
}

/* Poll until the attach count is want (at most about five seconds). */
static unsigned long nattch_becomes(int shmid, unsigned long want)
{
	unsigned long n;
	for (int i = 0; (n = nattch(shmid)) != want && i < 5000; i++)
		usleep(1000);
	return n;
}

int main(void)
{
	int shmid = shmget(IPC_PRIVATE, sizeof(struct work), IPC_CREAT | 0600);
	if (shmid < 0) {
		perror("shmget");
		return 1;
	}
	struct work *w = shmat(shmid, NULL, 0);
	if (w == (void *)-1) {
		perror("shmat");
		return 1;
	}
	/* Removed now: the segment lives on while attached and vanishes with the last detach. */
	shmctl(shmid, IPC_RMID, NULL);
	printf("workers: segment created and marked for removal, nattch %lu\n", nattch(shmid));

	pid_t pid[WORKERS + 1];
	for (int i = 0; i <= WORKERS; i++) {
		pid[i] = fork();
		if (pid[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pid[i] == 0) {
			__sync_fetch_and_add(&w->ready, 1);
			if (i == WORKERS) /* the spare: waits to be killed */
				for (;;)
					pause();
			while (!w->go)
				usleep(1000);
			unsigned long long s = 0;
			for (unsigned long long k = (unsigned)i + 1; k <= N; k += WORKERS)
				s += k;
			w->part[i] = s;
			_exit(0); /* no shmdt: exit detaches */
		}
	}
	while (w->ready < WORKERS + 1)
		usleep(1000);
	printf("workers: %d children started, nattch %lu\n", WORKERS + 1, nattch(shmid));

	kill(pid[WORKERS], SIGKILL);
	waitpid(pid[WORKERS], NULL, 0);
	printf("workers: spare child killed with SIGKILL, nattch %lu\n", nattch(shmid));

	/* A child that execs loses its attachment. */
	pid_t ex = fork();
	if (ex == 0) {
		execlp("sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	printf("workers: a child exec'd sleep, nattch %lu\n", nattch_becomes(shmid, 1 + WORKERS));
	kill(ex, SIGKILL);
	waitpid(ex, NULL, 0);

	w->go = 1;
	for (int i = 0; i < WORKERS; i++)
		waitpid(pid[i], NULL, 0);
	unsigned long long total = 0;
	for (int i = 0; i < WORKERS; i++)
		total += w->part[i];
	printf("workers: sum of 1..%llu is %llu (expected %llu)\n", N, total, N * (N + 1) / 2);
	printf("workers: all workers exited, nattch %lu\n", nattch(shmid));

	shmdt(w);
	struct shmid_ds ds;
	if (shmctl(shmid, IPC_STAT, &ds) == 0) {
		printf("workers: the segment still exists after the last detach\n");
		return 1;
	}
	printf("workers: last detach destroyed the segment\n");
	return total == N * (N + 1) / 2 ? 0 : 1;
}
