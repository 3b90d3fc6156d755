/* SPDX-License-Identifier: MIT */
/*
 * bench_heap: the managed-segment allocator against what a user would pick instead, in the
 * same run: 64-byte alloc + free in one process against glibc malloc + free and against
 * Boost.Interprocess managed_shared_memory allocate + deallocate (batches interleaved); the
 * same with two pinned processes allocating at once (throughput against one process); and a
 * named-object lookup among 10 000 names (against Boost's find<T>).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmkit.h>
#include "common.h"
#include "internal/atomic.h"

enum {
	BATCH = 10000,      /* alloc+free pairs per timed batch */
	ROUNDS = 300,       /* batches per implementation, interleaved */
	MP_BATCHES = 100,   /* batches per process in one throughput run */
	MP_RUNS = 15,       /* throughput runs, one and two processes alternating */
	NAMES = 10000,      /* named objects */
	LOOKUPS = 1000,     /* lookups per timed batch */
	LOOKUP_ROUNDS = 300 /* batches per implementation */
};
#define SIZE      64
#define HEAP_SIZE (64u << 20)

#ifdef SHMKIT_BENCH_BOOST
int bx_open(const char *name, size_t size);
void bx_close(const char *name);
void bx_remove(const char *name);
double bx_alloc_free(int n, size_t size);
int bx_names(const char *const *names, int n);
double bx_find(const char *const *names, int n);
#endif

static char heap_name[64], boost_name[64];
static pid_t owner;

static void cleanup(void)
{
	if (getpid() != owner)
		return;
	shmkit_heap_unlink(heap_name);
#ifdef SHMKIT_BENCH_BOOST
	bx_remove(boost_name);
#endif
}

static void on_fatal_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_heap: %s: %s\n", what, strerror(err));
	cleanup();
	exit(1);
}

/* n sample sets at once */
static void samples_init(struct bn_samples *s, int n, size_t cap)
{
	for (int i = 0; i < n; i++)
		bn_samples_init(&s[i], cap);
}

static void samples_free(struct bn_samples *s, int n)
{
	for (int i = 0; i < n; i++)
		bn_samples_free(&s[i]);
}

/* ---- one process ---- */

static double batch_glibc(void)
{
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < BATCH; i++) {
		void *p = malloc(SIZE);
		BN_KEEP(p);
		free(p);
	}
	return (double)(bn_now_ns() - t0) / BATCH;
}

/* calloc: what malloc costs when it zeroes, as shmkit_heap_alloc does (context, no target). */
static double batch_calloc(void)
{
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < BATCH; i++) {
		void *p = calloc(1, SIZE);
		BN_KEEP(p);
		free(p);
	}
	return (double)(bn_now_ns() - t0) / BATCH;
}

static double batch_heap(shmkit_heap_t *h)
{
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < BATCH; i++) {
		uint64_t off;
		if (shmkit_heap_alloc(h, SIZE, &off))
			die("alloc", ENOMEM);
		BN_KEEP(off);
		shmkit_heap_free(h, off);
	}
	return (double)(bn_now_ns() - t0) / BATCH;
}

struct one {
	struct bn_stats heap, glibc, zeroed, boost;
	int has_boost;
};

static void bench_one(shmkit_heap_t *h, struct one *o)
{
	enum { HEAP, GLIBC, ZEROED, BOOST };
	struct bn_samples s[4];
	samples_init(s, 4, ROUNDS);
	for (int r = -10; r < ROUNDS; r++) { /* the first ten warm up */
		double t[4] = {batch_heap(h), batch_glibc(), batch_calloc(), -1};
#ifdef SHMKIT_BENCH_BOOST
		t[BOOST] = bx_alloc_free(BATCH, SIZE);
#endif
		for (int i = 0; i < 4 && r >= 0; i++)
			if (t[i] >= 0)
				bn_samples_add(&s[i], t[i]);
	}
	bn_stats(&s[HEAP], &o->heap);
	bn_stats(&s[GLIBC], &o->glibc);
	bn_stats(&s[ZEROED], &o->zeroed);
	o->has_boost = s[BOOST].n > 0;
	if (o->has_boost)
		bn_stats(&s[BOOST], &o->boost);
	bn_dump("heap_alloc_free", "shmkit", &s[HEAP]);
	bn_dump("heap_alloc_free", "glibc", &s[GLIBC]);
	if (o->has_boost)
		bn_dump("heap_alloc_free", "boost", &s[BOOST]);
	samples_free(s, 4);
}

/* ---- two processes ---- */

struct mp {
	SK_ATOMIC(uint32_t) ready, go;
	uint64_t ns[2];
};

static void worker(shmkit_heap_t *h, struct mp *m, int me, int boost)
{
	bn_pin_cpu(me);
	atomic_fetch_add(&m->ready, 1);
	while (!atomic_load(&m->go))
		sk_cpu_relax();
	uint64_t t0 = bn_now_ns();
	for (int b = 0; b < MP_BATCHES; b++) {
#ifdef SHMKIT_BENCH_BOOST
		if (boost) {
			bx_alloc_free(BATCH, SIZE);
			continue;
		}
#endif
		batch_heap(h);
	}
	m->ns[me] = bn_now_ns() - t0;
}

/* Pairs per microsecond of procs processes at once (each its own CPU, the handle inherited
 * through fork). */
static double throughput(shmkit_heap_t *h, int procs, int boost)
{
	struct mp *m =
	    mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		die("mmap", errno);
	pid_t pid[2];
	for (int i = 0; i < procs; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("fork", errno);
		if (pid[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			worker(h, m, i, boost);
			_exit(0);
		}
	}
	while (atomic_load(&m->ready) != (uint32_t)procs)
		sk_cpu_relax();
	atomic_store(&m->go, 1);
	uint64_t longest = 0;
	for (int i = 0; i < procs; i++) {
		int st;
		waitpid(pid[i], &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			die("worker", EIO);
		longest = m->ns[i] > longest ? m->ns[i] : longest;
	}
	munmap(m, sizeof(*m));
	return (double)procs * MP_BATCHES * BATCH / ((double)longest / 1000.0);
}

struct two {
	struct bn_stats one, two, boost_one, boost_two;
	int has_boost;
};

static void bench_two(shmkit_heap_t *h, struct two *t)
{
	struct bn_samples s[4]; /* one and two processes; the same for Boost */
	samples_init(s, 4, MP_RUNS);
	for (int r = 0; r < MP_RUNS; r++) {
		bn_samples_add(&s[0], throughput(h, 1, 0));
		bn_samples_add(&s[1], throughput(h, 2, 0));
#ifdef SHMKIT_BENCH_BOOST
		if (r < MP_RUNS / 3) { /* a few runs suffice: Boost serialises on one mutex */
			bn_samples_add(&s[2], throughput(h, 1, 1));
			bn_samples_add(&s[3], throughput(h, 2, 1));
		}
#endif
	}
	bn_stats(&s[0], &t->one);
	bn_stats(&s[1], &t->two);
	t->has_boost = s[2].n > 0;
	if (t->has_boost) {
		bn_stats(&s[2], &t->boost_one);
		bn_stats(&s[3], &t->boost_two);
	}
	samples_free(s, 4);
}

/* ---- named lookups ---- */

static double batch_find(shmkit_heap_t *h, char (*names)[32])
{
	uint64_t t0 = bn_now_ns();
	for (int i = 0; i < LOOKUPS; i++) {
		uint64_t off;
		if (shmkit_heap_named(h, names[i], 16, &off) != 0)
			die("named lookup", ENOENT);
		BN_KEEP(off);
	}
	return (double)(bn_now_ns() - t0) / LOOKUPS;
}

struct look {
	struct bn_stats heap, boost;
	int has_boost;
};

static void bench_lookup(shmkit_heap_t *h, struct look *l)
{
	char **names = malloc(NAMES * sizeof(*names));
	int *order = malloc(NAMES * sizeof(*order));
	const char **perm = malloc(LOOKUPS * sizeof(*perm));
	if (!names || !order || !perm)
		die("malloc", ENOMEM);
	for (int i = 0; i < NAMES; i++) {
		uint64_t off;
		if (asprintf(&names[i], "bench/object-%05d", i) < 0)
			die("asprintf", ENOMEM);
		int r = shmkit_heap_named(h, names[i], 16, &off);
		if (r != 1)
			die("named create", r < 0 ? -r : EEXIST);
		order[i] = i;
	}
	for (int i = NAMES - 1; i > 0; i--) { /* random order: no help from the caches */
		int j = rand() % (i + 1), x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
#ifdef SHMKIT_BENCH_BOOST
	if (bx_names((const char *const *)names, NAMES))
		die("boost construct", ENOMEM);
#endif
	/*
	 * Each batch looks up 1000 names in random order; the caller's strings are copied next to
	 * each other first, so that what is timed is the lookup, not fetching the string. The two
	 * implementations alternate every 10 batches, not every batch: each one's tables would
	 * otherwise evict the other's from the caches and TLB before every batch. The first batch
	 * after each switch is not counted.
	 */
	char(*batch)[32] = malloc(LOOKUPS * sizeof(*batch));
	if (!batch)
		die("malloc", ENOMEM);
	struct bn_samples sh, sb;
	bn_samples_init(&sh, LOOKUP_ROUNDS);
	bn_samples_init(&sb, LOOKUP_ROUNDS);
	for (int r = 0, from = 0; r < LOOKUP_ROUNDS / 10; r++) {
		for (int impl = 0; impl < 2; impl++) {
			for (int k = -1; k < 10; k++, from = (from + LOOKUPS) % NAMES) {
				for (int i = 0; i < LOOKUPS; i++) {
					snprintf(batch[i], sizeof(batch[i]), "%s",
					         names[order[(from + i) % NAMES]]);
					perm[i] = batch[i];
				}
				double t = -1;
				if (impl == 0)
					t = batch_find(h, batch);
#ifdef SHMKIT_BENCH_BOOST
				else
					t = bx_find(perm, LOOKUPS);
#endif
				if (k >= 0 && t >= 0)
					bn_samples_add(impl ? &sb : &sh, t);
			}
		}
	}
	free(batch);
	bn_stats(&sh, &l->heap);
	l->has_boost = sb.n > 0;
	if (l->has_boost)
		bn_stats(&sb, &l->boost);
	bn_samples_free(&sh);
	bn_samples_free(&sb);
	for (int i = 0; i < NAMES; i++)
		free(names[i]);
	free(names);
	free(order);
	free(perm);
}

/* ---- report ---- */

static void row(const char *name, const struct bn_stats *st, const char *ratio, const char *target,
                const char *met)
{
	bn_row(name, bn_fmt("%.1f", st->median), bn_fmt("%.1f", st->p99), ratio, target, met, NULL);
}

int main(void)
{
	owner = getpid();
	snprintf(heap_name, sizeof(heap_name), "shmkit-bench-heap-%d", (int)owner);
	snprintf(boost_name, sizeof(boost_name), "shmkit-bench-boost-%d", (int)owner);
	signal(SIGINT, on_fatal_signal);
	signal(SIGTERM, on_fatal_signal);
	signal(SIGHUP, on_fatal_signal);
	atexit(cleanup);
	bn_pin_cpu(0);

	shmkit_heap_t *h;
	int err = shmkit_heap_create(&h, heap_name, HEAP_SIZE, 0600);
	if (err)
		die("shmkit_heap_create", -err);
#ifdef SHMKIT_BENCH_BOOST
	if (bx_open(boost_name, HEAP_SIZE))
		die("boost managed_shared_memory", EIO);
#endif
	struct one o;
	struct two t;
	struct look l;
	bench_one(h, &o);
	bench_two(h, &t);
	bench_lookup(h, &l);

	bn_section(
	    "Managed heap (bench_heap)",
	    "64-byte shmkit_heap_alloc + shmkit_heap_free pairs (ns per pair, medians and p99 "
	    "of 300 interleaved batches of 10000) against glibc malloc + free and "
	    "Boost.Interprocess managed_shared_memory allocate + deallocate; the same with "
	    "two processes at once (pinned to CPUs 0 and 1, the heap handle inherited "
	    "through fork; pairs per microsecond, medians of 15 runs of 10^6 pairs per "
	    "process) against one process; and shmkit_heap_named lookups of existing names "
	    "among 10 000, in random order (ns per lookup, 300 batches of 1000, the two "
	    "implementations alternating every 10 batches), with Boost's find<T> for "
	    "reference.");
	bn_header("case", "median", "p99", "ratio", "target", "met", NULL);
	double rg = o.heap.median / o.glibc.median;
	row("alloc+free 64 B, ns: shmkit", &o.heap, bn_fmt("%.2f vs glibc", rg), "<= 1.5",
	    bn_met(rg, 1.5));
	row("alloc+free 64 B, ns: glibc malloc+free", &o.glibc, "reference", "", "");
	row("alloc+free 64 B, ns: glibc calloc+free (zeroes, as shmkit does)", &o.zeroed,
	    bn_fmt("shmkit %.2f x calloc", o.heap.median / o.zeroed.median), "", "");
	if (o.has_boost) {
		double rb = o.heap.median / o.boost.median;
		row("alloc+free 64 B, ns: shmkit vs Boost", &o.heap, bn_fmt("%.2f vs Boost", rb),
		    "<= 0.5", bn_met(rb, 0.5));
		row("alloc+free 64 B, ns: Boost managed_shared_memory", &o.boost, "reference", "",
		    "");
	} else {
		bn_row("alloc+free 64 B: Boost", "not measured (no Boost headers)", "", "", "", "",
		       NULL);
	}
	/* Throughput: higher is better, so the p99 column shows the slowest run instead. */
	t.one.p99 = t.one.min;
	t.two.p99 = t.two.min;
	t.boost_one.p99 = t.boost_one.min;
	t.boost_two.p99 = t.boost_two.min;
	double r2 = t.two.median / t.one.median;
	row("2 processes, pairs/us: shmkit", &t.two, bn_fmt("%.2f x 1 process", r2), ">= 1.5",
	    r2 >= 1.5 ? "yes" : "no");
	row("1 process, pairs/us: shmkit", &t.one, "reference", "", "");
	if (t.has_boost) {
		double rb2 = t.boost_two.median / t.boost_one.median;
		row("2 processes, pairs/us: Boost", &t.boost_two, bn_fmt("%.2f x 1 process", rb2),
		    "", "");
		row("1 process, pairs/us: Boost", &t.boost_one, "reference", "", "");
	}
	row("named lookup among 10 000, ns: shmkit", &l.heap, "", "<= 200 ns",
	    l.heap.median <= 200 ? "yes" : "no");
	if (l.has_boost)
		row("named lookup among 10 000, ns: Boost find", &l.boost,
		    bn_fmt("shmkit %.2f x Boost", l.heap.median / l.boost.median), "", "");
	printf("\nIn the throughput rows (pairs per microsecond, higher is better) the p99 column "
	       "shows the slowest of the runs instead.\n");
	shmkit_heap_close(h);
#ifdef SHMKIT_BENCH_BOOST
	bx_close(boost_name);
#endif
	return 0;
}
