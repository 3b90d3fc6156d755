/* SPDX-License-Identifier: MIT */
/*
 * inspect: POSIX shared-memory objects, the files of /dev/shm. shmkit's own objects (shmkit.*)
 * are left out here: they are shown as segments of their namespace, or as channels.
 * POSIX objects record no creator, so they are never called orphaned.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inspect/inspect.h"

#define SHM_DIR "/dev/shm"

/* (inode, pid) pairs of every mapping of a /dev/shm file, to count attachers in one pass. */
struct mapping {
	uint64_t ino;
	pid_t pid;
};

struct mappings {
	struct mapping *v;
	size_t n, cap;
};

static int collect_mapping(pid_t pid, uint64_t ino, const char *path, void *arg)
{
	struct mappings *m = arg;
	if (strncmp(path, SHM_DIR "/", sizeof(SHM_DIR)) != 0)
		return 0;
	if (m->n && m->v[m->n - 1].ino == ino && m->v[m->n - 1].pid == pid)
		return 0; /* the next VMA of the same mapping */
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct mapping *v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = (struct mapping){ino, pid};
	return 0;
}

static uint64_t count_mappers(const struct mappings *m, uint64_t ino)
{
	uint64_t n = 0;
	pid_t last = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (m->v[i].ino != ino || m->v[i].pid == last)
			continue;
		last = m->v[i].pid; /* each process's lines are contiguous */
		n++;
	}
	return n;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_names(char ***out, size_t *count)
{
	DIR *d = opendir(SHM_DIR);
	if (!d)
		return -errno;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	int err = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !strncmp(e->d_name, "shmkit.", 7))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nv = realloc(v, cap * sizeof(*nv));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		if (!(v[n] = strdup(e->d_name))) {
			err = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof(*v), cmp_names);
	*out = v;
	*count = n;
	return err;
}

static int fill(int dirfd, const char *name, const struct mappings *m, struct shmkit_obj *o)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return -ENOENT; /* removed meanwhile, or not an object */
	if (strlen(name) > SHMKIT_OBJ_NAME_MAX)
		return -ENAMETOOLONG;
	memset(o, 0, sizeof(*o));
	o->kind = SHMKIT_KIND_POSIX;
	o->id = -1;
	strcpy(o->name, name);
	snprintf(o->backing, sizeof(o->backing), SHM_DIR "/%s", name);
	o->uid = o->cuid = st.st_uid;
	o->gid = o->cgid = st.st_gid;
	o->mode = st.st_mode & 07777;
	o->size = (uint64_t)st.st_size;
	o->nattch = count_mappers(m, st.st_ino);
	o->atime = st.st_atim.tv_sec;
	o->dtime = 0;
	o->ctime = st.st_ctim.tv_sec;
	o->rss = (uint64_t)st.st_blocks * 512;
	if (sk_insp_heap_probe(dirfd, name))
		o->flags |= SHMKIT_OBJ_HEAP;
	return 0;
}

int sk_insp_posix_walk(const char *ns, shmkit_inspect_fn fn, void *arg, int *stop)
{
	char **names = NULL;
	size_t n = 0;
	int r = read_names(&names, &n);
	if (r == -ENOENT)
		return 0; /* no /dev/shm: no objects */
	struct mappings m = {0};
	if (r == 0)
		r = sk_insp_scan_maps(0, collect_mapping, &m);
	int dirfd = open(SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r == 0 && dirfd < 0)
		r = -errno;
	int count = 0;
	for (size_t i = 0; i < n; i++) {
		struct shmkit_obj o;
		if (r == 0 && !*stop && fill(dirfd, names[i], &m, &o) == 0) {
			count++;
			*stop = fn(&o, arg);
		}
		free(names[i]);
	}
	if (dirfd >= 0)
		close(dirfd);
	free(names);
	free(m.v);
	return r < 0 ? r : count;
}
