/* SPDX-License-Identifier: MIT */
/*
 * Description: random sequences of alloc, free, bad free, named, find and unname against a
 * reference model: no two live blocks overlap, every block keeps its contents, every bad
 * free is refused, and the check accounts for the used bytes exactly.
 */
#include "heaptest.h"
#include "heap/heap.h"

#define LIVE_MAX  3000
#define NAMES_MAX 64

struct block {
	uint64_t off, usable, seed;
};

struct model {
	shmkit_heap_t *h;
	struct block live[LIVE_MAX];
	int nlive;
	uint64_t freed[256]; /* recently freed offsets, for double frees */
	int nfreed;
	struct {
		uint64_t off, size, usable;
		int present;
	} names[NAMES_MAX];
	uint64_t seed;
	int allocs, enomem, checks;
};

/* What a named object of this name and size takes from the heap. */
static uint64_t named_usable(const char *name, uint64_t size)
{
	uint64_t room = SK_ALIGN_UP(strlen(name) + 1, 16) + (size ? size : 16);
	return room <= SK_HEAP_SMALL_MAX ? sk_classes[sk_class_of(room)].size
	                                 : SK_ALIGN_UP(room, (uint64_t)SK_HEAP_PAGE);
}

static void no_overlap(struct model *m, uint64_t off, uint64_t len)
{
	for (int i = 0; i < m->nlive; i++) {
		const struct block *b = &m->live[i];
		cr_assert(off + len <= b->off || b->off + b->usable <= off,
		          "[%#llx, +%llu) overlaps live [%#llx, +%llu)", (unsigned long long)off,
		          (unsigned long long)len, (unsigned long long)b->off,
		          (unsigned long long)b->usable);
	}
	for (int i = 0; i < NAMES_MAX; i++)
		if (m->names[i].present)
			cr_assert(off + len <= m->names[i].off ||
			              m->names[i].off + m->names[i].size <= off,
			          "overlaps named object %d", i);
}

static size_t pick_size(void)
{
	unsigned r = tu_rand(100);
	if (r < 3)
		return 0;
	if (r < 70)
		return 1 + tu_rand(256);
	if (r < 95)
		return 1 + tu_rand(SK_HEAP_SMALL_MAX);
	return SK_HEAP_SMALL_MAX + 1 + tu_rand(40000);
}

static void op_alloc(struct model *m)
{
	size_t size = pick_size();
	uint64_t off, usable;
	if (m->nlive == LIVE_MAX)
		return;
	int r = shmkit_heap_alloc(m->h, size, &off);
	if (r == -ENOMEM) {
		m->enomem++;
		return;
	}
	m->allocs++;
	cr_assert_eq(r, 0, "alloc(%zu): %s", size, strerror(-r));
	cr_assert_eq(shmkit_heap_usable_size(m->h, off, &usable), 0);
	cr_assert_geq(usable, size);
	no_overlap(m, off, usable);
	uint8_t *p = shmkit_heap_ptr(m->h, off);
	for (uint64_t i = 0; i < usable; i++)
		cr_assert_eq(p[i], 0, "not zeroed");
	struct block *b = &m->live[m->nlive++];
	*b = (struct block){off, usable, m->seed++};
	heap_fill(p, usable, b->seed);
	/* A recently freed offset handed out again is no longer a double free. */
	for (int i = 0; i < m->nfreed; i++)
		if (m->freed[i] == off)
			m->freed[i] = m->freed[--m->nfreed];
}

static void op_free(struct model *m)
{
	if (!m->nlive)
		return;
	int i = (int)tu_rand((unsigned)m->nlive);
	struct block b = m->live[i];
	cr_assert_eq(heap_verify(shmkit_heap_ptr(m->h, b.off), b.usable, b.seed), 0,
	             "block %#llx lost its contents", (unsigned long long)b.off);
	cr_assert_eq(shmkit_heap_free(m->h, b.off), 0);
	m->live[i] = m->live[--m->nlive];
	if (m->nfreed < (int)SK_ARRAY_SIZE(m->freed))
		m->freed[m->nfreed++] = b.off;
}

static void op_bad_free(struct model *m)
{
	if (m->nfreed && tu_rand(2)) {
		uint64_t off = m->freed[tu_rand((unsigned)m->nfreed)];
		cr_assert_eq(shmkit_heap_free(m->h, off), -EINVAL, "double free of %#llx",
		             (unsigned long long)off);
	} else if (m->nlive) {
		struct block *b = &m->live[tu_rand((unsigned)m->nlive)];
		uint64_t inside = b->off + 16 * (1 + tu_rand((unsigned)(b->usable / 16)));
		if (inside < b->off + b->usable)
			cr_assert_eq(shmkit_heap_free(m->h, inside), -EINVAL,
			             "free inside a block");
	}
}

static void op_named(struct model *m)
{
	int i = (int)tu_rand(NAMES_MAX);
	char name[32];
	uint64_t off, size = tu_rand(3) ? tu_rand(300) : tu_rand(10000);
	snprintf(name, sizeof(name), "model-object-%d", i);
	int r = shmkit_heap_named(m->h, name, m->names[i].present ? m->names[i].size : size, &off);
	if (r == -ENOMEM)
		return;
	if (m->names[i].present) {
		cr_assert_eq(r, 0, "%s exists: %d", name, r);
		cr_assert_eq(off, m->names[i].off);
		cr_assert_eq(
		    heap_verify(shmkit_heap_ptr(m->h, off), m->names[i].size, (uint64_t)i * 7777),
		    0);
		cr_assert_eq(shmkit_heap_named(m->h, name, m->names[i].size + 1, &off), -EINVAL);
		return;
	}
	cr_assert_eq(r, 1, "%s is new: %d", name, r);
	no_overlap(m, off, size);
	m->names[i].off = off;
	m->names[i].size = size;
	m->names[i].usable = named_usable(name, size);
	m->names[i].present = 1;
	heap_fill(shmkit_heap_ptr(m->h, off), size, (uint64_t)i * 7777);
}

static void op_unname(struct model *m)
{
	int i = (int)tu_rand(NAMES_MAX);
	char name[32];
	snprintf(name, sizeof(name), "model-object-%d", i);
	cr_assert_eq(shmkit_heap_unname(m->h, name), m->names[i].present ? 0 : -ENOENT);
	m->names[i].present = 0;
}

static void check_accounts(struct model *m)
{
	uint64_t used = 0, blocks = 0, named = 0;
	for (int i = 0; i < m->nlive; i++)
		used += m->live[i].usable;
	blocks = (uint64_t)m->nlive;
	for (int i = 0; i < NAMES_MAX; i++)
		if (m->names[i].present) {
			used += m->names[i].usable;
			blocks++;
			named++;
		}
	struct shmkit_heap_report r = heap_report(m->h, 0);
	m->checks++;
	cr_assert_eq(r.used, used, "used %llu, the model says %llu", (unsigned long long)r.used,
	             (unsigned long long)used);
	cr_assert_eq(r.blocks, blocks);
	cr_assert_eq(r.named, named);
	cr_assert_eq(r.leaked, 0);
	cr_assert_eq(r.damage, 0);
	cr_assert_leq(r.largest_free, r.free);
}

static void run_model(uint64_t size, uint64_t max_size, int ops)
{
	struct model *m = calloc(1, sizeof(*m));
	m->h = heap_fresh(size, max_size);
	for (int n = 0; n < ops; n++) {
		unsigned r = tu_rand(100);
		/* Phases: mostly allocating, then mostly freeing, so the heap fills and empties. */
		int filling = (n / 2000) % 2 == 0;
		if (r < (filling ? 45u : 25u))
			op_alloc(m);
		else if (r < 75)
			op_free(m);
		else if (r < 80)
			op_bad_free(m);
		else if (r < 92)
			op_named(m);
		else if (r < 97)
			op_unname(m);
		else if (r < 98)
			check_accounts(m);
	}
	check_accounts(m);
	cr_assert_gt(m->allocs, ops / 5);
	cr_assert_gt(m->checks, ops / 200);
	cr_log_info("%d allocations, %d refused (-ENOMEM), %d checks", m->allocs, m->enomem,
	            m->checks);
	while (m->nlive)
		op_free(m);
	for (int i = 0; i < NAMES_MAX; i++) {
		char name[32];
		snprintf(name, sizeof(name), "model-object-%d", i);
		shmkit_heap_unname(m->h, name);
		m->names[i].present = 0;
	}
	check_accounts(m);
	struct shmkit_heap_report r = heap_report(m->h, 0);
	uint64_t half;
	cr_assert_eq(shmkit_heap_alloc(m->h, (size_t)(r.size / 2), &half), 0,
	             "half of the heap once all is freed");
	heap_gone(m->h);
	free(m);
}

Test(heap_model, fixed_heap, .timeout = 120)
{
	run_model(4u << 20, 0, 20000);
}

Test(heap_model, growing_heap, .timeout = 120)
{
	run_model(512u << 10, 24u << 20, 20000);
}

Test(heap_model, tiny_heap_runs_out_often, .timeout = 120)
{
	run_model(256u << 10, 0, 20000);
}
