/* SPDX-License-Identifier: MIT */
/*
 * inspect: shmkit channels. A channel NAME is the directory /dev/shm/shmkit.chan.NAME with its
 * ring (see chan/chan.h); the names come from shmkit_chan_list(), the figures from
 * shmkit_chan_stat(), which reads a ring without taking part in it. What the kernel says of
 * the name (its type, owner and mode) is read here, so that a name that does not read as a
 * channel is still listed, flagged with why, and never mistaken for a POSIX object.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chan/chan.h"
#include "inspect/inspect.h"
#include "sys/sys.h"

#define SHM_DIR "/dev/shm"

typedef char sk_chan_name[SHMKIT_CHAN_NAME_MAX + 1];

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const sk_chan_name *)a, *(const sk_chan_name *)b);
}

/* Every channel name, sorted; *out is malloc'ed. Returns the count or -errno. */
static int read_names(sk_chan_name **out)
{
	*out = NULL;
	for (int tries = 0; tries < 8; tries++) {
		int n = shmkit_chan_list(NULL, 0);
		if (n <= 0)
			return n;
		size_t cap = (size_t)n + 16;
		sk_chan_name *v = calloc(cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		int m = shmkit_chan_list(v, cap);
		if (m >= 0 && (size_t)m <= cap) {
			qsort(v, (size_t)m, sizeof(*v), cmp_names);
			*out = v;
			return m;
		}
		free(v);
		if (m < 0)
			return m;
	}
	return -EAGAIN; /* names come and go faster than we read them */
}

static void from_stat(struct shmkit_obj *o, const struct stat *st)
{
	o->uid = o->cuid = st->st_uid;
	o->gid = o->cgid = st->st_gid;
	o->mode = st->st_mode & 07777;
}

/* What a failed shmkit_chan_stat() makes of the object: a flag, or -ENOENT if it is gone. */
static int classify(int dirfd, const char *entry, const struct stat *dir, int err,
                    struct shmkit_obj *o)
{
	char ring[sizeof(SK_CHAN_DIR) + SHMKIT_CHAN_NAME_MAX + sizeof(SK_CHAN_RING) + 2];
	struct stat now, st;
	switch (err) {
	case -EACCES:
	case -EPERM:
		o->flags |= SHMKIT_OBJ_NOACCESS;
		return 0;
	case -ENOENT:
		/* No ring in a directory that is still there (the same one): half made. */
		if (!S_ISDIR(dir->st_mode) ||
		    fstatat(dirfd, entry, &now, AT_SYMLINK_NOFOLLOW) < 0 ||
		    now.st_ino != dir->st_ino)
			return -ENOENT;
		snprintf(ring, sizeof(ring), "%s/" SK_CHAN_RING, entry);
		if (fstatat(dirfd, ring, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
			return -ENOENT; /* made meanwhile: the next listing sees it whole */
		o->flags |= SHMKIT_OBJ_INCOMPLETE;
		snprintf(o->backing, sizeof(o->backing), SHM_DIR "/%s", entry); /* all there is */
		return 0;
	case -ENOMEM:
	case -EMFILE:
	case -ENFILE:
		return err; /* nothing to say about the channel */
	}
	o->flags |= SHMKIT_OBJ_DAMAGED; /* -EBADMSG, -EPROTO, and whatever else the ring gave */
	return 0;
}

static int fill(int dirfd, const char *name, struct shmkit_obj *o)
{
	char entry[sizeof(SK_CHAN_DIR) + SHMKIT_CHAN_NAME_MAX + 1];
	char ring[sizeof(entry) + sizeof(SK_CHAN_RING) + 1];
	struct stat dir, st;
	snprintf(entry, sizeof(entry), SK_CHAN_DIR "%s", name);
	if (fstatat(dirfd, entry, &dir, AT_SYMLINK_NOFOLLOW) < 0)
		return -ENOENT; /* removed meanwhile */
	memset(o, 0, sizeof(*o));
	o->kind = SHMKIT_KIND_CHAN;
	o->id = -1;
	snprintf(o->name, sizeof(o->name), "%s", name);
	from_stat(o, &dir);
	o->ctime = dir.st_mtim.tv_sec;
	snprintf(ring, sizeof(ring), "%s/" SK_CHAN_RING, entry);
	if (S_ISDIR(dir.st_mode)) {
		snprintf(o->backing, sizeof(o->backing), SHM_DIR "/%s", ring);
		/* The ring's owner and mode are the channel's (a closed directory hides them). */
		if (fstatat(dirfd, ring, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
			from_stat(o, &st);
			o->size = (uint64_t)st.st_size;
			o->rss = (uint64_t)st.st_blocks * 512;
		}
	} else {
		snprintf(o->backing, sizeof(o->backing), SHM_DIR "/%s", entry);
		o->size = (uint64_t)dir.st_size;
	}
	struct shmkit_chan_info info;
	int n = shmkit_chan_stat(name, &info, NULL, 0);
	if (n < 0)
		return classify(dirfd, entry, &dir, n, o);
	o->nattch = (uint64_t)info.senders + info.receivers;
	o->ctime = info.ctime;
	return 0;
}

int sk_insp_chan_walk(const char *ns, shmkit_inspect_fn fn, void *arg, int *stop)
{
	(void)ns; /* channels belong to no namespace */
	sk_chan_name *names = NULL;
	int n = read_names(&names);
	if (n <= 0) {
		free(names); /* 0: the channels counted went before they were read */
		return n == -ENOENT ? 0 : n; /* no /dev/shm: no channels */
	}
	int dirfd = open(SHM_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		int err = -errno;
		free(names);
		return err;
	}
	int count = 0, err = 0;
	for (int i = 0; i < n && !*stop; i++) {
		struct shmkit_obj o;
		int r = fill(dirfd, names[i], &o);
		if (r == -ENOENT)
			continue;
		if (r < 0) {
			err = r;
			break;
		}
		count++;
		*stop = fn(&o, arg);
	}
	close(dirfd);
	free(names);
	return err ? err : count;
}

/* A participant's command name is the ring's word: keep it printable. */
static void printable(char *s, size_t len)
{
	for (size_t i = 0; i < len && s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			s[i] = '?';
}

SK_EXPORT int shmkit_inspect_chan(const struct shmkit_obj *obj, struct shmkit_chan_info *info,
                                  struct shmkit_chan_peer *peers, size_t max)
{
	if (!obj || obj->kind != SHMKIT_KIND_CHAN || !obj->name[0])
		return -EINVAL;
	int n = shmkit_chan_stat(obj->name, info, peers, max);
	for (int i = 0; i < n && (size_t)i < max; i++) {
		peers[i].comm[sizeof(peers[i].comm) - 1] = '\0';
		printable(peers[i].comm, sizeof(peers[i].comm));
	}
	return n;
}
