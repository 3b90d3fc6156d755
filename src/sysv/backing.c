/* SPDX-License-Identifier: MIT */
/*
 * Backing objects: the data of each segment, a file "ID" in the directory "uCUID" of the
 * member that created it (nsdir.c).
 *
 * The registry is shared memory, and in a namespace shared between users a member may have
 * written anything into it. So nothing read from the registry ever carries this process's
 * authority to the file system:
 *
 *   - every object is reached through a checked directory descriptor (its creator's, which
 *     nobody else can write), never by a path, never through a link (O_NOFOLLOW), and checked
 *     once open: a regular file on the namespace's filesystem with one link;
 *   - a slot names only its own object (the index of its id is the slot's index), so a forged
 *     slot cannot make us remove or re-permission the object of another segment;
 *   - shmat maps what the object really holds, never more than it holds (no SIGBUS) and
 *     never less than the registry promises (no SIGSEGV);
 *   - IPC_SET changes owners and modes on the descriptor, and grants access only to what the
 *     caller asked for that the object does not already say, and to the object's owner, whom
 *     the kernel knows: never to a uid, gid or mode merely read from the registry.
 *
 * What a forged registry can still do is point an id, a key or a creator at another object
 * the forger owns (a lie about metadata), or have a member remove a segment it may remove.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "seg/seg.h"
#include "sys/sys.h"
#include "sysv/registry.h"

int sk_backing_create(struct sk_ns *ns, int32_t id, uint64_t size, mode_t mode)
{
	char name[16];
	uint64_t page = sk_page_size(), len = sk_pages(size, page) * page;
	int dfd = sk_ns_udir(ns, (uint32_t)geteuid(), 1);
	if (dfd < 0)
		return dfd == -EIDRM ? -EACCES : dfd;
	sk_ns_seg_name(name, sizeof(name), id);
	int fd = sk_create_at(dfd, name, len, mode);
	/* Left by a crash that no repair has seen: nobody's segment. */
	if (fd == -EEXIST && unlinkat(dfd, name, 0) == 0)
		fd = sk_create_at(dfd, name, len, mode);
	struct stat st;
	/* The object's group is the creator's group (cgid) for its whole life: backing_acl()
	 * relies on it. A set-group-ID directory would have given it the directory's. */
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_gid != getegid() &&
	    fchown(fd, (uid_t)-1, getegid()) < 0) {
		unlinkat(dfd, name, 0);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/*
 * The object of segment id (slot g), opened with flags and checked. The name comes from the id
 * the caller looked up, never from the slot again: a member rewriting the slot meanwhile
 * cannot turn this into another segment's object. -EIDRM when it is not there or is not a
 * plain object of this namespace.
 */
static int object_open(struct sk_ns *ns, const struct sk_seg_rec *g, int32_t id, int flags,
                       struct stat *st)
{
	char name[16];
	int dfd = sk_ns_udir(ns, SK_ONCE(g->cuid), 0);
	if (dfd < 0)
		return dfd == -EACCES ? -EIDRM : dfd;
	sk_ns_seg_name(name, sizeof(name), id);
	int fd = sk_open_at(dfd, name, flags, st);
	if (fd < 0) {
		/* The kernel's refusal, or a lack of resources, is the caller's to know; anything
		 * else (gone, a link, a directory, a socket...) is no segment of ours. */
		int keep = fd == -EACCES || fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM;
		return keep ? fd : -EIDRM;
	}
	if (st->st_dev != ns->dev || st->st_nlink != 1) {
		close(fd);
		return -EIDRM;
	}
	return fd;
}

int sk_backing_open(struct sk_ns *ns, const struct sk_seg_rec *g, int32_t id, int rdonly,
                    size_t *len)
{
	struct stat st;
	uint64_t page = sk_page_size(), want = sk_pages(SK_ONCE(g->segsz), page) * page;
	int fd = object_open(ns, g, id, rdonly ? O_RDONLY : O_RDWR, &st);
	if (fd < 0)
		return fd;
	/* Map the whole object: at least what the registry promises, and no more than it has. */
	if ((uint64_t)st.st_size < want || (uint64_t)st.st_size > SK_SEG_SIZE_MAX ||
	    (uint64_t)st.st_size > SIZE_MAX || st.st_size % page) {
		close(fd);
		return -EIDRM;
	}
	*len = (size_t)st.st_size;
	return fd;
}

uint64_t sk_backing_bytes(struct sk_ns *ns, const struct sk_seg_rec *g)
{
	struct stat st;
	int fd = object_open(ns, g, SK_ONCE(g->id), O_PATH, &st);
	if (fd < 0)
		return 0;
	close(fd);
	return (uint64_t)st.st_blocks * 512;
}

/* ---- removal ---- */

/* No live slot claims the object uUID/ID. */
static int unclaimed(struct sk_ns *ns, uint32_t uid, int32_t id)
{
	const struct sk_seg_rec *g = &ns->segs[(uint32_t)id & SK_IDX_MASK];
	return id < 0 || g->state != SK_SEG_LIVE || g->id != id || g->cuid != uid;
}

static void orphan_add(struct sk_ns *ns, int32_t id, uint32_t owner)
{
	struct sk_reg_hdr *h = ns->hdr;
	uint32_t n = h->norphans < SK_REG_ORPHANS ? h->norphans : SK_REG_ORPHANS;
	for (uint32_t i = 0; i < n; i++)
		if (h->orphans[i].id == id && h->orphans[i].owner == owner)
			return;
	if (n < SK_REG_ORPHANS) {
		h->orphans[n] = (struct sk_orphan){.id = id, .owner = owner};
		h->norphans = n + 1;
	}
	/* A full table leaves the object to its owner's shmkit_ns_gc(). */
}

int sk_backing_unlink(struct sk_ns *ns, uint32_t uid, int32_t id)
{
	char name[16];
	int dfd = sk_ns_udir(ns, uid, 0);
	if (dfd < 0)
		return dfd;
	sk_ns_seg_name(name, sizeof(name), id);
	if (unlinkat(dfd, name, 0) == 0)
		return 0;
	int err = -errno;
	/* Only the creator (or root) may remove from its directory: left to its next call. */
	if (err == -EPERM || err == -EACCES)
		orphan_add(ns, id, uid);
	return err;
}

void sk_backing_orphans(struct sk_ns *ns)
{
	struct sk_reg_hdr *h = ns->hdr;
	uint32_t n = h->norphans < SK_REG_ORPHANS ? h->norphans : SK_REG_ORPHANS, kept = 0;
	uid_t me = geteuid();
	int root = sk_has_cap(CAP_DAC_OVERRIDE);
	for (uint32_t i = 0; i < n; i++) {
		struct sk_orphan o = h->orphans[i];
		/* The table is untrusted: never remove an object a live slot claims. */
		if (!unclaimed(ns, o.owner, o.id))
			continue;
		if (o.owner != me && !root) {
			h->orphans[kept++] = o;
			continue;
		}
		char name[16];
		int dfd = sk_ns_udir(ns, o.owner, 0);
		sk_ns_seg_name(name, sizeof(name), o.id);
		if (dfd >= 0)
			unlinkat(dfd, name, 0);
	}
	h->norphans = kept;
}

struct sweep {
	struct sk_ns *ns;
	uint32_t uid;
};

/* An object named like a segment that no live slot claims: remove it. */
static int unlink_unclaimed(int dfd, const char *name, void *arg)
{
	const struct sweep *w = arg;
	uint64_t v;
	char canon[16];
	if (sk_parse_u64(name, &v) < 0 || v > INT32_MAX)
		return 0;
	sk_ns_seg_name(canon, sizeof(canon), (int32_t)v);
	if (strcmp(canon, name) || !unclaimed(w->ns, w->uid, (int32_t)v))
		return 0;
	return unlinkat(dfd, name, 0) == 0;
}

/* A member's directory "uUID" we may write: sweep it. */
static int sweep_udir(int dfd, const char *name, void *arg)
{
	struct sweep w = {.ns = arg};
	uint64_t uid;
	(void)dfd;
	if (name[0] != 'u' || sk_parse_u64(name + 1, &uid) < 0 || uid >= UINT32_MAX)
		return 0;
	w.uid = (uint32_t)uid;
	if (w.uid != geteuid() && !sk_has_cap(CAP_DAC_OVERRIDE))
		return 0;
	int udfd = sk_ns_udir(w.ns, w.uid, 0);
	return udfd < 0 ? 0 : sk_ns_dir_each(udfd, ".", unlink_unclaimed, &w);
}

int sk_backing_sweep_dir(struct sk_ns *ns)
{
	return sk_ns_dir_each(ns->dirfd, ".", sweep_udir, ns);
}

/* ---- IPC_SET: the kernel's checks follow ipcperms ---- */

struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

#define ACL_USER_OBJ  0x01
#define ACL_USER      0x02
#define ACL_GROUP_OBJ 0x04
#define ACL_GROUP     0x08
#define ACL_MASK      0x10
#define ACL_OTHER     0x20
#define ACL_NO_ID     UINT32_MAX
#define ACL_VERSION   2 /* POSIX_ACL_XATTR_VERSION */
#define ACL_XATTR     "system.posix_acl_access"

struct acl {
	struct acl_entry e[8];
	int n;
};

static void acl_add(struct acl *a, uint16_t tag, uint16_t perm, uint32_t id)
{
	a->e[a->n++] = (struct acl_entry){tag, perm, id};
}

/* The kernel wants entries sorted by tag, then id. */
static void acl_sort(struct acl *a)
{
	for (int i = 1; i < a->n; i++)
		for (int j = i;
		     j > 0 && (a->e[j - 1].tag > a->e[j].tag ||
		               (a->e[j - 1].tag == a->e[j].tag && a->e[j - 1].id > a->e[j].id));
		     j--) {
			struct acl_entry t = a->e[j];
			a->e[j] = a->e[j - 1];
			a->e[j - 1] = t;
		}
}

/*
 * ipcperms' classes as an ACL on an object owned by fu:fg: the owner bits for uid (a named
 * entry unless it is fu) and for fu if it is uid or cuid, the group bits for gid likewise,
 * the other bits for the rest. cuid and cgid only decide whether the object's owner and group
 * keep the owner and group bits, which gives no one but them anything: the object's owner may
 * change its permissions anyway, and its group is the creator's (cgid) for its whole life.
 */
static void backing_acl(struct acl *a, const struct sk_seg_rec *g, uid_t uid, gid_t gid,
                        mode_t mode, uid_t fu, gid_t fg)
{
	uint16_t own = (mode >> 6) & 7, grp = (mode >> 3) & 7, oth = mode & 7;
	int named = 0;
	a->n = 0;
	acl_add(a, ACL_USER_OBJ, fu == uid || fu == g->cuid ? own : oth, ACL_NO_ID);
	if (uid != fu)
		acl_add(a, ACL_USER, own, uid), named++;
	acl_add(a, ACL_GROUP_OBJ, fg == gid || fg == g->cgid ? grp : oth, ACL_NO_ID);
	if (gid != fg)
		acl_add(a, ACL_GROUP, grp, gid), named++;
	if (named) {
		uint16_t mask = 0;
		for (int i = 1; i < a->n; i++)
			mask |= a->e[i].perm;
		acl_add(a, ACL_MASK, mask, ACL_NO_ID);
	}
	acl_add(a, ACL_OTHER, oth, ACL_NO_ID);
	acl_sort(a);
}

/*
 * What the object says its segment's uid, gid and mode are: the last IPC_SET that could set
 * them wrote them into its ACL (a named user or group entry is uid or gid; without one, the
 * object's owner or group is), or its creation into its mode. The kernel keeps this, and only
 * the object's owner or root can change it.
 */
static void object_says(const char *self, const struct stat *st, uid_t *uid, gid_t *gid,
                        mode_t *mode)
{
	uint8_t buf[4 + 8 * sizeof(struct acl_entry)];
	uint16_t own = (st->st_mode >> 6) & 7, grp = (st->st_mode >> 3) & 7, oth = st->st_mode & 7;
	*uid = st->st_uid;
	*gid = st->st_gid;
	ssize_t n = getxattr(self, ACL_XATTR, buf, sizeof(buf));
	if (n >= 4 && (n - 4) % (ssize_t)sizeof(struct acl_entry) == 0) {
		int named_user = 0, named_group = 0;
		for (ssize_t off = 4; off < n; off += (ssize_t)sizeof(struct acl_entry)) {
			struct acl_entry e;
			memcpy(&e, buf + off, sizeof(e));
			if (e.tag == ACL_USER_OBJ && !named_user)
				own = e.perm & 7;
			else if (e.tag == ACL_USER)
				*uid = e.id, own = e.perm & 7, named_user = 1;
			else if (e.tag == ACL_GROUP_OBJ && !named_group)
				grp = e.perm & 7;
			else if (e.tag == ACL_GROUP)
				*gid = e.id, grp = e.perm & 7, named_group = 1;
			else if (e.tag == ACL_OTHER)
				oth = e.perm & 7;
		}
	}
	*mode = (mode_t)(own << 6 | grp << 3 | oth);
}

/*
 * Who should own the object after root's IPC_SET. Root may give the object to anyone; it does
 * so when the object's owner is no longer an owner of the segment (or is root), so that the
 * new uid can re-permission it later. The creator keeps its object: it stays an owner (cuid)
 * whatever uid becomes. A forged cuid can only make root take the object from its creator,
 * which denies the creator, never grants another.
 */
static uid_t root_target(const struct sk_seg_rec *g, uid_t uid, uid_t fu)
{
	if (fu == 0 || (fu != uid && fu != g->cuid))
		return uid;
	return fu;
}

int sk_backing_perms(struct sk_ns *ns, const struct sk_seg_rec *g, int32_t id,
                     struct shmkit_ipc_perm *want)
{
	char self[64];
	struct stat st;
	/* O_PATH: the owner may re-permission an object it cannot read (mode 0000). */
	int fd = object_open(ns, g, id, O_PATH, &st);
	if (fd < 0)
		return fd;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	/*
	 * A value the caller passes unchanged from what the registry says (IPC_STAT, change one
	 * field, IPC_SET) is not a request to grant it: the registry may be forged. The object's
	 * own word is used instead, and becomes the registry's again.
	 */
	uid_t uid;
	gid_t gid;
	mode_t mode;
	object_says(self, &st, &uid, &gid, &mode);
	if (want->uid == g->uid)
		want->uid = uid;
	if (want->gid == g->gid)
		want->gid = gid;
	if (want->mode == (g->mode & 0777u))
		want->mode = mode;
	if (sk_has_cap(CAP_CHOWN)) {
		uid_t to = root_target(g, want->uid, st.st_uid);
		if (to != st.st_uid && fchownat(fd, "", to, (gid_t)-1, AT_EMPTY_PATH) == 0)
			st.st_uid = to;
	}
	struct acl a;
	backing_acl(&a, g, want->uid, want->gid, want->mode, st.st_uid, st.st_gid);
	char buf[4 + sizeof(a.e)];
	uint32_t version = ACL_VERSION;
	memcpy(buf, &version, 4);
	memcpy(buf + 4, a.e, (size_t)a.n * sizeof(a.e[0]));
	/* The descriptor's own inode, through /proc: no name lookup that could be redirected. */
	if (setxattr(self, ACL_XATTR, buf, 4 + (size_t)a.n * sizeof(a.e[0]), 0) < 0 &&
	    chmod(self, want->mode & 0777) < 0) {
		/* neither the object's owner nor root: the registry's check still applies */
	}
	close(fd);
	return 0;
}
