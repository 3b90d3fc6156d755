/* SPDX-License-Identifier: MIT */
/*
 * The public seg API: one handle type over POSIX shm, memfd, hugetlb and kernel SysV objects.
 *
 * Read-only means read-only to the kernel: a read-only mapping is made through an O_RDONLY
 * descriptor (a fresh one from /proc/self/fd when the handle's is O_RDWR), so the mapping never
 * gets VM_MAYWRITE and a later mprotect(PROT_WRITE) fails with EACCES.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal/compiler.h"
#include "seg/handle.h"
#include "sys/sys.h"

#define SEAL_ALL                                                                                   \
	(SHMKIT_SEAL_SEAL | SHMKIT_SEAL_SHRINK | SHMKIT_SEAL_GROW | SHMKIT_SEAL_WRITE |            \
	 SHMKIT_SEAL_FUTURE_WRITE)
#define MAP_ALL                                                                                    \
	(SHMKIT_MAP_RDONLY | SHMKIT_MAP_FIXED | SHMKIT_MAP_POPULATE | SHMKIT_MAP_LOCK |            \
	 SHMKIT_MAP_EXEC)

_Static_assert(SHMKIT_MAP_RDONLY == SK_MAP_RDONLY && SHMKIT_MAP_FIXED == SK_MAP_FIXED &&
                   SHMKIT_MAP_POPULATE == SK_MAP_POPULATE && SHMKIT_MAP_LOCK == SK_MAP_LOCK &&
                   SHMKIT_MAP_EXEC == SK_MAP_EXEC,
               "public map flags are the internal ones");

int sk_seg_new(struct shmkit_seg **out, uint32_t backend, int fd)
{
	struct shmkit_seg *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fd = fd;
	s->sysv_id = -1;
	s->backend = backend;
	*out = s;
	return 0;
}

uint64_t sk_seg_granule(const struct shmkit_seg *s)
{
	return s->huge_page_size ? s->huge_page_size : sk_page_size();
}

static int is_fd_backend(uint32_t b)
{
	return b == SHMKIT_SEG_POSIX || b == SHMKIT_SEG_MEMFD || b == SHMKIT_SEG_HUGETLB;
}

static int check_config(const struct shmkit_seg_config *c, uint32_t backend, size_t size)
{
	int sealable = backend == SHMKIT_SEG_MEMFD || backend == SHMKIT_SEG_HUGETLB;

	if (backend < SHMKIT_SEG_POSIX || backend > SHMKIT_SEG_SYSV)
		return -EINVAL;
	if (!sk_seg_size_ok(size))
		return -EINVAL;
	if ((c->flags & ~(SHMKIT_SEG_EXCL | SHMKIT_SEG_OPEN)) ||
	    (c->flags & SHMKIT_SEG_EXCL && c->flags & SHMKIT_SEG_OPEN))
		return -EINVAL;
	/* An anonymous object has no name to open: "or open" cannot mean anything. */
	if (sealable && (c->flags & SHMKIT_SEG_OPEN))
		return -EINVAL;
	if ((c->mode & ~0777u) || (c->seals & ~SEAL_ALL) || (c->seals && !sealable))
		return -EINVAL;
	if (c->uid < -1 || c->uid >= (int64_t)UINT32_MAX || c->gid < -1 ||
	    c->gid >= (int64_t)UINT32_MAX)
		return -EINVAL;
	if ((c->huge_page_size && backend != SHMKIT_SEG_HUGETLB) ||
	    (c->sysv_key && backend != SHMKIT_SEG_SYSV) || c->reserved_)
		return -EINVAL;
	return 0;
}

static int posix_create(struct shmkit_seg **out, const char *name, uint64_t size,
                        const struct shmkit_seg_config *c, mode_t mode)
{
	int excl = !(c->flags & SHMKIT_SEG_OPEN);
	int fd = sk_posix_create_owned(name, size, mode, c->uid, c->gid, excl);
	struct stat st;
	int err = 0;

	if (fd < 0)
		return fd;
	/* An existing object opened instead must hold what the caller will map (as SysV). */
	if (!excl && fstat(fd, &st) < 0)
		err = -errno;
	else if (!excl && (uint64_t)st.st_size < size)
		err = -EINVAL;
	if (!err)
		err = sk_seg_new(out, SHMKIT_SEG_POSIX, fd);
	if (err) {
		close(fd);
		return err;
	}
	strcpy((*out)->name, name + (*name == '/')); /* sk_shm_path checked its length */
	return 0;
}

SK_EXPORT int shmkit_seg_create(shmkit_seg_t **out, const char *name, size_t size,
                                const struct shmkit_seg_config *cfg)
{
	static const struct shmkit_seg_config defaults = SHMKIT_SEG_CONFIG_INIT;
	const struct shmkit_seg_config *c = cfg ? cfg : &defaults;
	uint32_t backend = c->backend ? c->backend : SHMKIT_SEG_POSIX;
	mode_t mode = c->mode ? c->mode : 0600;
	uint64_t hps = 0;

	if (!out)
		return -EINVAL;
	*out = NULL;
	int err = check_config(c, backend, size);
	if (err)
		return err;
	if (backend == SHMKIT_SEG_POSIX)
		return posix_create(out, name, size, c, mode);
	if (backend == SHMKIT_SEG_SYSV)
		return sk_seg_sysv_create(out, size, c, mode);
	int fd = sk_seg_memfd_create(name, size, c, mode, &hps);
	if (fd < 0)
		return fd;
	err = sk_seg_new(out, backend, fd);
	if (err) {
		close(fd);
		return err;
	}
	(*out)->huge_page_size = hps;
	return 0;
}

SK_EXPORT int shmkit_seg_open(shmkit_seg_t **out, uint32_t backend, const char *name,
                              uint32_t flags)
{
	if (!out || !name)
		return -EINVAL;
	*out = NULL;
	if (flags & ~SHMKIT_SEG_RDONLY)
		return -EINVAL;
	if (backend == SHMKIT_SEG_SYSV)
		return sk_seg_sysv_open(out, name, flags);
	if (backend != SHMKIT_SEG_POSIX && backend != 0)
		return -EINVAL;
	int fd = sk_posix_open(name, flags & SHMKIT_SEG_RDONLY);
	if (fd < 0)
		return fd;
	int err = sk_seg_new(out, SHMKIT_SEG_POSIX, fd);
	if (err) {
		close(fd);
		return err;
	}
	(*out)->rdonly = flags & SHMKIT_SEG_RDONLY;
	strcpy((*out)->name, name + (*name == '/'));
	return 0;
}

SK_EXPORT int shmkit_seg_from_fd(shmkit_seg_t **out, int fd, uint32_t flags)
{
	char name[SK_SHM_NAME_MAX + 1];
	uint64_t hps;
	uint32_t backend;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (fd < 0)
		return -EBADF;
	if (flags & ~SHMKIT_SEG_RDONLY)
		return -EINVAL;
	int err = sk_seg_classify(fd, &backend, &hps, name, sizeof(name));
	if (err)
		return err;
	int acc = fcntl(fd, F_GETFL);
	if (acc < 0)
		return -errno;
	if (acc & O_PATH)
		return -EINVAL; /* a reference to the file, not an open one */
	acc &= O_ACCMODE;
	if (acc == O_WRONLY)
		return -EACCES; /* nothing can be mapped through it */
	int use = fd;
	if (acc == O_RDWR && (flags & SHMKIT_SEG_RDONLY)) {
		use = sk_fd_reopen(fd, O_RDONLY);
		if (use < 0)
			return use;
	}
	err = sk_seg_new(out, backend, use);
	if (err) {
		if (use != fd)
			close(use);
		return err;
	}
	if (use != fd)
		close(fd);
	(*out)->rdonly = acc == O_RDONLY || (flags & SHMKIT_SEG_RDONLY);
	(*out)->huge_page_size = hps;
	strcpy((*out)->name, name);
	return 0;
}

/* Turn user options into a checked offset/length within the object. */
static int map_range(const struct shmkit_seg *s, const struct shmkit_map_opts *o, uint64_t *len)
{
	uint64_t granule = sk_seg_granule(s);
	struct stat st;

	if (o->offset % granule || o->offset > SK_SEG_SIZE_MAX || o->length > SK_SEG_SIZE_MAX)
		return -EINVAL;
	if (fstat(s->fd, &st) < 0)
		return -errno;
	uint64_t end = SK_ALIGN_UP((uint64_t)st.st_size, granule);
	if (o->offset >= end)
		return -EINVAL;
	*len = o->length ? o->length : end - o->offset;
	/* Past the end of the object a touch would be SIGBUS: refuse now instead. */
	if (o->offset + *len > end)
		return -EINVAL;
	/* More than a 32-bit address space: mmap would get a cut length, and map less. */
	return *len > SIZE_MAX ? -ENOMEM : 0;
}

static int fd_map(struct shmkit_seg *s, const struct shmkit_map_opts *o, void **addr)
{
	uint64_t len = 0;
	int err = map_range(s, o, &len);
	if (err)
		return err;
	int fd = s->fd;
	if ((o->flags & SHMKIT_MAP_RDONLY) && !s->rdonly) {
		fd = sk_fd_reopen(s->fd, O_RDONLY);
		if (fd < 0)
			return fd;
	}
	err = sk_map_fd(fd, len, (off_t)o->offset, o->addr, o->flags, addr);
	if (fd != s->fd)
		close(fd);
	return err;
}

SK_EXPORT int shmkit_seg_map(shmkit_seg_t *s, const struct shmkit_map_opts *o, void **addr)
{
	struct shmkit_map_opts all = {.flags = s && s->rdonly ? SHMKIT_MAP_RDONLY : 0};

	if (!s || !addr)
		return -EINVAL;
	if (!o)
		o = &all;
	if (o->flags & ~MAP_ALL)
		return -EINVAL;
	/* An address is a demand (FIXED) or nothing: a hint that may be ignored helps no one. */
	if (!(o->flags & SHMKIT_MAP_FIXED) && o->addr)
		return -EINVAL;
	if ((o->flags & SHMKIT_MAP_FIXED) && (!o->addr || (uintptr_t)o->addr % sk_seg_granule(s)))
		return -EINVAL;
	if (s->rdonly && !(o->flags & SHMKIT_MAP_RDONLY))
		return -EACCES;
	if (s->backend == SHMKIT_SEG_SYSV)
		return sk_seg_sysv_map(s, o, addr);
	return fd_map(s, o, addr);
}

SK_EXPORT int shmkit_seg_unmap(shmkit_seg_t *s, void *addr, size_t length)
{
	if (!addr || (uintptr_t)addr % sk_page_size())
		return -EINVAL;
	if (s && s->backend == SHMKIT_SEG_SYSV)
		return sk_kshmdt(addr);
	if (!sk_seg_size_ok(length))
		return -EINVAL;
	/* A huge page mapping can only be split at huge page boundaries. */
	uint64_t granule = s ? sk_seg_granule(s) : sk_page_size();
	return munmap(addr, SK_ALIGN_UP((uint64_t)length, granule)) == 0 ? 0 : -errno;
}

SK_EXPORT int shmkit_seg_resize(shmkit_seg_t *s, size_t size)
{
	struct stat st;

	if (!s || !sk_seg_size_ok(size))
		return -EINVAL;
	if (s->backend == SHMKIT_SEG_SYSV)
		return -EOPNOTSUPP; /* kernel segments have a fixed size */
	if (s->rdonly)
		return -EBADF;
	if (fstat(s->fd, &st) < 0)
		return -errno;
	uint64_t old = (uint64_t)st.st_size, want = SK_ALIGN_UP((uint64_t)size, sk_seg_granule(s));
	if (ftruncate(s->fd, (off_t)want) < 0)
		return -errno;
	if (s->huge_page_size && want > old) {
		int err = sk_seg_huge_reserve(s->fd, old, want);
		if (err) {
			(void)!ftruncate(s->fd, (off_t)old);
			return err;
		}
	}
	return 0;
}

SK_EXPORT int shmkit_seg_seal(shmkit_seg_t *s, uint32_t seals)
{
	if (!s || !seals || (seals & ~SEAL_ALL))
		return -EINVAL;
	if (s->backend != SHMKIT_SEG_MEMFD && s->backend != SHMKIT_SEG_HUGETLB)
		return -EINVAL;
	return fcntl(s->fd, F_ADD_SEALS, (int)seals) == 0 ? 0 : -errno;
}

SK_EXPORT int shmkit_seg_stat(const shmkit_seg_t *s, struct shmkit_seg_info *info)
{
	struct stat st;

	if (!s || !info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	if (s->backend == SHMKIT_SEG_SYSV)
		return sk_seg_sysv_stat(s, info);
	if (fstat(s->fd, &st) < 0)
		return -errno;
	info->backend = s->backend;
	info->mode = st.st_mode & 0777;
	info->size = (uint64_t)st.st_size;
	info->uid = st.st_uid;
	info->gid = st.st_gid;
	info->sysv_id = -1;
	info->huge_page_size = s->huge_page_size;
	if (s->backend != SHMKIT_SEG_POSIX) {
		int seals = fcntl(s->fd, F_GET_SEALS);
		info->seals = seals < 0 ? 0 : (uint32_t)seals & SEAL_ALL;
	}
	return 0;
}

SK_EXPORT int shmkit_seg_remove(shmkit_seg_t *s)
{
	if (!s)
		return -EINVAL;
	if (s->backend == SHMKIT_SEG_SYSV)
		return sk_kshmctl(s->sysv_id, IPC_RMID, NULL);
	if (s->backend != SHMKIT_SEG_POSIX)
		return 0; /* anonymous: gone with its last descriptor and mapping */
	return s->name[0] ? sk_posix_unlink(s->name) : -ENOENT;
}

SK_EXPORT int shmkit_seg_unlink(uint32_t backend, const char *name)
{
	int id;

	if (!name)
		return -EINVAL;
	if (backend == SHMKIT_SEG_POSIX || backend == 0)
		return sk_posix_unlink(name);
	if (backend != SHMKIT_SEG_SYSV)
		return -EINVAL;
	int err = sk_seg_sysv_id(name, &id);
	if (err)
		return err;
	return sk_kshmctl(id, IPC_RMID, NULL);
}

SK_EXPORT int shmkit_seg_fd(const shmkit_seg_t *s)
{
	if (!s)
		return -EINVAL;
	return is_fd_backend(s->backend) ? s->fd : -EBADF;
}

SK_EXPORT void shmkit_seg_close(shmkit_seg_t *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}
