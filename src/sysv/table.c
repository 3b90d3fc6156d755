/* SPDX-License-Identifier: MIT */
/*
 * The segment table: key hash, id allocation, attachment records, destruction, and the
 * repair that recomputes every derived field after a process died holding the registry lock.
 * Everything here runs with the registry lock held.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "seg/seg.h"
#include "sys/sys.h"
#include "sysv/registry.h"

/* ---- key hash: open addressing, linear probing, tombstones; derived from the slots ---- */

static uint32_t key_hash(int32_t key)
{
	uint32_t h = (uint32_t)key * 0x9e3779b1u;
	return (h ^ (h >> 16)) & (SK_REG_HASH - 1);
}

/* Slot of the live, non-private segment with this key, or -ENOENT. */
int sk_hash_find(struct sk_ns *ns, int32_t key)
{
	uint32_t h = key_hash(key);
	for (uint32_t n = 0; n < SK_REG_HASH; n++, h = (h + 1) & (SK_REG_HASH - 1)) {
		uint32_t e = SK_ONCE(ns->hash[h]);
		if (e == SK_HASH_EMPTY)
			return -ENOENT;
		if (e == SK_HASH_TOMB || e - 1 >= SK_REG_SLOTS)
			continue; /* a tombstone, or garbage a repair will clear */
		const struct sk_seg_rec *g = &ns->segs[e - 1];
		if (g->state == SK_SEG_LIVE && g->key == key && !(g->mode & SK_SHM_DEST))
			return (int)(e - 1);
	}
	return -ENOENT;
}

void sk_hash_insert(struct sk_ns *ns, int32_t key, uint32_t idx)
{
	uint32_t h = key_hash(key);
	for (uint32_t n = 0; n < SK_REG_HASH; n++, h = (h + 1) & (SK_REG_HASH - 1)) {
		uint32_t e = ns->hash[h];
		if (e == SK_HASH_EMPTY || e == SK_HASH_TOMB) {
			if (e == SK_HASH_TOMB && ns->hdr->tombs)
				ns->hdr->tombs--;
			ns->hash[h] = idx + 1;
			return;
		}
	}
	/* Cannot happen: the table has twice as many entries as there are slots. */
}

void sk_hash_remove(struct sk_ns *ns, int32_t key, uint32_t idx)
{
	uint32_t h = key_hash(key);
	for (uint32_t n = 0; n < SK_REG_HASH; n++, h = (h + 1) & (SK_REG_HASH - 1)) {
		uint32_t e = ns->hash[h];
		if (e == SK_HASH_EMPTY)
			return;
		if (e == idx + 1) {
			ns->hash[h] = SK_HASH_TOMB;
			if (++ns->hdr->tombs > SK_REG_HASH / 4)
				sk_hash_rebuild(ns);
			return;
		}
	}
}

void sk_hash_rebuild(struct sk_ns *ns)
{
	memset(ns->hash, 0, SK_REG_HASH * sizeof(uint32_t));
	ns->hdr->tombs = 0;
	for (uint32_t s = 0; s < SK_REG_SLOTS; s++) {
		const struct sk_seg_rec *g = &ns->segs[s];
		if (g->state == SK_SEG_LIVE && g->key != IPC_PRIVATE && !(g->mode & SK_SHM_DEST))
			sk_hash_insert(ns, g->key, s);
	}
}

/* ---- ids, like ipc_idr_alloc() with idr_alloc_cyclic() ---- */

static int find_free(struct sk_ns *ns, uint32_t from, uint32_t max)
{
	for (uint32_t i = from; i <= max; i++)
		if (ns->segs[i].state == SK_SEG_FREE)
			return (int)i;
	return -1;
}

/*
 * shm_next_id asks for an id: its sequence number, and the first free index from its index
 * on (idr_alloc), leaving the cyclic cursor and the sequence alone. Used once, success or not.
 */
static int32_t id_requested(struct sk_ns *ns, uint32_t *idx_out)
{
	struct sk_reg_hdr *h = ns->hdr;
	uint32_t want = (uint32_t)SK_ONCE(h->next_id);
	int idx = find_free(ns, want & SK_IDX_MASK, SK_REG_SLOTS - 1);
	if (idx < 0) {
		h->next_id = -1;
		return -ENOSPC;
	}
	*idx_out = (uint32_t)idx;
	return (int32_t)((want >> SK_IDX_BITS) << SK_IDX_BITS | (uint32_t)idx);
}

/* Choose the next idx and the id it gets; nothing is committed (sk_id_commit does). */
int32_t sk_id_next(struct sk_ns *ns, uint32_t *idx_out)
{
	struct sk_reg_hdr *h = ns->hdr;
	if (h->next_id >= 0)
		return id_requested(ns, idx_out);
	uint32_t max_idx = h->in_use * 3 / 2;
	if (max_idx < SK_MIN_CYCLE)
		max_idx = SK_MIN_CYCLE;
	if (max_idx > SK_REG_SLOTS)
		max_idx = SK_REG_SLOTS;
	uint32_t max = max_idx - 1, start = SK_ONCE(h->idr_next);
	int idx = start <= max ? find_free(ns, start, max) : -1;
	if (idx < 0 && start > 0)
		idx = find_free(ns, 0, max);
	if (idx < 0)
		return -ENOSPC;
	uint32_t seq = SK_ONCE(h->seq);
	int32_t last = SK_ONCE(h->last_idx);
	if (seq >= SK_SEQ_MAX)
		seq = 0; /* the registry is untrusted */
	if (last >= 0 && (uint32_t)idx <= (uint32_t)last) {
		if (++seq >= SK_SEQ_MAX)
			seq = 0;
	}
	*idx_out = (uint32_t)idx;
	return (int32_t)((seq << SK_IDX_BITS) | (uint32_t)idx);
}

void sk_id_commit(struct sk_ns *ns, uint32_t idx, int32_t id)
{
	struct sk_reg_hdr *h = ns->hdr;
	if (h->next_id >= 0) {
		h->next_id = -1; /* id_requested() chose it */
	} else {
		h->seq = (uint32_t)id >> SK_IDX_BITS;
		h->last_idx = (int32_t)idx;
		h->idr_next = idx + 1;
	}
	if (h->slots_hi < idx + 1)
		h->slots_hi = idx + 1;
}

/* The live slot named by a full id, or -EINVAL (stale or unknown ids alike, as the kernel). */
int sk_id_lookup(struct sk_ns *ns, int id)
{
	if (id < 0)
		return -EINVAL;
	uint32_t idx = (uint32_t)id & SK_IDX_MASK;
	const struct sk_seg_rec *g = &ns->segs[idx];
	if (g->state != SK_SEG_LIVE || g->id != id)
		return -EINVAL;
	return (int)idx;
}

/* ---- attachments and destruction ---- */

static int att_alloc(struct sk_ns *ns, uint32_t proc, uint32_t idx, int32_t id)
{
	for (uint32_t a = 0; a < SK_REG_ATTS; a++) {
		if (ns->atts[a].proc)
			continue;
		ns->atts[a] = (struct sk_att_rec){.proc = proc + 1, .idx = idx, .id = id};
		if (ns->hdr->atts_hi < a + 1)
			ns->hdr->atts_hi = a + 1;
		ns->procs[proc].natt++;
		return (int)a;
	}
	return -ENOMEM;
}

int sk_att_add(struct sk_ns *ns, uint32_t proc, uint32_t idx, int32_t id, pid_t pid)
{
	if (idx >= SK_REG_SLOTS)
		return -EIDRM;
	struct sk_seg_rec *g = &ns->segs[idx];
	if (g->state != SK_SEG_LIVE || g->id != id)
		return -EIDRM;
	int a = att_alloc(ns, proc, idx, id);
	if (a < 0)
		return a;
	/* A crash from here on is settled by the nattch recount of the repair. */
	SK_CRASH_POINT();
	g->nattch++;
	g->atime = sk_real_sec();
	g->lpid = pid;
	return a;
}

void sk_att_release(struct sk_ns *ns, uint32_t att, pid_t pid)
{
	if (att >= SK_REG_ATTS)
		return;
	struct sk_att_rec r = {.proc = SK_ONCE(ns->atts[att].proc),
	                       .idx = SK_ONCE(ns->atts[att].idx),
	                       .id = SK_ONCE(ns->atts[att].id)};
	if (!r.proc)
		return;
	/* Free the record first: a crash from here on is settled by the nattch recount. */
	ns->atts[att].proc = 0;
	SK_CRASH_POINT();
	if (r.proc - 1 < SK_REG_PROCS && ns->procs[r.proc - 1].natt)
		ns->procs[r.proc - 1].natt--;
	if (r.idx >= SK_REG_SLOTS)
		return;
	struct sk_seg_rec *g = &ns->segs[r.idx];
	if (g->state != SK_SEG_LIVE || g->id != r.id)
		return;
	if (g->nattch)
		g->nattch--;
	SK_CRASH_POINT();
	g->lpid = pid;
	g->dtime = sk_real_sec();
	if (g->nattch == 0) {
		uint64_t shmmax, shmall, shmmni;
		int forced = 0;
		if (!(g->mode & SK_SHM_DEST))
			sk_ns_limits(ns, &shmmax, &shmall, &shmmni, &forced);
		if ((g->mode & SK_SHM_DEST) || forced)
			sk_seg_destroy(ns, r.idx);
	}
}

void sk_seg_destroy(struct sk_ns *ns, uint32_t idx)
{
	struct sk_seg_rec *g = &ns->segs[idx];
	if (g->state == SK_SEG_LIVE) {
		if (g->key != IPC_PRIVATE && !(g->mode & SK_SHM_DEST))
			sk_hash_remove(ns, g->key, idx);
		uint64_t pages = sk_pages(g->segsz, sk_page_size());
		ns->hdr->shm_tot = ns->hdr->shm_tot >= pages ? ns->hdr->shm_tot - pages : 0;
	}
	/* BUSY first: a crash before the slot is FREE leaves a state the repair finishes. */
	g->state = SK_SEG_BUSY;
	SK_CRASH_POINT();
	/* A slot names only its own object: a forged id cannot make us remove another's. */
	int32_t id = SK_ONCE(g->id);
	if (((uint32_t)id & SK_IDX_MASK) == idx)
		sk_backing_unlink(ns, SK_ONCE(g->cuid), id);
	SK_CRASH_POINT();
	if (ns->hdr->in_use)
		ns->hdr->in_use--;
	g->state = SK_SEG_FREE;
}

/* ---- repair ---- */

void sk_reg_repair(struct sk_ns *ns)
{
	struct sk_reg_hdr *h = ns->hdr;
	uint64_t page = sk_page_size();
	uint32_t in_use = 0, slots_hi = 0, procs_hi = 0, atts_hi = 0;
	uint64_t tot = 0;

	for (uint32_t i = 0; i < SK_REG_PROCS; i++) {
		struct sk_proc_rec *p = &ns->procs[i];
		p->natt = 0;
		if (p->state != SK_PROC_LIVE)
			p->state = SK_PROC_FREE;
		else
			procs_hi = i + 1;
	}
	h->procs_hi = procs_hi;

	for (uint32_t s = 0; s < SK_REG_SLOTS; s++) {
		struct sk_seg_rec *g = &ns->segs[s];
		if (g->state == SK_SEG_FREE)
			continue;
		if (g->state != SK_SEG_LIVE || ((uint32_t)g->id & SK_IDX_MASK) != s ||
		    g->segsz == 0 || g->segsz > SK_SEG_SIZE_MAX) {
			/* Half-created, half-destroyed or nonsense: remove what may exist. */
			int32_t id = SK_ONCE(g->id);
			if (((uint32_t)id & SK_IDX_MASK) == s)
				sk_backing_unlink(ns, SK_ONCE(g->cuid), id);
			g->state = SK_SEG_FREE;
			continue;
		}
		g->nattch = 0;
		SK_CRASH_POINT();
		uint32_t cp = SK_ONCE(g->creator_proc);
		if (cp > SK_REG_PROCS || (cp && ns->procs[cp - 1].state != SK_PROC_LIVE))
			g->creator_proc = 0;
		in_use++;
		tot += sk_pages(g->segsz, page);
		slots_hi = s + 1;
	}
	if (h->last_idx >= (int32_t)SK_REG_SLOTS || h->last_idx < -1)
		h->last_idx = -1;
	if (h->idr_next > SK_REG_SLOTS)
		h->idr_next = 0;
	if (h->seq >= SK_SEQ_MAX)
		h->seq = 0;
	if (h->next_id < -1)
		h->next_id = -1;
	if (h->norphans > SK_REG_ORPHANS)
		h->norphans = SK_REG_ORPHANS;

	for (uint32_t a = 0; a < SK_REG_ATTS; a++) {
		struct sk_att_rec *r = &ns->atts[a];
		uint32_t proc = SK_ONCE(r->proc), idx = SK_ONCE(r->idx);
		if (!proc)
			continue;
		if (proc > SK_REG_PROCS || ns->procs[proc - 1].state != SK_PROC_LIVE ||
		    idx >= SK_REG_SLOTS || ns->segs[idx].state != SK_SEG_LIVE ||
		    ns->segs[idx].id != SK_ONCE(r->id)) {
			r->proc = 0;
			continue;
		}
		ns->procs[proc - 1].natt++;
		ns->segs[idx].nattch++;
		atts_hi = a + 1;
	}
	SK_CRASH_POINT();
	h->in_use = in_use;
	h->shm_tot = tot;
	h->slots_hi = slots_hi;
	h->atts_hi = atts_hi;
	sk_hash_rebuild(ns);
	h->repairs++;
}

/* ---- the invariant check (used by the tests) ---- */

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(why, len, __VA_ARGS__);                                                   \
		return -EBADMSG;                                                                   \
	} while (0)

int sk_reg_check(struct sk_ns *ns, char *why, size_t len)
{
	static uint32_t nattch[SK_REG_SLOTS];
	uint32_t in_use = 0;
	uint64_t tot = 0, page = sk_page_size();
	memset(nattch, 0, sizeof(nattch));
	for (uint32_t a = 0; a < SK_REG_ATTS; a++) {
		const struct sk_att_rec *r = &ns->atts[a];
		uint32_t proc = SK_ONCE(r->proc), idx = SK_ONCE(r->idx);
		if (!proc)
			continue;
		if (proc > SK_REG_PROCS || ns->procs[proc - 1].state != SK_PROC_LIVE)
			FAIL("attachment %u of a free process record %u", a, proc);
		if (idx >= SK_REG_SLOTS || ns->segs[idx].state != SK_SEG_LIVE ||
		    ns->segs[idx].id != SK_ONCE(r->id))
			FAIL("attachment %u names no live segment", a);
		if (a >= ns->hdr->atts_hi)
			FAIL("attachment %u above atts_hi %u", a, ns->hdr->atts_hi);
		nattch[idx]++;
	}
	for (uint32_t s = 0; s < SK_REG_SLOTS; s++) {
		const struct sk_seg_rec *g = &ns->segs[s];
		if (g->state == SK_SEG_FREE)
			continue;
		if (g->state != SK_SEG_LIVE)
			FAIL("slot %u in state %u outside an operation", s, g->state);
		if (s >= ns->hdr->slots_hi)
			FAIL("slot %u above slots_hi", s);
		if (g->nattch != nattch[s])
			FAIL("slot %u: nattch %u but %u attachment records", s, g->nattch,
			     nattch[s]);
		int found = g->key != IPC_PRIVATE && !(g->mode & SK_SHM_DEST)
		                ? sk_hash_find(ns, g->key)
		                : (int)s;
		if (found != (int)s)
			FAIL("slot %u: key 0x%x not found in the hash", s, (unsigned)g->key);
		in_use++;
		tot += sk_pages(g->segsz, page);
	}
	if (in_use != ns->hdr->in_use)
		FAIL("in_use %u, counted %u", ns->hdr->in_use, in_use);
	if (tot != ns->hdr->shm_tot)
		FAIL("shm_tot %llu, counted %llu", (unsigned long long)ns->hdr->shm_tot,
		     (unsigned long long)tot);
	return 0;
}
