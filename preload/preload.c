/* SPDX-License-Identifier: MIT */
/*
 * libshmkit-sysv.so: LD_PRELOAD interposer that routes a program's System V shared-memory
 * calls to shmkit's model (src/sysv), in the namespace named by $SHMKIT_NAMESPACE.
 *
 * Interposed:
 *   shmget, shmat, shmdt, shmctl  -> shmkit_shmget/shmat/shmdt/shmctl.
 *   __shmctl64                    glibc's time64 entry point on 32-bit ABIs (_TIME_BITS=64),
 *                                 whose struct shmid_ds is this build's (shmkit is built with a
 *                                 64-bit time_t there); there, shmctl is glibc's entry point for
 *                                 32-bit time_t callers and converts as glibc's __shmctl does.
 *                                 On 64-bit ABIs both names take the one struct shmid_ds.
 *   cmd bits                      passed on unchanged: shmkit_shmctl treats them as the
 *                                 kernel does. A 32-bit build strips IPC_64 (0x100), which
 *                                 glibc ORs into cmd and which is also musl's 32-bit time64
 *                                 encoding (IPC_STAT 0x102, SHM_STAT 0x10d, ...); on 64-bit,
 *                                 where the kernel does not parse IPC_64, such a cmd fails
 *                                 with EINVAL as it does on the kernel.
 *   buffers                       shmctl's copies fail with EFAULT as the kernel's do, never
 *                                 with SIGSEGV: a buffer is copied through the kernel
 *                                 (process_vm_readv/writev) unless it lies on the calling
 *                                 thread's stack between its stack pointer and the stack's top.
 *   open, open64, openat, openat64, their fortified __*_2 variants, fopen, fopen64, and
 *   write, fdopen for what those opened:
 *                                 /proc/sysvipc/shm and /proc/sys/kernel/shm{max,all,mni,
 *                                 _rmid_forced,_next_id} act on the namespace (procfs.c), so
 *                                 that unmodified ipcs(1), lsipc(1) and sysctl(8) see and set
 *                                 it. Every other path goes to the next definition (libc).
 *   RTLD_DEEPBIND                 a library loaded with it binds to libc first; the audit
 *                                 library (audit.c, LD_AUDIT, set by shmkit run) sends its
 *                                 System V calls here too.
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

#include <pthread.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "preload.h"
#include "shmid_ds32.h"
#include "sys/sys.h"
#include "sysv/registry.h"

/* ---- the next definitions (libc) ---- */

/*
 * Resolved once per name. Races only store the same value twice, so relaxed atomics suffice:
 * no other data is published through these pointers.
 */
#define NEXT_AS(type, name, symbol)                                                                \
	static type next_##name(void)                                                              \
	{                                                                                          \
		static SK_ATOMIC(void *) fn;                                                       \
		void *f = sk_load_relaxed(&fn);                                                    \
		if (SK_UNLIKELY(!f)) {                                                             \
			f = dlsym(RTLD_NEXT, symbol);                                              \
			sk_store_relaxed(&fn, f);                                                  \
		}                                                                                  \
		return (type)f;                                                                    \
	}
#define NEXT(type, name) NEXT_AS(type, name, #name)

/* A 32-bit ABI, where libc has an shmctl for 32-bit time_t callers beside __shmctl64. */
#if defined(__TIMESIZE) && __TIMESIZE == 32
#define PL_TIME32 1
#else
#define PL_TIME32 0
#endif

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*open2_fn)(const char *, int);
typedef int (*openat2_fn)(int, const char *, int);
typedef FILE *(*fopen_fn)(const char *, const char *);
typedef int (*shmget_fn)(key_t, size_t, int);
typedef void *(*shmat_fn)(int, const void *, int);
typedef int (*shmdt_fn)(const void *);
typedef int (*shmctl_fn)(int, int, struct shmid_ds *);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef FILE *(*fdopen_fn)(int, const char *);

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
/* The library's kernel shmctl calls pass this build's struct shmid_ds: libc's time64 entry. */
#if PL_TIME32
NEXT_AS(shmctl_fn, shmctl, "__shmctl64")
#else
NEXT(shmctl_fn, shmctl)
#endif
NEXT(write_fn, write)
NEXT(fdopen_fn, fdopen)

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

#if PL_TIME32
/* With _TIME_BITS=64 the library's shmctl calls are calls of __shmctl64 (<sys/shm.h>). */
int __wrap___shmctl64(int id, int cmd, struct shmid_ds *buf);
int __wrap___shmctl64(int id, int cmd, struct shmid_ds *buf)
{
	return CALL_NEXT(shmctl, -1, id, cmd, buf);
}
#endif

/* ---- System V shared memory ---- */

/*
 * INTERPOSE(ret, name, (params)) { ... } defines the exported symbol name as pl_name. Each name is
 * libc's symbol with its own ABI, whatever this build's headers make of the name: on 32-bit ABIs
 * (built with _FILE_OFFSET_BITS=64 and _TIME_BITS=64) <fcntl.h> turns open into open64 and
 * <sys/shm.h> shmctl into __shmctl64, but the interposer defines each of them side by side.
 */
#define INTERPOSE(ret, name, params)                                                               \
	ret pl_##name params __asm__(#name) __attribute__((visibility("default")));                \
	ret pl_##name params

INTERPOSE(int, shmget, (key_t key, size_t size, int shmflg))
{
	return shmkit_shmget(key, size, shmflg);
}

INTERPOSE(void *, shmat, (int shmid, const void *shmaddr, int shmflg))
{
	return shmkit_shmat(shmid, shmaddr, shmflg);
}

INTERPOSE(int, shmdt, (const void *shmaddr))
{
	return shmkit_shmdt(shmaddr);
}

/* ---- shmctl's copies: EFAULT, never SIGSEGV ---- */

/* This thread's stack, [lo, hi): what lies between the stack pointer and hi is mapped and
 * writable. Initial-exec TLS, found once per thread. */
static __thread uintptr_t stack_lo, stack_hi;

static int on_my_stack(const void *p, size_t len)
{
	uintptr_t a = (uintptr_t)p, sp = (uintptr_t)__builtin_frame_address(0);
	if (SK_UNLIKELY(!stack_hi)) {
		pthread_attr_t at;
		void *lo;
		size_t size;
		stack_hi = 1; /* unknown: every buffer goes through the kernel */
		if (pthread_getattr_np(pthread_self(), &at) == 0) {
			if (pthread_attr_getstack(&at, &lo, &size) == 0)
				stack_lo = (uintptr_t)lo, stack_hi = (uintptr_t)lo + size;
			pthread_attr_destroy(&at);
		}
	}
	/* Off the stack (a signal's alternate stack, say) nothing is known: check. */
	return sp >= stack_lo && sp < stack_hi && a >= sp && a + len >= a && a + len <= stack_hi;
}

/* Copy len bytes to (out) or from (!out) the caller's buf as the kernel would: -EFAULT. */
static int user_copy(void *buf, void *mine, size_t len, int out)
{
	if (on_my_stack(buf, len)) {
		memcpy(out ? buf : mine, out ? mine : buf, len);
		return 0;
	}
	struct iovec local = {mine, len}, remote = {buf, len};
	long n = syscall(out ? SYS_process_vm_writev : SYS_process_vm_readv, sk_self_pid(), &local,
	                 1UL, &remote, 1UL, 0UL);
	if (n == (long)len)
		return 0;
	if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
		/* A sandbox forbids the check: copy as libc's callers expect, unchecked. */
		memcpy(out ? buf : mine, out ? mine : buf, len);
		return 0;
	}
	return -EFAULT;
}

/* What shmctl copies for cmd: the size, and whether it is copied out (1) or in (0). */
static size_t copy_size(int cmd, int *out)
{
#if UINTPTR_MAX == 0xffffffffu
	cmd &= ~0x100; /* IPC_64: 32-bit kernels parse it out of cmd */
#endif
	*out = 1;
	switch (cmd) {
	case IPC_SET:
		*out = 0;
		return sizeof(struct shmid_ds);
	case IPC_STAT:
	case SHM_STAT:
	case SHM_STAT_ANY:
		return sizeof(struct shmid_ds);
	case IPC_INFO:
		return sizeof(struct shminfo);
	case SHM_INFO:
		return sizeof(struct shm_info);
	}
	return 0;
}

static int interposed_shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	union {
		struct shmid_ds ds;
		struct shminfo info;
		struct shm_info shm;
	} mine;
	int out;
	size_t len = copy_size(cmd, &out);
	/* Nothing to copy, EINVAL first, or a buffer on this thread's stack (mapped and
	 * writable): the library reads or fills it in place, as a direct call would. */
	if (!len || cmd < 0 || shmid < 0 || on_my_stack(buf, len))
		return shmkit_shmctl(shmid, cmd, buf);
	/* IPC_SET copies in before anything else is checked; the others copy out last (the
	 * library fills the whole struct: no byte of mine goes out unwritten). */
	int err = out ? 0 : user_copy(buf, &mine, len, 0);
	if (err) {
		errno = -err;
		return -1;
	}
	int r = shmkit_shmctl(shmid, cmd, &mine.ds);
	if (r >= 0 && out && (err = user_copy(buf, &mine, len, 1))) {
		errno = -err;
		return -1;
	}
	return r;
}

/* The time64 entry: the caller's struct shmid_ds is this build's. */
INTERPOSE(int, __shmctl64, (int shmid, int cmd, struct shmid_ds *buf))
{
	return interposed_shmctl(shmid, cmd, buf);
}

#if !PL_TIME32
INTERPOSE(int, shmctl, (int shmid, int cmd, struct shmid_ds *buf))
{
	return interposed_shmctl(shmid, cmd, buf);
}
#else
/* glibc's struct shmid_ds for callers built with a 32-bit time_t (shmid_ds32.h): this build's
 * time64 struct with each time's high word unused, at the same offsets. */
SK_ASSERT_SIZE(struct pl_shmid_ds32, sizeof(struct shmid_ds));
SK_ASSERT_OFFSET(struct pl_shmid_ds32, shm_segsz, offsetof(struct shmid_ds, shm_segsz));
SK_ASSERT_OFFSET(struct pl_shmid_ds32, shm_atime, offsetof(struct shmid_ds, shm_atime));
SK_ASSERT_OFFSET(struct pl_shmid_ds32, shm_dtime, offsetof(struct shmid_ds, shm_dtime));
SK_ASSERT_OFFSET(struct pl_shmid_ds32, shm_ctime, offsetof(struct shmid_ds, shm_ctime));
SK_ASSERT_OFFSET(struct pl_shmid_ds32, shm_cpid, offsetof(struct shmid_ds, shm_cpid));
SK_ASSERT_OFFSET(struct pl_shmid_ds32, shm_nattch, offsetof(struct shmid_ds, shm_nattch));

/*
 * glibc's shmctl for 32-bit time_t callers (__shmctl, sysdeps/unix/sysv/linux/shmctl.c), which
 * goes through its time64 __shmctl64 with a struct of its own:
 *  - a time past 2038 is truncated to its low 32 bits, with the high words set to 0: no
 *    EOVERFLOW (the kernel, asked through the time64 layout, gives the whole time; glibc
 *    narrows it);
 *  - the struct is copied back for exactly IPC_STAT, SHM_STAT and SHM_STAT_ANY: with IPC_64 in
 *    cmd (which __shmctl64 masks out) the call succeeds and the caller's buffer is left as it
 *    was; IPC_INFO and SHM_INFO, whose structs have no times, pass the caller's buffer on.
 * Where glibc reads a buffer it does not need (IPC_STAT's, IPC_RMID's) a bad one is SIGSEGV in
 * glibc; here the buffer is read only for IPC_SET, and a bad one is EFAULT, as elsewhere.
 */
static int shmctl_time32(int shmid, int cmd, struct pl_shmid_ds32 *buf)
{
	if (!buf || cmd == IPC_INFO || cmd == SHM_INFO)
		return interposed_shmctl(shmid, cmd, (struct shmid_ds *)buf);
	struct pl_shmid_ds32 ds32;
	struct shmid_ds ds;
	memset(&ds, 0, sizeof(ds));
	if ((cmd & ~0x100) == IPC_SET) {
		int err = user_copy(buf, &ds32, sizeof(ds32), 0);
		if (err) {
			errno = -err;
			return -1;
		}
		ds.shm_perm = ds32.shm_perm; /* all that IPC_SET reads */
	}
	int r = interposed_shmctl(shmid, cmd, &ds);
	if (r < 0 || (cmd != IPC_STAT && cmd != SHM_STAT && cmd != SHM_STAT_ANY))
		return r;
	memset(&ds32, 0, sizeof(ds32));
	ds32.shm_perm = ds.shm_perm;
	ds32.shm_segsz = ds.shm_segsz;
	ds32.shm_atime = (int32_t)ds.shm_atime; /* the low 32 bits, as glibc's conversion */
	ds32.shm_dtime = (int32_t)ds.shm_dtime;
	ds32.shm_ctime = (int32_t)ds.shm_ctime;
	ds32.shm_cpid = ds.shm_cpid;
	ds32.shm_lpid = ds.shm_lpid;
	ds32.shm_nattch = ds.shm_nattch;
	int err = user_copy(buf, &ds32, sizeof(ds32), 1);
	if (err) {
		errno = -err;
		return -1;
	}
	return r;
}

INTERPOSE(int, shmctl, (int shmid, int cmd, struct pl_shmid_ds32 *buf))
{
	return shmctl_time32(shmid, cmd, buf);
}
#endif

/* ---- the kernel's System V files, for the namespace (procfs.c) ---- */

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

INTERPOSE(int, open, (const char *path, int flags, ...))
{
	VA_MODE(flags, flags)
	int view = pl_view_of(path);
	if (SK_UNLIKELY(view))
		return pl_view_open(view, flags);
	return CALL_NEXT(open, -1, path, flags, mode);
}

INTERPOSE(int, open64, (const char *path, int flags, ...))
{
	VA_MODE(flags, flags)
	int view = pl_view_of(path);
	if (SK_UNLIKELY(view))
		return pl_view_open(view, flags);
	return CALL_NEXT(open64, -1, path, flags, mode);
}

INTERPOSE(int, openat, (int dirfd, const char *path, int flags, ...))
{
	VA_MODE(flags, flags)
	int view = pl_view_of(path);
	if (SK_UNLIKELY(view))
		return pl_view_open(view, flags);
	return CALL_NEXT(openat, -1, dirfd, path, flags, mode);
}

INTERPOSE(int, openat64, (int dirfd, const char *path, int flags, ...))
{
	VA_MODE(flags, flags)
	int view = pl_view_of(path);
	if (SK_UNLIKELY(view))
		return pl_view_open(view, flags);
	return CALL_NEXT(openat64, -1, dirfd, path, flags, mode);
}

INTERPOSE(int, __open_2, (const char *path, int flags))
{
	int view = pl_view_of(path);
	if (SK_UNLIKELY(view))
		return pl_view_open(view, flags);
	return CALL_NEXT(__open_2, -1, path, flags);
}

INTERPOSE(int, __open64_2, (const char *path, int flags))
{
	int view = pl_view_of(path);
	if (SK_UNLIKELY(view))
		return pl_view_open(view, flags);
	return CALL_NEXT(__open64_2, -1, path, flags);
}

INTERPOSE(int, __openat_2, (int dirfd, const char *path, int flags))
{
	int view = pl_view_of(path);
	if (SK_UNLIKELY(view))
		return pl_view_open(view, flags);
	return CALL_NEXT(__openat_2, -1, dirfd, path, flags);
}

INTERPOSE(int, __openat64_2, (int dirfd, const char *path, int flags))
{
	int view = pl_view_of(path);
	if (SK_UNLIKELY(view))
		return pl_view_open(view, flags);
	return CALL_NEXT(__openat64_2, -1, dirfd, path, flags);
}

INTERPOSE(FILE *, fopen, (const char *path, const char *mode))
{
	int view = mode ? pl_view_of(path) : PL_VIEW_NONE;
	if (SK_UNLIKELY(view))
		return pl_view_fopen(view, mode);
	return CALL_NEXT(fopen, NULL, path, mode);
}

INTERPOSE(FILE *, fopen64, (const char *path, const char *mode))
{
	int view = mode ? pl_view_of(path) : PL_VIEW_NONE;
	if (SK_UNLIKELY(view))
		return pl_view_fopen(view, mode);
	return CALL_NEXT(fopen64, NULL, path, mode);
}

INTERPOSE(ssize_t, write, (int fd, const void *buf, size_t n))
{
	ssize_t r;
	if (SK_UNLIKELY(pl_view_write(fd, buf, n, &r)))
		return r;
	return CALL_NEXT(write, -1, fd, buf, n);
}

INTERPOSE(FILE *, fdopen, (int fd, const char *mode))
{
	FILE *f;
	if (SK_UNLIKELY(pl_view_fdopen(fd, mode, &f)))
		return f;
	return CALL_NEXT(fdopen, NULL, fd, mode);
}
