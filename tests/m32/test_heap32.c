/* SPDX-License-Identifier: MIT */
/*
 * Description: a managed heap shared by 32-bit and 64-bit processes: blocks allocated in one
 * class and freed in the other (small, large, growing the heap), named objects made in one
 * and found in the other, a list linked with SHMKIT_RELPTR pushed onto and walked by both,
 * shmkit_heap_check giving the same figures in both; and kill -9 of a 32-bit process at each
 * crash point of a script of heap calls, repaired by a 64-bit one (and the reverse).
 */
#include "m32test.h"

static char name[64], area[64];

static void setup(void)
{
	unsigned r = tu_rand(1u << 30);
	snprintf(name, sizeof(name), "m32-heap-%d-%u", (int)getpid(), r);
	snprintf(area, sizeof(area), "m32-heaplog-%d-%u", (int)getpid(), r);
}

static void teardown(void)
{
	peers_reap();
	shmkit_heap_unlink(name); /* may be gone already */
	shmkit_seg_unlink(SHMKIT_SEG_POSIX, area);
}

TestSuite(m32_heap, .init = setup, .fini = teardown, .timeout = 60);

/* A heap made by a (256 KiB, growing to 8 MiB) and opened by b. */
static void share(struct peer *a, int bits_a, struct peer *b, int bits_b)
{
	peer_start(a, bits_a, -1);
	peer_start(b, bits_b, -1);
	peer_expect(a, "ok", "heap-new %s %u %u", name, 256u << 10, 8u << 20);
	peer_expect(b, "ok", "heap-open %s rw", name);
}

/* heap-check in both, which must agree exactly; the reply. */
static const char *check_both(struct peer *a, struct peer *b, char *buf, size_t len)
{
	snprintf(buf, len, "%s", peer_cmd(a, "heap-check 0"));
	const char *r = peer_cmd(b, "heap-check 0");
	cr_assert_str_eq(r, buf, "the %d-bit check says '%s', the %d-bit one '%s'", b->bits, r,
	                 a->bits, buf);
	return buf;
}

/* Both classes' checks agree that the heap holds nothing and is whole. */
static void check_empty(struct peer *a, struct peer *b)
{
	char buf[512];
	const char *c = check_both(a, b, buf, sizeof(buf));
	cr_assert(!strncmp(c, "ok ret=0 ", 9), "%s", c);
	cr_assert_eq(reply_field(c, "blocks"), 0, "%s", c);
	cr_assert_eq(reply_field(c, "named"), 0, "%s", c);
	cr_assert_eq(reply_field(c, "used"), 0, "%s", c);
}

struct block {
	unsigned long long off, usable, seed;
};

/* alloc in a: "ok OFF USABLE" */
static struct block alloc_in(struct peer *a, unsigned long long size, unsigned long long seed)
{
	const char *r = peer_cmd(a, "heap-alloc %llu %llu", size, seed);
	struct block b = {0, 0, seed};
	cr_assert_eq(sscanf(r, "ok %llu %llu", &b.off, &b.usable), 2, "%d-bit alloc %llu: %s",
	             a->bits, size, r);
	cr_assert_geq(b.usable, size);
	return b;
}

/*
 * Blocks of every kind allocated by a: b finds each where a put it (contents, usable size),
 * frees half of them, allocates its own, which a reads and frees; a frees the rest. A double
 * free is refused in either class. The two checks agree at every step and end empty.
 */
static void alloc_free(int bits_a, int bits_b)
{
	m32_require();
	struct peer a, b;
	share(&a, bits_a, &b, bits_b);
	static const unsigned long long sizes[] = {0,    1,    16,    64,    100,    3584,
	                                           3585, 9000, 20000, 70000, 300000, 2u << 20};
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	struct block ba[N], bb[N];
	char buf[512];
	for (int i = 0; i < N; i++)
		ba[i] = alloc_in(&a, sizes[i], 100 + (unsigned)i);
	const char *c = check_both(&a, &b, buf, sizeof(buf));
	cr_assert(!strncmp(c, "ok ret=0 ", 9), "%s", c);
	cr_assert_eq(reply_field(c, "blocks"), N, "%s", c);
	cr_assert_gt(reply_field(c, "size"), 256u << 10, "the heap did not grow: %s", c);
	for (int i = 0; i < N; i++) {
		peer_expect(&b, "ok", "heap-verify %llu %llu %llu", ba[i].off, ba[i].usable,
		            ba[i].seed);
		cr_assert_eq(peer_num(&b, "heap-usable %llu", ba[i].off), ba[i].usable);
	}
	for (int i = 0; i < N; i += 2)
		peer_expect(&b, "ok", "heap-free %llu", ba[i].off);
	for (int i = 0; i < N; i += 2) {
		peer_expect(&a, "err EINVAL", "heap-free %llu", ba[i].off); /* freed by b */
		peer_expect(&a, "err EINVAL", "heap-usable %llu", ba[i].off);
	}
	for (int i = 0; i < N; i++)
		bb[i] = alloc_in(&b, sizes[N - 1 - i], 200 + (unsigned)i);
	c = check_both(&a, &b, buf, sizeof(buf));
	cr_assert(!strncmp(c, "ok ret=0 ", 9), "%s", c);
	cr_assert_eq(reply_field(c, "blocks"), N + N / 2, "%s", c);
	for (int i = 0; i < N; i++) {
		peer_expect(&a, "ok", "heap-verify %llu %llu %llu", bb[i].off, bb[i].usable,
		            bb[i].seed);
		peer_expect(&a, "ok", "heap-free %llu", bb[i].off);
		peer_expect(&b, "err EINVAL", "heap-free %llu", bb[i].off);
	}
	for (int i = 1; i < N; i += 2) {
		peer_expect(&b, "ok", "heap-verify %llu %llu %llu", ba[i].off, ba[i].usable,
		            ba[i].seed);
		peer_expect(&a, "ok", "heap-free %llu", ba[i].off);
	}
	c = check_both(&a, &b, buf, sizeof(buf));
	cr_assert(!strncmp(c, "ok ret=0 ", 9), "%s", c);
	cr_assert_eq(reply_field(c, "blocks"), 0, "%s", c);
	cr_assert_eq(reply_field(c, "used"), 0, "%s", c);
	/* A read-only handle of either class reads the same figures without locks. */
	struct peer ro;
	peer_start(&ro, bits_b, -1);
	peer_expect(&ro, "ok", "heap-open %s ro", name);
	peer_expect(&ro, c, "heap-check 0");
	peer_expect(&ro, "err EACCES", "heap-alloc 10 1");
	peer_stop(&ro);
	peer_expect(&a, "ok", "heap-unlink %s", name);
	peer_stop(&a);
	peer_stop(&b);
}

Test(m32_heap, alloc_32_free_64)
{
	alloc_free(32, 64);
}

Test(m32_heap, alloc_64_free_32)
{
	alloc_free(64, 32);
}

/*
 * Named objects made alternately by each class (enough to grow the name table twice), found
 * by the other at the same offset with the same size and contents; named() of an existing
 * name creates nothing, and asking it for more than exists is refused; unnamed by the other.
 */
Test(m32_heap, named_objects_across_classes)
{
	m32_require();
	struct peer a, b;
	share(&a, 32, &b, 64);
	struct peer *p[2] = {&a, &b};
	enum { N = 40 };
	unsigned long long off[N];
	char buf[512];
	for (int i = 0; i < N; i++) {
		struct peer *mk = p[i % 2];
		unsigned long long size = i % 3 ? 40 + (unsigned)i : 5000;
		const char *r = peer_cmd(mk, "heap-named obj-%d %llu %d", i, size, 300 + i);
		int created;
		cr_assert_eq(sscanf(r, "ok %d %llu", &created, &off[i]), 2, "%s", r);
		cr_assert_eq(created, 1, "%d-bit named obj-%d: %s", mk->bits, i, r);
	}
	for (int i = 0; i < N; i++) {
		struct peer *other = p[(i + 1) % 2];
		unsigned long long size = i % 3 ? 40 + (unsigned)i : 5000;
		char want[64];
		snprintf(want, sizeof(want), "ok %llu %llu", off[i], size);
		peer_expect(other, want, "heap-find obj-%d", i);
		snprintf(want, sizeof(want), "ok 0 %llu", off[i]);
		peer_expect(other, want, "heap-named obj-%d %llu 0", i, size);
		peer_expect(other, "err EINVAL", "heap-named obj-%d %llu 0", i, size + 1);
		peer_expect(other, "ok", "heap-verify %llu %llu %d", off[i], size, 300 + i);
		peer_expect(other, "err EINVAL", "heap-free %llu", off[i]); /* not by free */
	}
	const char *c = check_both(&a, &b, buf, sizeof(buf));
	cr_assert(!strncmp(c, "ok ret=0 ", 9), "%s", c);
	cr_assert_eq(reply_field(c, "named"), N, "%s", c);
	char nm[32];
	reply_word(c, "names", nm, sizeof(nm));
	cr_assert_eq(atoi(nm), N, "the name walk: %s", c);
	for (int i = 0; i < N; i++) {
		peer_expect(p[(i + 1) % 2], "ok", "heap-unname obj-%d", i);
		peer_expect(p[i % 2], "err ENOENT", "heap-find obj-%d", i);
		peer_expect(p[i % 2], "err ENOENT", "heap-unname obj-%d", i);
	}
	check_empty(&a, &b);
	peer_stop(&a);
	peer_stop(&b);
}

/*
 * A list linked with SHMKIT_RELPTR in a named root: each class pushes nodes (setting relptrs
 * between addresses of its own mapping), each walks all of them (resolving the other's): the
 * same count, sum and newest value, every node where its offset says; the other class frees
 * the list while walking it.
 */
static void relptrs(int bits_a, int bits_b)
{
	m32_require();
	struct peer a, b;
	share(&a, bits_a, &b, bits_b);
	unsigned long long sum = 0, v = 0;
	for (int round = 0; round < 4; round++)
		for (int i = 0; i < 25; i++) {
			v = 1000003ull * (unsigned)(round * 25 + i) + 7;
			sum += v;
			peer_cmd(round % 2 ? &b : &a, "heap-push list %llu", v);
		}
	char want[96];
	snprintf(want, sizeof(want), "ok 100 %llu %llu", sum, v);
	peer_expect(&a, want, "heap-walk list");
	peer_expect(&b, want, "heap-walk list");
	char buf[512];
	const char *c = check_both(&a, &b, buf, sizeof(buf));
	cr_assert_eq(reply_field(c, "blocks"), 101, "%s", c); /* and the root */
	peer_expect(&b, want, "heap-walk list free");
	peer_expect(&a, "err ENOENT", "heap-walk list");
	check_empty(&a, &b);
	peer_stop(&a);
	peer_stop(&b);
}

Test(m32_heap, relptrs_32_made_64_walks)
{
	relptrs(32, 64);
}

Test(m32_heap, relptrs_64_made_32_walks)
{
	relptrs(64, 32);
}

/*
 * kill -9 of a process of class bits_k at crash point k of heap-crash's script (small and
 * large allocations and frees, run refill and retire, coalescing, growth, named objects), for
 * every k until the script ends; each time a process of the other class repairs the heap
 * (robust locks of a dead owner of the other class, then the heap's own repairs) and finds
 * every block the dead one finished.
 */
static void crash(int bits_k, int bits_r)
{
	m32_require();
	struct peer r;
	peer_start(&r, bits_r, -1);
	peer_expect(&r, "ok", "area-new %s", area);
	unsigned long long repairs = 0;
	int k;
	for (k = 1; k < 2000; k++) {
		peer_expect(&r, "ok", "heap-new %s %u %u", name, 256u << 10, 4u << 20);
		struct peer c;
		peer_start(&c, bits_k, -1);
		peer_expect(&c, "ok", "area-open %s", area);
		peer_expect(&c, "ok", "heap-open %s rw", name);
		peer_send(&c, "heap-crash %d", k);
		const char *g = peer_reply(&c, PEER_MS);
		int done = g != NULL;
		if (done) { /* k is past the script's last crash point */
			cr_assert_str_eq(g, "ok done", "%d-bit heap-crash %d", bits_k, k);
			peer_stop(&c);
		} else {
			cr_assert_eq(tu_wait_timeout(c.pid, PEER_MS), 128 + SIGKILL,
			             "the %d-bit process did not die at crash point %d", bits_k, k);
			peer_track(0, c.pid);
			peer_close_pipes(&c);
		}
		const char *v = peer_cmd(&r, "heap-crash-check");
		cr_assert(!strncmp(v, "ok ", 3), "crash point %d: %s", k, v);
		repairs += reply_field(v, "repairs");
		peer_expect(&r, "ok", "heap-close");
		peer_expect(&r, "ok", "heap-unlink %s", name);
		if (done)
			break;
	}
	cr_assert_gt(k, 50, "only %d crash points were reached", k - 1);
	/* Some kills were inside a lock: the other class found it EOWNERDEAD and repaired. */
	cr_assert_gt(repairs, 0, "no repair in %d kills", k - 1);
	cr_log_info("%d-bit killed at %d crash points, %llu repairs by the %d-bit process", bits_k,
	            k - 1, repairs, bits_r);
	peer_stop(&r);
}

Test(m32_heap, killed_32_inside_heap_calls_repaired_by_64)
{
	crash(32, 64);
}

Test(m32_heap, killed_64_inside_heap_calls_repaired_by_32)
{
	crash(64, 32);
}
