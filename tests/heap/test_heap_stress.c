/* SPDX-License-Identifier: MIT */
/*
 * Description: several processes allocate, write, check and free at once on one growing heap,
 * hand blocks to each other to free, and race to create the same named objects; afterwards
 * every block still holds its pattern, each name had exactly one creator, and the exact check
 * finds no damage, no leak, and exactly the bytes the survivors hold.
 */
#include "heaptest.h"
#include "heap/heap.h"

#define PROCS  4
#define OPS    60000
#define LOCAL  400
#define BOX    256
#define SHARED 16
#define KEEP   64

struct shared {
	_Atomic uint64_t box[BOX]; /* blocks handed from one process to another, 0 = empty */
	_Atomic int creators[SHARED];
	_Atomic uint64_t named_off[SHARED];
	_Atomic int errors;
	uint64_t kept[PROCS][KEEP]; /* what each process leaves allocated when it ends */
	char why[PROCS][128];
};

static struct shared *sh;

#define FAIL(i, ...)                                                                               \
	do {                                                                                       \
		snprintf(sh->why[i], sizeof(sh->why[i]), __VA_ARGS__);                             \
		atomic_fetch_add(&sh->errors, 1);                                                  \
		_exit(1);                                                                          \
	} while (0)

/* A block carries its seed in its first 8 bytes and the seed's pattern after them. */
static void stamp(shmkit_heap_t *h, uint64_t off, uint64_t seed)
{
	uint64_t usable;
	uint8_t *p = shmkit_heap_ptr(h, off);
	if (shmkit_heap_usable_size(h, off, &usable) || usable < 16)
		return;
	memcpy(p, &seed, 8);
	heap_fill(p + 8, usable - 8, seed);
}

static int intact(shmkit_heap_t *h, uint64_t off)
{
	uint64_t usable, seed;
	uint8_t *p = shmkit_heap_ptr(h, off);
	if (!p || shmkit_heap_usable_size(h, off, &usable))
		return 0;
	memcpy(&seed, p, 8);
	return heap_verify(p + 8, usable - 8, seed) == 0;
}

static size_t pick_size(void)
{
	unsigned r = tu_rand(100);
	return r < 80 ? 16 + tu_rand(240) : r < 97 ? 16 + tu_rand(3500) : 4000 + tu_rand(60000);
}

static void worker(int me)
{
	shmkit_heap_t *h;
	uint64_t local[LOCAL], off, seed = (uint64_t)me << 40;
	int n = 0;
	if (shmkit_heap_open(&h, heap_name, 0))
		FAIL(me, "open");
	for (int op = 0; op < OPS; op++) {
		unsigned r = tu_rand(100), k;
		if (r < 40 && n < LOCAL) {
			int e = shmkit_heap_alloc(h, pick_size(), &off);
			if (e == -ENOMEM)
				continue;
			if (e)
				FAIL(me, "alloc: %d", e);
			stamp(h, off, ++seed);
			local[n++] = off;
		} else if (r < 70 && n) {
			k = tu_rand((unsigned)n);
			if (!intact(h, local[k]))
				FAIL(me, "own block %#llx damaged", (unsigned long long)local[k]);
			if (shmkit_heap_free(h, local[k]))
				FAIL(me, "free own");
			local[k] = local[--n];
		} else if (r < 80 && n) {
			uint64_t empty = 0;
			k = tu_rand((unsigned)n);
			if (atomic_compare_exchange_strong(&sh->box[tu_rand(BOX)], &empty,
			                                   local[k]))
				local[k] = local[--n]; /* someone else frees it now */
		} else if (r < 90) {
			uint64_t got = atomic_exchange(&sh->box[tu_rand(BOX)], 0);
			if (got && !intact(h, got))
				FAIL(me, "handed block %#llx damaged", (unsigned long long)got);
			if (got && shmkit_heap_free(h, got))
				FAIL(me, "free of a handed block");
		} else if (r < 96) {
			char name[32];
			k = tu_rand(SHARED);
			snprintf(name, sizeof(name), "stress-shared-%u", k);
			int e = shmkit_heap_named(h, name, 64, &off);
			if (e == 1) {
				atomic_fetch_add(&sh->creators[k], 1);
				atomic_store(&sh->named_off[k], off);
			} else if (e == 0) {
				uint64_t seen = atomic_load(&sh->named_off[k]);
				if (seen && seen != off)
					FAIL(me, "%s at two offsets", name);
			} else if (e != -ENOMEM) {
				FAIL(me, "named: %d", e);
			}
		} else {
			char name[32];
			snprintf(name, sizeof(name), "stress-own-%d-%u", me, tu_rand(8));
			int e = shmkit_heap_named(h, name, 100, &off);
			if (e == 0 && shmkit_heap_unname(h, name))
				FAIL(me, "unname");
			if (e < 0 && e != -ENOMEM)
				FAIL(me, "own named: %d", e);
		}
	}
	for (int i = 0; i < n; i++) {
		if (!intact(h, local[i]))
			FAIL(me, "own block damaged at the end");
		if (i < KEEP)
			sh->kept[me][i] = local[i];
		else if (shmkit_heap_free(h, local[i]))
			FAIL(me, "final free");
	}
	for (unsigned k = 0; k < 8; k++) {
		char name[32];
		snprintf(name, sizeof(name), "stress-own-%d-%u", me, k);
		shmkit_heap_unname(h, name);
	}
	shmkit_heap_close(h);
	_exit(0);
}

Test(heap_stress, processes_at_once_keep_the_heap_consistent, .timeout = 120)
{
	sh = tu_shared_alloc(sizeof(*sh));
	shmkit_heap_t *h = heap_fresh(1u << 20, 48u << 20);
	pid_t pids[PROCS];
	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			worker(i);
	}
	for (int i = 0; i < PROCS; i++) {
		int st = tu_wait_timeout(pids[i], 100000);
		cr_expect_eq(st, 0, "worker %d: status %d: %s", i, st, sh->why[i]);
	}
	cr_assert_eq(atomic_load(&sh->errors), 0);
	/* What was handed over and not taken, then what the workers kept. */
	for (int i = 0; i < BOX; i++) {
		uint64_t off = atomic_load(&sh->box[i]);
		if (off) {
			cr_assert(intact(h, off));
			cr_assert_eq(shmkit_heap_free(h, off), 0);
		}
	}
	uint64_t kept = 0, usable;
	for (int i = 0; i < PROCS; i++)
		for (int k = 0; k < KEEP; k++)
			if (sh->kept[i][k]) {
				cr_assert(intact(h, sh->kept[i][k]), "kept block damaged");
				cr_assert_eq(shmkit_heap_usable_size(h, sh->kept[i][k], &usable),
				             0);
				kept += usable;
			}
	uint64_t named = 0;
	for (int k = 0; k < SHARED; k++) {
		int c = atomic_load(&sh->creators[k]);
		cr_assert_leq(c, 1, "shared name %d created %d times", k, c);
		if (c)
			named += sk_classes[sk_class_of(SK_ALIGN_UP(strlen("stress-shared-0") +
			                                                (k >= 10) + 1,
			                                            16) +
			                                64)]
			             .size;
	}
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.used, kept + named, "used %llu, survivors hold %llu + %llu named",
	             (unsigned long long)r.used, (unsigned long long)kept,
	             (unsigned long long)named);
	cr_assert_gt(r.size, 1u << 20, "the heap grew");
	for (int i = 0; i < PROCS; i++)
		for (int k = 0; k < KEEP; k++)
			if (sh->kept[i][k])
				cr_assert_eq(shmkit_heap_free(h, sh->kept[i][k]), 0);
	for (int k = 0; k < SHARED; k++) {
		char name[32];
		snprintf(name, sizeof(name), "stress-shared-%d", k);
		shmkit_heap_unname(h, name);
	}
	r = heap_report(h, 0);
	cr_assert_eq(r.used, 0);
	cr_assert_eq(r.named, 0);
	heap_gone(h);
	tu_shared_free(sh, sizeof(*sh));
}
