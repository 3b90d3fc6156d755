/* SPDX-License-Identifier: MIT */
/*
 * shmkit_shmget / shmat / shmdt / shmctl / ftok: the kernel's ipc/shm.c in user space.
 *
 * Each entry point follows the kernel's order of checks (see the reference, sections 1.2 to
 * 1.6), so that each bad call fails with the errno the kernel gives. They take the process
 * lock (local attachment list), then the registry lock.
 *
 * Crash safety of each operation (registry lock held throughout):
 *   create:  slot BUSY -> backing object created -> fields -> LIVE -> hash, counters
 *   destroy: slot BUSY -> backing object unlinked -> FREE
 *   attach:  mapping made -> attachment record -> nattch/atime/lpid
 *   detach:  mapping removed -> record freed -> nattch/dtime/lpid -> maybe destroy
 * A BUSY slot is removed by the repair; records of a dead process are collected by the sweep;
 * counters are recomputed by the repair. A process that dies holding a mapping without a
 * record costs nothing: its mappings die with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "seg/seg.h"
#include "sys/sys.h"
#include "sysv/registry.h"

#include <linux/capability.h>
#include <sys/syscall.h>

#define SHMLBA_BYTES (sk_page_size())
#define IPC_64_FLAG  0x100 /* IPC_64, which libcs may OR into cmd */
#define S_IRUGO      (S_IRUSR | S_IRGRP | S_IROTH)
#define S_IWUGO      (S_IWUSR | S_IWGRP | S_IWOTH)
#define S_IXUGO      (S_IXUSR | S_IXGRP | S_IXOTH)

/*
 * Lock pages as they are faulted in (MLOCK_ONFAULT), like the kernel's SHM_LOCK, which marks
 * the segment unevictable without populating it. System calls, because sanitizer runtimes
 * turn the libc functions into no-ops.
 */
#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif
static void sk_mlock(void *addr, size_t len, int lock)
{
	if (lock)
		syscall(SYS_mlock2, addr, len, MLOCK_ONFAULT);
	else
		syscall(SYS_munlock, addr, len);
}

static int has_cap(int cap)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2];
	if (syscall(SYS_capget, &hdr, data) < 0)
		return 0;
	return (data[cap / 32].effective >> (cap % 32)) & 1;
}

static int in_group(gid_t gid)
{
	if (getegid() == gid)
		return 1;
	gid_t groups[256];
	int n = getgroups(256, groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* The kernel's ipcperms(): flag holds S_IRUGO/S_IWUGO/S_IXUGO style bits. 0 or -EACCES. */
static int ipcperms(const struct sk_seg_rec *g, int flag)
{
	int requested = ((flag >> 6) | (flag >> 3) | flag) & 7;
	if (!requested)
		return 0; /* asks for nothing: no credentials needed */
	uid_t euid = geteuid();
	unsigned granted = g->mode;
	if (euid == g->cuid || euid == g->uid)
		granted >>= 6;
	else if (in_group(g->cgid) || in_group(g->gid))
		granted >>= 3;
	if ((requested & ~granted & 7) && !has_cap(CAP_IPC_OWNER))
		return -EACCES;
	return 0;
}

static int is_owner(const struct sk_seg_rec *g)
{
	uid_t euid = geteuid();
	return euid == g->uid || euid == g->cuid;
}

/*
 * Every operation starts by collecting processes that died since the last one, so that what
 * it sees and does comes after their detaches, as on the kernel where exit detaches at once.
 * With no other live process in the namespace this costs nothing; otherwise one F_OFD_GETLK
 * per process.
 */
static int op_lock(struct sk_ns *ns)
{
	int r = sk_reg_lock(ns);
	if (!r)
		sk_reg_sweep(ns);
	return r;
}

/* Run fn in this process's namespace: process lock, then registry lock (with the sweep). */
static int in_namespace(int (*fn)(struct sk_ns *ns, void *arg), void *arg)
{
	struct sk_ns *ns;
	sk_proc_lock();
	int r = sk_ns_current(&ns);
	if (!r) {
		r = op_lock(ns);
		if (!r) {
			r = fn(ns, arg);
			sk_reg_unlock(ns);
		}
	}
	sk_proc_unlock();
	return r;
}

static int ret_errno(int err)
{
	errno = -err;
	return -1;
}

/* ---- shmget ---- */

/*
 * The backing object of a new segment. No one looks for it before its slot is LIVE, so it
 * needs no publish step (sk_posix_create's O_TMPFILE + link), just O_EXCL and the exact mode.
 */
static int backing_create(const char *obj, uint64_t size, mode_t mode)
{
	char path[SK_SHM_NAME_MAX + 16];
	uint64_t page = sk_page_size();
	int err = sk_shm_path(path, sizeof(path), obj);
	if (err)
		return err;
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, mode) < 0 || ftruncate(fd, (off_t)(sk_pages(size, page) * page)) < 0) {
		err = -errno;
		unlink(path);
		close(fd);
		return err;
	}
	return fd;
}

/*
 * The kernel charges a new segment's pages to the commit accounting (shmem_acct_size), unless
 * SHM_NORESERVE asks not to and overcommit is not strict: refuse what it would refuse (ENOMEM).
 */
static int commit_check(uint64_t pages, int flg)
{
	uint64_t mode = 0;
	sk_read_u64_file("/proc/sys/vm/overcommit_memory", &mode);
	if (mode == 1 || ((flg & SHM_NORESERVE) && mode != 2))
		return 0;
	struct sysinfo si;
	if (sysinfo(&si) < 0)
		return 0;
	uint64_t unit = si.mem_unit ? si.mem_unit : 1, page = sk_page_size();
	uint64_t total = ((uint64_t)si.totalram + si.totalswap) * unit / page;
	if (mode == 0)
		return pages > total ? -ENOMEM : 0;
	/* strict: the room left under CommitLimit */
	FILE *f = fopen("/proc/meminfo", "re");
	uint64_t limit = 0, committed = 0;
	char line[128];
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v;
		if (sscanf(line, "CommitLimit: %llu kB", &v) == 1)
			limit = v * 1024 / page;
		else if (sscanf(line, "Committed_AS: %llu kB", &v) == 1)
			committed = v * 1024 / page;
	}
	if (f)
		fclose(f);
	return limit && committed + pages > limit ? -ENOMEM : 0;
}

static int newseg(struct sk_ns *ns, key_t key, size_t size, int flg)
{
	uint64_t shmmax, shmall, shmmni, page = sk_page_size();
	int forced;
	sk_ns_limits(ns, &shmmax, &shmall, &shmmni, &forced);
	if (size < 1 || size > shmmax)
		return -EINVAL;
	uint64_t pages = sk_pages(size, page);
	if (pages > SK_SEG_SIZE_MAX / page || pages > (uint64_t)SIZE_MAX / page)
		return -ENOSPC;
	if (ns->hdr->shm_tot + pages < ns->hdr->shm_tot || ns->hdr->shm_tot + pages > shmall)
		return -ENOSPC;
	if (flg & SHM_HUGETLB) {
		/* Huge pages need CAP_IPC_LOCK or vm.hugetlb_shm_group membership, then pages. */
		uint64_t grp = 0;
		if (!has_cap(CAP_IPC_LOCK) &&
		    (sk_read_u64_file("/proc/sys/vm/hugetlb_shm_group", &grp) || !in_group(grp)))
			return -EPERM;
		return -ENOMEM; /* no hugetlbfs backing in the user-space model */
	}
	/* Large requests only: below a gigabyte the heuristic mode cannot refuse on any machine
	 * able to run this, and reading the mode per creation would cost more than it checks. */
	if (pages > (1ULL << 30) / page) {
		int err = commit_check(pages, flg);
		if (err)
			return err;
	}
	if (shmmni > SK_REG_SLOTS)
		shmmni = SK_REG_SLOTS;
	if (ns->hdr->in_use >= shmmni)
		return -ENOSPC;

	uint32_t idx;
	int32_t id = sk_id_next(ns, &idx);
	if (id < 0)
		return id;
	struct sk_seg_rec *g = &ns->segs[idx];
	memset(g, 0, sizeof(*g));
	g->id = id;
	g->state = SK_SEG_BUSY;
	ns->hdr->in_use++;
	SK_CRASH_POINT();

	char obj[SK_SHM_NAME_MAX];
	sk_ns_seg_name(obj, sizeof(obj), ns->name, id);
	int fd = backing_create(obj, size, (mode_t)(flg & 0777));
	if (fd == -EEXIST) {
		/* Left by a crash that a repair has not seen: it is not anyone's segment. */
		sk_posix_unlink(obj);
		fd = backing_create(obj, size, (mode_t)(flg & 0777));
	}
	if (fd < 0) {
		ns->hdr->in_use--;
		g->state = SK_SEG_FREE;
		return fd == -EMFILE || fd == -ENFILE || fd == -ENOMEM || fd == -ENOSPC ? fd
		                                                                        : -ENOMEM;
	}
	sk_ns_drop_fresh(ns);
	ns->fresh_fd = fd;
	ns->fresh_id = id;
	SK_CRASH_POINT();

	g->key = key;
	g->mode = (uint32_t)flg & 0777;
	g->uid = g->cuid = (uint32_t)geteuid();
	g->gid = g->cgid = (uint32_t)getegid();
	g->segsz = size;
	g->cpid = ns->pid;
	g->ctime = sk_real_sec();
	g->creator_proc = ns->self + 1;
	g->creator_start = ns->procs[ns->self].start;
	memcpy(g->comm, sk_self_comm(), sizeof(g->comm));
	g->state = SK_SEG_LIVE;
	SK_CRASH_POINT();
	sk_id_commit(ns, idx, id);
	if (key != IPC_PRIVATE)
		sk_hash_insert(ns, key, idx);
	SK_CRASH_POINT();
	ns->hdr->shm_tot += pages;
	ns->hdr->ops++;
	return id;
}

static int do_shmget(struct sk_ns *ns, key_t key, size_t size, int flg)
{
	if (key == IPC_PRIVATE)
		return newseg(ns, key, size, flg);
	int idx = sk_hash_find(ns, key);
	if (idx < 0)
		return (flg & IPC_CREAT) ? newseg(ns, key, size, flg) : -ENOENT;
	const struct sk_seg_rec *g = &ns->segs[idx];
	if ((flg & IPC_CREAT) && (flg & IPC_EXCL))
		return -EEXIST;
	if (g->segsz < size)
		return -EINVAL;
	int err = ipcperms(g, flg & 0777);
	return err ? err : g->id;
}

struct get_args {
	key_t key;
	size_t size;
	int flg;
};

static int get_in(struct sk_ns *ns, void *arg)
{
	const struct get_args *a = arg;
	return do_shmget(ns, a->key, a->size, a->flg);
}

SK_EXPORT int shmkit_shmget(key_t key, size_t size, int shmflg)
{
	struct get_args a = {key, size, shmflg};
	int r = in_namespace(get_in, &a);
	return r < 0 ? ret_errno(r) : r;
}

/* ---- shmat / shmdt ---- */

/* Room for n more local pieces, so that recording them cannot fail later. */
static int local_reserve(struct sk_ns *ns, size_t n)
{
	if (ns->nlocal + n > ns->caplocal) {
		size_t cap = ns->caplocal ? ns->caplocal * 2 : 16;
		while (cap < ns->nlocal + n)
			cap *= 2;
		void *p = realloc(ns->local, cap * sizeof(*ns->local));
		if (!p)
			return -ENOMEM;
		ns->local = p;
		ns->caplocal = cap;
	}
	return 0;
}

static void local_del(struct sk_ns *ns, size_t k)
{
	ns->local[k] = ns->local[--ns->nlocal];
}

/* The kernel's shm_close of a removed piece: dtime and lpid (nattch is the caller's). */
static void piece_closed(struct sk_ns *ns, const struct sk_local_att *l)
{
	struct sk_seg_rec *g = &ns->segs[l->idx];
	if (g->state == SK_SEG_LIVE && g->id == l->id) {
		g->dtime = sk_real_sec();
		g->lpid = ns->pid;
	}
}

/*
 * SHM_REMAP replaced [a, b): pieces wholly inside are detached, pieces it overlaps are cut
 * down, and a piece it falls strictly inside is split in two, the second half getting an
 * attachment record of its own (the kernel's VMA split: nattch + 1). Room for one more local
 * piece must be reserved.
 */
static void forget_replaced(struct sk_ns *ns, uintptr_t a, size_t len)
{
	uintptr_t b = a + len;
	size_t n = ns->nlocal;
	for (size_t k = 0; k < n;) {
		struct sk_local_att *l = &ns->local[k];
		uintptr_t s = l->addr, e = l->addr + l->len;
		if (e <= a || s >= b) {
			k++;
			continue;
		}
		if (a <= s && e <= b) {
			sk_att_release(ns, l->att, ns->pid);
			local_del(ns, k);
			if (ns->nlocal < n)
				n--;
			continue;
		}
		if (s < a && b < e) {
			int r = sk_att_add(ns, ns->self, l->idx, l->id, ns->pid);
			if (r >= 0) {
				ns->local[ns->nlocal++] = (struct sk_local_att){.addr = b,
				                                                .len = e - b,
				                                                .origin = l->origin,
				                                                .serial = l->serial,
				                                                .att = (uint32_t)r,
				                                                .idx = l->idx,
				                                                .id = l->id};
				l = &ns->local[k];
			}
			l->len = a - s;
		} else if (s < a) {
			l->len = a - s;
		} else {
			l->addr = b;
			l->len = e - b;
		}
		piece_closed(ns, l);
		k++;
	}
}

static int do_shmat(struct sk_ns *ns, int shmid, uintptr_t addr, int flg, int fixed, void **out)
{
	int idx = sk_id_lookup(ns, shmid);
	if (idx < 0)
		return idx;
	struct sk_seg_rec *g = &ns->segs[idx];
	int acc = (flg & SHM_RDONLY) ? S_IRUGO : (S_IRUGO | S_IWUGO);
	if (flg & SHM_EXEC)
		acc |= S_IXUGO;
	int err = ipcperms(g, acc);
	if (err)
		return err;
	if (local_reserve(ns, 2) < 0)
		return -ENOMEM;

	int fd;
	if (ns->fresh_fd >= 0 && ns->fresh_id == shmid && !(flg & SHM_RDONLY)) {
		fd = ns->fresh_fd; /* just created by us, O_RDWR */
		ns->fresh_fd = -1;
	} else {
		char obj[SK_SHM_NAME_MAX];
		sk_ns_drop_fresh(ns);
		sk_ns_seg_name(obj, sizeof(obj), ns->name, g->id);
		fd = sk_posix_open(obj, flg & SHM_RDONLY);
		if (fd < 0)
			return fd == -ENOENT ? -EIDRM : fd;
	}
	size_t len = (size_t)sk_pages(g->segsz, sk_page_size()) * sk_page_size();
	unsigned mf =
	    ((flg & SHM_RDONLY) ? SK_MAP_RDONLY : 0) | ((flg & SHM_EXEC) ? SK_MAP_EXEC : 0);
	if (fixed)
		mf |= (flg & SHM_REMAP) ? SK_MAP_REPLACE : SK_MAP_FIXED;
	if (fixed && addr + len < addr)
		err = -EINVAL;
	else
		err = sk_map_fd(fd, len, 0, (void *)addr, mf, out);
	close(fd);
	if (err) {
		/* The kernel counts the attach before mapping and, when the mapping fails, drops
		 * the count again with a shm_may_destroy() check: an unattached segment goes if it
		 * is marked for removal or shm_rmid_forced is on. */
		uint64_t shmmax, shmall, shmmni;
		int forced = 0;
		if (g->nattch == 0 && !(g->mode & SK_SHM_DEST))
			sk_ns_limits(ns, &shmmax, &shmall, &shmmni, &forced);
		if (g->nattch == 0 && ((g->mode & SK_SHM_DEST) || forced))
			sk_seg_destroy(ns, (uint32_t)idx);
		return err == -EEXIST ? -EINVAL : err;
	}
	if (g->mode & SK_SHM_LOCKED)
		sk_mlock(*out, len,
		         1); /* best effort: the kernel locks the segment, not a mapping */
	SK_CRASH_POINT();

	int a = sk_att_add(ns, ns->self, (uint32_t)idx, g->id, ns->pid);
	if (a < 0) {
		munmap(*out, len);
		return -ENOMEM;
	}
	SK_CRASH_POINT();
	/* Count the new attachment before dropping those it replaced: a SHM_DEST segment
	 * remapped over itself must not reach nattch 0 in between. */
	if ((flg & SHM_REMAP) && fixed)
		forget_replaced(ns, (uintptr_t)*out, len);
	struct sk_local_att l = {.addr = (uintptr_t)*out,
	                         .len = len,
	                         .origin = (uintptr_t)*out,
	                         .serial = ++ns->next_serial,
	                         .att = (uint32_t)a,
	                         .idx = (uint32_t)idx,
	                         .id = g->id};
	ns->local[ns->nlocal++] = l; /* room reserved by local_reserve() */
	ns->hdr->ops++;
	return 0;
}

struct at_args {
	int shmid;
	uintptr_t addr;
	int flg, fixed;
	void *out;
};

static int at_in(struct sk_ns *ns, void *arg)
{
	struct at_args *a = arg;
	return do_shmat(ns, a->shmid, a->addr, a->flg, a->fixed, &a->out);
}

SK_EXPORT void *shmkit_shmat(int shmid, const void *shmaddr, int shmflg)
{
	uintptr_t addr = (uintptr_t)shmaddr;
	int fixed = 0;
	if (shmid < 0)
		return (void *)(intptr_t)ret_errno(-EINVAL);
	if (addr) {
		if (addr & (SHMLBA_BYTES - 1)) {
			if (!(shmflg & SHM_RND))
				return (void *)(intptr_t)ret_errno(-EINVAL);
			addr &= ~(uintptr_t)(SHMLBA_BYTES - 1);
			if (!addr && (shmflg & SHM_REMAP))
				return (void *)(intptr_t)ret_errno(-EINVAL);
		}
		fixed = 1;
	} else if (shmflg & SHM_REMAP) {
		return (void *)(intptr_t)ret_errno(-EINVAL);
	}

	struct at_args a = {shmid, addr, shmflg, fixed, NULL};
	int r = in_namespace(at_in, &a);
	return r < 0 ? (void *)(intptr_t)ret_errno(r) : a.out;
}

/* Detach the attachment that starts at addr: every piece of it (see struct sk_local_att). */
static int dt_in(struct sk_ns *ns, void *arg)
{
	uintptr_t addr = *(uintptr_t *)arg;
	size_t k = ns->nlocal;
	sk_ns_drop_fresh(ns);
	for (size_t j = 0; j < ns->nlocal; j++)
		if (ns->local[j].origin == addr &&
		    (k == ns->nlocal || ns->local[j].addr < ns->local[k].addr))
			k = j;
	if (k == ns->nlocal)
		return -EINVAL;
	uint64_t serial = ns->local[k].serial;
	for (size_t j = 0; j < ns->nlocal;) {
		struct sk_local_att l = ns->local[j];
		if (l.serial != serial) {
			j++;
			continue;
		}
		munmap((void *)l.addr, l.len);
		local_del(ns, j);
		SK_CRASH_POINT();
		sk_att_release(ns, l.att, ns->pid);
	}
	ns->hdr->ops++;
	return 0;
}

SK_EXPORT int shmkit_shmdt(const void *shmaddr)
{
	uintptr_t addr = (uintptr_t)shmaddr;
	if (addr & (sk_page_size() - 1))
		return ret_errno(-EINVAL);
	int r = in_namespace(dt_in, &addr);
	return r < 0 ? ret_errno(r) : 0;
}

/* ---- shmctl ---- */

void sk_seg_fill_ds(const struct sk_seg_rec *g, struct shmid_ds *ds)
{
	memset(ds, 0, sizeof(*ds));
	ds->shm_perm.__key = g->key;
	ds->shm_perm.uid = g->uid;
	ds->shm_perm.gid = g->gid;
	ds->shm_perm.cuid = g->cuid;
	ds->shm_perm.cgid = g->cgid;
	ds->shm_perm.mode = (unsigned short)g->mode;
	ds->shm_perm.__seq = (unsigned short)((uint32_t)g->id >> SK_IDX_BITS);
	ds->shm_segsz = g->segsz;
	ds->shm_atime = g->atime;
	ds->shm_dtime = g->dtime;
	ds->shm_ctime = g->ctime;
	ds->shm_cpid = g->cpid;
	ds->shm_lpid = g->lpid;
	ds->shm_nattch = g->nattch;
}

/* IPC_STAT and SHM_STAT: read permission (unless SHM_STAT_ANY), then the copy-out. */
static int stat_into(const struct sk_seg_rec *g, int check, struct shmid_ds *buf)
{
	if (check) {
		int err = ipcperms(g, S_IRUGO);
		if (err)
			return err;
	}
	if (!buf)
		return -EFAULT;
	sk_seg_fill_ds(g, buf);
	return 0;
}

static int max_idx(struct sk_ns *ns)
{
	uint32_t hi = ns->hdr->slots_hi < SK_REG_SLOTS ? ns->hdr->slots_hi : SK_REG_SLOTS;
	for (uint32_t s = hi; s-- > 0;)
		if (ns->segs[s].state == SK_SEG_LIVE)
			return (int)s;
	return 0;
}

static int do_ipc_info(struct sk_ns *ns, struct shminfo *info)
{
	uint64_t shmmax, shmall, shmmni;
	int forced;
	sk_ns_limits(ns, &shmmax, &shmall, &shmmni, &forced);
	memset(info, 0, sizeof(*info));
	info->shmmax = shmmax;
	info->shmmin = 1;
	info->shmmni = info->shmseg = shmmni > SK_REG_SLOTS ? SK_REG_SLOTS : shmmni;
	info->shmall = shmall;
	return max_idx(ns);
}

static int do_shm_info(struct sk_ns *ns, struct shm_info *info)
{
	memset(info, 0, sizeof(*info));
	info->used_ids = (int)ns->hdr->in_use;
	info->shm_tot = ns->hdr->shm_tot;
	/* Resident pages: what tmpfs has allocated to the backing objects (no swap here). */
	uint64_t page = sk_page_size(), rss = 0;
	uint32_t hi = ns->hdr->slots_hi < SK_REG_SLOTS ? ns->hdr->slots_hi : SK_REG_SLOTS;
	for (uint32_t s = 0; s < hi; s++) {
		char obj[SK_SHM_NAME_MAX], path[SK_SHM_NAME_MAX + 16];
		struct stat st;
		if (ns->segs[s].state != SK_SEG_LIVE)
			continue;
		sk_ns_seg_name(obj, sizeof(obj), ns->name, ns->segs[s].id);
		if (sk_shm_path(path, sizeof(path), obj) == 0 && stat(path, &st) == 0)
			rss += (uint64_t)st.st_blocks * 512 / page;
	}
	info->shm_rss = rss;
	return max_idx(ns);
}

static int do_lock(struct sk_ns *ns, struct sk_seg_rec *g, uint32_t idx, int lock)
{
	if (!has_cap(CAP_IPC_LOCK)) {
		if (!is_owner(g))
			return -EPERM;
		struct rlimit rl;
		getrlimit(RLIMIT_MEMLOCK, &rl);
		if (lock && rl.rlim_cur == 0)
			return -EPERM;
		uint64_t bytes = sk_pages(g->segsz, sk_page_size()) * sk_page_size();
		if (lock && rl.rlim_cur != RLIM_INFINITY && bytes > rl.rlim_cur)
			return -ENOMEM;
	}
	if (lock == !!(g->mode & SK_SHM_LOCKED))
		return 0;
	/* Lock or unlock this process's mappings now; later attaches follow the flag. */
	for (size_t k = 0; k < ns->nlocal; k++) {
		if (ns->local[k].idx != idx || ns->local[k].id != g->id)
			continue;
		/* Best effort, like the kernel's lock, which is on the segment, not the mapping. */
		if (lock)
			sk_mlock((void *)ns->local[k].addr, ns->local[k].len, 1);
		else
			sk_mlock((void *)ns->local[k].addr, ns->local[k].len, 0);
	}
	g->mode = lock ? (g->mode | SK_SHM_LOCKED) : (g->mode & ~SK_SHM_LOCKED);
	return 0;
}

/*
 * Keep the kernel's enforcement of data access in step with ipcperms after IPC_SET.
 *
 * The backing object is given to the segment's non-root owner (uid, or cuid when uid is root)
 * and group gid where that is permitted (root; a non-root owner keeps the object's current
 * owner), so that a later owner can change it in turn. Then a POSIX ACL states ipcperms' classes:
 * the owner bits for uid and cuid, the group bits for gid and cgid, the other bits for everyone
 * else. An object owner or group that is no longer among them gets what ipcperms would give it,
 * approximated by the other bits. Only the object's owner or root may set the ACL; if neither, the
 * registry's check still applies and the object keeps its old permissions (docs/design.md).
 */
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

static void backing_perms(struct sk_ns *ns, const struct sk_seg_rec *g)
{
	char obj[SK_SHM_NAME_MAX], path[SK_SHM_NAME_MAX + 16];
	struct stat st;
	sk_ns_seg_name(obj, sizeof(obj), ns->name, g->id);
	if (sk_shm_path(path, sizeof(path), obj))
		return;
	/* Root may re-permission any object; a non-root owner only its own. So the object goes
	 * to the non-root one of uid and cuid (uid when both are), who may then IPC_SET it. */
	uid_t want = g->uid != 0 ? g->uid : g->cuid;
	if (chown(path, want, g->gid) < 0 && chown(path, (uid_t)-1, g->gid) < 0) {
		/* not permitted: the object keeps its owner and group, the ACL covers the rest */
	}
	if (stat(path, &st) < 0)
		return;
	uint16_t own = (g->mode >> 6) & 7, grp = (g->mode >> 3) & 7, oth = g->mode & 7;
	uint32_t fuid = st.st_uid, fgid = st.st_gid;
	struct acl_entry e[8];
	int n = 0, named = 0;
	e[n++] = (struct acl_entry){ACL_USER_OBJ, fuid == g->uid || fuid == g->cuid ? own : oth,
	                            ACL_NO_ID};
	uint32_t users[2] = {g->uid, g->cuid};
	for (int i = 0; i < 2; i++)
		if (users[i] != fuid && (i == 0 || users[1] != users[0]))
			e[n++] = (struct acl_entry){ACL_USER, own, users[i]}, named++;
	e[n++] = (struct acl_entry){ACL_GROUP_OBJ, fgid == g->gid || fgid == g->cgid ? grp : oth,
	                            ACL_NO_ID};
	uint32_t groups[2] = {g->gid, g->cgid};
	for (int i = 0; i < 2; i++)
		if (groups[i] != fgid && (i == 0 || groups[1] != groups[0]))
			e[n++] = (struct acl_entry){ACL_GROUP, grp, groups[i]}, named++;
	if (named) {
		uint16_t mask = 0;
		for (int i = 1; i < n; i++)
			mask |= e[i].perm;
		e[n++] = (struct acl_entry){ACL_MASK, mask, ACL_NO_ID};
	}
	e[n++] = (struct acl_entry){ACL_OTHER, oth, ACL_NO_ID};
	/* The kernel wants entries sorted by tag, then id. */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && (e[j - 1].tag > e[j].tag ||
		                          (e[j - 1].tag == e[j].tag && e[j - 1].id > e[j].id));
		     j--) {
			struct acl_entry t = e[j];
			e[j] = e[j - 1];
			e[j - 1] = t;
		}
	char buf[4 + sizeof(e)];
	uint32_t version = 2; /* POSIX_ACL_XATTR_VERSION */
	memcpy(buf, &version, 4);
	memcpy(buf + 4, e, (size_t)n * sizeof(e[0]));
	if (setxattr(path, "system.posix_acl_access", buf, 4 + (size_t)n * sizeof(e[0]), 0) < 0 &&
	    chmod(path, g->mode & 0777) < 0) {
		/* neither the object's owner nor root: the registry's check still applies */
	}
}

static int do_set(struct sk_ns *ns, struct sk_seg_rec *g, const struct shmid_ds *in)
{
	if (!is_owner(g) && !has_cap(CAP_SYS_ADMIN))
		return -EPERM;
	if (in->shm_perm.uid == (uid_t)-1 || in->shm_perm.gid == (gid_t)-1)
		return -EINVAL;
	g->uid = in->shm_perm.uid;
	g->gid = in->shm_perm.gid;
	g->mode = (g->mode & ~0777u) | (in->shm_perm.mode & 0777u);
	g->ctime = sk_real_sec();
	backing_perms(ns, g);
	return 0;
}

static int do_shmctl(struct sk_ns *ns, int shmid, int cmd, struct shmid_ds *buf)
{
	sk_ns_drop_fresh(ns);
	/* A NULL buf fails where the kernel's copy_{from,to}_user would: EFAULT. */
	if (!buf && (cmd == IPC_SET || cmd == IPC_INFO || cmd == SHM_INFO))
		return -EFAULT;
	switch (cmd) {
	case IPC_INFO:
		return do_ipc_info(ns, (struct shminfo *)buf);
	case SHM_INFO:
		return do_shm_info(ns, (struct shm_info *)buf);
	case SHM_STAT:
	case SHM_STAT_ANY: {
		/* An index, or a full id reduced to its index (ipcid_to_idx), as the kernel does.
		 */
		uint32_t idx = (uint32_t)shmid & SK_IDX_MASK;
		if (ns->segs[idx].state != SK_SEG_LIVE)
			return -EINVAL;
		const struct sk_seg_rec *g = &ns->segs[idx];
		int err = stat_into(g, cmd == SHM_STAT, buf);
		return err ? err : g->id;
	}
	}
	int idx = sk_id_lookup(ns, shmid);
	if (idx < 0)
		return idx;
	struct sk_seg_rec *g = &ns->segs[idx];
	switch (cmd) {
	case IPC_STAT:
		return stat_into(g, 1, buf);
	case IPC_SET:
		return do_set(ns, g, buf);
	case IPC_RMID:
		if (!is_owner(g) && !has_cap(CAP_SYS_ADMIN))
			return -EPERM;
		if (g->nattch == 0) {
			sk_seg_destroy(ns, (uint32_t)idx);
		} else if (!(g->mode & SK_SHM_DEST)) {
			if (g->key != IPC_PRIVATE)
				sk_hash_remove(ns, g->key, (uint32_t)idx);
			SK_CRASH_POINT();
			g->mode |= SK_SHM_DEST;
			g->key = IPC_PRIVATE;
		}
		return 0;
	case SHM_LOCK:
	case SHM_UNLOCK:
		return do_lock(ns, g, (uint32_t)idx, cmd == SHM_LOCK);
	}
	return -EINVAL;
}

static int cmd_known(int cmd)
{
	switch (cmd) {
	case IPC_RMID:
	case IPC_SET:
	case IPC_STAT:
	case IPC_INFO:
	case SHM_LOCK:
	case SHM_UNLOCK:
	case SHM_STAT:
	case SHM_INFO:
	case SHM_STAT_ANY:
		return 1;
	}
	return 0;
}

struct ctl_args {
	int shmid, cmd;
	struct shmid_ds *buf;
};

static int ctl_in(struct sk_ns *ns, void *arg)
{
	const struct ctl_args *a = arg;
	int r = do_shmctl(ns, a->shmid, a->cmd, a->buf);
	if (a->cmd == IPC_SET || a->cmd == IPC_RMID || a->cmd == SHM_LOCK || a->cmd == SHM_UNLOCK)
		ns->hdr->ops++;
	return r;
}

SK_EXPORT int shmkit_shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	if (cmd < 0 || shmid < 0)
		return ret_errno(-EINVAL);
#if UINTPTR_MAX == 0xffffffffu
	/* 32-bit kernels parse IPC_64 out of cmd (ARCH_WANT_IPC_PARSE_VERSION); 64-bit ones don't.
	 */
	cmd &= ~IPC_64_FLAG;
#endif
	if (!cmd_known(cmd))
		return ret_errno(-EINVAL);
	struct ctl_args a = {shmid, cmd, buf};
	int r = in_namespace(ctl_in, &a);
	return r < 0 ? ret_errno(r) : r;
}

SK_EXPORT key_t shmkit_ftok(const char *path, int proj_id)
{
	struct stat st;
	if (!path) {
		errno = EFAULT;
		return -1;
	}
	if (stat(path, &st) < 0)
		return -1;
	return (key_t)((st.st_ino & 0xffff) | ((st.st_dev & 0xff) << 16) |
	               ((unsigned)(proj_id & 0xff) << 24));
}
