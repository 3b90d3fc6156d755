/* SPDX-License-Identifier: MIT */
/* The kernel's SysV shared-memory limits, read live from /proc/sys/kernel. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/sys.h"

int sk_parse_u64(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	while (*end == '\n' || *end == ' ')
		end++;
	if (*end)
		return -EINVAL;
	*out = v;
	return 0;
}

int sk_open_kernel(const char *path, int flags)
{
	/* The system call itself: an interposer of open() (ours answers these very files for a
	 * namespace) must not see the library's own reads of the kernel's values. */
	long fd = syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0);
	return fd < 0 ? -errno : (int)fd;
}

int sk_read_u64_file(const char *path, uint64_t *out)
{
	char buf[64];
	int fd = sk_open_kernel(path, O_RDONLY);
	if (fd < 0)
		return fd;
	ssize_t n = SK_RETRY_EINTR(read(fd, buf, sizeof(buf) - 1));
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	return sk_parse_u64(buf, out);
}

int sk_shm_limits_read(struct sk_shm_limits *l)
{
	/* The kernel's defaults since 3.16, used where /proc/sys is not mounted. */
	const uint64_t big = (uint64_t)ULONG_MAX - (1ULL << 24);
	uint64_t v;

	l->shmmax = sk_read_u64_file("/proc/sys/kernel/shmmax", &v) == 0 ? v : big;
	l->shmall = sk_read_u64_file("/proc/sys/kernel/shmall", &v) == 0 ? v : big;
	l->shmmni = sk_read_u64_file("/proc/sys/kernel/shmmni", &v) == 0 ? v : 4096;
	l->rmid_forced = sk_read_u64_file("/proc/sys/kernel/shm_rmid_forced", &v) == 0 ? v != 0 : 0;
	return 0;
}
