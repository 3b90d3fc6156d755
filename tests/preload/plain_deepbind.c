/* SPDX-License-Identifier: MIT */
/*
 * Plain libc: load LIB with RTLD_DEEPBIND and create a segment through it. Under shmkit run
 * the segment must be shmkit's (the kernel's own table, asked by system call, has no such id),
 * visible to this program's own calls; on the kernel it is the kernel's.
 * Prints "kernel" or "not-kernel", then "seen" if this program's shmctl finds it.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
	if (!lib) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	int (*create)(int, int) = (int (*)(int, int))dlsym(lib, "deeplib_create");
	void *(*attach)(int) = (void *(*)(int))dlsym(lib, "deeplib_attach");
	int (*remove)(int) = (int (*)(int))dlsym(lib, "deeplib_remove");
	int id = create(0, 4096);
	char *p = id < 0 ? (void *)-1 : attach(id);
	if (p == (void *)-1)
		return 1;
	strcpy(p, "deep");
	struct shmid_ds ds;
	int in_kernel = syscall(SYS_shmctl, id, IPC_STAT, &ds) == 0;
	printf("%s\n", in_kernel ? "kernel" : "not-kernel");
	printf("%s\n", shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_nattch == 1 ? "seen" : "unseen");
	shmdt(p);
	return remove(id) == 0 ? 0 : 1;
}
