/* SPDX-License-Identifier: MIT */
/*
 * Description: the heap API: creation and opening on every backing object (POSIX name, memfd
 * descriptor, System V segment), alignment and zeroing, what free refuses, offsets and
 * pointers, read-only handles, growth seen by other handles, named objects, relptrs.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include "heaptest.h"
#include "heap/heap.h"

#define KIB 1024u
#define MIB (1024u * 1024u)

Test(heap, class_tables_are_consistent)
{
	for (uint32_t c = 0; c < SK_HEAP_CLASSES; c++) {
		uint32_t s = sk_classes[c].size, k = sk_classes[c].pages, n = sk_classes[c].slots;
		cr_assert_eq(s % SHMKIT_HEAP_ALIGN, 0);
		cr_assert(n >= 8 && n <= SK_HEAP_SLOTS, "class %u: %u slots", c, n);
		cr_assert(k >= 1 && k < SK_HEAP_RUN_PAGES);
		cr_assert_leq((uint64_t)n * s, (uint64_t)k * SK_HEAP_PAGE);
		cr_assert_lt((uint64_t)k * SK_HEAP_PAGE - (uint64_t)n * s, s,
		             "class %u wastes a slot", c);
		cr_assert_eq(sk_class_of(s), c, "class_of(%u)", s);
		for (uint64_t delta = 0; delta < (uint64_t)k * SK_HEAP_PAGE; delta += 16)
			cr_assert_eq((delta * sk_classes[c].recip) >> 32, delta / s, "recip of %u",
			             s);
		cr_assert_eq(sk_class_of(s - 15), c, "class_of(%u)", s - 15);
		if (c + 1 < SK_HEAP_CLASSES)
			cr_assert_eq(sk_class_of(s + 1), c + 1, "class_of(%u)", s + 1);
	}
	cr_assert_eq(sk_classes[SK_HEAP_CLASSES - 1].size, SK_HEAP_SMALL_MAX);
	cr_assert_eq(sk_class_of(0), 0);
}

Test(heap, create_open_unlink)
{
	shmkit_heap_t *h = heap_fresh(256 * KIB, 0), *g, *x;
	uint64_t off;
	cr_assert_eq(shmkit_heap_create(&x, heap_name, 256 * KIB, 0600), -EEXIST);
	cr_assert_eq(shmkit_heap_alloc(h, 100, &off), 0);
	strcpy(shmkit_heap_ptr(h, off), "hello");
	cr_assert_eq(shmkit_heap_open(&g, heap_name, 0), 0);
	cr_assert_str_eq(shmkit_heap_ptr(g, off), "hello");
	/* A name removed while open: both handles keep working. */
	cr_assert_eq(shmkit_heap_unlink(heap_name), 0);
	cr_assert_eq(shmkit_heap_open(&x, heap_name, 0), -ENOENT);
	cr_assert_eq(shmkit_heap_unlink(heap_name), -ENOENT);
	cr_assert_eq(shmkit_heap_free(g, off), 0);
	cr_assert_eq(shmkit_heap_free(h, off), -EINVAL, "freed through the other handle");
	shmkit_heap_close(g);
	heap_gone(h);
	cr_assert_eq(shmkit_heap_close(NULL), 0);
}

Test(heap, bad_arguments)
{
	shmkit_heap_t *h;
	struct shmkit_heap_opts o = {.size = 64 * KIB};
	const char *name = heap_fresh_name();
	cr_assert_eq(shmkit_heap_create(&h, name, SHMKIT_HEAP_MIN_SIZE - 1, 0600), -EINVAL);
	cr_assert_eq(shmkit_heap_create(&h, name, 64 * KIB, 01777), -EINVAL);
	cr_assert_eq(shmkit_heap_create(&h, "a/b", 64 * KIB, 0600), -EINVAL);
	cr_assert_eq(shmkit_heap_create(NULL, name, 64 * KIB, 0600), -EINVAL);
	o.reserved[2] = 1;
	cr_assert_eq(shmkit_heap_create_opts(&h, name, &o), -EINVAL);
	o.reserved[2] = 0;
	o.max_size = o.size - 1;
	cr_assert_eq(shmkit_heap_create_opts(&h, name, &o), -EINVAL);
	/* The descriptors of 1 TiB of pages do not fit in 64 KiB. */
	o.max_size = SHMKIT_HEAP_MAX_SIZE;
	cr_assert_eq(shmkit_heap_create_opts(&h, name, &o), -EINVAL);
	o.max_size = 0;
	o.flags = 0x80;
	cr_assert_eq(shmkit_heap_create_opts(&h, name, &o), -EINVAL);
	cr_assert_eq(shmkit_heap_open(&h, name, 0), -ENOENT);
	cr_assert_eq(shmkit_heap_open(&h, name, 0x10), -EINVAL);
	heap_name[0] = '\0';
}

Test(heap, mode_is_exact_and_open_flag_opens)
{
	struct shmkit_heap_opts o = {.size = 64 * KIB, .mode = 0640, .flags = SHMKIT_HEAP_OPEN};
	shmkit_heap_t *h, *g;
	struct stat st;
	char path[160];
	mode_t old = umask(077);
	cr_assert_eq(shmkit_heap_create_opts(&h, heap_fresh_name(), &o), 1);
	umask(old);
	snprintf(path, sizeof(path), "/dev/shm/%s", heap_name);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);
	cr_assert_eq(st.st_size, 64 * KIB, "the object is exactly size bytes");
	cr_assert_eq(shmkit_heap_create_opts(&g, heap_name, &o), 0, "opened, not created");
	shmkit_heap_close(g);
	heap_gone(h);
}

Test(heap, allocations_are_aligned_zeroed_and_disjoint)
{
	shmkit_heap_t *h = heap_fresh(8 * MIB, 0);
	enum { N = 600 };
	uint64_t off[N], size[N];
	for (int i = 0; i < N; i++) {
		size_t want = (size_t)(i % 3 == 0 ? tu_rand(20000) : tu_rand(300));
		cr_assert_eq(shmkit_heap_alloc(h, want, &off[i]), 0, "alloc %zu", want);
		cr_assert_eq(off[i] % SHMKIT_HEAP_ALIGN, 0);
		cr_assert_eq(shmkit_heap_usable_size(h, off[i], &size[i]), 0);
		cr_assert_geq(size[i], want ? want : 1);
		uint8_t *p = shmkit_heap_ptr(h, off[i]);
		for (uint64_t j = 0; j < size[i]; j++)
			cr_assert_eq(p[j], 0, "block %d byte %llu not zero", i,
			             (unsigned long long)j);
		heap_fill(p, size[i], (uint64_t)i);
	}
	for (int i = 0; i < N; i++) {
		cr_assert_eq(heap_verify(shmkit_heap_ptr(h, off[i]), size[i], (uint64_t)i), 0,
		             "block %d overwritten", i);
		/* Freed blocks come back zeroed. */
		if (i % 2 == 0)
			cr_assert_eq(shmkit_heap_free(h, off[i]), 0);
	}
	for (int i = 0; i < N; i += 2)
		cr_assert_eq(shmkit_heap_alloc(h, size[i], &off[i]), 0);
	for (int i = 0; i < N; i += 2) {
		uint8_t *p = shmkit_heap_ptr(h, off[i]);
		for (uint64_t j = 0; j < size[i]; j++)
			cr_assert_eq(p[j], 0);
	}
	for (int i = 0; i < N; i++)
		cr_assert_eq(shmkit_heap_free(h, off[i]), 0);
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.used, 0);
	cr_assert_eq(r.blocks, 0);
	heap_gone(h);
}

Test(heap, alloc_zero_and_free_zero)
{
	shmkit_heap_t *h = heap_fresh(64 * KIB, 0);
	uint64_t a, b, n;
	cr_assert_eq(shmkit_heap_alloc(h, 0, &a), 0);
	cr_assert_eq(shmkit_heap_alloc(h, 0, &b), 0);
	cr_assert_neq(a, 0);
	cr_assert_neq(a, b, "alloc(0) gives offsets of their own");
	cr_assert_eq(shmkit_heap_usable_size(h, a, &n), 0);
	cr_assert_eq(n, 16);
	cr_assert_eq(shmkit_heap_free(h, 0), 0);
	cr_assert_eq(shmkit_heap_free(h, a), 0);
	cr_assert_eq(shmkit_heap_free(h, b), 0);
	cr_assert_eq(shmkit_heap_alloc(h, 1, NULL), -EINVAL);
	heap_gone(h);
}

Test(heap, free_refuses_what_is_not_an_allocation)
{
	shmkit_heap_t *h = heap_fresh(1 * MIB, 0);
	uint64_t small, large, named, size;
	cr_assert_eq(shmkit_heap_alloc(h, 100, &small), 0);
	cr_assert_eq(shmkit_heap_alloc(h, 3 * SK_HEAP_PAGE, &large), 0);
	cr_assert_eq(shmkit_heap_named(h, "obj", 40, &named), 1);
	const uint64_t bad[] = {
	    small + 16,            /* inside a slot */
	    small + 1,             /* misaligned */
	    large + SK_HEAP_PAGE,  /* a page inside a large block */
	    large + 16,            /* inside a large block */
	    named,                 /* a named object: unname frees it */
	    64,                    /* the header */
	    SK_HEAP_HDR_SIZE + 64, /* the descriptor table */
	    1 * MIB + 4096,        /* beyond the heap */
	    UINT64_MAX - 15,       /* far beyond */
	};
	for (size_t i = 0; i < SK_ARRAY_SIZE(bad); i++) {
		cr_assert_eq(shmkit_heap_free(h, bad[i]), -EINVAL, "free(%#llx)",
		             (unsigned long long)bad[i]);
		cr_assert_eq(shmkit_heap_usable_size(h, bad[i], &size), -EINVAL);
	}
	cr_assert_eq(shmkit_heap_free(h, small), 0);
	cr_assert_eq(shmkit_heap_free(h, small), -EINVAL, "double free");
	cr_assert_eq(shmkit_heap_free(h, large), 0);
	cr_assert_eq(shmkit_heap_free(h, large), -EINVAL, "double free of a large block");
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.named, 1);
	cr_assert_eq(r.blocks, 1, "only the named object is left");
	heap_gone(h);
}

Test(heap, offsets_and_pointers)
{
	shmkit_heap_t *h = heap_fresh(128 * KIB, 0);
	uint64_t off;
	cr_assert_eq(shmkit_heap_alloc(h, 64, &off), 0);
	char *p = shmkit_heap_ptr(h, off);
	cr_assert_not_null(p);
	cr_assert_eq(shmkit_heap_off(h, p), off);
	cr_assert_eq(shmkit_heap_off(h, p + 10), off + 10);
	cr_assert_null(shmkit_heap_ptr(h, 0));
	cr_assert_null(shmkit_heap_ptr(h, 128 * KIB));
	cr_assert_null(shmkit_heap_ptr(h, UINT64_MAX));
	cr_assert_eq(shmkit_heap_off(h, &off), 0, "a stack address is not in the heap");
	cr_assert_eq(shmkit_heap_off(h, NULL), 0);
	cr_assert_eq(shmkit_heap_off(h, (char *)shmkit_heap_ptr(h, 1) + 128 * KIB), 0);
	cr_assert_null(shmkit_heap_ptr(NULL, off));
	heap_gone(h);
}

Test(heap, each_open_maps_anew)
{
	shmkit_heap_t *h = heap_fresh(128 * KIB, 0), *g;
	uint64_t off;
	cr_assert_eq(shmkit_heap_open(&g, heap_name, 0), 0);
	cr_assert_eq(shmkit_heap_alloc(g, 32, &off), 0);
	cr_assert_neq(shmkit_heap_ptr(h, off), shmkit_heap_ptr(g, off));
	strcpy(shmkit_heap_ptr(g, off), "same bytes");
	cr_assert_str_eq(shmkit_heap_ptr(h, off), "same bytes");
	shmkit_heap_close(g);
	heap_gone(h);
}

Test(heap, read_only_handles_read)
{
	shmkit_heap_t *h = heap_fresh(128 * KIB, 0), *r;
	uint64_t off, obj, o2, size;
	cr_assert_eq(shmkit_heap_alloc(h, 64, &off), 0);
	cr_assert_eq(shmkit_heap_named(h, "config", 24, &obj), 1);
	strcpy(shmkit_heap_ptr(h, obj), "value");
	cr_assert_eq(shmkit_heap_open(&r, heap_name, SHMKIT_HEAP_RDONLY), 0);
	cr_assert_eq(shmkit_heap_alloc(r, 16, &o2), -EACCES);
	cr_assert_eq(shmkit_heap_free(r, off), -EACCES);
	cr_assert_eq(shmkit_heap_unname(r, "config"), -EACCES);
	cr_assert_eq(shmkit_heap_named(r, "config", 24, &o2), 0);
	cr_assert_eq(o2, obj);
	cr_assert_str_eq(shmkit_heap_ptr(r, o2), "value");
	cr_assert_eq(shmkit_heap_named(r, "missing", 8, &o2), -ENOENT, "read-only never creates");
	cr_assert_eq(shmkit_heap_find(r, "config", &o2, &size), 0);
	cr_assert_eq(size, 24);
	struct shmkit_heap_report rep;
	cr_assert_eq(shmkit_heap_check(r, &rep, 0), 0, "%s", rep.first_problem);
	cr_assert_eq(rep.named, 1);
	cr_assert_eq(shmkit_heap_check(r, &rep, SHMKIT_HEAP_CHECK_REPAIR), -EACCES);
	/* Read-only to the kernel: the mapping cannot be made writable. */
	void *page = (void *)((uintptr_t)shmkit_heap_ptr(r, off) & ~(uintptr_t)4095);
	cr_assert_eq(mprotect(page, 4096, PROT_READ | PROT_WRITE), -1);
	cr_assert_eq(errno, EACCES);
	shmkit_heap_close(r);
	heap_gone(h);
}

Test(heap, fixed_heap_never_grows)
{
	shmkit_heap_t *h = heap_fresh(64 * KIB, 0);
	uint64_t off;
	int n = 0;
	while (shmkit_heap_alloc(h, 1000, &off) == 0)
		n++;
	cr_assert_gt(n, 10);
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.size, 64 * KIB);
	cr_assert_eq(shmkit_heap_alloc(h, 64 * KIB, &off), -ENOMEM);
	heap_gone(h);
}

Test(heap, growth_is_seen_by_other_handles_without_moving)
{
	shmkit_heap_t *h = heap_fresh(512 * KIB, 16 * MIB), *g;
	uint64_t first, off[64];
	cr_assert_eq(shmkit_heap_open(&g, heap_name, 0), 0);
	cr_assert_eq(shmkit_heap_alloc(g, 100, &first), 0);
	char *before = shmkit_heap_ptr(g, first);
	strcpy(before, "stays put");
	/* Far more than 64 KiB, from the first handle: the heap grows. */
	for (int i = 0; i < 64; i++) {
		cr_assert_eq(shmkit_heap_alloc(h, 100 * KIB, &off[i]), 0, "alloc %d", i);
		heap_fill(shmkit_heap_ptr(h, off[i]), 100 * KIB, (uint64_t)i);
	}
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_gt(r.size, 6 * MIB);
	cr_assert_leq(r.size, 16 * MIB);
	/* The other handle reaches the new space, and its old pointer is still good. */
	for (int i = 0; i < 64; i++)
		cr_assert_eq(heap_verify(shmkit_heap_ptr(g, off[i]), 100 * KIB, (uint64_t)i), 0);
	cr_assert_eq(shmkit_heap_ptr(g, first), before);
	cr_assert_str_eq(before, "stays put");
	for (int i = 0; i < 64; i++)
		cr_assert_eq(shmkit_heap_free(g, off[i]), 0, "free %d through the other handle", i);
	/* Up to max_size and no further. */
	uint64_t big;
	cr_assert_eq(shmkit_heap_alloc(g, 12 * MIB, &big), 0);
	cr_assert_eq(shmkit_heap_alloc(g, 8 * MIB, &off[0]), -ENOMEM);
	r = heap_report(h, 0);
	cr_assert_eq(r.size, 16 * MIB);
	shmkit_heap_close(g);
	heap_gone(h);
}

Test(heap, half_the_heap_after_everything_is_freed)
{
	shmkit_heap_t *h = heap_fresh(4 * MIB, 0);
	uint64_t *off = malloc(40000 * sizeof(*off)), big;
	int n = 0;
	/* Fill it with a mix of every class and some large blocks, until nothing fits. */
	while (n < 40000) {
		size_t size = n % 50 == 0 ? 4096 + tu_rand(30000) : 1 + tu_rand(SK_HEAP_SMALL_MAX);
		if (shmkit_heap_alloc(h, size, &off[n]) != 0)
			break;
		n++;
	}
	cr_assert_gt(n, 100);
	cr_assert_eq(shmkit_heap_alloc(h, 2 * MIB, &big), -ENOMEM);
	for (int i = 0; i < n; i++)
		cr_assert_eq(shmkit_heap_free(h, off[(i * 7919) % n]), 0);
	cr_assert_eq(shmkit_heap_alloc(h, 2 * MIB, &big), 0, "half the heap after freeing all");
	cr_assert_eq(shmkit_heap_free(h, big), 0);
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.used, 0);
	free(off);
	heap_gone(h);
}

Test(heap, memfd_by_descriptor)
{
	shmkit_heap_t *h, *g;
	struct shmkit_heap_opts o = {.size = 256 * KIB, .max_size = 4 * MIB};
	int fd = memfd_create("heap-test", MFD_CLOEXEC);
	uint64_t off;
	cr_assert_geq(fd, 0);
	cr_assert_eq(shmkit_heap_create_fd(&h, fd, &o), 1);
	cr_assert_eq(shmkit_heap_create_fd(&g, fd, &o), -EEXIST, "already a heap");
	cr_assert_eq(shmkit_heap_named(h, "greeting", 32, &off), 1);
	strcpy(shmkit_heap_ptr(h, off), "over a descriptor");
	pid_t pid = fork();
	if (pid == 0) {
		/* A peer that received the descriptor (here: inherited it). */
		uint64_t o2;
		shmkit_heap_t *c;
		if (shmkit_heap_open_fd(&c, fd, 0) || shmkit_heap_named(c, "greeting", 0, &o2) ||
		    strcmp(shmkit_heap_ptr(c, o2), "over a descriptor") ||
		    shmkit_heap_alloc(c, 1 * MIB, &o2))
			_exit(1);
		shmkit_heap_close(c);
		_exit(0);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	cr_assert_geq(shmkit_heap_fd(h), 0);
	close(fd);
	/* The child's allocation grew the heap: this handle follows. */
	struct shmkit_heap_report r;
	cr_assert_eq(shmkit_heap_check(h, &r, 0), 0);
	cr_assert_gt(r.size, 1 * MIB);
	cr_assert_eq(shmkit_heap_open_fd(&g, -1, 0), -EBADF);
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(shmkit_heap_create_fd(&g, p[0], &o), -EINVAL, "a pipe holds no heap");
	cr_assert_eq(shmkit_heap_open_fd(&g, p[0], SHMKIT_HEAP_RDONLY), -EBADMSG);
	close(p[0]);
	close(p[1]);
	shmkit_heap_close(h);
}

Test(heap, in_a_system_v_segment)
{
	char ns[64];
	snprintf(ns, sizeof(ns), "heap%d", (int)getpid());
	cr_assert_eq(shmkit_ns_create(ns, 0600), 0);
	cr_assert_eq(shmkit_ns_use(ns), 0);
	size_t size = 256 * KIB;
	int id = shmkit_shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
	cr_assert_geq(id, 0);
	void *addr = shmkit_shmat(id, NULL, 0);
	cr_assert_neq(addr, (void *)-1);
	shmkit_heap_t *h, *g;
	uint64_t off;
	cr_assert_eq(shmkit_heap_attach(&g, addr, size, 0), -EAGAIN, "zeroes are not a heap yet");
	cr_assert_eq(shmkit_heap_format(&h, addr, size), 0);
	cr_assert_eq(shmkit_heap_named(h, "root", 64, &off), 1);
	strcpy(shmkit_heap_ptr(h, off), "in sysv");
	cr_assert_eq(shmkit_heap_fd(h), -EBADF);
	pid_t pid = fork();
	if (pid == 0) {
		/* Another attach, at another address. */
		void *a2 = shmkit_shmat(id, NULL, 0);
		shmkit_heap_t *c;
		uint64_t o2, big;
		if (a2 == (void *)-1 || a2 == addr || shmkit_heap_attach(&c, a2, size, 0) ||
		    shmkit_heap_named(c, "root", 0, &o2) ||
		    strcmp(shmkit_heap_ptr(c, o2), "in sysv"))
			_exit(1);
		if (shmkit_heap_alloc(c, 1 * MIB, &big) != -ENOMEM)
			_exit(2); /* never grows */
		shmkit_heap_close(c);
		shmkit_shmdt(a2);
		_exit(0);
	}
	cr_assert_eq(tu_wait_timeout(pid, 10000), 0);
	shmkit_heap_close(h);
	cr_assert_str_eq((char *)addr + off, "in sysv",
	                 "closing an attached heap keeps the memory");
	memset(addr, 0x5a, 64);
	cr_assert_eq(shmkit_heap_attach(&g, addr, size, 0), -EBADMSG);
	cr_assert_eq(shmkit_heap_format(&g, (char *)addr + 1, size - 4096), -EINVAL);
	shmkit_shmdt(addr);
	shmkit_shmctl(id, IPC_RMID, NULL);
	shmkit_ns_use(NULL);
	shmkit_ns_destroy(ns);
}

Test(heap, named_objects)
{
	shmkit_heap_t *h = heap_fresh(4 * MIB, 0);
	uint64_t a, b, size;
	char name[SHMKIT_HEAP_NAME_MAX + 2];
	cr_assert_eq(shmkit_heap_named(h, "x", 100, &a), 1);
	cr_assert_eq(a % SHMKIT_HEAP_ALIGN, 0);
	cr_assert_eq(shmkit_heap_named(h, "x", 100, &b), 0);
	cr_assert_eq(a, b);
	cr_assert_eq(shmkit_heap_named(h, "x", 50, &b), 0, "smaller is fine");
	cr_assert_eq(shmkit_heap_named(h, "x", 101, &b), -EINVAL, "larger is not");
	cr_assert_eq(shmkit_heap_free(h, a), -EINVAL, "named objects go with unname");
	cr_assert_eq(shmkit_heap_usable_size(h, a, &size), -EINVAL);
	cr_assert_eq(shmkit_heap_named(h, "", 1, &b), -EINVAL);
	cr_assert_eq(shmkit_heap_named(h, NULL, 1, &b), -EINVAL);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cr_assert_eq(shmkit_heap_named(h, name, 1, &b), -ENAMETOOLONG);
	name[SHMKIT_HEAP_NAME_MAX] = '\0';
	cr_assert_eq(shmkit_heap_named(h, name, 0, &b), 1, "the longest name");
	cr_assert_eq(shmkit_heap_find(h, name, &b, &size), 0);
	cr_assert_eq(size, 0);
	/* Many names: the table grows (and shrinks back). */
	for (int i = 0; i < 2000; i++) {
		char n[32];
		uint64_t o;
		snprintf(n, sizeof(n), "object-%d", i);
		cr_assert_eq(shmkit_heap_named(h, n, (size_t)i % 200, &o), 1);
		heap_fill(shmkit_heap_ptr(h, o), (size_t)i % 200, (uint64_t)i);
	}
	for (int i = 0; i < 2000; i++) {
		char n[32];
		uint64_t o;
		snprintf(n, sizeof(n), "object-%d", i);
		cr_assert_eq(shmkit_heap_find(h, n, &o, &size), 0, "%s", n);
		cr_assert_eq(size, (uint64_t)i % 200);
		cr_assert_eq(heap_verify(shmkit_heap_ptr(h, o), size, (uint64_t)i), 0);
	}
	struct shmkit_heap_report r = heap_report(h, 0);
	cr_assert_eq(r.named, 2002);
	for (int i = 0; i < 2000; i++) {
		char n[32];
		snprintf(n, sizeof(n), "object-%d", i);
		cr_assert_eq(shmkit_heap_unname(h, n), 0);
		cr_assert_eq(shmkit_heap_unname(h, n), -ENOENT);
	}
	cr_assert_eq(shmkit_heap_unname(h, "x"), 0);
	cr_assert_eq(shmkit_heap_find(h, "x", &b, NULL), -ENOENT);
	cr_assert_eq(shmkit_heap_unname(h, name), 0);
	r = heap_report(h, 0);
	cr_assert_eq(r.named, 0);
	cr_assert_eq(r.used, 0, "the table went with the last name");
	heap_gone(h);
}

struct seen {
	int n;
	uint64_t sum;
};

static int visit(const char *name, uint64_t off, uint64_t size, void *arg)
{
	struct seen *s = arg;
	s->n++;
	s->sum += size + (uint64_t)atoi(name + 1) + (off ? 0 : 1000000);
	return 0;
}

static int stop_at_first(const char *name, uint64_t off, uint64_t size, void *arg)
{
	(void)name, (void)off, (void)size, (void)arg;
	return 42;
}

Test(heap, names_are_listed)
{
	shmkit_heap_t *h = heap_fresh(1 * MIB, 0), *r;
	uint64_t off, want = 0;
	for (int i = 0; i < 100; i++) {
		char n[16];
		snprintf(n, sizeof(n), "n%d", i);
		cr_assert_eq(shmkit_heap_named(h, n, (size_t)i, &off), 1);
		want += (uint64_t)i * 2;
	}
	struct seen s = {0};
	cr_assert_eq(shmkit_heap_names(h, visit, &s), 100);
	cr_assert_eq(s.n, 100);
	cr_assert_eq(s.sum, want);
	cr_assert_eq(shmkit_heap_names(h, stop_at_first, NULL), 42);
	cr_assert_eq(shmkit_heap_open(&r, heap_name, SHMKIT_HEAP_RDONLY), 0);
	s = (struct seen){0};
	cr_assert_eq(shmkit_heap_names(r, visit, &s), 100, "read-only, without the lock");
	cr_assert_eq(s.sum, want);
	shmkit_heap_close(r);
	heap_gone(h);
}

struct node {
	int value;
	SHMKIT_RELPTR(struct node) next;
	SHMKIT_RELPTR(struct node) self;
	SHMKIT_RELPTR(char) text;
};

Test(heap, relptrs_survive_another_mapping)
{
	_Static_assert(sizeof(SHMKIT_RELPTR(struct node)) == 8, "8 bytes");
	_Static_assert(_Alignof(SHMKIT_RELPTR(struct node)) == 8, "8-aligned");
	shmkit_heap_t *h = heap_fresh(256 * KIB, 0), *g;
	uint64_t head = 0, text;
	cr_assert_eq(shmkit_heap_alloc(h, 32, &text), 0);
	strcpy(shmkit_heap_ptr(h, text), "payload");
	for (int i = 0; i < 10; i++) {
		uint64_t off;
		cr_assert_eq(shmkit_heap_alloc(h, sizeof(struct node), &off), 0);
		struct node *n = shmkit_heap_ptr(h, off);
		cr_assert(SHMKIT_RELPTR_IS_NULL(n->next), "zeroed memory holds null relptrs");
		cr_assert_null(SHMKIT_RELPTR_GET(n->next));
		n->value = i;
		SHMKIT_RELPTR_SET(n->next, (struct node *)shmkit_heap_ptr(h, head));
		SHMKIT_RELPTR_SET(n->self, n);
		SHMKIT_RELPTR_SET(n->text, (char *)shmkit_heap_ptr(h, text));
		cr_assert_eq(SHMKIT_RELPTR_GET(n->self), n, "a relptr may point to itself");
		head = off;
	}
	cr_assert_eq(shmkit_heap_open(&g, heap_name, SHMKIT_HEAP_RDONLY), 0);
	cr_assert_neq(shmkit_heap_ptr(g, head), shmkit_heap_ptr(h, head));
	int expect = 9;
	for (struct node *n = shmkit_heap_ptr(g, head); n; n = SHMKIT_RELPTR_GET(n->next)) {
		cr_assert_eq(n->value, expect--);
		cr_assert_eq(SHMKIT_RELPTR_GET(n->self), n);
		cr_assert_str_eq(SHMKIT_RELPTR_GET(n->text), "payload");
		cr_assert_eq(shmkit_heap_off(g, n) != 0, 1);
	}
	cr_assert_eq(expect, -1);
	shmkit_heap_close(g);
	heap_gone(h);
}
