/* SPDX-License-Identifier: MIT */
/*
 * Description: a heap with corrupted metadata gives errors, never a crash or a hang. Random
 * bytes of a populated heap's header, page descriptors and name table are overwritten (all but
 * the lock words: a process that forges a lock word naming a live thread can stall others, as
 * with any lock), then every operation runs in a child that must finish normally within its
 * timeout.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "../heap/heaptest.h"
#include "heap/heap.h"

#define SIZE     (512u << 10)
#define MAX_SIZE (2u << 20)

static void populate(shmkit_heap_t *h)
{
	uint64_t off[300];
	for (int i = 0; i < 300; i++)
		cr_assert_eq(shmkit_heap_alloc(
		                 h, i % 10 == 0 ? 5000 + 100 * (size_t)i : (size_t)i * 7, &off[i]),
		             0);
	for (int i = 0; i < 300; i += 3)
		cr_assert_eq(shmkit_heap_free(h, off[i]), 0);
	for (int i = 0; i < 40; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		cr_assert_eq(shmkit_heap_named(h, name, (size_t)i * 11, &off[i]), 1);
	}
	for (int i = 0; i < 40; i += 4) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		cr_assert_eq(shmkit_heap_unname(h, name), 0);
	}
}

/* Is byte i of the header part of a lock word? */
static int lock_word(size_t i)
{
	if (i >= 64 && i < 68)
		return 1; /* pages_lock */
	if (i >= 360 && i < 364)
		return 1; /* names_lock */
	return i >= 512 && i < 512 + SK_HEAP_NARENAS * 256 && (i - 512) % 256 < 4;
}

static int visit(const char *name, uint64_t off, uint64_t size, void *arg)
{
	(void)name, (void)off, (void)size, (void)arg;
	return 0;
}

/* Everything, with results ignored: only crashing or hanging fails. */
static int exercise(uint32_t flags)
{
	shmkit_heap_t *h;
	struct shmkit_heap_report r;
	uint64_t off[64], size, o;
	if (shmkit_heap_open(&h, heap_name, flags) < 0)
		return 0;
	shmkit_heap_check(h, &r, 0);
	for (int i = 0; i < 64; i++) {
		off[i] = 0;
		shmkit_heap_alloc(h, i % 8 == 0 ? 4096 * (size_t)(i / 8 + 1) : (size_t)i * 40,
		                  &off[i]);
		char *p = shmkit_heap_ptr(h, off[i]);
		if (p && shmkit_heap_usable_size(h, off[i], &size) == 0)
			memset(p, 0xa5, size);
	}
	for (int i = 0; i < 64; i += 2)
		shmkit_heap_free(h, off[i]);
	for (uint64_t x = 16; x < MAX_SIZE; x += 4096 * 7 + 48) {
		shmkit_heap_free(h, x);
		shmkit_heap_usable_size(h, x, &size);
		shmkit_heap_off(h, shmkit_heap_ptr(h, x));
	}
	for (int i = 0; i < 48; i++) {
		char name[16];
		snprintf(name, sizeof(name), "f%d", i);
		if (shmkit_heap_named(h, name, 20, &o) >= 0 && shmkit_heap_ptr(h, o) && !flags)
			memset(shmkit_heap_ptr(h, o), 0x5a, 20);
		shmkit_heap_find(h, name, &o, &size);
		if (i % 3 == 0)
			shmkit_heap_unname(h, name);
	}
	shmkit_heap_names(h, visit, NULL);
	shmkit_heap_check(h, &r, SHMKIT_HEAP_CHECK_REPAIR);
	for (int i = 1; i < 64; i += 2)
		shmkit_heap_free(h, off[i]);
	shmkit_heap_alloc(h, SIZE, &o);
	int c = shmkit_heap_check(h, &r, 0);
	shmkit_heap_close(h);
	return c < 0 ? 2 : 1;
}

Test(fuzz, corrupted_heap_never_crashes_or_hangs, .timeout = 240)
{
	shmkit_heap_t *h = heap_fresh(SIZE, MAX_SIZE);
	populate(h);
	shmkit_heap_close(h);
	char path[160];
	snprintf(path, sizeof(path), "/dev/shm/%s", heap_name);
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	struct stat st;
	cr_assert_eq(fstat(fd, &st), 0);
	size_t len = (size_t)st.st_size; /* populate may have grown it */
	uint8_t *image = malloc(len);
	cr_assert_eq(pread(fd, image, len, 0), (ssize_t)len);
	const struct sk_heap_hdr *hdr = (const void *)image;
	size_t table = SK_HEAP_HDR_SIZE, descs = (size_t)hdr->max_pages * SK_HEAP_DESC_SIZE;
	uint64_t names = hdr->names_table;
	int runs = 400, bad = 0, outcome[3] = {0};
	for (int run = 0; run < runs; run++) {
		cr_assert_eq(ftruncate(fd, (off_t)len), 0);
		cr_assert_eq(pwrite(fd, image, len, 0), (ssize_t)len);
		/* A few bytes (or a few runs of bytes) in one of the three kinds of metadata. */
		int n = 1 + (int)tu_rand(run % 4 == 0 ? 64 : 6);
		for (int i = 0; i < n; i++) {
			size_t at;
			switch (tu_rand(3)) {
			case 0:
				do
					at = tu_rand(run % 8 == 0 ? 64 : SK_HEAP_HDR_SIZE);
				while (lock_word(at));
				break;
			case 1:
				at = table +
				     tu_rand((unsigned)(descs < 128 * 64 ? descs : 128 * 64));
				break;
			default:
				at = names ? (size_t)names + tu_rand(64 * 32) : table;
			}
			uint8_t v = (uint8_t)tu_rand(256);
			if (tu_rand(4) == 0)
				v = tu_rand(2) ? 0 : 0xff;
			cr_assert_eq(pwrite(fd, &v, 1, (off_t)at), 1);
		}
		pid_t pid = fork();
		if (pid == 0) {
			/* 0: not opened; 1: a clean heap at the end; 2: damage reported */
			_exit(10 + exercise(run % 5 == 0 ? SHMKIT_HEAP_RDONLY : 0));
		}
		int status = tu_wait_timeout(pid, 20000);
		if (status >= 10 && status < 13) {
			outcome[status - 10]++;
		} else {
			bad++;
			cr_log_error("run %d: child status %d (%s)", run, status,
			             status == -2 ? "hung" : "crashed");
		}
	}
	cr_assert_eq(bad, 0, "%d of %d runs crashed or hung", bad, runs);
	cr_log_info("%d runs: %d refused at open, %d clean at the end, %d with damage reported",
	            runs, outcome[0], outcome[1], outcome[2]);
	cr_assert_gt(outcome[1] + outcome[2], runs / 2, "most runs get past open");
	free(image);
	close(fd);
	shmkit_heap_unlink(heap_name);
	heap_name[0] = '\0';
}
