/* SPDX-License-Identifier: MIT */
/*
 * Description: many processes doing everything at once (create, look up, attach, write,
 * detach, remove, fork, die by kill -9) keep the registry consistent.
 */
#include <signal.h>
#include <stdlib.h>

#include "sysvtest.h"

#define WORKERS 6
#define OPS     4000
#define KEYS    8
#define SEGSZ   (WORKERS * 64)

static int worker(int w)
{
	char *att[KEYS] = {0};
	for (int op = 0; op < OPS; op++) {
		int k = (int)tu_rand(KEYS);
		key_t key = 0x5a5a5000 + k;
		switch (tu_rand(6)) {
		case 0:
		case 1: {
			if (att[k])
				break;
			int id = shmkit_shmget(key, SEGSZ, IPC_CREAT | 0600);
			if (id < 0)
				return 1;
			char *p = shmkit_shmat(id, NULL, 0);
			if (p == (void *)-1) {
				if (errno != EINVAL) /* removed in between: fine */
					return 2;
				break;
			}
			memset(p + w * 64, w + 1, 64);
			att[k] = p;
			break;
		}
		case 2:
		case 3:
			if (!att[k])
				break;
			for (int i = 0; i < 64; i++)
				if (att[k][w * 64 + i] != w + 1)
					return 3; /* someone else wrote into our part */
			if (shmkit_shmdt(att[k]) < 0)
				return 4;
			att[k] = NULL;
			break;
		case 4: {
			int id = shmkit_shmget(key, 0, 0);
			if (id >= 0 && shmkit_shmctl(id, IPC_RMID, NULL) < 0 && errno != EINVAL)
				return 5;
			break;
		}
		case 5: {
			pid_t pid = fork();
			if (pid == 0)
				_exit(tu_rand(2) ? 0 : (raise(SIGKILL), 0));
			if (pid < 0 || tu_wait_timeout(pid, 10000) < 0)
				return 6;
			break;
		}
		}
	}
	return 0;
}

Test(stress, concurrent_processes_keep_the_registry_consistent, .init = ns_fresh, .fini = ns_gone,
     .timeout = 120)
{
	pid_t pids[WORKERS];
	for (int w = 0; w < WORKERS; w++) {
		pids[w] = fork();
		if (pids[w] == 0)
			_exit(worker(w));
	}
	/* Kill one worker part-way: it dies holding whatever it held. */
	usleep(30000);
	kill(pids[WORKERS - 1], SIGKILL);
	for (int w = 0; w < WORKERS; w++) {
		int st = tu_wait_timeout(pids[w], 100000);
		if (w == WORKERS - 1)
			cr_assert(st == 0 || st == 128 + SIGKILL, "killed worker: %d", st);
		else
			cr_assert_eq(st, 0, "worker %d failed with %d", w, st);
	}
	ns_check();
	/* Everyone is gone: no attachment may remain. */
	struct shmkit_seg_stat segs[KEYS * 2];
	int n = shmkit_ns_segments(test_ns, segs, KEYS * 2);
	cr_assert_geq(n, 0);
	cr_assert_leq(n, KEYS, "at most one live segment per key, %d", n);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(segs[i].ds.shm_nattch, 0, "segment %d still has nattch %lu",
		             segs[i].id, segs[i].ds.shm_nattch);
		cr_assert(backing_exists(segs[i].id));
	}
}
