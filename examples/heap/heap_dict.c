/* SPDX-License-Identifier: MIT */
/*
 * heap_dict — a hash map of strings in a shmkit heap, built by one process and read by
 * another that maps the heap at a different address.
 *
 *   heap_dict [NAME]           build the map in a new heap NAME, then start a reader
 *   heap_dict --read NAME      (the reader) find the map by its name and walk it
 *
 * Nothing in the heap is a pointer: the map is found through a named object, and its
 * buckets, entries and strings are linked with SHMKIT_RELPTR fields, which hold the distance
 * to their target and so mean the same wherever the heap is mapped. The reader is a fresh
 * program (fork + exec) that reserves some address space before opening the heap, so the
 * heap lands elsewhere than in the builder; it opens it read-only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmkit.h>

struct entry {
	SHMKIT_RELPTR(struct entry) next; /* the next entry of the same bucket */
	SHMKIT_RELPTR(char) key;
	SHMKIT_RELPTR(char) value;
	uint32_t hash;
	uint32_t pad;
};

struct dict {
	uint32_t nbuckets;
	uint32_t count;
	SHMKIT_RELPTR(struct entry) buckets[]; /* nbuckets of them */
};

#define NBUCKETS 64

static const char *const words[][2] = {
    {"heap", "memory handed out in blocks"},
    {"offset", "a distance from the start"},
    {"relptr", "a pointer relative to itself"},
    {"segment", "memory shared by processes"},
    {"arena", "a part of the heap with its lock"},
    {"run", "a span of one size class"},
    {"span", "pages side by side"},
    {"named", "found by a string"},
};

static uint32_t hash(const char *s)
{
	uint32_t h = 2166136261u;
	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "heap_dict: %s: %s\n", what, strerror(-err));
	return 1;
}

/* A copy of s in the heap. */
static char *heap_strdup(shmkit_heap_t *h, const char *s)
{
	uint64_t off;
	if (shmkit_heap_alloc(h, strlen(s) + 1, &off) < 0)
		return NULL;
	return strcpy(shmkit_heap_ptr(h, off), s);
}

static int put(shmkit_heap_t *h, struct dict *d, const char *key, const char *value)
{
	uint64_t off;
	int err = shmkit_heap_alloc(h, sizeof(struct entry), &off);
	if (err < 0)
		return err;
	struct entry *e = shmkit_heap_ptr(h, off); /* zeroed: its relptrs are null */
	char *k = heap_strdup(h, key), *v = heap_strdup(h, value);
	if (!k || !v)
		return -ENOMEM;
	SHMKIT_RELPTR_SET(e->key, k);
	SHMKIT_RELPTR_SET(e->value, v);
	e->hash = hash(key);
	uint32_t b = e->hash % d->nbuckets;
	SHMKIT_RELPTR_SET(e->next, SHMKIT_RELPTR_GET(d->buckets[b]));
	SHMKIT_RELPTR_SET(d->buckets[b], e);
	d->count++;
	return 0;
}

static const char *get(const struct dict *d, const char *key)
{
	uint32_t hk = hash(key);
	for (struct entry *e = SHMKIT_RELPTR_GET(d->buckets[hk % d->nbuckets]); e;
	     e = SHMKIT_RELPTR_GET(e->next))
		if (e->hash == hk && !strcmp(SHMKIT_RELPTR_GET(e->key), key))
			return SHMKIT_RELPTR_GET(e->value);
	return NULL;
}

static int reader(const char *name)
{
	/* Take some address space first, so that the heap cannot land where the builder had it. */
	void *hole =
	    mmap(NULL, 1u << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	shmkit_heap_t *h;
	uint64_t off, size;
	int err = shmkit_heap_open(&h, name, SHMKIT_HEAP_RDONLY);
	if (err < 0)
		return fail("open", err);
	err = shmkit_heap_find(h, "dict", &off, &size);
	if (err < 0)
		return fail("find dict", err);
	const struct dict *d = shmkit_heap_ptr(h, off);
	printf("reader:  heap mapped at %p, dict at offset %#llx (%u entries)\n",
	       (char *)shmkit_heap_ptr(h, off) - off, (unsigned long long)off, d->count);
	uint32_t seen = 0;
	for (uint32_t b = 0; b < d->nbuckets; b++)
		for (struct entry *e = SHMKIT_RELPTR_GET(d->buckets[b]); e;
		     e = SHMKIT_RELPTR_GET(e->next), seen++)
			printf("  %-8s %s\n", SHMKIT_RELPTR_GET(e->key),
			       SHMKIT_RELPTR_GET(e->value));
	const char *v = get(d, "relptr");
	printf("reader:  walked %u entries; relptr = \"%s\"\n", seen, v ? v : "(missing)");
	int ok = seen == d->count && v && !strcmp(v, "a pointer relative to itself");
	shmkit_heap_close(h); /* d and v point into the mapping: not after this */
	if (hole != MAP_FAILED)
		munmap(hole, 1u << 30);
	return ok ? 0 : 1;
}

static int builder(const char *self, const char *name)
{
	shmkit_heap_t *h;
	uint64_t off;
	int err = shmkit_heap_create(&h, name, 1u << 20, 0600);
	if (err < 0)
		return fail("create", err);
	err = shmkit_heap_named(
	    h, "dict", sizeof(struct dict) + NBUCKETS * sizeof(((struct dict *)0)->buckets[0]),
	    &off);
	if (err < 0) {
		shmkit_heap_unlink(name);
		return fail("named", err);
	}
	struct dict *d = shmkit_heap_ptr(h, off);
	d->nbuckets = NBUCKETS;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]) && err >= 0; i++)
		err = put(h, d, words[i][0], words[i][1]);
	printf("builder: heap mapped at %p, %u entries\n", (char *)shmkit_heap_ptr(h, off) - off,
	       d->count);
	fflush(stdout);
	pid_t pid = err < 0 ? -1 : fork();
	if (pid == 0) {
		execl(self, self, "--read", name, (char *)NULL);
		_exit(127);
	}
	int status = 1;
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	shmkit_heap_close(h);
	shmkit_heap_unlink(name);
	return err < 0 ? fail("put", err) : status;
}

int main(int argc, char **argv)
{
	char name[64];
	if (argc == 3 && !strcmp(argv[1], "--read"))
		return reader(argv[2]);
	if (argc > 2) {
		fprintf(stderr, "usage: heap_dict [NAME] | heap_dict --read NAME\n");
		return 2;
	}
	snprintf(name, sizeof(name), "%s", argc == 2 ? argv[1] : "shmkit-heap-dict");
	return builder(argv[0], name);
}
