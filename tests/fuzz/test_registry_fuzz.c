/* SPDX-License-Identifier: MIT */
/*
 * Description: a corrupted or truncated registry gives a clear error, never a crash or a hang.
 * Random bytes of a populated registry are overwritten (all but the lock word: a member that
 * forges the lock of a live process can stall others, as documented), then every operation
 * runs in a child that must finish normally within its timeout.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "../sysv/sysvtest.h"

#define KEY 0x5a5af000

static void populate(void)
{
	for (int i = 0; i < 6; i++) {
		int id = shmkit_shmget(KEY + i, 4096 * (i + 1), IPC_CREAT | 0600);
		cr_assert_geq(id, 0);
		if (i % 2)
			cr_assert_neq(shmkit_shmat(id, NULL, 0), (void *)-1);
	}
	int id = shmkit_shmget(IPC_PRIVATE, 100, 0600);
	cr_assert_neq(shmkit_shmat(id, NULL, 0), (void *)-1);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
}

static void *map_registry(int *fd)
{
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/shmkit.%s/reg", test_ns);
	*fd = open(path, O_RDWR);
	cr_assert_geq(*fd, 0);
	void *p = mmap(NULL, SK_REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	cr_assert_neq(p, MAP_FAILED);
	return p;
}

/* Everything, with results ignored: only crashing or hanging fails. */
static void exercise(void)
{
	struct shmid_ds ds;
	struct shmkit_seg_stat segs[8];
	struct shmkit_attacher att[8];
	for (int i = 0; i < 8; i++) {
		int id = shmkit_shmget(KEY + i, 4096, IPC_CREAT | 0600);
		char *p = id >= 0 ? shmkit_shmat(id, NULL, 0) : (void *)-1;
		if (p != (void *)-1) {
			p[0] = 1;
			shmkit_shmdt(p);
		}
		shmkit_shmctl(id, IPC_STAT, &ds);
		shmkit_shmctl(i, SHM_STAT_ANY, &ds);
		shmkit_ns_attachers(test_ns, id, att, 8);
		if (i % 3 == 0)
			shmkit_shmctl(id, IPC_RMID, NULL);
	}
	shmkit_shmctl(0, IPC_INFO, &ds);
	shmkit_shmctl(0, SHM_INFO, &ds);
	shmkit_ns_segments(test_ns, segs, 8);
	shmkit_ns_gc(test_ns);
	pid_t kid = fork();
	if (kid == 0)
		_exit(0);
	waitpid(kid, NULL, 0);
}

Test(fuzz, corrupted_registry_never_crashes_or_hangs, .timeout = 240)
{
	int crashes = 0, runs = 300;
	for (int run = 0; run < runs; run++) {
		ns_fresh();
		pid_t pop = fork();
		if (pop == 0) {
			populate();
			raise(SIGKILL); /* dead attachers too */
		}
		tu_wait_timeout(pop, 10000);
		int fd;
		unsigned char *reg = map_registry(&fd);
		int flips = 1 + (int)tu_rand(64);
		for (int i = 0; i < flips; i++) {
			/* Aim at the interesting parts: header, first procs, first slots, atts,
			 * hash. */
			size_t areas[5][2] = {
			    {0, 4096},
			    {SK_REG_OFF_PROCS, 32 * 16},
			    {SK_REG_OFF_SEGS, 128 * 16},
			    {SK_REG_OFF_ATTS, 16 * 64},
			    {SK_REG_OFF_HASH, 4 * 65536},
			};
			unsigned a = tu_rand(5);
			size_t off = areas[a][0] + tu_rand((unsigned)areas[a][1]);
			if (off >= 40 && off < 56)
				continue; /* the registry lock itself */
			reg[off] = (unsigned char)tu_rand(256);
		}
		munmap(reg, SK_REG_SIZE);
		close(fd);
		pid_t pid = fork();
		if (pid == 0) {
			exercise();
			_exit(0);
		}
		int st = tu_wait_timeout(pid, 20000);
		if (st != 0)
			crashes++;
		cr_expect_eq(st, 0, "run %d: child ended with %d (128+n: signal n, -2: hang)", run,
		             st);
		shmkit_ns_use(NULL);
		ns_gone();
	}
	cr_assert_eq(crashes, 0);
}

Test(fuzz, truncated_or_foreign_registry_is_refused)
{
	ns_fresh();
	cr_assert_geq(shmkit_shmget(IPC_PRIVATE, 10, 0600), 0);
	shmkit_ns_use(NULL);
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/shmkit.%s/reg", test_ns);
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	uint32_t v = 0;
	cr_assert_eq(pwrite(fd, &v, 4, 4), 4); /* version */
	cr_assert_eq(shmkit_ns_segments(test_ns, NULL, 0), -EPROTO);
	v = 0xdeadbeef;
	cr_assert_eq(pwrite(fd, &v, 4, 0), 4); /* magic */
	cr_assert_eq(shmkit_ns_segments(test_ns, NULL, 0), -EBADMSG);
	cr_assert_eq(ftruncate(fd, 4096), 0);
	cr_assert_eq(shmkit_ns_segments(test_ns, NULL, 0), -EBADMSG);
	cr_assert_eq(shmkit_ns_use(test_ns), 0);
	cr_assert_eq(shmkit_shmget(IPC_PRIVATE, 10, 0600), -1);
	cr_assert_eq(errno, EBADMSG);
	close(fd);
	shmkit_ns_use(NULL);
	cr_assert_eq(shmkit_ns_destroy(test_ns), 0, "destroy removes even an unreadable registry");
	cr_assert_neq(access(path, F_OK), 0);
}
