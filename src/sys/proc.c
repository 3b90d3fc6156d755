/* SPDX-License-Identifier: MIT */
/*
 * Processes: thread ids, pidfds, and PID-reuse-safe liveness from /proc/PID/stat start times.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/sys.h"

static __thread pid_t cached_tid;
pid_t sk_pid_cache; /* sys.h: sk_self_pid_inline */

static void forget_tid(void)
{
	cached_tid = 0; /* runs in the child of fork: its thread id and pid are new */
	sk_pid_cache = 0;
}

static pthread_once_t tid_once = PTHREAD_ONCE_INIT;
static void tid_init(void)
{
	pthread_atfork(NULL, NULL, forget_tid);
}

pid_t sk_gettid(void)
{
	if (SK_UNLIKELY(cached_tid == 0)) {
		pthread_once(&tid_once, tid_init);
		cached_tid = (pid_t)syscall(SYS_gettid);
	}
	return cached_tid;
}

pid_t sk_self_pid(void)
{
	if (SK_UNLIKELY(sk_pid_cache == 0)) {
		pthread_once(&tid_once, tid_init);
		sk_pid_cache = getpid();
	}
	return sk_pid_cache;
}

int sk_memfd_create(const char *name, unsigned flags)
{
	long fd = syscall(SYS_memfd_create, name, flags);
	return fd < 0 ? -errno : (int)fd;
}

int sk_pidfd_open(pid_t pid)
{
#ifdef SYS_pidfd_open
	long fd = syscall(SYS_pidfd_open, pid, 0);
	return fd < 0 ? -errno : (int)fd;
#else
	(void)pid;
	return -ENOSYS;
#endif
}

static int read_small_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = SK_RETRY_EINTR(read(fd, buf, len - 1));
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	return (int)n;
}

int sk_proc_starttime(pid_t pid, uint64_t *start)
{
	char path[64], buf[1024];
	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int n = read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return n == -ENOENT ? -ESRCH : n;
	/* comm may contain spaces and ')': the fields after it start after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EPROTO;
	p++;
	/* After ')' come field 3 (state) ... field 22 (starttime): skip 19 separators. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EPROTO;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EPROTO;
	*start = v;
	return 0;
}

int sk_proc_alive(pid_t pid, uint64_t start)
{
	uint64_t now;
	int r = sk_proc_starttime(pid, &now);
	if (r == -ESRCH)
		return 0;
	if (r < 0)
		return r;
	return now == start;
}

int sk_proc_ref_open(struct sk_proc_ref *r, pid_t pid)
{
	r->pid = pid;
	r->pidfd = -1;
	int err = sk_proc_starttime(pid, &r->start);
	if (err < 0)
		return err;
	int fd = sk_pidfd_open(pid);
	if (fd >= 0) {
		/* The pidfd pins this process; recheck that pid was not reused in between. */
		int alive = sk_proc_alive(pid, r->start);
		if (alive <= 0) {
			close(fd);
			return alive < 0 ? alive : -ESRCH;
		}
		r->pidfd = fd;
	} else if (fd != -ENOSYS) {
		return fd;
	}
	return 0;
}

int sk_proc_ref_alive(const struct sk_proc_ref *r)
{
	if (r->pidfd >= 0) {
		/* pidfd_send_signal with signal 0 fails with ESRCH once the process has exited. */
#ifdef SYS_pidfd_send_signal
		if (syscall(SYS_pidfd_send_signal, r->pidfd, 0, NULL, 0) == 0)
			return 1;
		if (errno == ESRCH)
			return 0;
		if (errno != ENOSYS && errno != EPERM)
			return -errno;
#endif
	}
	return sk_proc_alive(r->pid, r->start);
}

void sk_proc_ref_close(struct sk_proc_ref *r)
{
	if (r->pidfd >= 0)
		close(r->pidfd);
	r->pidfd = -1;
}

int sk_proc_comm(pid_t pid, char *buf, size_t len)
{
	char path[64];
	if (len < 2)
		return -EINVAL;
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	int n = read_small_file(path, buf, len);
	if (n < 0)
		return n == -ENOENT ? -ESRCH : n;
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return n;
}

size_t sk_page_size(void)
{
	static size_t page;
	if (SK_UNLIKELY(!page))
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}
