/* SPDX-License-Identifier: MIT */
/*
 * The kernel's own System V shm behind the seg API, so that code written against shmkit_seg_*
 * runs on either kind of segment. A handle holds the shmid; the segment lives in the kernel
 * until IPC_RMID (shmkit_seg_remove) and its last detach.
 */
#include <errno.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include "seg/handle.h"
#include "sys/sys.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif

int sk_seg_sysv_id(const char *name, int *id)
{
	uint64_t v;
	int err = sk_parse_u64(name, &v);
	if (err)
		return -EINVAL;
	if (v > INT_MAX)
		return -EINVAL;
	*id = (int)v;
	return 0;
}

static int set_owner(int id, const struct shmkit_seg_config *c)
{
	struct shmid_ds ds;

	if (c->uid == -1 && c->gid == -1)
		return 0;
	if (shmctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	if (c->uid != -1)
		ds.shm_perm.uid = (uid_t)c->uid;
	if (c->gid != -1)
		ds.shm_perm.gid = (gid_t)c->gid;
	return shmctl(id, IPC_SET, &ds) == 0 ? 0 : -errno;
}

int sk_seg_sysv_create(struct shmkit_seg **out, uint64_t size, const struct shmkit_seg_config *c,
                       mode_t mode)
{
	key_t key = c->sysv_key;
	int created = 1;

	/* IPC_EXCL first even with SHMKIT_SEG_OPEN: only a segment we created gets our owner. */
	int id = shmget(key, size, IPC_CREAT | IPC_EXCL | (int)mode);
	if (id < 0 && errno == EEXIST && (c->flags & SHMKIT_SEG_OPEN)) {
		created = 0;
		id = shmget(key, size, S_IRUSR | S_IWUSR); /* -EINVAL if smaller, -EACCES */
	}
	if (id < 0)
		return -errno;
	int err = created ? set_owner(id, c) : 0;
	if (!err)
		err = sk_seg_new(out, SHMKIT_SEG_SYSV, -1);
	if (err) {
		if (created)
			shmctl(id, IPC_RMID, NULL);
		return err;
	}
	(*out)->sysv_id = id;
	return 0;
}

int sk_seg_sysv_open(struct shmkit_seg **out, const char *name, uint32_t flags)
{
	struct shmid_ds ds;
	int id;

	int err = sk_seg_sysv_id(name, &id);
	if (err)
		return err;
	if (shmctl(id, IPC_STAT, &ds) < 0)
		return -errno; /* EINVAL: no such (or a stale) id; EACCES */
	err = sk_seg_new(out, SHMKIT_SEG_SYSV, -1);
	if (err)
		return err;
	(*out)->sysv_id = id;
	(*out)->rdonly = flags & SHMKIT_SEG_RDONLY;
	return 0;
}

/*
 * shmat() without SHM_REMAP refuses an overlap with EINVAL, indistinguishable from other
 * errors, and with SHM_REMAP it replaces anything. So a fixed attach first claims the range
 * with MAP_FIXED_NOREPLACE (which says EEXIST), then attaches over its own placeholder.
 */
static int claim(void *addr, size_t len)
{
	void *r = mmap(addr, len, PROT_NONE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
	if (r == MAP_FAILED)
		return -errno;
	if (r != addr) { /* a kernel older than 4.17 took it as a hint */
		munmap(r, len);
		return -EEXIST;
	}
	return 0;
}

static int finish(void *p, size_t len, const struct shmkit_map_opts *o)
{
	int err = 0;
	if (o->flags & SHMKIT_MAP_POPULATE)
		err = sk_populate(p, len, !(o->flags & SHMKIT_MAP_RDONLY));
	if (!err && (o->flags & SHMKIT_MAP_LOCK) && mlock(p, len) < 0)
		err = -errno;
	return err;
}

int sk_seg_sysv_map(struct shmkit_seg *s, const struct shmkit_map_opts *o, void **addr)
{
	int fl = ((o->flags & SHMKIT_MAP_RDONLY) ? SHM_RDONLY : 0) |
	         ((o->flags & SHMKIT_MAP_EXEC) ? SHM_EXEC : 0);
	struct shmid_ds ds;
	void *at = NULL;

	if (shmctl(s->sysv_id, IPC_STAT, &ds) < 0)
		return -errno;
	size_t len = SK_ALIGN_UP((size_t)ds.shm_segsz, sk_page_size());
	/* The kernel attaches whole segments. */
	if (o->offset || o->length > len)
		return -EINVAL;
	if (o->flags & SHMKIT_MAP_FIXED) {
		int err = claim(o->addr, len);
		if (err)
			return err;
		at = o->addr;
		fl |= SHM_REMAP;
	}
	void *p = shmat(s->sysv_id, at, fl);
	if (p == (void *)-1) {
		int err = -errno;
		if (at)
			munmap(at, len);
		return err;
	}
	int err = finish(p, len, o);
	if (err) {
		shmdt(p);
		return err;
	}
	*addr = p;
	return 0;
}

int sk_seg_sysv_stat(const struct shmkit_seg *s, struct shmkit_seg_info *info)
{
	struct shmid_ds ds;

	if (shmctl(s->sysv_id, IPC_STAT, &ds) < 0)
		return -errno;
	info->backend = SHMKIT_SEG_SYSV;
	info->mode = ds.shm_perm.mode & 0777;
	info->size = ds.shm_segsz;
	info->uid = ds.shm_perm.uid;
	info->gid = ds.shm_perm.gid;
	info->sysv_id = s->sysv_id;
	return 0;
}
