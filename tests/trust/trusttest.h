/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the trust tests: each test runs in a private mount and IPC namespace with a
 * tmpfs of its own on /dev/shm (so nothing it does can reach the machine's), as root, with
 * throwaway users that exist only as numbers.
 */
#ifndef SHMKIT_TRUSTTEST_H
#define SHMKIT_TRUSTTEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmkit.h"
#include "sys/sys.h"
#include "sysv/registry.h"
#include "testutil.h"

#define VICTIM   60001u
#define ATTACKER 60002u

/* A private mount + IPC namespace, and an empty /dev/shm of our own. */
static inline void trust_enter(void)
{
	if (geteuid() != 0)
		cr_skip_test("needs root: private mount and IPC namespaces, throwaway uids");
	cr_assert_eq(unshare(CLONE_NEWNS | CLONE_NEWIPC), 0, "unshare: %s", strerror(errno));
	cr_assert_eq(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	cr_assert_eq(mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"), 0);
}

/* Run fn(arg) in a child as uid (gid = uid, no supplementary groups); its int result. */
static inline int as_user(uid_t uid, int (*fn)(void *), void *arg)
{
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(pfd[0]);
		int r = uid && tu_become(uid, uid) ? -1000 : fn(arg);
		if (write(pfd[1], &r, sizeof(r)) != sizeof(r))
			_exit(3);
		_exit(0);
	}
	close(pfd[1]);
	int r = -2000;
	ssize_t n = read(pfd[0], &r, sizeof(r));
	close(pfd[0]);
	int status = tu_wait_timeout(pid, 20000);
	cr_assert_eq(n, (ssize_t)sizeof(r), "the child as uid %u died (status %d)", uid, status);
	cr_assert_eq(status, 0, "the child as uid %u ended with status %d", uid, status);
	return r;
}

/* The registry of namespace ns, mapped read-write by whoever calls this (an attacker). */
struct forge {
	struct sk_reg_hdr *hdr;
	struct sk_proc_rec *procs;
	struct sk_seg_rec *segs;
	struct sk_att_rec *atts;
	uint32_t *hash;
};

static inline int forge_map(const char *ns, struct forge *f)
{
	char path[128];
	snprintf(path, sizeof(path), "/dev/shm/shmkit.%s/reg", ns);
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	char *p = mmap(NULL, SK_REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	f->hdr = (void *)p;
	f->procs = (void *)(p + SK_REG_OFF_PROCS);
	f->segs = (void *)(p + SK_REG_OFF_SEGS);
	f->atts = (void *)(p + SK_REG_OFF_ATTS);
	f->hash = (void *)(p + SK_REG_OFF_HASH);
	return 0;
}

static inline void forge_unmap(struct forge *f)
{
	munmap(f->hdr, SK_REG_SIZE);
}

/* A free index of each table, from the top (far from what the victim uses). */
static inline uint32_t forge_free_slot(struct forge *f)
{
	for (uint32_t s = SK_REG_SLOTS; s-- > 0;)
		if (f->segs[s].state == SK_SEG_FREE)
			return s;
	return 0;
}

/*
 * A dead process (its liveness byte is free) holding one attachment of slot idx with id: the
 * next sweep of any member reaps it and releases that attachment.
 */
static inline void forge_dead_attacher(struct forge *f, uint32_t idx, int32_t id)
{
	uint32_t p = SK_REG_PROCS - 1, a = SK_REG_ATTS - 1;
	f->procs[p] = (struct sk_proc_rec){.state = SK_PROC_LIVE, .pid = 1, .natt = 1};
	f->hdr->procs_hi = SK_REG_PROCS;
	f->atts[a] = (struct sk_att_rec){.proc = p + 1, .idx = idx, .id = id};
	f->hdr->atts_hi = SK_REG_ATTS;
	f->segs[idx].nattch++;
}

static inline int path_owner(const char *path, uid_t *uid, mode_t *mode)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return -errno;
	*uid = st.st_uid;
	*mode = st.st_mode & 07777;
	return 0;
}

#endif
