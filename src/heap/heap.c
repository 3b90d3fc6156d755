/* SPDX-License-Identifier: MIT */
/*
 * heap: creating, opening and mapping heaps; offsets and pointers; the heap locks.
 *
 * Mapping. A handle reserves max_size bytes of address space up front (PROT_NONE,
 * MAP_NORESERVE) and maps the object over the start of it with MAP_FIXED. When the heap grows
 * (pages.c), the grower publishes the new size in the header (BARRIER_H1); every other handle
 * maps the new range into its reservation the next time it needs a page there
 * (sk_heap_have), so nothing already mapped ever moves. Each open maps the heap anew.
 *
 * Creation builds the whole object under no name (an O_TMPFILE in /dev/shm), writes the
 * version last, and link()s it into place: an opener never sees a heap half made.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef HUGETLBFS_MAGIC
#define HUGETLBFS_MAGIC 0x958458f6
#endif

#include "heap/heap.h"
#include "seg/seg.h"
#include "sys/sys.h"

/* ---- geometry ---- */

static uint64_t data_off_for(uint32_t max_pages)
{
	uint64_t table = (uint64_t)SK_HEAP_HDR_SIZE + (uint64_t)max_pages * SK_HEAP_DESC_SIZE;
	return SK_ALIGN_UP(table, (uint64_t)SK_HEAP_PAGE);
}

/* Data pages of a heap that may grow to max_size bytes: as many as fit with their descriptors. */
static uint32_t max_pages_for(uint64_t max_size)
{
	if (max_size < SK_HEAP_MIN_SIZE || max_size > SK_HEAP_MAX_SIZE)
		return 0;
	uint64_t n = (max_size - SK_HEAP_HDR_SIZE) / (SK_HEAP_PAGE + SK_HEAP_DESC_SIZE);
	while (n && data_off_for((uint32_t)n) + (n << SK_HEAP_PAGE_SHIFT) > max_size)
		n--;
	return (uint32_t)n;
}

uint32_t sk_heap_pages_in(uint64_t data_off, uint64_t size)
{
	return size > data_off ? (uint32_t)((size - data_off) >> SK_HEAP_PAGE_SHIFT) : 0;
}

/* The geometry a header must have for its max_size, and a size between the bounds. */
static int geometry_ok(uint64_t size, uint64_t max_size, uint64_t data_off, uint32_t max_pages)
{
	uint32_t want = max_pages_for(max_size);
	if (!want || max_pages != want || data_off != data_off_for(want))
		return 0;
	if (size > max_size || sk_heap_pages_in(data_off, size) == 0)
		return 0;
	return 1;
}

/* Validate a copy of a header: -EAGAIN (still being formatted), -EBADMSG, -EPROTO or 0. */
static int hdr_ok(const struct sk_heap_hdr *c, uint32_t magic, uint32_t version)
{
	if (magic == 0 && version == 0)
		return -EAGAIN;
	if (magic != SK_HEAP_MAGIC)
		return -EBADMSG;
	if (version == 0)
		return -EAGAIN;
	if (version != SK_HEAP_VERSION)
		return -EPROTO;
	if (c->page_size != SK_HEAP_PAGE || c->hdr_size != SK_HEAP_HDR_SIZE ||
	    c->narenas != SK_HEAP_ARENAS || (c->flags & ~SK_HEAP_F_ATTACHED))
		return -EBADMSG;
	uint64_t size = sk_load_relaxed(&c->size);
	return geometry_ok(size, c->max_size, c->data_off, c->max_pages) ? 0 : -EBADMSG;
}

/* ---- the process's handles, so that a fork child gets arenas of its own ---- */

static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct shmkit_heap *handles;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static uint32_t pick_arena(struct shmkit_heap *h)
{
	if (h->rdonly)
		return 0;
	return atomic_fetch_add_explicit(&h->hdr->next_arena, 1, memory_order_relaxed) %
	       SK_HEAP_ARENAS;
}

static void fork_prepare(void)
{
	pthread_mutex_lock(&handles_lock);
	for (struct shmkit_heap *h = handles; h; h = h->list_next)
		pthread_mutex_lock(&h->map_lock);
}

static void fork_parent(void)
{
	for (struct shmkit_heap *h = handles; h; h = h->list_next)
		pthread_mutex_unlock(&h->map_lock);
	pthread_mutex_unlock(&handles_lock);
}

/* The child would otherwise share its parent's arenas, and so their current runs' cache
 * lines, for as long as both allocate. */
static void fork_child(void)
{
	for (struct shmkit_heap *h = handles; h; h = h->list_next) {
		sk_store_relaxed(&h->arena, pick_arena(h));
		sk_cache_forget(h);
		pthread_mutex_unlock(&h->map_lock);
	}
	pthread_mutex_unlock(&handles_lock);
}

static void register_atfork(void)
{
	/* live.c's handlers first: prepare handlers run in reverse, so ours take map_lock before
	 * live.c takes its lock, the order of a sweep's new_carrier() (map_lock, then adopt). */
	sk_live_init();
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static void handle_add(struct shmkit_heap *h)
{
	pthread_once(&atfork_once, register_atfork);
	pthread_mutex_lock(&handles_lock);
	h->list_next = handles;
	if (handles)
		handles->list_prev = h;
	handles = h;
	pthread_mutex_unlock(&handles_lock);
}

static void handle_remove(struct shmkit_heap *h)
{
	pthread_mutex_lock(&handles_lock);
	if (h->list_prev)
		h->list_prev->list_next = h->list_next;
	else if (handles == h)
		handles = h->list_next;
	if (h->list_next)
		h->list_next->list_prev = h->list_prev;
	pthread_mutex_unlock(&handles_lock);
}

/* ---- handles and mappings ---- */

static struct shmkit_heap *handle_new(void)
{
	struct shmkit_heap *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->fd = -1;
	h->carrier = -1;
	pthread_mutex_init(&h->map_lock, NULL);
	pthread_mutex_init(&h->cache_lock, NULL);
	return h;
}

/* Geometry from a validated header into the handle, which from now on trusts only its copy. */
static void handle_geometry(struct shmkit_heap *h, const struct sk_heap_hdr *c, uint64_t mapped)
{
	h->max_size = c->max_size;
	h->data_off = c->data_off;
	h->max_pages = c->max_pages;
	h->secret = c->cache_secret;
	h->hdr = (struct sk_heap_hdr *)(void *)h->base;
	h->pages = (struct sk_heap_page *)(void *)(h->base + SK_HEAP_HDR_SIZE);
	sk_store_relaxed(&h->mapped, mapped);
	uint32_t n = sk_heap_pages_in(h->data_off, mapped);
	sk_store_relaxed(&h->npages, n < h->max_pages ? n : h->max_pages);
}

static void handle_free(struct shmkit_heap *h)
{
	handle_remove(h);     /* nothing if it was never added */
	sk_cache_flush(h, 1); /* nothing if it never cached */
	if (h->base && !h->attached)
		munmap(h->base, h->reserve);
	if (h->fd >= 0)
		close(h->fd);
	pthread_mutex_destroy(&h->map_lock);
	pthread_mutex_destroy(&h->cache_lock);
	free(h);
}

/* The end of every constructor: the handle to the caller, or undone. */
static int handed(struct shmkit_heap *h, int err, shmkit_heap_t **out, int ret)
{
	if (err) {
		handle_free(h);
		return err;
	}
	*out = h;
	return ret;
}

/* Reserve max_size bytes and map the first size bytes of fd over them. */
static int map_reserved(struct shmkit_heap *h, uint64_t size, uint64_t max_size)
{
	size_t sys = sk_page_size();
	if (max_size > SIZE_MAX - sys)
		return -ENOMEM;
	h->reserve = SK_ALIGN_UP((size_t)max_size, sys);
	void *r =
	    mmap(NULL, h->reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (r == MAP_FAILED)
		return -errno;
	h->base = r;
	int prot = PROT_READ | (h->rdonly ? 0 : PROT_WRITE);
	void *m = mmap(r, SK_ALIGN_UP((size_t)size, sys), prot, MAP_SHARED | MAP_FIXED, h->fd, 0);
	return m == MAP_FAILED ? -errno : 0;
}

int sk_heap_sync(struct shmkit_heap *h)
{
	if (h->attached)
		return 0;
	uint64_t size = sk_load_acquire(&h->hdr->size); /* see BARRIER_H1 */
	if (size <= sk_load_relaxed(&h->mapped))
		return 0;
	if (size > h->max_size)
		return -EBADMSG;
	pthread_mutex_lock(&h->map_lock);
	uint64_t mapped = sk_load_relaxed(&h->mapped);
	int err = 0;
	if (size > mapped) {
		/* The header is not the kernel: map only what the file really holds (no SIGBUS). */
		struct stat st;
		size_t sys = sk_page_size();
		uint64_t from = SK_ALIGN_UP(mapped, (uint64_t)sys),
		         to = SK_ALIGN_UP(size, (uint64_t)sys);
		if (fstat(h->fd, &st) < 0)
			err = -errno;
		else if ((uint64_t)st.st_size < size)
			err = -EBADMSG;
		else if (to > from &&
		         mmap(h->base + from, to - from, PROT_READ | (h->rdonly ? 0 : PROT_WRITE),
		              MAP_SHARED | MAP_FIXED, h->fd, (off_t)from) == MAP_FAILED)
			err = -errno;
		if (!err) {
			uint32_t n = sk_heap_pages_in(h->data_off, size);
			sk_store_relaxed(&h->npages, n < h->max_pages ? n : h->max_pages);
			/* Other threads of this process acquire-load mapped before they touch
			 * the range (ptr, off, the library's own accesses): it is mapped by then.
			 */
			sk_store_release(&h->mapped, size);
		}
	}
	pthread_mutex_unlock(&h->map_lock);
	return err;
}

void sk_heap_damaged(struct shmkit_heap *h)
{
	atomic_fetch_add_explicit(&h->hdr->damage, 1, memory_order_relaxed);
}

/* ---- locks ---- */

int sk_heap_lock(struct shmkit_heap *h, shmkit_mutex_t *m,
                 void (*repair)(struct shmkit_heap *, uint32_t), uint32_t arg)
{
	int r = shmkit_mutex_lock(m);
	if (SK_LIKELY(r == 0))
		return 0;
	if (r != -EOWNERDEAD)
		return r; /* -ENOTRECOVERABLE, -EPROTO (corrupt lock word), -EDEADLK */
	/* The last holder died inside: what this lock guards may be half changed. */
	repair(h, arg);
	atomic_fetch_add_explicit(&h->hdr->repairs, 1, memory_order_relaxed);
	shmkit_mutex_consistent(m);
	return 0;
}

void sk_heap_unlock(shmkit_mutex_t *m)
{
	shmkit_mutex_unlock(m);
}

/* ---- formatting ---- */

/* Write a complete, empty heap at base, the version last (BARRIER_H1). */
static void format(uint8_t *base, uint64_t size, uint64_t max_size, uint32_t flags)
{
	struct sk_heap_hdr *hdr = (struct sk_heap_hdr *)(void *)base;
	uint32_t max_pages = max_pages_for(max_size);
	uint64_t data_off = data_off_for(max_pages);
	uint32_t n = sk_heap_pages_in(data_off, size);
	struct sk_heap_page *pages = (struct sk_heap_page *)(void *)(base + SK_HEAP_HDR_SIZE);

	memset(base, 0, SK_HEAP_HDR_SIZE + (size_t)n * SK_HEAP_DESC_SIZE);
	hdr->page_size = SK_HEAP_PAGE;
	hdr->hdr_size = SK_HEAP_HDR_SIZE;
	hdr->max_size = max_size;
	sk_store_relaxed(&hdr->size, size);
	hdr->data_off = data_off;
	hdr->max_pages = max_pages;
	hdr->flags = flags;
	hdr->narenas = SK_HEAP_ARENAS;
	hdr->created = sk_real_sec();
	if (sk_getrandom(&hdr->cache_secret, sizeof(hdr->cache_secret)) == 0)
		hdr->cache_secret |= 1; /* else 0: this heap never caches */
	shmkit_mutex_init(&hdr->pages_lock);
	shmkit_mutex_init(&hdr->names_lock);
	for (uint32_t a = 0; a < SK_HEAP_NARENAS; a++)
		shmkit_mutex_init(&hdr->arenas[a].lock);
	/* All data pages: one free span. */
	sk_store_relaxed(&pages[0].npages, n);
	sk_store_relaxed(&pages[0].tag, SK_TAG(SK_PG_FREE, 0, 0, 0, 0));
	sk_store_relaxed(&pages[n - 1].tail, n);
	sk_store_relaxed(&hdr->bins[sk_bin_of(n)], 1);
	sk_store_relaxed(&hdr->bin_mask, (uint64_t)1 << sk_bin_of(n));
	sk_hdr_publish(&hdr->magic, &hdr->version, SK_HEAP_MAGIC, SK_HEAP_VERSION); /* BARRIER_H1 */
}

int sk_heap_back(int fd, uint64_t data_off, uint32_t from_page, uint32_t to_page)
{
	uint64_t d0 = from_page ? SK_HEAP_HDR_SIZE + (uint64_t)from_page * SK_HEAP_DESC_SIZE : 0;
	uint64_t d1 = SK_HEAP_HDR_SIZE + (uint64_t)to_page * SK_HEAP_DESC_SIZE;
	uint64_t p0 = data_off + ((uint64_t)from_page << SK_HEAP_PAGE_SHIFT);
	uint64_t p1 = data_off + ((uint64_t)to_page << SK_HEAP_PAGE_SHIFT);
	if (fallocate(fd, 0, (off_t)d0, (off_t)(d1 - d0)) < 0 ||
	    fallocate(fd, 0, (off_t)p0, (off_t)(p1 - p0)) < 0)
		return errno == EOPNOTSUPP ? 0 : -errno;
	return 0;
}

static int opts_ok(const struct shmkit_heap_opts *o, uint64_t *size, uint64_t *max_size)
{
	size_t sys = sk_page_size();
	if (!o || o->mode & ~0777u || o->flags & ~SHMKIT_HEAP_OPEN)
		return -EINVAL;
	for (size_t i = 0; i < SK_ARRAY_SIZE(o->reserved); i++)
		if (o->reserved[i])
			return -EINVAL;
	if (o->size < SK_HEAP_MIN_SIZE || o->size > SK_HEAP_MAX_SIZE ||
	    (o->max_size && (o->max_size < o->size || o->max_size > SK_HEAP_MAX_SIZE)))
		return -EINVAL;
	/* Whole pages: the object is mapped and grown in pages. */
	*size = SK_ALIGN_UP(o->size, (uint64_t)sys);
	*max_size = SK_ALIGN_UP(o->max_size ? o->max_size : o->size, (uint64_t)sys);
	if (*max_size > SK_HEAP_MAX_SIZE)
		return -EINVAL;
	uint32_t mp = max_pages_for(*max_size);
	return mp && geometry_ok(*size, *max_size, data_off_for(mp), mp) ? 0 : -EINVAL;
}

/* Format the heap in h->fd (sized and empty) and map it into h. */
static int build(struct shmkit_heap *h, uint64_t size, uint64_t max_size)
{
	uint32_t mp = max_pages_for(max_size);
	uint64_t data_off = data_off_for(mp);
	int err = ftruncate(h->fd, (off_t)size) < 0 ? -errno : 0;
	if (!err)
		err = sk_heap_back(h->fd, data_off, 0, sk_heap_pages_in(data_off, size));
	if (!err)
		err = map_reserved(h, size, max_size);
	if (err)
		return err; /* -ENOSPC: /dev/shm cannot hold it */
	format(h->base, size, max_size, 0);
	handle_geometry(h, (const struct sk_heap_hdr *)(void *)h->base, size);
	sk_store_relaxed(&h->arena, pick_arena(h));
	handle_add(h);
	return 0;
}

/* Not more than a heap can be (a function: with a 32-bit size_t the test is always true). */
static int heap_size_ok(uint64_t size)
{
	return size <= SK_HEAP_MAX_SIZE;
}

/* A heap's file: a regular file of a filesystem that pages in 4 KiB units (tmpfs, a memfd).
 * Huge-page files cannot grow or be mapped in the heap's units: -EINVAL. */
static int file_ok(int fd, struct stat *st)
{
	struct statfs sf;
	if (fstat(fd, st) < 0 || fstatfs(fd, &sf) < 0)
		return -errno;
	return S_ISREG(st->st_mode) && (uint32_t)sf.f_type != HUGETLBFS_MAGIC ? 0 : -EINVAL;
}

SK_EXPORT int shmkit_heap_create_opts(shmkit_heap_t **out, const char *name,
                                      const struct shmkit_heap_opts *o)
{
	uint64_t size, max_size;
	char path[SK_SHM_NAME_MAX + 16];
	if (!out)
		return -EINVAL;
	*out = NULL;
	int err = opts_ok(o, &size, &max_size);
	if (!err)
		err = sk_shm_path(path, sizeof(path), name);
	for (int tries = 0; !err && tries < 100; tries++) {
		struct shmkit_heap *h = handle_new();
		if (!h)
			return -ENOMEM;
		h->fd = sk_posix_tmpfile(size, o->mode ? o->mode : 0600);
		err = h->fd < 0 ? h->fd : build(h, size, max_size);
		if (!err)
			err = sk_posix_publish(h->fd, name); /* complete: now it may be seen */
		if (!err) {
			*out = h;
			return 1;
		}
		handle_free(h);
		if (err != -EEXIST || !(o->flags & SHMKIT_HEAP_OPEN))
			return err;
		/* Open the existing one, unless it vanished meanwhile: then create again. */
		err = shmkit_heap_open(out, name, 0);
		if (err != -ENOENT)
			return err;
		err = 0;
	}
	return err ? err : -EAGAIN;
}

SK_EXPORT int shmkit_heap_create(shmkit_heap_t **out, const char *name, size_t size, uint32_t mode)
{
	struct shmkit_heap_opts o = {.size = size, .mode = mode};
	int r = shmkit_heap_create_opts(out, name, &o);
	return r < 0 ? r : 0;
}

SK_EXPORT int shmkit_heap_create_fd(shmkit_heap_t **out, int fd, const struct shmkit_heap_opts *o)
{
	uint64_t size, max_size;
	uint32_t magic = 0;
	if (!out)
		return -EINVAL;
	*out = NULL;
	int err = opts_ok(o, &size, &max_size);
	if (err)
		return err;
	if (o->flags & SHMKIT_HEAP_OPEN)
		return -EINVAL; /* a descriptor has no name to find an existing heap by */
	struct stat st;
	if (fd < 0)
		return -EBADF;
	err = file_ok(fd, &st);
	if (err)
		return err;
	if (pread(fd, &magic, sizeof(magic), 0) < 0)
		return -errno;
	if (magic == SK_HEAP_MAGIC)
		return -EEXIST;
	struct shmkit_heap *h = handle_new();
	if (!h)
		return -ENOMEM;
	h->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	err = h->fd < 0 ? -errno : 0;
	/* Truncating to 0 first discards whatever the file held: the heap starts zeroed. */
	if (!err && ftruncate(h->fd, 0) < 0)
		err = -errno;
	if (!err)
		err = build(h, size, max_size);
	return handed(h, err, out, 1);
}

/* Map the heap in h->fd: validate a copy of the header, reserve, map, check again. */
static int open_fd_into(struct shmkit_heap *h, uint32_t flags)
{
	struct sk_heap_hdr c;
	struct stat st;
	h->rdonly = flags & SHMKIT_HEAP_RDONLY;
	int err = file_ok(h->fd, &st);
	if (err)
		return err == -EINVAL ? -EBADMSG : err;
	if ((uint64_t)st.st_size < SK_HEAP_MIN_SIZE)
		return -EBADMSG;
	ssize_t n = pread(h->fd, &c, 64, 0);
	if (n < 0)
		return -errno;
	if (n != 64)
		return -EBADMSG;
	err = hdr_ok(&c, c.magic, c.version);
	if (err)
		return err == -EAGAIN ? -EBADMSG : err; /* a named heap is never half made */
	if (c.flags & SK_HEAP_F_ATTACHED)
		return -EBADMSG;
	uint64_t size = sk_load_relaxed(&c.size);
	if ((uint64_t)st.st_size < size)
		return -EBADMSG; /* truncated: its pages would fault */
	err = map_reserved(h, size, c.max_size);
	if (err)
		return err;
	/* The mapping is what counts from now on; the copy was only to know what to map. */
	const struct sk_heap_hdr *hdr = (const struct sk_heap_hdr *)(void *)h->base;
	uint32_t version = sk_load_acquire(&hdr->version); /* see BARRIER_H1 */
	err = hdr_ok(hdr, sk_load_relaxed(&hdr->magic), version);
	if (!err && (hdr->max_size != c.max_size || (hdr->flags & SK_HEAP_F_ATTACHED)))
		err = -EBADMSG;
	if (err)
		return err == -EAGAIN ? -EBADMSG : err;
	handle_geometry(h, hdr, size);
	sk_store_relaxed(&h->arena, pick_arena(h));
	handle_add(h);
	return sk_heap_sync(h);
}

static int open_common(shmkit_heap_t **out, int fd, uint32_t flags)
{
	struct shmkit_heap *h = handle_new();
	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	h->fd = fd;
	return handed(h, open_fd_into(h, flags), out, 0);
}

SK_EXPORT int shmkit_heap_open(shmkit_heap_t **out, const char *name, uint32_t flags)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (flags & ~SHMKIT_HEAP_RDONLY)
		return -EINVAL;
	int fd = sk_posix_open(name, flags & SHMKIT_HEAP_RDONLY);
	return fd < 0 ? fd : open_common(out, fd, flags);
}

SK_EXPORT int shmkit_heap_open_fd(shmkit_heap_t **out, int fd, uint32_t flags)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (flags & ~SHMKIT_HEAP_RDONLY)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	int acc = fcntl(fd, F_GETFL);
	if (acc < 0)
		return -errno;
	if ((acc & O_PATH) || (acc & O_ACCMODE) == O_WRONLY)
		return -EACCES;
	int rdonly = flags & SHMKIT_HEAP_RDONLY;
	if (!rdonly && (acc & O_ACCMODE) == O_RDONLY)
		return -EACCES;
	/* Read-only means read-only to the kernel: a fresh O_RDONLY description, so that an
	 * mprotect(PROT_WRITE) of the mapping fails. */
	int own = rdonly && (acc & O_ACCMODE) == O_RDWR ? sk_fd_reopen(fd, O_RDONLY)
	                                                : fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (own < 0)
		return own == -1 ? -errno : own;
	return open_common(out, own, flags);
}

/* ---- heaps in caller's memory ---- */

static int attach_args(shmkit_heap_t **out, void *addr, size_t size)
{
	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!addr || (uintptr_t)addr % SK_HEAP_PAGE || size < SK_HEAP_MIN_SIZE ||
	    !heap_size_ok(size))
		return -EINVAL;
	return 0;
}

static struct shmkit_heap *attached_handle(void *addr, size_t size, uint32_t rdonly)
{
	struct shmkit_heap *h = handle_new();
	if (!h)
		return NULL;
	h->base = addr;
	h->reserve = size;
	h->attached = 1;
	h->rdonly = rdonly;
	return h;
}

SK_EXPORT int shmkit_heap_format(shmkit_heap_t **out, void *addr, size_t size)
{
	int err = attach_args(out, addr, size);
	if (err)
		return err;
	/* Whole heap pages; the size the caller gave is the heap's forever. */
	uint64_t sz = (uint64_t)size & ~(uint64_t)(SK_HEAP_PAGE - 1);
	if (!max_pages_for(sz) ||
	    !geometry_ok(sz, sz, data_off_for(max_pages_for(sz)), max_pages_for(sz)))
		return -EINVAL;
	struct shmkit_heap *h = attached_handle(addr, size, 0);
	if (!h)
		return -ENOMEM;
	/* A peer attaching meanwhile sees version 0 until the end: -EAGAIN, never half a heap. */
	sk_store_release(&((struct sk_heap_hdr *)addr)->version, 0); /* see BARRIER_H1 */
	format(addr, sz, sz, SK_HEAP_F_ATTACHED);
	handle_geometry(h, (const struct sk_heap_hdr *)(void *)h->base, sz);
	sk_store_relaxed(&h->arena, pick_arena(h));
	handle_add(h);
	*out = h;
	return 0;
}

SK_EXPORT int shmkit_heap_attach(shmkit_heap_t **out, void *addr, size_t size, uint32_t flags)
{
	int err = attach_args(out, addr, size);
	if (err)
		return err;
	if (flags & ~SHMKIT_HEAP_RDONLY)
		return -EINVAL;
	const struct sk_heap_hdr *hdr = addr;
	uint32_t version = sk_load_acquire(&hdr->version); /* see BARRIER_H1 */
	err = hdr_ok(hdr, sk_load_relaxed(&hdr->magic), version);
	if (err)
		return err;
	uint64_t sz = sk_load_relaxed(&hdr->size);
	if (!(hdr->flags & SK_HEAP_F_ATTACHED) || hdr->max_size != sz || sz > size)
		return -EBADMSG;
	struct shmkit_heap *h = attached_handle(addr, size, flags & SHMKIT_HEAP_RDONLY);
	if (!h)
		return -ENOMEM;
	handle_geometry(h, hdr, sz);
	sk_store_relaxed(&h->arena, pick_arena(h));
	handle_add(h);
	*out = h;
	return 0;
}

SK_EXPORT int shmkit_heap_close(shmkit_heap_t *h)
{
	if (h)
		handle_free(h);
	return 0;
}

SK_EXPORT int shmkit_heap_unlink(const char *name)
{
	return sk_posix_unlink(name);
}

SK_EXPORT int shmkit_heap_fd(const shmkit_heap_t *h)
{
	if (!h)
		return -EINVAL;
	return h->fd >= 0 ? h->fd : -EBADF;
}

/* ---- offsets and pointers ---- */

SK_EXPORT void *shmkit_heap_ptr(shmkit_heap_t *h, uint64_t off)
{
	if (!h || off == 0)
		return NULL;
	/*
	 * Whatever the heap had when this offset was handed out must be mapped here, the rest
	 * of a block that ends beyond what this handle had mapped included: so compare with
	 * the size published now, not with the offset (BARRIER_H1).
	 */
	uint64_t mapped = sk_load_acquire(&h->mapped); /* pairs with sk_heap_sync's release */
	if (SK_UNLIKELY(sk_load_acquire(&h->hdr->size) > mapped)) {
		sk_heap_sync(h);
		mapped = sk_load_acquire(&h->mapped); /* pairs with sk_heap_sync's release */
	}
	return off < mapped ? h->base + off : NULL;
}

SK_EXPORT uint64_t shmkit_heap_off(shmkit_heap_t *h, const void *p)
{
	if (!h || !p)
		return 0;
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)h->base;
	/* pairs with sk_heap_sync's release */
	return a >= b && a - b < sk_load_acquire(&h->mapped) ? (uint64_t)(a - b) : 0;
}
