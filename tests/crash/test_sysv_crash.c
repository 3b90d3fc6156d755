/* SPDX-License-Identifier: MIT */
/*
 * Description: kill -9 at every step of every sysv operation (crash points), then check that
 * the next caller repairs the registry: invariants hold, no backing object is orphaned, no
 * segment is half there.
 */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>

#include "../sysv/sysvtest.h"

#define KEY 0x5a5a0c01

/* Every operation once, and a repair (a helper dies holding the registry lock first). */
static void script(void)
{
	pid_t holder = fork();
	if (holder == 0) {
		struct sk_ns ns;
		sk_crash_countdown = 0;
		if (sk_ns_open(&ns, test_ns, 0) || sk_reg_lock(&ns))
			_exit(1);
		raise(SIGKILL); /* dies holding the lock: the next locker repairs */
	}
	waitpid(holder, NULL, 0);
	int id = shmkit_shmget(KEY, 8192, IPC_CREAT | 0600);
	int id2 = shmkit_shmget(IPC_PRIVATE, 100, 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	char *p2 = shmkit_shmat(id2, NULL, 0);
	if (id < 0 || id2 < 0 || p == (void *)-1 || p2 == (void *)-1)
		_exit(20);
	pid_t kid = fork();
	if (kid == 0)
		_exit(0);
	waitpid(kid, NULL, 0);
	shmkit_shmctl(id2, IPC_RMID, NULL);
	shmkit_shmdt(p2);
	struct shmid_ds ds;
	shmkit_shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.mode = 0640;
	shmkit_shmctl(id, IPC_SET, &ds);
	shmkit_shmdt(p);
	shmkit_shmctl(id, IPC_RMID, NULL);
}

/* Every backing object of the namespace belongs to a live slot and vice versa. */
static void check_backing(void)
{
	char dir[128];
	snprintf(dir, sizeof(dir), "/dev/shm/shmkit.%s/u%u", test_ns, (unsigned)geteuid());
	struct shmkit_seg_stat segs[64];
	int count = shmkit_ns_segments(test_ns, segs, 64);
	cr_assert_geq(count, 0);
	DIR *d = opendir(dir);
	struct dirent *e;
	int files = 0;
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int id = atoi(e->d_name), found = 0;
		for (int i = 0; i < count; i++)
			found |= segs[i].id == id;
		cr_assert(found, "orphaned backing object %s", e->d_name);
		files++;
	}
	if (d)
		closedir(d);
	cr_assert_eq(files, count, "%d segments but %d backing objects", count, files);
}

Test(crash, kill9_at_every_step_is_repaired, .timeout = 240)
{
	int k;
	for (k = 1; k < 500; k++) {
		ns_fresh();
		pid_t pid = fork();
		if (pid == 0) {
			sk_crash_countdown = k;
			script();
			_exit(sk_crash_countdown > 0 ? 0 : 21);
		}
		int status = tu_wait_timeout(pid, 20000);
		cr_assert(status == 0 || status == 128 + SIGKILL, "step %d: child status %d", k,
		          status);
		/* The next caller repairs whatever the dead process left. */
		struct shm_info info;
		cr_assert_geq(shmkit_shmctl(0, SHM_INFO, (struct shmid_ds *)&info), 0,
		              "step %d: %s", k, strerror(errno));
		ns_check();
		check_backing();
		/* Every segment left is whole: attachable, sized, zeroed or written. */
		struct shmkit_seg_stat segs[64];
		int count = shmkit_ns_segments(test_ns, segs, 64);
		for (int i = 0; i < count; i++) {
			char *p = shmkit_shmat(segs[i].id, NULL, 0);
			cr_assert_neq(p, (void *)-1, "step %d: segment %d: %s", k, segs[i].id,
			              strerror(errno));
			p[segs[i].ds.shm_segsz - 1] = 1;
			cr_assert_eq(shmkit_shmdt(p), 0);
		}
		shmkit_ns_use(NULL);
		ns_gone();
		if (status == 0)
			break; /* k is past the last crash point */
	}
	cr_assert_gt(k, 30, "only %d crash points were reached", k - 1);
	cr_log_info("%d crash points exercised", k - 1);
}
