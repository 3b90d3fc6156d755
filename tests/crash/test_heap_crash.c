/* SPDX-License-Identifier: MIT */
/*
 * Description: kill -9 at every crash point of every heap operation (small and large alloc
 * and free, run refill and retire, growth, named objects, the table's rehash, the sweep, and
 * the repairs themselves), then check that the next caller repairs the heap: no damage,
 * nothing leaked but the interrupted call's block, every completed allocation intact.
 */
#include <signal.h>

#include "../heap/heaptest.h"
#include "heap/heap.h"

#define LOG_MAX 1024
#define BIG     (1u << 20)

/* What the script finished, in memory the test shares with it (so it survives the kill). */
struct entry {
	uint64_t off, usable, seed;
	uint32_t live, named;
	char name[24];
};
struct log {
	uint32_t n;
	struct entry e[LOG_MAX];
};

static struct log *lg;
static uint64_t seed;

static void logged_alloc(shmkit_heap_t *h, size_t size)
{
	uint64_t off, usable;
	if (shmkit_heap_alloc(h, size, &off) || shmkit_heap_usable_size(h, off, &usable))
		_exit(20);
	heap_fill(shmkit_heap_ptr(h, off), usable, ++seed);
	struct entry *e = &lg->e[lg->n];
	*e = (struct entry){off, usable, seed, 1, 0, ""};
	__atomic_store_n(&lg->n, lg->n + 1, __ATOMIC_RELEASE); /* logged only once complete */
}

static void logged_free(shmkit_heap_t *h, uint32_t i)
{
	lg->e[i].live = 0; /* before: a kill inside free leaves at most this block allocated */
	if (shmkit_heap_free(h, lg->e[i].off))
		_exit(21);
}

static void logged_named(shmkit_heap_t *h, int i, size_t size)
{
	char name[24];
	uint64_t off;
	snprintf(name, sizeof(name), "crash-%d", i);
	if (shmkit_heap_named(h, name, size, &off) != 1)
		_exit(22);
	heap_fill(shmkit_heap_ptr(h, off), size, ++seed);
	struct entry *e = &lg->e[lg->n];
	*e = (struct entry){off, size, seed, 1, 1, ""};
	strcpy(e->name, name);
	__atomic_store_n(&lg->n, lg->n + 1, __ATOMIC_RELEASE);
}

static void logged_unname(shmkit_heap_t *h, uint32_t i)
{
	lg->e[i].live = 0;
	if (shmkit_heap_unname(h, lg->e[i].name))
		_exit(23);
}

/* Die holding every lock of the heap: the script's first calls repair after it. */
static void die_holding_locks(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		shmkit_heap_t *h;
		sk_crash_countdown = 0;
		if (shmkit_heap_open(&h, heap_name, 0))
			_exit(1);
		shmkit_mutex_lock(&h->hdr->names_lock);
		for (uint32_t a = 0; a < SK_HEAP_NARENAS; a++)
			shmkit_mutex_lock(&h->hdr->arenas[a].lock);
		shmkit_mutex_lock(&h->hdr->pages_lock);
		raise(SIGKILL);
	}
	waitpid(pid, NULL, 0);
}

/* Every operation once (and every path of each), in a child whose countdown is set. */
static void script(void)
{
	shmkit_heap_t *h;
	die_holding_locks();
	if (shmkit_heap_open(&h, heap_name, 0))
		_exit(24);
	for (int i = 0; i < 200; i++) /* fills class-64 runs: refill, FULL, new runs */
		logged_alloc(h, 64);
	for (uint32_t i = 0; i < 64; i++) /* the first run: relisted, then retired */
		logged_free(h, i);
	for (int i = 0; i < 3; i++)
		logged_alloc(h, 5 * SK_HEAP_PAGE);
	uint32_t big = lg->n - 3;
	logged_free(h, big + 1); /* a hole, then both neighbours coalesce into it */
	logged_free(h, big);
	logged_free(h, big + 2);
	logged_alloc(h, BIG);        /* grows the heap */
	for (int i = 0; i < 40; i++) /* the name table is made, then rehashed */
		logged_named(h, i, (size_t)(i % 3 ? 40 : 5000));
	for (uint32_t i = 0; i < lg->n; i++)
		if (lg->e[i].named && lg->e[i].live)
			logged_unname(h, i); /* shrinks, then frees the table */
	uint64_t off;
	if (shmkit_heap_alloc(h, 3u << 20, &off) != -ENOMEM) /* sweeps first */
		_exit(25);
	for (uint32_t i = 0; i < lg->n; i++)
		if (lg->e[i].live && !lg->e[i].named && lg->e[i].usable == 64)
			logged_free(h, i);
	shmkit_heap_close(h);
}

static void check_after(int k)
{
	shmkit_heap_t *h;
	struct shmkit_heap_report r;
	uint64_t live = 0, biggest = BIG;
	cr_assert_eq(shmkit_heap_open(&h, heap_name, 0), 0, "step %d", k);
	/* The next caller repairs whatever the dead process left (it held a lock, or not). */
	int c = shmkit_heap_check(h, &r, 0);
	cr_assert(c == 0 || c == 1, "step %d: check %d: %s", k, c, r.first_problem);
	cr_assert_eq(r.damage, 0, "step %d: %s", k, r.first_problem);
	cr_assert_leq(r.leaked_blocks, 1, "step %d: %s", k, r.first_problem);
	cr_assert_leq(r.leaked, biggest, "step %d", k);
	for (uint32_t i = 0; i < lg->n; i++) {
		struct entry *e = &lg->e[i];
		if (!e->live)
			continue;
		live += e->named ? 0 : e->usable;
		cr_assert_eq(heap_verify(shmkit_heap_ptr(h, e->off), e->usable, e->seed), 0,
		             "step %d: block %u lost its contents", k, i);
		if (e->named) {
			uint64_t off;
			cr_assert_eq(shmkit_heap_find(h, e->name, &off, NULL), 0, "step %d", k);
			cr_assert_eq(off, e->off);
		} else {
			uint64_t usable;
			cr_assert_eq(shmkit_heap_usable_size(h, e->off, &usable), 0, "step %d", k);
		}
	}
	/* At worst the interrupted call's block is still allocated with nobody holding it. */
	uint64_t named_bytes = 0;
	for (uint32_t i = 0; i < lg->n; i++)
		if (lg->e[i].live && lg->e[i].named)
			named_bytes += 5000 + 64 + SK_HEAP_PAGE;
	cr_assert_geq(r.used, live, "step %d", k);
	cr_assert_leq(r.used, live + named_bytes + biggest + SK_HEAP_PAGE, "step %d", k);
	/* What the check can see leaked, its repair gives back. */
	c = shmkit_heap_check(h, &r, SHMKIT_HEAP_CHECK_REPAIR);
	cr_assert_eq(c, 0, "step %d: after repair %d: %s", k, c, r.first_problem);
	cr_assert_eq(r.leaked, 0);
	/* And the heap keeps working. */
	for (uint32_t i = 0; i < lg->n; i++)
		if (lg->e[i].live)
			cr_assert_eq(lg->e[i].named ? shmkit_heap_unname(h, lg->e[i].name)
			                            : shmkit_heap_free(h, lg->e[i].off),
			             0, "step %d", k);
	uint64_t off;
	cr_assert_eq(shmkit_heap_alloc(h, 100000, &off), 0, "step %d", k);
	cr_assert_eq(shmkit_heap_free(h, off), 0);
	cr_assert_eq(shmkit_heap_check(h, &r, 0), 0, "step %d: %s", k, r.first_problem);
	shmkit_heap_close(h);
}

Test(crash, heap_kill9_at_every_step_is_repaired, .timeout = 300)
{
	int k;
	lg = tu_shared_alloc(sizeof(*lg));
	cr_assert_not_null(lg);
	for (k = 1; k < 5000; k++) {
		shmkit_heap_t *h = heap_fresh(192u << 10, 4u << 20);
		shmkit_heap_close(h);
		memset(lg, 0, sizeof(*lg));
		pid_t pid = fork();
		if (pid == 0) {
			sk_crash_countdown = k;
			script();
			_exit(sk_crash_countdown > 0 ? 0 : 26);
		}
		int status = tu_wait_timeout(pid, 30000);
		cr_assert(status == 0 || status == 128 + SIGKILL, "step %d: child status %d", k,
		          status);
		check_after(k);
		shmkit_heap_unlink(heap_name);
		heap_name[0] = '\0';
		if (status == 0)
			break; /* k is past the last crash point */
	}
	cr_assert_gt(k, 100, "only %d crash points were reached", k - 1);
	cr_log_info("%d crash points exercised", k - 1);
	tu_shared_free(lg, sizeof(*lg));
}
