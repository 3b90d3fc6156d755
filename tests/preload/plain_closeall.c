/* SPDX-License-Identifier: MIT */
/*
 * Plain libc (not linked with shmkit): the daemon idiom of closing every descriptor above
 * stderr while a segment is attached. The attachment must still count, for this process and
 * for others, as on the kernel.
 */
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

static unsigned long nattch(int id)
{
	struct shmid_ds ds;
	return shmctl(id, IPC_STAT, &ds) == 0 ? (unsigned long)ds.shm_nattch : 9999;
}

int main(void)
{
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	char *p = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
	if (p == (void *)-1) {
		perror("shmget/shmat");
		return 1;
	}
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
	printf("closeall: after closing every descriptor, nattch %lu\n", nattch(id));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		shmdt(p);
		printf("closeall: another process sees nattch %lu\n", nattch(id));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	printf("closeall: marked for removal, nattch %lu\n", nattch(id));
	shmdt(p);
	printf("closeall: after the last detach the segment is %s\n",
	       nattch(id) == 9999 ? "gone" : "still there");
	return 0;
}
