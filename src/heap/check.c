/* SPDX-License-Identifier: MIT */
/*
 * heap: the check. One walk over the span heads accounts for every byte of the object
 * (size == meta + used + free + slack + leaked) and, when the walker holds every lock, checks
 * each derived structure against the facts: bins and tails against free spans, partial lists
 * and current runs against run states, the name table against the names arena.
 *
 * What it can see of leaks: free slots of a FULL run that is on no list (a free killed before
 * it relisted the run), and names-arena allocations that no name refers to (named() or
 * unname() killed half-way). A slot or span whose allocating call was killed after taking it
 * and before returning looks like any other allocation: no walk can tell them apart.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap/heap.h"

#define P SK_HEAP_PAGE

struct walk {
	struct shmkit_heap *h;
	struct shmkit_heap_report *r;
	int exact; /* every lock is held: derived structures must agree with the facts */
	uint32_t tot;
	uint64_t *refs;
	size_t nrefs;
	uint64_t *cached; /* blocks the cache records hold: sorted, unique */
	size_t ncached;
	uint32_t free_spans;
	uint32_t partial[SK_HEAP_NARENAS][SK_HEAP_CLASSES];
	uint32_t current[SK_HEAP_NARENAS][SK_HEAP_CLASSES];
};

static void problem(struct walk *w, int damage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void problem(struct walk *w, int damage, const char *fmt, ...)
{
	if (!w->r->first_problem[0]) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(w->r->first_problem, sizeof(w->r->first_problem), fmt, ap);
		va_end(ap);
	}
	if (damage)
		w->r->damage++;
}

static void max_free(struct walk *w, uint64_t bytes)
{
	if (bytes > w->r->largest_free)
		w->r->largest_free = bytes;
}

/* A block of the names arena: the name table (metadata), a named object, or leaked. */
static void names_block(struct walk *w, uint64_t off, uint64_t bytes)
{
	if (off && off == sk_load_relaxed(&w->h->hdr->names_table)) {
		w->r->meta += bytes;
		return;
	}
	if (sk_names_referenced(w->refs, w->nrefs, off)) {
		w->r->used += bytes;
		w->r->blocks++;
		return;
	}
	w->r->leaked += bytes;
	w->r->leaked_blocks++;
	problem(w, 0, "names-arena block at %#llx is no name's", (unsigned long long)off);
}

/* Slots of run p (class c) that cache records hold: taken in the bitmap, free to use. */
static uint32_t cached_in(struct walk *w, uint32_t p, uint32_t c)
{
	uint64_t lo = sk_page_off(w->h, p), size = sk_classes[c].size, n = 0;
	uint64_t hi = lo + (uint64_t)sk_classes[c].slots * size;
	size_t i = 0, j = w->ncached;
	while (i < j) { /* the first entry at or above lo */
		size_t mid = i + (j - i) / 2;
		if (w->cached[mid] < lo)
			i = mid + 1;
		else
			j = mid;
	}
	struct sk_heap_page *d = &w->h->pages[p];
	for (; i < w->ncached && w->cached[i] < hi; i++) {
		uint64_t s = (w->cached[i] - lo) / size;
		if (s * size == w->cached[i] - lo &&
		    sk_load_relaxed(&d->bits[s / 64]) & (uint64_t)1 << (s % 64))
			n++;
	}
	return (uint32_t)n;
}

static void walk_run(struct walk *w, uint32_t p, uint32_t t, uint32_t c)
{
	struct shmkit_heap *h = w->h;
	struct sk_heap_page *d = &h->pages[p];
	uint32_t a = SK_TAG_ARENA(t), slots = sk_classes[c].slots, size = sk_classes[c].size;
	uint32_t used = sk_run_used(d, c), k = sk_classes[c].pages;
	uint64_t freeb = (uint64_t)(slots - used) * size;
	w->r->slack += (uint64_t)k * P - (uint64_t)slots * size;
	for (uint32_t i = 1; i < k; i++)
		if (SK_TAG_KIND(sk_load_relaxed(&h->pages[p + i].tag)) != SK_PG_CONT ||
		    sk_load_relaxed(&h->pages[p + i].npages) != i)
			problem(w, 1, "run at page %u: page %u is not its continuation", p, p + i);
	if (a >= SK_HEAP_NARENAS) {
		problem(w, 1, "run at page %u: arena %u", p, a);
		a = 0;
	}
	if (a == SK_HEAP_NAMES_ARENA) {
		for (uint32_t s = 0; s < slots; s++)
			if (sk_load_relaxed(&d->bits[s / 64]) & (uint64_t)1 << (s % 64))
				names_block(w, sk_page_off(h, p) + (uint64_t)s * size, size);
	} else {
		uint32_t n = c < SK_HEAP_CACHED ? cached_in(w, p, c) : 0;
		w->r->used += (uint64_t)(used - n) * size;
		w->r->blocks += used - n;
		w->r->cached += (uint64_t)n * size;
		w->r->free += (uint64_t)n * size;
		if (n)
			max_free(w, size);
	}
	switch (SK_TAG_SUB(t)) {
	case SK_RUN_CURRENT:
		w->current[a][c]++;
		if (w->exact && sk_load_relaxed(&h->hdr->arenas[a].current[c]) != p + 1)
			problem(w, 1, "run at page %u is CURRENT but not its arena's current run",
			        p);
		break;
	case SK_RUN_PARTIAL:
		w->partial[a][c]++;
		break;
	case SK_RUN_FULL:
		if (freeb) {
			/* A free killed before it relisted the run: these slots are unreachable. */
			w->r->leaked += freeb;
			problem(w, 0, "full run at page %u has %u free slots on no list", p,
			        slots - used);
			return;
		}
		break;
	case SK_RUN_RETIRING:
		if (w->exact)
			problem(w, 1, "run at page %u is RETIRING outside a retire", p);
		break;
	default:
		problem(w, 1, "run at page %u: state %u", p, SK_TAG_SUB(t));
	}
	w->r->free += freeb;
	if (freeb)
		max_free(w, size);
}

static void walk_large(struct walk *w, uint32_t p, uint32_t n)
{
	uint32_t a = SK_TAG_ARENA(sk_load_relaxed(&w->h->pages[p].tag));
	uint64_t bytes = (uint64_t)n * P;
	if (a == SK_ARENA_FENCE) {
		w->r->slack += bytes; /* counted as damage when the repair fenced it */
	} else if (a == SK_HEAP_NAMES_ARENA) {
		names_block(w, sk_page_off(w->h, p), bytes);
	} else {
		if (a >= SK_HEAP_ARENAS)
			problem(w, 1, "large span at page %u: arena %u", p, a);
		w->r->used += bytes;
		w->r->blocks++;
	}
}

static void walk_spans(struct walk *w)
{
	struct shmkit_heap *h = w->h;
	int prev_free = 0;
	for (uint32_t p = 0; p < w->tot;) {
		struct sk_heap_page *d = &h->pages[p];
		uint32_t t = sk_load_relaxed(&d->tag), n = sk_load_relaxed(&d->npages);
		uint32_t kind = SK_TAG_KIND(t), c = SK_TAG_CLASS(t);
		int ok = n >= 1 && n <= w->tot - p;
		if (kind == SK_PG_FREE && ok) {
			if (prev_free)
				problem(w, 1, "free span at page %u follows another", p);
			if (sk_load_relaxed(&h->pages[p + n - 1].tail) != n && w->exact)
				problem(w, 1, "free span at page %u: tail %u", p,
				        sk_load_relaxed(&h->pages[p + n - 1].tail));
			w->r->free += (uint64_t)n * P;
			max_free(w, (uint64_t)n * P);
			w->free_spans++;
		} else if (kind == SK_PG_LARGE && ok) {
			walk_large(w, p, n);
		} else if (kind == SK_PG_RUN && ok && c < SK_HEAP_CLASSES &&
		           n == sk_classes[c].pages) {
			walk_run(w, p, t, c);
		} else {
			problem(w, 1, "page %u: tag %#x npages %u is no span head", p, t, n);
			w->r->slack += P;
			n = 1;
		}
		prev_free = kind == SK_PG_FREE && ok;
		p += n;
	}
}

/* Every bin lists exactly the free spans of its lengths. */
static void check_bins(struct walk *w)
{
	struct shmkit_heap *h = w->h;
	uint64_t mask = sk_load_relaxed(&h->hdr->bin_mask);
	uint32_t listed = 0;
	for (uint32_t b = 0; b < SK_HEAP_BINS; b++) {
		uint32_t e = sk_load_relaxed(&h->hdr->bins[b]), prev = 0;
		if (!e != !(mask & (uint64_t)1 << b))
			problem(w, 1, "bin %u: mask bit disagrees", b);
		for (uint32_t i = 0; e; i++) {
			uint32_t p = e - 1;
			if (p >= w->tot || i > w->tot) {
				problem(w, 1, "bin %u: bad link %u", b, e);
				break;
			}
			uint32_t n = sk_load_relaxed(&h->pages[p].npages);
			if (SK_TAG_KIND(sk_load_relaxed(&h->pages[p].tag)) != SK_PG_FREE || !n ||
			    sk_bin_of(n) != b || sk_load_relaxed(&h->pages[p].prev) != prev) {
				problem(w, 1, "bin %u: page %u does not belong there", b, p);
				break;
			}
			listed++;
			prev = e;
			e = sk_load_relaxed(&h->pages[p].next);
		}
	}
	if (listed != w->free_spans)
		problem(w, 1, "%u free spans but %u in bins", w->free_spans, listed);
}

/* Every partial list holds exactly the PARTIAL runs of its arena and class. */
static void check_lists(struct walk *w)
{
	struct shmkit_heap *h = w->h;
	for (uint32_t a = 0; a < SK_HEAP_NARENAS; a++)
		for (uint32_t c = 0; c < SK_HEAP_CLASSES; c++) {
			struct sk_heap_arena *ar = &h->hdr->arenas[a];
			uint32_t e = sk_load_relaxed(&ar->partial[c]), n = 0;
			for (; e && n <= w->tot; n++) {
				struct sk_heap_page *d = e - 1 < w->tot ? &h->pages[e - 1] : NULL;
				uint32_t t = d ? sk_load_relaxed(&d->tag) : 0;
				if (!d || (t & (SK_TAG_OWNER_MASK | SK_TAG_SUB_MASK)) !=
				              SK_TAG(SK_PG_RUN, SK_RUN_PARTIAL, c, a, 0)) {
					problem(w, 1,
					        "arena %u class %u: partial list names page %u", a,
					        c, e - 1);
					break;
				}
				e = sk_load_relaxed(&d->next);
			}
			if (n != w->partial[a][c])
				problem(w, 1, "arena %u class %u: %u partial runs, %u listed", a, c,
				        w->partial[a][c], n);
			uint32_t cur = sk_load_relaxed(&ar->current[c]);
			if ((cur != 0) != (w->current[a][c] != 0) || w->current[a][c] > 1)
				problem(w, 1, "arena %u class %u: current run %u, %u runs CURRENT",
				        a, c, cur, w->current[a][c]);
		}
}

int sk_heap_check(struct shmkit_heap *h, struct shmkit_heap_report *r, int exact)
{
	struct walk *w = calloc(1, sizeof(*w));
	uint64_t bad = 0;
	if (!w)
		return -ENOMEM;
	memset(r, 0, sizeof(*r));
	w->h = h;
	w->r = r;
	w->exact = exact;
	sk_heap_sync(h);
	w->tot = sk_load_relaxed(&h->npages);
	uint64_t size = sk_load_acquire(&h->mapped); /* pairs with sk_heap_sync's release */
	r->size = size;
	r->max_size = h->max_size;
	r->meta = h->data_off;
	r->repairs = sk_load_relaxed(&h->hdr->repairs);
	r->damage = sk_load_relaxed(&h->hdr->damage);
	if (r->damage)
		problem(w, 0, "repairs fenced off %llu inconsistencies",
		        (unsigned long long)r->damage);
	if (sk_names_refs(h, &w->refs, &w->nrefs, &bad) < 0) {
		free(w);
		return -ENOMEM;
	}
	if (sk_cache_list(h, &w->cached, &w->ncached) < 0) {
		free(w->refs);
		free(w);
		return -ENOMEM;
	}
	r->named = w->nrefs ? w->nrefs - 1 : 0;
	if (bad)
		problem(w, exact, "%llu name entries do not check out", (unsigned long long)bad);
	walk_spans(w);
	r->slack += size - h->data_off - ((uint64_t)w->tot << SK_HEAP_PAGE_SHIFT);
	if (exact) {
		check_bins(w);
		check_lists(w);
		if (sk_load_relaxed(&h->hdr->names_seq) & 1)
			problem(w, 1, "name table left mid-change");
		if (sk_load_relaxed(&h->hdr->names_count) != r->named)
			problem(w, 1, "name count %u, %llu names",
			        sk_load_relaxed(&h->hdr->names_count),
			        (unsigned long long)r->named);
	}
	free(w->cached);
	free(w->refs);
	free(w);
	return r->damage ? -EBADMSG : r->leaked ? 1 : 0;
}

static void repair_all(struct shmkit_heap *h)
{
	if (sk_heap_lock(h, &h->hdr->names_lock, sk_names_repair, 0) == 0) {
		sk_names_repair(h, 0);
		sk_heap_unlock(&h->hdr->names_lock);
	}
	for (uint32_t a = 0; a < SK_HEAP_NARENAS; a++)
		if (sk_heap_lock(h, &h->hdr->arenas[a].lock, sk_arena_repair, a) == 0) {
			sk_arena_repair(h, a);
			sk_heap_unlock(&h->hdr->arenas[a].lock);
		}
	if (sk_pages_lock(h) == 0) {
		sk_pages_repair(h, 0);
		sk_pages_unlock(h);
	}
}

SK_EXPORT int shmkit_heap_check(shmkit_heap_t *h, struct shmkit_heap_report *r, uint32_t flags)
{
	if (!h || !r || (flags & ~SHMKIT_HEAP_CHECK_REPAIR))
		return -EINVAL;
	if (h->rdonly)
		return flags ? -EACCES : sk_heap_check(h, r, 0);
	if (flags & SHMKIT_HEAP_CHECK_REPAIR)
		repair_all(h);
	/* Every lock, in the order the library takes them: then nothing changes but bitmaps. */
	int err = sk_heap_lock(h, &h->hdr->names_lock, sk_names_repair, 0);
	if (err)
		return err;
	uint32_t a = 0;
	for (; a < SK_HEAP_NARENAS && !err; a++)
		err = sk_heap_lock(h, &h->hdr->arenas[a].lock, sk_arena_repair, a);
	if (err)
		a--;
	if (!err)
		err = sk_pages_lock(h);
	int ret = err ? err : sk_heap_check(h, r, 1);
	if (!err)
		sk_pages_unlock(h);
	while (a-- > 0)
		sk_heap_unlock(&h->hdr->arenas[a].lock);
	sk_heap_unlock(&h->hdr->names_lock);
	return ret;
}
