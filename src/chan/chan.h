/* SPDX-License-Identifier: MIT */
/*
 * chan: message rings in shared memory. Internal layout and protocols.
 *
 * A channel NAME is a directory /dev/shm/shmkit.chan.NAME holding
 *   ring   the header, the participants and the slots (this file's layout), mode as asked;
 *   live   the participants' liveness tokens (sys/live.c): writable by who may write the
 *          ring, readable by nobody, so that no reader can hold or block a token.
 *
 * Layout of ring (fixed; the same for 32- and 64-bit processes):
 *   [0, 4096)       struct sk_chan_hdr    geometry, then one cache line per side
 *   [4096, 12288)   struct sk_chan_part   x SK_CHAN_PARTS: who takes part, and where
 *   [12288, ...)    slots                 capacity x slot_size: struct sk_chan_slot + payload
 *
 * Positions are 64-bit counters that never wrap in practice; a slot is position & (cap - 1).
 * Everything is read as untrusted: each position, length and index read from the ring is
 * read once, checked against what it can be, then used; what cannot be gives -EPROTO.
 *
 * Memory ordering
 * ===============
 * BARRIER_C1  SPSC publication. The sender writes a slot (length, payload), then stores its
 *             seq = pos + 1 (seq_cst, a release); the receiver loads seq (acquire) before it
 *             reads the slot. The receiver consumes, then stores head (seq_cst, release); the
 *             sender loads head (acquire) before it reuses a slot.
 * BARRIER_C2  MPMC and broadcast publication: a slot's seq. The writer fills the slot, then
 *             CASes seq to pos + 1 (release); a reader loads seq (acquire) before it reads the
 *             slot. A reader frees the slot by CASing seq to pos + capacity (release), which
 *             the next lap's writer loads (acquire) before it writes.
 * BARRIER_C3  claims. A sender stores claim = pos (and a receiver hold = pos) before its CAS
 *             on tail (head), both seq_cst: whoever finds the slot of pos stuck and scans the
 *             participants after loading tail (head) finds the claimant's announcement.
 * BARRIER_C4  sleeping (sync/wait.c, sk_wait_masked): a waker publishes with a seq_cst
 *             operation, then reads the sleepers masks (seq_cst); a waiter sets its bit, then
 *             reads the sequence word and the ring (seq_cst). Either the waker sees the bit and
 *             wakes, or the waiter sees the message (or the room). A dead sleeper's bit is
 *             cleared by its reaper. SPSC, when both sides are registered for membarrier
 *             (sys/fence.c): the waker publishes with a release store and the waiter, after
 *             setting its bit, issues the barrier on the waker's CPU (c->asym).
 *             Without membarrier the waiter also looks again every millisecond.
 * BARRIER_C5  broadcast reading is a seqlock: the reader loads seq (acquire), copies, then
 *             (acquire fence) loads seq again; a writer takes the slot by CASing seq to
 *             WRITING | pos (acquire-release) before it writes. A copy is delivered only if seq
 *             was pos + 1 both times.
 */
#ifndef SHMKIT_CHAN_INTERNAL_H
#define SHMKIT_CHAN_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "internal/atomic.h"
#include "internal/compiler.h"
#include "shmkit.h"
#include "sys/sys.h"

#define SK_CHAN_MAGIC   0x4e414843u /* "CHAN" */
#define SK_CHAN_VERSION 1u
#define SK_CHAN_PARTS   SHMKIT_CHAN_MAX_PEERS
#define SK_CHAN_REDO    64u /* MPMC: messages a dead receiver held, to deliver again */
#define SK_CHAN_HDR     4096u
#define SK_CHAN_SLOTS   (SK_CHAN_HDR + SK_CHAN_PARTS * 128u)
#define SK_CHAN_NONE    UINT64_MAX
#define SK_CHAN_DIR     "shmkit.chan."
#define SK_CHAN_BUILD   "shmkit.chanbuild." /* + PID.START.RND: one being made */
#define SK_CHAN_RING    "ring"
#define SK_CHAN_LIVE    "live"

/* Bounds a creator may ask for (the ring must map in a 32-bit process too). */
#define SK_CHAN_MSG_MAX  ((uint64_t)1 << 30)
#define SK_CHAN_CAP_MAX  ((uint64_t)1 << 24)
#define SK_CHAN_SIZE_MAX ((uint64_t)1 << 32)

/* slot seq flags (MPMC, broadcast): the low 62 bits are a position */
#define SK_SEQ_ABANDONED ((uint64_t)1 << 63) /* its writer died: skip it */
#define SK_SEQ_WRITING   ((uint64_t)1 << 62) /* broadcast: being written for the position */
#define SK_SEQ_POS       (SK_SEQ_WRITING - 1)

/* sk_chan_part.state */
#define SK_PART_FREE     0u
#define SK_PART_CLAIMING 1u
#define SK_PART_LIVE     2u

/* Liveness tokens live at these bytes of "live": one per participant record, and one more
 * that whoever reaps a dead record holds meanwhile (a lock the kernel drops if it dies). */
#define SK_CHAN_TOKEN(i)   ((off_t)1 << 20 | (off_t)(i))
#define SK_CHAN_REAP_TOKEN SK_CHAN_TOKEN(SK_CHAN_PARTS)

struct sk_chan_hdr {
	/* line 0: written at creation only */
	SK_ATOMIC(uint32_t) magic;
	SK_ATOMIC(uint32_t) version; /* written last: BARRIER_PUB (seg/publish.c) */
	uint32_t kind, nparts;
	uint64_t msg_size, capacity;
	uint32_t slot_size, mode;
	uint64_t slots_off, size;
	int64_t ctime;
	/* line 1: the senders' position */
	SK_ATOMIC(uint64_t) tail;
	uint8_t pad1[56];
	/* line 2: the receivers' position (SPSC, MPMC) */
	SK_ATOMIC(uint64_t) head;
	uint8_t pad2[56];
	/* line 3: receivers sleep on rx_seq; rx_sleep[0] has bit i set while participant i's
	 * handle sleeps there, rx_sleep[1] while its descriptor's helper does (sync's
	 * sk_wait_masked): senders bump rx_seq and wake if any bit is set */
	SK_ATOMIC(uint32_t) rx_seq;
	uint32_t pad3a;
	SK_ATOMIC(uint64_t) rx_sleep[2];
	uint8_t pad3[64 - 24];
	/* line 4: senders sleep here (full ring); receivers bump tx_seq */
	SK_ATOMIC(uint32_t) tx_seq;
	uint32_t pad4a;
	SK_ATOMIC(uint64_t) tx_sleep[2];
	uint8_t pad4[64 - 24];
	/* line 5: roles and totals */
	SK_ATOMIC(uint32_t) tx_owner;     /* SPSC: participant index + 1 of the sender, 0 none */
	SK_ATOMIC(uint32_t) rx_owner;     /* SPSC: the receiver's */
	SK_ATOMIC(uint32_t) ever_senders; /* a sender has opened it: receive may say -EPIPE */
	SK_ATOMIC(uint32_t) nredo;        /* MPMC: at least the entries of redo in use */
	SK_ATOMIC(uint64_t) abandoned;    /* slots skipped because their writer died */
	SK_ATOMIC(uint64_t) start;        /* broadcast: the first position ever written */
	SK_ATOMIC(uint32_t) opens[2];     /* senders [0], receivers [1] that ever opened it */
	SK_ATOMIC(uint32_t) leaves[2];    /* ... that closed it or were reaped */
	uint8_t pad5[64 - 48];
	/* lines 6..: MPMC positions to deliver again (SK_CHAN_NONE: free) */
	SK_ATOMIC(uint64_t) redo[SK_CHAN_REDO];
	uint8_t reserved[SK_CHAN_HDR - 384 - 8 * SK_CHAN_REDO];
};
SK_ASSERT_SIZE(struct sk_chan_hdr, SK_CHAN_HDR);
SK_ASSERT_OFFSET(struct sk_chan_hdr, tail, 64);
SK_ASSERT_OFFSET(struct sk_chan_hdr, head, 128);
SK_ASSERT_OFFSET(struct sk_chan_hdr, rx_seq, 192);
SK_ASSERT_OFFSET(struct sk_chan_hdr, rx_sleep, 200);
SK_ASSERT_OFFSET(struct sk_chan_hdr, tx_seq, 256);
SK_ASSERT_OFFSET(struct sk_chan_hdr, tx_sleep, 264);
SK_ASSERT_OFFSET(struct sk_chan_hdr, tx_owner, 320);
SK_ASSERT_OFFSET(struct sk_chan_hdr, redo, 384);

struct sk_chan_part {
	SK_ATOMIC(uint32_t) state; /* SK_PART_* */
	uint32_t role;             /* SHMKIT_CHAN_SEND / RECV */
	int32_t pid;
	uint32_t uid;
	uint64_t start; /* /proc/PID/stat start time: for reports, never for liveness */
	char comm[16];
	SK_ATOMIC(uint64_t) claim;     /* sender: the position it claims or writes, NONE */
	SK_ATOMIC(uint64_t) hold;      /* receiver: the position it holds, NONE */
	SK_ATOMIC(uint64_t) cursor;    /* broadcast receiver: the next position it reads */
	SK_ATOMIC(uint64_t) lost;      /* broadcast receiver: overwritten before read */
	SK_ATOMIC(uint64_t) abandoned; /* receiver: abandoned slots it skipped */
	SK_ATOMIC(uint64_t) count;     /* messages sent or received */
	uint32_t unused;               /* 0 */
	uint8_t reserved[128 - 92];
};
SK_ASSERT_SIZE(struct sk_chan_part, 128);
SK_ASSERT_OFFSET(struct sk_chan_part, claim, 40);

struct sk_chan_slot {
	SK_ATOMIC(uint64_t) seq; /* MPMC, broadcast: see BARRIER_C2 */
	SK_ATOMIC(uint32_t) len;
	uint32_t writer; /* participant index + 1 of its writer (reports) */
};
SK_ASSERT_SIZE(struct sk_chan_slot, 16);

/* The process-local handle. */
struct shmkit_chan {
	char name[SHMKIT_CHAN_NAME_MAX + 1];
	uint32_t kind, role;
	int passive;   /* a receiver that could only map it read-only: no record, no token */
	int copied;    /* hdr is a private copy (inspection), not a mapping */
	int asym;      /* registered for membarrier: SPSC publishes with release stores */
	uint32_t fast; /* SK_CHAN_FAST_* (spsc.h): the try calls' fast path, or 0 */
	pid_t pid;     /* the process that opened it */
	int ringfd;    /* the ring's descriptor (for the helper thread and stat) */
	struct sk_guard *guard; /* the ring's mapping (sys/guard.c): tripped if truncated */
	int carrier;            /* our token's descriptor (sys/live.c), -1 if passive */
	uint32_t self;          /* our participant record, UINT32_MAX if passive */
	size_t size;
	struct sk_chan_hdr *hdr;
	struct sk_chan_part *parts;
	unsigned char *slots;
	uint64_t cap, mask, msg_size;
	uint32_t slot_size;
	/* SPSC: our position and the other side's, as last seen (each side caches the other) */
	uint64_t pos, other;
	/* broadcast receiver: the next position to read (atomic: the descriptor's helper reads
	 * it), and what it lost (kept here too, for a passive receiver that has no record) */
	SK_ATOMIC(uint64_t) cursor;
	uint64_t lost;
	/* zero-copy: the position and slot of an outstanding loan or peek */
	uint64_t loan_pos, peek_pos;
	void *loan_slot;
	const void *peek_slot;
	uint64_t last_live_check; /* when peers' liveness was last checked (ns) */
	/* The descriptor's helper found a claim whose writer died (ring.c slot_ready): the
	 * next look checks peers at once, so a receive after a readable poll gives it up. */
	SK_ATOMIC(uint32_t) look_now;
	uint64_t spin_ns; /* a waiter spins this long, then sleeps (shmkit_chan_set_spin) */
	/* The other side was found all gone when its opens count was gone_opens (valid if
	 * gone_known): until someone of that side opens, it still is, without looking. */
	uint32_t gone_opens;
	int gone_known;
	uint32_t seen_leaves; /* the other side's leaves count when we last looked */
	uint32_t idle;        /* SPSC try calls that found the ring empty (full): spsc.h */
	/* shmkit_chan_fd's helper (fd.c) */
	struct sk_chan_fd *fdh;
};

/* ---- open.c ---- */
/* Is the handle usable by this process? 0 or -EBADF (inherited through fork), -EINVAL. */
int sk_chan_usable(const shmkit_chan_t *c);
/* Live participants of role (other than us), reaping dead records on the way. */
uint32_t sk_chan_live(shmkit_chan_t *c, uint32_t role);
/* The same without reaping, for the descriptor's helper thread: reaping is the owner's (the
 * reap token is an OFD lock, which the owner's thread and the helper share). */
uint32_t sk_chan_live_noreap(shmkit_chan_t *c, uint32_t role);
/* MPMC: is a position waiting in the redo table? (nredo says whether to look: a crash or a
 * liar may leave it too high, so the table itself says.) */
int sk_chan_redo_pending(const shmkit_chan_t *c);
/* 1 if no live participant announces pos as its claim (sender) or hold (receiver). */
int sk_chan_unclaimed(shmkit_chan_t *c, uint64_t pos, int receiver);
/* Does no live sender claim a position of pos's slot in [from, pos]? */
int sk_chan_unclaimed_laps(shmkit_chan_t *c, uint64_t from, uint64_t pos);
/* Tokens are system calls: 1 if it is time to look at them again (every SK_CHAN_LIVE_NS). */
int sk_chan_time_to_check(shmkit_chan_t *c);
/* Is every participant of the other side gone? Looks at tokens only if look (and nobody of
 * that side opened it since it was last found so). */
int sk_chan_peers_gone(shmkit_chan_t *c, int look);
/* The other side's index in opens[] and leaves[] (0 senders, 1 receivers). */
static inline uint32_t sk_chan_other_side(const shmkit_chan_t *c)
{
	return c->role == SHMKIT_CHAN_SEND;
}
/* Has nobody of the other side left since sk_chan_peers_gone last looked? (Only compared:
 * whatever a peer writes there makes us look again, never skip a look it asked for.) */
static inline int sk_chan_no_leaves(const shmkit_chan_t *c)
{
	return sk_load_relaxed(&c->hdr->leaves[sk_chan_other_side(c)]) == c->seen_leaves;
}
/* Was the ring truncated under us (its mapping is zeros now: sys/guard.c)? Checked after
 * every use of the ring: whatever that use read or wrote, the answer is -EPROTO. */
static inline int sk_chan_broken(const shmkit_chan_t *c)
{
	return sk_guard_check(c->guard);
}
static inline ssize_t sk_chan_verdict(const shmkit_chan_t *c, ssize_t r)
{
	return SK_UNLIKELY(sk_chan_broken(c)) ? -EPROTO : r;
}
/* The slot at position pos. */
static inline struct sk_chan_slot *sk_chan_slot(const shmkit_chan_t *c, uint64_t pos)
{
	return (struct sk_chan_slot *)(void *)(c->slots + (size_t)(pos & c->mask) * c->slot_size);
}
static inline unsigned char *sk_chan_payload(struct sk_chan_slot *s)
{
	return (unsigned char *)(s + 1);
}
/* Must a waiter of c issue the barrier for its wakers (BARRIER_C4)? SPSC wakers may publish
 * with release stores; the waiter cannot know whether its peer does, so it always pays. */
static inline int sk_chan_asym(const shmkit_chan_t *c)
{
	return c->kind == SHMKIT_CHAN_SPSC;
}
/* Copy n bytes; n may be 0 with either pointer NULL (a message of no bytes). */
static inline void sk_chan_copy(void *dst, const void *src, size_t n)
{
	if (n)
		__builtin_memcpy(dst, src, n);
}

/* A read-only handle for inspection (stat, the CLI): no record, no reaping. */
int sk_chan_inspect(const char *name, shmkit_chan_t **out);
void sk_chan_uninspect(shmkit_chan_t *c);
/* Is the participant of record i alive? */
int sk_chan_token_held(const shmkit_chan_t *c, uint32_t i);

/* ---- waiting (open.c): the channel's use of sync's wait loop ---- */
#define SK_CHAN_SPIN_NS SHMKIT_CHAN_SPIN_DEFAULT /* spin this long before sleeping */
#define SK_CHAN_POLL_NS (100ull * 1000 * 1000)   /* a sleeper re-checks its peers' lives */
#define SK_CHAN_LIVE_NS (10ull * 1000 * 1000)    /* peers' tokens are tested at most so often */
/* Wake the receivers (after a publication) or the senders (after freeing room). */
void sk_chan_wake_rx(shmkit_chan_t *c);
void sk_chan_wake_tx(shmkit_chan_t *c);

/* ---- ring.c (SPSC, MPMC) and bcast.c ---- */
/* loan: reserve the slot (c->loan_pos, *loan = its payload) instead of copying msg in. */
int sk_spsc_send(shmkit_chan_t *c, const void *msg, size_t len, const struct timespec *abs,
                 int wait, void **loan);
ssize_t sk_spsc_recv(shmkit_chan_t *c, void *buf, size_t cap, const struct timespec *abs, int wait,
                     const void **peek);
/* Publish the slot at t with len bytes; free the slot at h (SPSC). */
int sk_spsc_commit(shmkit_chan_t *c, uint64_t t, size_t len);
void sk_spsc_release(shmkit_chan_t *c, uint64_t h);
int sk_mpmc_send(shmkit_chan_t *c, const void *msg, size_t len, const struct timespec *abs,
                 int wait, void **loan);
ssize_t sk_mpmc_recv(shmkit_chan_t *c, void *buf, size_t cap, const struct timespec *abs, int wait,
                     const void **peek);
int sk_bcast_send(shmkit_chan_t *c, const void *msg, size_t len, const struct timespec *abs,
                  int wait, void **loan);
/* A loan given up at close: its position is marked abandoned. */
void sk_mpmc_unloan(shmkit_chan_t *c, uint64_t pos);
void sk_bcast_unloan(shmkit_chan_t *c, uint64_t pos);
ssize_t sk_bcast_recv(shmkit_chan_t *c, void *buf, size_t cap, const struct timespec *abs, int wait,
                      const void **peek);
/* Publish the loaned slot at pos with len bytes (MPMC, broadcast). */
int sk_mpmc_commit(shmkit_chan_t *c, uint64_t pos, size_t len);
int sk_bcast_commit(shmkit_chan_t *c, uint64_t pos, size_t len);
/* Free the peeked slot at pos (MPMC), or check it was not overwritten (broadcast). */
int sk_mpmc_release(shmkit_chan_t *c, uint64_t pos);
int sk_bcast_release(shmkit_chan_t *c, uint64_t pos);
/* Readiness, for the descriptor's helper: 1 ready (or an error to report), 0 not. */
int sk_chan_readable(shmkit_chan_t *c);
int sk_chan_writable(shmkit_chan_t *c);

/* ---- fd.c ---- */
void sk_chan_fd_close(shmkit_chan_t *c);
/* A fork child's copy: free it without touching the parent's helper. */
void sk_chan_fd_forget(shmkit_chan_t *c);
/* After a receive or send left the ring not ready: let the descriptor say so. */
void sk_chan_fd_settle(shmkit_chan_t *c);

/* Crash-point injection (internal/crash.h), for the crash tests. */
#include "internal/crash.h"

#endif
