/* SPDX-License-Identifier: MIT */
/* inspect: the public entry points — walk every kind, find attachers, map read-only. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect/inspect.h"
#include "sys/sys.h"

/* Heaps are POSIX objects: a filter for heaps alone lets only those through. */
struct only_heaps {
	shmkit_inspect_fn fn;
	void *arg;
	int seen;
};

static int only_heaps(const struct shmkit_obj *o, void *arg)
{
	struct only_heaps *w = arg;
	if (o->kind == SHMKIT_KIND_POSIX && !(o->flags & SHMKIT_OBJ_HEAP))
		return 0;
	w->seen++;
	return w->fn(o, w->arg);
}

SK_EXPORT int shmkit_inspect_list(const struct shmkit_inspect_filter *f, shmkit_inspect_fn fn,
                                  void *arg)
{
	uint32_t kinds = f && f->kinds ? f->kinds : SHMKIT_KIND_ALL;
	if (!fn || (kinds & ~SHMKIT_KIND_ALL))
		return -EINVAL;
	int total = 0, failed = 0, tried = 0, err = 0, stop = 0;
	struct only_heaps heaps = {fn, arg, 0};
	if ((kinds & SHMKIT_KIND_HEAP) && !(kinds & SHMKIT_KIND_POSIX)) {
		fn = only_heaps;
		arg = &heaps;
	}
	sk_insp_walker walkers[] = {sk_insp_sysv_walk, sk_insp_posix_walk, sk_insp_chan_walk,
	                            sk_insp_ns_walk};
	const uint32_t bits[] = {SHMKIT_KIND_SYSV, SHMKIT_KIND_POSIX | SHMKIT_KIND_HEAP,
	                         SHMKIT_KIND_CHAN, SHMKIT_KIND_SHMKIT};
	for (size_t i = 0; i < SK_ARRAY_SIZE(walkers) && !stop; i++) {
		if (!(kinds & bits[i]))
			continue;
		tried++;
		int r = walkers[i](f ? f->ns : NULL, fn, arg, &stop);
		if (r < 0) {
			failed++;
			err = r;
		} else {
			total += fn == only_heaps ? heaps.seen : r;
			heaps.seen = 0;
		}
	}
	if (stop)
		return stop;
	return tried && failed == tried ? err : total;
}

/* ---- attachers ---- */

struct procs {
	struct shmkit_inspect_proc *v;
	size_t n, cap;
};

static struct shmkit_inspect_proc *proc_slot(struct procs *ps, pid_t pid)
{
	for (size_t i = ps->n; i-- > 0;)
		if (ps->v[i].pid == pid)
			return &ps->v[i];
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? ps->cap * 2 : 16;
		struct shmkit_inspect_proc *v = realloc(ps->v, cap * sizeof(*v));
		if (!v)
			return NULL;
		ps->v = v;
		ps->cap = cap;
	}
	struct shmkit_inspect_proc *p = &ps->v[ps->n++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

struct match {
	const struct shmkit_obj *obj;
	uint64_t ino;
	struct procs procs;
};

static int add_map(struct match *m, pid_t pid)
{
	struct shmkit_inspect_proc *p = proc_slot(&m->procs, pid);
	if (!p)
		return -ENOMEM;
	p->maps++;
	return 0;
}

static int match_sysv(pid_t pid, uint64_t ino, const char *path, void *arg)
{
	struct match *m = arg;
	if (strncmp(path, "/SYSV", 5) != 0 || ino != (uint64_t)m->obj->id)
		return 0;
	return add_map(m, pid);
}

static int match_file(pid_t pid, uint64_t ino, const char *path, void *arg)
{
	struct match *m = arg;
	if (ino != m->ino || strcmp(path, m->obj->backing) != 0)
		return 0;
	return add_map(m, pid);
}

static int match_fds(pid_t pid, void *arg)
{
	struct match *m = arg;
	char dir[64], link[PATH_MAX];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int dfd = dirfd(d);
	struct dirent *e;
	uint32_t fds = 0;
	while ((e = readdir(d))) {
		ssize_t n = readlinkat(dfd, e->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, m->obj->backing) != 0)
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, 0) == 0 && st.st_ino == m->ino)
			fds++;
	}
	closedir(d);
	if (!fds)
		return 0;
	struct shmkit_inspect_proc *p = proc_slot(&m->procs, pid);
	if (!p)
		return -ENOMEM;
	p->fds += fds;
	return 0;
}

static int cmp_pid(const void *a, const void *b)
{
	const struct shmkit_inspect_proc *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

SK_EXPORT int shmkit_inspect_attachers(const struct shmkit_obj *obj,
                                       struct shmkit_inspect_proc *out, size_t max)
{
	if (!obj)
		return -EINVAL;
	if (obj->kind == SHMKIT_KIND_SHMKIT)
		return sk_insp_ns_attachers(obj, out, max);
	struct match m = {.obj = obj};
	int r;
	if (obj->kind == SHMKIT_KIND_SYSV) {
		r = sk_insp_scan_maps(0, match_sysv, &m);
	} else {
		struct stat st;
		if (!obj->backing[0] || stat(obj->backing, &st) < 0)
			return obj->backing[0] ? -errno : -EINVAL;
		m.ino = st.st_ino;
		r = sk_insp_scan_maps(0, match_file, &m);
		if (r == 0)
			r = sk_insp_each_pid(match_fds, &m);
	}
	if (r < 0) {
		free(m.procs.v);
		return r;
	}
	if (m.procs.n)
		qsort(m.procs.v, m.procs.n, sizeof(*m.procs.v), cmp_pid);
	for (size_t i = 0; i < m.procs.n && i < max; i++) {
		out[i] = m.procs.v[i];
		if (sk_proc_starttime(out[i].pid, &out[i].start) < 0)
			out[i].start = 0;
		if (sk_proc_comm(out[i].pid, out[i].comm, sizeof(out[i].comm)) < 0)
			out[i].comm[0] = '\0';
	}
	free(m.procs.v);
	return (int)m.procs.n;
}

/* ---- read-only mapping ---- */

static int map_sysv(const struct shmkit_obj *obj, struct shmkit_inspect_view *v)
{
	void *p = shmat(obj->id, NULL, SHM_RDONLY);
	if (p == (void *)-1)
		return -errno;
	struct shmid_ds ds;
	if (shmctl(obj->id, IPC_STAT, &ds) < 0) {
		int err = -errno;
		shmdt(p);
		return err;
	}
	v->addr = p;
	v->size = ds.shm_segsz; /* the attached segment's, whatever obj said */
	return 0;
}

static int map_file(const struct shmkit_obj *obj, struct shmkit_inspect_view *v)
{
	int fd = open(obj->backing, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	int err = fstat(fd, &st) < 0 ? -errno : 0;
	if (!err && st.st_size > 0) {
		/* Bytes past the file's size would fault: map exactly what is there now. */
		void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			err = -errno;
		} else {
			v->addr = p;
			v->maplen_ = (uint64_t)st.st_size;
		}
	}
	close(fd);
	if (!err)
		v->size = (uint64_t)st.st_size;
	/* A shmkit backing object is rounded up to pages; the segment is segsz bytes. */
	if (!err && obj->kind == SHMKIT_KIND_SHMKIT && obj->size < v->size)
		v->size = obj->size;
	return err;
}

SK_EXPORT int shmkit_inspect_map(const struct shmkit_obj *obj, struct shmkit_inspect_view *v)
{
	if (!obj || !v)
		return -EINVAL;
	memset(v, 0, sizeof(*v));
	v->kind = obj->kind;
	return obj->kind == SHMKIT_KIND_SYSV ? map_sysv(obj, v) : map_file(obj, v);
}

SK_EXPORT void shmkit_inspect_unmap(struct shmkit_inspect_view *v)
{
	if (!v || !v->addr)
		return;
	if (v->kind == SHMKIT_KIND_SYSV)
		shmdt(v->addr);
	else
		munmap((void *)v->addr, v->maplen_);
	v->addr = NULL;
}

/* ---- reading without a mapping ---- */

SK_EXPORT int shmkit_inspect_open(const struct shmkit_obj *obj, struct shmkit_inspect_reader *r)
{
	if (!obj || !r)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->fd_ = -1;
	r->kind = obj->kind;
	if (obj->kind == SHMKIT_KIND_SYSV) {
		/* A kernel segment cannot shrink under its attachers: a mapping is safe. */
		int err = map_sysv(obj, &r->view_);
		r->size = r->view_.size;
		return err;
	}
	struct stat st;
	int fd = open(obj->backing, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	r->fd_ = fd;
	r->size = (uint64_t)st.st_size;
	if (obj->kind == SHMKIT_KIND_SHMKIT && obj->size < r->size)
		r->size = obj->size;
	return 0;
}

SK_EXPORT ssize_t shmkit_inspect_read(struct shmkit_inspect_reader *r, uint64_t off, void *buf,
                                      size_t len)
{
	if (!r || off >= r->size)
		return 0;
	if (len > r->size - off)
		len = (size_t)(r->size - off);
	if (r->kind == SHMKIT_KIND_SYSV) {
		memcpy(buf, (const char *)r->view_.addr + off, len);
		return (ssize_t)len;
	}
	/* pread: an object shrunk meanwhile reads short (0 at its new end), never SIGBUS. */
	ssize_t n;
	do
		n = pread(r->fd_, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

SK_EXPORT void shmkit_inspect_close(struct shmkit_inspect_reader *r)
{
	if (!r)
		return;
	if (r->kind == SHMKIT_KIND_SYSV)
		shmkit_inspect_unmap(&r->view_);
	else if (r->fd_ >= 0)
		close(r->fd_);
	r->fd_ = -1;
}
