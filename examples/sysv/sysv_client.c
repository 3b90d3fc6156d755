/* SPDX-License-Identifier: MIT */
/*
 * sysv_client: the classic System V shared-memory client. It finds the server's segment by
 * its ftok key, writes a message into it and waits for the server's acknowledgement.
 *
 *   sysv_client [PATH] [MESSAGE]
 */
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "sysv_msg.h"

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : ".";
	const char *text = argc > 2 ? argv[2] : "hello from the client";
	key_t key = ftok(path, MSG_PROJ);
	if (key == -1) {
		perror("ftok");
		return 1;
	}
	int shmid = shmget(key, sizeof(struct msg), 0666);
	if (shmid < 0) {
		perror("shmget (is the server running?)");
		return 1;
	}
	struct msg *m = shmat(shmid, NULL, 0);
	if (m == (void *)-1) {
		perror("shmat");
		return 1;
	}
	while (m->state != MSG_READY)
		usleep(1000);
	snprintf(m->text, sizeof(m->text), "%s", text);
	m->state = MSG_WRITTEN;
	printf("client: wrote \"%s\"\n", text);

	while (m->state != MSG_DONE)
		usleep(1000);
	printf("client: the server read it\n");
	if (shmdt(m) < 0) {
		perror("shmdt");
		return 1;
	}
	printf("client: detached\n");
	return 0;
}
