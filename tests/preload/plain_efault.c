/* SPDX-License-Identifier: MIT */
/*
 * Plain libc (not linked with shmkit): shmctl with buffers the kernel cannot copy to or from
 * (unmapped, read-only for the commands that write, no access for IPC_SET) fails with EFAULT,
 * after the checks the kernel makes first, and a good buffer next to them works.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

static void show(const char *what, int r)
{
	printf("efault: %-28s %s\n", what, r < 0 ? strerrorname_np(errno) : "ok");
}

int main(void)
{
	long page = sysconf(_SC_PAGESIZE);
	char *none = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *ro = mmap(NULL, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *gone =
	    mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (none == MAP_FAILED || ro == MAP_FAILED || gone == MAP_FAILED)
		return 1;
	munmap(gone, (size_t)page);
	int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	if (id < 0)
		return 1;
	struct shmid_ds *heap = (struct shmid_ds *)(gone + 0);
	show("IPC_STAT unmapped", shmctl(id, IPC_STAT, heap));
	show("IPC_STAT no access", shmctl(id, IPC_STAT, (struct shmid_ds *)none));
	show("IPC_STAT read-only", shmctl(id, IPC_STAT, (struct shmid_ds *)ro));
	show("IPC_STAT straddling", shmctl(id, IPC_STAT, (struct shmid_ds *)(ro + page - 8)));
	show("IPC_STAT bad id first", shmctl(-1, IPC_STAT, (struct shmid_ds *)none));
	show("IPC_STAT stale id first", shmctl(id + 1, IPC_STAT, (struct shmid_ds *)none));
	show("IPC_SET no access", shmctl(id, IPC_SET, (struct shmid_ds *)none));
	show("IPC_SET read-only is fine",
	     shmctl(id, IPC_SET, (struct shmid_ds *)ro) < 0 && errno == EFAULT ? -1 : 0);
	show("IPC_SET unmapped, stale id", shmctl(id + 1, IPC_SET, (struct shmid_ds *)none));
	show("IPC_INFO read-only", shmctl(0, IPC_INFO, (struct shmid_ds *)ro));
	show("SHM_INFO unmapped", shmctl(0, SHM_INFO, heap));
	show("SHM_STAT no access", shmctl(id & 0x7fff, SHM_STAT, (struct shmid_ds *)none));
	show("IPC_RMID ignores the buffer", shmctl(id, IPC_RMID, (struct shmid_ds *)none));
	struct shmid_ds ok;
	show("IPC_STAT after removal", shmctl(id, IPC_STAT, &ok));
	return 0;
}
