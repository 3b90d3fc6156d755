/* SPDX-License-Identifier: MIT */
/*
 * Compiled by tests/m32/programs.cmake for 32-bit with a 32-bit time_t, as Debian's i386
 * programs are built: the interposer's struct pl_shmid_ds32 (preload/shmid_ds32.h) is glibc's
 * struct shmid_ds of such programs, offset for offset and size for size. A mismatch fails the
 * build.
 */
#include <stddef.h>
#include <sys/shm.h>
#include <time.h>

#include "shmid_ds32.h"

_Static_assert(sizeof(void *) == 4 && sizeof(time_t) == 4, "a 32-bit time_t build");
_Static_assert(sizeof(struct shmid_ds) == sizeof(struct pl_shmid_ds32), "struct size");

#define SAME(glibc, ours)                                                                          \
	_Static_assert(offsetof(struct shmid_ds, glibc) == offsetof(struct pl_shmid_ds32, ours) && \
	                   sizeof(((struct shmid_ds *)0)->glibc) ==                                \
	                       sizeof(((struct pl_shmid_ds32 *)0)->ours),                          \
	               #glibc)

SAME(shm_perm, shm_perm);
SAME(shm_segsz, shm_segsz);
SAME(shm_atime, shm_atime);
SAME(__shm_atime_high, shm_atime_high);
SAME(shm_dtime, shm_dtime);
SAME(__shm_dtime_high, shm_dtime_high);
SAME(shm_ctime, shm_ctime);
SAME(__shm_ctime_high, shm_ctime_high);
SAME(shm_cpid, shm_cpid);
SAME(shm_lpid, shm_lpid);
SAME(shm_nattch, shm_nattch);
SAME(__glibc_reserved5, reserved5);
SAME(__glibc_reserved6, reserved6);
