/* SPDX-License-Identifier: MIT */
/*
 * Plain libc (not linked with shmkit): the interposed side of the test that an interposed
 * process and a process linked with libshmkit see the same segments.
 *
 *   plain_peer read KEY MSG     print the string segment KEY holds and its nattch, write MSG
 *   plain_peer create KEY MSG   create KEY (4096 bytes) holding MSG, wait for stdin to close,
 *                               print what it holds and nattch, remove it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

static unsigned long nattch(int id)
{
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) < 0) {
		perror("shmctl");
		exit(1);
	}
	return (unsigned long)ds.shm_nattch;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: plain_peer read|create KEY MSG\n");
		return 2;
	}
	int create = !strcmp(argv[1], "create");
	key_t key = (key_t)strtoul(argv[2], NULL, 0);
	int id = shmget(key, create ? 4096 : 0, create ? IPC_CREAT | IPC_EXCL | 0600 : 0);
	char *p = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
	if (p == (void *)-1) {
		perror("plain_peer: shmget/shmat");
		return 1;
	}
	if (create) {
		snprintf(p, 4096, "%s", argv[3]);
		printf("plain: ready\n");
		fflush(stdout);
		char buf[64];
		while (read(0, buf, sizeof(buf)) > 0)
			;
		printf("plain: now holds \"%s\", nattch %lu\n", p, nattch(id));
		shmdt(p);
		shmctl(id, IPC_RMID, NULL);
		return 0;
	}
	printf("plain: read \"%s\", nattch %lu\n", p, nattch(id));
	snprintf(p, 4096, "%s", argv[3]);
	shmdt(p);
	return 0;
}
