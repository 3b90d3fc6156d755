/* SPDX-License-Identifier: MIT */
/* A library a program loads with RTLD_DEEPBIND (as PHP loads shmop): its System V calls bind to
 * libc first. */
#include <stddef.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int deeplib_create(int key, int size);
void *deeplib_attach(int id);
int deeplib_remove(int id);

int deeplib_create(int key, int size)
{
	return shmget(key, (size_t)size, IPC_CREAT | 0600);
}

void *deeplib_attach(int id)
{
	return shmat(id, NULL, 0);
}

int deeplib_remove(int id)
{
	return shmctl(id, IPC_RMID, NULL);
}
