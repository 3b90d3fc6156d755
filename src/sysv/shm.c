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
#include <limits.h>
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
	else if (sk_in_group(g->cgid) || sk_in_group(g->gid))
		granted >>= 3;
	if ((requested & ~granted & 7) && !sk_has_cap(CAP_IPC_OWNER))
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

/*
 * Enter this process's namespace for one operation: the process lock (local attachment list),
 * then the registry lock with the sweep, then objects others left for us to remove.
 */
static int ns_enter(struct sk_ns **ns)
{
	sk_proc_lock();
	int r = sk_ns_current(ns);
	if (!r)
		r = op_lock(*ns);
	if (r) {
		sk_proc_unlock();
		return r;
	}
	if (SK_UNLIKELY((*ns)->hdr->norphans))
		sk_backing_orphans(*ns);
	return 0;
}

static void ns_leave(struct sk_ns *ns)
{
	sk_reg_unlock(ns);
	sk_proc_unlock();
}

static int ret_errno(int err)
{
	errno = -err;
	return -1;
}

/* ---- shmget ---- */

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
		if (!sk_has_cap(CAP_IPC_LOCK) &&
		    (sk_read_u64_file("/proc/sys/vm/hugetlb_shm_group", &grp) || !sk_in_group(grp)))
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
	/* Before the object exists: a repair finds it among the creator's objects. */
	g->uid = g->cuid = (uint32_t)geteuid();
	g->state = SK_SEG_BUSY;
	ns->hdr->in_use++;
	SK_CRASH_POINT();

	int fd = sk_backing_create(ns, id, size, (mode_t)(flg & 0777));
	if (fd < 0) {
		ns->hdr->in_use--;
		g->state = SK_SEG_FREE;
		/* The kernel's shmget knows running out of memory; EACCES (our directory in the
		 * namespace is squatted) and descriptor limits say what really went wrong. */
		return fd == -EMFILE || fd == -ENFILE || fd == -ENOSPC || fd == -EACCES ? fd
		                                                                        : -ENOMEM;
	}
	sk_ns_drop_fresh(ns);
	ns->fresh_fd = fd;
	ns->fresh_id = id;
	ns->fresh_len = (size_t)(pages * page);
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

SK_EXPORT int shmkit_shmget(key_t key, size_t size, int shmflg)
{
	struct sk_ns *ns;
	int r = ns_enter(&ns);
	if (!r) {
		r = do_shmget(ns, key, size, shmflg);
		ns_leave(ns);
	}
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

/*
 * The kernel counts the attach before mapping and, when the mapping fails, drops the count again
 * with a shm_may_destroy() check: an unattached segment goes if it is marked for removal or
 * shm_rmid_forced is on. shmat's result for err.
 */
static int attach_failed(struct sk_ns *ns, struct sk_seg_rec *g, int idx, int err)
{
	uint64_t shmmax, shmall, shmmni;
	int forced = 0;
	if (g->nattch == 0 && !(g->mode & SK_SHM_DEST))
		sk_ns_limits(ns, &shmmax, &shmall, &shmmni, &forced);
	if (g->nattch == 0 && ((g->mode & SK_SHM_DEST) || forced))
		sk_seg_destroy(ns, (uint32_t)idx);
	return err == -EEXIST ? -EINVAL : err;
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
	uint64_t want = sk_pages(g->segsz, sk_page_size()) * sk_page_size();
	if (want > SIZE_MAX) /* beyond a 32-bit address space: the kernel's mmap says ENOMEM */
		return attach_failed(ns, g, idx, -ENOMEM);
	size_t len = (size_t)want;
	if (ns->fresh_fd >= 0 && ns->fresh_id == shmid && !(flg & SHM_RDONLY)) {
		fd = ns->fresh_fd; /* just created by us, O_RDWR */
		ns->fresh_fd = -1;
		len = ns->fresh_len; /* what we made: a member may have changed segsz since */
	} else {
		sk_ns_drop_fresh(ns);
		/* The object's own size, checked against the registry's: see backing.c. */
		fd = sk_backing_open(ns, g, shmid, flg & SHM_RDONLY, &len);
		if (fd < 0)
			return fd;
	}
	unsigned mf =
	    ((flg & SHM_RDONLY) ? SK_MAP_RDONLY : 0) | ((flg & SHM_EXEC) ? SK_MAP_EXEC : 0);
	if (fixed)
		mf |= (flg & SHM_REMAP) ? SK_MAP_REPLACE : SK_MAP_FIXED;
	if (fixed && addr + len < addr)
		err = -EINVAL;
	else
		err = sk_map_fd(fd, len, 0, (void *)addr, mf, out);
	close(fd);
	if (err)
		return attach_failed(ns, g, idx, err);
	if (g->mode & SK_SHM_LOCKED)
		sk_mlock_onfault(*out, len, 1); /* best effort: the kernel locks the segment */
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

	struct sk_ns *ns;
	void *out = NULL;
	int r = ns_enter(&ns);
	if (!r) {
		r = do_shmat(ns, shmid, addr, shmflg, fixed, &out);
		ns_leave(ns);
	}
	return r < 0 ? (void *)(intptr_t)ret_errno(r) : out;
}

/* Detach the attachment that starts at addr: every piece of it (see struct sk_local_att). */
static int do_shmdt(struct sk_ns *ns, uintptr_t addr)
{
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
	struct sk_ns *ns;
	int r = ns_enter(&ns);
	if (!r) {
		r = do_shmdt(ns, addr);
		ns_leave(ns);
	}
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
#if UINTPTR_MAX == 0xffffffffu
	/* A 32-bit caller: the kernel's compat IPC_INFO caps shmmax at INT_MAX
	 * (copy_compat_shminfo_to_user); shmall is cut to the caller's unsigned long, as here. */
	if (shmmax > INT_MAX)
		shmmax = INT_MAX;
#endif
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
	for (uint32_t s = 0; s < hi; s++)
		if (ns->segs[s].state == SK_SEG_LIVE)
			rss += sk_backing_bytes(ns, &ns->segs[s]) / page;
	info->shm_rss = rss;
	return max_idx(ns);
}

static int do_lock(struct sk_ns *ns, struct sk_seg_rec *g, uint32_t idx, int lock)
{
	if (!sk_has_cap(CAP_IPC_LOCK)) {
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
		sk_mlock_onfault((void *)ns->local[k].addr, ns->local[k].len, lock);
	}
	g->mode = lock ? (g->mode | SK_SHM_LOCKED) : (g->mode & ~SK_SHM_LOCKED);
	return 0;
}

static int do_set(struct sk_ns *ns, struct sk_seg_rec *g, int32_t id, const struct shmid_ds *in)
{
	if (!is_owner(g) && !sk_has_cap(CAP_SYS_ADMIN))
		return -EPERM;
	if (in->shm_perm.uid == (uid_t)-1 || in->shm_perm.gid == (gid_t)-1)
		return -EINVAL;
	/* The kernel's checks follow, from what the caller asks that the registry does not
	 * merely repeat (it may be forged): see backing.c. */
	struct shmkit_ipc_perm want = {in->shm_perm.uid, in->shm_perm.gid,
	                               in->shm_perm.mode & 0777u};
	sk_backing_perms(ns, g, id, &want);
	g->uid = want.uid;
	g->gid = want.gid;
	g->mode = (g->mode & ~0777u) | (want.mode & 0777u);
	g->ctime = sk_real_sec();
	return 0;
}

/* IPC_RMID of slot idx, with the kernel's permission check (shmctl_down). Lock held. */
int sk_shm_rmid(struct sk_ns *ns, uint32_t idx)
{
	struct sk_seg_rec *g = &ns->segs[idx];
	if (!is_owner(g) && !sk_has_cap(CAP_SYS_ADMIN))
		return -EPERM;
	if (g->nattch == 0) {
		sk_seg_destroy(ns, idx);
	} else if (!(g->mode & SK_SHM_DEST)) {
		if (g->key != IPC_PRIVATE)
			sk_hash_remove(ns, g->key, idx);
		SK_CRASH_POINT();
		g->mode |= SK_SHM_DEST;
		g->key = IPC_PRIVATE;
	}
	ns->hdr->ops++;
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
		return do_set(ns, g, shmid, buf);
	case IPC_RMID:
		return sk_shm_rmid(ns, (uint32_t)idx);
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
	struct sk_ns *ns;
	int r = ns_enter(&ns);
	if (!r) {
		r = do_shmctl(ns, shmid, cmd, buf);
		if (cmd == IPC_SET || cmd == IPC_RMID || cmd == SHM_LOCK || cmd == SHM_UNLOCK)
			ns->hdr->ops++;
		ns_leave(ns);
	}
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
