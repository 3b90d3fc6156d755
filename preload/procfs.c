/* SPDX-License-Identifier: MIT */
/*
 * The interposer's view of the kernel's System V files, for the process's namespace:
 *
 *   /proc/sysvipc/shm          the segments, in the kernel's format (ipcs, lsipc read it);
 *   /proc/sys/kernel/shmmax, shmall, shmmni, shm_rmid_forced, shm_next_id
 *                              the namespace's limits, as an IPC namespace has its own.
 *
 * An open for reading gets a memfd holding the text. An open for writing (a sysctl) gets a
 * memfd that is remembered by its inode: a write() to it, however the descriptor was
 * duplicated meanwhile, is parsed and applied to the namespace at once, with the kernel's
 * errors (EINVAL); a FILE made from it (fopen, fdopen) applies what it writes when flushed.
 * Writing needs the namespace's owner (or CAP_SYS_ADMIN), as the kernel's files need root:
 * the open fails with EACCES otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload.h"
#include "sys/sys.h"

#define PROC_SHM "/proc/sysvipc/shm"

/* The 64-bit kernel's /proc/sysvipc/shm (ipc/shm.c sysvipc_shm_proc_show): a 32-bit process on
 * a 64-bit kernel reads this format too. */
#define PROC_SHM_HEADER                                                                            \
	"       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  " \
	"cgid      atime      dtime      ctime                   rss                  swap\n"

static const char *const sysctl_names[] = {
    [PL_VIEW_SHMMAX] = "/proc/sys/kernel/shmmax",
    [PL_VIEW_SHMALL] = "/proc/sys/kernel/shmall",
    [PL_VIEW_SHMMNI] = "/proc/sys/kernel/shmmni",
    [PL_VIEW_RMID_FORCED] = "/proc/sys/kernel/shm_rmid_forced",
    [PL_VIEW_NEXT_ID] = "/proc/sys/kernel/shm_next_id",
};

int pl_view_of(const char *path)
{
	if (!path || strncmp(path, "/proc/s", 7))
		return PL_VIEW_NONE;
	if (!strcmp(path, PROC_SHM))
		return PL_VIEW_SYSVIPC;
	for (int v = PL_VIEW_SHMMAX; v <= PL_VIEW_NEXT_ID; v++)
		if (!strcmp(path, sysctl_names[v]))
			return v;
	return PL_VIEW_NONE;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ---- /proc/sysvipc/shm ---- */

static int format_row(char *buf, size_t len, const struct shmkit_seg_stat *s)
{
	const struct shmid_ds *d = &s->ds;
	struct stat st;
	/* The kernel's own file has 64-bit fields for every reader: a 32-bit process's long would
	 * wrap the resident bytes of a segment past 4 GiB. */
	unsigned long long rss = s->backing[0] && stat(s->backing, &st) == 0
	                             ? (unsigned long long)st.st_blocks * 512
	                             : 0;
	return snprintf(buf, len,
	                "%10d %10d  %4o %21lu %5u %5u  %5lu %5u %5u %5u %5u %10llu %10llu %10llu "
	                "%21llu %21lu\n",
	                (int)d->shm_perm.__key, (int)s->id, (unsigned)d->shm_perm.mode,
	                (unsigned long)d->shm_segsz, (unsigned)d->shm_cpid, (unsigned)d->shm_lpid,
	                (unsigned long)d->shm_nattch, (unsigned)d->shm_perm.uid,
	                (unsigned)d->shm_perm.gid, (unsigned)d->shm_perm.cuid,
	                (unsigned)d->shm_perm.cgid, (unsigned long long)d->shm_atime,
	                (unsigned long long)d->shm_dtime, (unsigned long long)d->shm_ctime, rss,
	                0ul);
}

/* The namespace's segments into a malloc'ed array; *n how many. A namespace that does not
 * exist yet has none. */
static int read_segments(struct shmkit_seg_stat **out, size_t *n)
{
	const char *ns = shmkit_ns_current();
	struct shmkit_seg_stat *v = NULL;
	int count = shmkit_ns_segments(ns, NULL, 0);
	for (int tries = 0; count > 0 && tries < 4; tries++) {
		free(v);
		size_t cap = (size_t)count + 16; /* room for a few created meanwhile */
		if (!(v = malloc(cap * sizeof(*v))))
			return -ENOMEM;
		count = shmkit_ns_segments(ns, v, cap);
		if (count >= 0 && (size_t)count > cap)
			count = (int)cap; /* still growing: show what fitted */
		if (count >= 0)
			break;
	}
	if (count == -ENOENT)
		count = 0;
	if (count < 0) {
		free(v);
		return count;
	}
	*out = v;
	*n = (size_t)count;
	return 0;
}

static int fill_sysvipc(int fd)
{
	struct shmkit_seg_stat *v = NULL;
	size_t n = 0;
	int err = read_segments(&v, &n);
	if (err) {
		errno = -err;
		return -1;
	}
	err = write_all(fd, PROC_SHM_HEADER, sizeof(PROC_SHM_HEADER) - 1);
	char row[512];
	for (size_t i = 0; !err && i < n; i++) {
		int len = format_row(row, sizeof(row), &v[i]);
		err = write_all(fd, row, (size_t)len);
	}
	free(v);
	return err;
}

/* ---- the sysctls ---- */

static int effective(int view, long long *out)
{
	const char *ns = shmkit_ns_current();
	struct shmkit_ns_limits o;
	struct sk_shm_limits k;
	int32_t next = -1;
	sk_shm_limits_read(&k);
	int err = shmkit_ns_get_limits(ns, &o);
	if (err == -ENOENT)
		memset(&o, 0, sizeof(o)), o.rmid_forced = -1, err = 0;
	if (err)
		return err;
	switch (view) {
	case PL_VIEW_SHMMAX:
		*out = o.zero & SHMKIT_NS_ZERO_SHMMAX ? 0
		                                      : (long long)(o.shmmax ? o.shmmax : k.shmmax);
		break;
	case PL_VIEW_SHMALL:
		*out = o.zero & SHMKIT_NS_ZERO_SHMALL ? 0
		                                      : (long long)(o.shmall ? o.shmall : k.shmall);
		break;
	case PL_VIEW_SHMMNI:
		*out = o.zero & SHMKIT_NS_ZERO_SHMMNI ? 0
		                                      : (long long)(o.shmmni ? o.shmmni : k.shmmni);
		break;
	case PL_VIEW_RMID_FORCED:
		*out = o.rmid_forced >= 0 ? o.rmid_forced : (long long)k.rmid_forced;
		break;
	default:
		err = shmkit_ns_get_next_id(ns, &next);
		*out = err == -ENOENT ? -1 : next;
		return err == -ENOENT ? 0 : err;
	}
	return 0;
}

static int fill_sysctl(int fd, int view)
{
	long long v;
	char text[32];
	int err = effective(view, &v);
	if (err) {
		errno = -err;
		return -1;
	}
	/* unsigned long for shmmax and shmall (proc_doulongvec_minmax), int for the others */
	if (view == PL_VIEW_SHMMAX || view == PL_VIEW_SHMALL)
		snprintf(text, sizeof(text), "%llu\n", (unsigned long long)v);
	else
		snprintf(text, sizeof(text), "%lld\n", v);
	return write_all(fd, text, strlen(text));
}

/* Parse one value as the kernel's sysctl handlers do: blanks, a number, blanks. */
static int parse_value(int view, const char *buf, size_t n, long long *out)
{
	char text[64];
	if (n >= sizeof(text))
		return -EINVAL;
	memcpy(text, buf, n);
	text[n] = '\0';
	char *p = text, *end;
	while (*p == ' ' || *p == '\t' || *p == '\n')
		p++;
	if (!*p)
		return -EINVAL;
	int neg = *p == '-';
	errno = 0;
	unsigned long long u = strtoull(p + neg, &end, 10);
	if (errno || end == p + neg)
		return -EINVAL;
	for (; *end; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n')
			return -EINVAL;
	if (view == PL_VIEW_SHMMAX || view == PL_VIEW_SHMALL) {
		if (neg || u > (unsigned long long)LLONG_MAX)
			return -EINVAL;
	} else if (neg ? u > 1 || view != PL_VIEW_NEXT_ID : u > INT32_MAX) {
		return -EINVAL;
	}
	long long v = neg ? -(long long)u : (long long)u;
	if ((view == PL_VIEW_RMID_FORCED && v > 1) ||
	    (view == PL_VIEW_SHMMNI && v > SHMKIT_NS_MAX_SEGMENTS))
		return -EINVAL;
	*out = v;
	return 0;
}

static int apply(int view, long long v)
{
	const char *ns = shmkit_ns_current();
	if (view == PL_VIEW_NEXT_ID)
		return shmkit_ns_set_next_id(ns, (int32_t)v);
	struct shmkit_ns_limits l;
	int err = shmkit_ns_get_limits(ns, &l);
	if (err == -ENOENT)
		memset(&l, 0, sizeof(l)), l.rmid_forced = -1, err = 0;
	if (err)
		return err;
	switch (view) {
	case PL_VIEW_SHMMAX:
		l.shmmax = (uint64_t)v;
		l.zero = v ? l.zero & ~SHMKIT_NS_ZERO_SHMMAX : l.zero | SHMKIT_NS_ZERO_SHMMAX;
		break;
	case PL_VIEW_SHMALL:
		l.shmall = (uint64_t)v;
		l.zero = v ? l.zero & ~SHMKIT_NS_ZERO_SHMALL : l.zero | SHMKIT_NS_ZERO_SHMALL;
		break;
	case PL_VIEW_SHMMNI:
		l.shmmni = (uint64_t)v;
		l.zero = v ? l.zero & ~SHMKIT_NS_ZERO_SHMMNI : l.zero | SHMKIT_NS_ZERO_SHMMNI;
		break;
	default:
		l.rmid_forced = (int32_t)v;
		break;
	}
	return shmkit_ns_set_limits(ns, &l);
}

static int write_value(int view, const char *buf, size_t n)
{
	long long v;
	int err = parse_value(view, buf, n, &v);
	return err ? err : apply(view, v);
}

/* The caller may change the namespace's limits (its owner, or CAP_SYS_ADMIN). */
static int may_write(void)
{
	struct shmkit_ns_info in;
	if (sk_has_cap(CAP_SYS_ADMIN))
		return 1;
	if (shmkit_ns_info(shmkit_ns_current(), &in) < 0)
		return 0;
	return (in.flags & SHMKIT_NS_MISSING) || in.owner == geteuid();
}

/* ---- writable views, known by their memfd's inode ---- */

#define MAX_WRITERS 16

static struct {
	dev_t dev;
	ino_t ino;
	int view;
} writers[MAX_WRITERS];
static SK_ATOMIC(int) nwriters;
static pthread_mutex_t writers_lock = PTHREAD_MUTEX_INITIALIZER;

static int remember(int fd, int view)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	pthread_mutex_lock(&writers_lock);
	int n = sk_load_relaxed(&nwriters),
	    slot = n < MAX_WRITERS ? n : (int)(st.st_ino % MAX_WRITERS);
	writers[slot].dev = st.st_dev;
	writers[slot].ino = st.st_ino;
	writers[slot].view = view;
	/* Release: pairs with the acquire load in view_of_fd(): the entry is complete. */
	if (n < MAX_WRITERS)
		atomic_store_explicit(&nwriters, n + 1, memory_order_release);
	pthread_mutex_unlock(&writers_lock);
	return 0;
}

/* Which writable view fd is, if any; cheap when none was ever opened. */
static int view_of_fd(int fd)
{
	/* Acquire: pairs with the release store in remember(). */
	int n = atomic_load_explicit(&nwriters, memory_order_acquire);
	struct stat st;
	if (SK_LIKELY(n == 0) || fstat(fd, &st) < 0)
		return PL_VIEW_NONE;
	int view = PL_VIEW_NONE;
	pthread_mutex_lock(&writers_lock);
	for (int i = 0; i < n; i++)
		if (writers[i].dev == st.st_dev && writers[i].ino == st.st_ino)
			view = writers[i].view;
	pthread_mutex_unlock(&writers_lock);
	return view;
}

int pl_view_write(int fd, const void *buf, size_t n, ssize_t *ret)
{
	int view = view_of_fd(fd);
	if (view == PL_VIEW_NONE)
		return 0;
	int err = write_value(view, buf, n);
	if (err) {
		errno = -err;
		*ret = -1;
	} else {
		*ret = (ssize_t)n;
	}
	return 1;
}

/* ---- opening a view ---- */

int pl_view_open(int view, int flags)
{
	int acc = flags & O_ACCMODE, wr = acc != O_RDONLY;
	if (view == PL_VIEW_SYSVIPC && (wr || (flags & (O_CREAT | O_TRUNC)))) {
		errno = EACCES; /* the kernel's file is read-only */
		return -1;
	}
	if (wr && !may_write()) {
		errno = EACCES;
		return -1;
	}
	int fd = memfd_create(view == PL_VIEW_SYSVIPC ? "sysvipc-shm" : "sysctl-shm",
	                      (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	int err = 0;
	if (!(flags & O_TRUNC) || !wr)
		err = view == PL_VIEW_SYSVIPC ? fill_sysvipc(fd) : fill_sysctl(fd, view);
	if (!err && wr)
		err = remember(fd, view);
	if (err || lseek(fd, 0, SEEK_SET) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---- FILE streams that write a view ---- */

struct cookie {
	int view;
	int fd; /* the memfd behind it, for reads */
};

static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	ssize_t r = read(((struct cookie *)c)->fd, buf, n);
	return r;
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	int err = write_value(((struct cookie *)c)->view, buf, n);
	if (err) {
		errno = -err;
		return -1;
	}
	return (ssize_t)n;
}

static int cookie_close(void *c)
{
	struct cookie *k = c;
	int r = close(k->fd);
	free(k);
	return r;
}

static FILE *cookie_file(int view, int fd, const char *mode)
{
	struct cookie *k = malloc(sizeof(*k));
	if (!k)
		return NULL;
	k->view = view;
	k->fd = fd;
	cookie_io_functions_t io = {cookie_read, cookie_write, NULL, cookie_close};
	FILE *f = fopencookie(k, mode, io);
	if (!f)
		free(k);
	return f;
}

FILE *pl_view_fopen(int view, const char *mode)
{
	int wr = mode[0] != 'r' || strchr(mode, '+');
	int flags = (wr ? (strchr(mode, '+') ? O_RDWR : O_WRONLY) : O_RDONLY) |
	            (strchr(mode, 'e') ? O_CLOEXEC : 0) | (mode[0] == 'w' ? O_TRUNC : 0);
	int fd = pl_view_open(view, flags);
	if (fd < 0)
		return NULL;
	FILE *f = wr ? cookie_file(view, fd, mode) : fdopen(fd, "r");
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

int pl_view_fdopen(int fd, const char *mode, FILE **out)
{
	int view = view_of_fd(fd);
	if (view == PL_VIEW_NONE)
		return 0;
	*out = cookie_file(view, fd, mode);
	return 1;
}
