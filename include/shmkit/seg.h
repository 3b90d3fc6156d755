/* SPDX-License-Identifier: MIT */
/*
 * shmkit/seg.h — shared-memory backing objects (part of <shmkit.h>).
 *
 * One API over four kinds of backing object:
 *   SHMKIT_SEG_POSIX    a named POSIX shm object (/dev/shm/NAME), shm_open(3)
 *   SHMKIT_SEG_MEMFD    an anonymous memfd, optionally sealed; shared by passing its descriptor
 *   SHMKIT_SEG_HUGETLB  huge pages (MFD_HUGETLB; -ENOMEM/-ENOSYS where the system has none)
 *   SHMKIT_SEG_SYSV     the kernel's own System V shm (passthrough)
 * A shmkit_seg_t is a process-local handle. Mappings outlive the handle.
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

/* Seals (memfd only), as F_SEAL_*: applied with shmkit_seg_seal() or at creation. */
#define SHMKIT_SEAL_SHRINK       0x0002u
#define SHMKIT_SEAL_GROW         0x0004u
#define SHMKIT_SEAL_WRITE        0x0008u
#define SHMKIT_SEAL_FUTURE_WRITE 0x0010u

/* shmkit_seg_open() and shmkit_seg_map() flags */
#define SHMKIT_SEG_RDONLY 0x1u

/* shmkit_map_opts.flags */
#define SHMKIT_MAP_RDONLY   0x01u /* read-only; a later mprotect(PROT_WRITE) fails */
#define SHMKIT_MAP_FIXED    0x02u /* at .addr exactly; -EEXIST if it would overlap a mapping */
#define SHMKIT_MAP_POPULATE 0x08u /* prefault all pages now */
#define SHMKIT_MAP_LOCK     0x10u /* mlock the pages */
#define SHMKIT_MAP_EXEC     0x20u /* executable */

typedef struct shmkit_seg shmkit_seg_t;

struct shmkit_seg_config {
	uint32_t backend;        /* SHMKIT_SEG_* (0 = POSIX) */
	uint32_t flags;          /* SHMKIT_SEG_EXCL | SHMKIT_SEG_OPEN */
	uint32_t mode;           /* permission bits; 0 = 0600 */
	uint32_t seals;          /* memfd: SHMKIT_SEAL_* applied once created and sized */
	int64_t uid;             /* owner to give the object, -1 = the caller's euid */
	int64_t gid;             /* group, -1 = the caller's egid */
	uint64_t huge_page_size; /* hugetlb: 0 = the system default */
	int32_t sysv_key;        /* sysv: the key (0 = IPC_PRIVATE) */
	uint32_t reserved_;
};

struct shmkit_map_opts {
	void *addr;      /* with SHMKIT_MAP_FIXED: where; otherwise NULL */
	uint64_t offset; /* page-aligned */
	uint64_t length; /* 0 = the whole object from offset */
	uint32_t flags;  /* SHMKIT_MAP_* */
};

struct shmkit_seg_info {
	uint32_t backend;
	uint32_t mode;
	uint64_t size; /* bytes */
	int64_t uid, gid;
	uint32_t seals; /* memfd: current seals */
	int32_t sysv_id;
	uint64_t huge_page_size; /* 0 if not huge pages */
};

/*
 * Create an object of 'size' bytes (1 .. SK limit; 0 or absurd sizes: -EINVAL). name: POSIX
 * shm name ("x" or "/x", no other '/', at most 200 bytes: -EINVAL / -ENAMETOOLONG); for memfd
 * and hugetlb a label shown in /proc (may be NULL); ignored for sysv. cfg may be NULL.
 */
int shmkit_seg_create(shmkit_seg_t **out, const char *name, size_t size,
		      const struct shmkit_seg_config *cfg);
/* Open an existing POSIX object by name, or a sysv segment by its id in decimal ("123"). */
int shmkit_seg_open(shmkit_seg_t **out, uint32_t backend, const char *name, uint32_t flags);
/* Wrap a descriptor (e.g. received memfd); the handle takes ownership of fd. */
int shmkit_seg_from_fd(shmkit_seg_t **out, int fd, uint32_t flags);
/* Pass a memfd/POSIX object's descriptor over a connected UNIX socket (SCM_RIGHTS). */
int shmkit_seg_send(int sock, const shmkit_seg_t *s);
int shmkit_seg_recv(int sock, shmkit_seg_t **out, uint32_t flags);

int shmkit_seg_map(shmkit_seg_t *s, const struct shmkit_map_opts *o, void **addr);
int shmkit_seg_unmap(shmkit_seg_t *s, void *addr, size_t length);
int shmkit_seg_resize(shmkit_seg_t *s, size_t size);
int shmkit_seg_seal(shmkit_seg_t *s, uint32_t seals);
int shmkit_seg_stat(const shmkit_seg_t *s, struct shmkit_seg_info *info);
/* Remove the name (POSIX), or IPC_RMID (sysv). Mappings stay valid. */
int shmkit_seg_remove(shmkit_seg_t *s);
int shmkit_seg_unlink(uint32_t backend, const char *name);
/* The descriptor behind the handle, or -EBADF (sysv has none). Owned by the handle. */
int shmkit_seg_fd(const shmkit_seg_t *s);
void shmkit_seg_close(shmkit_seg_t *s);

#endif
