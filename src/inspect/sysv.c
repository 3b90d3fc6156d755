/* SPDX-License-Identifier: MIT */
/*
 * inspect: kernel System V segments, from /proc/sysvipc/shm (what ipcs reads), falling back to
 * SHM_INFO + SHM_STAT_ANY where /proc/sysvipc is not mounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "inspect/inspect.h"
#include "sys/sys.h"

static void finish(struct shmkit_obj *o)
{
	if (o->mode & SHM_DEST)
		o->flags |= SHMKIT_OBJ_DEST;
	if (o->mode & SHM_LOCKED)
		o->flags |= SHMKIT_OBJ_LOCKED;
	sk_insp_creator(o);
	if (o->nattch == 0 && !(o->flags & SHMKIT_OBJ_CREATOR_ALIVE))
		o->flags |= SHMKIT_OBJ_ORPHANED;
}

/*
 * Split a line into numbers: column 0 (the key) is signed decimal, column 2 (the mode) octal,
 * the rest unsigned decimal. Each number must end at a blank; returns how many were read.
 */
static int split_numbers(const char *p, uint64_t *v, int max)
{
	int n = 0;
	while (n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '\n')
			break;
		if (*p == '-' && n != 0)
			return -EPROTO;
		char *end;
		errno = 0;
		v[n] = n == 0 ? (uint64_t)strtoll(p, &end, 10) : strtoull(p, &end, n == 2 ? 8 : 10);
		if (errno || end == p || (*end && *end != ' ' && *end != '\t' && *end != '\n'))
			return -EPROTO;
		p = end;
		n++;
	}
	return n;
}

/* One data line; 14 columns at least (older kernels have no rss/swap). */
int sk_insp_parse_shm_line(const char *line, struct shmkit_obj *o)
{
	enum {
		KEY,
		ID,
		MODE,
		SIZE,
		CPID,
		LPID,
		NATTCH,
		UID,
		GID,
		CUID,
		CGID,
		AT,
		DT,
		CT,
		RSS,
		SWAP
	};
	uint64_t v[16] = {0};
	int n = split_numbers(line, v, 16);
	if (n < 14 || (int64_t)v[KEY] < INT32_MIN || (int64_t)v[KEY] > INT32_MAX ||
	    v[ID] > INT32_MAX || v[MODE] > 07777 || v[CPID] > INT32_MAX || v[LPID] > INT32_MAX ||
	    v[UID] > UINT32_MAX || v[GID] > UINT32_MAX || v[CUID] > UINT32_MAX ||
	    v[CGID] > UINT32_MAX || v[AT] > INT64_MAX || v[DT] > INT64_MAX || v[CT] > INT64_MAX)
		return -EPROTO;
	memset(o, 0, sizeof(*o));
	o->kind = SHMKIT_KIND_SYSV;
	o->key = (int32_t)(int64_t)v[KEY];
	o->id = (int32_t)v[ID];
	o->mode = (uint32_t)v[MODE];
	o->size = v[SIZE];
	o->cpid = (int32_t)v[CPID];
	o->lpid = (int32_t)v[LPID];
	o->nattch = v[NATTCH];
	o->uid = (uint32_t)v[UID];
	o->gid = (uint32_t)v[GID];
	o->cuid = (uint32_t)v[CUID];
	o->cgid = (uint32_t)v[CGID];
	o->atime = (int64_t)v[AT];
	o->dtime = (int64_t)v[DT];
	o->ctime = (int64_t)v[CT];
	o->rss = v[RSS];
	o->swap = v[SWAP];
	finish(o);
	return 0;
}

static void from_ds(struct shmkit_obj *o, int id, const struct shmid_ds *ds)
{
	memset(o, 0, sizeof(*o));
	o->kind = SHMKIT_KIND_SYSV;
	o->key = ds->shm_perm.__key;
	o->id = id;
	o->mode = ds->shm_perm.mode;
	o->size = ds->shm_segsz;
	o->cpid = ds->shm_cpid;
	o->lpid = ds->shm_lpid;
	o->nattch = ds->shm_nattch;
	o->uid = ds->shm_perm.uid;
	o->gid = ds->shm_perm.gid;
	o->cuid = ds->shm_perm.cuid;
	o->cgid = ds->shm_perm.cgid;
	o->atime = ds->shm_atime;
	o->dtime = ds->shm_dtime;
	o->ctime = ds->shm_ctime;
	finish(o);
}

static int walk_stat_any(shmkit_inspect_fn fn, void *arg, int *stop)
{
	struct shm_info info;
	int max = shmctl(0, SHM_INFO, (struct shmid_ds *)&info);
	if (max < 0)
		return -errno;
	int count = 0;
	for (int i = 0; i <= max; i++) {
		struct shmid_ds ds;
		int id = shmctl(i, SHM_STAT_ANY, &ds);
		if (id < 0)
			continue; /* unused slot, or removed meanwhile */
		struct shmkit_obj o;
		from_ds(&o, id, &ds);
		count++;
		if ((*stop = fn(&o, arg)))
			break;
	}
	return count;
}

int sk_insp_sysv_walk(const char *ns, shmkit_inspect_fn fn, void *arg, int *stop)
{
	int fd = sk_open_kernel("/proc/sysvipc/shm", O_RDONLY);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "r");
	if (fd >= 0 && !f)
		close(fd);
	if (!f)
		return walk_stat_any(fn, arg, stop);
	char *line = NULL;
	size_t cap = 0;
	int count = 0;
	if (getline(&line, &cap, f) < 0) /* the header */
		goto out;
	while (getline(&line, &cap, f) > 0) {
		struct shmkit_obj o;
		if (sk_insp_parse_shm_line(line, &o) < 0)
			continue;
		count++;
		if ((*stop = fn(&o, arg)))
			break;
	}
out:
	free(line);
	fclose(f);
	return count;
}

static int kernel_limits(struct shmkit_inspect_limits *l)
{
	struct sk_shm_limits k;
	sk_shm_limits_read(&k);
	memset(l, 0, sizeof(*l));
	l->shmmax = k.shmmax;
	l->shmmin = 1;
	l->shmall = k.shmall;
	l->shmmni = k.shmmni;
	l->shmseg = k.shmmni;
	l->rmid_forced = (int32_t)k.rmid_forced;
	l->page_size = sk_page_size();
	struct shm_info info;
	if (shmctl(0, SHM_INFO, (struct shmid_ds *)&info) < 0)
		return -errno;
	l->used_ids = (uint64_t)info.used_ids;
	l->shm_tot = info.shm_tot;
	l->shm_rss = info.shm_rss;
	l->shm_swp = info.shm_swp;
	l->swap_attempts = info.swap_attempts;
	l->swap_successes = info.swap_successes;
	return 0;
}

SK_EXPORT int shmkit_inspect_limits(uint32_t kind, const char *ns, struct shmkit_inspect_limits *l)
{
	if (!l)
		return -EINVAL;
	if (kind == SHMKIT_KIND_SYSV)
		return kernel_limits(l);
	if (kind == SHMKIT_KIND_SHMKIT)
		return sk_insp_ns_limits(ns, l);
	return -EINVAL;
}
