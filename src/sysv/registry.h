/* SPDX-License-Identifier: MIT */
/*
 * sysv registry: the user-space counterpart of the kernel's shm_ids table.
 *
 * One namespace = one directory /dev/shm/shmkit.NS (nsdir.c) holding the registry "reg",
 * mapped MAP_SHARED by every process using the namespace, and one backing object "ID" per
 * segment (backing.c).
 *
 * Layout (fixed; the same for 32- and 64-bit processes):
 *
 *   [0, 4096)          struct sk_reg_hdr   magic, version (written last), registry lock, counters
 *   procs              SK_REG_PROCS  x struct sk_proc_rec   processes using the namespace
 *   segs               SK_REG_SLOTS  x struct sk_seg_rec    the segment table, indexed by idx
 *   atts               SK_REG_ATTS   x struct sk_att_rec    one record per live attachment
 *   hash               SK_REG_HASH   x uint32_t             key -> idx+1 (derived; rebuildable)
 *
 * Every field is written only under the registry lock (a robust shmkit_mutex_t in the header).
 *
 * Facts and caches. The facts are: each slot's state and fields, and each attachment record.
 * Derived from them, and recomputed by sk_reg_repair() after a process died holding the lock:
 * the key hash, in_use, shm_tot, every nattch. A process killed at any instruction inside an
 * operation therefore leaves facts that are each either old or new, never torn in a way the
 * repair cannot settle (see the state machines in ns.c and shm.c).
 *
 * Liveness. A process that uses the namespace owns a proc record and holds the liveness token
 * (sys/live.c) at byte SK_REG_LOCK_BASE + its index of the tokens file, through a carrier
 * that nothing else holds: not the registry's mapping, not a fork child. The kernel drops the
 * token when the process exits, is killed or execs; then the record is dead and its
 * attachment records are collected (sk_reg_sweep). PIDs are never trusted alone.
 *
 * Trust. Everything here may have been written by a hostile member of a shared namespace:
 * it is read as untrusted input (bounds, states) and never decides what this process does to
 * a file, beyond naming, within the namespace's directory, the one object a slot may name.
 */
#ifndef SHMKIT_SYSV_REGISTRY_H
#define SHMKIT_SYSV_REGISTRY_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal/atomic.h"
#include "internal/compiler.h"
#include "internal/crash.h"
#include "seg/seg.h"
#include "shmkit.h"

#define SK_REG_MAGIC   0x4b4d4853u /* "SHMK" */
#define SK_REG_VERSION 2u

#define SK_REG_SLOTS   SHMKIT_NS_MAX_SEGMENTS /* kernel's IPCMNI */
#define SK_REG_PROCS   4096u
#define SK_REG_ATTS    65536u
#define SK_REG_HASH    65536u /* power of two, twice the slots: short probes */
#define SK_REG_ORPHANS 64u    /* objects another member must remove (backing.c) */

#define SK_REG_NAME     "reg"
#define SK_LIVE_NAME    "live"
#define SK_NS_UDIRS     8                  /* members' object directories a process keeps open */
#define SK_NS_CANON_MAX SHMKIT_NS_NAME_MAX /* "default.4294967294" fits */
#define SK_NS_PATH_MAX  (sizeof(SK_SHM_DIR "/shmkit.") + SK_NS_CANON_MAX + 16)

#define SK_IDX_BITS  15 /* id = seq << 15 | idx, like the kernel without ipcmni_extend */
#define SK_IDX_MASK  ((1u << SK_IDX_BITS) - 1)
#define SK_SEQ_MAX   (0x7fffffffu >> SK_IDX_BITS) /* seq wraps to 0 here (65535) */
#define SK_MIN_CYCLE 64                           /* RADIX_TREE_MAP_SIZE */

/* OFD lock bytes live far beyond the file's end (locks may cover any offset). */
#define SK_REG_LOCK_BASE ((off_t)1 << 40)

/* Kernel-private mode bits shown by IPC_STAT. */
#define SK_SHM_DEST   01000u
#define SK_SHM_LOCKED 02000u

/* sk_seg_rec.state */
#define SK_SEG_FREE 0u
#define SK_SEG_BUSY 1u /* being created or destroyed: repair removes backing object and slot */
#define SK_SEG_LIVE 2u

/* sk_seg_rec.flags */
#define SK_SEGF_HUGETLB 0x1u

/* sk_proc_rec.state */
#define SK_PROC_FREE 0u
#define SK_PROC_LIVE 1u

/* hash entries */
#define SK_HASH_EMPTY 0u
#define SK_HASH_TOMB  0xffffffffu

struct sk_orphan {
	int32_t id;     /* the object "ID" that its owner should remove */
	uint32_t owner; /* its owner when the removal failed (a hint: who should try) */
};

struct sk_reg_hdr {
	SK_ATOMIC(uint32_t) magic;
	SK_ATOMIC(uint32_t) version; /* written last at creation: see BARRIER_PUBLISH in ns.c */
	uint32_t nslots, nprocs, natts, nhash;
	uint32_t mode;    /* registry object's mode at creation */
	uint32_t in_use;  /* LIVE + CREATING slots (derived) */
	uint64_t shm_tot; /* pages of LIVE segments (derived) */
	shmkit_mutex_t lock;
	int32_t last_idx;                            /* ids->last_idx */
	uint32_t seq;                                /* ids->seq */
	uint32_t idr_next;                           /* idr_alloc_cyclic's cursor */
	uint32_t tombs;                              /* hash tombstones (derived) */
	uint64_t lim_shmmax, lim_shmall, lim_shmmni; /* 0 = the kernel's live value */
	int32_t lim_rmid_forced;                     /* -1 = live */
	uint32_t procs_hi; /* 1 + highest proc record ever used (derived bound for scans) */
	uint64_t repairs;  /* how many times a dead lock holder's state was repaired */
	uint64_t ops;      /* mutating operations, for watchers */
	uint32_t atts_hi;  /* 1 + highest attachment record ever used (bound for scans) */
	uint32_t slots_hi; /* 1 + highest slot ever used (bound for scans) */
	char name[72];
	int32_t next_id;   /* shm_next_id: the id the next segment gets, -1 for none */
	uint32_t norphans; /* entries of orphans in use */
	struct sk_orphan orphans[SK_REG_ORPHANS];
	uint32_t lim_zero; /* SHMKIT_NS_ZERO_*: that override is 0 itself, not "live" */
	uint8_t reserved[4096 - 212 - 8 * SK_REG_ORPHANS];
};
SK_ASSERT_SIZE(struct sk_reg_hdr, 4096);
SK_ASSERT_OFFSET(struct sk_reg_hdr, next_id, 200);
SK_ASSERT_OFFSET(struct sk_reg_hdr, orphans, 208);
SK_ASSERT_OFFSET(struct sk_reg_hdr, lock, 40);
SK_ASSERT_OFFSET(struct sk_reg_hdr, lim_shmmax, 72);
SK_ASSERT_OFFSET(struct sk_reg_hdr, name, 128);

struct sk_proc_rec {
	uint32_t state;
	int32_t pid;
	uint64_t start; /* /proc/PID/stat start time: for reports, never for liveness alone */
	uint32_t euid;
	uint32_t natt; /* attachment records it owns (derived) */
	uint64_t reserved;
};
SK_ASSERT_SIZE(struct sk_proc_rec, 32);

struct sk_seg_rec {
	uint32_t state;
	int32_t id;
	int32_t key;
	uint32_t mode; /* low 9 bits + SK_SHM_DEST + SK_SHM_LOCKED */
	uint32_t uid, gid, cuid, cgid;
	uint64_t segsz; /* as requested, not rounded */
	int64_t atime, dtime, ctime;
	int32_t cpid, lpid;
	uint32_t nattch;       /* derived: attachment records of live processes */
	uint32_t creator_proc; /* proc index + 1 of the creator, 0 once it is gone */
	uint32_t flags;
	uint32_t pad0;
	uint64_t creator_start;
	char comm[16];
	uint8_t reserved[128 - 112];
};
SK_ASSERT_SIZE(struct sk_seg_rec, 128);
SK_ASSERT_OFFSET(struct sk_seg_rec, segsz, 32);
SK_ASSERT_OFFSET(struct sk_seg_rec, comm, 96);

struct sk_att_rec {
	uint32_t proc; /* proc index + 1; 0 = free record */
	uint32_t idx;  /* segment slot */
	int32_t id;    /* segment id when attached (guards against slot reuse) */
	uint32_t flags;
};
SK_ASSERT_SIZE(struct sk_att_rec, 16);

#define SK_REG_OFF_PROCS ((uint64_t)sizeof(struct sk_reg_hdr))
#define SK_REG_OFF_SEGS  (SK_REG_OFF_PROCS + (uint64_t)SK_REG_PROCS * sizeof(struct sk_proc_rec))
#define SK_REG_OFF_ATTS  (SK_REG_OFF_SEGS + (uint64_t)SK_REG_SLOTS * sizeof(struct sk_seg_rec))
#define SK_REG_OFF_HASH  (SK_REG_OFF_ATTS + (uint64_t)SK_REG_ATTS * sizeof(struct sk_att_rec))
#define SK_REG_SIZE      (SK_REG_OFF_HASH + (uint64_t)SK_REG_HASH * sizeof(uint32_t))

/*
 * One mapped piece of an attachment in this process. An attachment is one piece until
 * SHM_REMAP maps another segment over part of it: then, as the kernel splits the mapping into
 * VMAs that each count in nattch, it becomes several pieces, each with its own attachment
 * record. Like the kernel's shmdt(addr), which takes the lowest mapping whose offset says it
 * was attached at addr and unmaps every piece of that same attachment (same struct file),
 * shmkit_shmdt picks the lowest piece with origin == addr and detaches its attachment.
 */
struct sk_local_att {
	uintptr_t addr; /* this piece */
	size_t len;
	uintptr_t origin; /* where the attachment started */
	uint64_t serial;  /* which attachment: pieces of one attachment share it */
	uint32_t att;     /* index of its sk_att_rec */
	uint32_t idx;
	int32_t id;
};

/* A namespace as this process sees it. */
struct sk_ns {
	char name[SK_NS_CANON_MAX + 1]; /* canonical: "default" is "default.EUID" */
	int dirfd;                      /* its directory (O_PATH), checked at open (nsdir.c) */
	dev_t dev;                      /* the directory's filesystem: every object is on it */
	ino_t dir_ino;                  /* the directory, to notice when dirfd was closed */
	uid_t owner;    /* the directory's owner, the namespace's owner (a kernel fact) */
	int fd;         /* carrier of our liveness token (sys/live.c): never mapped, high */
	gid_t group;    /* the directory's group: the namespace's files get it */
	dev_t live_dev; /* the tokens file, to notice when fd was closed or reused */
	ino_t live_ino;
	/* This process's descriptors of members' object directories uUID (nsdir.c). */
	struct {
		uint32_t uid;
		int fd;
		ino_t ino; /* to notice when the process closed fd */
	} udir[SK_NS_UDIRS];
	uint32_t nudir;
	uint64_t fd_checked; /* when fd was last seen to be the registry (CLOCK_MONOTONIC ns) */
	int fd_bad;          /* a sweep found fd is not the registry any more */
	int rejoin;          /* registered in the parent, not here: a fork whose preparation
	                        failed, or a descriptor the process closed (ns.c) */
	size_t size;
	struct sk_reg_hdr *hdr;
	struct sk_proc_rec *procs;
	struct sk_seg_rec *segs;
	struct sk_att_rec *atts;
	uint32_t *hash;
	uint32_t self; /* our proc index, or UINT32_MAX before registration */
	pid_t pid;     /* getpid() at registration */
	/* live processes other than us seen at the last sweep: 0 lets sweeps skip the syscalls */
	uint32_t others;
	struct sk_local_att *local;
	size_t nlocal, caplocal;
	/*
	 * The descriptor of the segment this process created last, kept for the shmat that
	 * usually follows (saves reopening it); closed by the next operation of any other kind.
	 */
	int fresh_fd;
	int32_t fresh_id;
	size_t fresh_len; /* its size as created (never the registry's segsz) */
	uint64_t next_serial;
};

/* Close the kept descriptor of the last created segment, if any. Process lock held. */
void sk_ns_drop_fresh(struct sk_ns *ns);

/* ---- nsdir.c: where namespaces live, and whom they trust ---- */
/* Validate a user-given namespace name ([A-Za-z0-9_-], 1..SHMKIT_NS_NAME_MAX). */
int sk_ns_name_ok(const char *name);
/* The canonical name: "default" -> "default.EUID"; "default.UID" and valid names as they are. */
int sk_ns_canon(const char *name, char *out, size_t len);
void sk_ns_dir_path(char *buf, size_t len, const char *canon);
/* The name of segment id's backing object inside the namespace's directory. */
void sk_ns_seg_name(char *buf, size_t len, int32_t id);
/*
 * Open (creating a private one on first use if asked) and map a namespace, checking its
 * directory and registry; does not register this process. in: what was found (owner, why it
 * was refused). -ENOENT, -EACCES (not a member, squatted, unsafe), -EBADMSG, -EPROTO.
 */
int sk_ns_open_info(struct sk_ns *ns, const char *name, int create, struct shmkit_ns_info *in);
int sk_ns_open(struct sk_ns *ns, const char *name, int create);
void sk_ns_close(struct sk_ns *ns);
/* dirfd is still the namespace's directory, or a new descriptor of it is found (the process
 * closed it), and the members' directories kept open still are what they were (else they are
 * forgotten, to be opened anew). 0 or -EPROTO (the namespace is gone). */
int sk_ns_dir_check(struct sk_ns *ns);
/* A new descriptor of the tokens file we know (not adopted, placed high), or -EPROTO. */
int sk_ns_carrier(struct sk_ns *ns);
/*
 * The directory uUID holding the objects of the segments uid created, checked (a directory
 * of uid's, nobody else may write it) and kept open; create: make it if it is missing (our
 * own). -EIDRM if it is missing, -EACCES if it is not what it must be.
 */
int sk_ns_udir(struct sk_ns *ns, uint32_t uid, int create);
/* Call fn for every entry of directory dir (relative to dirfd) but . and ..; returns the sum
 * of what fn returned, or -errno. */
int sk_ns_dir_each(int dirfd, const char *dir, int (*fn)(int dfd, const char *name, void *arg),
                   void *arg);
/* Remove namespace canon's directory and everything in it. */
int sk_ns_rmdir(const char *canon);
/* 1 if the caller administers ns: the directory's owner, or CAP_SYS_ADMIN. */
int sk_ns_is_admin(const struct sk_ns *ns);

/* ---- ns.c: processes, locking ---- */
/* This process's namespace, if it is canon, is gone: forget it (after shmkit_ns_destroy). */
void sk_ns_forget(const char *canon);

/* ---- backing.c: the segments' objects ---- */
/* Create segment id's object with exactly mode, among this process's objects (uEUID): a
 * descriptor, or -errno. */
int sk_backing_create(struct sk_ns *ns, int32_t id, uint64_t size, mode_t mode);
/* Open the object of live segment id (slot g) for mapping, checked; *len = the bytes to map.
 * -EIDRM if it is gone or is not what the registry says. */
int sk_backing_open(struct sk_ns *ns, const struct sk_seg_rec *g, int32_t id, int rdonly,
                    size_t *len);
/* Remove the object id of creator uid; one this process may not remove is left to uid. */
int sk_backing_unlink(struct sk_ns *ns, uint32_t uid, int32_t id);
/* Remove the objects left to this process by others (the registry's orphan table). */
void sk_backing_orphans(struct sk_ns *ns);
/* Remove every object no live slot claims (shmkit_ns_gc). Returns how many. */
int sk_backing_sweep_dir(struct sk_ns *ns);
/* What IPC_SET sets. */
struct shmkit_ipc_perm {
	uid_t uid;
	gid_t gid;
	mode_t mode;
};
/*
 * IPC_SET: re-permission g's object for want (g still holds the registry's old values). A
 * field of want equal to the registry's is replaced by what the object says (the registry may
 * be forged); want then holds what to store. -EIDRM when there is no object to re-permission.
 */
int sk_backing_perms(struct sk_ns *ns, const struct sk_seg_rec *g, int32_t id,
                     struct shmkit_ipc_perm *want);
/* Bytes g's object occupies (SHM_INFO's rss). */
uint64_t sk_backing_bytes(struct sk_ns *ns, const struct sk_seg_rec *g);

/* ---- the registry lock ---- */
/*
 * The namespace of this process's shmkit_shm* calls, registered and ready; called with the
 * process lock (sk_proc_lock) held. -errno on failure.
 */
int sk_ns_current(struct sk_ns **out);
void sk_proc_lock(void);
void sk_proc_unlock(void);

/* Take the registry lock; repairs the registry if its last holder died. */
int sk_reg_lock(struct sk_ns *ns);
/* The same with an absolute CLOCK_MONOTONIC deadline (NULL: none): -ETIMEDOUT. */
int sk_reg_lock_until(struct sk_ns *ns, const struct timespec *abs);
void sk_reg_unlock(struct sk_ns *ns);
/* The deadline for calls that must not wait forever (inspection, administration, exit):
 * now + the process-wide wait (shmkit_ns_set_wait); NULL when it is unlimited. */
const struct timespec *sk_ns_wait_deadline(struct timespec *abs);
/* Recompute every derived field from the facts. Registry lock held. */
void sk_reg_repair(struct sk_ns *ns);
/* Collect dead processes' attachments (and destroy what that frees). Lock held. */
int sk_reg_sweep(struct sk_ns *ns);
/* 1 if proc record i belongs to a live process (we hold our own). Lock held. */
int sk_proc_alive_rec(struct sk_ns *ns, uint32_t i);

/* This process's command name (read once per process). Process lock held. */
const char *sk_self_comm(void);

/* ---- table.c ---- */
int sk_hash_find(struct sk_ns *ns, int32_t key);
void sk_hash_insert(struct sk_ns *ns, int32_t key, uint32_t idx);
void sk_hash_remove(struct sk_ns *ns, int32_t key, uint32_t idx);
/* Choose the next id (kernel's cyclic idx + sequence); sk_id_commit makes it taken. */
int32_t sk_id_next(struct sk_ns *ns, uint32_t *idx);
void sk_id_commit(struct sk_ns *ns, uint32_t idx, int32_t id);
/* Slot of a live segment by full id, or -EINVAL. */
int sk_id_lookup(struct sk_ns *ns, int id);
/*
 * One more attachment of the live segment idx/id by proc, as the kernel's shm_open() counts it:
 * a record, nattch + 1, atime = now, lpid = pid. The record's index, -EIDRM if the segment is
 * gone, -ENOMEM when the table is full.
 */
int sk_att_add(struct sk_ns *ns, uint32_t proc, uint32_t idx, int32_t id, pid_t pid);
/* Destroy slot idx: unlink its backing object, free the slot. Lock held. */
void sk_seg_destroy(struct sk_ns *ns, uint32_t idx);
/* IPC_RMID of slot idx, with the kernel's permission check (shm.c). Lock held. */
int sk_shm_rmid(struct sk_ns *ns, uint32_t idx);
/* A segment as IPC_STAT shows it (shm.c). */
void sk_seg_fill_ds(const struct sk_seg_rec *g, struct shmid_ds *ds);
/* Remove an attachment record (the attacher is gone or detached). Lock held. */
void sk_att_release(struct sk_ns *ns, uint32_t att, pid_t pid);
/* Recompute the key hash from the slots. Lock held. */
void sk_hash_rebuild(struct sk_ns *ns);
/* Effective limits (overrides or the kernel's live values). */
void sk_ns_limits(struct sk_ns *ns, uint64_t *shmmax, uint64_t *shmall, uint64_t *shmmni,
                  int *rmid_forced);

/* Check every invariant between facts and derived fields. Lock held. 0 or -EBADMSG. */
int sk_reg_check(struct sk_ns *ns, char *why, size_t len);

static inline uint64_t sk_pages(uint64_t bytes, uint64_t page)
{
	return bytes / page + (bytes % page != 0);
}

#endif
