/* SPDX-License-Identifier: MIT */
/*
 * sysv_instance: the "is another instance running?" idiom. Every instance attaches the
 * segment named by an ftok key and reads shm_nattch: more than one attacher means another
 * instance is alive. A crashed instance does not count: the system detached it.
 *
 *   sysv_instance PATH         check and exit: 0 if alone, 1 if another instance runs
 *   sysv_instance PATH hold    check, then stay (as the running instance) until stdin closes
 */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH [hold]\n", argv[0]);
		return 2;
	}
	int hold = argc > 2 && !strcmp(argv[2], "hold");
	key_t key = ftok(argv[1], 'I');
	if (key == -1) {
		perror("ftok");
		return 2;
	}
	int shmid = shmget(key, 4096, IPC_CREAT | 0600);
	if (shmid < 0) {
		perror("shmget");
		return 2;
	}
	void *p = shmat(shmid, NULL, 0);
	if (p == (void *)-1) {
		perror("shmat");
		return 2;
	}
	struct shmid_ds ds;
	if (shmctl(shmid, IPC_STAT, &ds) < 0) {
		perror("shmctl");
		return 2;
	}
	if (ds.shm_nattch > 1) {
		printf("instance: another instance is running (%lu attached)\n",
		       (unsigned long)ds.shm_nattch);
		shmdt(p);
		return 1;
	}
	printf("instance: no other instance is running\n");
	fflush(stdout);
	if (hold) {
		char buf[64];
		while (read(0, buf, sizeof(buf)) > 0)
			;
	}
	/* The last instance out removes the segment. */
	if (shmctl(shmid, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1)
		shmctl(shmid, IPC_RMID, NULL);
	shmdt(p);
	printf("instance: exiting\n");
	return 0;
}
