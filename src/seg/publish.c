/* SPDX-License-Identifier: MIT */
/*
 * Shared objects with a versioned header, made whole before anyone sees them, and opened only
 * when they are what they must be.
 *
 * Memory ordering
 *   BARRIER_PUB: the creator fills the object (every field, then the magic), then release-
 *   stores the layout version; an opener acquire-loads the version before it reads anything
 *   else (sk_hdr_check). The object is also built under no name and link()ed into place only
 *   once complete (sk_obj_build_at), so no opener ever maps it half-made; the pair still
 *   matters for openers of an object that a creator on another CPU has just linked, and it
 *   rejects a file a hostile user wrote by hand unless it is whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg/seg.h"
#include "sys/sys.h"

void sk_hdr_publish(SK_ATOMIC(uint32_t) * magic, SK_ATOMIC(uint32_t) * version, uint32_t m,
                    uint32_t v)
{
	sk_store_relaxed(magic, m);
	/* BARRIER_PUB: pairs with the acquire load of version in sk_hdr_check(). */
	sk_store_release(version, v);
}

int sk_hdr_check(SK_ATOMIC(uint32_t) * magic, SK_ATOMIC(uint32_t) * version, uint32_t m, uint32_t v)
{
	/* BARRIER_PUB: pairs with the release store in sk_hdr_publish(). */
	uint32_t have = sk_load_acquire(version);
	if (sk_load_relaxed(magic) != m)
		return -EBADMSG;
	return have == v ? 0 : -EPROTO;
}

int sk_obj_build_at(int dirfd, const char *name, uint64_t size, mode_t mode, gid_t gid,
                    int (*init)(void *map, void *arg), void *arg)
{
	if (size > SIZE_MAX)
		return -EINVAL;
	int fd = sk_tmpfile_at(dirfd, ".", size, mode);
	if (fd < 0)
		return fd;
	int err = 0;
	if (gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0)
		err = -errno;
	/* Allocate every page now: a full tmpfs must fail here, not SIGBUS a user later. */
	if (!err && size && (err = posix_fallocate(fd, 0, (off_t)size)) > 0)
		err = -err;
	void *p = MAP_FAILED;
	if (!err && size &&
	    (p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
		err = -errno;
	if (!err && init)
		err = init(p == MAP_FAILED ? NULL : p, arg);
	if (p != MAP_FAILED)
		munmap(p, (size_t)size);
	if (!err)
		err = sk_publish_at(fd, dirfd, name);
	close(fd);
	return err;
}

int sk_open_own_at(int dirfd, const char *name, int flags, const struct stat *dir, struct stat *st)
{
	int fd = sk_open_at(dirfd, name, flags, st);
	if (fd < 0)
		return fd;
	int err = 0;
	if (st->st_uid != dir->st_uid)
		err = -EPERM; /* planted by someone other than the directory's owner */
	else if (st->st_nlink != 1 || st->st_dev != dir->st_dev)
		err = -EBADMSG;
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}
