/* SPDX-License-Identifier: MIT */
/* Helpers for the heap tests: unique heap names removed on every path, the check's identity. */
#ifndef SHMKIT_HEAPTEST_H
#define SHMKIT_HEAPTEST_H

#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmkit.h"
#include "testutil.h"

/* The heap of this test; removed by heap_gone() and, if a test fails, at exit. */
static char heap_name[96];

static void heap_unlink_at_exit(void)
{
	if (heap_name[0])
		shmkit_heap_unlink(heap_name);
}

static inline const char *heap_fresh_name(void)
{
	static int registered;
	if (!registered++)
		atexit(heap_unlink_at_exit);
	snprintf(heap_name, sizeof(heap_name), "%s", tu_name("shmkit-test-heap"));
	return heap_name;
}

/* A new heap of size bytes growing to max_size (0: never). */
static inline shmkit_heap_t *heap_fresh(uint64_t size, uint64_t max_size)
{
	struct shmkit_heap_opts o = {.size = size, .max_size = max_size};
	shmkit_heap_t *h = NULL;
	int r = shmkit_heap_create_opts(&h, heap_fresh_name(), &o);
	cr_assert_eq(r, 1, "create %s: %s", heap_name, strerror(-r));
	return h;
}

static inline void heap_gone(shmkit_heap_t *h)
{
	shmkit_heap_close(h);
	shmkit_heap_unlink(heap_name);
	heap_name[0] = '\0';
}

/* check() with every byte accounted for; returns the report. */
static inline struct shmkit_heap_report heap_report(shmkit_heap_t *h, int want)
{
	struct shmkit_heap_report r;
	int c = shmkit_heap_check(h, &r, 0);
	cr_assert_eq(c, want, "check returned %d (want %d): %s", c, want, r.first_problem);
	cr_assert_eq(r.size, r.meta + r.used + r.free + r.slack + r.leaked,
	             "size %llu != meta %llu + used %llu + free %llu + slack %llu + leaked %llu",
	             (unsigned long long)r.size, (unsigned long long)r.meta,
	             (unsigned long long)r.used, (unsigned long long)r.free,
	             (unsigned long long)r.slack, (unsigned long long)r.leaked);
	return r;
}

/* A byte pattern that depends on the block and the position. */
static inline uint8_t heap_pattern(uint64_t seed, uint64_t i)
{
	return (uint8_t)((seed * 0x9e3779b97f4a7c15ull + i * 31) >> 24);
}

static inline void heap_fill(void *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		((uint8_t *)p)[i] = heap_pattern(seed, i);
}

/* 0 if p holds seed's pattern, else 1 + the first position that does not. */
static inline size_t heap_verify(const void *p, size_t n, uint64_t seed)
{
	for (size_t i = 0; i < n; i++)
		if (((const uint8_t *)p)[i] != heap_pattern(seed, i))
			return i + 1;
	return 0;
}

#endif
