/* SPDX-License-Identifier: MIT */
/*
 * Description: IPC_STAT as a plain libc program sees it (no shmkit): built 32-bit with a 64-bit
 * time_t (glibc's __shmctl64) and with a 32-bit one (glibc's shmctl), run on the kernel or under
 * the interposer.
 *
 *   plain_shmstat ID [CMD]     CMD: IPC_STAT (default) or IPC_STAT|IPC_64
 *
 * Prints one line: the result and errno, then every field (the buffer is filled with 0x5a
 * first, so a field nobody wrote shows as such), with a 32-bit time_t also the high words
 * glibc's struct has beside each time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

int main(int argc, char **argv)
{
	if (argc < 2)
		return 2;
	int cmd = argc > 2 && !strcmp(argv[2], "IPC_STAT|IPC_64") ? IPC_STAT | 0x100 : IPC_STAT;
	struct shmid_ds d;
	memset(&d, 0x5a, sizeof(d));
	errno = 0;
	int r = shmctl(atoi(argv[1]), cmd, &d);
	const char *e = errno ? strerrorname_np(errno) : "0";
	printf("r=%d errno=%s time_t=%zu mode=%o segsz=%llu nattch=%llu atime=%lld dtime=%lld "
	       "ctime=%lld",
	       r, e ? e : "?", 8 * sizeof(time_t), (unsigned)d.shm_perm.mode,
	       (unsigned long long)d.shm_segsz, (unsigned long long)d.shm_nattch,
	       (long long)d.shm_atime, (long long)d.shm_dtime, (long long)d.shm_ctime);
#if defined(__TIMESIZE) && __TIMESIZE == 32 && !defined(__USE_TIME_BITS64)
	printf(" atime_high=%lu dtime_high=%lu ctime_high=%lu", d.__shm_atime_high,
	       d.__shm_dtime_high, d.__shm_ctime_high);
#endif
	printf("\n");
	return 0;
}
