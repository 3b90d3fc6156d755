/* SPDX-License-Identifier: MIT */
/*
 * libshmkit-sysv.so: LD_PRELOAD interposer that routes a program's System V shared-memory
 * calls to shmkit's model (src/sysv), in the namespace named by $SHMKIT_NAMESPACE.
 *
 * Interposed:
 *   shmget, shmat, shmdt, shmctl  -> shmkit_shmget/shmat/shmdt/shmctl.
 *   __shmctl64                    glibc's time64 entry point on 32-bit (_TIME_BITS=64); it is
 *                                 only exported where this build's struct shmid_ds has 64-bit
 *                                 times, i.e. where it has the same layout as the caller's.
 *   cmd bits                      passed on unchanged: shmkit_shmctl treats them as the
 *                                 kernel does. A 32-bit build strips IPC_64 (0x100), which
 *                                 glibc ORs into cmd and which is also musl's 32-bit time64
 *                                 encoding (IPC_STAT 0x102, SHM_STAT 0x10d, ...); on 64-bit,
 *                                 where the kernel does not parse IPC_64, such a cmd fails
 *                                 with EINVAL as it does on the kernel.
 *   open, open64, openat, openat64, their fortified __*_2 variants, fopen, fopen64:
 *                                 for exactly "/proc/sysvipc/shm" they return a memfd holding
 *                                 the kernel's format generated from the current namespace, so
 *                                 that unmodified ipcs(1) and lsipc(1) show shmkit's segments.
 *                                 Every other path goes to the next definition (libc).
 *
 * Not reachable by any preload: statically linked programs, set-user-ID/set-group-ID or
 * file-capability programs (the dynamic loader ignores LD_PRELOAD in secure mode), and
 * programs that issue the system calls themselves through syscall(2). Those use the kernel.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal/atomic.h"
#include "internal/compiler.h"
#include "shmkit.h"

#define PROC_SHM "/proc/sysvipc/shm"

/* The 64-bit kernel's /proc/sysvipc/shm (ipc/shm.c sysvipc_shm_proc_show): a 32-bit process on
 * a 64-bit kernel reads this format too. */
#define PROC_SHM_HEADER                                                                            \
	"       key      shmid perms                  size  cpid  lpid nattch   uid   gid  cuid  " \
	"cgid      atime      dtime      ctime                   rss                  swap\n"

/* ---- the next definitions (libc) ---- */

/*
 * Resolved once per name. Races only store the same value twice, so relaxed atomics suffice:
 * no other data is published through these pointers.
 */
#define NEXT(type, name)                                                                           \
	static type next_##name(void)                                                              \
	{                                                                                          \
		static SK_ATOMIC(void *) fn;                                                       \
		void *f = sk_load_relaxed(&fn);                                                    \
		if (SK_UNLIKELY(!f)) {                                                             \
			f = dlsym(RTLD_NEXT, #name);                                               \
			sk_store_relaxed(&fn, f);                                                  \
		}                                                                                  \
		return (type)f;                                                                    \
	}

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*shmget_fn)(key_t, size_t, int);
typedef void *(*shmat_fn)(int, const void *, int);
typedef int (*shmdt_fn)(const void *);
typedef int (*shmctl_fn)(int, int, struct shmid_ds *);

NEXT(open_fn, open)
NEXT(open_fn, open64)
NEXT(openat_fn, openat)
NEXT(openat_fn, openat64)
NEXT(open2_fn, __open_2)
NEXT(open2_fn, __open64_2)
NEXT(openat2_fn, __openat_2)
NEXT(openat2_fn, __openat64_2)
NEXT(fopen_fn, fopen)
NEXT(fopen_fn, fopen64)
NEXT(shmget_fn, shmget)
NEXT(shmat_fn, shmat)
NEXT(shmdt_fn, shmdt)
NEXT(shmctl_fn, shmctl)

/* A missing next definition (a libc without __open64_2, say) fails like a bad call would. */
#define CALL_NEXT(name, fail, ...)                                                                 \
	(next_##name() ? next_##name()(__VA_ARGS__) : (errno = ENOSYS, (fail)))

/* ---- the library's own kernel calls (see --wrap in CMakeLists.txt) ---- */

/* The declarations satisfy -Wmissing-prototypes; only the linker refers to these names. */
int __wrap_shmget(key_t key, size_t size, int flg);
void *__wrap_shmat(int id, const void *addr, int flg);
int __wrap_shmdt(const void *addr);
int __wrap_shmctl(int id, int cmd, struct shmid_ds *buf);

int __wrap_shmget(key_t key, size_t size, int flg)
{
	return CALL_NEXT(shmget, -1, key, size, flg);
}

void *__wrap_shmat(int id, const void *addr, int flg)
{
	return CALL_NEXT(shmat, (void *)-1, id, addr, flg);
}

int __wrap_shmdt(const void *addr)
{
	return CALL_NEXT(shmdt, -1, addr);
}

int __wrap_shmctl(int id, int cmd, struct shmid_ds *buf)
{
	return CALL_NEXT(shmctl, -1, id, cmd, buf);
}

/* ---- System V shared memory ---- */

#define EXPORT __attribute__((visibility("default")))

EXPORT int shmget(key_t key, size_t size, int shmflg)
{
	return shmkit_shmget(key, size, shmflg);
}

EXPORT void *shmat(int shmid, const void *shmaddr, int shmflg)
{
	return shmkit_shmat(shmid, shmaddr, shmflg);
}

EXPORT int shmdt(const void *shmaddr)
{
	return shmkit_shmdt(shmaddr);
}

EXPORT int shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	return shmkit_shmctl(shmid, cmd, buf);
}

#if defined(__TIMESIZE) && __TIMESIZE == 64 || defined(_TIME_BITS) && _TIME_BITS == 64
int __shmctl64(int shmid, int cmd, struct shmid_ds *buf);
EXPORT int __shmctl64(int shmid, int cmd, struct shmid_ds *buf)
{
	return shmkit_shmctl(shmid, cmd, buf);
}
#endif

/* ---- the /proc/sysvipc/shm view ---- */

static int is_proc_shm(const char *path)
{
	return path && path[0] == '/' && !strcmp(path, PROC_SHM);
}

/* Only reads are served; a write open goes to the kernel, which refuses it as usual. */
static int is_read_only(int flags)
{
	return (flags & O_ACCMODE) == O_RDONLY && !(flags & (O_CREAT | O_TRUNC | O_DIRECTORY));
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

/* Bytes the backing object occupies, as the kernel's rss column counts resident shm pages. */
static unsigned long backing_bytes(const char *path)
{
	struct stat st;
	if (!path[0] || stat(path, &st) < 0)
		return 0;
	return (unsigned long)st.st_blocks * 512ul;
}

static int format_row(char *buf, size_t len, const struct shmkit_seg_stat *s)
{
	const struct shmid_ds *d = &s->ds;
	return snprintf(buf, len,
	                "%10d %10d  %4o %21lu %5u %5u  %5lu %5u %5u %5u %5u %10llu %10llu %10llu "
	                "%21lu %21lu\n",
	                (int)d->shm_perm.__key, (int)s->id, (unsigned)d->shm_perm.mode,
	                (unsigned long)d->shm_segsz, (unsigned)d->shm_cpid, (unsigned)d->shm_lpid,
	                (unsigned long)d->shm_nattch, (unsigned)d->shm_perm.uid,
	                (unsigned)d->shm_perm.gid, (unsigned)d->shm_perm.cuid,
	                (unsigned)d->shm_perm.cgid, (unsigned long long)d->shm_atime,
	                (unsigned long long)d->shm_dtime, (unsigned long long)d->shm_ctime,
	                backing_bytes(s->backing), 0ul);
}

/*
 * A memfd with the current namespace's segments in the kernel's format, positioned at 0.
 * A namespace that does not exist yet has no segments: header only. -1 + errno on failure.
 */
static int proc_shm_fd(int cloexec)
{
	const char *ns = shmkit_ns_current();
	struct shmkit_seg_stat *v = NULL;
	int n = shmkit_ns_segments(ns, NULL, 0);
	if (n == -ENOENT)
		n = 0;
	for (int tries = 0; n > 0 && tries < 4; tries++) {
		free(v);
		size_t cap = (size_t)n + 16; /* room for a few created meanwhile */
		v = malloc(cap * sizeof(*v));
		if (!v) {
			errno = ENOMEM;
			return -1;
		}
		n = shmkit_ns_segments(ns, v, cap);
		if (n == -ENOENT)
			n = 0;
		if (n >= 0 && (size_t)n <= cap)
			break;
	}
	if (n < 0) {
		free(v);
		errno = -n;
		return -1;
	}
	int fd = memfd_create("sysvipc-shm", cloexec ? MFD_CLOEXEC : 0);
	if (fd < 0) {
		free(v);
		return -1;
	}
	int err = write_all(fd, PROC_SHM_HEADER, sizeof(PROC_SHM_HEADER) - 1);
	char row[512];
	for (int i = 0; !err && i < n; i++) {
		int len = format_row(row, sizeof(row), &v[i]);
		err = write_all(fd, row, (size_t)len);
	}
	free(v);
	if (err || lseek(fd, 0, SEEK_SET) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int open_view(int flags)
{
	return proc_shm_fd(flags & O_CLOEXEC);
}

static FILE *fopen_view(const char *mode)
{
	int fd = proc_shm_fd(strchr(mode, 'e') != NULL);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "r");
	if (!f) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

static int fopen_is_read(const char *mode)
{
	return mode && mode[0] == 'r' && !strchr(mode, '+');
}

/* open's optional mode argument exists only with O_CREAT or O_TMPFILE. */
static int needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define VA_MODE(flags, last)                                                                       \
	mode_t mode = 0;                                                                           \
	if (needs_mode(flags)) {                                                                   \
		va_list ap;                                                                        \
		va_start(ap, last);                                                                \
		mode = (mode_t)va_arg(ap, int);                                                    \
		va_end(ap);                                                                        \
	}

EXPORT int open(const char *path, int flags, ...)
{
	VA_MODE(flags, flags)
	if (SK_UNLIKELY(is_proc_shm(path)) && is_read_only(flags))
		return open_view(flags);
	return CALL_NEXT(open, -1, path, flags, mode);
}

EXPORT int open64(const char *path, int flags, ...)
{
	VA_MODE(flags, flags)
	if (SK_UNLIKELY(is_proc_shm(path)) && is_read_only(flags))
		return open_view(flags);
	return CALL_NEXT(open64, -1, path, flags, mode);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	VA_MODE(flags, flags)
	if (SK_UNLIKELY(is_proc_shm(path)) && is_read_only(flags))
		return open_view(flags);
	return CALL_NEXT(openat, -1, dirfd, path, flags, mode);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	VA_MODE(flags, flags)
	if (SK_UNLIKELY(is_proc_shm(path)) && is_read_only(flags))
		return open_view(flags);
	return CALL_NEXT(openat64, -1, dirfd, path, flags, mode);
}

int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

EXPORT int __open_2(const char *path, int flags)
{
	if (SK_UNLIKELY(is_proc_shm(path)) && is_read_only(flags))
		return open_view(flags);
	return CALL_NEXT(__open_2, -1, path, flags);
}

EXPORT int __open64_2(const char *path, int flags)
{
	if (SK_UNLIKELY(is_proc_shm(path)) && is_read_only(flags))
		return open_view(flags);
	return CALL_NEXT(__open64_2, -1, path, flags);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	if (SK_UNLIKELY(is_proc_shm(path)) && is_read_only(flags))
		return open_view(flags);
	return CALL_NEXT(__openat_2, -1, dirfd, path, flags);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	if (SK_UNLIKELY(is_proc_shm(path)) && is_read_only(flags))
		return open_view(flags);
	return CALL_NEXT(__openat64_2, -1, dirfd, path, flags);
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	if (SK_UNLIKELY(is_proc_shm(path)) && fopen_is_read(mode))
		return fopen_view(mode);
	return CALL_NEXT(fopen, NULL, path, mode);
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	if (SK_UNLIKELY(is_proc_shm(path)) && fopen_is_read(mode))
		return fopen_view(mode);
	return CALL_NEXT(fopen64, NULL, path, mode);
}
