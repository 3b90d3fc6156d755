/* SPDX-License-Identifier: MIT */
/*
 * shmkit/heap.h — managed segments (part of <shmkit.h>): an allocator whose memory and
 * metadata live in one shared object, named objects, and self-relative pointers.
 *
 * A heap is mapped at a different address in each process, so everything in it is named by
 * an offset from its start: 0 is the null offset, and shmkit_heap_ptr()/shmkit_heap_off()
 * convert. Structures that point into the heap store offsets, or SHMKIT_RELPTR(T) fields,
 * which hold the distance to their target and so stay valid wherever the heap is mapped.
 *
 * Every function returns 0 (or a count, or 1 for "created") or -errno. None of them sleeps
 * except on a heap lock, which its holders keep for a few hundred instructions; small
 * allocations and frees take no lock at all on their fast path. A process killed at any
 * instruction leaves a heap that the next caller repairs; at worst the block of the call that
 * was interrupted stays allocated with nobody holding it (shmkit_heap_check() reports what it
 * can see of that). Offsets are the same for every handle; pointers belong to one handle.
 * Full semantics: shmkit_heap(3).
 */
#ifndef SHMKIT_HEAP_H
#define SHMKIT_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct shmkit_heap shmkit_heap_t; /* process-local handle, opaque */

/* shmkit_heap_open(), shmkit_heap_open_fd() and shmkit_heap_attach() flags */
#define SHMKIT_HEAP_RDONLY 0x1u /* map read-only: find, ptr, off, check; writes -EACCES */

/* shmkit_heap_opts.flags */
#define SHMKIT_HEAP_OPEN 0x2u /* create, or open the existing heap of that name */

#define SHMKIT_HEAP_MIN_SIZE 16384u              /* smallest heap object */
#define SHMKIT_HEAP_MAX_SIZE ((uint64_t)1 << 40) /* largest (max_size) */
#define SHMKIT_HEAP_NAME_MAX 255                 /* bytes of an object's name */
#define SHMKIT_HEAP_ALIGN    16                  /* every allocation is aligned so */

/* Creation options: start from a zeroed struct. */
struct shmkit_heap_opts {
	uint64_t size;        /* bytes of the object at creation, SHMKIT_HEAP_MIN_SIZE at least */
	uint64_t max_size;    /* bytes it may grow to; 0 = size (never grows) */
	uint32_t mode;        /* permission bits of the object (0777 at most); 0 = 0600 */
	uint32_t flags;       /* SHMKIT_HEAP_OPEN */
	uint64_t reserved[4]; /* must be 0 */
};

/*
 * Create a heap of exactly size bytes (rounded up to the page size) under the POSIX shm name
 * (as shmkit_seg_create: "x" or "/x"), with exactly mode (0 = 0600; the umask does not apply). It
 * appears under its name complete or not at all. -EEXIST if the name exists, -EINVAL for a size
 * below SHMKIT_HEAP_MIN_SIZE, -ENOSPC if /dev/shm cannot hold it. The heap never grows.
 */
int shmkit_heap_create(shmkit_heap_t **out, const char *name, size_t size, uint32_t mode);
/*
 * The same with options. A heap with max_size > size grows (at most to max_size) when an
 * allocation does not fit; the descriptors of max_size's pages (1/64 of it) must fit in
 * size (-EINVAL otherwise). Returns 1 if it created the heap, 0 if it opened an existing one
 * (SHMKIT_HEAP_OPEN only; the options of the existing heap apply).
 */
int shmkit_heap_create_opts(shmkit_heap_t **out, const char *name,
                            const struct shmkit_heap_opts *o);
/*
 * Format a heap in the file behind fd (a new memfd, or any regular file on tmpfs; not one of
 * huge pages: -EINVAL), resizing it to o->size. The file must not be a heap already (-EEXIST). The
 * handle keeps its own duplicate of fd; the caller still owns fd. Pass the file to other processes
 * (SCM_RIGHTS, shmkit_seg_send) and open it there with shmkit_heap_open_fd(). Returns 1 (created).
 */
int shmkit_heap_create_fd(shmkit_heap_t **out, int fd, const struct shmkit_heap_opts *o);
/*
 * Open an existing heap: by name, or by a descriptor of its file (which the caller still
 * owns). flags: SHMKIT_HEAP_RDONLY. -ENOENT (no such name), -EACCES (the kernel says no),
 * -EBADMSG (not a heap, or truncated), -EPROTO (a heap layout this library does not know).
 * Each call maps the heap anew, at an address of its own.
 */
int shmkit_heap_open(shmkit_heap_t **out, const char *name, uint32_t flags);
int shmkit_heap_open_fd(shmkit_heap_t **out, int fd, uint32_t flags);
/*
 * A heap inside memory the caller mapped and keeps mapped, e.g. a System V segment from
 * shmkit_shmat(): addr page-aligned, size bytes (SHMKIT_HEAP_MIN_SIZE at least). format makes
 * a new heap there (overwriting what is there: call it once, in one process); attach uses
 * the heap another process formatted (-EAGAIN while it is still being formatted). Such a heap
 * never grows, and closing the handle does not unmap the memory.
 */
int shmkit_heap_format(shmkit_heap_t **out, void *addr, size_t size);
int shmkit_heap_attach(shmkit_heap_t **out, void *addr, size_t size, uint32_t flags);
/* Unmap (unless attached) and free the handle; NULL is fine. Pointers from it become invalid. */
int shmkit_heap_close(shmkit_heap_t *h);
/* Remove the name; handles open on the heap keep working. -ENOENT if there is no such name. */
int shmkit_heap_unlink(const char *name);
/* The descriptor behind the handle (owned by it), to pass to another process; -EBADF when
 * attached to caller's memory. */
int shmkit_heap_fd(const shmkit_heap_t *h);

/*
 * Allocate size bytes, 16-aligned and zeroed: 0 and *off. -ENOMEM when nothing fits (after
 * giving every empty run back to the page allocator and growing as far as max_size allows).
 * alloc(0) allocates a minimal block (16 bytes) with an offset of its own, to be freed.
 */
int shmkit_heap_alloc(shmkit_heap_t *h, size_t size, uint64_t *off);
/*
 * Free an allocation. free(0) does nothing and returns 0. -EINVAL if off is not the start of
 * a live allocation of this heap: a double free, an offset inside a block, a named object's
 * offset (use shmkit_heap_unname), or anything else.
 */
int shmkit_heap_free(shmkit_heap_t *h, uint64_t off);
/* Usable bytes of the allocation at off (its size class): 0 and *size, or -EINVAL. */
int shmkit_heap_usable_size(shmkit_heap_t *h, uint64_t off, uint64_t *size);
/* The address of offset off in this handle's mapping: NULL for 0 or an offset outside the
 * heap. Space the heap gained by growing elsewhere is mapped here on demand. */
void *shmkit_heap_ptr(shmkit_heap_t *h, uint64_t off);
/* The offset of address p: 0 if p is not inside the heap as this handle maps it. */
uint64_t shmkit_heap_off(shmkit_heap_t *h, const void *p);

/*
 * Find the object called name (1..SHMKIT_HEAP_NAME_MAX bytes, NUL-terminated), or allocate
 * size zeroed bytes under that name: of processes racing for one name exactly one creates it.
 * Returns 1 and *off if this call created it, 0 and *off if it existed (then size must not
 * exceed the existing object's: -EINVAL). A read-only handle finds but does not create
 * (-ENOENT). Lookups take no lock.
 */
int shmkit_heap_named(shmkit_heap_t *h, const char *name, size_t size, uint64_t *off);
/* Find only: 0, *off and *size (may be NULL); -ENOENT. */
int shmkit_heap_find(shmkit_heap_t *h, const char *name, uint64_t *off, uint64_t *size);
/* Forget name and free its object. -ENOENT if there is no such name. */
int shmkit_heap_unname(shmkit_heap_t *h, const char *name);
/*
 * Call fn once per named object (a snapshot: names created or removed meanwhile may or may not
 * be seen). A non-zero return of fn stops the walk and is returned; else the number visited.
 */
typedef int (*shmkit_heap_name_fn)(const char *name, uint64_t off, uint64_t size, void *arg);
int shmkit_heap_names(shmkit_heap_t *h, shmkit_heap_name_fn fn, void *arg);

/* What shmkit_heap_check() found. Bytes unless said otherwise. */
struct shmkit_heap_report {
	uint64_t size;     /* bytes of the object now */
	uint64_t max_size; /* bytes it may grow to */
	uint64_t meta;     /* header, page descriptors and the name table */
	uint64_t used;     /* allocations (their usable sizes), named objects included */
	uint64_t free;     /* allocatable: free pages and free slots, cached ones included */
	uint64_t slack;    /* run tails too small for a slot, pages fenced off by repairs */
	uint64_t leaked;   /* neither free nor reachable: stranded slots, unnamed named blocks */
	uint64_t largest_free; /* the largest allocation that would succeed without growing */
	uint64_t blocks;       /* allocations */
	uint64_t leaked_blocks;
	uint64_t named;   /* named objects */
	uint64_t damage;  /* inconsistencies found now, plus those repairs fenced off before */
	uint64_t repairs; /* repairs done after a process died holding a heap lock */
	uint64_t cached;  /* free blocks that handles keep for their next allocation (in free) */
	uint64_t reserved[2];
	char first_problem[128]; /* what the first leak or damage was, "" if none */
};
/* shmkit_heap_check() flags */
#define SHMKIT_HEAP_CHECK_REPAIR 0x1u /* also give stranded slots and unnamed blocks back */
/*
 * Walk the whole heap and fill r; size == meta + used + free + slack + leaked. Returns 0 if
 * nothing leaked and nothing is damaged, 1 if leaks were found (given back with
 * SHMKIT_HEAP_CHECK_REPAIR), -EBADMSG if damage was found. A writable handle takes every lock
 * in turn (so the figures are exact when no other process allocates at the same time); a
 * read-only handle reads without locks.
 */
int shmkit_heap_check(shmkit_heap_t *h, struct shmkit_heap_report *r, uint32_t flags);

/*
 * Self-relative pointers. SHMKIT_RELPTR(T) is an 8-byte field (8-aligned, the same in 32- and
 * 64-bit processes) holding the distance from itself to its target, so a structure linked
 * with them can be mapped at any address. Zero-filled memory holds null relptrs. A relptr can
 * point to itself; it cannot point to the one byte just before itself. Copying a relptr to
 * another place needs SHMKIT_RELPTR_SET, not assignment.
 */
#define SHMKIT_RELPTR(T)                                                                           \
	union {                                                                                    \
		int64_t rel_ __attribute__((aligned(8)));                                          \
		T *type_; /* never stored: carries T for GET and SET */                            \
	}
#ifdef __cplusplus
#define SHMKIT_RELPTR_TYPE_(rp) decltype(+(rp).type_)
#else
#define SHMKIT_RELPTR_TYPE_(rp) __typeof__((rp).type_)
#endif
/* The target (a T *), or NULL. */
#define SHMKIT_RELPTR_GET(rp) ((SHMKIT_RELPTR_TYPE_(rp))shmkit_relptr_get_(&(rp).rel_))
/* Point rp at p (a T *, or NULL). */
#define SHMKIT_RELPTR_SET(rp, p)  shmkit_relptr_set_(&(rp).rel_, (1 ? (p) : (rp).type_))
#define SHMKIT_RELPTR_IS_NULL(rp) ((rp).rel_ == 0)

static inline void *shmkit_relptr_get_(const int64_t *rp)
{
	int64_t d = *rp;
	/* Stored as target - self + 1, so that 0 is null and a pointer to itself is 1. */
	return d ? (void *)((uintptr_t)rp + (uintptr_t)(d - 1)) : (void *)0;
}

static inline void shmkit_relptr_set_(int64_t *rp, const void *p)
{
	/* The difference is taken modulo the address width, then sign-extended, so a 32-bit
	 * process stores what a 64-bit one reads back. */
	*rp = p ? (int64_t)(intptr_t)((uintptr_t)p - (uintptr_t)rp) + 1 : 0;
}

#endif
