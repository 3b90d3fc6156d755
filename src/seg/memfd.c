/* SPDX-License-Identifier: MIT */
/*
 * memfd and huge page objects.
 *
 * Huge pages come from memfd_create(MFD_HUGETLB) or, on kernels without it, from an O_TMPFILE
 * file on a mounted hugetlbfs. Either way the pages are allocated with fallocate() as soon as
 * the object is sized: when the pool is short (or empty: HugePages_Total 0) creation fails
 * with -ENOMEM instead of a SIGBUS at some later first touch. Transparent huge pages are not
 * offered as a substitute: they are a hint, and a caller who asked for huge pages wants to
 * know that it did not get them.
 */
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "seg/handle.h"
#include "sys/sys.h"

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC       0x0001u
#define MFD_ALLOW_SEALING 0x0002u
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004u
#endif
#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26
#endif
#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif
#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif
#define HUGE_LOG_MAX 63 /* MFD_HUGE_MASK is 0x3f */

_Static_assert(SHMKIT_SEAL_SEAL == F_SEAL_SEAL && SHMKIT_SEAL_SHRINK == F_SEAL_SHRINK &&
                   SHMKIT_SEAL_GROW == F_SEAL_GROW && SHMKIT_SEAL_WRITE == F_SEAL_WRITE &&
                   SHMKIT_SEAL_FUTURE_WRITE == F_SEAL_FUTURE_WRITE,
               "public seals are the kernel's");

/* log2 of a huge page size: a power of two larger than a page. */
static int huge_log2(uint64_t size, unsigned *log)
{
	if (size <= sk_page_size() || (size & (size - 1)))
		return -EINVAL;
	*log = (unsigned)__builtin_ctzll(size);
	return *log <= HUGE_LOG_MAX ? 0 : -EINVAL;
}

int sk_hugetlbfs_tmpfile(uint64_t want)
{
	FILE *f = setmntent("/proc/mounts", "re");
	struct mntent *m, buf;
	char line[1024];
	struct statfs sf;
	int fd = -EOPNOTSUPP;

	if (!f)
		return -EOPNOTSUPP;
	while (fd == -EOPNOTSUPP && (m = getmntent_r(f, &buf, line, sizeof(line)))) {
		if (strcmp(m->mnt_type, "hugetlbfs") || statfs(m->mnt_dir, &sf) < 0)
			continue;
		if (want && (uint64_t)sf.f_bsize != want)
			continue;
		fd = open(m->mnt_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (fd < 0)
			fd = errno == EACCES ? -EACCES : -EOPNOTSUPP;
	}
	endmntent(f);
	return fd;
}

static int huge_open(const char *label, uint64_t want, uint64_t *page)
{
	unsigned log = 0, fl = MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_HUGETLB;
	struct statfs sf;

	if (want && huge_log2(want, &log))
		return -EINVAL;
	int fd = sk_memfd_create(label, fl | (log << MFD_HUGE_SHIFT));
	if (fd == -ENODEV)
		return -EOPNOTSUPP; /* no pool of that page size on this system */
	if (fd == -EINVAL || fd == -ENOSYS)
		fd = sk_hugetlbfs_tmpfile(want); /* a kernel without MFD_HUGETLB (< 4.14) */
	if (fd < 0)
		return fd;
	if (fstatfs(fd, &sf) < 0 || (uint32_t)sf.f_type != HUGETLBFS_MAGIC) {
		close(fd);
		return -EOPNOTSUPP;
	}
	*page = (uint64_t)sf.f_bsize;
	return fd;
}

int sk_seg_huge_reserve(int fd, uint64_t from, uint64_t to)
{
	if (fallocate(fd, 0, (off_t)from, (off_t)(to - from)) == 0)
		return 0;
	if (errno == EOPNOTSUPP)
		return 0; /* hugetlbfs before 4.3: the first touch will tell */
	/* hugetlbfs says ENOSPC for an exhausted pool; mmap and shmget say ENOMEM for the same. */
	return errno == ENOSPC ? -ENOMEM : -errno;
}

static int build(int fd, uint64_t size, const struct shmkit_seg_config *c, mode_t mode,
                 uint64_t granule)
{
	uint64_t len = SK_ALIGN_UP(size, granule);

	if ((c->uid != -1 || c->gid != -1) && fchown(fd, (uid_t)c->uid, (gid_t)c->gid) < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 || ftruncate(fd, (off_t)len) < 0)
		return -errno;
	int err = c->backend == SHMKIT_SEG_HUGETLB ? sk_seg_huge_reserve(fd, 0, len) : 0;
	/* Sealed last: SEAL_GROW/SHRINK would refuse the ftruncate above. */
	if (!err && c->seals && fcntl(fd, F_ADD_SEALS, (int)c->seals) < 0)
		err = -errno;
	return err;
}

int sk_seg_memfd_create(const char *label, uint64_t size, const struct shmkit_seg_config *c,
                        mode_t mode, uint64_t *huge_page_size)
{
	char path[SK_SHM_NAME_MAX + 16];
	int fd;

	*huge_page_size = 0;
	if (!label)
		label = "shmkit";
	/* Labels follow the POSIX name rules, so one name works with every backend. */
	int err = sk_shm_path(path, sizeof(path), label);
	if (err)
		return err;
	label += *label == '/';
	if (c->backend == SHMKIT_SEG_HUGETLB)
		fd = huge_open(label, c->huge_page_size, huge_page_size);
	else
		fd = sk_memfd_create(label, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return fd;
	err = build(fd, size, c, mode, *huge_page_size ? *huge_page_size : sk_page_size());
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}
