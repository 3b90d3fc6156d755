/* SPDX-License-Identifier: MIT */
/* Description: shmkit_shmget/shmat/shmdt/shmctl: every errno path and the field-update table. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <grp.h>
#include <sys/resource.h>

#include "sysvtest.h"

TestSuite(sysv, .init = ns_fresh, .fini = ns_gone, .timeout = 60);

#define KEY 0x5a5a0001

static struct shmid_ds st(int id)
{
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(id, IPC_STAT, &ds), 0, "IPC_STAT %d: %s", id, strerror(errno));
	return ds;
}

#define ERR(call, e)                                                                               \
	do {                                                                                       \
		errno = 0;                                                                         \
		cr_assert_eq((long)(call), -1L, #call " should fail");                             \
		cr_assert_eq(errno, e, #call ": errno %s, want %s", strerrorname_np(errno),        \
		             strerrorname_np(e));                                                  \
	} while (0)

/* ---- shmget ---- */

Test(sysv, shmget_key_errors_in_kernel_order)
{
	ERR(shmkit_shmget(KEY, 100, 0600), ENOENT);
	int id = shmkit_shmget(KEY, 8192, IPC_CREAT | 0600);
	cr_assert_geq(id, 0);
	cr_assert_eq(shmkit_shmget(KEY, 100, 0), id, "a smaller size on an existing key is fine");
	cr_assert_eq(shmkit_shmget(KEY, 0, 0), id, "size 0 on an existing key is fine");
	cr_assert_eq(shmkit_shmget(KEY, 8192, IPC_CREAT | 0600), id);
	/* EEXIST beats EINVAL beats EACCES */
	ERR(shmkit_shmget(KEY, 1 << 20, IPC_CREAT | IPC_EXCL | 0777), EEXIST);
	ERR(shmkit_shmget(KEY, 8193, 0), EINVAL);
	ns_check();
}

static int get_key_as_nobody(void *arg)
{
	int flags = *(int *)arg;
	return shmkit_shmget(KEY, 10, flags) < 0 ? errno : 0;
}

Test(sysv, shmget_permissions_follow_ipcperms)
{
	cr_assert_geq(shmkit_shmget(KEY, 4096, IPC_CREAT | 0604), 0);
	int want_rw = 0600, want_r = 0400, none = 0;
	cr_assert_eq(as_nobody(get_key_as_nobody, &want_rw), EACCES);
	cr_assert_eq(as_nobody(get_key_as_nobody, &want_r), 0, "other has r");
	cr_assert_eq(as_nobody(get_key_as_nobody, &none), 0, "flag 0 asks for nothing");
}

Test(sysv, shmget_new_segment_sizes_and_limits)
{
	ERR(shmkit_shmget(IPC_PRIVATE, 0, 0600), EINVAL);
	struct shmkit_ns_limits l = {.shmmax = 10000, .shmall = 5, .shmmni = 3, .rmid_forced = -1};
	cr_assert_eq(shmkit_ns_set_limits(test_ns, &l), 0);
	ERR(shmkit_shmget(IPC_PRIVATE, 10001, 0600), EINVAL);
	int a = shmkit_shmget(IPC_PRIVATE, 10000, 0600); /* 3 pages */
	cr_assert_geq(a, 0);
	ERR(shmkit_shmget(IPC_PRIVATE, 9000, 0600), ENOSPC); /* shmall: 3 + 3 > 5 */
	cr_assert_geq(shmkit_shmget(IPC_PRIVATE, 4096, 0600), 0);
	cr_assert_geq(shmkit_shmget(IPC_PRIVATE, 1, 0600), 0);
	ERR(shmkit_shmget(IPC_PRIVATE, 1, 0600), ENOSPC); /* shmall full: 5 pages */
	l.shmall = 0;
	cr_assert_eq(shmkit_ns_set_limits(test_ns, &l), 0);
	ERR(shmkit_shmget(IPC_PRIVATE, 1, 0600), ENOSPC);     /* shmmni: 3 segments */
	ERR(shmkit_shmget(IPC_PRIVATE, 20000, 0600), EINVAL); /* size beats a full table */
	ns_check();
}

Test(sysv, shmget_private_always_creates)
{
	int a = shmkit_shmget(IPC_PRIVATE, 100, IPC_CREAT | IPC_EXCL | 0600);
	int b = shmkit_shmget(IPC_PRIVATE, 100, IPC_CREAT | IPC_EXCL | 0600);
	cr_assert(a >= 0 && b >= 0 && a != b);
	struct shmid_ds ds = st(a);
	cr_assert_eq(ds.shm_perm.__key, IPC_PRIVATE);
}

Test(sysv, new_segment_fields_and_zero_contents)
{
	time_t before = time(NULL);
	int id = shmkit_shmget(KEY, 5000, IPC_CREAT | 0640 | SHM_NORESERVE);
	cr_assert_geq(id, 0);
	struct shmid_ds ds = st(id);
	cr_assert_eq(ds.shm_perm.__key, KEY);
	cr_assert_eq(ds.shm_perm.mode, 0640, "only the permission bits are stored");
	cr_assert_eq(ds.shm_perm.uid, geteuid());
	cr_assert_eq(ds.shm_perm.cuid, geteuid());
	cr_assert_eq(ds.shm_perm.gid, getegid());
	cr_assert_eq(ds.shm_perm.cgid, getegid());
	cr_assert_eq(ds.shm_segsz, 5000, "segsz keeps the requested size");
	cr_assert_eq(ds.shm_cpid, getpid());
	cr_assert_eq(ds.shm_lpid, 0);
	cr_assert_eq(ds.shm_nattch, 0);
	cr_assert_eq(ds.shm_atime, 0);
	cr_assert_eq(ds.shm_dtime, 0);
	cr_assert(ds.shm_ctime >= before && ds.shm_ctime <= time(NULL));
	unsigned char *p = shmkit_shmat(id, NULL, 0);
	cr_assert_neq(p, (void *)-1);
	for (int i = 0; i < 8192; i++) /* the mapping is page-rounded: no SIGBUS in the last page */
		cr_assert_eq(p[i], 0);
	cr_assert_eq(shmkit_shmdt(p), 0);
}

/* ---- ids ---- */

Test(sysv, ids_follow_the_kernel_cyclic_scheme)
{
	int seq0 = -1, first = -1;
	for (int i = 0; i < 70; i++) {
		int id = shmkit_shmget(IPC_PRIVATE, 1, 0600);
		cr_assert_geq(id, 0);
		if (i == 0)
			seq0 = id >> 15, first = id;
		/* a random first sequence number, then the kernel's scheme: indexes 0..63, then
		 * the next sequence number from index 0 again (wrapping at 65535) */
		int seq = i < 64 ? seq0 : (seq0 + 1) % 65535;
		int want = seq << 15 | (i % 64);
		cr_assert_eq(id, want, "creation %d got id %d", i, id);
		cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
		ERR(shmkit_shmctl(id, IPC_STAT, &(struct shmid_ds){0}), EINVAL);
	}
	ERR(shmkit_shmat(first, NULL, 0), EINVAL); /* stale id: never silently reused */
}

Test(sysv, namespaces_start_at_a_random_sequence_number)
{
	/* Two fresh namespaces' first ids differ (by chance 1 in 65535): an id passed to the
	 * kernel by mistake is unlikely to name a kernel segment. */
	int a = shmkit_shmget(IPC_PRIVATE, 1, 0600), b;
	cr_assert_geq(a, 0);
	cr_assert_eq(shmkit_shmctl(a, IPC_RMID, NULL), 0);
	int tries = 0;
	do {
		shmkit_ns_use(NULL);
		ns_gone();
		ns_fresh();
		b = shmkit_shmget(IPC_PRIVATE, 1, 0600);
		cr_assert_geq(b, 0);
		cr_assert_eq(shmkit_shmctl(b, IPC_RMID, NULL), 0);
	} while (a == b && ++tries < 3);
	cr_assert_neq(a, b);
	cr_assert_eq(a & 0x7fff, 0);
	cr_assert_eq(b & 0x7fff, 0);
}

Test(sysv, shm_next_id_chooses_the_next_id)
{
	int32_t v;
	cr_assert_eq(shmkit_ns_get_next_id(test_ns, &v), 0);
	cr_assert_eq(v, -1);
	int want = (77 << 15) | 5;
	cr_assert_eq(shmkit_ns_set_next_id(test_ns, want), 0);
	cr_assert_eq(shmkit_ns_get_next_id(test_ns, &v), 0);
	cr_assert_eq(v, want);
	int id = shmkit_shmget(IPC_PRIVATE, 1, 0600);
	cr_assert_eq(id, want, "got %d", id);
	cr_assert_eq(shmkit_ns_get_next_id(test_ns, &v), 0);
	cr_assert_eq(v, -1, "used once");
	/* index taken: the next free index above it, with the requested sequence number */
	cr_assert_eq(shmkit_ns_set_next_id(test_ns, want), 0);
	int id2 = shmkit_shmget(IPC_PRIVATE, 1, 0600);
	cr_assert_eq(id2, (77 << 15) | 6, "got %d", id2);
	/* a failed creation before the id is chosen does not use it up (the kernel's order) */
	cr_assert_eq(shmkit_ns_set_next_id(test_ns, (3 << 15) | 9), 0);
	ERR(shmkit_shmget(IPC_PRIVATE, 0, 0600), EINVAL);
	cr_assert_eq(shmkit_ns_get_next_id(test_ns, &v), 0);
	cr_assert_eq(v, (3 << 15) | 9);
	cr_assert_eq(shmkit_ns_set_next_id(test_ns, -1), 0);
	cr_assert_eq(shmkit_ns_set_next_id(test_ns, -2), -EINVAL);
	shmkit_shmctl(id, IPC_RMID, NULL);
	shmkit_shmctl(id2, IPC_RMID, NULL);
}

/* ---- shmat / shmdt ---- */

Test(sysv, shmat_address_rules)
{
	int id = shmkit_shmget(IPC_PRIVATE, 8192, 0600);
	ERR(shmkit_shmat(-1, NULL, 0), EINVAL);
	ERR(shmkit_shmat(id + 1, NULL, 0), EINVAL);
	ERR(shmkit_shmat(id, NULL, SHM_REMAP), EINVAL);
	/* a free, page-aligned address */
	char *hole = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert_neq(hole, MAP_FAILED);
	munmap(hole, 4 * 4096);
	ERR(shmkit_shmat(id, hole + 1, 0), EINVAL);
	char *p = shmkit_shmat(id, hole + 1, SHM_RND);
	cr_assert_eq(p, hole, "SHM_RND rounds down to SHMLBA");
	ERR(shmkit_shmat(id, hole + 4096, 0), EINVAL); /* overlaps the attachment */
	char *q = shmkit_shmat(id, hole + 4096, SHM_REMAP);
	cr_assert_eq(q, hole + 4096, "SHM_REMAP replaces");
	ERR(shmkit_shmdt(p + 1), EINVAL);
	ERR(shmkit_shmdt(p + 4096 * 8), EINVAL);
	cr_assert_eq(shmkit_shmdt(q), 0);
	cr_assert_eq(shmkit_shmdt(p), 0, "the first attachment's start is still its own");
	ERR(shmkit_shmdt(p), EINVAL);
	ns_check();
}

Test(sysv, several_attachments_share_data)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	char *a = shmkit_shmat(id, NULL, 0), *b = shmkit_shmat(id, NULL, SHM_RDONLY);
	cr_assert(a != (void *)-1 && b != (void *)-1 && a != b);
	strcpy(a, "shared");
	cr_assert_str_eq(b, "shared");
	cr_assert_eq(st(id).shm_nattch, 2);
	cr_assert_eq(shmkit_shmdt(a), 0);
	cr_assert_eq(shmkit_shmdt(b), 0);
	cr_assert_eq(st(id).shm_nattch, 0);
}

Test(sysv, rdonly_cannot_be_made_writable)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	char *p = shmkit_shmat(id, NULL, SHM_RDONLY);
	cr_assert_neq(p, (void *)-1);
	cr_assert_eq(mprotect(p, 4096, PROT_READ | PROT_WRITE), -1);
	cr_assert_eq(errno, EACCES);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* a sanitizer's handler would turn it into an abort */
		p[0] = 1;
		_exit(0);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 128 + SIGSEGV);
	cr_assert_eq(shmkit_shmdt(p), 0);
}

static int attach_as_nobody(void *arg)
{
	int *a = arg;
	void *p = shmkit_shmat(a[0], NULL, a[1]);
	return p == (void *)-1 ? errno : 0;
}

Test(sysv, shmat_permissions)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0604);
	int rw[2] = {id, 0}, ro[2] = {id, SHM_RDONLY}, ex[2] = {id, SHM_RDONLY | SHM_EXEC};
	cr_assert_eq(as_nobody(attach_as_nobody, rw), EACCES);
	cr_assert_eq(as_nobody(attach_as_nobody, ro), 0);
	cr_assert_eq(as_nobody(attach_as_nobody, ex), EACCES, "SHM_EXEC needs x");
	/* Root bypasses ipcperms (CAP_IPC_OWNER), even on mode 0000. */
	int z = shmkit_shmget(IPC_PRIVATE, 4096, 0);
	void *p = shmkit_shmat(z, NULL, 0);
	cr_assert_neq(p, (void *)-1);
	shmkit_shmdt(p);
}

static int open_backing_as_nobody(void *arg)
{
	FILE *f = fopen((const char *)arg, "r");
	if (f)
		fclose(f);
	return f ? 0 : errno;
}

Test(sysv, kernel_enforces_data_access)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	char path[256];
	backing_path(path, sizeof(path), geteuid(), id);
	cr_assert_eq(as_nobody(open_backing_as_nobody, path), EACCES,
	             "the backing object itself refuses a non-member of the segment");
}

/* ---- shmctl ---- */

Test(sysv, shmctl_errors)
{
	struct shmid_ds ds;
	ERR(shmkit_shmctl(0, -1, &ds), EINVAL);
	ERR(shmkit_shmctl(-1, IPC_INFO, &ds), EINVAL);
	ERR(shmkit_shmctl(0, 4, &ds), EINVAL);
	ERR(shmkit_shmctl(0, 100, &ds), EINVAL);
	ERR(shmkit_shmctl(12345, IPC_STAT, &ds), EINVAL);
	ERR(shmkit_shmctl(12345, IPC_RMID, NULL), EINVAL);
	int id = shmkit_shmget(IPC_PRIVATE, 100, 0600);
	ERR(shmkit_shmctl(id, IPC_STAT, NULL), EFAULT);
	ERR(shmkit_shmctl(id, IPC_SET, NULL), EFAULT);
	ERR(shmkit_shmctl(id & SK_IDX_MASK, SHM_STAT, NULL), EFAULT);
	ERR(shmkit_shmctl(5000, SHM_STAT, &ds), EINVAL); /* an unused index */
}

static int ctl_as_nobody(void *arg)
{
	int *a = arg;
	struct shmid_ds ds = {0};
	if (a[1] == IPC_SET)
		shmkit_shmctl(a[0], IPC_STAT, &ds);
	return shmkit_shmctl(a[0], a[1], &ds) < 0 ? errno : 0;
}

Test(sysv, owner_operations_need_the_owner)
{
	int id = shmkit_shmget(IPC_PRIVATE, 100, 0644);
	int rmid[2] = {id, IPC_RMID}, set[2] = {id, IPC_SET}, stat_[2] = {id, IPC_STAT},
	    lock[2] = {id, SHM_LOCK};
	cr_assert_eq(as_nobody(ctl_as_nobody, rmid), EPERM);
	cr_assert_eq(as_nobody(ctl_as_nobody, set), EPERM);
	cr_assert_eq(as_nobody(ctl_as_nobody, lock), EPERM);
	cr_assert_eq(as_nobody(ctl_as_nobody, stat_), 0);
	struct shmid_ds ds = st(id);
	ds.shm_perm.mode = 0600;
	cr_assert_eq(shmkit_shmctl(id, IPC_SET, &ds), 0);
	cr_assert_eq(as_nobody(ctl_as_nobody, stat_), EACCES);
	int idx = id & SK_IDX_MASK;
	int sstat[2] = {idx, SHM_STAT}, sany[2] = {idx, SHM_STAT_ANY};
	cr_assert_eq(as_nobody(ctl_as_nobody, sstat), EACCES);
	cr_assert_eq(as_nobody(ctl_as_nobody, sany), 0, "SHM_STAT_ANY checks no permission");
	/* Give it to nobody: now nobody is the owner and may remove it. */
	ds = st(id);
	ds.shm_perm.uid = NOBODY;
	cr_assert_eq(shmkit_shmctl(id, IPC_SET, &ds), 0);
	cr_assert_eq(as_nobody(ctl_as_nobody, rmid), 0);
	ERR(shmkit_shmctl(id, IPC_STAT, &ds), EINVAL);
}

Test(sysv, info_and_stat_by_index)
{
	struct shminfo info;
	struct shm_info sinfo;
	cr_assert_eq(shmkit_shmctl(0, IPC_INFO, (struct shmid_ds *)&info), 0, "no segment: 0");
	cr_assert_eq(info.shmmin, 1);
	cr_assert_eq(info.shmseg, info.shmmni);
	int a = shmkit_shmget(IPC_PRIVATE, 5000, 0600);
	int b = shmkit_shmget(KEY, 100, IPC_CREAT | 0600);
	cr_assert_eq(shmkit_shmctl(0, IPC_INFO, (struct shmid_ds *)&info), b & SK_IDX_MASK);
	cr_assert_eq(shmkit_shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo), b & SK_IDX_MASK);
	cr_assert_eq(sinfo.used_ids, 2);
	cr_assert_eq(sinfo.shm_tot, 3, "pages: 2 + 1");
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(a & SK_IDX_MASK, SHM_STAT, &ds), a, "SHM_STAT returns the id");
	cr_assert_eq(shmkit_shmctl(b & SK_IDX_MASK, SHM_STAT_ANY, &ds), b);
	cr_assert_eq(ds.shm_perm.__key, KEY);
	cr_assert_eq(shmkit_shmctl(b | (5 << 15), SHM_STAT_ANY, &ds), b,
	             "a full id finds its index");
	cr_assert_eq(sinfo.shm_rss, 0, "nothing touched yet");
	char *p = shmkit_shmat(a, NULL, 0);
	p[0] = p[4096] = 1;
	cr_assert_eq(shmkit_shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo), b & SK_IDX_MASK);
	cr_assert_eq(sinfo.shm_rss, 2, "two pages touched");
	shmkit_shmdt(p);
}

/* ---- the field-update table ---- */

Test(sysv, field_updates_attach_detach_set_rmid_lock)
{
	int id = shmkit_shmget(KEY, 100, IPC_CREAT | 0600);
	struct shmid_ds d0 = st(id);
	sleep(1);
	char *p = shmkit_shmat(id, NULL, 0);
	struct shmid_ds d1 = st(id);
	cr_assert(d1.shm_atime > d0.shm_ctime && d1.shm_dtime == 0);
	cr_assert_eq(d1.shm_lpid, getpid());
	cr_assert_eq(d1.shm_nattch, 1);
	cr_assert_eq(d1.shm_ctime, d0.shm_ctime);
	cr_assert_eq(shmkit_shmget(KEY, 100, 0), id);
	struct shmid_ds d1b = st(id); /* shmget of an existing key changes nothing */
	cr_assert_eq(memcmp(&d1b, &d1, sizeof(d1)), 0);
	sleep(1);
	cr_assert_eq(shmkit_shmdt(p), 0);
	struct shmid_ds d2 = st(id);
	cr_assert(d2.shm_dtime > d1.shm_atime && d2.shm_nattch == 0 && d2.shm_lpid == getpid());
	cr_assert_eq(d2.shm_atime, d1.shm_atime);
	sleep(1);
	d2.shm_perm.mode = 01640; /* only the low 9 bits count */
	d2.shm_perm.gid = 100;
	cr_assert_eq(shmkit_shmctl(id, IPC_SET, &d2), 0);
	struct shmid_ds d3 = st(id);
	cr_assert_eq(d3.shm_perm.mode, 0640);
	cr_assert_eq(d3.shm_perm.gid, 100);
	cr_assert_eq(d3.shm_perm.cgid, getegid());
	cr_assert(d3.shm_ctime > d2.shm_dtime, "IPC_SET sets ctime");
	cr_assert_eq(shmkit_shmctl(id, SHM_LOCK, NULL), 0);
	struct shmid_ds d4 = st(id);
	cr_assert_eq(d4.shm_perm.mode, 0640 | SHM_LOCKED);
	cr_assert_eq(d4.shm_ctime, d3.shm_ctime, "SHM_LOCK leaves ctime");
	cr_assert_eq(shmkit_shmctl(id, SHM_UNLOCK, NULL), 0);
	cr_assert_eq(shmkit_shmctl(id, SHM_UNLOCK, NULL), 0, "unlocking twice is fine");
	cr_assert_eq(st(id).shm_perm.mode, 0640);
	p = shmkit_shmat(id, NULL, 0);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
	struct shmid_ds d5 = st(id);
	cr_assert_eq(d5.shm_perm.mode, 0640 | SHM_DEST);
	cr_assert_eq(d5.shm_perm.__key, IPC_PRIVATE, "the key becomes private");
	cr_assert_eq(d5.shm_ctime, d3.shm_ctime, "RMID leaves ctime");
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0, "repeated RMID is fine");
	ERR(shmkit_shmget(KEY, 100, 0), ENOENT);
	int fresh = shmkit_shmget(KEY, 100, IPC_CREAT | 0600);
	cr_assert(fresh >= 0 && fresh != id);
	char *q = shmkit_shmat(id, NULL, 0);
	cr_assert_neq(q, (void *)-1, "a SHM_DEST segment can still be attached by id");
	cr_assert_eq(st(id).shm_nattch, 2);
	cr_assert_eq(shmkit_shmdt(q), 0);
	cr_assert(backing_exists(id));
	cr_assert_eq(shmkit_shmdt(p), 0);
	cr_assert_not(backing_exists(id), "destroyed at the last detach");
	ERR(shmkit_shmctl(id, IPC_STAT, &d5), EINVAL);
	ns_check();
}

Test(sysv, shm_lock_really_locks_pages)
{
	int id = shmkit_shmget(IPC_PRIVATE, 3 * 4096, 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	cr_assert_eq(shmkit_shmctl(id, SHM_LOCK, NULL), 0);
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long locked = -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld", &locked) == 1)
			break;
	fclose(f);
	cr_assert_geq(locked, 12, "VmLck %ld kB", locked);
	shmkit_shmdt(p);
}

Test(sysv, ftok_matches_libc)
{
	cr_assert_eq(shmkit_ftok("/", 'x'), ftok("/", 'x'));
	cr_assert_eq(shmkit_ftok("/proc/self", 1), ftok("/proc/self", 1));
	ERR(shmkit_ftok("/nonexistent/zzz", 1), ENOENT);
}

Test(sysv, rmid_forced_destroys_at_last_detach)
{
	struct shmkit_ns_limits l = {.rmid_forced = 1};
	cr_assert_eq(shmkit_ns_set_limits(test_ns, &l), 0);
	int id = shmkit_shmget(IPC_PRIVATE, 100, 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	cr_assert_eq(shmkit_shmdt(p), 0);
	ERR(shmkit_shmctl(id, IPC_STAT, &(struct shmid_ds){0}), EINVAL);
}

Test(sysv, namespace_switch_refused_while_attached)
{
	int id = shmkit_shmget(IPC_PRIVATE, 100, 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	cr_assert_eq(shmkit_ns_use("other"), -EBUSY);
	cr_assert_eq(shmkit_ns_use("bad/name"), -EINVAL);
	cr_assert_str_eq(shmkit_ns_current(), test_ns);
	shmkit_shmdt(p);
}

Test(sysv, ipc_set_keeps_kernel_enforcement_in_step)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4097, 0600);
	int ro[2] = {id, SHM_RDONLY}, rw[2] = {id, 0};
	cr_assert_eq(as_nobody(attach_as_nobody, ro), EACCES);
	struct shmid_ds ds = st(id);
	ds.shm_perm.mode = 0640;
	ds.shm_perm.gid = NOBODY; /* a group of which nobody is a member: group bits apply */
	cr_assert_eq(shmkit_shmctl(id, IPC_SET, &ds), 0);
	cr_assert_eq(as_nobody(attach_as_nobody, ro), 0);
	cr_assert_eq(as_nobody(attach_as_nobody, rw), EACCES);
	ds.shm_perm.mode = 0600;
	ds.shm_perm.uid = NOBODY; /* the owner now: owner bits apply to uid and to cuid */
	cr_assert_eq(shmkit_shmctl(id, IPC_SET, &ds), 0);
	cr_assert_eq(as_nobody(attach_as_nobody, rw), 0);
	char path[256];
	backing_path(path, sizeof(path), geteuid(), id);
	ds.shm_perm.mode = 0000;
	cr_assert_eq(shmkit_shmctl(id, IPC_SET, &ds), 0);
	cr_assert_eq(as_nobody(open_backing_as_nobody, path), EACCES,
	             "revoking access reaches the backing object");
}

Test(sysv, destroyed_namespace_is_refused_to_processes_still_in_it)
{
	int id = shmkit_shmget(IPC_PRIVATE, 100, 0600);
	cr_assert_geq(id, 0);
	int pfd[2];
	cr_assert_eq(pipe(pfd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* The child keeps using the registry it has mapped after the parent destroyed it.
		 */
		char c;
		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			_exit(2);
		struct shmid_ds ds;
		_exit(shmkit_shmctl(id, IPC_STAT, &ds) == -1 && errno == EPROTO ? 0 : 1);
	}
	close(pfd[0]);
	cr_assert_eq(shmkit_ns_destroy(test_ns), 0);
	cr_assert_eq(write(pfd[1], "x", 1), 1);
	close(pfd[1]);
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
}

Test(sysv, supplementary_groups_count_for_the_group_bits)
{
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0640);
	struct shmid_ds ds = st(id);
	ds.shm_perm.gid = 4242;
	cr_assert_eq(shmkit_shmctl(id, IPC_SET, &ds), 0);
	int ro[2] = {id, SHM_RDONLY};
	pid_t pid = fork();
	if (pid == 0) {
		/* supplementary group 4242, then uid/gid nobody: group bits (r) apply */
		gid_t g = 4242;
		if (setgroups(1, &g) || setgid(NOBODY) || setuid(NOBODY))
			_exit(100);
		void *p = shmkit_shmat(id, NULL, SHM_RDONLY);
		_exit(p == (void *)-1 ? errno : 0);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0, "a member of the segment's group may read");
	cr_assert_eq(as_nobody(attach_as_nobody, ro), EACCES, "without the group: other bits");
}

Test(sysv, namespace_from_the_environment)
{
	int id = shmkit_shmget(KEY, 100, IPC_CREAT | 0600);
	pid_t pid = fork();
	if (pid == 0) {
		/* A fresh process image would read $SHMKIT_NAMESPACE; emulate with ns_use(NULL). */
		setenv(SHMKIT_NS_ENV, test_ns, 1);
		if (shmkit_ns_use(NULL) != 0)
			_exit(2);
		if (strcmp(shmkit_ns_current(), test_ns))
			_exit(3);
		_exit(shmkit_shmget(KEY, 0, 0) == id ? 0 : 4);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
}

Test(sysv, rmid_forced_destroys_what_a_dead_creator_left_unattached)
{
	struct shmkit_ns_limits l = {.rmid_forced = 1};
	cr_assert_eq(shmkit_ns_set_limits(test_ns, &l), 0);
	int up[2], down[2];
	cr_assert_eq(pipe(up), 0);
	cr_assert_eq(pipe(down), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		int ids[2] = {shmkit_shmget(IPC_PRIVATE, 100, 0600),
		              shmkit_shmget(IPC_PRIVATE, 100, 0600)};
		if (write(up[1], ids, sizeof(ids)) != sizeof(ids) || read(down[0], &c, 1) != 1)
			_exit(1);
		raise(SIGKILL); /* dies without any cleanup, once the parent has attached one */
	}
	int ids[2];
	cr_assert_eq(read(up[0], ids, sizeof(ids)), (ssize_t)sizeof(ids));
	char *p = shmkit_shmat(ids[1], NULL, 0); /* keep one attached */
	cr_assert_neq(p, (void *)-1);
	cr_assert_eq(write(down[1], "x", 1), 1);
	cr_assert_eq(tu_wait_timeout(pid, 10000), 128 + SIGKILL);
	ERR(shmkit_shmctl(ids[0], IPC_STAT, &(struct shmid_ds){0}), EINVAL);
	cr_assert_eq(st(ids[1]).shm_nattch, 1, "an attached one stays");
	cr_assert_eq(shmkit_shmdt(p), 0);
	ERR(shmkit_shmctl(ids[1], IPC_STAT, &(struct shmid_ds){0}), EINVAL);
	close(up[0]);
	close(up[1]);
	close(down[0]);
	close(down[1]);
}
