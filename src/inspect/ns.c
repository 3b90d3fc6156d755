/* SPDX-License-Identifier: MIT */
/*
 * inspect: segments of shmkit namespaces, through the namespace inspection API (which reads
 * each registry under its lock without joining it). Strings coming from a registry are copied
 * with a bound and re-terminated: a registry is shared memory, hence untrusted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>

#include "inspect/inspect.h"
#include "sys/sys.h"

typedef char sk_ns_name[SHMKIT_NS_NAME_MAX + 1];

static void copy_str(char *dst, size_t cap, const char *src, size_t srclen)
{
	size_t n = strnlen(src, srclen);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void from_seg(struct shmkit_obj *o, const char *ns, const struct shmkit_seg_stat *s)
{
	memset(o, 0, sizeof(*o));
	o->kind = SHMKIT_KIND_SHMKIT;
	copy_str(o->ns, sizeof(o->ns), ns, SHMKIT_NS_NAME_MAX + 1);
	o->key = s->ds.shm_perm.__key;
	o->id = s->id;
	o->uid = s->ds.shm_perm.uid;
	o->gid = s->ds.shm_perm.gid;
	o->cuid = s->ds.shm_perm.cuid;
	o->cgid = s->ds.shm_perm.cgid;
	o->mode = s->ds.shm_perm.mode;
	o->size = s->ds.shm_segsz;
	o->nattch = s->ds.shm_nattch;
	o->cpid = s->ds.shm_cpid;
	o->lpid = s->ds.shm_lpid;
	o->atime = s->ds.shm_atime;
	o->dtime = s->ds.shm_dtime;
	o->ctime = s->ds.shm_ctime;
	copy_str(o->backing, sizeof(o->backing), s->backing, sizeof(s->backing));
	if (o->mode & SHM_DEST)
		o->flags |= SHMKIT_OBJ_DEST;
	if (o->mode & SHM_LOCKED)
		o->flags |= SHMKIT_OBJ_LOCKED;
	if (s->creator_alive == 1) {
		o->flags |= SHMKIT_OBJ_CREATOR_ALIVE;
		copy_str(o->comm, sizeof(o->comm), s->creator_comm, sizeof(s->creator_comm));
	} else if (o->nattch == 0) {
		o->flags |= SHMKIT_OBJ_ORPHANED;
	}
}

/*
 * The namespace API fills caller-sized arrays and returns how many items exist: size, fill, and
 * size again if the table grew in between. *out is malloc'ed; returns the count or -errno.
 */
typedef int (*sk_fill_fn)(const void *ctx, void *buf, size_t max);

static int read_all(sk_fill_fn fill, const void *ctx, size_t item, void **out)
{
	*out = NULL;
	for (int tries = 0; tries < 8; tries++) {
		int n = fill(ctx, NULL, 0);
		if (n <= 0)
			return n;
		size_t cap = (size_t)n + 16;
		void *v = calloc(cap, item);
		if (!v)
			return -ENOMEM;
		int m = fill(ctx, v, cap);
		if (m >= 0 && (size_t)m <= cap) {
			*out = v;
			return m;
		}
		free(v);
		if (m < 0)
			return m;
	}
	return -EAGAIN;
}

static int fill_segments(const void *ns, void *buf, size_t max)
{
	return shmkit_ns_segments(ns, buf, max);
}

static int read_segments(const char *ns, struct shmkit_seg_stat **out)
{
	return read_all(fill_segments, ns, sizeof(**out), (void **)out);
}

static int walk_ns(const char *name, shmkit_inspect_fn fn, void *arg, int *stop)
{
	struct shmkit_seg_stat *v = NULL;
	char ns[SHMKIT_NS_NAME_MAX + 1];
	int n = shmkit_ns_canonical(name, ns, sizeof(ns)); /* "default" shows as default.EUID */
	if (n < 0)
		return n;
	n = read_segments(ns, &v);
	if (n < 0)
		return n == -ENOENT ? 0 : n; /* destroyed meanwhile */
	int count = 0;
	for (int i = 0; i < n && !*stop; i++) {
		struct shmkit_obj o;
		from_seg(&o, ns, &v[i]);
		count++;
		*stop = fn(&o, arg);
	}
	free(v);
	return count;
}

static int fill_names(const void *unused, void *buf, size_t max)
{
	(void)unused;
	return shmkit_ns_list(buf, max);
}

static int read_names(sk_ns_name **out)
{
	return read_all(fill_names, NULL, sizeof(**out), (void **)out);
}

/* A namespace that could not be read (busy, damaged) stands in the walk as one entry. */
static int unreadable(const char *ns, int err, shmkit_inspect_fn fn, void *arg, int *stop)
{
	struct shmkit_obj o;
	memset(&o, 0, sizeof(o));
	o.kind = SHMKIT_KIND_SHMKIT;
	o.flags = SHMKIT_OBJ_UNREADABLE;
	o.id = err;
	copy_str(o.ns, sizeof(o.ns), ns, SHMKIT_NS_NAME_MAX + 1);
	*stop = fn(&o, arg);
	return 1;
}

int sk_insp_ns_walk(const char *ns, shmkit_inspect_fn fn, void *arg, int *stop)
{
	if (ns)
		return walk_ns(ns, fn, arg, stop);
	sk_ns_name *names = NULL;
	int n = read_names(&names);
	if (n < 0)
		return n;
	int count = 0;
	for (int i = 0; i < n && !*stop; i++) {
		names[i][SHMKIT_NS_NAME_MAX] = '\0';
		int r = walk_ns(names[i], fn, arg, stop);
		/* A namespace this caller may not read is not shown; one it cannot read now is. */
		if (r < 0 && r != -EACCES && r != -ENOENT)
			r = unreadable(names[i], r, fn, arg, stop);
		if (r > 0)
			count += r;
	}
	free(names);
	return count;
}

static int fill_attachers(const void *obj, void *buf, size_t max)
{
	const struct shmkit_obj *o = obj;
	return shmkit_ns_attachers(o->ns, o->id, buf, max);
}

int sk_insp_ns_attachers(const struct shmkit_obj *o, struct shmkit_inspect_proc *out, size_t max)
{
	struct shmkit_attacher *v;
	int n = read_all(fill_attachers, o, sizeof(*v), (void **)&v);
	for (int i = 0; i < n && (size_t)i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].pid = v[i].pid;
		out[i].maps = v[i].count;
		out[i].start = v[i].start;
		if (sk_proc_comm(v[i].pid, out[i].comm, sizeof(out[i].comm)) < 0)
			out[i].comm[0] = '\0';
	}
	free(v);
	return n;
}

int sk_insp_ns_limits(const char *ns, struct shmkit_inspect_limits *l)
{
	struct shmkit_ns_limits nl;
	struct sk_shm_limits k;
	if (!ns)
		return -EINVAL;
	int r = shmkit_ns_get_limits(ns, &nl);
	if (r < 0)
		return r;
	sk_shm_limits_read(&k);
	memset(l, 0, sizeof(*l));
	l->shmmax = nl.zero & SHMKIT_NS_ZERO_SHMMAX ? 0 : nl.shmmax ? nl.shmmax : k.shmmax;
	l->shmall = nl.zero & SHMKIT_NS_ZERO_SHMALL ? 0 : nl.shmall ? nl.shmall : k.shmall;
	l->shmmni = nl.zero & SHMKIT_NS_ZERO_SHMMNI ? 0 : nl.shmmni ? nl.shmmni : k.shmmni;
	l->shmmin = 1;
	l->shmseg = l->shmmni;
	l->rmid_forced = nl.rmid_forced >= 0 ? nl.rmid_forced : (int32_t)k.rmid_forced;
	l->page_size = sk_page_size();
	struct shmkit_seg_stat *v = NULL;
	int n = read_segments(ns, &v);
	if (n < 0)
		return n;
	l->used_ids = (uint64_t)n;
	for (int i = 0; i < n; i++)
		l->shm_tot += (v[i].ds.shm_segsz + l->page_size - 1) / l->page_size;
	free(v);
	return 0;
}
