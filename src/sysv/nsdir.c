/* SPDX-License-Identifier: MIT */
/*
 * Where namespaces live, and whom they trust.
 *
 * A namespace is a directory /dev/shm/shmkit.NAME holding
 *
 *   reg      the registry (registry.h), mode as asked (0600, 0660, 0666);
 *   live     the members' liveness tokens (sys/live.c): an empty file members may write but
 *            nobody may read, so that nobody but a member can hold a token (a read lock);
 *   uUID/    the backing objects of the segments UID created, one file per id (backing.c):
 *            a directory that belongs to UID, so that nobody else, not even the namespace's
 *            owner, can remove, rename or plant objects in it.
 *
 * Everything inside is reached through the directory's descriptor, checked once at open, and
 * never through a path another user could redirect: no name inside is followed as a link,
 * each directory is checked for its owner, and each object to be a regular file on the
 * namespace's filesystem.
 *
 * Trust domains
 *   "default" names the caller's own namespace, "default.EUID": a directory that must belong
 *   to that uid and be closed to everyone else (mode 0700). Any other name is global on the
 *   machine, like a POSIX shm name: its directory's owner is the namespace's owner. Created on
 *   first use, a namespace is private (0700 / registry 0600). A namespace shared between uids
 *   is made explicitly, by shmkit_ns_create() with group or other bits: its directory then
 *   carries the sticky bit, so that a member can remove or replace only its own objects.
 *
 *   /dev/shm is writable by everyone, so the directory's name can be taken first by someone
 *   else ("squatted"). That is detected from what the kernel says of the directory (type,
 *   owner, mode) and refused with -EACCES; shmkit_ns_info() names the squatter. The objects
 *   inside cannot be squatted: nobody else may create names in a private directory, and in a
 *   shared one an object planted by another member is recognised by its owner.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seg/seg.h"
#include "sys/sys.h"
#include "sysv/registry.h"

#define DEFAULT_PREFIX "default."

static void udirs_close(struct sk_ns *ns);

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

/* "default.UID" with UID a decimal uid without leading zeros: the per-user namespace. */
static int default_uid(const char *name, uid_t *uid)
{
	size_t n = sizeof(DEFAULT_PREFIX) - 1;
	if (strncmp(name, DEFAULT_PREFIX, n))
		return 0;
	uint64_t v;
	const char *d = name + n;
	if (sk_parse_u64(d, &v) < 0 || v >= UINT32_MAX || (d[0] == '0' && d[1]))
		return 0;
	*uid = (uid_t)v;
	return 1;
}

int sk_ns_canon(const char *name, char *out, size_t len)
{
	uid_t uid;
	if (name && !strcmp(name, SHMKIT_NS_DEFAULT)) {
		snprintf(out, len, DEFAULT_PREFIX "%u", (unsigned)geteuid());
		return 0;
	}
	if (!name || (!sk_ns_name_ok(name) && !default_uid(name, &uid)))
		return -EINVAL;
	snprintf(out, len, "%s", name);
	return 0;
}

SK_EXPORT int shmkit_ns_canonical(const char *name, char *out, size_t len)
{
	char canon[SK_NS_CANON_MAX + 1];
	int err = sk_ns_canon(name, canon, sizeof(canon));
	if (err)
		return err;
	if (!out || strlen(canon) >= len)
		return -ENAMETOOLONG;
	memcpy(out, canon, strlen(canon) + 1);
	return 0;
}

void sk_ns_dir_path(char *buf, size_t len, const char *canon)
{
	snprintf(buf, len, SK_SHM_DIR "/shmkit.%s", canon);
}

void sk_ns_seg_name(char *buf, size_t len, int32_t id)
{
	snprintf(buf, len, "%d", (int)id);
}

/* ---- what the kernel says of a directory ---- */

static void info_from_stat(struct shmkit_ns_info *in, const struct stat *st)
{
	in->owner = st->st_uid;
	in->group = st->st_gid;
	in->mode = st->st_mode & 07777;
}

/*
 * Can this directory be trusted as namespace 'canon'? 0, or -EACCES with the reason in
 * in->flags (SHMKIT_NS_SQUATTED: it is not the owner's; SHMKIT_NS_UNSAFE: a mode that lets
 * others replace what is inside).
 */
static int dir_trusted(const char *canon, const struct stat *st, struct shmkit_ns_info *in)
{
	uid_t want;
	info_from_stat(in, st);
	if (!S_ISDIR(st->st_mode)) {
		in->flags |= SHMKIT_NS_SQUATTED;
		return -EACCES;
	}
	if (default_uid(canon, &want)) {
		if (st->st_uid != want) {
			in->flags |= SHMKIT_NS_SQUATTED;
			return -EACCES;
		}
		if (st->st_mode & 077) {
			in->flags |= SHMKIT_NS_UNSAFE;
			return -EACCES;
		}
		return 0;
	}
	/* Writable by others without the sticky bit: a member could swap anyone's objects. */
	if ((st->st_mode & 022) && !(st->st_mode & S_ISVTX)) {
		in->flags |= SHMKIT_NS_UNSAFE;
		return -EACCES;
	}
	if (st->st_uid != geteuid())
		in->flags |= SHMKIT_NS_SHARED;
	return 0;
}

/* The directory of namespace canon, opened O_PATH and checked. -ENOENT if there is none. */
static int dir_open(const char *canon, struct stat *st, struct shmkit_ns_info *in)
{
	char path[SK_NS_PATH_MAX];
	sk_ns_dir_path(path, sizeof(path), canon);
	int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int err = fstat(fd, st) < 0 ? -errno : dir_trusted(canon, st, in);
	if (err) {
		close(fd);
		return err;
	}
	return sk_fd_high(fd); /* out of the way of close loops, like the carrier */
}

int sk_ns_dir_check(struct sk_ns *ns)
{
	struct stat st;
	struct shmkit_ns_info in;
	uint32_t kept = 0;
	for (uint32_t i = 0; i < ns->nudir; i++)
		if (fstat(ns->udir[i].fd, &st) == 0 && st.st_dev == ns->dev &&
		    st.st_ino == ns->udir[i].ino && S_ISDIR(st.st_mode))
			ns->udir[kept++] = ns->udir[i];
	ns->nudir = kept; /* the others' numbers are closed or someone else's: leave them */
	if (fstat(ns->dirfd, &st) == 0 && st.st_dev == ns->dev && st.st_ino == ns->dir_ino)
		return 0;
	int fd = dir_open(ns->name, &st, &in);
	if (fd >= 0 && (st.st_dev != ns->dev || st.st_ino != ns->dir_ino)) {
		close(fd);
		fd = -EPROTO; /* destroyed, maybe made again: not the namespace we map */
	}
	if (fd < 0)
		return fd == -ENOENT ? -EPROTO : fd;
	ns->dirfd = fd; /* the old number is closed or someone else's: leave it */
	return 0;
}

/* The mode of a namespace directory whose registry has mode 'mode'. */
static mode_t dir_mode(unsigned mode)
{
	/* Members create objects (write); readers only look inside (search and list). */
	mode_t m = 0700;
	m |= mode & 020 ? 070 : mode & 040 ? 050 : 0;
	m |= mode & 002 ? 007 : mode & 004 ? 005 : 0;
	if (mode & 022)
		m |= S_ISVTX;
	return m;
}

/* ---- the registry file ---- */

struct reg_args {
	const char *name;
	unsigned mode;
};

/* Fill a new registry; the object is still unnamed (seg/publish.c, BARRIER_PUB). */
static int reg_init(void *map, void *arg)
{
	const struct reg_args *a = arg;
	struct sk_reg_hdr *h = map;
	uint32_t seq = 0;
	h->nslots = SK_REG_SLOTS;
	h->nprocs = SK_REG_PROCS;
	h->natts = SK_REG_ATTS;
	h->nhash = SK_REG_HASH;
	h->mode = a->mode;
	h->last_idx = -1;
	h->lim_rmid_forced = -1;
	h->next_id = -1;
	/* Ids start at a random sequence number, so that an id handed to the kernel by mistake
	 * (a program on shmkit, its peer on the kernel) names no kernel segment by accident. */
	sk_getrandom(&seq, sizeof(seq));
	h->seq = seq % SK_SEQ_MAX;
	snprintf(h->name, sizeof(h->name), "%s", a->name);
	shmkit_mutex_init(&h->lock);
	sk_hdr_publish(&h->magic, &h->version, SK_REG_MAGIC, SK_REG_VERSION);
	return 0;
}

static int reg_validate(struct sk_reg_hdr *h)
{
	int err = sk_hdr_check(&h->magic, &h->version, SK_REG_MAGIC, SK_REG_VERSION);
	if (err)
		return err;
	if (h->nslots != SK_REG_SLOTS || h->nprocs != SK_REG_PROCS || h->natts != SK_REG_ATTS ||
	    h->nhash != SK_REG_HASH)
		return -EBADMSG;
	return 0;
}

static void reg_point(struct sk_ns *ns, void *p)
{
	ns->size = SK_REG_SIZE;
	ns->hdr = p;
	ns->procs = (struct sk_proc_rec *)((char *)p + SK_REG_OFF_PROCS);
	ns->segs = (struct sk_seg_rec *)((char *)p + SK_REG_OFF_SEGS);
	ns->atts = (struct sk_att_rec *)((char *)p + SK_REG_OFF_ATTS);
	ns->hash = (uint32_t *)((char *)p + SK_REG_OFF_HASH);
}

/* The tokens file: members write (lock), nobody reads (no read lock, no lookalike token). */
static int live_create(int dirfd, unsigned mode, gid_t gid)
{
	int err = sk_obj_build_at(dirfd, SK_LIVE_NAME, 0, 0200 | (mode & 022), gid, NULL, NULL);
	return err == -EEXIST ? 0 : err; /* left by a creator that died before the registry */
}

/* Build a complete registry under no name in the directory, then link it into place. */
static int reg_create(int dirfd, const char *name, unsigned mode, gid_t gid)
{
	struct reg_args a = {name, mode};
	int err = live_create(dirfd, mode, gid);
	return err ? err
	           : sk_obj_build_at(dirfd, SK_REG_NAME, SK_REG_SIZE, mode, gid, reg_init, &a);
}

/* One of the namespace's own files, opened and checked: the owner made it, nobody linked it. */
static int own_file(struct sk_ns *ns, const char *name, int flags, const struct stat *dir,
                    struct stat *st, struct shmkit_ns_info *in)
{
	int fd = sk_open_own_at(ns->dirfd, name, flags, dir, st);
	if (fd == -EPERM || fd == -EBADMSG) {
		in->flags |= SHMKIT_NS_SQUATTED;
		in->owner = st->st_uid;
		return -EACCES;
	}
	return fd;
}

/* The carrier of this process's token: a descriptor of "live" of its own (sys/live.c). */
int sk_ns_carrier(struct sk_ns *ns)
{
	struct stat st;
	int fd = sk_open_at(ns->dirfd, SK_LIVE_NAME, O_WRONLY, &st);
	if (fd < 0)
		return fd == -ENOENT ? -EPROTO : fd;
	if (st.st_dev != ns->live_dev || st.st_ino != ns->live_ino) {
		close(fd);
		return -EPROTO; /* destroyed, maybe made again: not the namespace we map */
	}
	return sk_fd_high(fd);
}

/*
 * Open the registry of the directory ns->dirfd, check it and map it; the mapping's own
 * descriptor is closed, and ns->fd is a separate carrier for liveness tokens (sys/live.c).
 */
static int reg_open(struct sk_ns *ns, const struct stat *dir, struct shmkit_ns_info *in)
{
	struct stat st, lst;
	int lfd = own_file(ns, SK_LIVE_NAME, O_WRONLY, dir, &lst, in);
	if (lfd < 0)
		return lfd;
	int fd = own_file(ns, SK_REG_NAME, O_RDWR, dir, &st, in), err = 0;
	if (fd < 0) {
		close(lfd);
		return fd;
	}
	if ((uint64_t)st.st_size < SK_REG_SIZE) {
		err = -EBADMSG; /* it would fault on access: refuse it up front */
	}
	void *p = MAP_FAILED;
	if (!err &&
	    (p = mmap(NULL, SK_REG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED)
		err = -errno;
	if (!err) {
		reg_point(ns, p);
		err = reg_validate(ns->hdr);
	}
	close(fd);
	if (!err) {
		ns->live_dev = lst.st_dev;
		ns->live_ino = lst.st_ino;
		ns->fd = sk_fd_high(lfd);
	} else {
		close(lfd);
		if (p != MAP_FAILED)
			munmap(p, SK_REG_SIZE);
		ns->hdr = NULL;
	}
	return err;
}

/* Create the directory (private until its registry is in place) and the registry. */
static int ns_make(const char *canon, unsigned mode, gid_t gid)
{
	char path[SK_NS_PATH_MAX];
	sk_ns_dir_path(path, sizeof(path), canon);
	if (mkdir(path, 0700) < 0)
		return -errno;
	int dirfd = open(path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), err = 0;
	struct stat st;
	if (dirfd < 0)
		return -errno;
	/* Ours only if it is the directory we just made (not one swapped in meanwhile). */
	if (fstat(dirfd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 07077))
		err = -EACCES;
	char self[64];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", dirfd);
	if (!err && gid != (gid_t)-1 && chown(self, (uid_t)-1, gid) < 0)
		err = -errno;
	if (!err)
		err = reg_create(dirfd, canon, mode, gid);
	if (!err && chmod(self, dir_mode(mode)) < 0)
		err = -errno;
	close(dirfd);
	if (err) {
		sk_ns_rmdir(canon);
		return err;
	}
	return 0;
}

int sk_ns_open_info(struct sk_ns *ns, const char *name, int create, struct shmkit_ns_info *in)
{
	memset(ns, 0, sizeof(*ns));
	memset(in, 0, sizeof(*in));
	ns->fd = ns->dirfd = ns->fresh_fd = -1;
	ns->self = UINT32_MAX;
	int err = sk_ns_canon(name, ns->name, sizeof(ns->name));
	if (err)
		return err;
	snprintf(in->name, sizeof(in->name), "%s", ns->name);
	sk_ns_dir_path(in->path, sizeof(in->path), ns->name);
	struct stat st;
	for (int tries = 0; tries < 8; tries++) {
		ns->dirfd = dir_open(ns->name, &st, in);
		if (ns->dirfd == -ENOENT && create) {
			/* A private namespace, made on first use. Lost a race: open the winner's.
			 */
			err = ns_make(ns->name, 0600, (gid_t)-1);
			if (err && err != -EEXIST)
				return err;
			continue;
		}
		if (ns->dirfd < 0) {
			err = ns->dirfd;
			ns->dirfd = -1;
			return err;
		}
		ns->dev = st.st_dev;
		ns->dir_ino = st.st_ino;
		ns->owner = st.st_uid;
		ns->group = st.st_gid;
		err = reg_open(ns, &st, in);
		/* A directory without a registry: its creator died before finishing it. */
		if (err == -ENOENT && create && st.st_uid == geteuid() && (st.st_mode & 077) == 0)
			err = reg_create(ns->dirfd, ns->name, 0600, (gid_t)-1);
		else if (!err)
			return 0;
		close(ns->dirfd);
		ns->dirfd = -1;
		if (err && err != -EEXIST)
			return err;
	}
	return -EAGAIN;
}

int sk_ns_open(struct sk_ns *ns, const char *name, int create)
{
	struct shmkit_ns_info in;
	return sk_ns_open_info(ns, name, create, &in);
}

void sk_ns_close(struct sk_ns *ns)
{
	sk_ns_drop_fresh(ns);
	if (ns->hdr)
		munmap(ns->hdr, ns->size);
	ns->hdr = NULL;
	if (ns->fd >= 0 && sk_live_close(ns->fd) < 0)
		close(ns->fd); /* a carrier that was never adopted (inspection) */
	udirs_close(ns);
	if (ns->dirfd >= 0)
		close(ns->dirfd);
	ns->fd = ns->dirfd = -1;
	free(ns->local);
	ns->local = NULL;
	ns->nlocal = ns->caplocal = 0;
}

/* ---- members' object directories ---- */

static void udir_name(char *buf, size_t len, uint32_t uid)
{
	snprintf(buf, len, "u%u", (unsigned)uid);
}

static int udir_open(struct sk_ns *ns, uint32_t uid, int create)
{
	char name[16];
	struct stat st;
	udir_name(name, sizeof(name), uid);
	int fd = openat(ns->dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create && uid == geteuid()) {
		/* Others search it for the objects they may open; only we change it. */
		if (mkdirat(ns->dirfd, name, 0711) < 0 && errno != EEXIST)
			return -errno;
		fd = openat(ns->dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		if (fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == uid && chmod(self, 0711) < 0) {
			close(fd);
			return -errno;
		}
	}
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? -EIDRM : -errno;
	/* Its owner's alone: nobody else may remove, rename or plant objects in it. */
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != uid || (st.st_mode & 022) ||
	    st.st_dev != ns->dev) {
		close(fd);
		return -EACCES;
	}
	return sk_fd_high(fd);
}

static ino_t fd_ino(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

int sk_ns_udir(struct sk_ns *ns, uint32_t uid, int create)
{
	for (uint32_t i = 0; i < ns->nudir; i++)
		if (ns->udir[i].uid == uid)
			return ns->udir[i].fd;
	int fd = udir_open(ns, uid, create);
	if (fd < 0)
		return fd;
	if (ns->nudir == SK_NS_UDIRS) {
		/* Full: forget the oldest (ours stays first). */
		close(ns->udir[SK_NS_UDIRS - 1].fd);
		ns->nudir--;
	}
	ns->udir[ns->nudir].uid = uid;
	ns->udir[ns->nudir].fd = fd;
	ns->udir[ns->nudir].ino = fd_ino(fd);
	ns->nudir++;
	return fd;
}

static void udirs_close(struct sk_ns *ns)
{
	for (uint32_t i = 0; i < ns->nudir; i++)
		close(ns->udir[i].fd);
	ns->nudir = 0;
}

/* ---- administration ---- */

int sk_ns_is_admin(const struct sk_ns *ns)
{
	/* The directory's owner, a fact the kernel keeps: never a uid read from the registry. */
	return ns->owner == geteuid() || sk_has_cap(CAP_SYS_ADMIN);
}

SK_EXPORT int shmkit_ns_create(const char *name, unsigned mode)
{
	return shmkit_ns_create_group(name, mode, (gid_t)-1);
}

SK_EXPORT int shmkit_ns_create_group(const char *name, unsigned mode, gid_t gid)
{
	char canon[SK_NS_CANON_MAX + 1];
	uid_t uid;
	int err = sk_ns_canon(name, canon, sizeof(canon));
	if (err || (mode & ~0666u) || !(mode & 0600) || (mode & 0600) != 0600)
		return -EINVAL;
	/* The per-user namespace is its user's alone. */
	if (default_uid(canon, &uid) && (mode & 066 || uid != geteuid()))
		return -EINVAL;
	return ns_make(canon, mode, gid);
}

SK_EXPORT int shmkit_ns_info(const char *name, struct shmkit_ns_info *out)
{
	struct sk_ns ns;
	if (!out)
		return -EINVAL;
	int err = sk_ns_open_info(&ns, name, 0, out);
	if (err == -ENOENT)
		out->flags |= SHMKIT_NS_MISSING;
	out->error = err;
	if (!err) {
		out->members = 0;
		for (uint32_t i = 0; i < SK_REG_PROCS; i++)
			out->members += ns.procs[i].state == SK_PROC_LIVE;
		sk_ns_close(&ns);
	}
	return err == -EINVAL ? err : 0;
}

int sk_ns_dir_each(int dirfd, const char *dir, int (*fn)(int dfd, const char *name, void *arg),
                   void *arg)
{
	int dfd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), n = 0;
	if (dfd < 0)
		return -errno;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n += fn(dfd, e->d_name, arg);
	closedir(d);
	return n;
}

/* Remove an entry of a namespace's directory: a file, or a member's directory and what we
 * may remove in it. Returns 1 if it is gone. */
static int remove_entry(int dfd, const char *name, void *arg)
{
	(void)arg;
	if (unlinkat(dfd, name, 0) == 0)
		return 1;
	if (errno != EISDIR)
		return 0;
	sk_ns_dir_each(dfd, name, remove_entry, NULL);
	return unlinkat(dfd, name, AT_REMOVEDIR) == 0;
}

/*
 * Remove a namespace's directory (named path) with what we may remove: everything for root,
 * else the namespace's own files and our objects. Another member's objects stay, in their
 * directory, until that member (or root) runs shmkit_ns_gc_destroyed().
 */
static int remove_tree(const char *path)
{
	int n = sk_ns_dir_each(AT_FDCWD, path, remove_entry, NULL);
	if (n < 0)
		return n;
	return rmdir(path) == 0 ? 0 : -errno;
}

int sk_ns_rmdir(const char *canon)
{
	char path[SK_NS_PATH_MAX];
	sk_ns_dir_path(path, sizeof(path), canon);
	return remove_tree(path);
}

#define GONE_PREFIX ".shmkit-gone."

/*
 * Take the namespace's name away at once (a rename: the name is free for a new namespace,
 * and nothing a member left inside can keep it), then remove what we may of the rest.
 */
static int retire(const char *canon)
{
	char path[SK_NS_PATH_MAX], gone[SK_NS_PATH_MAX + 32];
	uint32_t r = 0;
	sk_ns_dir_path(path, sizeof(path), canon);
	sk_getrandom(&r, sizeof(r));
	snprintf(gone, sizeof(gone), SK_SHM_DIR "/" GONE_PREFIX "%s.%08x", canon, (unsigned)r);
	if (rename(path, gone) < 0)
		return -errno;
	sk_ns_forget(canon);
	int err = remove_tree(gone);
	return err == -ENOTEMPTY || err == -EEXIST ? 0 : err;
}

static int retired_one(int dfd, const char *name, void *arg)
{
	(void)arg;
	if (strncmp(name, GONE_PREFIX, sizeof(GONE_PREFIX) - 1))
		return 0;
	char path[SK_NS_PATH_MAX + 32];
	int n = snprintf(path, sizeof(path), SK_SHM_DIR "/%s", name);
	(void)dfd;
	if (n < 0 || (size_t)n >= sizeof(path))
		return 0; /* longer than any name retire() gives: not ours, and never cut short */
	return remove_tree(path) == 0;
}

SK_EXPORT int shmkit_ns_gc_destroyed(void)
{
	return sk_ns_dir_each(AT_FDCWD, SK_SHM_DIR, retired_one, NULL);
}

SK_EXPORT int shmkit_ns_destroy(const char *name)
{
	struct sk_ns ns;
	struct shmkit_ns_info in;
	char canon[SK_NS_CANON_MAX + 1];
	int err = sk_ns_canon(name, canon, sizeof(canon));
	if (err)
		return err;
	err = sk_ns_open_info(&ns, canon, 0, &in);
	if (err == -EBADMSG || err == -EPROTO) {
		/* A damaged registry: its owner may still remove the namespace. */
		struct stat st;
		char path[SK_NS_PATH_MAX];
		sk_ns_dir_path(path, sizeof(path), canon);
		if (lstat(path, &st) < 0)
			return -errno;
		if (st.st_uid != geteuid() && !sk_has_cap(CAP_SYS_ADMIN))
			return -EPERM;
		return retire(canon);
	}
	if (err)
		return err;
	/* Check before writing anything: only the owner (or root) destroys a namespace. */
	if (!sk_ns_is_admin(&ns)) {
		sk_ns_close(&ns);
		return -EPERM;
	}
	struct timespec deadline;
	if (sk_reg_lock_until(&ns, sk_ns_wait_deadline(&deadline)) == 0) {
		/* BARRIER_PUBLISH: pairs with the acquire load in sk_reg_lock_until(): processes
		 * that still map the registry get -EPROTO from now on. */
		sk_store_release(&ns.hdr->version, 0);
		sk_reg_unlock(&ns);
	}
	sk_ns_close(&ns);
	return retire(canon);
}

SK_EXPORT int shmkit_ns_list(char (*names)[SHMKIT_NS_NAME_MAX + 1], size_t max)
{
	DIR *d = opendir(SK_SHM_DIR);
	if (!d)
		return -errno;
	int count = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char canon[SK_NS_CANON_MAX + 1];
		const char *n = e->d_name;
		if (strncmp(n, "shmkit.", 7) || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
			continue;
		if (sk_ns_canon(n + 7, canon, sizeof(canon)) || strcmp(canon, n + 7))
			continue; /* not a name we would make ("default" is always default.UID) */
		if ((size_t)count < max && names)
			snprintf(names[count], SHMKIT_NS_NAME_MAX + 1, "%s", canon);
		count++;
	}
	closedir(d);
	return count;
}
