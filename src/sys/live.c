/* SPDX-License-Identifier: MIT */
/*
 * Kernel-held liveness tokens.
 *
 * A participant in a shared structure (a namespace registry, a channel) proves that it is
 * alive by holding an OFD write lock on one byte of a file, its slot. The kernel drops the
 * lock when the last descriptor of the open file description that holds it is closed: at exit,
 * kill -9, OOM kill and, the descriptor being O_CLOEXEC, at exec. No code of the dying process
 * has to run, and PID reuse cannot keep a dead participant alive.
 *
 * That holds only if nothing else keeps the open file description alive. A mapping does (the
 * VMA references the struct file), and so does every descriptor a fork child inherits. So a
 * token is carried by a *carrier*: an open file description opened for this purpose alone,
 * never mapped, and "adopted" here so that the child of every fork closes it at once (a child
 * that needs a token of its own gets a new carrier, see the sysv fork handlers).
 *
 * Carriers are kept at descriptor 1024 or above where the limit allows (sk_fd_high): daemons
 * that close every descriptor they do not know usually loop up to 1024 only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys/sys.h"

int sk_live_reopen(int fd)
{
	/* Write access is what a token needs, and all a tokens file may grant (see nsdir.c). */
	int c = sk_fd_reopen(fd, O_WRONLY);
	return c < 0 ? c : sk_fd_high(c);
}

/* ---- adopted carriers: closed in the child of every fork ---- */

static pthread_mutex_t adopted_lock = PTHREAD_MUTEX_INITIALIZER;
static struct carrier {
	int fd;
	dev_t dev; /* what fd was, so that a number the process closed and reused is left alone */
	ino_t ino;
} * adopted;
static size_t nadopted, capadopted;

static int still_ours(const struct carrier *c)
{
	struct stat st;
	return fstat(c->fd, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino;
}

static void live_prepare(void)
{
	pthread_mutex_lock(&adopted_lock);
}

static void live_parent(void)
{
	pthread_mutex_unlock(&adopted_lock);
}

static void live_child(void)
{
	/* The parent's tokens must end with the parent: drop every carrier we inherited. */
	for (size_t i = 0; i < nadopted; i++)
		if (still_ours(&adopted[i]))
			close(adopted[i].fd);
	nadopted = 0;
	pthread_mutex_init(&adopted_lock, NULL);
}

static pthread_once_t live_once = PTHREAD_ONCE_INIT;
static void live_register(void)
{
	pthread_atfork(live_prepare, live_parent, live_child);
}

void sk_live_init(void)
{
	pthread_once(&live_once, live_register);
}

int sk_live_adopt(int carrier)
{
	struct stat st;
	if (fstat(carrier, &st) < 0)
		return -errno;
	sk_live_init();
	pthread_mutex_lock(&adopted_lock);
	int err = 0;
	if (nadopted == capadopted) {
		size_t cap = capadopted ? capadopted * 2 : 8;
		struct carrier *p = realloc(adopted, cap * sizeof(*p));
		if (p) {
			adopted = p;
			capadopted = cap;
		} else {
			err = -ENOMEM;
		}
	}
	if (!err)
		adopted[nadopted++] = (struct carrier){carrier, st.st_dev, st.st_ino};
	pthread_mutex_unlock(&adopted_lock);
	return err;
}

int sk_live_forget(int carrier)
{
	int found = 0;
	pthread_mutex_lock(&adopted_lock);
	for (size_t i = 0; i < nadopted && !found; i++)
		if (adopted[i].fd == carrier) {
			adopted[i] = adopted[--nadopted];
			found = 1;
		}
	pthread_mutex_unlock(&adopted_lock);
	return found ? 0 : -EBADF;
}

int sk_live_close(int carrier)
{
	int err = sk_live_forget(carrier);
	if (!err)
		close(carrier);
	return err;
}

/* ---- slots ---- */

int sk_live_hold(int carrier, off_t slot)
{
	return sk_ofd_lock(carrier, slot, 1, SK_LOCK_EX, 0);
}

int sk_live_drop(int carrier, off_t slot)
{
	return sk_ofd_unlock(carrier, slot, 1);
}

int sk_live_held(int carrier, off_t slot)
{
	/* On an error we cannot tell: say alive rather than let a caller reap a live process. */
	return sk_ofd_test(carrier, slot, 1) != 0;
}
