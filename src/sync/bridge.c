/* SPDX-License-Identifier: MIT */
/*
 * eventfd bridge: lets an epoll/poll loop wait on a shmkit semaphore or event. A helper thread
 * (all signals blocked, so it never runs the process's handlers) takes tokens with the
 * ordinary waiting loop and adds one to an eventfd per token. The shared object knows nothing
 * about the bridge: it is just one more waiter.
 *
 * Stopping: the helper sleeps in FUTEX_WAIT on the object's word, which close cannot change.
 * close sets stop (BARRIER_7) and issues FUTEX_WAKE on the word until the helper reports done;
 * a wake that lands before the helper went to sleep is repeated a millisecond later. Spurious
 * wakes of other waiters on the word are harmless (they re-check). Tokens the helper took but
 * nobody read from the eventfd are posted back, so closing a bridge loses nothing.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sync/sync.h"
#include "sys/sys.h"

struct shmkit_bridge {
	int kind;
	int efd;
	void *obj;
	SK_ATOMIC(uint32_t) * word;
	SK_ATOMIC(uint32_t) * waiters;
	enum sk_token_kind take;
	pthread_t thread;
	SK_ATOMIC(uint32_t) stop;
	SK_ATOMIC(uint32_t) done;
	int err; /* the helper's failure, read by close after the join */
};

/*
 * Manual-reset event: one count per set() seen while the event is set (several sets before the
 * helper looks count once). Sleeps on the sets word, counted in the waiters hint like any
 * waiter (see BARRIER_5): waiters++ then read sets, against set's sets++ then read waiters.
 */
static int wait_next_set(struct shmkit_bridge *b, uint32_t *last)
{
	struct sk_event *e = sk_event_of(b->obj);
	int r = 0;
	atomic_fetch_add_explicit(b->waiters, 1, memory_order_seq_cst); /* see BARRIER_5 */
	for (;;) {
		uint32_t g = atomic_load_explicit(&e->sets, memory_order_seq_cst);
		if (g != *last && atomic_load_explicit(&e->state, memory_order_seq_cst)) {
			*last = g;
			break;
		}
		if (atomic_load_explicit(&b->stop, memory_order_seq_cst)) { /* see BARRIER_7 */
			r = -ECANCELED;
			break;
		}
		r = sk_futex_wait(&e->sets, g, NULL); /* see BARRIER_4 */
		if (r < 0 && r != -EAGAIN)
			break;
		r = 0;
	}
	atomic_fetch_sub_explicit(b->waiters, 1, memory_order_relaxed);
	return r;
}

static void *helper(void *arg)
{
	struct shmkit_bridge *b = arg;
	/* A manual event already set when the bridge opens counts once. */
	uint32_t last = 0;
	if (b->take == SK_TOKEN_LEVEL)
		last = sk_load_relaxed(&sk_event_of(b->obj)->sets) - 1;
	for (;;) {
		int r = b->take == SK_TOKEN_LEVEL
		            ? wait_next_set(b, &last)
		            : sk_token_wait(b->word, b->waiters, b->take, NULL, &b->stop);
		if (r < 0) {
			b->err = r == -ECANCELED ? 0 : r;
			break;
		}
		/* Cannot fail short of 2^64-2 unread counts; a lost one would only delay readers.
		 */
		uint64_t one = 1;
		(void)SK_RETRY_EINTR(write(b->efd, &one, sizeof(one)));
	}
	sk_store_release(&b->done, 1); /* see BARRIER_7 */
	return NULL;
}

/*
 * Opens a bridge on obj (kind SHMKIT_BRIDGE_SEM or SHMKIT_BRIDGE_EVENT). Returns 0 and *out,
 * -EINVAL for a bad kind or NULL obj, -ENOMEM, or an eventfd/pthread error. Does not block.
 */
SK_EXPORT int shmkit_bridge_open(shmkit_bridge_t **out, int kind, void *obj)
{
	if (!out || !obj || (kind != SHMKIT_BRIDGE_SEM && kind != SHMKIT_BRIDGE_EVENT))
		return -EINVAL;
	struct shmkit_bridge *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->kind = kind;
	b->obj = obj;
	if (kind == SHMKIT_BRIDGE_SEM) {
		struct sk_sem *s = sk_sem_of(obj);
		b->word = &s->value;
		b->waiters = &s->waiters;
		b->take = SK_TOKEN_COUNT;
	} else {
		struct sk_event *e = sk_event_of(obj);
		b->take = e->manual ? SK_TOKEN_LEVEL : SK_TOKEN_ONE;
		b->word = e->manual ? &e->sets : &e->state;
		b->waiters = &e->waiters;
	}
	int err;
	b->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->efd < 0) {
		err = -errno;
		goto err_free;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the helper inherits the full mask */
	err = -pthread_create(&b->thread, NULL, helper, b);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto err_close;
	*out = b;
	return 0;
err_close:
	close(b->efd);
err_free:
	free(b);
	return err;
}

/* The pollable descriptor (EPOLLIN when tokens were taken). Never blocks. */
SK_EXPORT int shmkit_bridge_fd(const shmkit_bridge_t *b)
{
	return b ? b->efd : -EINVAL;
}

/* Tokens taken by the helper but not read from the eventfd go back to the object. */
static void give_back(struct shmkit_bridge *b)
{
	uint64_t n = 0;
	if (read(b->efd, &n, sizeof(n)) != (ssize_t)sizeof(n) || n == 0)
		return;
	if (b->kind == SHMKIT_BRIDGE_SEM) {
		while (n-- > 0 && shmkit_sem_post(b->obj) == 0)
			;
	} else if (b->take == SK_TOKEN_ONE) {
		shmkit_event_set(b->obj);
	}
}

/*
 * Stops and joins the helper thread, gives back unread tokens, closes the fd and frees b.
 * Returns 0, -EINVAL for NULL, or the error that stopped the helper early (its wait failed,
 * e.g. -EFAULT when the object was unmapped; the fd then stopped reporting). Blocks only
 * until the helper notices (usually a time slice, at worst about a millisecond).
 */
SK_EXPORT int shmkit_bridge_close(shmkit_bridge_t *b)
{
	if (!b)
		return -EINVAL;
	atomic_store_explicit(&b->stop, 1, memory_order_seq_cst); /* see BARRIER_7 */
	for (int i = 0; !sk_load_acquire(&b->done); i++) {        /* see BARRIER_7 */
		sk_futex_wake(b->word, INT_MAX);
		if (i < 16) {
			sched_yield(); /* the helper usually exits within a time slice */
		} else {
			struct timespec ms = {0, 1000 * 1000};
			nanosleep(&ms, NULL);
		}
	}
	pthread_join(b->thread, NULL);
	give_back(b);
	close(b->efd);
	int err = b->err;
	free(b);
	return err;
}
