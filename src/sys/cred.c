/* SPDX-License-Identifier: MIT */
/*
 * Credentials and memory locking: the caller's capabilities and groups, as the kernel's
 * permission checks see them, and mlock as the kernel's SHM_LOCK does it.
 */
#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/sys.h"

int sk_has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	if (cap < 0 || cap >= 64 || syscall(SYS_capget, &hdr, data) < 0)
		return 0;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

int sk_in_group(gid_t gid)
{
	if (getegid() == gid)
		return 1;
	gid_t groups[256];
	int n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/*
 * Lock pages as they are faulted in (MLOCK_ONFAULT), like the kernel's SHM_LOCK, which marks
 * the segment unevictable without populating it. System calls, because sanitizer runtimes
 * turn the libc functions into no-ops.
 */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
int sk_mlock_onfault(void *addr, size_t len, int lock)
{
	long r =
	    lock ? syscall(SYS_mlock2, addr, len, MLOCK_ONFAULT) : syscall(SYS_munlock, addr, len);
	return r < 0 ? -errno : 0;
}

int sk_getrandom(void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		long r = syscall(SYS_getrandom, (char *)buf + done, len - done, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}
