/* SPDX-License-Identifier: MIT */
/*
 * Inspection of a namespace from outside: its segments, their attachers, and collection of
 * what dead processes left. The caller does not join the namespace; it takes the registry lock
 * only to read a consistent table (and to run the same sweep every shmctl runs).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "seg/seg.h"
#include "sys/sys.h"
#include "sysv/registry.h"

static void fill_stat(struct sk_ns *ns, const struct sk_seg_rec *g, struct shmkit_seg_stat *st)
{
	memset(st, 0, sizeof(*st));
	sk_seg_fill_ds(g, &st->ds);
	st->id = g->id;
	uint32_t cp = SK_ONCE(g->creator_proc);
	st->creator_alive =
	    cp != 0 && cp <= SK_REG_PROCS && ns->procs[cp - 1].state == SK_PROC_LIVE;
	if (!st->creator_alive && g->cpid > 0)
		st->creator_alive = sk_proc_alive(g->cpid, g->creator_start) == 1;
	snprintf(st->backing, sizeof(st->backing), SK_SHM_DIR "/shmkit.%s/u%u/%d", ns->name,
	         (unsigned)g->cuid, (int)g->id);
	memcpy(st->creator_comm, g->comm, sizeof(st->creator_comm));
	st->creator_comm[sizeof(st->creator_comm) - 1] = '\0';
}

/*
 * Open ns without joining it and take its lock, waiting at most the process-wide wait
 * (shmkit_ns_set_wait), so that a member stopped while holding the lock (SIGSTOP, a debugger,
 * a forged lock word) cannot hang a listing: -ETIMEDOUT instead. Returns how many segments the
 * sweep destroyed, or -errno (the lock is then not held).
 */
static int open_locked(struct sk_ns *ns, const char *name)
{
	struct timespec deadline;
	int err = sk_ns_open(ns, name, 0);
	if (err)
		return err;
	err = sk_reg_lock_until(ns, sk_ns_wait_deadline(&deadline));
	if (err) {
		sk_ns_close(ns);
		return err;
	}
	/* The same collection every shmctl does first. in_use is a derived field of untrusted
	 * memory: never let a forged value turn the count into an error. */
	uint32_t before = ns->hdr->in_use;
	sk_reg_sweep(ns);
	uint32_t after = ns->hdr->in_use;
	return before > after && before - after <= SK_REG_SLOTS ? (int)(before - after) : 0;
}

static void close_locked(struct sk_ns *ns)
{
	sk_reg_unlock(ns);
	sk_ns_close(ns);
}

SK_EXPORT int shmkit_ns_segments(const char *name, struct shmkit_seg_stat *out, size_t max)
{
	struct sk_ns ns;
	if (max && !out)
		return -EINVAL;
	int err = open_locked(&ns, name);
	if (err < 0)
		return err;
	int count = 0;
	for (uint32_t s = 0; s < SK_REG_SLOTS; s++) {
		const struct sk_seg_rec *g = &ns.segs[s];
		if (g->state != SK_SEG_LIVE)
			continue;
		if ((size_t)count < max)
			fill_stat(&ns, g, &out[count]);
		count++;
	}
	close_locked(&ns);
	return count;
}

SK_EXPORT int shmkit_ns_attachers(const char *name, int shmid, struct shmkit_attacher *out,
                                  size_t max)
{
	struct sk_ns ns;
	if (max && !out)
		return -EINVAL;
	int err = open_locked(&ns, name);
	if (err < 0)
		return err;
	int idx = sk_id_lookup(&ns, shmid);
	if (idx < 0) {
		close_locked(&ns);
		return idx;
	}
	int count = 0;
	uint32_t hi = ns.hdr->atts_hi < SK_REG_ATTS ? ns.hdr->atts_hi : SK_REG_ATTS;
	for (uint32_t a = 0; a < hi; a++) {
		const struct sk_att_rec *r = &ns.atts[a];
		uint32_t proc = SK_ONCE(r->proc);
		if (!proc || proc > SK_REG_PROCS || r->idx != (uint32_t)idx || r->id != shmid)
			continue;
		const struct sk_proc_rec *p = &ns.procs[proc - 1];
		int k;
		for (k = 0; k < count && (size_t)k < max && out[k].pid != p->pid; k++)
			;
		if (k < count && (size_t)k < max) {
			out[k].count++;
			continue;
		}
		if ((size_t)count < max)
			out[count] =
			    (struct shmkit_attacher){.pid = p->pid, .count = 1, .start = p->start};
		count++;
	}
	close_locked(&ns);
	return count;
}

SK_EXPORT int shmkit_ns_gc(const char *name)
{
	struct sk_ns ns;
	int destroyed = open_locked(&ns, name);
	if (destroyed < 0)
		return destroyed;
	/* Objects no slot claims (left by crashes or by others' failed removals): ours go. */
	sk_backing_orphans(&ns);
	sk_backing_sweep_dir(&ns);
	close_locked(&ns);
	return destroyed;
}

SK_EXPORT int shmkit_ns_rmid(const char *name, int shmid)
{
	struct sk_ns ns;
	int err = open_locked(&ns, name);
	if (err < 0)
		return err;
	int idx = sk_id_lookup(&ns, shmid);
	err = idx < 0 ? idx : sk_shm_rmid(&ns, (uint32_t)idx);
	close_locked(&ns);
	return err;
}
