/* SPDX-License-Identifier: MIT */
/*
 * seg internals: descriptor-level building blocks shared by the public seg API
 * (shmkit_seg_*) and by the sysv layer. All return >= 0 or -errno.
 */
#ifndef SHMKIT_SEG_INTERNAL_H
#define SHMKIT_SEG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Longest object name accepted (without the leading '/'), like NAME_MAX less a safety margin. */
#define SK_SHM_NAME_MAX 200
#define SK_SHM_DIR      "/dev/shm"

/* Largest size accepted for any object: beyond it the page rounding could overflow. */
#define SK_SEG_SIZE_MAX ((uint64_t)1 << 52)

/* 1..SK_SEG_SIZE_MAX bytes. A function, not an expression: a 32-bit size_t is always below the
 * bound, and the comparison written out would be "always false" there (-Wtype-limits). */
static inline int sk_seg_size_ok(uint64_t size)
{
	return size != 0 && size <= SK_SEG_SIZE_MAX;
}

/*
 * Validate a POSIX shm name ("name" or "/name": one component, no further '/', not "." or
 * "..", 1..SK_SHM_NAME_MAX bytes) and write "/dev/shm/name" into path.
 * -EINVAL for a bad name, -ENAMETOOLONG for a long one.
 */
int sk_shm_path(char *path, size_t len, const char *name);

/*
 * Create the POSIX shm object 'name' of 'size' bytes (rounded up to pages in the file) with
 * exactly 'mode' (umask does not apply). The object appears under its name fully sized and
 * with its final mode, or not at all: it is built under a temporary name and link()ed into
 * place. excl: fail with -EEXIST if the name exists; otherwise open the existing object.
 * Returns an O_RDWR|O_CLOEXEC descriptor.
 */
int sk_posix_create(const char *name, uint64_t size, mode_t mode, int excl);
/* The same, owned by uid/gid (-1: unchanged, the caller's), set before the name appears. */
int sk_posix_create_owned(const char *name, uint64_t size, mode_t mode, int64_t uid, int64_t gid,
                          int excl);
/* The two halves of sk_posix_create, for callers that fill the object before publishing it:
 * an unnamed, sized object with exactly 'mode', and link()ing it to 'name' (-EEXIST if taken). */
int sk_posix_tmpfile(uint64_t size, mode_t mode);
int sk_posix_publish(int fd, const char *name);
/* Open an existing object read-only or read-write. Returns an O_CLOEXEC descriptor;
 * -EBADMSG when the name is not a regular file (a link, FIFO, directory...). */
int sk_posix_open(const char *name, int rdonly);
int sk_posix_unlink(const char *name);

/*
 * The same relative to a directory descriptor, never following a link. sk_tmpfile_at makes an
 * unnamed object in dir (relative to dirfd: "." for dirfd itself), sk_publish_at links it to
 * name; sk_create_at creates name exclusively (O_EXCL), sized to whole pages, with exactly
 * mode; sk_open_at opens name (flags: O_RDONLY / O_RDWR / O_PATH) and fills *st (may be NULL)
 * from the descriptor: -ELOOP for a link, -EBADMSG unless it is a regular file. All
 * descriptors are O_CLOEXEC.
 */
int sk_tmpfile_at(int dirfd, const char *dir, uint64_t size, mode_t mode);
int sk_publish_at(int fd, int dirfd, const char *name);
int sk_create_at(int dirfd, const char *name, uint64_t size, mode_t mode);
struct stat;
int sk_open_at(int dirfd, const char *name, int flags, struct stat *st);

/*
 * Shared objects with a versioned header (publish.c). sk_hdr_publish stores the magic, then
 * the layout version last (release); sk_hdr_check acquire-loads the version first: 0,
 * -EBADMSG (not this magic) or -EPROTO (another version, or a destroyed object's 0).
 */
#include "internal/atomic.h"
void sk_hdr_publish(SK_ATOMIC(uint32_t) * magic, SK_ATOMIC(uint32_t) * version, uint32_t m,
                    uint32_t v);
int sk_hdr_check(SK_ATOMIC(uint32_t) * magic, SK_ATOMIC(uint32_t) * version, uint32_t m,
                 uint32_t v);
/*
 * Make object name in dirfd whole before anyone can see it: an unnamed file of size bytes (all
 * allocated now), exactly mode, group gid ((gid_t)-1: ours), filled by init on a shared mapping
 * (init may be NULL), then link()ed to name. -EEXIST if name is taken.
 */
int sk_obj_build_at(int dirfd, const char *name, uint64_t size, mode_t mode, gid_t gid,
                    int (*init)(void *map, void *arg), void *arg);
/*
 * Open name in dirfd (see sk_open_at) only if it is the directory owner's own: -EPERM if
 * someone else owns it (*st says who), -EBADMSG if it has other links or lives on another
 * filesystem than the directory dir.
 */
int sk_open_own_at(int dirfd, const char *name, int flags, const struct stat *dir, struct stat *st);

/* Mapping flags for sk_map_fd. */
#define SK_MAP_RDONLY   0x01u /* PROT_READ only; fd should be O_RDONLY so mprotect can't undo it */
#define SK_MAP_FIXED    0x02u /* at addr exactly; refuse (-EEXIST) to overlap any mapping */
#define SK_MAP_REPLACE  0x04u /* at addr exactly; replace what is there (SHM_REMAP) */
#define SK_MAP_POPULATE 0x08u /* prefault every page (fail fast instead of SIGBUS later) */
#define SK_MAP_LOCK     0x10u /* mlock the pages */
#define SK_MAP_EXEC     0x20u /* add PROT_EXEC */
#define SK_MAP_PRIVATE  0x40u /* MAP_PRIVATE (copy on write) instead of MAP_SHARED */

/*
 * Map len bytes of fd at offset off. Returns 0 and *out, or -errno. With SK_MAP_POPULATE a
 * page that cannot be backed fails the call (-ENOMEM/-ENOSPC) instead of a SIGBUS later.
 */
int sk_map_fd(int fd, size_t len, off_t off, void *addr, unsigned flags, void **out);
/* Prefault [addr, addr+len) of a shared mapping, reporting failures (see sk_map_fd). */
int sk_populate(void *addr, size_t len, int writable);

/*
 * The kernel's own System V shm calls, -errno style, made as system calls so that an
 * LD_PRELOAD interposer of the libc functions never intercepts them.
 */
struct shmid_ds;
int sk_kshmget(key_t key, size_t size, int flags); /* the id */
int sk_kshmat(int id, const void *addr, int flags, void **out);
int sk_kshmdt(const void *addr);
int sk_kshmctl(int id, int cmd, struct shmid_ds *buf); /* >= 0 as shmctl returns */

#endif
