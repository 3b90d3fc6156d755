/* SPDX-License-Identifier: MIT */
/*
 * Description: one link of a chain of programs of either class under shmkit run: create a
 * segment with key KEY (plain libc), say so with this program's class, then exec the rest of
 * the command line.
 *
 *   plain_chain KEY [PROGRAM ARGS...]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	key_t key = (key_t)strtol(argv[1], NULL, 0);
	int id = shmget(key, 4096, IPC_CREAT | 0600);
	printf("%zu-bit key=0x%08x %s\n", 8 * sizeof(void *), (unsigned)key,
	       id >= 0 ? "created" : strerror(errno));
	fflush(stdout);
	if (argc > 2) {
		execv(argv[2], argv + 2);
		perror("execv");
		return 1;
	}
	return id < 0;
}
