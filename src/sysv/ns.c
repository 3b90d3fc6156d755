/* SPDX-License-Identifier: MIT */
/*
 * sysv membership: the processes that use a namespace, the registry lock, fork and exit.
 * Where namespaces live and whom they trust is nsdir.c; limits are limits.c.
 *
 * Memory ordering
 *   BARRIER_PUBLISH: the creator fills the registry, then release-stores hdr->version; an
 *   opener acquire-loads version before reading anything else (nsdir.c). A destroyed
 *   namespace's version is stored 0 (release), which sk_reg_lock_until() acquire-loads.
 *   Everything else in the registry is read and written under hdr->lock, whose acquire/release
 *   orders it (see src/sync).
 *
 * Process liveness
 *   A process joins a namespace by taking a free proc record under the registry lock and its
 *   liveness token, an OFD write lock on byte SK_REG_LOCK_BASE + index of the tokens file
 *   "live", held through a carrier (sys/live.c): an open file description of its own that is
 *   never mapped and that every fork child closes at once. So the token ends with the process, and
 *   neither the registry mapping a child inherits nor the child itself keeps it alive. A record
 *   whose byte nobody locks is dead.
 *
 * fork
 *   The child inherits every attachment, as on the kernel, where nattch rises at fork. The
 *   prepare handler (in the parent, before fork) opens a new carrier, takes the child's proc
 *   record and its token through it, and adds one attachment record per attachment of the
 *   parent for the child. The child keeps that carrier and closes the parent's (sys/live.c);
 *   the parent closes its copy of the child's, so the child's token lives exactly as long as
 *   the child (or, if fork failed, goes at once and the records are collected). When the
 *   preparation fails (no descriptor, the registry lock busy for FORK_WAIT_NS, no free record),
 *   the child starts without a token, never with the parent's: its first call joins anew
 *   and counts its inherited attachments (or fails with that call's errno, and tries again).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg/seg.h"
#include "sync/sync.h"
#include "sys/sys.h"
#include "sysv/registry.h"

static pthread_mutex_t proc_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct sk_ns *current_ns;
static char chosen_name[SHMKIT_NS_NAME_MAX + 1];

void sk_proc_lock(void)
{
	pthread_mutex_lock(&proc_mutex);
}

void sk_proc_unlock(void)
{
	pthread_mutex_unlock(&proc_mutex);
}

void sk_ns_drop_fresh(struct sk_ns *ns)
{
	if (ns->fresh_fd >= 0)
		close(ns->fresh_fd);
	ns->fresh_fd = -1;
}

/* ---- bounded waits ---- */

static SK_ATOMIC(uint64_t) wait_ns = SHMKIT_NS_WAIT_DEFAULT;

SK_EXPORT void shmkit_ns_set_wait(uint64_t ns)
{
	sk_store_relaxed(&wait_ns, ns);
}

const struct timespec *sk_ns_wait_deadline(struct timespec *abs)
{
	uint64_t w = sk_load_relaxed(&wait_ns);
	if (!w)
		return NULL;
	sk_deadline_after(abs, w);
	return abs;
}

/* ---- the registry lock ---- */

int sk_reg_lock(struct sk_ns *ns)
{
	return sk_reg_lock_until(ns, NULL);
}

int sk_reg_lock_until(struct sk_ns *ns, const struct timespec *abs)
{
	int r =
	    abs ? shmkit_mutex_timedlock(&ns->hdr->lock, abs) : shmkit_mutex_lock(&ns->hdr->lock);
	if (r == -EOWNERDEAD) {
		/* The last holder died inside an operation: settle its half-done work. */
		sk_reg_repair(ns);
		r = shmkit_mutex_consistent(&ns->hdr->lock);
		if (r) {
			/* A member rewrote the state word meanwhile: an error must mean "not
			 * held", so let go of the word if it is still ours. */
			if (sk_mutex_owned(&ns->hdr->lock))
				shmkit_mutex_unlock(&ns->hdr->lock);
			return -EPROTO;
		}
	}
	/* BARRIER_PUBLISH: a destroyed namespace's registry has version 0 (shmkit_ns_destroy). */
	if (!r && sk_load_acquire(&ns->hdr->version) != SK_REG_VERSION) {
		shmkit_mutex_unlock(&ns->hdr->lock);
		r = -EPROTO;
	}
	return r;
}

void sk_reg_unlock(struct sk_ns *ns)
{
	shmkit_mutex_unlock(&ns->hdr->lock);
}

/* ---- processes ---- */

static off_t token_of(uint32_t i)
{
	return SK_REG_LOCK_BASE + (off_t)i;
}

int sk_proc_alive_rec(struct sk_ns *ns, uint32_t i)
{
	return i == ns->self || sk_live_held(ns->fd, token_of(i));
}

static uint32_t bound(uint32_t hi, uint32_t n)
{
	return hi < n ? hi : n;
}

/* Release everything a dead process held. Idempotent: a crash half-way is finished later. */
static void proc_reap(struct sk_ns *ns, uint32_t i)
{
	struct sk_proc_rec *p = &ns->procs[i];
	pid_t pid = p->pid;
	uint32_t hi = bound(ns->hdr->atts_hi, SK_REG_ATTS);
	for (uint32_t a = 0; a < hi; a++)
		if (ns->atts[a].proc == i + 1)
			sk_att_release(ns, a, pid);

	uint64_t shmmax, shmall, shmmni;
	int forced;
	sk_ns_limits(ns, &shmmax, &shmall, &shmmni, &forced);
	uint32_t shi = bound(ns->hdr->slots_hi, SK_REG_SLOTS);
	for (uint32_t s = 0; s < shi; s++) {
		struct sk_seg_rec *g = &ns->segs[s];
		if (g->state != SK_SEG_LIVE || g->creator_proc != i + 1)
			continue;
		g->creator_proc = 0;
		/* shm_rmid_forced: the creator's unattached segments go with it (exit_shm). */
		if (forced && g->nattch == 0)
			sk_seg_destroy(ns, s);
	}
	SK_CRASH_POINT();
	p->natt = 0;
	p->state = SK_PROC_FREE;
}

static int fd_is_ours(const struct sk_ns *ns, int fd)
{
	struct stat st;
	return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == ns->live_dev &&
	       st.st_ino == ns->live_ino;
}

int sk_reg_sweep(struct sk_ns *ns)
{
	uint32_t hi = bound(ns->hdr->procs_hi, SK_REG_PROCS), others = 0;
	int reaped = 0, fd_checked = 0;
	for (uint32_t i = 0; i < hi; i++) {
		if (ns->procs[i].state != SK_PROC_LIVE || i == ns->self)
			continue;
		/* Liveness tests go through our carrier: if the process closed it, or the number
		 * now names another file, test nothing (take all for alive) and rejoin next time.
		 */
		if (!fd_checked++ && !fd_is_ours(ns, ns->fd))
			ns->fd_bad = 1;
		if (ns->fd_bad || sk_proc_alive_rec(ns, i)) {
			others++;
			continue;
		}
		proc_reap(ns, i);
		reaped++;
	}
	ns->others = others;
	return reaped;
}

/*
 * Take a free proc record for a process whose token will be held through carrier. Registry
 * lock held. Returns the index or -errno.
 */
static int proc_claim(struct sk_ns *ns, int carrier, pid_t pid)
{
	for (uint32_t i = 0; i < SK_REG_PROCS; i++) {
		struct sk_proc_rec *p = &ns->procs[i];
		if (p->state == SK_PROC_LIVE) {
			if (i == ns->self || sk_proc_alive_rec(ns, i))
				continue;
			proc_reap(ns, i);
		}
		/* A token still held belongs to a process that has not let go yet: skip it. */
		if (sk_live_hold(carrier, token_of(i)) < 0)
			continue;
		SK_CRASH_POINT();
		memset(p, 0, sizeof(*p));
		p->pid = pid;
		p->euid = (uint32_t)geteuid();
		uint64_t start = 0;
		if (pid > 0)
			sk_proc_starttime(pid, &start);
		p->start = start;
		p->state = SK_PROC_LIVE;
		if (ns->hdr->procs_hi < i + 1)
			ns->hdr->procs_hi = i + 1;
		return (int)i;
	}
	return -EAGAIN;
}

/*
 * A new carrier for this process's token, opened from the namespace's directory and checked
 * to be the tokens file of the registry we map (not one swapped in under its name). Adopted:
 * fork children close it.
 */
static int carrier_open(struct sk_ns *ns)
{
	int fd = sk_ns_dir_check(ns);
	if (fd < 0)
		return fd;
	if ((fd = sk_ns_carrier(ns)) < 0)
		return fd;
	int err = sk_live_adopt(fd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * Join with a record of our own and count the attachments we hold (inherited through a fork
 * whose preparation failed, or held while others took us for dead). Registry lock held.
 */
static int ns_join(struct sk_ns *ns)
{
	int r = proc_claim(ns, ns->fd, sk_self_pid());
	if (r < 0)
		return r;
	ns->self = (uint32_t)r;
	ns->pid = sk_self_pid();
	for (size_t k = 0; k < ns->nlocal; k++) {
		struct sk_local_att *l = &ns->local[k];
		/* A segment destroyed meanwhile stays mapped here, uncounted: shmdt still unmaps
		 * it (an attachment record of UINT32_MAX is none). */
		int a = sk_att_add(ns, ns->self, l->idx, l->id, ns->pid);
		l->att = a >= 0 ? (uint32_t)a : UINT32_MAX;
	}
	ns->rejoin = 0;
	sk_reg_sweep(ns);
	return 0;
}

static int ns_register(struct sk_ns *ns)
{
	if (ns->fd < 0) {
		int fd = carrier_open(ns);
		if (fd < 0)
			return fd;
		ns->fd = fd;
	}
	int r = sk_reg_lock(ns);
	if (r)
		return r;
	if (!ns->rejoin)
		ns->nlocal = 0;
	r = ns_join(ns);
	sk_reg_unlock(ns);
	return r;
}

static void ns_unregister(struct sk_ns *ns, const struct timespec *abs)
{
	if (ns->self == UINT32_MAX || ns->pid != sk_self_pid())
		return;
	if (sk_reg_lock_until(ns, abs) == 0) {
		for (size_t k = 0; k < ns->nlocal; k++)
			sk_att_release(ns, ns->local[k].att, ns->pid);
		ns->nlocal = 0;
		proc_reap(ns, ns->self);
		sk_reg_unlock(ns);
	}
	/* Without the lock (a member holds it too long) the next sweep collects our record. */
	sk_live_drop(ns->fd, token_of(ns->self));
	ns->self = UINT32_MAX;
}

/*
 * The process closed our carrier (or the number now names another file): our token is gone
 * and others may take us for dead. Get a new carrier and lock our record once more if it is
 * still ours; if a sweep reaped it meanwhile, join anew and count our attachments again.
 * Process lock held.
 */
static int ns_rejoin(struct sk_ns *ns, const struct timespec *abs)
{
	if (!fd_is_ours(ns, ns->fd)) {
		int fd = carrier_open(ns);
		if (fd < 0)
			return fd;
		sk_live_forget(ns->fd); /* the old number is closed or someone else's: leave it */
		ns->fd = fd;
	}
	ns->fd_checked = sk_mono_ns();
	int r = sk_reg_lock_until(ns, abs);
	if (r)
		return r;
	uint32_t old = ns->self;
	const struct sk_proc_rec *p = &ns->procs[old];
	if (p->state == SK_PROC_LIVE && p->pid == ns->pid &&
	    sk_live_hold(ns->fd, token_of(old)) == 0) {
		sk_reg_unlock(ns);
		return 0; /* not reaped: the record and its attachments are still ours */
	}
	ns->self = UINT32_MAX;
	ns->rejoin = 1;
	r = ns_join(ns);
	sk_reg_unlock(ns);
	return r;
}

/*
 * Are we still a member in good standing? Our record must still be ours (a memory read: a
 * sweep reaps it once our token is gone), and, checked at most every FD_CHECK_NS because a
 * system call costs as much as a whole operation, our carrier must still be the registry.
 */
#define FD_CHECK_NS (50 * 1000 * 1000ULL)

/* force: check the carrier now; abs: how long a rejoin may wait for the lock (NULL: as long
 * as an operation waits). */
static int ns_check(struct sk_ns *ns, int force, const struct timespec *abs)
{
	const struct sk_proc_rec *p = &ns->procs[ns->self];
	uint64_t now = sk_mono_ns();
	if (SK_LIKELY(p->state == SK_PROC_LIVE && p->pid == ns->pid && !ns->fd_bad &&
	              (!force && now - ns->fd_checked < FD_CHECK_NS)))
		return 0;
	if (p->state == SK_PROC_LIVE && p->pid == ns->pid && !ns->fd_bad &&
	    fd_is_ours(ns, ns->fd)) {
		ns->fd_checked = now;
		return 0;
	}
	ns->fd_bad = 0;
	return ns_rejoin(ns, abs);
}

/* ---- fork ---- */

static struct {
	int fd;         /* the child's carrier, holding its token */
	uint32_t child; /* the child's proc record */
	uint32_t *atts; /* the child's attachment records, parallel to ns->local */
	int ready;
} forking;

#define FORK_WAIT_NS (2ULL * 1000 * 1000 * 1000)

static void fork_prepare(void)
{
	sk_proc_lock();
	forking.ready = 0;
	struct sk_ns *ns = current_ns;
	/* fork() must not hang on a member stopped while holding the registry lock (or on a
	 * forged one): after FORK_WAIT_NS the child starts without a token and joins on its
	 * first call. That covers our own rejoin, if our carrier was closed meanwhile. */
	struct timespec deadline;
	sk_deadline_after(&deadline, FORK_WAIT_NS);
	if (!ns || ns->self == UINT32_MAX || ns->pid != sk_self_pid() || ns_check(ns, 1, &deadline))
		return;
	forking.fd = sk_live_reopen(ns->fd);
	if (forking.fd < 0)
		return;
	forking.atts = ns->nlocal ? calloc(ns->nlocal, sizeof(uint32_t)) : NULL;
	if (ns->nlocal && !forking.atts)
		goto fail_fd;
	if (sk_reg_lock_until(ns, &deadline))
		goto fail_mem;
	int child = proc_claim(ns, forking.fd, 0);
	if (child < 0)
		goto fail_unlock;
	forking.child = (uint32_t)child;
	for (size_t k = 0; k < ns->nlocal; k++) {
		const struct sk_local_att *l = &ns->local[k];
		/* Like dup_mmap's shm_open(): the forking process updates atime and lpid. */
		int a = sk_att_add(ns, forking.child, l->idx, l->id, sk_self_pid());
		if (a == -ENOMEM)
			break; /* out of records: the child's extra attachments go uncounted */
		if (a >= 0)
			forking.atts[k] = (uint32_t)a + 1;
	}
	sk_reg_unlock(ns);
	forking.ready = 1;
	return;
fail_unlock:
	sk_reg_unlock(ns);
fail_mem:
	free(forking.atts);
	forking.atts = NULL;
fail_fd:
	close(forking.fd);
}

static void fork_parent(void)
{
	if (forking.ready) {
		/* The child keeps the token through its copy; if fork failed this frees it. */
		close(forking.fd);
		free(forking.atts);
		forking.atts = NULL;
		forking.ready = 0;
	}
	sk_proc_unlock();
}

static void fork_child(void)
{
	struct sk_ns *ns = current_ns;
	if (ns) {
		sk_ns_drop_fresh(ns);
		/* The parent's carrier: sys/live.c's child handler (registered first) closed it. */
		sk_live_close(ns->fd);
		ns->fd = -1;
		ns->fd_bad = 0;
	}
	if (ns && forking.ready) {
		ns->fd = forking.fd;
		if (sk_live_adopt(ns->fd) < 0) {
			/* Not adopted, our own children would keep our token: start over instead.
			 */
			close(ns->fd);
			ns->fd = -1;
			ns->self = UINT32_MAX;
			ns->rejoin = 1;
		} else {
			ns->self = forking.child;
			ns->pid = sk_self_pid();
			__atomic_store_n(&ns->procs[ns->self].pid, ns->pid, __ATOMIC_RELAXED);
			/* A piece the parent could not count for us stays mapped, uncounted. */
			for (size_t k = 0; k < ns->nlocal; k++)
				ns->local[k].att =
				    forking.atts[k] ? forking.atts[k] - 1 : UINT32_MAX;
		}
		free(forking.atts);
		forking.atts = NULL;
		forking.ready = 0;
	} else if (ns) {
		/* No token prepared: join on the first call, counting the inherited attachments. */
		ns->self = UINT32_MAX;
		ns->rejoin = ns->nlocal > 0;
	}
	pthread_mutex_init(&proc_mutex, NULL);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void atfork_init(void)
{
	/* sk_gettid's and the carriers' child handlers must run before ours: register first. */
	(void)sk_gettid();
	sk_live_init();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((destructor)) static void ns_at_exit(void)
{
	/* exit() (not _exit or a signal): detach now so dtime/lpid are exact and SHM_DEST
	 * segments go at once. If another thread is inside an operation, leave it to a sweep;
	 * never wait for long on a lock another member holds. */
	if (pthread_mutex_trylock(&proc_mutex) != 0)
		return;
	struct timespec deadline;
	if (current_ns)
		ns_unregister(current_ns, sk_ns_wait_deadline(&deadline));
	pthread_mutex_unlock(&proc_mutex);
}

/* ---- the process's namespace ---- */

static const char *wanted_name(void)
{
	if (chosen_name[0])
		return chosen_name;
	/* Not the invoker's choice for a set-user-ID program. */
	const char *env = secure_getenv(SHMKIT_NS_ENV);
	return env && *env ? env : SHMKIT_NS_DEFAULT;
}

static int ns_first(struct sk_ns **out)
{
	struct sk_ns *ns = calloc(1, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	int err = sk_ns_open(ns, wanted_name(), 1);
	if (!err && (err = sk_live_adopt(ns->fd)) < 0)
		sk_ns_close(ns);
	if (err) {
		free(ns);
		return err;
	}
	*out = ns;
	return 0;
}

int sk_ns_current(struct sk_ns **out)
{
	struct sk_ns *ns = current_ns;
	if (SK_LIKELY(ns && ns->self != UINT32_MAX && ns->pid == sk_self_pid())) {
		int err = ns_check(ns, 0, NULL);
		if (err)
			return err;
		*out = ns;
		return 0;
	}
	pthread_once(&atfork_once, atfork_init);
	if (!ns) {
		int err = ns_first(&ns);
		if (err)
			return err;
		current_ns = ns;
	}
	int err = ns_register(ns);
	if (err)
		return err;
	*out = ns;
	return 0;
}

static void ns_drop_current(void)
{
	struct timespec deadline;
	ns_unregister(current_ns, sk_ns_wait_deadline(&deadline));
	sk_ns_close(current_ns);
	free(current_ns);
	current_ns = NULL;
}

SK_EXPORT int shmkit_ns_use(const char *name)
{
	char canon[SK_NS_CANON_MAX + 1];
	if (name && sk_ns_canon(name, canon, sizeof(canon)))
		return -EINVAL;
	sk_proc_lock();
	struct sk_ns *ns = current_ns;
	if (ns && ns->nlocal && ns->pid == sk_self_pid()) {
		sk_proc_unlock();
		return -EBUSY;
	}
	if (ns)
		ns_drop_current();
	snprintf(chosen_name, sizeof(chosen_name), "%s", name ? name : "");
	sk_proc_unlock();
	return 0;
}

SK_EXPORT const char *shmkit_ns_current(void)
{
	return wanted_name();
}

void sk_ns_forget(const char *canon)
{
	sk_proc_lock();
	if (current_ns && !strcmp(current_ns->name, canon)) {
		current_ns->self = UINT32_MAX;
		sk_ns_close(current_ns);
		free(current_ns);
		current_ns = NULL;
	}
	sk_proc_unlock();
}

const char *sk_self_comm(void)
{
	static char comm[16];
	static pid_t for_pid;
	pid_t pid = sk_self_pid();
	if (for_pid != pid) {
		if (sk_proc_comm(pid, comm, sizeof(comm)) < 0)
			comm[0] = '\0';
		for_pid = pid;
	}
	return comm;
}
