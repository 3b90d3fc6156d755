/* SPDX-License-Identifier: MIT */
/*
 * Descriptor-level operations on POSIX shm objects and mappings.
 *
 * Objects are named relative to a directory descriptor (the *_at functions: a namespace's own
 * directory, held open, or AT_FDCWD with a /dev/shm path), are never reached through a
 * symbolic link (O_NOFOLLOW) and are checked to be regular files once opened: a name that a
 * hostile user planted as a link, FIFO or directory is refused, never followed.
 *
 * Atomic publication: an object is created under a unique temporary name, sized and given its
 * mode, then link()ed to its final name. link() fails with EEXIST instead of replacing, so
 * exactly one creator wins and no opener ever sees a half-initialised object (the trick musl's
 * sem_open uses).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg/seg.h"
#include "sys/sys.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ  22
#define MADV_POPULATE_WRITE 23
#endif

int sk_shm_path(char *path, size_t len, const char *name)
{
	if (!name)
		return -EINVAL;
	if (*name == '/')
		name++;
	size_t n = strnlen(name, SK_SHM_NAME_MAX + 1);
	if (n == 0 || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return -EINVAL;
	if (n > SK_SHM_NAME_MAX)
		return -ENAMETOOLONG;
	int w = snprintf(path, len, SK_SHM_DIR "/%s", name);
	return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

static int size_fd(int fd, uint64_t size, mode_t mode)
{
	uint64_t page = sk_page_size();
	if (size > SK_SEG_SIZE_MAX)
		return -EINVAL;
	if (fchmod(fd, mode) < 0)
		return -errno;
	if (ftruncate(fd, (off_t)((size + page - 1) / page * page)) < 0)
		return -errno;
	return 0;
}

int sk_tmpfile_at(int dirfd, const char *dir, uint64_t size, mode_t mode)
{
	if (mode & ~07777u)
		return -EINVAL;
	/* An unnamed file in the directory, linked in by sk_publish_at() once complete. */
	int fd = openat(dirfd, dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	int err = size_fd(fd, size, mode);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

int sk_publish_at(int fd, int dirfd, const char *name)
{
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	/* link() never replaces: of two racing creators exactly one wins, the other gets EEXIST.
	 * (Through /proc/self/fd: AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH.) */
	return linkat(AT_FDCWD, self, dirfd, name, AT_SYMLINK_FOLLOW) == 0 ? 0 : -errno;
}

int sk_create_at(int dirfd, const char *name, uint64_t size, mode_t mode)
{
	int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return -errno;
	int err = size_fd(fd, size, mode);
	if (err) {
		unlinkat(dirfd, name, 0);
		close(fd);
		return err;
	}
	return fd;
}

int sk_open_at(int dirfd, const char *name, int flags, struct stat *st)
{
	struct stat tmp;
	if (!st)
		st = &tmp;
	/* O_NONBLOCK: a FIFO planted under the name must not block the open. */
	int fd = openat(dirfd, name, flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return -EBADMSG;
	}
	return fd;
}

int sk_posix_tmpfile(uint64_t size, mode_t mode)
{
	return sk_tmpfile_at(AT_FDCWD, SK_SHM_DIR, size, mode);
}

int sk_posix_publish(int fd, const char *name)
{
	char path[SK_SHM_NAME_MAX + 16];
	int err = sk_shm_path(path, sizeof(path), name);
	return err ? err : sk_publish_at(fd, AT_FDCWD, path);
}

int sk_posix_create(const char *name, uint64_t size, mode_t mode, int excl)
{
	return sk_posix_create_owned(name, size, mode, -1, -1, excl);
}

int sk_posix_create_owned(const char *name, uint64_t size, mode_t mode, int64_t uid, int64_t gid,
                          int excl)
{
	char path[SK_SHM_NAME_MAX + 16];
	int err = sk_shm_path(path, sizeof(path), name);
	if (err)
		return err;
	if (uid < -1 || uid >= (int64_t)UINT32_MAX || gid < -1 || gid >= (int64_t)UINT32_MAX)
		return -EINVAL;
	for (;;) {
		int fd = sk_posix_tmpfile(size, mode);
		if (fd < 0)
			return fd;
		/* Owner before publication, so no opener ever sees the object under the wrong one.
		 */
		err = 0;
		if ((uid != -1 || gid != -1) && fchown(fd, (uid_t)uid, (gid_t)gid) < 0)
			err = -errno;
		if (!err)
			err = sk_posix_publish(fd, name);
		if (!err)
			return fd;
		close(fd);
		if (err != -EEXIST || excl)
			return err;
		/* It exists: open it, unless it vanished in between, then try again. */
		fd = sk_open_at(AT_FDCWD, path, O_RDWR, NULL);
		if (fd != -ENOENT)
			return fd;
	}
}

int sk_posix_open(const char *name, int rdonly)
{
	char path[SK_SHM_NAME_MAX + 16];
	int err = sk_shm_path(path, sizeof(path), name);
	if (err)
		return err;
	return sk_open_at(AT_FDCWD, path, rdonly ? O_RDONLY : O_RDWR, NULL);
}

int sk_posix_unlink(const char *name)
{
	char path[SK_SHM_NAME_MAX + 16];
	int err = sk_shm_path(path, sizeof(path), name);
	if (err)
		return err;
	return unlink(path) == 0 ? 0 : -errno;
}

int sk_populate(void *addr, size_t len, int writable)
{
	/*
	 * MAP_POPULATE ignores failures, so a full tmpfs or an empty huge page pool would show up
	 * as SIGBUS on first touch. MADV_POPULATE_* (Linux 5.14) reports them instead.
	 */
	if (madvise(addr, len, writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0)
		return 0;
	if (errno == EINVAL)
		return 0; /* older kernel: MAP_POPULATE already did what it could */
	/* EFAULT: a page could not be backed (the fault would have been SIGBUS): out of space. */
	return errno == EFAULT ? -ENOSPC : -errno;
}

int sk_map_fd(int fd, size_t len, off_t off, void *addr, unsigned flags, void **out)
{
	int prot = PROT_READ | ((flags & SK_MAP_RDONLY) ? 0 : PROT_WRITE) |
	           ((flags & SK_MAP_EXEC) ? PROT_EXEC : 0);
	int mflags = (flags & SK_MAP_PRIVATE) ? MAP_PRIVATE : MAP_SHARED;
	int err;

	if (len == 0)
		return -EINVAL;
	if (flags & SK_MAP_REPLACE)
		mflags |= MAP_FIXED;
	else if (flags & SK_MAP_FIXED)
		mflags |= MAP_FIXED_NOREPLACE;
	if (flags & SK_MAP_POPULATE)
		mflags |= MAP_POPULATE;
	void *p = mmap(addr, len, prot, mflags, fd, off);
	if (p == MAP_FAILED)
		return -errno;
	if ((flags & SK_MAP_FIXED) && p != addr) {
		/* A kernel older than 4.17 took MAP_FIXED_NOREPLACE as a hint. */
		munmap(p, len);
		return -EEXIST;
	}
	err = (flags & SK_MAP_POPULATE) && !(flags & SK_MAP_PRIVATE)
	          ? sk_populate(p, len, !(flags & SK_MAP_RDONLY))
	          : 0;
	if (!err && (flags & SK_MAP_LOCK) && mlock(p, len) < 0)
		err = -errno;
	if (err) {
		munmap(p, len);
		return err;
	}
	*out = p;
	return 0;
}
