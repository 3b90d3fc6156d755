/* SPDX-License-Identifier: MIT */
/*
 * Description: the kernel SysV passthrough reaches the kernel even when the libc shm
 * functions are interposed (as LD_PRELOAD=libshmkit-sysv.so does): this program defines its
 * own shmget/shmat/shmdt/shmctl, which must never be called.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>

#include "segtest.h"

static int interposed_calls;

int shmget(key_t key, size_t size, int flags)
{
	interposed_calls++;
	errno = ENOSYS;
	return -1;
}

void *shmat(int id, const void *addr, int flags)
{
	interposed_calls++;
	errno = ENOSYS;
	return (void *)-1;
}

int shmdt(const void *addr)
{
	interposed_calls++;
	errno = ENOSYS;
	return -1;
}

int shmctl(int id, int cmd, struct shmid_ds *buf)
{
	interposed_calls++;
	errno = ENOSYS;
	return -1;
}

/* Is shmid listed in the kernel's table? */
static int kernel_has(int id)
{
	FILE *f = fopen("/proc/sysvipc/shm", "r");
	char line[512];
	int found = 0, key, shmid;
	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %d", &key, &shmid) == 2 && shmid == id)
			found = 1;
	fclose(f);
	return found;
}

Test(kernel_sysv, passthrough_bypasses_interposed_libc)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_SYSV, 0600);
	struct shmkit_map_opts fixed = {.flags = SHMKIT_MAP_FIXED | SHMKIT_MAP_POPULATE};
	struct shmkit_seg_info info;
	shmkit_seg_t *s;
	char *p, *q;
	c.uid = c.gid = NOBODY;
	cr_assert_eq(shmkit_seg_create(&s, NULL, 4096, &c), 0);
	cr_assert_eq(shmkit_seg_stat(s, &info), 0);
	cr_assert_eq(info.uid, NOBODY, "IPC_SET reached the kernel");
	cr_assert(kernel_has(info.sysv_id));
	cr_assert_eq(shmkit_seg_map(s, NULL, (void **)&p), 0);
	strcpy(p, "kernel");
	fixed.addr = free_range(4096);
	cr_assert_eq(shmkit_seg_map(s, &fixed, (void **)&q), 0);
	cr_assert_str_eq(q, "kernel");
	cr_assert_eq(shmkit_seg_unmap(s, q, 0), 0);
	cr_assert_eq(shmkit_seg_remove(s), 0);
	cr_assert(kernel_has(info.sysv_id), "still attached once");
	cr_assert_eq(shmkit_seg_unmap(s, p, 0), 0);
	cr_assert(!kernel_has(info.sysv_id), "gone with the last detach");
	shmkit_seg_close(s);
	cr_assert_eq(interposed_calls, 0);
}
