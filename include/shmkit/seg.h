/* SPDX-License-Identifier: MIT */
/*
 * shmkit/seg.h — shared-memory backing objects (part of <shmkit.h>).
 *
 * One API over four kinds of backing object:
 *   SHMKIT_SEG_POSIX    a named POSIX shm object (/dev/shm/NAME), shm_open(3)
 *   SHMKIT_SEG_MEMFD    an anonymous memfd, optionally sealed; shared by passing its descriptor
 *   SHMKIT_SEG_HUGETLB  huge pages (MFD_HUGETLB; -ENOMEM/-EOPNOTSUPP where the system has none)
 *   SHMKIT_SEG_SYSV     the kernel's own System V shm (passthrough)
 * A shmkit_seg_t is a process-local handle. Mappings outlive the handle. Every function
 * returns 0 (or a descriptor, for shmkit_seg_fd) or -errno; none of them blocks except
 * shmkit_seg_send/recv, which wait on the socket. See shmkit_seg(3).
 */
#ifndef SHMKIT_SEG_H
#define SHMKIT_SEG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SHMKIT_SEG_POSIX   1u
#define SHMKIT_SEG_MEMFD   2u
#define SHMKIT_SEG_HUGETLB 3u
#define SHMKIT_SEG_SYSV    4u

/* shmkit_seg_config.flags */
#define SHMKIT_SEG_EXCL 0x1u /* create only: -EEXIST if the name/key exists (default) */
#define SHMKIT_SEG_OPEN 0x2u /* create, or open the existing object of that name/key */

/* Seals (memfd and hugetlb only), as F_SEAL_*: applied with shmkit_seg_seal() or at creation. */
#define SHMKIT_SEAL_SEAL         0x0001u /* no further seals */
#define SHMKIT_SEAL_SHRINK       0x0002u
#define SHMKIT_SEAL_GROW         0x0004u
#define SHMKIT_SEAL_WRITE        0x0008u
#define SHMKIT_SEAL_FUTURE_WRITE 0x0010u

/* shmkit_seg_open(), shmkit_seg_from_fd() and shmkit_seg_recv() flags */
#define SHMKIT_SEG_RDONLY 0x1u

/* shmkit_map_opts.flags */
#define SHMKIT_MAP_RDONLY   0x01u /* read-only; a later mprotect(PROT_WRITE) fails */
#define SHMKIT_MAP_FIXED    0x02u /* at .addr exactly; -EEXIST if it would overlap a mapping */
#define SHMKIT_MAP_POPULATE 0x08u /* prefault all pages now; -ENOMEM/-ENOSPC if they can't be */
#define SHMKIT_MAP_LOCK     0x10u /* mlock the pages */
#define SHMKIT_MAP_EXEC     0x20u /* executable */

typedef struct shmkit_seg shmkit_seg_t;

/*
 * Creation parameters. uid/gid are -1 for "the caller's": start from SHMKIT_SEG_CONFIG_INIT
 * rather than a zeroed struct (a zero uid/gid asks for root's ownership). cfg NULL = defaults.
 */
struct shmkit_seg_config {
	uint32_t backend;        /* SHMKIT_SEG_* (0 = POSIX) */
	uint32_t flags;          /* SHMKIT_SEG_EXCL | SHMKIT_SEG_OPEN */
	uint32_t mode;           /* permission bits (0777 at most); 0 = 0600 */
	uint32_t seals;          /* memfd/hugetlb: SHMKIT_SEAL_* applied once created and sized */
	int64_t uid;             /* owner to give the object, -1 = the caller's euid */
	int64_t gid;             /* group, -1 = the caller's egid */
	uint64_t huge_page_size; /* hugetlb: 0 = the system default */
	int32_t sysv_key;        /* sysv: the key (0 = IPC_PRIVATE) */
	uint32_t reserved_;      /* must be 0 */
};
#define SHMKIT_SEG_CONFIG_INIT                                                                     \
	{                                                                                          \
		.backend = SHMKIT_SEG_POSIX, .uid = -1, .gid = -1                                  \
	}

struct shmkit_map_opts {
	void *addr;      /* with SHMKIT_MAP_FIXED: where; otherwise NULL */
	uint64_t offset; /* page-aligned (huge-page-aligned for hugetlb); 0 for sysv */
	uint64_t length; /* 0 = the whole object from offset */
	uint32_t flags;  /* SHMKIT_MAP_* */
};

struct shmkit_seg_info {
	uint32_t backend;
	uint32_t mode; /* permission bits */
	uint64_t size; /* bytes: pages for fd objects, the shmget size for sysv */
	int64_t uid, gid;
	uint32_t seals;          /* memfd/hugetlb: current SHMKIT_SEAL_* */
	int32_t sysv_id;         /* sysv: the shmid; -1 otherwise */
	uint64_t huge_page_size; /* 0 if not huge pages */
};

/*
 * Create an object of 'size' bytes (1 .. 2^52; the file is rounded up to whole pages, or huge
 * pages). name: POSIX shm name ("x" or "/x", no other '/', at most 200 bytes: -EINVAL /
 * -ENAMETOOLONG); for memfd and hugetlb a label shown in /proc (may be NULL); ignored for
 * sysv (the key is cfg->sysv_key). The object gets exactly cfg->mode (the umask does not
 * apply) and the owner asked for (-EPERM if the caller may not give it), and appears under
 * its name complete or not at all. With SHMKIT_SEG_OPEN an existing object is opened instead
 * (-EINVAL if it is smaller than size). Huge pages are allocated at creation: -ENOMEM if the
 * pool cannot supply them. Returns 0 and *out, or -errno.
 */
int shmkit_seg_create(shmkit_seg_t **out, const char *name, size_t size,
                      const struct shmkit_seg_config *cfg);
/*
 * Open an existing POSIX object by name, or a sysv segment by its id in decimal ("123").
 * flags: SHMKIT_SEG_RDONLY. The kernel checks permissions (-EACCES); -ENOENT if no such name,
 * -EINVAL if no such id; memfd and hugetlb have nothing to open by name: -EINVAL.
 */
int shmkit_seg_open(shmkit_seg_t **out, uint32_t backend, const char *name, uint32_t flags);
/*
 * Wrap a descriptor (e.g. a received memfd); on success the handle owns fd, on failure the
 * caller still does. The backend is found from the descriptor itself; -EINVAL for anything
 * but a shared-memory file (tmpfs, memfd, hugetlbfs). SHMKIT_SEG_RDONLY replaces fd with a
 * read-only descriptor for the same object.
 */
int shmkit_seg_from_fd(shmkit_seg_t **out, int fd, uint32_t flags);
/*
 * Pass a memfd/hugetlb/POSIX object's descriptor over a connected UNIX socket (SCM_RIGHTS),
 * with the access the handle has. Blocks while the socket is full. -EPIPE if the peer has gone
 * (no SIGPIPE), -EOPNOTSUPP for sysv (no descriptor).
 */
int shmkit_seg_send(int sock, const shmkit_seg_t *s);
/*
 * Receive one object sent by shmkit_seg_send. Blocks until a message arrives (-EAGAIN on a
 * non-blocking socket with nothing queued). The peer is not trusted: anything but exactly one
 * descriptor of a shared-memory file with the expected message is refused with -EPROTO and
 * every descriptor that arrived is closed. -ECONNRESET if the peer closed the socket.
 */
int shmkit_seg_recv(int sock, shmkit_seg_t **out, uint32_t flags);

/*
 * Map part or all of the object (o NULL: all of it, read-only if the handle is). Returns 0
 * and *addr. -EACCES for a writable mapping of a read-only handle, -EPERM for a writable
 * mapping of a write-sealed memfd, -EEXIST if SHMKIT_MAP_FIXED would overlap a mapping,
 * -EINVAL for a range outside the object, -ENOMEM for one larger than the address space (a
 * 32-bit process mapping all of an object over 4 GiB).
 */
int shmkit_seg_map(shmkit_seg_t *s, const struct shmkit_map_opts *o, void **addr);
/* Unmap what shmkit_seg_map returned (s may be NULL, or closed, for fd-backed objects). */
int shmkit_seg_unmap(shmkit_seg_t *s, void *addr, size_t length);
/* Change the size (rounded up to pages). -EPERM if sealed, -EOPNOTSUPP for sysv. */
int shmkit_seg_resize(shmkit_seg_t *s, size_t size);
/* Add seals (memfd/hugetlb only, else -EINVAL). -EBUSY: SEAL_WRITE with writable mappings. */
int shmkit_seg_seal(shmkit_seg_t *s, uint32_t seals);
int shmkit_seg_stat(const shmkit_seg_t *s, struct shmkit_seg_info *info);
/*
 * Remove the name (POSIX), or IPC_RMID (sysv); memfd/hugetlb have none: 0. Mappings and
 * handles stay valid. -ENOENT if the POSIX name is already gone (or unknown, for a handle
 * made from a descriptor).
 */
int shmkit_seg_remove(shmkit_seg_t *s);
/* Remove by name (POSIX) or decimal id (sysv), without a handle. */
int shmkit_seg_unlink(uint32_t backend, const char *name);
/* The descriptor behind the handle, or -EBADF (sysv has none). Owned by the handle. */
int shmkit_seg_fd(const shmkit_seg_t *s);
/* Release the handle (NULL is fine). Mappings stay; a sysv segment stays until removed. */
void shmkit_seg_close(shmkit_seg_t *s);

#endif
