/* SPDX-License-Identifier: MIT */
/*
 * Description: heaps in the shmkit tool: ls recognises them by their header (not their name)
 * and shows their figures (also as JSON that matches the schema), stat lists their named
 * objects, and 'shmkit heap check' reports leaks and damage with its exit status.
 */
#include <fcntl.h>

#include "cli_run.h"
#include "heap/heap.h"
#include "shmkit.h"

static char name[96];

static void heap_cleanup(void)
{
	if (name[0])
		shmkit_heap_unlink(name);
}

/* A heap with 3 named objects and some allocations, under a name that says nothing. */
static shmkit_heap_t *mk_heap(void)
{
	static int registered;
	if (!registered++)
		atexit(heap_cleanup);
	snprintf(name, sizeof(name), "%s", tu_name("cli-plain-looking"));
	struct shmkit_heap_opts o = {.size = 1u << 20, .max_size = 4u << 20};
	shmkit_heap_t *h;
	uint64_t off;
	cr_assert_eq(shmkit_heap_create_opts(&h, name, &o), 1);
	for (int i = 0; i < 50; i++)
		cr_assert_eq(shmkit_heap_alloc(h, 100, &off), 0);
	cr_assert_eq(shmkit_heap_named(h, "config", 64, &off), 1);
	cr_assert_eq(shmkit_heap_named(h, "queue/head", 4096, &off), 1);
	cr_assert_eq(shmkit_heap_named(h, "stats", 8, &off), 1);
	return h;
}

static void gone(shmkit_heap_t *h)
{
	shmkit_heap_close(h);
	shmkit_heap_unlink(name);
	name[0] = '\0';
}

Test(cli_heap, ls_shows_heaps_with_their_figures)
{
	shmkit_heap_t *h = mk_heap();
	struct result r = shmkit("ls -r -n -b -k heap -o kind,name,size,named --name %s", name);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	char want[256];
	snprintf(want, sizeof(want), "heap %s 1048576 3\n", name);
	cr_assert_str_eq(r.out, want);
	result_free(&r);
	/* Listing the other kinds too, the heap is there with the default columns, USED and FREE
	 * among them. Not shmkit namespaces: tests running beside this one leave theirs busy or
	 * damaged on purpose, and a listing that meets one says so and exits 1. */
	r = shmkit("ls -k sysv,posix,heap,chan --name %s", name);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "USED") && strstr(r.out, "LARGEST") && strstr(r.out, "heap"), "%s",
	          r.out);
	result_free(&r);
	/* A heap is a POSIX object too. */
	r = shmkit("ls -r -n -k posix -o kind --name %s", name);
	cr_assert_str_eq(r.out, "heap\n");
	result_free(&r);
	gone(h);
}

Test(cli_heap, ls_json_matches_schema)
{
	shmkit_heap_t *h = mk_heap();
	char plain[96], path[160], out[128];
	snprintf(plain, sizeof(plain), "%s", tu_name("cli-heap-plain"));
	snprintf(path, sizeof(path), "/dev/shm/%s", plain);
	int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "not a heap", 10), 10);
	close(fd);
	snprintf(out, sizeof(out), "/tmp/%s.json", tu_name("cli-heap-json"));
	ls_json_checked("-k posix -o kind,name,size,used,free,largest,named", out);
	struct result r =
	    sh("python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))[\"sharedmemory\"]; "
	       "h=[o for o in d if o[\"name\"]==\"%s\"][0]; p=[o for o in d if "
	       "o[\"name\"]==\"%s\"][0]; "
	       "assert h[\"kind\"]==\"heap\" and h[\"named\"]==3 and h[\"used\"]>5000, h; "
	       "assert h[\"free\"]>=h[\"largest\"]>0, h; "
	       "assert p[\"kind\"]==\"posix\" and p[\"used\"] is None, p' %s",
	       name, plain, out);
	cr_expect_eq(r.rc, 0, "values: %s", r.err);
	result_free(&r);
	unlink(out);
	unlink(path);
	gone(h);
}

Test(cli_heap, stat_lists_named_objects)
{
	shmkit_heap_t *h = mk_heap();
	struct result r = shmkit("stat %s", name);
	cr_assert_eq(r.rc, 0, "%s", r.err);
	cr_assert(strstr(r.out, "kind:        heap"), "%s", r.out);
	cr_assert(strstr(r.out, "named:       3"), "%s", r.out);
	cr_assert(strstr(r.out, " config\n") && strstr(r.out, " queue/head\n") &&
	              strstr(r.out, " stats\n"),
	          "%s", r.out);
	result_free(&r);
	r = shmkit("heap names %s", name);
	cr_assert_eq(r.rc, 0);
	cr_assert(strstr(r.out, "4096  queue/head"), "%s", r.out);
	result_free(&r);
	gone(h);
}

Test(cli_heap, check_reports_leaks_and_damage)
{
	shmkit_heap_t *h = mk_heap();
	struct result r = shmkit("heap check %s", name);
	cr_assert_eq(r.rc, 0, "%s%s", r.out, r.err);
	cr_assert(strstr(r.out, "status:      clean"), "%s", r.out);
	result_free(&r);
	/* A names-arena block no name refers to: what a named() killed half-way leaves. */
	uint64_t lost;
	cr_assert_eq(sk_heap_alloc_in(h, SK_HEAP_NAMES_ARENA, 200, &lost), 0);
	r = shmkit("heap check %s", name);
	cr_assert_eq(r.rc, 1);
	cr_assert(strstr(r.out, "status:      leaks") && strstr(r.out, "leaked:      224 bytes"),
	          "%s", r.out);
	result_free(&r);
	r = shmkit("heap check --repair %s", name);
	cr_assert_eq(r.rc, 0, "%s", r.out);
	result_free(&r);
	r = shmkit("heap check %s", name);
	cr_assert_eq(r.rc, 0, "%s", r.out);
	result_free(&r);
	/* Damage: a free span's boundary tag that disagrees with its head. */
	sk_store_relaxed(&h->pages[sk_load_relaxed(&h->npages) - 1].tail, 7);
	r = shmkit("heap check %s", name);
	cr_assert_eq(r.rc, 1);
	cr_assert(strstr(r.out, "status:      damaged"), "%s", r.out);
	result_free(&r);
	r = shmkit("heap check %s", "no-such-heap-here");
	cr_assert_eq(r.rc, 1);
	result_free(&r);
	r = shmkit("heap frobnicate %s", name);
	cr_assert_eq(r.rc, 2);
	result_free(&r);
	gone(h);
}
