/* SPDX-License-Identifier: MIT */
/*
 * sync: internal layouts and the shared waiting loop of the futex-based primitives.
 *
 * Every object is 16 bytes of 32-bit words (no pointers, no padding surprises), asserted
 * below, so 32- and 64-bit processes share them. All words are read as untrusted: an
 * unknown mutex state is reported as -EPROTO, an out-of-range semaphore value as -EOVERFLOW.
 *
 * Memory ordering
 * ===============
 * Each pair is named once here; call sites say "see BARRIER_n".
 *
 * BARRIER_1  mutex lock word. Unlock's release CAS tid -> 0 pairs with the next locker's
 *            acquire CAS 0 -> tid (fast path, spin, or dead-owner takeover). When the word is
 *            handed over inside the kernel (FUTEX_UNLOCK_PI -> FUTEX_LOCK_PI) the kernel's
 *            hash-bucket lock orders it; user space cannot see that edge, hence BARRIER_2.
 *
 * BARRIER_2  mutex holder. Unlock's release store holder = 0 (after the critical section and
 *            any state update) pairs with the next owner's acquire load of holder. It carries
 *            the happens-before edge across a kernel handoff (so ThreadSanitizer sees it too),
 *            and orders the owner's state write before the next owner's state read.
 *
 * BARRIER_3  condvar. A waiter increments the waiters hint and reads seq while it holds the
 *            mutex, before its unlock (BARRIER_1/2 release). A signaller that changed the
 *            predicate under the same mutex acquired it afterwards, so its seq increment and
 *            its waiters load come after both: it sees waiters >= 1, and its increment is later
 *            than the waiter's value in seq's modification order. No extra fence is needed.
 *
 * BARRIER_4  the kernel's futex ordering (kernel/futex/waitwake.c): FUTEX_WAIT re-reads the
 *            word under the hash-bucket lock after queueing; FUTEX_WAKE runs after the
 *            waker's store. Either the waiter sees the new value or the waker finds it queued.
 *
 * BARRIER_5  semaphore / event waiters hint (Dekker, store-buffering): the waiter does
 *            waiters++ (seq_cst RMW) then reads the value (seq_cst, and again in FUTEX_WAIT);
 *            the poster does value++ (seq_cst RMW) then reads waiters (seq_cst). In the single
 *            total order of seq_cst operations one of the two RMWs comes first, so either the
 *            poster sees waiters >= 1 and wakes, or the waiter sees the token and does not sleep.
 *            A manual-reset event's sets word and its bridge helper pair the same way.
 *
 * BARRIER_6  token publication: the post / set RMW (seq_cst, so release) pairs with the taker's
 *            CAS or load (seq_cst, so acquire): data written before a post is visible to the
 *            waiter that consumed it.
 *
 * BARRIER_7  bridge stop flag: close's seq_cst store of stop, followed by futex wakes, pairs
 *            with the helper thread's seq_cst load after each wake-up; close re-wakes until the
 *            helper's release store of done (acquire-loaded by close).
 */
#ifndef SHMKIT_SYNC_INTERNAL_H
#define SHMKIT_SYNC_INTERNAL_H

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <time.h>

#include "internal/atomic.h"
#include "internal/compiler.h"
#include <shmkit/sync.h>

/*
 * Mutex lock word: the kernel's PI futex word (include/uapi/linux/futex.h). The kernel reads
 * and writes it in FUTEX_LOCK_PI / FUTEX_UNLOCK_PI, so the encoding is not ours to choose.
 */
#define SK_MUTEX_UNLOCKED   0u
#define SK_MUTEX_WAITERS    0x80000000u /* FUTEX_WAITERS: waiters queued in the kernel */
#define SK_MUTEX_OWNER_DIED 0x40000000u /* FUTEX_OWNER_DIED: robust-list only, never set here */
#define SK_MUTEX_TID_MASK   0x3fffffffu /* FUTEX_TID_MASK: owner thread id */

/* Mutex state word. */
#define SK_MUTEX_CONSISTENT     0u
#define SK_MUTEX_INCONSISTENT   1u /* an owner died; the current owner was told -EOWNERDEAD */
#define SK_MUTEX_NOTRECOVERABLE 2u /* unlocked while inconsistent: permanently unusable */

/* Bounded spins before sleeping in the kernel (iterations of sk_cpu_relax). */
#define SK_MUTEX_SPIN 100
#define SK_WAIT_SPIN  100

#define SK_SEM_VALUE_MAX ((uint32_t)SHMKIT_SEM_VALUE_MAX)
_Static_assert(SHMKIT_SEM_VALUE_MAX == INT_MAX, "SEM_VALUE_MAX is INT_MAX");

struct sk_mutex {
	SK_ATOMIC(uint32_t) word;   /* PI futex word: owner TID | SK_MUTEX_WAITERS, or 0 */
	SK_ATOMIC(uint32_t) holder; /* owner TID while inside the critical section, else 0 */
	SK_ATOMIC(uint32_t) state;  /* SK_MUTEX_CONSISTENT / INCONSISTENT / NOTRECOVERABLE */
	uint32_t reserved;          /* zero */
};
SK_ASSERT_SIZE(struct sk_mutex, SHMKIT_SYNC_OBJ_SIZE);
SK_ASSERT_OFFSET(struct sk_mutex, word, 0);
SK_ASSERT_OFFSET(struct sk_mutex, holder, 4);
SK_ASSERT_OFFSET(struct sk_mutex, state, 8);
SK_ASSERT_OFFSET(struct sk_mutex, reserved, 12);

struct sk_cond {
	SK_ATOMIC(uint32_t) seq;     /* futex word: bumped by every signal and broadcast */
	SK_ATOMIC(uint32_t) waiters; /* hint: threads between cond_wait entry and wake-up */
	uint32_t reserved[2];
};
SK_ASSERT_SIZE(struct sk_cond, SHMKIT_SYNC_OBJ_SIZE);
SK_ASSERT_OFFSET(struct sk_cond, seq, 0);
SK_ASSERT_OFFSET(struct sk_cond, waiters, 4);

struct sk_sem {
	SK_ATOMIC(uint32_t) value;   /* futex word: available tokens, 0..SK_SEM_VALUE_MAX */
	SK_ATOMIC(uint32_t) waiters; /* hint: threads that may sleep on value */
	uint32_t reserved[2];
};
SK_ASSERT_SIZE(struct sk_sem, SHMKIT_SYNC_OBJ_SIZE);
SK_ASSERT_OFFSET(struct sk_sem, value, 0);
SK_ASSERT_OFFSET(struct sk_sem, waiters, 4);

struct sk_event {
	SK_ATOMIC(uint32_t) state;   /* futex word: 0 reset, 1 set */
	SK_ATOMIC(uint32_t) waiters; /* hint, as for the semaphore */
	uint32_t manual;             /* 0 auto-reset, else manual-reset; written by init only */
	SK_ATOMIC(uint32_t) sets;    /* manual-reset: futex word bumped by every set (bridges) */
};
SK_ASSERT_SIZE(struct sk_event, SHMKIT_SYNC_OBJ_SIZE);
SK_ASSERT_OFFSET(struct sk_event, state, 0);
SK_ASSERT_OFFSET(struct sk_event, waiters, 4);
SK_ASSERT_OFFSET(struct sk_event, manual, 8);
SK_ASSERT_OFFSET(struct sk_event, sets, 12);

_Static_assert(sizeof(shmkit_mutex_t) == 16 && _Alignof(shmkit_mutex_t) == 8, "mutex ABI");
_Static_assert(sizeof(shmkit_cond_t) == 16 && _Alignof(shmkit_cond_t) == 8, "cond ABI");
_Static_assert(sizeof(shmkit_sem_t) == 16 && _Alignof(shmkit_sem_t) == 8, "sem ABI");
_Static_assert(sizeof(shmkit_event_t) == 16 && _Alignof(shmkit_event_t) == 8, "event ABI");

static inline struct sk_mutex *sk_mutex_of(shmkit_mutex_t *m)
{
	return (struct sk_mutex *)(void *)m;
}
static inline struct sk_cond *sk_cond_of(shmkit_cond_t *c)
{
	return (struct sk_cond *)(void *)c;
}
static inline struct sk_sem *sk_sem_of(shmkit_sem_t *s)
{
	return (struct sk_sem *)(void *)s;
}
static inline struct sk_event *sk_event_of(shmkit_event_t *e)
{
	return (struct sk_event *)(void *)e;
}

/* How a token is taken from a futex word whose "nothing available" value is 0. */
enum sk_token_kind {
	SK_TOKEN_COUNT, /* semaphore: decrement */
	SK_TOKEN_ONE,   /* auto-reset event: non-zero -> 0 */
	SK_TOKEN_LEVEL, /* manual-reset event: observe non-zero, consume nothing */
};

/* 0 if a token was taken, -EAGAIN if none was available. Never blocks. */
int sk_token_take(SK_ATOMIC(uint32_t) * word, enum sk_token_kind kind);
/*
 * Block until a token is taken (0), the deadline passes (-ETIMEDOUT, after one last try), or
 * *stop becomes non-zero (-ECANCELED; stop may be NULL). Signals do not interrupt it.
 */
int sk_token_wait(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint32_t) * waiters,
                  enum sk_token_kind kind, const struct timespec *abs, SK_ATOMIC(uint32_t) * stop);
/* Wake waiters on word if the hint says there may be some (see BARRIER_5). */
void sk_token_wake(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint32_t) * waiters, int n);

/*
 * The waiting loop (wait.c). check(arg, &expect) returns 1 when the wait is over, a negative
 * errno to end it with, or 0 to go on waiting, with *expect the value of word that means
 * "nothing yet": it must read word (seq_cst) before the state it checks. The loop calls check
 * while spinning spin times, then sleeps on word with the waiters hint raised, checking again
 * after every wake-up, every poll_ns (0: never) and at the deadline abs (-ETIMEDOUT). Returns
 * 0 or what check returned.
 */
typedef int (*sk_wait_check_fn)(void *arg, uint32_t *expect);
int sk_wait_loop(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint32_t) * waiters, sk_wait_check_fn check,
                 void *arg, const struct timespec *abs, uint64_t poll_ns, int spin);
/*
 * The waker's half, after it made the condition true with a seq_cst operation (or a seq_cst
 * fence): wake up to n sleepers if the hint says there may be some, bumping word first if
 * bump (a sequence word, rather than the condition's own word).
 */
void sk_wait_wake(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint32_t) * waiters, int n, int bump);
/*
 * The same with a set of sleepers rather than a count (wait.c), spinning for spin_ns of time
 * rather than a count of checks (a PAUSE costs 10 ns on one CPU, 150 on another), and with a
 * deadline already past looking once, neither spinning nor sleeping: the waiter's own bit in mask,
 * which whoever finds it dead can clear. The waker wakes every sleeper on word, bumping it
 * first, if any bit of the n masks is set, and returns how many it woke: 0 if no bit was set,
 * -ESRCH if some were but nobody slept (a waiter about to sleep, or a dead one: the caller may
 * look for the dead). check's contract is the one above. asym: wakers may publish with a
 * release store rather than a seq_cst one (sys/fence.c): the waiter issues the barrier.
 */
int sk_wait_masked(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint64_t) * mask, uint64_t bit,
                   sk_wait_check_fn check, void *arg, const struct timespec *abs, uint64_t poll_ns,
                   uint64_t spin_ns, int asym);
int sk_wake_masked(SK_ATOMIC(uint32_t) * word, SK_ATOMIC(uint64_t) * masks, int n);

/* 1 if the calling thread owns m, else 0. */
int sk_mutex_owned(shmkit_mutex_t *m);

#endif
