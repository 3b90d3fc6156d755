/* SPDX-License-Identifier: MIT */
/*
 * sysv_server: the classic System V shared-memory server. It creates a segment from an ftok
 * key, waits for a client (sysv_client) to write a message into it, prints the message, and
 * removes the segment once the client has detached.
 *
 *   sysv_server [PATH]     PATH is the ftok file shared with the client (default ".")
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "sysv_msg.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : ".";
	key_t key = ftok(path, MSG_PROJ);
	if (key == -1) {
		perror("ftok");
		return 1;
	}
	int shmid = shmget(key, sizeof(struct msg), IPC_CREAT | IPC_EXCL | 0666);
	if (shmid < 0) {
		perror("shmget");
		return 1;
	}
	struct msg *m = shmat(shmid, NULL, 0);
	if (m == (void *)-1) {
		perror("shmat");
		shmctl(shmid, IPC_RMID, NULL);
		return 1;
	}
	printf("server: created a %zu-byte segment, waiting for a client\n", sizeof(struct msg));
	fflush(stdout);
	m->state = MSG_READY;

	while (m->state != MSG_WRITTEN)
		usleep(1000);
	printf("server: the client wrote \"%s\"\n", m->text);

	struct shmid_ds ds;
	if (shmctl(shmid, IPC_STAT, &ds) == 0)
		printf("server: %lu processes are attached\n", (unsigned long)ds.shm_nattch);
	m->state = MSG_DONE;

	/* Wait for the client to detach before removing the segment. */
	do {
		usleep(1000);
		if (shmctl(shmid, IPC_STAT, &ds) < 0) {
			perror("shmctl");
			return 1;
		}
	} while (ds.shm_nattch > 1);
	printf("server: the client detached\n");

	shmdt(m);
	if (shmctl(shmid, IPC_RMID, NULL) < 0) {
		perror("shmctl IPC_RMID");
		return 1;
	}
	printf("server: segment removed\n");
	return 0;
}
