// SPDX-License-Identifier: MIT
// bench_heap's reference: Boost.Interprocess managed_shared_memory (the benchmark's only C++
// file). A C interface, so that bench_heap.c times both the same way.
#include <boost/interprocess/managed_shared_memory.hpp>

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <memory>
#include <new>

namespace bi = boost::interprocess;

static std::unique_ptr<bi::managed_shared_memory> seg;

static uint64_t now_ns()
{
	timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

extern "C" {

// Create the segment (removing a stale one of that name first). 0, or -1.
int bx_open(const char *name, size_t size)
{
	try {
		bi::shared_memory_object::remove(name);
		seg.reset(new bi::managed_shared_memory(bi::create_only, name, size));
		return 0;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "bench_heap: boost: %s\n", e.what());
		return -1;
	}
}

void bx_remove(const char *name)
{
	bi::shared_memory_object::remove(name);
}

void bx_close(const char *name)
{
	seg.reset();
	bx_remove(name);
}

// n allocate(size) + deallocate pairs; nanoseconds per pair, or -1 on failure.
double bx_alloc_free(int n, size_t size)
{
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++) {
		void *p = seg->allocate(size, std::nothrow);
		if (!p)
			return -1;
		__asm__ __volatile__("" : : "g"(p) : "memory");
		seg->deallocate(p);
	}
	return (double)(now_ns() - t0) / n;
}

// The named objects: construct<uint64_t>(names[i])(i). 0, or -1.
int bx_names(const char *const *names, int n)
{
	try {
		for (int i = 0; i < n; i++)
			seg->construct<uint64_t>(names[i])((uint64_t)i);
		return 0;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "bench_heap: boost: %s\n", e.what());
		return -1;
	}
}

// find<uint64_t>(name) for each of n names; nanoseconds per lookup, or -1 if one is missing.
double bx_find(const char *const *names, int n)
{
	uint64_t t0 = now_ns();
	for (int i = 0; i < n; i++) {
		std::pair<uint64_t *, size_t> r = seg->find<uint64_t>(names[i]);
		if (!r.first)
			return -1;
		__asm__ __volatile__("" : : "g"(r.first) : "memory");
	}
	return (double)(now_ns() - t0) / n;
}
}
