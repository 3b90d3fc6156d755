/* SPDX-License-Identifier: MIT */
/*
 * Description: the other program of the sync tests, run by exec so that it shares nothing with
 * the test but a memfd holding the objects (struct at offset 0: mutex, then semaphore).
 *
 *   helper_sync FD lock-exit | recover | post
 *
 * lock-exit: lock the mutex and exit holding it; recover: lock, which must report a dead
 * owner (else exit 3), make it consistent and unlock; post: post the semaphore. Exit status 0,
 * the errno of a failed call, 2 usage.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "shmkit.h"

struct objs {
	shmkit_mutex_t m;
	shmkit_sem_t s;
};

int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	struct objs *o =
	    mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE, MAP_SHARED, atoi(argv[1]), 0);
	if (o == MAP_FAILED)
		return errno;
	int r;
	if (!strcmp(argv[2], "lock-exit")) {
		r = shmkit_mutex_lock(&o->m);
	} else if (!strcmp(argv[2], "recover")) {
		r = shmkit_mutex_lock(&o->m);
		if (r != -EOWNERDEAD)
			return 3;
		r = shmkit_mutex_consistent(&o->m);
		if (r == 0)
			r = shmkit_mutex_unlock(&o->m);
	} else if (!strcmp(argv[2], "post")) {
		r = shmkit_sem_post(&o->s);
	} else {
		return 2;
	}
	return -r;
}
