/* SPDX-License-Identifier: MIT */
/*
 * Description: what a hostile local user tries against the System V model fails. Each test
 * runs in a private mount and IPC namespace with its own /dev/shm; the attacker is a
 * throwaway uid, the victim root or another throwaway uid. The target keeps its owner and
 * contents, the victim gets an error or correct data, and nobody hangs or dies of a signal.
 */
#include <grp.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/xattr.h>

#include "trusttest.h"

#define KEY    0x7a7a0001
#define SECRET "root's secret"

TestSuite(attacks, .init = trust_enter, .timeout = 60);

static int open_errno(const char *path, int flags)
{
	int fd = open(path, flags);
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	return errno;
}

/* ---- the default namespace is its user's alone ---- */

static int outsider(void *arg)
{
	const char *dir = arg;
	char reg[256], obj[256];
	snprintf(reg, sizeof(reg), "%s/reg", dir);
	snprintf(obj, sizeof(obj), "%s/999", dir);
	if (open_errno(reg, O_RDWR) != EACCES || open_errno(reg, O_RDONLY) != EACCES)
		return 1;
	if (open_errno(obj, O_RDWR | O_CREAT | O_EXCL) != EACCES)
		return 2; /* no planting names in it */
	/* The library says the same. */
	if (shmkit_ns_use("default.0") != 0)
		return 3;
	if (shmkit_shmget(KEY, 0, 0) != -1 || errno != EACCES)
		return 4;
	struct shmkit_ns_limits l = {.shmmax = 1, .rmid_forced = 1};
	if (shmkit_ns_set_limits("default.0", &l) != -EACCES)
		return 5;
	if (shmkit_ns_destroy("default.0") != -EACCES)
		return 6;
	/* Its own default namespace is another one, its own. */
	if (shmkit_ns_use(NULL) != 0)
		return 7;
	int id = shmkit_shmget(KEY, 4096, IPC_CREAT | IPC_EXCL | 0666);
	if (id < 0 || shmkit_shmctl(id, IPC_RMID, NULL) < 0)
		return 8;
	return 0;
}

Test(attacks, the_default_namespace_is_closed_to_other_users)
{
	int id = shmkit_shmget(KEY, 4096, IPC_CREAT | 0666);
	cr_assert_geq(id, 0);
	char *p = shmkit_shmat(id, NULL, 0);
	cr_assert_neq(p, (void *)-1);
	strcpy(p, SECRET);
	cr_assert_eq(shmkit_shmdt(p), 0); /* the attacker's process inherits nothing */
	struct stat st;
	cr_assert_eq(stat("/dev/shm/shmkit.default.0", &st), 0);
	cr_assert_eq(st.st_uid, 0);
	cr_assert_eq(st.st_mode & 0777, 0700);
	int r = as_user(ATTACKER, outsider, "/dev/shm/shmkit.default.0");
	cr_assert_eq(r, 0, "step %d", r);
	p = shmkit_shmat(id, NULL, 0);
	cr_assert_neq(p, (void *)-1);
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(id, IPC_STAT, &ds), 0);
	cr_assert_eq(ds.shm_perm.uid, 0);
	cr_assert_eq(ds.shm_nattch, 1);
	cr_assert_str_eq(p, SECRET);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
	cr_assert_eq(shmkit_shmdt(p), 0);
}

/* ---- a squatted name is refused, and the squatter named ---- */

static int squat(void *arg)
{
	const char *how = arg;
	const char *path = "/dev/shm/shmkit.default.60001";
	if (!strcmp(how, "dir"))
		return mkdir(path, 0777) || chmod(path, 0777) ? errno : 0;
	if (!strcmp(how, "link"))
		return mkdir("/dev/shm/mine", 0777) || symlink("/dev/shm/mine", path) ? errno : 0;
	int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0666);
	return fd < 0 ? errno : close(fd);
}

static int victim_meets_squatter(void *arg)
{
	(void)arg;
	struct shmkit_ns_info in;
	if (shmkit_shmget(KEY, 4096, IPC_CREAT | 0600) != -1 || errno != EACCES)
		return 1;
	if (shmkit_ns_info(SHMKIT_NS_DEFAULT, &in) != 0 || in.error != -EACCES)
		return 2;
	if (!(in.flags & SHMKIT_NS_SQUATTED) || in.owner != ATTACKER)
		return 3;
	if (strcmp(in.name, "default.60001"))
		return 4;
	return 0;
}

Test(attacks, a_squatted_default_namespace_is_refused_and_the_squatter_named)
{
	const char *ways[] = {"dir", "link", "file"};
	for (size_t i = 0; i < SK_ARRAY_SIZE(ways); i++) {
		cr_assert_eq(as_user(ATTACKER, squat, (void *)ways[i]), 0, "%s", ways[i]);
		cr_assert_eq(as_user(VICTIM, victim_meets_squatter, NULL), 0, "squatted as a %s",
		             ways[i]);
		/* The victim wrote nothing into what the squatter made. */
		if (!strcmp(ways[i], "dir")) {
			cr_assert_eq(rmdir("/dev/shm/shmkit.default.60001"), 0, "not empty");
		} else {
			cr_assert_eq(unlink("/dev/shm/shmkit.default.60001"), 0);
			if (!strcmp(ways[i], "link"))
				cr_assert_eq(rmdir("/dev/shm/mine"), 0, "not empty");
		}
	}
}

/* ---- a shared namespace: a member lies, but never with another process's authority ---- */

#define SHARED "pub"

static void shared_ns(void)
{
	cr_assert_eq(shmkit_ns_create(SHARED, 0666), 0);
	cr_assert_eq(shmkit_ns_use(SHARED), 0);
	struct stat st;
	cr_assert_eq(stat("/dev/shm/shmkit." SHARED, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 01777, "shared: sticky, so members keep their objects");
}

static void obj_path(char *buf, size_t len, uid_t creator, int id)
{
	snprintf(buf, len, "/dev/shm/shmkit." SHARED "/u%u/%d", (unsigned)creator, id);
}

struct forged_slot {
	int32_t id;
	int replace; /* forge the victim's own slot rather than a free one */
	uint32_t cuid, uid, mode;
	uint64_t segsz;
};

static int forge_slot(void *arg)
{
	const struct forged_slot *w = arg;
	struct forge f = {0};
	if (forge_map(SHARED, &f))
		return 1;
	uint32_t idx = w->replace ? (uint32_t)w->id & SK_IDX_MASK : forge_free_slot(&f);
	struct sk_seg_rec *g = &f.segs[idx];
	if (!w->replace)
		memset(g, 0, sizeof(*g));
	g->id = w->id;
	g->state = SK_SEG_LIVE;
	g->mode = w->mode;
	g->uid = w->uid;
	g->cuid = w->cuid;
	g->segsz = w->segsz;
	if (f.hdr->slots_hi < idx + 1)
		f.hdr->slots_hi = idx + 1;
	if (w->mode & SK_SHM_DEST)
		forge_dead_attacher(&f, idx, w->id);
	forge_unmap(&f);
	return 0;
}

static int try_remove(void *arg)
{
	const char *path = arg;
	/* The creator's directory is its own: no removing, renaming or planting in it. */
	if (unlink(path) == 0 || errno != EACCES)
		return 1;
	if (rename(path, "/dev/shm/stolen") == 0 || errno != EACCES)
		return 2;
	char other[160];
	snprintf(other, sizeof(other), "%s.x", path);
	if (symlink("/dev/shm/target", other) == 0 || errno != EACCES)
		return 3;
	/* Nor its directory: the namespace's is sticky. */
	if (rename("/dev/shm/shmkit." SHARED "/u0", "/dev/shm/shmkit." SHARED "/v0") == 0 ||
	    errno != EPERM)
		return 4;
	return 0;
}

Test(attacks, a_forged_slot_cannot_remove_another_segments_object)
{
	shared_ns();
	int id = shmkit_shmget(KEY, 4096, IPC_CREAT | 0600);
	char *p = shmkit_shmat(id, NULL, 0), path[128];
	cr_assert_neq(p, (void *)-1);
	strcpy(p, SECRET);
	cr_assert_eq(shmkit_shmdt(p), 0);
	obj_path(path, sizeof(path), 0, id);
	/* A fake slot with the victim's id, marked for removal, attached by a dead process:
	 * root's next sweep "destroys" it. */
	struct forged_slot w = {.id = id, .cuid = ATTACKER, .mode = SK_SHM_DEST | 0600, .segsz = 1};
	cr_assert_eq(as_user(ATTACKER, forge_slot, &w), 0);
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(id, IPC_STAT, &ds), 0);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "root's object was removed through a forged slot");
	/* The attacker cannot remove or replace it itself either. */
	int r = as_user(ATTACKER, try_remove, path);
	cr_assert_eq(r, 0, "step %d", r);
	p = shmkit_shmat(id, NULL, SHM_RDONLY);
	cr_assert_neq(p, (void *)-1);
	cr_assert_str_eq(p, SECRET);
	cr_assert_eq(shmkit_shmdt(p), 0);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
}

/* The attacker's own object directory (any member may make its own). */
static int own_dir(void)
{
	const char *dir = "/dev/shm/shmkit." SHARED "/u60002";
	return mkdir(dir, 0711) && errno != EEXIST ? errno : 0;
}

static int plant(void *arg)
{
	return own_dir() ? 1 : symlink("/dev/shm/target", arg) ? errno : 0;
}

static int plant_fifo(void *arg)
{
	return own_dir() ? 1 : mkfifo(arg, 0666) ? errno : 0;
}

static int plant_dir(void *arg)
{
	return own_dir() ? 1 : mkdir(arg, 0777) ? errno : 0;
}

Test(attacks, a_planted_link_or_fifo_is_never_followed)
{
	shared_ns();
	/* Root's file that the attacker wants: 0600, no ACL. */
	int t = open("/dev/shm/target", O_CREAT | O_EXCL | O_RDWR, 0600);
	cr_assert_geq(t, 0);
	cr_assert_eq(write(t, "root only", 9), 9);
	close(t);
	int (*planters[])(void *) = {plant, plant_fifo, plant_dir};
	for (int round = 0; round < 3; round++) {
		/* A segment of root's, whose slot says the attacker made it: root looks for its
		 * object among the attacker's, where a link, FIFO or directory waits. */
		int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
		cr_assert_geq(id, 0);
		cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
		char path[128];
		obj_path(path, sizeof(path), ATTACKER, id);
		cr_assert_eq(as_user(ATTACKER, planters[round], path), 0);
		struct forged_slot w = {
		    .id = id, .replace = 1, .cuid = ATTACKER, .mode = 0600, .segsz = 4096};
		cr_assert_eq(as_user(ATTACKER, forge_slot, &w), 0);
		/* Root's routine IPC_SET and shmat. */
		struct shmid_ds ds = {0};
		ds.shm_perm.uid = 0;
		ds.shm_perm.gid = 0;
		ds.shm_perm.mode = 0666;
		cr_assert_eq(shmkit_shmctl(id, IPC_SET, &ds), 0);
		cr_assert_eq(shmkit_shmat(id, NULL, 0), (void *)-1);
		cr_assert_eq(errno, EIDRM, "%s", strerror(errno));
		uid_t u;
		mode_t m;
		cr_assert_eq(path_owner("/dev/shm/target", &u, &m), 0);
		cr_assert_eq(u, 0);
		cr_assert_eq(m, 0600);
		char acl[64];
		cr_assert_eq(getxattr("/dev/shm/target", "system.posix_acl_access", acl, 64), -1);
		cr_assert_eq(errno, ENODATA, "the target got an ACL");
		cr_assert_eq(round == 2 ? rmdir(path) : unlink(path), 0);
		cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
	}
}

static int squat_dir(void *arg)
{
	(void)arg;
	return mkdir("/dev/shm/shmkit." SHARED "/u0", 0777) ? errno : 0;
}

Test(attacks, a_member_cannot_squat_another_members_object_directory)
{
	shared_ns();
	cr_assert_eq(as_user(ATTACKER, squat_dir, NULL), 0);
	/* Root's objects would go into the attacker's directory: refused, not used. */
	cr_assert_eq(shmkit_shmget(IPC_PRIVATE, 4096, 0600), -1);
	cr_assert_eq(errno, EACCES);
	cr_assert_eq(rmdir("/dev/shm/shmkit." SHARED "/u0"), 0, "root wrote into it");
}

/* ---- a forged creator gains no access ---- */

/* Forge the owner (uid/gid, what IPC_STAT shows and IPC_SET writes back) or the creator. */
struct forged_owner {
	int id;
	int creator; /* 1: cuid/cgid, 0: uid/gid */
};

static int forge_owner(void *arg)
{
	struct forge f = {0};
	const struct forged_owner *w = arg;
	if (forge_map(SHARED, &f))
		return 1;
	struct sk_seg_rec *g = &f.segs[(uint32_t)w->id & SK_IDX_MASK];
	if (w->creator)
		g->cuid = g->cgid = ATTACKER;
	else
		g->uid = g->gid = ATTACKER;
	forge_unmap(&f);
	return 0;
}

struct victim {
	int id;
	uid_t creator;
};

static int read_data(void *arg)
{
	const struct victim *v = arg;
	char path[128];
	obj_path(path, sizeof(path), v->creator, v->id);
	if (open_errno(path, O_RDONLY) != EACCES || open_errno(path, O_RDWR) != EACCES)
		return 1;
	if (shmkit_ns_use(SHARED) != 0)
		return 2;
	/* The registry says we may; the kernel, which guards the data, says no (or the lie
	 * points at an object that is not there). */
	char *p = shmkit_shmat(v->id, NULL, SHM_RDONLY);
	if (p != (void *)-1 || (errno != EACCES && errno != EIDRM))
		return 3;
	return 0;
}

static int victim_creates(void *arg)
{
	int *id = arg;
	if (shmkit_ns_use(SHARED))
		return 1;
	*id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	char *p = shmkit_shmat(*id, NULL, 0);
	if (*id < 0 || p == (void *)-1)
		return 2;
	strcpy(p, SECRET);
	return *id;
}

static int victim_sets(void *arg)
{
	int id = *(int *)arg;
	struct shmid_ds ds;
	if (shmkit_ns_use(SHARED) || shmkit_shmctl(id, IPC_STAT, &ds))
		return -1;
	ds.shm_perm.mode = 0600;
	return shmkit_shmctl(id, IPC_SET, &ds) ? -errno : 0;
}

static int acl_names(const char *path, uint32_t who)
{
	uint8_t buf[256];
	ssize_t n = getxattr(path, "system.posix_acl_access", buf, sizeof(buf));
	for (ssize_t off = 4; off + 8 <= n; off += 8) {
		uint16_t tag;
		uint32_t id;
		memcpy(&tag, buf + off, 2);
		memcpy(&id, buf + off + 4, 4);
		if ((tag == 0x02 || tag == 0x08) && id == who)
			return 1;
	}
	return 0;
}

Test(attacks, a_forged_owner_or_creator_gains_no_access)
{
	shared_ns();
	for (int creator = 0; creator < 2; creator++) {
		/* A non-root owner's routine IPC_STAT, change the mode, IPC_SET. */
		struct victim v = {.creator = VICTIM};
		v.id = as_user(VICTIM, victim_creates, &(int){0});
		cr_assert_geq(v.id, 0);
		struct forged_owner w = {v.id, creator};
		cr_assert_eq(as_user(ATTACKER, forge_owner, &w), 0);
		cr_assert_eq(as_user(VICTIM, victim_sets, &v.id), 0);
		cr_assert_eq(as_user(ATTACKER, read_data, &v), 0, "forged %s",
		             creator ? "creator" : "owner");
		char path[128];
		obj_path(path, sizeof(path), VICTIM, v.id);
		cr_assert_not(acl_names(path, ATTACKER), "the forged uid got an ACL entry");
		/* A root owner. */
		struct victim r = {.creator = 0};
		r.id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
		cr_assert_geq(r.id, 0);
		w.id = r.id;
		cr_assert_eq(as_user(ATTACKER, forge_owner, &w), 0);
		struct shmid_ds ds;
		cr_assert_eq(shmkit_shmctl(r.id, IPC_STAT, &ds), 0);
		ds.shm_perm.mode = 0600;
		cr_assert_eq(shmkit_shmctl(r.id, IPC_SET, &ds), 0);
		uid_t u;
		mode_t m;
		obj_path(path, sizeof(path), 0, r.id);
		cr_assert_eq(path_owner(path, &u, &m), 0);
		cr_assert_eq(u, 0, "root's object went to the forger");
		cr_assert_not(acl_names(path, ATTACKER));
		cr_assert_eq(as_user(ATTACKER, read_data, &r), 0);
		if (!creator) {
			/* The registry heals from the object: it says root again. */
			cr_assert_eq(shmkit_shmctl(r.id, IPC_STAT, &ds), 0);
			cr_assert_eq(ds.shm_perm.uid, 0);
			/* What root asks for itself still happens: giving it to the victim. */
			ds.shm_perm.uid = VICTIM;
			cr_assert_eq(shmkit_shmctl(r.id, IPC_SET, &ds), 0);
			cr_assert_eq(path_owner(path, &u, &m), 0);
			cr_assert_eq(u, VICTIM);
		}
		shmkit_shmctl(r.id, IPC_RMID, NULL);
		shmkit_shmctl(v.id, IPC_RMID, NULL);
	}
}

/* ---- a forged size: no SIGSEGV, no SIGBUS ---- */

static int forge_size(void *arg)
{
	struct forge f = {0};
	const uint64_t *w = arg;
	if (forge_map(SHARED, &f))
		return 1;
	f.segs[(uint32_t)w[0] & SK_IDX_MASK].segsz = w[1];
	forge_unmap(&f);
	return 0;
}

Test(attacks, a_forged_size_neither_faults_nor_overreaches)
{
	shared_ns();
	size_t size = 1 << 20;
	int id = shmkit_shmget(KEY, size, IPC_CREAT | 0600);
	char *p = shmkit_shmat(id, NULL, 0);
	cr_assert_neq(p, (void *)-1);
	p[size - 1] = 'z';
	cr_assert_eq(shmkit_shmdt(p), 0);
	/* Smaller: the attacher maps the whole object anyway and reads its last byte. */
	uint64_t small[2] = {(uint64_t)id, 4096};
	cr_assert_eq(as_user(ATTACKER, forge_size, small), 0);
	pid_t pid = fork();
	if (pid == 0) {
		char *q = shmkit_shmat(shmkit_shmget(KEY, 0, 0), NULL, 0);
		_exit(q == (void *)-1 ? 1 : q[size - 1] == 'z' ? 0 : 2);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	/* Larger than the object: refused, not mapped past its end. */
	uint64_t big[2] = {(uint64_t)id, 64u << 20};
	cr_assert_eq(as_user(ATTACKER, forge_size, big), 0);
	pid = fork();
	if (pid == 0) {
		char *q = shmkit_shmat(id, NULL, 0);
		_exit(q == (void *)-1 && errno == EIDRM ? 0 : 1);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
}

/* ---- administration is the owner's ---- */

static int administer(void *arg)
{
	(void)arg;
	struct shmkit_ns_limits l = {.shmmax = 1, .rmid_forced = 1};
	if (shmkit_ns_set_limits(SHARED, &l) != -EPERM)
		return 1;
	if (shmkit_ns_set_next_id(SHARED, 5) != -EPERM)
		return 2;
	if (shmkit_ns_destroy(SHARED) != -EPERM)
		return 3;
	return 0;
}

Test(attacks, namespace_administration_is_the_owners)
{
	shared_ns();
	int id = shmkit_shmget(KEY, 4096, IPC_CREAT | 0600);
	cr_assert_geq(id, 0);
	cr_assert_eq(as_user(ATTACKER, administer, NULL), 0);
	struct shmkit_ns_limits l;
	cr_assert_eq(shmkit_ns_get_limits(SHARED, &l), 0);
	cr_assert_eq(l.shmmax, 0);
	cr_assert_eq(l.rmid_forced, -1);
	/* Nothing was written: the namespace works for everyone. */
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(id, IPC_STAT, &ds), 0);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
	cr_assert_eq(shmkit_ns_destroy(SHARED), 0);
}

/* ---- a forged lock stalls members, never exit() or an inspection ---- */

static int forge_lock(void *arg)
{
	struct forge f = {0};
	if (forge_map(SHARED, &f))
		return 1;
	/* The lock word names a live thread outside the namespace: a PI wait on it would last
	 * as long as that thread. */
	sk_store_relaxed((SK_ATOMIC(uint32_t) *)&f.hdr->lock, *(uint32_t *)arg);
	forge_unmap(&f);
	return 0;
}

Test(attacks, a_forged_lock_never_blocks_exit_or_inspection)
{
	shared_ns();
	int id = shmkit_shmget(KEY, 4096, IPC_CREAT | 0600);
	cr_assert_neq(shmkit_shmat(id, NULL, 0), (void *)-1);
	int pfd[2], ready[2];
	cr_assert_eq(pipe(pfd), 0);
	cr_assert_eq(pipe(ready), 0);
	pid_t victim = fork();
	if (victim == 0) {
		char ids[16], rfd[16], wfd[16];
		snprintf(ids, sizeof(ids), "%d", id);
		snprintf(rfd, sizeof(rfd), "%d", pfd[0]);
		snprintf(wfd, sizeof(wfd), "%d", ready[1]);
		/* exit() with an attachment: the destructor detaches, waiting at most 300 ms */
		execl(tu_helper("helper_trust"), "helper_trust", SHARED, ids, rfd, wfd, "300",
		      (char *)NULL);
		_exit(127);
	}
	char x;
	cr_assert_eq(read(ready[0], &x, 1), 1, "the victim did not attach");
	pid_t sleeper = fork();
	if (sleeper == 0) {
		pause();
		_exit(0);
	}
	uint32_t word = (uint32_t)sleeper;
	cr_assert_eq(as_user(ATTACKER, forge_lock, &word), 0);
	shmkit_ns_set_wait(300ull * 1000 * 1000);
	struct shmkit_seg_stat segs[4];
	uint64_t t0 = sk_mono_ns();
	cr_assert_eq(shmkit_ns_segments(SHARED, segs, 4), -ETIMEDOUT);
	cr_assert_lt(sk_mono_ns() - t0, 3000000000ull);
	cr_assert_eq(write(pfd[1], "x", 1), 1);
	cr_assert_eq(tu_wait_timeout(victim, 5000), 0, "exit() hung on the forged lock");
	word = 0;
	cr_assert_eq(as_user(ATTACKER, forge_lock, &word), 0);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
	/* Unforged, the namespace works again, and the victim's exit was collected. */
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(id, IPC_STAT, &ds), 0);
	cr_assert_eq(ds.shm_nattch, 1);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
}

/* ---- the inspection API never returns with the lock held ---- */

static int forge_in_use(void *arg)
{
	struct forge f = {0};
	(void)arg;
	if (forge_map(SHARED, &f))
		return 1;
	f.hdr->in_use = 0x7fffffff;
	forge_unmap(&f);
	return 0;
}

Test(attacks, inspection_never_returns_with_the_lock_held)
{
	shared_ns();
	int id = shmkit_shmget(KEY, 4096, IPC_CREAT | 0600);
	cr_assert_geq(id, 0);
	cr_assert_eq(as_user(ATTACKER, forge_in_use, NULL), 0);
	struct shmkit_seg_stat segs[4];
	cr_assert_geq(shmkit_ns_segments(SHARED, segs, 4), 0);
	cr_assert_geq(shmkit_ns_gc(SHARED), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct sk_ns ns;
		if (sk_ns_open(&ns, SHARED, 0))
			_exit(1);
		_exit(shmkit_mutex_trylock(&ns.hdr->lock) == 0 ? 0 : 2);
	}
	cr_assert_eq(tu_wait_timeout(pid, 5000), 0, "the registry lock was left held");
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
}

/* ---- tokens: a reader can neither hold nor fake one ---- */

static int read_lock_tokens(void *arg)
{
	(void)arg;
	if (open_errno("/dev/shm/shmkit." SHARED "/live", O_RDONLY) != EACCES)
		return 1; /* nobody may read the tokens file, so nobody takes a read lock there */
	int fd = open("/dev/shm/shmkit." SHARED "/reg", O_RDONLY);
	if (fd < 0)
		return 2;
	/* Read locks where the tokens used to be: they mean nothing now. */
	struct flock fl = {.l_type = F_RDLCK,
	                   .l_whence = SEEK_SET,
	                   .l_start = SK_REG_LOCK_BASE,
	                   .l_len = SK_REG_PROCS};
	if (fcntl(fd, F_OFD_SETLK, &fl) < 0)
		return 3;
	pause(); /* holds them until killed */
	return 0;
}

Test(attacks, a_reader_can_neither_hold_nor_block_a_token)
{
	shared_ns();
	pid_t pid = fork();
	if (pid == 0) {
		if (tu_become(ATTACKER, ATTACKER))
			_exit(100);
		_exit(read_lock_tokens(NULL));
	}
	usleep(100 * 1000);
	cr_assert_eq(waitpid(pid, NULL, WNOHANG), 0, "the attacker's steps failed");
	/* Joining and collecting the dead work as ever. */
	int id = shmkit_shmget(KEY, 4096, IPC_CREAT | 0600);
	cr_assert_geq(id, 0, "%s", strerror(errno));
	pid_t dead = fork();
	if (dead == 0) {
		if (shmkit_shmat(id, NULL, 0) == (void *)-1)
			_exit(1);
		raise(SIGKILL);
	}
	cr_assert_eq(tu_wait_timeout(dead, 5000), 128 + SIGKILL);
	struct shmid_ds ds;
	cr_assert_eq(shmkit_shmctl(id, IPC_STAT, &ds), 0);
	cr_assert_eq(ds.shm_nattch, 0, "a dead attacher kept alive by a read lock");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert_eq(shmkit_shmctl(id, IPC_RMID, NULL), 0);
}

/* ---- a group namespace is its group's ---- */

#define GROUP 5000u

static int member_uses(void *arg)
{
	gid_t g = GROUP;
	int want = *(int *)arg;
	if (setgroups(want ? 1 : 0, &g) < 0 || setgid(VICTIM) < 0 || setuid(VICTIM) < 0)
		return 100;
	if (shmkit_ns_use("team"))
		return 101;
	int id = shmkit_shmget(IPC_PRIVATE, 4096, 0600);
	if (!want)
		return id == -1 && errno == EACCES ? 0 : 102;
	if (id < 0)
		return 103;
	char *p = shmkit_shmat(id, NULL, 0);
	if (p == (void *)-1)
		return 104;
	return shmkit_shmdt(p) || shmkit_shmctl(id, IPC_RMID, NULL) ? 105 : 0;
}

Test(attacks, a_group_namespace_admits_its_group_only)
{
	cr_assert_eq(shmkit_ns_create_group("team", 0660, GROUP), 0);
	struct stat st;
	cr_assert_eq(stat("/dev/shm/shmkit.team/reg", &st), 0);
	cr_assert_eq(st.st_gid, GROUP, "the registry keeps the group");
	cr_assert_eq(st.st_mode & 0777, 0660);
	cr_assert_eq(stat("/dev/shm/shmkit.team", &st), 0);
	cr_assert_eq(st.st_mode & 07777, 01770);
	int member = 1, outsider = 0;
	cr_assert_eq(as_user(0, member_uses, &member), 0);
	cr_assert_eq(as_user(0, member_uses, &outsider), 0);
	cr_assert_eq(shmkit_ns_destroy("team"), 0);
}

/* ---- a destroyed namespace's name is free at once ---- */

static int owner_makes(void *arg)
{
	(void)arg;
	return -shmkit_ns_create("club", 0666);
}

static int member_leaves_objects(void *arg)
{
	(void)arg;
	if (shmkit_ns_use("club") || shmkit_shmget(IPC_PRIVATE, 4096, 0600) < 0)
		return 1;
	/* and something the owner cannot remove */
	return mkdir("/dev/shm/shmkit.club/u60002/junk", 0700) ? 2 : 0;
}

static int owner_destroys_and_remakes(void *arg)
{
	(void)arg;
	if (shmkit_ns_destroy("club"))
		return 1;
	if (shmkit_ns_create("club", 0600))
		return 2; /* the name is free, whatever the member left */
	return shmkit_ns_destroy("club") ? 3 : 0;
}

static int gc_destroyed(void *arg)
{
	(void)arg;
	return shmkit_ns_gc_destroyed();
}

Test(attacks, a_destroyed_namespace_frees_its_name_whatever_members_left)
{
	cr_assert_eq(as_user(VICTIM, owner_makes, NULL), 0);
	cr_assert_eq(as_user(ATTACKER, member_leaves_objects, NULL), 0);
	cr_assert_eq(as_user(VICTIM, owner_destroys_and_remakes, NULL), 0);
	/* What the member left waits for it (or root): its part goes with its gc, the rest
	 * with the owner's. */
	cr_assert_eq(system("test -d /dev/shm/.shmkit-gone.club.*/u60002"), 0);
	cr_assert_eq(as_user(ATTACKER, gc_destroyed, NULL), 0);
	cr_assert_neq(system("test -e /dev/shm/.shmkit-gone.club.*/u60002"), 0);
	cr_assert_eq(as_user(VICTIM, gc_destroyed, NULL), 1);
	cr_assert_neq(system("ls -a /dev/shm | grep -q '^.shmkit-gone'"), 0, "left behind");
}
