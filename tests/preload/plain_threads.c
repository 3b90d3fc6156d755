/* SPDX-License-Identifier: MIT */
/*
 * Plain libc (not linked with shmkit): threads attaching and detaching one segment at once,
 * fork from a thread, exit without detaching. Prints only attach counts, which must be the
 * kernel's under the interposer.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4
#define EACH    50

static int shmid;
static void *addr[THREADS][EACH];
static pthread_barrier_t barrier;

static unsigned long nattch(void)
{
	struct shmid_ds ds;
	if (shmctl(shmid, IPC_STAT, &ds) < 0) {
		perror("shmctl");
		exit(1);
	}
	return (unsigned long)ds.shm_nattch;
}

static void *thread(void *arg)
{
	long t = (long)arg;
	for (int i = 0; i < EACH; i++) {
		addr[t][i] = shmat(shmid, NULL, 0);
		if (addr[t][i] == (void *)-1) {
			perror("shmat");
			exit(1);
		}
		__sync_fetch_and_add((int *)addr[t][i], 1); /* threads share the page */
	}
	pthread_barrier_wait(&barrier); /* all attached */
	pthread_barrier_wait(&barrier); /* main has counted */
	if (t == 0) {
		pid_t pid = fork(); /* from a thread: the child inherits every attachment */
		if (pid == 0) {
			printf("threads: child of a forking thread sees nattch %lu\n", nattch());
			fflush(stdout);
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	}
	pthread_barrier_wait(&barrier); /* child gone */
	for (int i = 0; i < EACH; i += 2)
		if (shmdt(addr[t][i]) < 0) {
			perror("shmdt");
			exit(1);
		}
	return NULL;
}

int main(void)
{
	shmid = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (shmid < 0) {
		perror("shmget");
		return 1;
	}
	pthread_barrier_init(&barrier, NULL, THREADS + 1);
	pthread_t th[THREADS];
	for (long t = 0; t < THREADS; t++)
		pthread_create(&th[t], NULL, thread, (void *)t);
	pthread_barrier_wait(&barrier);
	printf("threads: %d threads attached %d times each, nattch %lu, counter %d\n", THREADS,
	       EACH, nattch(), *(volatile int *)addr[0][0]);
	fflush(stdout);
	pthread_barrier_wait(&barrier);
	pthread_barrier_wait(&barrier);
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);
	printf("threads: after the child exited and half detached, nattch %lu\n", nattch());

	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 3; i++)
			shmat(shmid, NULL, 0);
		_exit(0); /* no shmdt */
	}
	waitpid(pid, NULL, 0);
	printf("threads: after a child attached 3 times and exited, nattch %lu\n", nattch());
	shmctl(shmid, IPC_RMID, NULL);
	printf("threads: marked for removal, nattch %lu\n", nattch());
	fflush(stdout);
	/* Exit with the remaining attachments: exit detaches them and the segment goes. */
	return 0;
}
