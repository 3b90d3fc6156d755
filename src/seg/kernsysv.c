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
#include <sys/syscall.h>
#include <unistd.h>

#include "seg/handle.h"
#include "sys/sys.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef SHM_EXEC
#define SHM_EXEC 0100000
#endif

/*
 * Straight to the kernel. An LD_PRELOAD interposer (shmkit's own libshmkit-sysv.so among them)
 * replaces the libc functions, and the passthrough must reach the kernel's segments whatever
 * is preloaded. The raw calls are used where libc's struct shmid_ds is the kernel's and the
 * native shmctl takes plain commands (64-bit ABIs without IPC_64 parsing); elsewhere libc is.
 */
#if (defined(__x86_64__) || defined(__aarch64__) || (defined(__riscv) && __riscv_xlen == 64)) &&   \
    defined(SYS_shmget) && defined(SYS_shmat) && defined(SYS_shmdt) && defined(SYS_shmctl)
#define K_SHMGET(k, sz, f)   syscall(SYS_shmget, (long)(k), (size_t)(sz), (long)(f))
#define K_SHMAT(id, a, f)    syscall(SYS_shmat, (long)(id), (a), (long)(f))
#define K_SHMDT(a)           syscall(SYS_shmdt, (a))
#define K_SHMCTL(id, c, buf) syscall(SYS_shmctl, (long)(id), (long)(c), (buf))
#else
#define K_SHMGET(k, sz, f)   shmget((k), (sz), (f))
#define K_SHMAT(id, a, f)    (long)shmat((id), (a), (f))
#define K_SHMDT(a)           shmdt(a)
#define K_SHMCTL(id, c, buf) shmctl((id), (c), (buf))
#endif

int sk_kshmget(key_t key, size_t size, int flags)
{
	long r = K_SHMGET(key, size, flags);
	return r < 0 ? -errno : (int)r;
}

int sk_kshmat(int id, const void *addr, int flags, void **out)
{
	long r = K_SHMAT(id, addr, flags);
	if (r == -1) /* never a valid address: the kernel's errors are -4095..-1 */
		return -errno;
	*out = (void *)r;
	return 0;
}

int sk_kshmdt(const void *addr)
{
	return K_SHMDT(addr) == 0 ? 0 : -errno;
}

int sk_kshmctl(int id, int cmd, struct shmid_ds *buf)
{
	long r = K_SHMCTL(id, cmd, buf);
	return r < 0 ? -errno : (int)r;
}

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
	int err = sk_kshmctl(id, IPC_STAT, &ds);
	if (err)
		return err;
	if (c->uid != -1)
		ds.shm_perm.uid = (uid_t)c->uid;
	if (c->gid != -1)
		ds.shm_perm.gid = (gid_t)c->gid;
	return sk_kshmctl(id, IPC_SET, &ds);
}

int sk_seg_sysv_create(struct shmkit_seg **out, uint64_t size, const struct shmkit_seg_config *c,
                       mode_t mode)
{
	key_t key = c->sysv_key;
	int created = 1;

	/* IPC_EXCL first even with SHMKIT_SEG_OPEN: only a segment we created gets our owner. */
	int id = sk_kshmget(key, size, IPC_CREAT | IPC_EXCL | (int)mode);
	if (id == -EEXIST && (c->flags & SHMKIT_SEG_OPEN)) {
		created = 0;
		id = sk_kshmget(key, size, S_IRUSR | S_IWUSR); /* -EINVAL if smaller, -EACCES */
	}
	if (id < 0)
		return id;
	int err = created ? set_owner(id, c) : 0;
	if (!err)
		err = sk_seg_new(out, SHMKIT_SEG_SYSV, -1);
	if (err) {
		if (created)
			sk_kshmctl(id, IPC_RMID, NULL);
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
	err = sk_kshmctl(id, IPC_STAT, &ds); /* -EINVAL: no such (or a stale) id; -EACCES */
	if (err)
		return err;
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

	int err = sk_kshmctl(s->sysv_id, IPC_STAT, &ds);
	if (err)
		return err;
	size_t len = SK_ALIGN_UP((size_t)ds.shm_segsz, sk_page_size());
	/* The kernel attaches whole segments. */
	if (o->offset || o->length > len)
		return -EINVAL;
	if (o->flags & SHMKIT_MAP_FIXED) {
		err = claim(o->addr, len);
		if (err)
			return err;
		at = o->addr;
		fl |= SHM_REMAP;
	}
	void *p = NULL;
	err = sk_kshmat(s->sysv_id, at, fl, &p);
	if (err) {
		if (at)
			munmap(at, len);
		return err;
	}
	err = finish(p, len, o);
	if (err) {
		sk_kshmdt(p);
		return err;
	}
	*addr = p;
	return 0;
}

int sk_seg_sysv_stat(const struct shmkit_seg *s, struct shmkit_seg_info *info)
{
	struct shmid_ds ds;

	int err = sk_kshmctl(s->sysv_id, IPC_STAT, &ds);
	if (err)
		return err;
	info->backend = SHMKIT_SEG_SYSV;
	info->mode = ds.shm_perm.mode & 0777;
	info->size = ds.shm_segsz;
	info->uid = ds.shm_perm.uid;
	info->gid = ds.shm_perm.gid;
	info->sysv_id = s->sysv_id;
	return 0;
}
