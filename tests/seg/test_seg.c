/* SPDX-License-Identifier: MIT */
/*
 * Description: the seg layer across processes: POSIX shm, memfd (seals, descriptor passing),
 * huge pages and kernel SysV; permissions and read-only mappings enforced by the kernel.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg/handle.h"
#include "segtest.h"

#define PAGE 4096u

static uint64_t size_of(shmkit_seg_t *s)
{
	struct shmkit_seg_info info;
	cr_assert_eq(shmkit_seg_stat(s, &info), 0);
	return info.size;
}

static void say(shmkit_seg_t *s, const char *text)
{
	char *p;
	cr_assert_eq(shmkit_seg_map(s, NULL, (void **)&p), 0);
	strcpy(p, text);
	cr_assert_eq(shmkit_seg_unmap(s, p, size_of(s)), 0);
}

static void expect_reply(shmkit_seg_t *s, const char *text)
{
	struct shmkit_map_opts ro = {.flags = SHMKIT_MAP_RDONLY};
	char *p;
	cr_assert_eq(shmkit_seg_map(s, &ro, (void **)&p), 0);
	cr_assert_str_eq(p + REPLY_OFFSET, text);
	cr_assert_eq(shmkit_seg_unmap(s, p, size_of(s)), 0);
}

/* Run check on a new one-page object of that backend, then remove it. */
static void on_new(uint32_t backend, void (*check)(shmkit_seg_t *))
{
	struct shmkit_seg_config c = seg_cfg(backend, 0600);
	const char *name = backend == SHMKIT_SEG_POSIX ? tu_name("sk-seg") : NULL;
	shmkit_seg_t *s;
	cr_assert_eq(shmkit_seg_create(&s, name, PAGE, &c), 0);
	check(s);
	cr_assert_eq(shmkit_seg_remove(s), 0);
	shmkit_seg_close(s);
}

/* ---- POSIX shm ---- */

Test(posix, data_visible_both_ways_across_exec)
{
	const char *name = tu_name("sk-seg");
	shmkit_seg_t *s;
	cr_assert_eq(shmkit_seg_create(&s, name, PAGE, NULL), 0);
	say(s, "from-parent");
	const char *argv[] = {NULL, "rw", "posix", name, "from-parent", "from-child", NULL};
	cr_assert_eq(run_helper(argv, 0), 0);
	expect_reply(s, "from-child");
	cr_assert_eq(shmkit_seg_remove(s), 0);
	cr_assert_eq(shmkit_seg_remove(s), -ENOENT);
	shmkit_seg_close(s);
}

Test(posix, exact_mode_and_size_whatever_the_umask)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_POSIX, 0644);
	struct shmkit_seg_info info;
	char path[300];
	struct stat st;
	shmkit_seg_t *s;
	const char *name = tu_name("sk-seg");
	mode_t old = umask(0077);
	int err = shmkit_seg_create(&s, name, 100, &c);
	umask(old);
	cr_assert_eq(err, 0);
	snprintf(path, sizeof(path), "/dev/shm/%s", name);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	cr_assert_eq(shmkit_seg_stat(s, &info), 0);
	cr_assert_eq(info.backend, SHMKIT_SEG_POSIX);
	cr_assert_eq(info.mode, 0644);
	cr_assert_eq(info.size, PAGE, "rounded up to a page");
	cr_assert_eq(info.sysv_id, -1);
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_POSIX, name), 0);
	cr_assert_eq(stat(path, &st), -1);
	shmkit_seg_close(s);
}

Test(posix, excl_and_open_or_create)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_POSIX, 0);
	const char *name = tu_name("/sk-seg");
	shmkit_seg_t *a, *b, *d;
	cr_assert_eq(shmkit_seg_create(&a, name, 2 * PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_create(&b, name, PAGE, &c), -EEXIST);
	cr_assert_null(b);
	c.flags = SHMKIT_SEG_OPEN;
	cr_assert_eq(shmkit_seg_create(&b, name, PAGE, &c), 0, "an existing object opens");
	cr_assert_eq(shmkit_seg_create(&d, name, 3 * PAGE, &c), -EINVAL, "too small to hold it");
	say(a, "same object");
	char *p;
	cr_assert_eq(shmkit_seg_map(b, NULL, (void **)&p), 0);
	cr_assert_str_eq(p, "same object");
	shmkit_seg_unmap(b, p, 2 * PAGE);
	cr_assert_eq(shmkit_seg_remove(a), 0);
	shmkit_seg_close(a);
	shmkit_seg_close(b);
}

Test(posix, racing_creators_exactly_one_wins_and_nobody_sees_it_half_built)
{
	enum { N = 6, SIZE = 64 * PAGE };
	const char *name = tu_name("sk-seg");
	int *wins = tu_shared_alloc(PAGE);
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_POSIX, 0600);
			struct shmkit_seg_info info;
			shmkit_seg_t *s;
			int err = shmkit_seg_create(&s, name, SIZE, &c);
			if (err == 0)
				__atomic_fetch_add(wins, 1, __ATOMIC_RELAXED);
			else if (err != -EEXIST)
				_exit(1);
			c.flags = SHMKIT_SEG_OPEN;
			if (err && shmkit_seg_create(&s, name, SIZE, &c))
				_exit(2);
			/* Whoever opens it finds the final size and mode, never a 0-byte file. */
			if (shmkit_seg_stat(s, &info) || info.size != SIZE || info.mode != 0600)
				_exit(3);
			_exit(0);
		}
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(tu_wait_timeout(pids[i], HELPER_MS), 0);
	cr_assert_eq(*wins, 1);
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_POSIX, name), 0);
	tu_shared_free(wins, PAGE);
}

Test(posix, kernel_enforces_permissions_for_other_users)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_POSIX, 0600);
	char priv[128], pub[128]; /* tu_name reuses its buffer */
	snprintf(priv, sizeof(priv), "%s", tu_name("sk-seg"));
	snprintf(pub, sizeof(pub), "%s", tu_name("sk-seg"));
	shmkit_seg_t *s, *t;
	cr_assert_eq(shmkit_seg_create(&s, priv, PAGE, &c), 0);
	say(s, "secret");
	const char *ro_priv[] = {NULL, "ro", "posix", priv, "secret", NULL};
	cr_assert_eq(run_helper(ro_priv, NOBODY), EACCES, "0600 is closed to others");

	c.mode = 0644;
	cr_assert_eq(shmkit_seg_create(&t, pub, PAGE, &c), 0);
	say(t, "public");
	const char *ro_pub[] = {NULL, "ro", "posix", pub, "public", NULL};
	cr_assert_eq(run_helper(ro_pub, NOBODY), 0, "0644 opens read-only");
	const char *rw_pub[] = {NULL, "rw", "posix", pub, "public", "x", NULL};
	cr_assert_eq(run_helper(rw_pub, NOBODY), EACCES, "but not read-write");
	shmkit_seg_remove(s);
	shmkit_seg_remove(t);
	shmkit_seg_close(s);
	shmkit_seg_close(t);
}

Test(posix, owner_given_at_creation)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_POSIX, 0600);
	struct shmkit_seg_info info;
	const char *name = tu_name("sk-seg");
	shmkit_seg_t *s;
	c.uid = c.gid = NOBODY;
	cr_assert_eq(shmkit_seg_create(&s, name, PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_stat(s, &info), 0);
	cr_assert_eq(info.uid, NOBODY);
	cr_assert_eq(info.gid, NOBODY);
	say(s, "for nobody");
	const char *rw[] = {NULL, "rw", "posix", name, "for nobody", "thanks", NULL};
	cr_assert_eq(run_helper(rw, NOBODY), 0);
	expect_reply(s, "thanks");
	shmkit_seg_remove(s);
	shmkit_seg_close(s);
}

Test(posix, unprivileged_creator_cannot_give_objects_away)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_POSIX, 0600);
		shmkit_seg_t *s;
		c.uid = 0;
		if (tu_become(NOBODY, NOBODY))
			_exit(10);
		int err = shmkit_seg_create(&s, tu_name("sk-seg"), PAGE, &c);
		_exit(err == -EPERM ? 0 : 1);
	}
	cr_assert_eq(tu_wait_timeout(pid, HELPER_MS), 0);
}

Test(posix, resize_and_open_by_name)
{
	struct shmkit_seg_info info;
	const char *name = tu_name("sk-seg");
	shmkit_seg_t *s, *r;
	char *p;
	cr_assert_eq(shmkit_seg_create(&s, name, PAGE, NULL), 0);
	cr_assert_eq(shmkit_seg_resize(s, 3 * PAGE + 1), 0);
	cr_assert_eq(shmkit_seg_stat(s, &info), 0);
	cr_assert_eq(info.size, 4 * PAGE);
	struct shmkit_map_opts last = {.offset = 3 * PAGE, .length = PAGE};
	cr_assert_eq(shmkit_seg_map(s, &last, (void **)&p), 0);
	p[0] = 'z';
	cr_assert_eq(shmkit_seg_unmap(s, p, PAGE), 0);
	cr_assert_eq(shmkit_seg_open(&r, SHMKIT_SEG_POSIX, name, SHMKIT_SEG_RDONLY), 0);
	cr_assert_eq(shmkit_seg_resize(r, PAGE), -EBADF, "a read-only handle cannot resize");
	cr_assert_eq(shmkit_seg_map(r, &last, (void **)&p), -EACCES);
	last.flags = SHMKIT_MAP_RDONLY;
	cr_assert_eq(shmkit_seg_map(r, &last, (void **)&p), 0);
	cr_assert_eq(p[0], 'z');
	shmkit_seg_unmap(r, p, PAGE);
	cr_assert_eq(shmkit_seg_resize(s, PAGE), 0);
	cr_assert_eq(shmkit_seg_map(r, &last, (void **)&p), -EINVAL, "past the end now");
	shmkit_seg_close(r);
	shmkit_seg_remove(s);
	cr_assert_eq(shmkit_seg_open(&r, SHMKIT_SEG_POSIX, name, 0), -ENOENT);
	shmkit_seg_close(s);
}

/* ---- read-only mappings ---- */

/* A read-only mapping of s stays read-only: mprotect refuses, a write kills the writer. */
static void assert_read_only_holds(shmkit_seg_t *s)
{
	struct shmkit_map_opts ro = {.flags = SHMKIT_MAP_RDONLY};
	volatile char *p;
	cr_assert_eq(shmkit_seg_map(s, &ro, (void **)&p), 0);
	errno = 0;
	cr_assert_eq(mprotect((void *)p, PAGE, PROT_READ | PROT_WRITE), -1);
	cr_assert_eq(errno, EACCES);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		p[0] = 1;
		_exit(0);
	}
	cr_assert_eq(tu_wait_timeout(pid, HELPER_MS), 128 + SIGSEGV);
	cr_assert_eq(shmkit_seg_unmap(s, (void *)p, PAGE), 0);
}

Test(rdonly, posix_mapping_cannot_become_writable)
{
	on_new(SHMKIT_SEG_POSIX, assert_read_only_holds);
}

Test(rdonly, memfd_mapping_cannot_become_writable)
{
	on_new(SHMKIT_SEG_MEMFD, assert_read_only_holds);
}

Test(rdonly, sysv_mapping_cannot_become_writable)
{
	on_new(SHMKIT_SEG_SYSV, assert_read_only_holds);
}
/* ---- memfd: seals and descriptor passing ---- */

Test(memfd, seal_write_at_creation_holds)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_MEMFD, 0);
	struct shmkit_map_opts rw = {0};
	struct shmkit_seg_info info;
	shmkit_seg_t *s;
	void *p;
	c.seals = SHMKIT_SEAL_WRITE | SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW;
	cr_assert_eq(shmkit_seg_create(&s, "sealed", 2 * PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_stat(s, &info), 0);
	cr_assert_eq(info.size, 2 * PAGE, "sized before sealing");
	cr_assert_eq(info.seals, c.seals);
	cr_assert_eq(shmkit_seg_map(s, &rw, &p), -EPERM);
	errno = 0;
	cr_assert_eq(pwrite(shmkit_seg_fd(s), "x", 1, 0), -1);
	cr_assert_eq(errno, EPERM);
	cr_assert_eq(shmkit_seg_resize(s, PAGE), -EPERM);
	cr_assert_eq(shmkit_seg_resize(s, 4 * PAGE), -EPERM);
	struct shmkit_map_opts ro = {.flags = SHMKIT_MAP_RDONLY};
	cr_assert_eq(shmkit_seg_map(s, &ro, &p), 0);
	cr_assert_eq(mprotect(p, PAGE, PROT_READ | PROT_WRITE), -1);
	shmkit_seg_unmap(s, p, 2 * PAGE);
	shmkit_seg_close(s);
}

Test(memfd, seals_added_later)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_MEMFD, 0);
	struct shmkit_map_opts rw = {0};
	shmkit_seg_t *s;
	char *p, *q;
	cr_assert_eq(shmkit_seg_create(&s, NULL, PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_map(s, &rw, (void **)&p), 0);
	cr_assert_eq(shmkit_seg_seal(s, SHMKIT_SEAL_WRITE), -EBUSY, "a writable mapping exists");
	cr_assert_eq(shmkit_seg_seal(s, SHMKIT_SEAL_FUTURE_WRITE | SHMKIT_SEAL_GROW), 0);
	p[0] = 'o'; /* the existing mapping keeps writing */
	cr_assert_eq(shmkit_seg_map(s, &rw, (void **)&q), -EPERM, "no new writers");
	cr_assert_eq(shmkit_seg_resize(s, 2 * PAGE), -EPERM);
	cr_assert_eq(shmkit_seg_resize(s, PAGE), 0, "same size is not growth");
	cr_assert_eq(shmkit_seg_seal(s, SHMKIT_SEAL_SEAL), 0);
	cr_assert_eq(shmkit_seg_seal(s, SHMKIT_SEAL_SHRINK), -EPERM);
	shmkit_seg_unmap(s, p, PAGE);
	shmkit_seg_close(s);
}

Test(memfd, descriptor_passing_across_exec)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_MEMFD, 0);
	shmkit_seg_t *s;
	int sv[2];
	char fdarg[16];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(shmkit_seg_create(&s, "passed", PAGE, &c), 0);
	say(s, "via-scm-rights");
	cr_assert_eq(shmkit_seg_send(sv[0], s), 0);
	/* The child's end must survive exec: hand it over without O_CLOEXEC. */
	int child = fcntl(sv[1], F_DUPFD, 10);
	cr_assert_geq(child, 0);
	snprintf(fdarg, sizeof(fdarg), "%d", child);
	const char *argv[] = {NULL, "rw", "sock", fdarg, "via-scm-rights", "seen-by-receiver",
	                      NULL};
	cr_assert_eq(run_helper(argv, 0), 0);
	close(child);
	expect_reply(s, "seen-by-receiver");
	close(sv[0]);
	close(sv[1]);
	shmkit_seg_close(s);
}

Test(memfd, received_read_only_stays_read_only)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_MEMFD, 0);
	struct shmkit_seg_info info;
	shmkit_seg_t *s, *r;
	int sv[2];
	void *p;
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(shmkit_seg_create(&s, "passed", PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_send(sv[0], s), 0);
	cr_assert_eq(shmkit_seg_recv(sv[1], &r, SHMKIT_SEG_RDONLY), 0);
	cr_assert_eq(shmkit_seg_stat(r, &info), 0);
	cr_assert_eq(info.backend, SHMKIT_SEG_MEMFD);
	cr_assert_eq(fcntl(shmkit_seg_fd(r), F_GETFL) & O_ACCMODE, O_RDONLY);
	cr_assert_eq(shmkit_seg_map(r, &(struct shmkit_map_opts){0}, &p), -EACCES);
	assert_read_only_holds(r);
	shmkit_seg_close(r);
	shmkit_seg_close(s);
	close(sv[0]);
	close(sv[1]);
}

Test(memfd, posix_object_passed_keeps_its_name)
{
	const char *name = tu_name("sk-seg");
	shmkit_seg_t *s, *r;
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	cr_assert_eq(shmkit_seg_create(&s, name, PAGE, NULL), 0);
	cr_assert_eq(shmkit_seg_send(sv[0], s), 0);
	cr_assert_eq(shmkit_seg_recv(sv[1], &r, 0), 0);
	cr_assert_eq(shmkit_seg_remove(r), 0, "the receiver can remove it by name");
	cr_assert_eq(shmkit_seg_remove(s), -ENOENT);
	shmkit_seg_close(r);
	shmkit_seg_close(s);
	close(sv[0]);
	close(sv[1]);
}

/* ---- fixed addresses ---- */

static void assert_fixed_refuses_overlap(shmkit_seg_t *s)
{
	struct shmkit_map_opts o = {.flags = SHMKIT_MAP_FIXED, .length = PAGE};
	void *p, *q;
	o.addr = free_range(4 * PAGE);
	cr_assert_not_null(o.addr);
	cr_assert_eq(shmkit_seg_map(s, &o, &p), 0);
	cr_assert_eq(p, o.addr, "exactly where asked");
	cr_assert_eq(shmkit_seg_map(s, &o, &q), -EEXIST);
	*(volatile char *)p = 1; /* the first mapping is untouched */
	cr_assert_eq(shmkit_seg_unmap(s, p, PAGE), 0);
	/* An anonymous mapping in the way counts too. */
	void *anon = mmap(o.addr, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	cr_assert_eq(anon, o.addr);
	cr_assert_eq(shmkit_seg_map(s, &o, &q), -EEXIST);
	munmap(anon, PAGE);
}

Test(fixed, posix_overlap_refused)
{
	on_new(SHMKIT_SEG_POSIX, assert_fixed_refuses_overlap);
}

Test(fixed, memfd_overlap_refused)
{
	on_new(SHMKIT_SEG_MEMFD, assert_fixed_refuses_overlap);
}

Test(fixed, sysv_overlap_refused)
{
	on_new(SHMKIT_SEG_SYSV, assert_fixed_refuses_overlap);
}
Test(map, populate_lock_exec)
{
	struct shmkit_map_opts o = {.flags = SHMKIT_MAP_POPULATE | SHMKIT_MAP_LOCK};
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_MEMFD, 0700);
	unsigned char vec[4];
	shmkit_seg_t *s;
	char *p;
	cr_assert_eq(shmkit_seg_create(&s, NULL, 4 * PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_map(s, &o, (void **)&p), 0);
	cr_assert_eq(mincore(p, 4 * PAGE, vec), 0);
	for (int i = 0; i < 4; i++)
		cr_assert(vec[i] & 1, "page %d resident", i);
	p[4 * PAGE - 1] = 1;
	shmkit_seg_unmap(s, p, 4 * PAGE);
	o.flags = SHMKIT_MAP_EXEC | SHMKIT_MAP_RDONLY;
	cr_assert_eq(shmkit_seg_map(s, &o, (void **)&p), 0);
	shmkit_seg_unmap(s, p, 4 * PAGE);
	shmkit_seg_close(s);
}

/*
 * In a private mount namespace with a 64 KiB tmpfs over /dev/shm: a 1 MiB object can be
 * created (files are sparse), but populating it fails with -ENOSPC now, where touching it
 * without populate would be a SIGBUS later.
 */
static int full_tmpfs_in_namespace(void)
{
	struct shmkit_map_opts o = {.flags = SHMKIT_MAP_POPULATE};
	shmkit_seg_t *s;
	char *p;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", "/dev/shm", "tmpfs", 0, "size=64k"))
		return 77; /* not allowed here */
	if (shmkit_seg_create(&s, "full", 1 << 20, NULL))
		return 1;
	if (shmkit_seg_map(s, &o, (void **)&p) != -ENOSPC)
		return 2;
	if (shmkit_seg_map(s, NULL, (void **)&p))
		return 3;
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		memset(p, 1, 1 << 20);
		_exit(0);
	}
	return tu_wait_timeout(pid, HELPER_MS) == 128 + SIGBUS ? 0 : 4;
}

Test(map, populate_fails_fast_where_a_touch_would_be_sigbus)
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(full_tmpfs_in_namespace());
	int st = tu_wait_timeout(pid, HELPER_MS);
	cr_assert(st == 0 || st == 77, "status %d", st);
}

Test(map, sysv_populate_and_lock)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_SYSV, 0600);
	struct shmkit_map_opts o = {.flags = SHMKIT_MAP_POPULATE | SHMKIT_MAP_LOCK};
	unsigned char vec[2];
	shmkit_seg_t *s;
	void *p;
	cr_assert_eq(shmkit_seg_create(&s, NULL, 2 * PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_map(s, &o, &p), 0);
	cr_assert_eq(mincore(p, 2 * PAGE, vec), 0);
	cr_assert(vec[0] & vec[1] & 1, "resident");
	cr_assert_eq(shmkit_seg_unmap(s, p, 0), 0);
	cr_assert_eq(shmkit_seg_remove(s), 0);
	shmkit_seg_close(s);
}

/* ---- huge pages ---- */

Test(hugetlb, works_or_says_clearly_why_not)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_HUGETLB, 0);
	struct shmkit_map_opts o = {.flags = SHMKIT_MAP_POPULATE};
	struct shmkit_seg_info info;
	shmkit_seg_t *s;
	char *p;
	int err = shmkit_seg_create(&s, "huge", 1, &c);
	if (err) {
		/* No huge pages on this system: a clear error now, not a SIGBUS later. */
		cr_assert(err == -ENOMEM || err == -EOPNOTSUPP, "got %d", err);
		cr_assert_null(s);
		return;
	}
	cr_assert_eq(shmkit_seg_stat(s, &info), 0);
	cr_assert_geq(info.huge_page_size, 2 * 1024 * 1024);
	cr_assert_eq(info.size, info.huge_page_size);
	cr_assert_eq(shmkit_seg_map(s, &o, (void **)&p), 0);
	p[info.size - 1] = 7;
	cr_assert_eq(shmkit_seg_unmap(s, p, PAGE), 0, "unmap rounds up to the huge page");
	shmkit_seg_close(s);
}

Test(hugetlb, unsupported_or_bad_page_sizes)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_HUGETLB, 0);
	shmkit_seg_t *s;
	c.huge_page_size = 3 << 20;
	cr_assert_eq(shmkit_seg_create(&s, NULL, 1, &c), -EINVAL, "not a power of two");
	c.huge_page_size = PAGE;
	cr_assert_eq(shmkit_seg_create(&s, NULL, 1, &c), -EINVAL, "not larger than a page");
	c.huge_page_size = 1ull << 40;
	cr_assert_eq(shmkit_seg_create(&s, NULL, 1, &c), -EOPNOTSUPP, "no such pool");
	c.huge_page_size = 1u << 30;
	int err = shmkit_seg_create(&s, NULL, 1, &c);
	cr_assert(err == 0 || err == -ENOMEM || err == -EOPNOTSUPP, "got %d", err);
	if (!err)
		shmkit_seg_close(s);
}

/* In a private mount namespace: mount hugetlbfs on dir and use it as the fallback does. */
static int hugetlbfs_fallback_in(const char *dir)
{
	struct statfs sf;
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("none", dir, "hugetlbfs", 0, "pagesize=2M"))
		return 77; /* not allowed here */
	if (sk_hugetlbfs_tmpfile(1ull << 30) != -EOPNOTSUPP)
		return 1; /* only a 2M mount exists */
	int fd = sk_hugetlbfs_tmpfile(2u << 20);
	if (fd < 0 || fstatfs(fd, &sf) || sf.f_bsize != 2u << 20)
		return 2;
	if (ftruncate(fd, 2u << 20))
		return 3;
	int err = sk_seg_huge_reserve(fd, 0, 2u << 20);
	return err == 0 || err == -ENOMEM ? 0 : 4;
}

Test(hugetlb, hugetlbfs_mount_fallback)
{
	char dir[] = "/tmp/sk-hugetlbfs-XXXXXX";
	cr_assert_eq(sk_hugetlbfs_tmpfile(1ull << 40), -EOPNOTSUPP);
	cr_assert_not_null(mkdtemp(dir));
	pid_t pid = fork();
	if (pid == 0)
		_exit(hugetlbfs_fallback_in(dir));
	int st = tu_wait_timeout(pid, HELPER_MS);
	rmdir(dir);
	cr_assert(st == 0 || st == 77, "status %d", st);
}

/* ---- kernel SysV passthrough ---- */

static key_t test_key(void)
{
	return (key_t)(0x5e900000 | ((unsigned)getpid() & 0xffff) << 4 | tu_rand(16));
}

Test(sysv, private_segment_across_exec_then_removed)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_SYSV, 0600);
	struct shmkit_seg_info info;
	struct shmid_ds ds;
	char id[16];
	shmkit_seg_t *s;
	cr_assert_eq(shmkit_seg_create(&s, "ignored", 1000, &c), 0);
	cr_assert_eq(shmkit_seg_stat(s, &info), 0);
	cr_assert_eq(info.backend, SHMKIT_SEG_SYSV);
	cr_assert_eq(info.size, 1000, "the kernel keeps the size asked for");
	cr_assert_eq(info.mode, 0600);
	cr_assert_eq(shmkit_seg_fd(s), -EBADF);
	say(s, "sysv-hello");
	snprintf(id, sizeof(id), "%d", info.sysv_id);
	const char *argv[] = {NULL, "rw", "sysv", id, "sysv-hello", "sysv-reply", NULL};
	cr_assert_eq(run_helper(argv, 0), 0);
	expect_reply(s, "sysv-reply");
	const char *no[] = {NULL, "ro", "sysv", id, "sysv-hello", NULL};
	cr_assert_eq(run_helper(no, NOBODY), EACCES);
	cr_assert_eq(shmkit_seg_remove(s), 0);
	cr_assert_eq(shmctl(info.sysv_id, IPC_STAT, &ds), -1, "gone from the kernel table");
	cr_assert_eq(errno, EINVAL);
	shmkit_seg_close(s);
}

Test(sysv, keyed_excl_open_and_unlink_by_id)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_SYSV, 0640);
	struct shmkit_seg_info a_info, b_info;
	shmkit_seg_t *a, *b, *o;
	char id[16];
	c.sysv_key = test_key();
	cr_assert_eq(shmkit_seg_create(&a, NULL, 2 * PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_create(&b, NULL, PAGE, &c), -EEXIST);
	c.flags = SHMKIT_SEG_OPEN;
	cr_assert_eq(shmkit_seg_create(&b, NULL, 3 * PAGE, &c), -EINVAL, "larger than it is");
	cr_assert_eq(shmkit_seg_create(&b, NULL, PAGE, &c), 0);
	shmkit_seg_stat(a, &a_info);
	shmkit_seg_stat(b, &b_info);
	cr_assert_eq(a_info.sysv_id, b_info.sysv_id);
	cr_assert_eq(shmkit_seg_resize(a, PAGE), -EOPNOTSUPP);
	snprintf(id, sizeof(id), "%d", a_info.sysv_id);
	cr_assert_eq(shmkit_seg_open(&o, SHMKIT_SEG_SYSV, id, SHMKIT_SEG_RDONLY), 0);
	void *p;
	cr_assert_eq(shmkit_seg_map(o, NULL, &p), 0);
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_SYSV, id), 0);
	cr_assert_eq(shmkit_seg_unmap(o, p, 0), 0, "sysv detaches by address");
	shmkit_seg_close(o);
	cr_assert_eq(shmkit_seg_unlink(SHMKIT_SEG_SYSV, id), -EINVAL, "gone with the last detach");
	cr_assert_eq(shmkit_seg_open(&o, SHMKIT_SEG_SYSV, id, 0), -EINVAL);
	shmkit_seg_close(a);
	shmkit_seg_close(b);
}

Test(sysv, owner_given_at_creation)
{
	struct shmkit_seg_config c = seg_cfg(SHMKIT_SEG_SYSV, 0600);
	struct shmkit_seg_info info;
	shmkit_seg_t *s;
	char id[16];
	c.uid = c.gid = NOBODY;
	cr_assert_eq(shmkit_seg_create(&s, NULL, PAGE, &c), 0);
	cr_assert_eq(shmkit_seg_stat(s, &info), 0);
	cr_assert_eq(info.uid, NOBODY);
	say(s, "yours");
	snprintf(id, sizeof(id), "%d", info.sysv_id);
	const char *argv[] = {NULL, "rw", "sysv", id, "yours", "mine", NULL};
	cr_assert_eq(run_helper(argv, NOBODY), 0);
	expect_reply(s, "mine");
	shmkit_seg_remove(s);
	shmkit_seg_close(s);
}
