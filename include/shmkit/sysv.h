/* SPDX-License-Identifier: MIT */
/*
 * shmkit/sysv.h — the System V shared-memory model in user space (part of <shmkit.h>).
 *
 * shmkit_shmget/shmat/shmdt/shmctl/ftok have the libc signatures and the Linux kernel's
 * behaviour, errno for errno: they return -1 and set errno on failure.
 *
 * Segments live in a *namespace*: a directory /dev/shm/shmkit.NAME holding one registry and
 * one backing object per segment. A process uses one namespace at a time: the one named by
 * shmkit_ns_use(), else $SHMKIT_NAMESPACE, else "default".
 *
 * A namespace is a trust domain. "default" is the caller's own, "default.EUID", writable by
 * that user alone; any other name (1..SHMKIT_NS_NAME_MAX characters from [A-Za-z0-9_-]) is
 * global on the machine and belongs to whoever created it. A namespace made on first use is
 * private to its creator; one shared between users is made explicitly with
 * shmkit_ns_create() and group or other bits in its mode. A hostile member of a shared
 * namespace can lie about metadata and stall the others, nothing more (shmkit_sysv(3)).
 * The shmkit_ns_* functions return 0 (or a count) or -errno.
 */
#ifndef SHMKIT_SYSV_H
#define SHMKIT_SYSV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/types.h>

#define SHMKIT_NS_ENV      "SHMKIT_NAMESPACE"
#define SHMKIT_NS_DEFAULT  "default"
#define SHMKIT_NS_NAME_MAX 64
/* Most segments a namespace can hold (the kernel's IPCMNI). */
#define SHMKIT_NS_MAX_SEGMENTS 32768

int shmkit_shmget(key_t key, size_t size, int shmflg);
void *shmkit_shmat(int shmid, const void *shmaddr, int shmflg);
int shmkit_shmdt(const void *shmaddr);
int shmkit_shmctl(int shmid, int cmd, struct shmid_ds *buf);
key_t shmkit_ftok(const char *path, int proj_id);

/*
 * Select the namespace for this process's later shmkit_shm* calls (NULL: $SHMKIT_NAMESPACE or
 * "default"). The registry is created on first use. -EBUSY if this process still has
 * segments of the current namespace attached; -EINVAL for a bad name.
 */
int shmkit_ns_use(const char *name);
/* The namespace in use (or that will be used), e.g. "default". */
const char *shmkit_ns_current(void);
/* The canonical name of a namespace ("default" -> "default.EUID") into out; -EINVAL for a name
 * that is not one, -ENAMETOOLONG if out is too small. */
int shmkit_ns_canonical(const char *name, char *out, size_t len);

/*
 * Create a namespace; mode says who may be a member: 0600 private, 0660 the creator's group
 * (or gid's: shmkit_ns_create_group, gid (gid_t)-1 = the creator's), 0666 everyone (rw bits
 * only; owner rw required). -EEXIST if it exists, -EINVAL for a bad name or mode ("default"
 * is always private).
 */
int shmkit_ns_create(const char *name, unsigned mode);
int shmkit_ns_create_group(const char *name, unsigned mode, gid_t gid);

/* What the kernel says of a namespace, and whether this process may use it. */
#define SHMKIT_NS_SHARED   0x1u /* it belongs to another user, who shares it with us */
#define SHMKIT_NS_SQUATTED 0x2u /* its name is taken by someone else's object: see owner */
#define SHMKIT_NS_UNSAFE   0x4u /* a mode that would let others replace its objects */
#define SHMKIT_NS_MISSING  0x8u /* it does not exist (yet) */
struct shmkit_ns_info {
	char name[SHMKIT_NS_NAME_MAX + 1]; /* canonical: "default" is "default.EUID" */
	char path[96];                     /* its directory */
	uint32_t owner, group, mode;       /* of the directory (of the squatting object if so) */
	uint32_t flags;                    /* SHMKIT_NS_* */
	int32_t error;                     /* 0 if this process can use it, else -errno */
	uint32_t members;                  /* processes registered (0 when not readable) */
	uint32_t reserved_[4];
};
/* Fill *out; returns 0 (out->error says whether it is usable) or -EINVAL for a bad name. */
int shmkit_ns_info(const char *name, struct shmkit_ns_info *out);

/*
 * How long calls that must not hang wait for a namespace's registry lock when another member
 * holds it (the inspection calls below, shmkit_ns_set_limits/get_limits/destroy, and exit()):
 * nanoseconds, 0 = without limit. Default SHMKIT_NS_WAIT_DEFAULT. Process-wide. The System V
 * calls themselves wait as long as it takes, as they would for the kernel's locks.
 */
#define SHMKIT_NS_WAIT_DEFAULT (5ULL * 1000 * 1000 * 1000)
void shmkit_ns_set_wait(uint64_t ns);
/*
 * Remove a namespace: every segment's backing object, then the registry. Processes still
 * attached keep their mappings. Only the namespace's owner (or CAP_SYS_ADMIN) may: -EPERM,
 * with nothing changed. -ENOENT if it does not exist.
 */
int shmkit_ns_destroy(const char *name);

/*
 * A destroyed namespace's name is free at once; objects other members still had in it stay
 * until they (or root) call this: removes what this process may of destroyed namespaces.
 * Returns how many were removed completely.
 */
int shmkit_ns_gc_destroyed(void);

/*
 * Per-namespace limits; a field of 0 (rmid_forced: -1) means "the kernel's live value",
 * unless its bit in zero says the limit is 0 itself (as `echo 0 > /proc/sys/kernel/shmmax`
 * makes it on the kernel).
 */
#define SHMKIT_NS_ZERO_SHMMAX 0x1u
#define SHMKIT_NS_ZERO_SHMALL 0x2u
#define SHMKIT_NS_ZERO_SHMMNI 0x4u
struct shmkit_ns_limits {
	uint64_t shmmax; /* bytes */
	uint64_t shmall; /* pages */
	uint64_t shmmni; /* segments, at most SHMKIT_NS_MAX_SEGMENTS */
	int32_t rmid_forced;
	uint32_t zero; /* SHMKIT_NS_ZERO_*: that limit is 0, not the live value */
};
/* Only the namespace's owner (or CAP_SYS_ADMIN) sets limits: -EPERM. */
int shmkit_ns_set_limits(const char *name, const struct shmkit_ns_limits *l);
/* The overrides stored in the namespace (0/-1 where live values apply). */
int shmkit_ns_get_limits(const char *name, struct shmkit_ns_limits *l);
/*
 * The namespace's shm_next_id (/proc/sys/kernel/shm_next_id of an IPC namespace): the id the
 * next new segment gets, if its index is free (else the next free index above it, with that
 * id's sequence number), then -1 again. -1: none. Setting it is the owner's (-EPERM).
 */
int shmkit_ns_get_next_id(const char *name, int32_t *id);
int shmkit_ns_set_next_id(const char *name, int32_t id);

/*
 * Inspection, without changing anything and without joining the namespace.
 * shmkit_ns_list fills up to max names of existing namespaces; returns how many exist.
 */
int shmkit_ns_list(char (*names)[SHMKIT_NS_NAME_MAX + 1], size_t max);

/* One segment, as IPC_STAT shows it, plus what only shmkit knows. */
struct shmkit_seg_stat {
	struct shmid_ds ds;    /* nattch counts live attachers only */
	int32_t id;            /* full shmid */
	int32_t creator_alive; /* 1 if the creating process still runs (PID-reuse safe) */
	char backing[128];     /* path of the backing object */
	char creator_comm[16]; /* creator's command name when it created the segment */
};
/*
 * Segments of namespace 'ns' in index order: fills up to max entries, returns how many
 * segments exist (call with max 0 to size a buffer).
 */
int shmkit_ns_segments(const char *ns, struct shmkit_seg_stat *out, size_t max);

/* A live process attached to a segment. */
struct shmkit_attacher {
	int32_t pid;
	uint32_t count; /* attachments of this segment in that process */
	uint64_t start; /* its start time (clock ticks since boot), for PID-reuse-safe checks */
};
/* Attachers of shmid in ns: fills up to max, returns how many there are. -EINVAL: no such id. */
int shmkit_ns_attachers(const char *ns, int shmid, struct shmkit_attacher *out, size_t max);

/*
 * IPC_RMID of shmid in ns, with the kernel's rules (the owner, the creator or CAP_SYS_ADMIN:
 * -EPERM), without joining the namespace and waiting at most shmkit_ns_set_wait() for its
 * lock (-ETIMEDOUT). -EINVAL: no such id.
 */
int shmkit_ns_rmid(const char *ns, int shmid);

/*
 * Collect what dead processes left: detach their attachments, destroy segments marked for
 * removal that no live process has attached. Also done lazily by every shmctl and creating
 * shmget. Returns the number of segments destroyed.
 */
int shmkit_ns_gc(const char *ns);

#endif
