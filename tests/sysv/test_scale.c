/* SPDX-License-Identifier: MIT */
/*
 * Description: a namespace holds 32768 segments (the kernel's IPCMNI), with no descriptor
 * held per segment, and refuses the next one with ENOSPC.
 */
#include <dirent.h>

#include "sysvtest.h"

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

Test(scale, thirty_two_thousand_segments, .init = ns_fresh, .fini = ns_gone, .timeout = 240)
{
	struct shmkit_ns_limits l = {.shmmni = SHMKIT_NS_MAX_SEGMENTS, .rmid_forced = -1};
	cr_assert_eq(shmkit_ns_set_limits(test_ns, &l), 0);
	int fds = open_fds();
	int last = -1;
	for (int i = 0; i < SHMKIT_NS_MAX_SEGMENTS; i++) {
		int id = shmkit_shmget(0x5c000000 + i, 1, IPC_CREAT | IPC_EXCL | 0600);
		cr_assert_geq(id, 0, "segment %d: %s", i, strerror(errno));
		last = id;
	}
	/* the namespace's directory and ours in it, our liveness carrier, the last segment */
	cr_assert_leq(open_fds(), fds + 4, "descriptors grew from %d to %d", fds, open_fds());
	cr_assert_eq(shmkit_shmget(IPC_PRIVATE, 1, 0600), -1);
	cr_assert_eq(errno, ENOSPC);
	int found = shmkit_shmget(0x5c000000 + 12345, 1, 0);
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(found, IPC_STAT, &ds), 0);
	cr_assert_eq(ds.shm_perm.__key, 0x5c000000 + 12345, "lookup by key among 32768");
	char *p = shmkit_shmat(last, NULL, 0);
	cr_assert_neq(p, (void *)-1);
	cr_assert_eq(shmkit_shmdt(p), 0);
	struct shm_info info;
	cr_assert_eq(shmkit_shmctl(0, SHM_INFO, (struct shmid_ds *)&info),
	             SHMKIT_NS_MAX_SEGMENTS - 1);
	cr_assert_eq(info.used_ids, SHMKIT_NS_MAX_SEGMENTS);
	ns_check();
}
