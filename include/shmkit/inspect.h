/* SPDX-License-Identifier: MIT */
/*
 * shmkit/inspect.h — read-only views of every shared-memory object on the machine
 * (part of <shmkit.h>): kernel System V segments, POSIX objects in /dev/shm, shmkit channels,
 * and the segments of shmkit namespaces.
 *
 * Nothing here changes an object, except that shmkit_inspect_map() on a kernel System V
 * segment is a real (read-only) shmat, which the kernel records in atime/lpid.
 * Everything read from /proc, /dev/shm or a namespace registry is treated as untrusted: a
 * malformed record is skipped, never trusted.
 * The functions return 0 (or a count) on success and -errno on failure. Kernel and POSIX
 * objects are read without locks; a shmkit namespace is read under its registry lock, which
 * its members hold only briefly (a member that died holding it is recovered, as in every
 * namespace operation). Namespaces the caller may not read are left out.
 */
#ifndef SHMKIT_INSPECT_H
#define SHMKIT_INSPECT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Kinds of objects; also usable as a bit mask in filters. */
#define SHMKIT_KIND_SYSV   1u  /* kernel System V segment */
#define SHMKIT_KIND_POSIX  2u  /* POSIX shared-memory object in /dev/shm */
#define SHMKIT_KIND_SHMKIT 4u  /* segment of a shmkit namespace */
#define SHMKIT_KIND_HEAP   8u  /* filters only: the POSIX objects that hold a shmkit heap */
#define SHMKIT_KIND_CHAN   16u /* shmkit channel (shmkit/chan.h) */
#define SHMKIT_KIND_ALL    31u

/* shmkit_obj.flags */
#define SHMKIT_OBJ_DEST          0x1u /* marked for removal (IPC_RMID), destroyed on last detach */
#define SHMKIT_OBJ_LOCKED        0x2u /* SHM_LOCK'ed */
#define SHMKIT_OBJ_ORPHANED      0x4u /* nobody attached and the creator is gone */
#define SHMKIT_OBJ_CREATOR_ALIVE 0x8u /* the creating process still runs (PID-reuse safe) */
/* Not an object: namespace ns could not be read now (id holds -errno: -ETIMEDOUT when a
 * member holds its lock too long, -EBADMSG/-EPROTO when its registry is damaged). Listings
 * of every namespace report such namespaces this way rather than leave them out silently. */
#define SHMKIT_OBJ_UNREADABLE 0x10u
#define SHMKIT_OBJ_HEAP       0x20u /* a POSIX object whose header says it is a shmkit heap */
/* Channels that do not read as one. Each is still listed, with what the kernel says of its
 * name (owner, mode), so that it can be seen and removed; shmkit_inspect_chan() says why. */
#define SHMKIT_OBJ_DAMAGED                                                                         \
	0x40u                     /* not a channel this library reads: not a directory, a          \
	                             directory or ring someone else could have planted, a          \
	                             bad header, another layout version */
#define SHMKIT_OBJ_NOACCESS 0x80u /* the caller may not read it */
#define SHMKIT_OBJ_INCOMPLETE                                                                      \
	0x100u /* a channel directory with no ring: its creator died                               \
	          half-way (or is making it right now) */

#define SHMKIT_OBJ_NAME_MAX 255

/*
 * One object. Fields that a kind does not have are 0 / "" (POSIX objects and channels: key 0,
 * id -1). A channel's name is the channel's (shmkit_chan_open's, without '/'), its backing
 * object its ring; owner, group and mode are its ring's (its directory's when the ring cannot
 * be seen), nattch counts its live senders and receivers, ctime is when it was created (for
 * one that does not read as a channel: when its name last changed).
 */
struct shmkit_obj {
	uint32_t kind;  /* SHMKIT_KIND_* */
	uint32_t flags; /* SHMKIT_OBJ_* */
	int32_t key;
	int32_t id;
	char name[SHMKIT_OBJ_NAME_MAX + 1]; /* POSIX: name in /dev/shm (no leading '/') */
	char ns[65];                        /* shmkit namespace */
	char comm[64];                      /* creator's command, "" when unknown */
	char backing[288];                  /* path of the backing object, "" for kernel SysV */
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode; /* permission bits, plus SHM_DEST / SHM_LOCKED as IPC_STAT shows them */
	int32_t cpid, lpid;
	uint32_t reserved_;
	uint64_t size;               /* bytes as requested (SysV segsz) or the file size (POSIX) */
	uint64_t nattch;             /* SysV: attach count; POSIX: processes that map the object */
	int64_t atime, dtime, ctime; /* seconds since the epoch; 0 = never (POSIX: mtime/ctime) */
	uint64_t rss, swap;          /* bytes, where the kernel reports them */
};

/* What shmkit_inspect_list() visits. Zeroed: every object of every kind. */
struct shmkit_inspect_filter {
	uint32_t kinds; /* SHMKIT_KIND_* mask, 0 = all */
	uint32_t reserved_;
	const char *ns; /* shmkit namespaces: only this one (NULL: all) */
};

/* Called once per object; a non-zero return stops the walk and is returned by the walk. */
typedef int (*shmkit_inspect_fn)(const struct shmkit_obj *obj, void *arg);

/*
 * Visit every object the filter selects, kernel SysV first (in /proc/sysvipc/shm order), then
 * POSIX (sorted by name), then channels (sorted by name), then shmkit namespaces. Returns the
 * number of objects visited, the callback's non-zero value, or -errno if no source could be read at
 * all.
 */
int shmkit_inspect_list(const struct shmkit_inspect_filter *f, shmkit_inspect_fn fn, void *arg);

/* A live process using an object. */
struct shmkit_inspect_proc {
	int32_t pid;
	uint32_t maps; /* mappings of the object in that process */
	uint32_t fds;  /* open descriptors on the object (POSIX, shmkit backing files) */
	uint32_t reserved_;
	uint64_t start; /* start time, clock ticks since boot */
	char comm[64];
};

/*
 * Processes attached to obj right now: kernel SysV from /proc/PID/maps ("/SYSV%08x" lines whose
 * inode is the shmid), POSIX and shmkit backing objects from /proc/PID/maps and /proc/PID/fd.
 * Processes that cannot be read (permissions, exit during the scan) are skipped.
 * Fills up to max entries; returns how many there are.
 */
int shmkit_inspect_attachers(const struct shmkit_obj *obj, struct shmkit_inspect_proc *out,
                             size_t max);

/* Command line of pid, arguments joined by spaces (its command name if it has none). */
int shmkit_inspect_proc_cmdline(int32_t pid, char *buf, size_t len);

/*
 * 1 if a process with this pid exists and provably started after time t (seconds since the
 * epoch), i.e. it cannot have done something at t; 0 if not (or it may have); -ESRCH if no such
 * process exists. Used to decide that a pid has been reused.
 */
int shmkit_inspect_pid_started_after(int32_t pid, int64_t t);

/* Limits in force and usage. */
struct shmkit_inspect_limits {
	uint64_t shmmax; /* bytes */
	uint64_t shmmin; /* bytes */
	uint64_t shmall; /* pages */
	uint64_t shmmni; /* segments */
	uint64_t shmseg; /* segments per process (reported, never enforced) */
	int32_t rmid_forced;
	uint32_t reserved_;
	uint64_t page_size;
	/* usage (SHM_INFO for the kernel) */
	uint64_t used_ids;
	uint64_t shm_tot; /* pages */
	uint64_t shm_rss; /* pages */
	uint64_t shm_swp; /* pages */
	uint64_t swap_attempts, swap_successes;
};

/*
 * Kernel limits (kind SHMKIT_KIND_SYSV: /proc/sys/kernel/shm*, SHM_INFO) or a shmkit namespace's
 * (kind SHMKIT_KIND_SHMKIT, ns required). -EINVAL for another kind.
 */
int shmkit_inspect_limits(uint32_t kind, const char *ns, struct shmkit_inspect_limits *l);

/* A read-only view of an object's bytes. */
struct shmkit_inspect_view {
	const void *addr;
	uint64_t size; /* bytes that may be read at addr */
	uint32_t kind;
	uint32_t reserved_;
	uint64_t maplen_;
};

/*
 * Map obj read-only (SHM_RDONLY attach for kernel SysV, an O_RDONLY mmap otherwise).
 * -ENOENT/-EINVAL if it vanished, -EACCES without read permission. Undo with
 * shmkit_inspect_unmap().
 */
int shmkit_inspect_map(const struct shmkit_obj *obj, struct shmkit_inspect_view *v);
void shmkit_inspect_unmap(struct shmkit_inspect_view *v);

/*
 * Read an object's bytes without mapping what someone else may shrink: POSIX and shmkit
 * objects are read with pread (an object truncated meanwhile reads short, never raises
 * SIGBUS); kernel System V segments, which cannot shrink, through a read-only attach.
 * shmkit_inspect_read returns the bytes read, 0 at the end, or -errno.
 */
struct shmkit_inspect_reader {
	uint64_t size; /* bytes when opened */
	uint32_t kind;
	int32_t fd_;
	struct shmkit_inspect_view view_;
};
int shmkit_inspect_open(const struct shmkit_obj *obj, struct shmkit_inspect_reader *r);
ssize_t shmkit_inspect_read(struct shmkit_inspect_reader *r, uint64_t off, void *buf, size_t len);
void shmkit_inspect_close(struct shmkit_inspect_reader *r);

/*
 * Heaps (objects with SHMKIT_OBJ_HEAP): what shmkit_heap_check() reports, read through a
 * read-only mapping without taking the heap's locks, so the figures of a heap others are
 * changing are a moment's (and a change caught half-way may show as damage). Returns 0, or
 * -errno: -EACCES without read permission, -EBADMSG/-EPROTO if it is not a heap this library
 * can read. shmkit_inspect_heap_names() calls fn for each named object (see
 * shmkit_heap_names()).
 */
int shmkit_inspect_heap(const struct shmkit_obj *obj, struct shmkit_heap_report *r);
int shmkit_inspect_heap_names(const struct shmkit_obj *obj, shmkit_heap_name_fn fn, void *arg);

/*
 * Channels (kind SHMKIT_KIND_CHAN): what shmkit_chan_stat() reports, its figures and up to max
 * live participants (peers may be NULL with max 0), read without taking part in the channel,
 * so the figures are a moment's. The participants' command names are made printable. Returns
 * how many live participants there are, or -errno: -EACCES without read permission, -EBADMSG /
 * -EPROTO for what is not a channel this library reads, -ENOENT if it is gone or has no ring.
 */
int shmkit_inspect_chan(const struct shmkit_obj *obj, struct shmkit_chan_info *info,
                        struct shmkit_chan_peer *peers, size_t max);

#endif
