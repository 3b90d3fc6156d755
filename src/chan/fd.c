/* SPDX-License-Identifier: MIT */
/*
 * shmkit_chan_fd: a level-triggered descriptor for poll/epoll, kept by a helper thread.
 *
 * The descriptor is an eventfd in one of two states. A receiver's is readable (count 1) while
 * the ring has a message for it or an error to report, else empty (count 0). A sender's is
 * writable (count 0) while there is room, else full (count 2^64 - 2: poll reports it not
 * writable). Only set_state() changes it, under the handle's mutex.
 *
 * The helper thread (all signals blocked) watches the ring while the descriptor says "not
 * ready": it sleeps on the ring's sequence word like any waiter (sync's wait loop, so a waker
 * sees its hint), re-checking peers' lives every SK_CHAN_POLL_NS, and sets the descriptor
 * ready when the ring is. While the descriptor says "ready" only the owner can make it
 * otherwise (by receiving or sending through the handle: one thread per handle), so the
 * helper sleeps on a word of its own, which the owner's settle bumps when it clears the state.
 *
 * Stopping (close) follows the bridge's (sync/bridge.c, BARRIER_7): stop is set, both words
 * are woken until the helper says it is done.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "chan/chan.h"
#include "sync/sync.h"
#include "sys/sys.h"

#define FULL_COUNT (UINT64_MAX - 1)

struct sk_chan_fd {
	int efd;
	int ready; /* the state the descriptor shows (under mu) */
	pthread_mutex_t mu;
	pthread_t thread;
	SK_ATOMIC(uint32_t) settled; /* bumped by settle when it clears the state */
	SK_ATOMIC(uint32_t) stop;
	SK_ATOMIC(uint32_t) done;
};

/* Ready, or broken (truncated): the owner's next call says -EPROTO. */
static int is_ready(shmkit_chan_t *c)
{
	int r = c->role == SHMKIT_CHAN_RECV ? sk_chan_readable(c) : sk_chan_writable(c);
	return sk_chan_broken(c) ? 1 : r;
}

/* Make the descriptor show ready (or not). Called under mu. */
static void set_state(shmkit_chan_t *c, int ready)
{
	struct sk_chan_fd *f = c->fdh;
	if (f->ready == ready)
		return;
	uint64_t v;
	if (c->role == SHMKIT_CHAN_RECV ? ready : !ready) {
		v = c->role == SHMKIT_CHAN_RECV ? 1 : FULL_COUNT;
		(void)SK_RETRY_EINTR(write(f->efd, &v, sizeof(v)));
	} else {
		(void)SK_RETRY_EINTR(read(f->efd, &v, sizeof(v))); /* back to 0 */
	}
	f->ready = ready;
}

/* The helper's wait loop asks: ready yet (or told to stop)? */
static int helper_check(void *arg, uint32_t *expect)
{
	shmkit_chan_t *c = arg;
	struct sk_chan_hdr *h = c->hdr;
	*expect = atomic_load(c->role == SHMKIT_CHAN_RECV ? &h->rx_seq : &h->tx_seq);
	if (atomic_load(&c->fdh->stop))
		return -ECANCELED;
	return is_ready(c);
}

/* A passive receiver cannot raise the waiters hint: its helper naps instead. */
static void passive_nap(shmkit_chan_t *c)
{
	uint32_t expect;
	while (!helper_check(c, &expect)) {
		struct timespec ms = {0, 1000 * 1000};
		nanosleep(&ms, NULL);
	}
}

static void *helper(void *arg)
{
	shmkit_chan_t *c = arg;
	struct sk_chan_fd *f = c->fdh;
	struct sk_chan_hdr *h = c->hdr;
	while (!atomic_load(&f->stop)) {
		pthread_mutex_lock(&f->mu);
		int ready = is_ready(c);
		set_state(c, ready);
		uint32_t settled = atomic_load(&f->settled);
		pthread_mutex_unlock(&f->mu);
		if (ready) {
			/* Until the owner takes what is there (settle bumps settled), or stop. */
			sk_futex_wait(&f->settled, settled, NULL);
			continue;
		}
		if (c->passive) {
			passive_nap(c);
			continue;
		}
		if (c->role == SHMKIT_CHAN_RECV)
			sk_wait_masked(&h->rx_seq, &h->rx_sleep[1], (uint64_t)1 << c->self,
			               helper_check, c, NULL, SK_CHAN_POLL_NS, 0, sk_chan_asym(c));
		else
			sk_wait_masked(&h->tx_seq, &h->tx_sleep[1], (uint64_t)1 << c->self,
			               helper_check, c, NULL, SK_CHAN_POLL_NS, 0, sk_chan_asym(c));
	}
	sk_store_release(&f->done, 1); /* BARRIER_7 (sync/bridge.c) */
	return NULL;
}

SK_EXPORT int shmkit_chan_fd(shmkit_chan_t *c)
{
	int err = sk_chan_usable(c);
	if (err)
		return err;
	if (c->fdh)
		return c->fdh->efd;
	struct sk_chan_fd *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->efd < 0) {
		err = -errno;
		free(f);
		return err;
	}
	pthread_mutex_init(&f->mu, NULL);
	/* A sender's count 0 is writable, a receiver's not readable; then the ring's state, so
	 * that the descriptor is right when it is returned, before the helper first runs. */
	f->ready = c->role == SHMKIT_CHAN_SEND;
	c->fdh = f;
	set_state(c, is_ready(c));
	sigset_t all, old;
	sigfillset(&all);
	/* but for faults: a blocked SIGBUS kills, where sys/guard.c would have saved us */
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the helper inherits the mask */
	err = -pthread_create(&f->thread, NULL, helper, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		c->fdh = NULL;
		close(f->efd);
		pthread_mutex_destroy(&f->mu);
		free(f);
		return err;
	}
	return f->efd;
}

void sk_chan_fd_settle(shmkit_chan_t *c)
{
	struct sk_chan_fd *f = c->fdh;
	pthread_mutex_lock(&f->mu);
	if (f->ready && !is_ready(c)) {
		set_state(c, 0);
		atomic_fetch_add(&f->settled, 1);
		sk_futex_wake(&f->settled, 1);
	}
	pthread_mutex_unlock(&f->mu);
}

void sk_chan_fd_close(shmkit_chan_t *c)
{
	struct sk_chan_fd *f = c->fdh;
	if (!f)
		return;
	atomic_store(&f->stop, 1); /* BARRIER_7 */
	for (int i = 0; !sk_load_acquire(&f->done); i++) {
		atomic_fetch_add(&f->settled, 1);
		sk_futex_wake(&f->settled, 1);
		if (!c->passive)
			sk_futex_wake(c->role == SHMKIT_CHAN_RECV ? &c->hdr->rx_seq
			                                          : &c->hdr->tx_seq,
			              INT_MAX);
		if (i < 16) {
			sched_yield();
		} else {
			struct timespec ms = {0, 1000 * 1000};
			nanosleep(&ms, NULL);
		}
	}
	pthread_join(f->thread, NULL);
	close(f->efd);
	pthread_mutex_destroy(&f->mu);
	free(f);
	c->fdh = NULL;
}

/* A fork child's copy of a handle: the helper is not there; the descriptor is its own. */
void sk_chan_fd_forget(shmkit_chan_t *c)
{
	if (!c->fdh)
		return;
	close(c->fdh->efd);
	free(c->fdh);
	c->fdh = NULL;
}
