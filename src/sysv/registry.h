/* SPDX-License-Identifier: MIT */
/*
 * sysv registry: the user-space counterpart of the kernel's shm_ids table.
 *
 * One namespace = one registry object /dev/shm/shmkit.NS.reg, mapped MAP_SHARED by every
 * process using the namespace, plus one backing object /dev/shm/shmkit.NS.ID per segment.
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
 * Liveness. A process that uses the namespace owns a proc record and holds an OFD lock on
 * byte SK_REG_LOCK_BASE + its index of the registry file, through an O_CLOEXEC descriptor.
 * The kernel drops that lock when the process exits, is killed or execs; then the record is
 * dead and its attachment records are collected (sk_reg_sweep). PIDs are never trusted alone.
 */
#ifndef SHMKIT_SYSV_REGISTRY_H
#define SHMKIT_SYSV_REGISTRY_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "internal/atomic.h"
#include "internal/compiler.h"
#include "shmkit.h"

#define SK_REG_MAGIC   0x4b4d4853u /* "SHMK" */
#define SK_REG_VERSION 1u

#define SK_REG_SLOTS SHMKIT_NS_MAX_SEGMENTS /* kernel's IPCMNI */
#define SK_REG_PROCS 4096u
#define SK_REG_ATTS  65536u
#define SK_REG_HASH  65536u /* power of two, twice the slots: short probes */

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
	uint8_t reserved[4096 - 200];
};
SK_ASSERT_SIZE(struct sk_reg_hdr, 4096);
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
	char name[SHMKIT_NS_NAME_MAX + 1];
	int fd; /* registry; holds our liveness lock (O_CLOEXEC), placed high (SK_FD_FLOOR) */
	dev_t reg_dev; /* the registry file, to notice when fd was closed or reused */
	ino_t reg_ino;
	uint64_t fd_checked; /* when fd was last seen to be the registry (CLOCK_MONOTONIC ns) */
	int fd_bad;          /* a sweep found fd is not the registry any more */
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
	uint64_t next_serial;
};

/* Close the kept descriptor of the last created segment, if any. Process lock held. */
void sk_ns_drop_fresh(struct sk_ns *ns);

/* ---- ns.c: namespaces, processes, locking, repair ---- */
/* Validate a namespace name; build "shmkit.NS.reg" / "shmkit.NS.ID" object names. */
int sk_ns_name_ok(const char *name);
void sk_ns_reg_name(char *buf, size_t len, const char *ns);
void sk_ns_seg_name(char *buf, size_t len, const char *ns, int32_t id);

/* Open (creating it if asked) and map a registry; does not register this process. */
int sk_ns_open(struct sk_ns *ns, const char *name, int create, unsigned mode);
void sk_ns_close(struct sk_ns *ns);

/*
 * The namespace of this process's shmkit_shm* calls, registered and ready; called with the
 * process lock (sk_proc_lock) held. -errno on failure.
 */
int sk_ns_current(struct sk_ns **out);
void sk_proc_lock(void);
/* getpid(), cached per process (reset in the child of fork). */
pid_t sk_self_pid(void);
void sk_proc_unlock(void);

/* Take the registry lock; repairs the registry if its last holder died. */
int sk_reg_lock(struct sk_ns *ns);
/* The same with an absolute CLOCK_MONOTONIC deadline (NULL: none): -ETIMEDOUT. */
int sk_reg_lock_until(struct sk_ns *ns, const struct timespec *abs);
void sk_reg_unlock(struct sk_ns *ns);
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
/* A segment as IPC_STAT shows it (shm.c). */
void sk_seg_fill_ds(const struct sk_seg_rec *g, struct shmid_ds *ds);
/* Remove an attachment record (the attacher is gone or detached). Lock held. */
void sk_att_release(struct sk_ns *ns, uint32_t att, pid_t pid);
/* Recompute the key hash from the slots. Lock held. */
void sk_hash_rebuild(struct sk_ns *ns);
/* Effective limits (overrides or the kernel's live values). */
void sk_ns_limits(struct sk_ns *ns, uint64_t *shmmax, uint64_t *shmall, uint64_t *shmmni,
                  int *rmid_forced);

/*
 * Crash-point injection for the crash tests: when sk_crash_countdown is set to n > 0, the n-th
 * crash point reached kills the process with SIGKILL, as a kill -9 there would. Zero (always,
 * outside the tests) costs one predictable branch.
 */
extern int sk_crash_countdown;
void sk_crash_now(void);
#define SK_CRASH_POINT()                                                                           \
	do {                                                                                       \
		if (SK_UNLIKELY(sk_crash_countdown) && --sk_crash_countdown == 0)                  \
			sk_crash_now();                                                            \
	} while (0)

/* Check every invariant between facts and derived fields. Lock held. 0 or -EBADMSG. */
int sk_reg_check(struct sk_ns *ns, char *why, size_t len);

static inline uint64_t sk_pages(uint64_t bytes, uint64_t page)
{
	return bytes / page + (bytes % page != 0);
}

#endif
