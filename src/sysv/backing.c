/* SPDX-License-Identifier: MIT */
/*
 * Backing objects: the data of each segment, a file "ID" in the namespace's directory.
 *
 * The registry is shared memory, and in a namespace shared between users a member may have
 * written anything into it. So nothing read from the registry ever carries this process's
 * authority to the file system:
 *
 *   - every object is reached through the namespace's directory descriptor, never by a path,
 *     never through a link (O_NOFOLLOW), and checked once open: a regular file on the
 *     directory's filesystem with one link (not a hard link to a file elsewhere);
 *   - a slot names only its own object (the index of its id is the slot's index), so a forged
 *     slot cannot make us remove or re-permission the object of another segment;
 *   - shmat maps what the object really holds, never more than it holds (no SIGBUS) and
 *     never less than the registry promises (no SIGSEGV);
 *   - IPC_SET changes owners and modes on the descriptor, and grants access only to what the
 *     caller itself asked for (its shmid_ds) and to the object's owner, whom the kernel knows:
 *     never to a uid or gid read from the registry (see backing_acl()).
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
	uint64_t page = sk_page_size();
	sk_ns_seg_name(name, sizeof(name), id);
	int fd = sk_create_at(ns->dirfd, name, sk_pages(size, page) * page, mode);
	/* Left by a crash that no repair has seen: nobody's segment (or a member's squat). */
	if (fd == -EEXIST && sk_backing_unlink(ns, id) == 0)
		fd = sk_create_at(ns->dirfd, name, sk_pages(size, page) * page, mode);
	struct stat st;
	/* The object's group is the creator's group (cgid) for its whole life: backing_acl()
	 * relies on it. A set-group-ID directory would have given it the directory's. */
	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_gid != getegid() &&
	    fchown(fd, (uid_t)-1, getegid()) < 0) {
		unlinkat(ns->dirfd, name, 0);
		close(fd);
		return -EPERM;
	}
	return fd;
}

int sk_backing_open(struct sk_ns *ns, const struct sk_seg_rec *g, int rdonly, size_t *len)
{
	char name[16];
	struct stat st;
	uint64_t page = sk_page_size(), want = sk_pages(g->segsz, page) * page;
	sk_ns_seg_name(name, sizeof(name), g->id);
	int fd = sk_open_at(ns->dirfd, name, rdonly ? O_RDONLY : O_RDWR, &st);
	if (fd < 0)
		return fd == -ENOENT || fd == -ELOOP || fd == -EBADMSG ? -EIDRM : fd;
	/* Map the whole object: at least what the registry promises, and no more than it has. */
	if (st.st_dev != ns->dev || st.st_nlink != 1 || (uint64_t)st.st_size < want ||
	    (uint64_t)st.st_size > SK_SEG_SIZE_MAX || (uint64_t)st.st_size > SIZE_MAX ||
	    st.st_size % page) {
		close(fd);
		return -EIDRM;
	}
	*len = (size_t)st.st_size;
	return fd;
}

uint64_t sk_backing_bytes(struct sk_ns *ns, int32_t id)
{
	char name[16];
	struct stat st;
	sk_ns_seg_name(name, sizeof(name), id);
	if (fstatat(ns->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	return (uint64_t)st.st_blocks * 512;
}

/* ---- removal ---- */

/* No live slot claims id: its object is nobody's segment. */
static int unclaimed(struct sk_ns *ns, int32_t id)
{
	uint32_t idx = (uint32_t)id & SK_IDX_MASK;
	return id < 0 || ns->segs[idx].state != SK_SEG_LIVE || ns->segs[idx].id != id;
}

static void orphan_add(struct sk_ns *ns, int32_t id, uint32_t owner)
{
	struct sk_reg_hdr *h = ns->hdr;
	uint32_t n = h->norphans < SK_REG_ORPHANS ? h->norphans : SK_REG_ORPHANS;
	for (uint32_t i = 0; i < n; i++)
		if (h->orphans[i].id == id)
			return;
	if (n < SK_REG_ORPHANS) {
		h->orphans[n] = (struct sk_orphan){.id = id, .owner = owner};
		h->norphans = n + 1;
	}
	/* A full table leaks the object until shmkit_ns_gc() scans the directory. */
}

int sk_backing_unlink(struct sk_ns *ns, int32_t id)
{
	char name[16];
	sk_ns_seg_name(name, sizeof(name), id);
	if (unlinkat(ns->dirfd, name, 0) == 0)
		return 0;
	int err = -errno;
	struct stat st;
	/* A shared namespace's directory is sticky: only the object's owner (or root) removes
	 * it. Leave it to the owner's next operation. */
	if ((err == -EPERM || err == -EACCES) &&
	    fstatat(ns->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		orphan_add(ns, id, st.st_uid);
	return err;
}

void sk_backing_orphans(struct sk_ns *ns)
{
	struct sk_reg_hdr *h = ns->hdr;
	uint32_t n = h->norphans < SK_REG_ORPHANS ? h->norphans : SK_REG_ORPHANS, kept = 0;
	uid_t me = geteuid();
	int root = sk_has_cap(CAP_FOWNER);
	for (uint32_t i = 0; i < n; i++) {
		struct sk_orphan o = h->orphans[i];
		char name[16];
		/* The table is untrusted: never remove an object a live slot claims. */
		if (!unclaimed(ns, o.id))
			continue;
		if (o.owner != me && !root) {
			h->orphans[kept++] = o;
			continue;
		}
		sk_ns_seg_name(name, sizeof(name), o.id);
		unlinkat(ns->dirfd, name, 0);
	}
	h->norphans = kept;
}

/* An object named like a segment that no live slot claims: remove it if we may. */
static int unlink_unclaimed(int dfd, const char *name, void *arg)
{
	uint64_t v;
	char canon[16];
	if (sk_parse_u64(name, &v) < 0 || v > INT32_MAX)
		return 0;
	sk_ns_seg_name(canon, sizeof(canon), (int32_t)v);
	if (strcmp(canon, name) || !unclaimed(arg, (int32_t)v))
		return 0;
	return unlinkat(dfd, name, 0) == 0;
}

int sk_backing_sweep_dir(struct sk_ns *ns)
{
	return sk_ns_dir_each(ns->dirfd, ".", unlink_unclaimed, ns);
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
 * ipcperms' classes as an ACL on an object owned by fu:fg. The new uid and gid come from the
 * caller's own shmid_ds; cuid and cgid only decide whether the object's owner and group keep
 * the owner and group bits, which cannot give anyone but them more than the other bits: the
 * object's owner can change its permissions anyway, and its group is the creator's (cgid)
 * for as long as the object exists. So a forged cuid or cgid grants nobody anything.
 */
static void backing_acl(struct acl *a, const struct sk_seg_rec *g, uid_t uid, gid_t gid,
                        mode_t mode, uid_t fu, gid_t fg)
{
	uint16_t own = (mode >> 6) & 7, grp = (mode >> 3) & 7, oth = mode & 7;
	int named = 0;
	a->n = 0;
	acl_add(a, ACL_USER_OBJ, fu == uid || fu == g->cuid ? own : oth, ACL_NO_ID);
	if (uid != fu && uid != 0)
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

void sk_backing_perms(struct sk_ns *ns, const struct sk_seg_rec *g, uid_t uid, gid_t gid,
                      mode_t mode)
{
	char name[16], self[64];
	struct stat st;
	sk_ns_seg_name(name, sizeof(name), g->id);
	/* O_PATH: the owner may re-permission an object it cannot read (mode 0000). */
	int fd = sk_open_at(ns->dirfd, name, O_PATH, &st);
	if (fd < 0)
		return;
	if (st.st_dev != ns->dev || st.st_nlink != 1) {
		close(fd);
		return;
	}
	if (sk_has_cap(CAP_CHOWN)) {
		uid_t to = root_target(g, uid, st.st_uid);
		if (to != st.st_uid && fchownat(fd, "", to, (gid_t)-1, AT_EMPTY_PATH) == 0)
			st.st_uid = to;
	}
	struct acl a;
	backing_acl(&a, g, uid, gid, mode, st.st_uid, st.st_gid);
	char buf[4 + sizeof(a.e)];
	uint32_t version = ACL_VERSION;
	memcpy(buf, &version, 4);
	memcpy(buf + 4, a.e, (size_t)a.n * sizeof(a.e[0]));
	/* The descriptor's own inode, through /proc: no name lookup that could be redirected. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (setxattr(self, "system.posix_acl_access", buf, 4 + (size_t)a.n * sizeof(a.e[0]), 0) <
	        0 &&
	    chmod(self, mode & 0777) < 0) {
		/* neither the object's owner nor root: the registry's check still applies */
	}
	close(fd);
}
