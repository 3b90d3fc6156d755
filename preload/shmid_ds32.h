/* SPDX-License-Identifier: MIT */
/*
 * glibc's struct shmid_ds as 32-bit programs built with a 32-bit time_t have it (the interposer's
 * shmctl, preload.c): each time a 32-bit word, beside it a high word glibc sets to 0. Standard
 * headers only: tests/m32/layout_t32.c compiles it with a 32-bit time_t and checks it against
 * glibc's own struct, field for field; preload.c against its 64-bit time_t one.
 */
#ifndef SHMKIT_PRELOAD_SHMID_DS32_H
#define SHMKIT_PRELOAD_SHMID_DS32_H

#include <stdint.h>
#include <sys/ipc.h>

struct pl_shmid_ds32 {
	struct ipc_perm shm_perm; /* no time_t in it: the same with either */
	uint32_t shm_segsz;
	int32_t shm_atime;
	uint32_t shm_atime_high;
	int32_t shm_dtime;
	uint32_t shm_dtime_high;
	int32_t shm_ctime;
	uint32_t shm_ctime_high;
	int32_t shm_cpid;
	int32_t shm_lpid;
	uint32_t shm_nattch;
	uint32_t reserved5, reserved6;
};

#endif
