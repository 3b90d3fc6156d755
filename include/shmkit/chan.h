/* SPDX-License-Identifier: MIT */
/*
 * shmkit/chan.h — channels: message rings in shared memory (part of <shmkit.h>).
 *
 * A channel is a ring of slots in a shared object, named like a POSIX shared-memory object.
 * SHMKIT_CHAN_SPSC has one sender and one receiver at a time, SHMKIT_CHAN_MPMC many of each
 * (every message goes to one receiver), SHMKIT_CHAN_BROADCAST many senders and receivers that
 * each see every message. The fast path of send and receive makes no system call and takes
 * no lock; a side that must wait spins briefly, then sleeps on a futex.
 *
 * Every participant holds a liveness token the kernel drops when it dies: a receiver that
 * dies holding a message gives it back, a sender that dies half-way leaves a slot that is
 * skipped and counted as abandoned, and waiters of a dead peer wake with -EPIPE. Everything
 * read from the ring is checked: a corrupt or hostile peer gives -EPROTO / -EBADMSG, never a
 * crash or a hang.
 *
 * All functions return 0 (or a length) or -errno. Deadlines are absolute CLOCK_MONOTONIC
 * times; NULL waits as long as it takes. Handles belong to the process that opened them (a
 * fork child gets -EBADF on an inherited one and opens its own); one thread at a time per
 * handle. Full semantics: shmkit_chan(3).
 */
#ifndef SHMKIT_CHAN_H
#define SHMKIT_CHAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef struct shmkit_chan shmkit_chan_t; /* process-local handle, opaque */

#define SHMKIT_CHAN_SPSC      1u /* one sender, one receiver at a time               */
#define SHMKIT_CHAN_MPMC      2u /* many senders, many receivers; each message to one */
#define SHMKIT_CHAN_BROADCAST 3u /* many senders; every receiver sees every message   */

#define SHMKIT_CHAN_SEND 0x1u /* role, at open */
#define SHMKIT_CHAN_RECV 0x2u

/* Longest channel name, like a POSIX shm name ("name" or "/name"), from [A-Za-z0-9_.-]. */
#define SHMKIT_CHAN_NAME_MAX 128
/* Most participants (senders and receivers holding a record) at once. */
#define SHMKIT_CHAN_MAX_PEERS 64

struct shmkit_chan_config {
	uint32_t kind;         /* SHMKIT_CHAN_* */
	uint32_t mode;         /* permission bits of the backing object; 0 = 0600 */
	uint64_t msg_size;     /* largest message in bytes */
	uint64_t capacity;     /* messages the ring holds (rounded up to a power of two; MPMC: 2
	                        * at least) */
	uint64_t reserved_[4]; /* must be 0 */
};

/* Create channel name: -EEXIST if it exists, -EINVAL for a bad name or configuration. */
int shmkit_chan_create(const char *name, const struct shmkit_chan_config *cfg);
/*
 * Open as SHMKIT_CHAN_SEND or SHMKIT_CHAN_RECV. -ENOENT, -EACCES (the kernel's word on the
 * object's mode), -EBUSY (SPSC: a live sender or receiver holds the role), -EAGAIN (every
 * participant record in use), -ENOMEM (a ring larger than this process can map, e.g. 4 GiB in
 * a 32-bit one), -EBADMSG / -EPROTO (not a channel this library reads). A
 * receiver of a broadcast channel that may only read it is passive: it receives, holds no
 * record and is not listed.
 */
int shmkit_chan_open(shmkit_chan_t **out, const char *name, uint32_t role);
int shmkit_chan_close(shmkit_chan_t *c);
/* Remove the name; open handles keep working. Only the channel's owner (or root) may. */
int shmkit_chan_unlink(const char *name);

/*
 * Copying send/recv. abs: NULL = wait as long as needed; a CLOCK_MONOTONIC deadline
 * otherwise (-ETIMEDOUT); shmkit_chan_try* never wait (-EAGAIN).
 * send: -EMSGSIZE (len > msg_size), -EPIPE (SPSC/MPMC: full and no live receiver). Broadcast
 * senders never wait: the oldest message is overwritten.
 * recv returns the message's length: -EMSGSIZE (cap too small: the message stays queued),
 * -EPIPE (empty and every sender that opened the channel is gone), -EOVERFLOW (broadcast:
 * messages were overwritten before this receiver read them; once, then on with the oldest).
 */
int shmkit_chan_send(shmkit_chan_t *c, const void *msg, size_t len, const struct timespec *abs);
int shmkit_chan_trysend(shmkit_chan_t *c, const void *msg, size_t len);
ssize_t shmkit_chan_recv(shmkit_chan_t *c, void *buf, size_t cap, const struct timespec *abs);
ssize_t shmkit_chan_tryrecv(shmkit_chan_t *c, void *buf, size_t cap);

/*
 * Zero-copy: write the message in place, then publish it; read it in place, then release
 * it. One loan and one peek at a time per handle (-EBUSY). A broadcast message peeked may be
 * overwritten before it is released: release says so with -EOVERFLOW (what was read may be
 * torn).
 */
int shmkit_chan_loan(shmkit_chan_t *c, size_t len, void **slot, const struct timespec *abs);
int shmkit_chan_commit(shmkit_chan_t *c, void *slot, size_t len);
ssize_t shmkit_chan_peek(shmkit_chan_t *c, const void **msg, const struct timespec *abs);
int shmkit_chan_release(shmkit_chan_t *c, const void *msg);
/* Give a loan back unpublished: nothing is delivered. SPSC reuses the slot; MPMC and
 * broadcast receivers skip it, counted as abandoned (as when a sender closes with a loan). */
int shmkit_chan_cancel(shmkit_chan_t *c, void *slot);
/* The same without waiting: -EAGAIN (no message; no room, or for a broadcast sender a lap
 * ahead of a sender still holding a loan). */
int shmkit_chan_tryloan(shmkit_chan_t *c, size_t len, void **slot);
ssize_t shmkit_chan_trypeek(shmkit_chan_t *c, const void **msg);

/*
 * How long a waiting call of this handle spins (checking the ring) before it sleeps on the
 * futex, in nanoseconds: SHMKIT_CHAN_SPIN_DEFAULT (4 µs) at open, 0 to sleep at once (an idle
 * consumer that must burn no CPU), up to SHMKIT_CHAN_SPIN_MAX (1 s: a busy-polling receiver
 * that still sleeps when the channel goes quiet). -EINVAL beyond.
 */
#define SHMKIT_CHAN_SPIN_DEFAULT 4000ull
#define SHMKIT_CHAN_SPIN_MAX     1000000000ull
int shmkit_chan_set_spin(shmkit_chan_t *c, uint64_t ns);

/*
 * A descriptor for poll/epoll, level-triggered: a receiver's is readable while a message (or a
 * pending -EPIPE/-EOVERFLOW) is there, not while a live sender's loan is all there is (a dead
 * one's makes it readable: the next receive skips it, counted abandoned); a sender's
 * writable while a send finds room (not while the slot at the tail is still the lap before's:
 * a message a receiver peeks, a live sender's loan; a full ring with no live receiver is not:
 * a send says -EPIPE at once, and the descriptor turns writable when a receiver makes room).
 * The first call starts a helper thread in this process (all signals blocked) that keeps it
 * so; shmkit_chan_close stops it. The handle owns the descriptor.
 */
int shmkit_chan_fd(shmkit_chan_t *c);

/* What a channel holds and who uses it. */
struct shmkit_chan_info {
	uint32_t kind, mode;
	uint64_t msg_size, capacity;
	uint64_t depth;     /* messages queued (broadcast: in the ring) now */
	uint64_t sent;      /* positions used since creation: messages published, and (MPMC,
	                     * broadcast) the abandoned slots among them */
	uint64_t abandoned; /* slots skipped: their writer died half-way or gave its loan back */
	uint32_t senders;   /* live senders */
	uint32_t receivers; /* live receivers (passive ones are not counted) */
	uint32_t owner;     /* the object's owner */
	uint32_t reserved_;
	int64_t ctime;
	uint64_t reserved2_[4];
};
struct shmkit_chan_peer {
	int32_t pid;
	uint32_t role;  /* SHMKIT_CHAN_SEND / RECV */
	uint64_t start; /* its start time (clock ticks since boot) */
	char comm[16];
	uint64_t count;     /* messages it sent or received */
	uint64_t lag;       /* receiver: messages behind the newest */
	uint64_t lost;      /* broadcast receiver: overwritten before it read them */
	uint64_t abandoned; /* receiver: abandoned slots it skipped */
};
/*
 * Fill *info and up to max live participants (peers may be NULL with max 0); returns how many
 * there are. Does not open the channel as a participant; needs read permission.
 */
int shmkit_chan_stat(const char *name, struct shmkit_chan_info *info,
                     struct shmkit_chan_peer *peers, size_t max);
/* The same for an open handle. */
int shmkit_chan_stat_handle(shmkit_chan_t *c, struct shmkit_chan_info *info,
                            struct shmkit_chan_peer *peers, size_t max);
/* Names of existing channels (up to max into names); returns how many exist. */
int shmkit_chan_list(char (*names)[SHMKIT_CHAN_NAME_MAX + 1], size_t max);

#endif
