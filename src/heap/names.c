/* SPDX-License-Identifier: MIT */
/*
 * heap: named objects.
 *
 * A named object is one allocation of the names arena: its name, NUL-padded to 16 bytes,
 * then the object. So the object's offset is never the start of an allocation, and
 * shmkit_heap_free() refuses it. The names are found through a table of 64-byte entries, each
 * with the first 40 bytes of its name (open addressing, linear probing, backward-shift
 * deletion, at most 3/4 full: a smaller table stays in the caches, which matters more than
 * the longer probes), itself an allocation of the names arena that the header points to.
 *
 * Every change happens under names_lock, inside a write section of the sequence word; a
 * lookup takes no lock: it reads the table between two reads of the sequence word and tries
 * again if a writer was there (BARRIER_H6). All it reads is bounds-checked, so a table freed
 * under it (after a rehash) can only make it retry. Writers that die mid-change leave the
 * word odd; the next locker repairs (sk_names_repair): it keeps the entries that check out
 * (their block is a names-arena allocation holding their name), rebuilds the table from
 * them, and frees every names-arena allocation that no entry (nor the header) refers to, which
 * is what a named() or unname() killed half-way leaves behind.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "heap/heap.h"

#define TABLE_MIN  64u /* entries: 2 KiB, a small allocation */
#define TABLE_MAX  (1u << 24)
#define FIND_TRIES 1000 /* lock-free attempts before -EAGAIN (or the lock, when writable) */

#define KEY_WORDS  ((SK_HEAP_NAME_MAX + 1 + 15) / 8)
#define HEAD_WORDS SK_HEAP_NAME_HEAD

struct key {
	uint64_t w[KEY_WORDS]; /* the name, NUL-padded to 16 bytes */
	uint32_t len, words, hash;
};

/* One entry, process-local. */
struct ent {
	uint32_t hash, len;
	uint64_t block, size, head[HEAD_WORDS];
};

/* A hash of the NUL-padded name's words: one multiply per 8 bytes. Never 0 (empty entry). */
static uint32_t words_hash(const uint64_t *w, uint32_t words)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ words;
	for (uint32_t i = 0; i < words; i++) {
		x = (x ^ w[i]) * 0xff51afd7ed558ccdull;
		x ^= x >> 32;
	}
	uint32_t r = (uint32_t)(x ^ (x >> 29));
	return r ? r : 1;
}

static int key_make(struct key *k, const char *name)
{
	if (!name)
		return -EINVAL;
	size_t n = strnlen(name, SK_HEAP_NAME_MAX + 1);
	if (n == 0)
		return -EINVAL;
	if (n > SK_HEAP_NAME_MAX)
		return -ENAMETOOLONG;
	k->len = (uint32_t)n;
	k->words = (uint32_t)(SK_ALIGN_UP(n + 1, 16) / 8);
	memset(k->w, 0, (size_t)k->words * 8);
	memcpy(k->w, name, n);
	k->hash = words_hash(k->w, k->words);
	return 0;
}

static inline uint64_t name_room(uint32_t len)
{
	return SK_ALIGN_UP((uint64_t)len + 1, 16);
}

/* [off, off + len) if it lies in the data area and is mapped here, else NULL. */
static void *at(struct shmkit_heap *h, uint64_t off, uint64_t len)
{
	uint64_t end = off + len;
	if (off < h->data_off || end < off || end > h->max_size || off % 16)
		return NULL;
	/* pairs with sk_heap_sync's release */
	if (end > sk_load_acquire(&h->mapped) &&
	    (sk_heap_sync(h) || end > sk_load_acquire(&h->mapped)))
		return NULL;
	return h->base + off;
}

/* ---- the table ---- */

struct table {
	struct sk_heap_name *e;
	uint32_t cap;
	uint64_t off;
};

static int table_get(struct shmkit_heap *h, struct table *t)
{
	t->off = sk_load_relaxed(&h->hdr->names_table);
	t->cap = sk_load_relaxed(&h->hdr->names_cap);
	t->e = NULL;
	if (!t->off)
		return 0;
	if (t->cap < TABLE_MIN || t->cap > TABLE_MAX || (t->cap & (t->cap - 1)))
		return -EBADMSG;
	t->e = at(h, t->off, (uint64_t)t->cap * sizeof(struct sk_heap_name));
	return t->e ? 0 : -EBADMSG;
}

static int words_equal(const void *shared, const struct key *k, uint32_t from)
{
	SK_ATOMIC(uint64_t) *w = (SK_ATOMIC(uint64_t) *)(uintptr_t)shared;
	for (uint32_t i = from; i < k->words; i++)
		if (sk_load_relaxed(&w[i]) != k->w[i])
			return 0;
	return 1;
}

/* The entry's copy of the name's first words against k's. */
static int head_equal(struct sk_heap_name *e, const struct key *k)
{
	for (uint32_t i = 0; i < k->words && i < HEAD_WORDS; i++)
		if (sk_load_relaxed(&e->head[i]) != k->w[i])
			return 0;
	return 1;
}

/*
 * Look k up in t: 0 and the entry's index, block and size; -ENOENT (*slot: where it would
 * go). A block that is not in the heap never matches (garbage that a repair will drop).
 */
static int probe(struct shmkit_heap *h, const struct table *t, const struct key *k, uint32_t *slot,
                 uint64_t *block, uint64_t *size)
{
	uint32_t mask = t->cap - 1, i = k->hash & mask;
	for (uint32_t n = 0; n < t->cap; n++, i = (i + 1) & mask) {
		struct sk_heap_name *e = &t->e[i];
		uint32_t eh = sk_load_relaxed(&e->hash);
		if (eh == 0) {
			*slot = i;
			return -ENOENT;
		}
		if (eh != k->hash || sk_load_relaxed(&e->len) != k->len || !head_equal(e, k))
			continue;
		/* A short name is all in the entry; a long one's rest is in the block. */
		uint64_t b = sk_load_relaxed(&e->block);
		const void *name = k->words > HEAD_WORDS ? at(h, b, (uint64_t)k->words * 8) : NULL;
		if (k->words <= HEAD_WORDS || (name && words_equal(name, k, HEAD_WORDS))) {
			*slot = i;
			*block = b;
			*size = sk_load_relaxed(&e->size);
			return 0;
		}
	}
	*slot = UINT32_MAX; /* full: only a corrupt table is */
	return -ENOENT;
}

/* Lock-free lookup (BARRIER_H6): 0, -ENOENT, -EBADMSG, or -EAGAIN if never quiet. */
static int find(struct shmkit_heap *h, const struct key *k, uint64_t *block, uint64_t *size)
{
	struct sk_heap_hdr *hdr = h->hdr;
	for (int i = 0; i < FIND_TRIES; i++) {
		uint32_t s0 = sk_load_acquire(&hdr->names_seq), slot; /* see BARRIER_H6 */
		if (s0 & 1) {
			if (i > 32)
				sched_yield();
			else
				sk_cpu_relax();
			continue;
		}
		struct table t;
		int r = table_get(h, &t);
		if (!r)
			r = t.e ? probe(h, &t, k, &slot, block, size) : -ENOENT;
		atomic_thread_fence(memory_order_acquire); /* see BARRIER_H6 */
		if (sk_load_relaxed(&hdr->names_seq) == s0)
			return r;
	}
	return -EAGAIN;
}

/* Write sections (names_lock held): the word odd while entries change (BARRIER_H6). */
static uint32_t write_begin(struct shmkit_heap *h)
{
	uint32_t s = sk_load_relaxed(&h->hdr->names_seq) & ~1u;
	sk_store_relaxed(&h->hdr->names_seq, s + 1);
	atomic_thread_fence(memory_order_release); /* see BARRIER_H6 */
	return s;
}

static void write_end(struct shmkit_heap *h, uint32_t s)
{
	sk_store_release(&h->hdr->names_seq, s + 2); /* see BARRIER_H6 */
}

static void ent_load(struct sk_heap_name *e, struct ent *v)
{
	v->hash = sk_load_relaxed(&e->hash);
	v->len = sk_load_relaxed(&e->len);
	v->block = sk_load_relaxed(&e->block);
	v->size = sk_load_relaxed(&e->size);
	for (uint32_t i = 0; i < HEAD_WORDS; i++)
		v->head[i] = sk_load_relaxed(&e->head[i]);
}

/* The hash last: it is what makes the entry used. */
static void ent_store(struct sk_heap_name *e, const struct ent *v)
{
	sk_store_relaxed(&e->len, v->len);
	sk_store_relaxed(&e->block, v->block);
	sk_store_relaxed(&e->size, v->size);
	for (uint32_t i = 0; i < HEAD_WORDS; i++)
		sk_store_relaxed(&e->head[i], v->head[i]);
	sk_store_relaxed(&e->hash, v->hash);
}

static void ent_of_key(struct ent *v, const struct key *k, uint64_t block, uint64_t size)
{
	*v = (struct ent){.hash = k->hash, .len = k->len, .block = block, .size = size};
	for (uint32_t i = 0; i < HEAD_WORDS && i < k->words; i++)
		v->head[i] = k->w[i];
}

static void entry_copy(struct sk_heap_name *to, struct sk_heap_name *from)
{
	struct ent v;
	ent_load(from, &v);
	ent_store(to, &v);
}

/* Put an entry into the first empty place of its probe sequence. */
static void entry_put(struct sk_heap_name *e, uint32_t cap, const struct ent *v)
{
	uint32_t mask = cap - 1, i = v->hash & mask;
	for (uint32_t n = 0; n < cap; n++, i = (i + 1) & mask) {
		if (!sk_load_relaxed(&e[i].hash)) {
			ent_store(&e[i], v);
			return;
		}
	}
}

/* Remove entry i, shifting later entries of its cluster back so no probe sequence breaks. */
static void entry_erase(struct sk_heap_name *e, uint32_t cap, uint32_t i)
{
	uint32_t mask = cap - 1, j = i;
	for (uint32_t n = 0; n < cap; n++) {
		j = (j + 1) & mask;
		uint32_t hj = sk_load_relaxed(&e[j].hash);
		if (hj == 0)
			break;
		uint32_t home = hj & mask;
		/* j stays if its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		entry_copy(&e[i], &e[j]);
		i = j;
	}
	sk_store_relaxed(&e[i].hash, 0);
}

/* A new table of cap entries (0: none) holding every entry of t; the old one is freed. */
static int rehash(struct shmkit_heap *h, struct table *t, uint32_t cap)
{
	uint64_t off = 0;
	struct sk_heap_name *ne = NULL;
	if (cap) {
		int err = sk_heap_alloc_in(h, SK_HEAP_NAMES_ARENA, (size_t)cap * sizeof(*ne), &off);
		if (err)
			return err;
		ne = (struct sk_heap_name *)(void *)(h->base + off);
		for (uint32_t i = 0; t->e && i < t->cap; i++) {
			struct ent v;
			ent_load(&t->e[i], &v);
			if (v.hash)
				entry_put(ne, cap, &v);
		}
	}
	SK_CRASH_POINT();
	uint32_t s = write_begin(h);
	sk_store_relaxed(&h->hdr->names_table, off);
	sk_store_relaxed(&h->hdr->names_cap, cap);
	write_end(h, s);
	SK_CRASH_POINT();
	if (t->off)
		sk_heap_free_in(h, 1, t->off);
	*t = (struct table){ne, cap, off};
	return 0;
}

static int names_lock(struct shmkit_heap *h)
{
	return sk_heap_lock(h, &h->hdr->names_lock, sk_names_repair, 0);
}

static void names_unlock(struct shmkit_heap *h)
{
	sk_heap_unlock(&h->hdr->names_lock);
}

static uint32_t count_of(struct shmkit_heap *h, const struct table *t)
{
	uint32_t n = sk_load_relaxed(&h->hdr->names_count);
	return n <= t->cap ? n : t->cap;
}

static int existing(const struct key *k, uint64_t block, uint64_t have, size_t size, uint64_t *off)
{
	if (size > have)
		return -EINVAL;
	*off = sk_names_obj(block, k->len);
	return 0;
}

/* names_lock held: allocate the named block and enter it. */
static int create(struct shmkit_heap *h, struct table *t, const struct key *k, size_t size,
                  uint64_t *block)
{
	uint32_t n = count_of(h, t);
	int err = 0;
	if (!t->e)
		err = rehash(h, t, TABLE_MIN);
	else if ((n + 1) * 4 > t->cap * 3)
		err = t->cap < TABLE_MAX ? rehash(h, t, t->cap * 2) : -ENOSPC;
	if (err)
		return err;
	/* A zero-sized object still gets an address of its own, like alloc(0). */
	uint64_t room = name_room(k->len) + (size ? size : 16);
	if (size > h->max_size || room > SIZE_MAX)
		return -ENOMEM;
	err = sk_heap_alloc_in(h, SK_HEAP_NAMES_ARENA, (size_t)room, block);
	if (err)
		return err;
	memcpy(h->base + *block, k->w, k->len); /* the padding is already zero */
	SK_CRASH_POINT();
	struct ent v;
	ent_of_key(&v, k, *block, size);
	uint32_t s = write_begin(h);
	entry_put(t->e, t->cap, &v);
	sk_store_relaxed(&h->hdr->names_count, n + 1);
	SK_CRASH_POINT();
	write_end(h, s);
	return 0;
}

SK_EXPORT int shmkit_heap_named(shmkit_heap_t *h, const char *name, size_t size, uint64_t *off)
{
	struct key k;
	uint64_t block, have;
	if (!h || !off)
		return -EINVAL;
	int err = key_make(&k, name);
	if (err)
		return err;
	err = find(h, &k, &block, &have);
	if (err == 0)
		return existing(&k, block, have, size, off);
	if (h->rdonly || (err != -ENOENT && err != -EAGAIN))
		return err;
	/* Not there (or writers kept busy): decide under the lock, where nobody else can. */
	err = names_lock(h);
	if (err)
		return err;
	struct table t;
	uint32_t slot;
	err = table_get(h, &t);
	if (!err)
		err = t.e ? probe(h, &t, &k, &slot, &block, &have) : -ENOENT;
	if (err == 0)
		err = existing(&k, block, have, size, off);
	else if (err == -ENOENT && (err = create(h, &t, &k, size, &block)) == 0)
		err = 1;
	names_unlock(h);
	if (err == 1)
		*off = sk_names_obj(block, k.len);
	return err;
}

SK_EXPORT int shmkit_heap_find(shmkit_heap_t *h, const char *name, uint64_t *off, uint64_t *size)
{
	struct key k;
	uint64_t block, have;
	if (!h || !off)
		return -EINVAL;
	int err = key_make(&k, name);
	if (!err)
		err = find(h, &k, &block, &have);
	if (err == -EAGAIN && !h->rdonly && (err = names_lock(h)) == 0) {
		struct table t;
		uint32_t slot;
		err = table_get(h, &t);
		if (!err)
			err = t.e ? probe(h, &t, &k, &slot, &block, &have) : -ENOENT;
		names_unlock(h);
	}
	if (err)
		return err;
	*off = sk_names_obj(block, k.len);
	if (size)
		*size = have;
	return 0;
}

SK_EXPORT int shmkit_heap_unname(shmkit_heap_t *h, const char *name)
{
	struct key k;
	struct table t;
	uint64_t block, have;
	uint32_t slot;
	if (!h)
		return -EINVAL;
	int err = key_make(&k, name);
	if (err)
		return err;
	if (h->rdonly)
		return -EACCES;
	err = names_lock(h);
	if (err)
		return err;
	err = table_get(h, &t);
	if (!err)
		err = t.e ? probe(h, &t, &k, &slot, &block, &have) : -ENOENT;
	if (!err) {
		uint32_t n = count_of(h, &t), s = write_begin(h);
		entry_erase(t.e, t.cap, slot);
		sk_store_relaxed(&h->hdr->names_count, n ? n - 1 : 0);
		SK_CRASH_POINT();
		write_end(h, s);
		SK_CRASH_POINT();
		/* Readers that found it before the write section may still hand out its offset:
		 * the caller's own race, as with any free. */
		sk_heap_free_in(h, 1, block);
		if (n <= 1)
			rehash(h, &t, 0); /* no names: no table (free space is real) */
		else if (t.cap > TABLE_MIN && (n - 1) * 8 < t.cap)
			rehash(h, &t, t.cap / 2);
	}
	names_unlock(h);
	return err;
}

/* ---- walking, snapshots, repair ---- */

/* Copy the name of entry e (bounds-checked, relaxed loads) into buf: its length, or 0. */
static uint32_t entry_name(struct shmkit_heap *h, struct sk_heap_name *e, char *buf)
{
	uint32_t len = sk_load_relaxed(&e->len);
	if (len == 0 || len > SK_HEAP_NAME_MAX)
		return 0;
	const SK_ATOMIC(uint64_t) *w = at(h, sk_load_relaxed(&e->block), name_room(len));
	if (!w)
		return 0;
	uint64_t words[(SK_HEAP_NAME_MAX + 1 + 15) / 8];
	for (uint32_t i = 0; i < name_room(len) / 8; i++)
		words[i] = sk_load_relaxed((SK_ATOMIC(uint64_t) *)(uintptr_t)&w[i]);
	memcpy(buf, words, len);
	buf[len] = '\0';
	return strlen(buf) == len ? len : 0;
}

static int snap(struct shmkit_heap *h, struct sk_names_snap **out, size_t *count)
{
	struct table t;
	*out = NULL;
	*count = 0;
	int err = table_get(h, &t);
	if (err || !t.e)
		return err;
	struct sk_names_snap *v = malloc(((size_t)count_of(h, &t) + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0, cap = count_of(h, &t) + 1;
	for (uint32_t i = 0; i < t.cap && n < cap; i++) {
		struct sk_heap_name *e = &t.e[i];
		if (!sk_load_relaxed(&e->hash) || !entry_name(h, e, v[n].name))
			continue;
		v[n].off = sk_names_obj(sk_load_relaxed(&e->block), strlen(v[n].name));
		v[n].size = sk_load_relaxed(&e->size);
		n++;
	}
	*out = v;
	*count = n;
	return 0;
}

int sk_names_snapshot(struct shmkit_heap *h, struct sk_names_snap **out, size_t *n)
{
	if (!h->rdonly) {
		int err = names_lock(h);
		if (err)
			return err;
		err = snap(h, out, n);
		names_unlock(h);
		return err;
	}
	for (int i = 0; i < FIND_TRIES / 10; i++) {
		uint32_t s0 = sk_load_acquire(&h->hdr->names_seq); /* see BARRIER_H6 */
		if (s0 & 1) {
			sched_yield();
			continue;
		}
		int err = snap(h, out, n);
		atomic_thread_fence(memory_order_acquire); /* see BARRIER_H6 */
		if (sk_load_relaxed(&h->hdr->names_seq) == s0)
			return err;
		free(*out);
		*out = NULL;
	}
	return -EAGAIN;
}

SK_EXPORT int shmkit_heap_names(shmkit_heap_t *h, shmkit_heap_name_fn fn, void *arg)
{
	struct sk_names_snap *v;
	size_t n;
	if (!h || !fn)
		return -EINVAL;
	int err = sk_names_snapshot(h, &v, &n);
	if (err)
		return err;
	int r = 0;
	for (size_t i = 0; i < n && !r; i++)
		r = fn(v[i].name, v[i].off, v[i].size, arg);
	free(v);
	return r ? r : (int)n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Does entry e check out: its block a names-arena allocation that holds its name, which its
 * hash and its copy of the name's head agree with? */
static int entry_ok(struct shmkit_heap *h, struct sk_heap_name *e)
{
	char name[SK_HEAP_NAME_MAX + 1];
	struct key k;
	uint64_t usable;
	uint32_t arena, len = entry_name(h, e, name);
	if (!len || key_make(&k, name) || k.hash != sk_load_relaxed(&e->hash) || !head_equal(e, &k))
		return 0;
	if (sk_heap_block(h, sk_load_relaxed(&e->block), &usable, &arena) ||
	    arena != SK_HEAP_NAMES_ARENA)
		return 0;
	uint64_t size = sk_load_relaxed(&e->size);
	return size <= usable && name_room(len) + (size ? size : 16) <= usable;
}

int sk_names_refs(struct shmkit_heap *h, uint64_t **out, size_t *count, uint64_t *bad)
{
	struct table t;
	*out = NULL;
	*count = 0;
	*bad = 0;
	if (table_get(h, &t) || !t.e) {
		*bad = t.off != 0;
		return 0;
	}
	uint64_t *v = malloc(((size_t)t.cap + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	size_t n = 0;
	v[n++] = t.off;
	for (uint32_t i = 0; i < t.cap; i++) {
		if (!sk_load_relaxed(&t.e[i].hash))
			continue;
		if (entry_ok(h, &t.e[i]))
			v[n++] = sk_load_relaxed(&t.e[i].block);
		else
			++*bad;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	*out = v;
	*count = n;
	return 0;
}

int sk_names_referenced(const uint64_t *refs, size_t n, uint64_t off)
{
	return n && bsearch(&off, refs, n, sizeof(*refs), cmp_u64) != NULL;
}

static int cmp_block(const void *a, const void *b)
{
	return cmp_u64(&((const struct ent *)a)->block, &((const struct ent *)b)->block);
}

/* Rebuild the table in place from the entries that check out, dropping duplicates (an entry
 * a backward shift had copied when its writer died). Returns how many there are. */
static uint32_t rebuild(struct shmkit_heap *h, struct table *t)
{
	struct ent *v = malloc((size_t)t->cap * sizeof(*v));
	uint32_t n = 0, kept = 0;
	if (!v)
		return count_of(h, t);
	for (uint32_t i = 0; i < t->cap; i++)
		if (sk_load_relaxed(&t->e[i].hash) && entry_ok(h, &t->e[i]))
			ent_load(&t->e[i], &v[n++]);
	qsort(v, n, sizeof(*v), cmp_block);
	for (uint32_t i = 0; i < t->cap; i++)
		sk_store_relaxed(&t->e[i].hash, 0);
	SK_CRASH_POINT();
	for (uint32_t i = 0; i < n; i++) {
		if (i && v[i].block == v[i - 1].block)
			continue;
		entry_put(t->e, t->cap, &v[i]);
		kept++;
	}
	free(v);
	return kept;
}

/* Every names-arena allocation that nothing refers to: named() or unname() killed half-way. */
static void free_unreferenced(struct shmkit_heap *h)
{
	uint64_t *refs, bad, *lost = NULL;
	size_t nrefs, nlost = 0, cap = 0;
	if (sk_names_refs(h, &refs, &nrefs, &bad))
		return;
	uint32_t tot = sk_load_relaxed(&h->npages);
	for (uint32_t p = 0; p < tot; p++) {
		struct sk_heap_page *d = &h->pages[p];
		uint32_t t = sk_load_relaxed(&d->tag), c = SK_TAG_CLASS(t);
		if (SK_TAG_ARENA(t) != SK_HEAP_NAMES_ARENA)
			continue;
		uint32_t kind = SK_TAG_KIND(t), nslots = kind == SK_PG_LARGE ? 1 : 0;
		if (kind == SK_PG_RUN && c < SK_HEAP_CLASSES)
			nslots = sk_classes[c].slots;
		for (uint32_t s = 0; s < nslots; s++) {
			uint64_t off = sk_page_off(h, p);
			if (kind == SK_PG_RUN) {
				if (!(sk_load_relaxed(&d->bits[s / 64]) & (uint64_t)1 << (s % 64)))
					continue;
				off += (uint64_t)s * sk_classes[c].size;
			}
			if (sk_names_referenced(refs, nrefs, off))
				continue;
			if (nlost == cap) {
				cap = cap ? cap * 2 : 16;
				uint64_t *nv = realloc(lost, cap * sizeof(*nv));
				if (!nv)
					break;
				lost = nv;
			}
			lost[nlost++] = off;
		}
	}
	for (size_t i = 0; i < nlost; i++)
		sk_heap_free_in(h, 1, lost[i]);
	free(lost);
	free(refs);
}

void sk_names_repair(struct shmkit_heap *h, uint32_t unused)
{
	struct table t;
	(void)unused;
	sk_heap_sync(h);
	uint32_t s = write_begin(h);
	if (table_get(h, &t)) {
		/* A table that is not one: every name is lost, their blocks are freed below. */
		sk_store_relaxed(&h->hdr->names_table, 0);
		sk_store_relaxed(&h->hdr->names_cap, 0);
		sk_heap_damaged(h);
		t.e = NULL;
	}
	sk_store_relaxed(&h->hdr->names_count, t.e ? rebuild(h, &t) : 0);
	SK_CRASH_POINT();
	write_end(h, s);
	free_unreferenced(h);
}
