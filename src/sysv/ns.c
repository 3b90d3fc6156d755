/* SPDX-License-Identifier: MIT */
/*
 * sysv namespaces: opening and creating registries, the processes that use them, the
 * registry lock, and the repair that follows a lock holder's death.
 *
 * Memory ordering
 *   BARRIER_PUBLISH: the creator fills the registry, then release-stores hdr->version; an
 *   opener acquire-loads version before reading anything else. (The object is also link()ed
 *   into place only once complete, so the pair guards against a hostile half-written file.)
 *   Everything else in the registry is read and written under hdr->lock, whose acquire/release
 *   orders it (see src/sync).
 *
 * Process liveness
 *   A process joins a namespace by taking a free proc record under the registry lock and an
 *   OFD write lock on byte SK_REG_LOCK_BASE + index of the registry file, through its own
 *   O_CLOEXEC descriptor. The kernel releases that lock when the last descriptor of that open
 *   file description goes: at exit, kill -9 or exec. A record whose byte nobody locks is dead.
 *
 * fork
 *   The child inherits every attachment, as on the kernel, where nattch rises at fork. The
 *   prepare handler (in the parent, before fork) opens a new open file description, takes the
 *   child's proc record and its lock byte through it, and adds one attachment record per
 *   attachment of the parent for the child. The child inherits that descriptor; the parent
 *   closes its copy, so the lock then lives exactly as long as the child (or, if fork failed,
 *   dies at once and the next sweep collects the records).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg/seg.h"
#include "sys/sys.h"
#include "sysv/registry.h"

static pthread_mutex_t proc_mutex = PTHREAD_MUTEX_INITIALIZER;
static pid_t self_pid; /* getpid() is a system call: cached, reset in the child of fork */
static struct sk_ns *current_ns;
static char chosen_name[SHMKIT_NS_NAME_MAX + 1];

pid_t sk_self_pid(void)
{
	if (SK_UNLIKELY(!self_pid))
		self_pid = getpid();
	return self_pid;
}

void sk_proc_lock(void)
{
	pthread_mutex_lock(&proc_mutex);
}

void sk_proc_unlock(void)
{
	pthread_mutex_unlock(&proc_mutex);
}

int sk_ns_name_ok(const char *name)
{
	if (!name)
		return 0;
	size_t n = strnlen(name, SHMKIT_NS_NAME_MAX + 1);
	if (n == 0 || n > SHMKIT_NS_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

void sk_ns_reg_name(char *buf, size_t len, const char *ns)
{
	snprintf(buf, len, "shmkit.%s.reg", ns);
}

void sk_ns_seg_name(char *buf, size_t len, const char *ns, int32_t id)
{
	snprintf(buf, len, "shmkit.%s.%d", ns, (int)id);
}

/* Fill a new registry; the object is still unnamed. See BARRIER_PUBLISH. */
static void reg_init(struct sk_reg_hdr *h, const char *name, unsigned mode)
{
	h->nslots = SK_REG_SLOTS;
	h->nprocs = SK_REG_PROCS;
	h->natts = SK_REG_ATTS;
	h->nhash = SK_REG_HASH;
	h->mode = mode;
	h->last_idx = -1;
	h->lim_rmid_forced = -1;
	snprintf(h->name, sizeof(h->name), "%s", name);
	shmkit_mutex_init(&h->lock);
	sk_store_relaxed(&h->magic, SK_REG_MAGIC);
	/* BARRIER_PUBLISH: pairs with the acquire load of version in reg_validate(). */
	sk_store_release(&h->version, SK_REG_VERSION);
}

static int reg_validate(struct sk_ns *ns)
{
	struct sk_reg_hdr *h = ns->hdr;
	/* BARRIER_PUBLISH: pairs with the release store in reg_init(). */
	uint32_t version = sk_load_acquire(&h->version);
	if (sk_load_relaxed(&h->magic) != SK_REG_MAGIC)
		return -EBADMSG;
	if (version != SK_REG_VERSION)
		return -EPROTO;
	if (h->nslots != SK_REG_SLOTS || h->nprocs != SK_REG_PROCS || h->natts != SK_REG_ATTS ||
	    h->nhash != SK_REG_HASH)
		return -EBADMSG;
	return 0;
}

static int reg_map(struct sk_ns *ns, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	/* A registry shorter than its layout would fault on access: refuse it up front. */
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < SK_REG_SIZE)
		return -EBADMSG;
	void *p = mmap(NULL, SK_REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	ns->reg_dev = st.st_dev;
	ns->reg_ino = st.st_ino;
	ns->size = SK_REG_SIZE;
	ns->hdr = p;
	ns->procs = (struct sk_proc_rec *)((char *)p + SK_REG_OFF_PROCS);
	ns->segs = (struct sk_seg_rec *)((char *)p + SK_REG_OFF_SEGS);
	ns->atts = (struct sk_att_rec *)((char *)p + SK_REG_OFF_ATTS);
	ns->hash = (uint32_t *)((char *)p + SK_REG_OFF_HASH);
	return 0;
}

static void reg_unmap(struct sk_ns *ns)
{
	if (ns->hdr)
		munmap(ns->hdr, ns->size);
	ns->hdr = NULL;
}

/* Build a complete registry under no name, then link it into place (or lose the race). */
static int reg_create(const char *name, const char *objname, unsigned mode)
{
	int fd = sk_posix_tmpfile(SK_REG_SIZE, mode);
	if (fd < 0)
		return fd;
	struct sk_ns tmp = {.fd = -1};
	/* Allocate every page now: a full tmpfs must fail here, not SIGBUS a member later. */
	int err = posix_fallocate(fd, 0, (off_t)SK_REG_SIZE);
	err = err ? -err : reg_map(&tmp, fd);
	if (!err) {
		reg_init(tmp.hdr, name, mode);
		reg_unmap(&tmp);
		err = sk_posix_publish(fd, objname);
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/*
 * Daemons close descriptors they do not know (close loops up to 1024, closefrom): keep the
 * liveness descriptor above that where the limit allows, so such loops usually miss it.
 * What they still hit is noticed and repaired by ns_check_fd().
 */
#define SK_FD_FLOOR 1024

static int fd_high(int fd)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur <= SK_FD_FLOOR + 64)
		return fd;
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, SK_FD_FLOOR);
	if (hi < 0)
		return fd;
	close(fd);
	return hi;
}

static int fd_is_ours(const struct sk_ns *ns, int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_dev == ns->reg_dev && st.st_ino == ns->reg_ino;
}

int sk_ns_open(struct sk_ns *ns, const char *name, int create, unsigned mode)
{
	char obj[SK_SHM_NAME_MAX];
	memset(ns, 0, sizeof(*ns));
	ns->fd = -1;
	ns->fresh_fd = -1;
	ns->self = UINT32_MAX;
	if (!sk_ns_name_ok(name))
		return -EINVAL;
	snprintf(ns->name, sizeof(ns->name), "%s", name);
	sk_ns_reg_name(obj, sizeof(obj), name);

	int fd;
	for (;;) {
		fd = sk_posix_open(obj, 0);
		if (fd >= 0 || fd != -ENOENT || !create)
			break;
		fd = reg_create(name, obj, mode);
		if (fd != -EEXIST)
			break;
	}
	if (fd < 0)
		return fd;
	/* sk_posix_open leaves O_NONBLOCK set; it means nothing for regular files. */
	int err = reg_map(ns, fd);
	if (!err)
		err = reg_validate(ns);
	if (err) {
		reg_unmap(ns);
		close(fd);
		return err;
	}
	ns->fd = fd_high(fd);
	return 0;
}

void sk_ns_drop_fresh(struct sk_ns *ns)
{
	if (ns->fresh_fd >= 0)
		close(ns->fresh_fd);
	ns->fresh_fd = -1;
}

void sk_ns_close(struct sk_ns *ns)
{
	sk_ns_drop_fresh(ns);
	reg_unmap(ns);
	if (ns->fd >= 0)
		close(ns->fd);
	ns->fd = -1;
	free(ns->local);
	ns->local = NULL;
	ns->nlocal = ns->caplocal = 0;
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

int sk_proc_alive_rec(struct sk_ns *ns, uint32_t i)
{
	if (i == ns->self)
		return 1;
	int r = sk_ofd_test(ns->fd, SK_REG_LOCK_BASE + (off_t)i, 1);
	/* On an error we cannot tell: keep the record rather than collect a live process. */
	return r != 0;
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

int sk_reg_sweep(struct sk_ns *ns)
{
	uint32_t hi = bound(ns->hdr->procs_hi, SK_REG_PROCS), others = 0;
	int reaped = 0, fd_checked = 0;
	for (uint32_t i = 0; i < hi; i++) {
		if (ns->procs[i].state != SK_PROC_LIVE || i == ns->self)
			continue;
		/* Liveness tests go through our descriptor: if the process closed it, or the number
		 * now names another file, test nothing (take all for alive) and rejoin next time.
		 */
		if (!fd_checked++ && !fd_is_ours(ns, ns->fd))
			ns->fd_bad = 1;
		if (ns->fd_bad) {
			others++;
			continue;
		}
		if (sk_proc_alive_rec(ns, i)) {
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
 * Take a free proc record for a process whose lock is held through lockfd. Registry lock held.
 * Returns the index or -errno.
 */
static int proc_claim(struct sk_ns *ns, int lockfd, pid_t pid)
{
	for (uint32_t i = 0; i < SK_REG_PROCS; i++) {
		struct sk_proc_rec *p = &ns->procs[i];
		if (p->state == SK_PROC_LIVE) {
			if (i == ns->self || sk_proc_alive_rec(ns, i))
				continue;
			proc_reap(ns, i);
		}
		/* A byte still locked belongs to a process that has not let go yet: skip it. */
		if (sk_ofd_lock(lockfd, SK_REG_LOCK_BASE + (off_t)i, 1, SK_LOCK_EX, 0) < 0)
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

static int ns_register(struct sk_ns *ns)
{
	int r = sk_reg_lock(ns);
	if (r)
		return r;
	r = proc_claim(ns, ns->fd, sk_self_pid());
	if (r >= 0) {
		ns->self = (uint32_t)r;
		ns->pid = sk_self_pid();
		sk_reg_sweep(ns);
		r = 0;
	}
	sk_reg_unlock(ns);
	return r;
}

static void ns_unregister(struct sk_ns *ns)
{
	if (ns->self == UINT32_MAX || ns->pid != sk_self_pid())
		return;
	if (sk_reg_lock(ns) == 0) {
		for (size_t k = 0; k < ns->nlocal; k++)
			sk_att_release(ns, ns->local[k].att, ns->pid);
		ns->nlocal = 0;
		proc_reap(ns, ns->self);
		sk_reg_unlock(ns);
	}
	sk_ofd_unlock(ns->fd, SK_REG_LOCK_BASE + (off_t)ns->self, 1);
	ns->self = UINT32_MAX;
}

/*
 * The process closed our descriptor (or it now names another file): our liveness lock is
 * gone and others may take us for dead. Open the registry again and lock our record once more
 * if it is still ours; if a sweep reaped it meanwhile, join anew and count our attachments
 * again. Process lock held.
 */
static int ns_rejoin(struct sk_ns *ns)
{
	if (!fd_is_ours(ns, ns->fd)) {
		char obj[SK_SHM_NAME_MAX];
		sk_ns_reg_name(obj, sizeof(obj), ns->name);
		int fd = sk_posix_open(obj, 0);
		if (fd < 0)
			return fd == -ENOENT ? -EPROTO : fd;
		if (!fd_is_ours(ns, fd)) {
			close(fd);
			return -EPROTO; /* destroyed, maybe created again: not the registry we map
			                 */
		}
		ns->fd = fd_high(fd); /* the old number is closed or someone else's: leave it */
	}
	ns->fd_checked = sk_mono_ns();
	int r = sk_reg_lock(ns);
	if (r)
		return r;
	uint32_t old = ns->self;
	const struct sk_proc_rec *p = &ns->procs[old];
	if (p->state == SK_PROC_LIVE && p->pid == ns->pid &&
	    sk_ofd_lock(ns->fd, SK_REG_LOCK_BASE + (off_t)old, 1, SK_LOCK_EX, 0) == 0) {
		sk_reg_unlock(ns);
		return 0; /* not reaped: the record and its attachments are still ours */
	}
	r = proc_claim(ns, ns->fd, ns->pid);
	if (r < 0) {
		ns->self = UINT32_MAX;
		ns->nlocal = 0;
		sk_reg_unlock(ns);
		return r;
	}
	ns->self = (uint32_t)r;
	for (size_t k = 0; k < ns->nlocal; k++) {
		struct sk_local_att *l = &ns->local[k];
		/* a segment destroyed while we were taken for dead stays mapped, uncounted */
		int a = sk_att_add(ns, ns->self, l->idx, l->id, ns->pid);
		if (a >= 0)
			l->att = (uint32_t)a;
	}
	sk_reg_unlock(ns);
	return 0;
}

/*
 * Are we still a member in good standing? Our record must still be ours (a memory read: a
 * sweep reaps it once our lock is gone), and, checked at most every FD_CHECK_NS because a
 * system call costs as much as a whole operation, our descriptor must still be the registry.
 */
#define FD_CHECK_NS (50 * 1000 * 1000ULL)

static int ns_check(struct sk_ns *ns, int force)
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
	return ns_rejoin(ns);
}

/* ---- fork ---- */

static struct {
	int fd;         /* new open file description holding the child's lock byte */
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
	if (!ns || ns->self == UINT32_MAX || ns->pid != sk_self_pid() || ns_check(ns, 1))
		return;
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", ns->fd);
	forking.fd = open(path, O_RDWR | O_CLOEXEC);
	if (forking.fd < 0)
		return;
	forking.fd = fd_high(forking.fd);
	forking.atts = ns->nlocal ? calloc(ns->nlocal, sizeof(uint32_t)) : NULL;
	if (ns->nlocal && !forking.atts)
		goto fail_fd;
	/* fork() must not hang on a member stopped while holding the registry lock: after
	 * FORK_WAIT_NS the child starts unregistered (its inherited attachments go uncounted). */
	struct timespec deadline;
	sk_deadline_after(&deadline, FORK_WAIT_NS);
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
		/* The child keeps the lock through its copy; if fork failed this frees it. */
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
	self_pid = 0;
	if (ns)
		sk_ns_drop_fresh(ns);
	if (ns && forking.ready) {
		close(ns->fd); /* the parent's lock lives on in the parent's copy */
		ns->fd = forking.fd;
		ns->self = forking.child;
		ns->pid = sk_self_pid();
		__atomic_store_n(&ns->procs[ns->self].pid, ns->pid, __ATOMIC_RELAXED);
		size_t kept = 0;
		for (size_t k = 0; k < ns->nlocal; k++) {
			if (!forking.atts[k])
				continue;
			ns->local[kept] = ns->local[k];
			ns->local[kept].att = forking.atts[k] - 1;
			kept++;
		}
		ns->nlocal = kept;
		free(forking.atts);
		forking.atts = NULL;
		forking.ready = 0;
	} else if (ns) {
		/* Not registered in the child: forget the parent's registration, keep the map. */
		ns->self = UINT32_MAX;
		ns->nlocal = 0;
	}
	pthread_mutex_init(&proc_mutex, NULL);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static void atfork_init(void)
{
	/* sk_gettid's own child handler must run before ours: register it first. */
	(void)sk_gettid();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

__attribute__((destructor)) static void ns_at_exit(void)
{
	/* exit() (not _exit or a signal): detach now so dtime/lpid are exact and SHM_DEST
	 * segments go at once. If another thread is inside an operation, leave it to a sweep. */
	if (pthread_mutex_trylock(&proc_mutex) != 0)
		return;
	if (current_ns)
		ns_unregister(current_ns);
	pthread_mutex_unlock(&proc_mutex);
}

/* ---- the process's namespace ---- */

static const char *wanted_name(void)
{
	if (chosen_name[0])
		return chosen_name;
	const char *env = getenv(SHMKIT_NS_ENV);
	return env && *env ? env : SHMKIT_NS_DEFAULT;
}

int sk_ns_current(struct sk_ns **out)
{
	struct sk_ns *ns = current_ns;
	if (SK_LIKELY(ns && ns->self != UINT32_MAX && ns->pid == sk_self_pid())) {
		int err = ns_check(ns, 0);
		if (err)
			return err;
		*out = ns;
		return 0;
	}
	pthread_once(&atfork_once, atfork_init);
	if (!ns) {
		ns = calloc(1, sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		int err = sk_ns_open(ns, wanted_name(), 1, 0666);
		if (err) {
			free(ns);
			return err;
		}
		current_ns = ns;
	}
	int err = ns_register(ns);
	if (err)
		return err;
	*out = ns;
	return 0;
}

SK_EXPORT int shmkit_ns_use(const char *name)
{
	if (name && !sk_ns_name_ok(name))
		return -EINVAL;
	sk_proc_lock();
	struct sk_ns *ns = current_ns;
	if (ns && ns->nlocal && ns->pid == sk_self_pid()) {
		sk_proc_unlock();
		return -EBUSY;
	}
	if (ns) {
		ns_unregister(ns);
		sk_ns_close(ns);
		free(ns);
		current_ns = NULL;
	}
	snprintf(chosen_name, sizeof(chosen_name), "%s", name ? name : "");
	sk_proc_unlock();
	return 0;
}

SK_EXPORT const char *shmkit_ns_current(void)
{
	return wanted_name();
}

SK_EXPORT int shmkit_ns_create(const char *name, unsigned mode)
{
	char obj[SK_SHM_NAME_MAX];
	if (!sk_ns_name_ok(name) || (mode & ~0777u))
		return -EINVAL;
	sk_ns_reg_name(obj, sizeof(obj), name);
	int fd = reg_create(name, obj, mode);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Unlink every object of namespace 'name' ("shmkit.NAME.*"); returns how many. */
static int unlink_all(const char *name)
{
	char prefix[SK_SHM_NAME_MAX];
	int n = snprintf(prefix, sizeof(prefix), "shmkit.%s.", name), count = 0;
	DIR *d = opendir(SK_SHM_DIR);
	if (!d)
		return -errno;
	struct dirent *e;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, prefix, (size_t)n) && sk_posix_unlink(e->d_name) == 0)
			count++;
	closedir(d);
	return count;
}

SK_EXPORT int shmkit_ns_destroy(const char *name)
{
	struct sk_ns ns;
	if (!sk_ns_name_ok(name))
		return -EINVAL;
	/* Poison the registry for processes that still have it mapped (they get -EPROTO), when
	 * it is readable at all; a corrupted one is removed all the same. */
	if (sk_ns_open(&ns, name, 0, 0) == 0) {
		if (sk_reg_lock(&ns) == 0) {
			/* BARRIER_PUBLISH: pairs with the acquire load in sk_reg_lock_until(). */
			sk_store_release(&ns.hdr->version, 0);
			sk_reg_unlock(&ns);
		}
		sk_ns_close(&ns);
	}
	int removed = unlink_all(name);

	sk_proc_lock();
	if (current_ns && !strcmp(current_ns->name, name)) {
		current_ns->self = UINT32_MAX;
		sk_ns_close(current_ns);
		free(current_ns);
		current_ns = NULL;
	}
	sk_proc_unlock();
	if (removed < 0)
		return removed;
	return removed ? 0 : -ENOENT;
}

/* ---- limits ---- */

/*
 * The kernel's values are read live, but at most every LIMITS_TTL_NS: reading four /proc files
 * costs more than the operation itself.
 */
#define LIMITS_TTL_NS (20 * 1000 * 1000ULL)

static void live_limits(struct sk_shm_limits *out)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static struct sk_shm_limits cached;
	static uint64_t read_at;
	uint64_t now = sk_mono_ns();
	pthread_mutex_lock(&lock);
	if (!read_at || now - read_at > LIMITS_TTL_NS) {
		sk_shm_limits_read(&cached);
		read_at = now;
	}
	*out = cached;
	pthread_mutex_unlock(&lock);
}

void sk_ns_limits(struct sk_ns *ns, uint64_t *shmmax, uint64_t *shmall, uint64_t *shmmni,
                  int *rmid_forced)
{
	struct sk_shm_limits l;
	live_limits(&l);
	const struct sk_reg_hdr *h = ns->hdr;
	*shmmax = h->lim_shmmax ? h->lim_shmmax : l.shmmax;
	*shmall = h->lim_shmall ? h->lim_shmall : l.shmall;
	*shmmni = h->lim_shmmni ? h->lim_shmmni : l.shmmni;
	*rmid_forced = h->lim_rmid_forced >= 0 ? h->lim_rmid_forced != 0 : (int)l.rmid_forced;
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

SK_EXPORT int shmkit_ns_set_limits(const char *name, const struct shmkit_ns_limits *l)
{
	struct sk_ns ns;
	if (!l || l->shmmni > SK_REG_SLOTS || l->rmid_forced < -1 || l->rmid_forced > 1)
		return -EINVAL;
	int err = sk_ns_open(&ns, name, 1, 0666);
	if (err)
		return err;
	err = sk_reg_lock(&ns);
	if (!err) {
		ns.hdr->lim_shmmax = l->shmmax;
		ns.hdr->lim_shmall = l->shmall;
		ns.hdr->lim_shmmni = l->shmmni;
		ns.hdr->lim_rmid_forced = l->rmid_forced;
		sk_reg_unlock(&ns);
	}
	sk_ns_close(&ns);
	return err;
}

SK_EXPORT int shmkit_ns_get_limits(const char *name, struct shmkit_ns_limits *l)
{
	struct sk_ns ns;
	if (!l)
		return -EINVAL;
	int err = sk_ns_open(&ns, name, 0, 0);
	if (err)
		return err;
	err = sk_reg_lock(&ns);
	if (!err) {
		memset(l, 0, sizeof(*l));
		l->shmmax = ns.hdr->lim_shmmax;
		l->shmall = ns.hdr->lim_shmall;
		l->shmmni = ns.hdr->lim_shmmni;
		l->rmid_forced = ns.hdr->lim_rmid_forced;
		sk_reg_unlock(&ns);
	}
	sk_ns_close(&ns);
	return err;
}

SK_EXPORT int shmkit_ns_list(char (*names)[SHMKIT_NS_NAME_MAX + 1], size_t max)
{
	DIR *d = opendir(SK_SHM_DIR);
	if (!d)
		return -errno;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		if (n <= 11 || strncmp(e->d_name, "shmkit.", 7) ||
		    strcmp(e->d_name + n - 4, ".reg"))
			continue;
		char ns[SHMKIT_NS_NAME_MAX + 1];
		size_t len = n - 11;
		if (len > SHMKIT_NS_NAME_MAX)
			continue;
		memcpy(ns, e->d_name + 7, len);
		ns[len] = '\0';
		if (!sk_ns_name_ok(ns))
			continue;
		if ((size_t)count < max && names)
			memcpy(names[count], ns, len + 1);
		count++;
	}
	closedir(d);
	return count;
}
