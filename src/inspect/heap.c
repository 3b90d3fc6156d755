/* SPDX-License-Identifier: MIT */
/*
 * inspect: shmkit heaps. A POSIX object is a heap when its header says so (magic and a
 * version), whatever its name; its figures and names are read through a read-only handle,
 * without the heap's locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "heap/layout.h"
#include "inspect/inspect.h"

int sk_insp_heap_probe(int dirfd, const char *name)
{
	uint32_t w[2];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0; /* unreadable: it stays a plain POSIX object */
	ssize_t n = pread(fd, w, sizeof(w), 0);
	close(fd);
	return n == (ssize_t)sizeof(w) && w[0] == SK_HEAP_MAGIC && w[1] != 0;
}

static int open_heap(const struct shmkit_obj *obj, shmkit_heap_t **h)
{
	if (!obj || !(obj->flags & SHMKIT_OBJ_HEAP) || !obj->backing[0])
		return -EINVAL;
	int fd = open(obj->backing, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	int err = shmkit_heap_open_fd(h, fd, SHMKIT_HEAP_RDONLY);
	close(fd);
	return err;
}

SK_EXPORT int shmkit_inspect_heap(const struct shmkit_obj *obj, struct shmkit_heap_report *r)
{
	shmkit_heap_t *h;
	if (!r)
		return -EINVAL;
	int err = open_heap(obj, &h);
	if (err)
		return err;
	err = shmkit_heap_check(h, r, 0);
	shmkit_heap_close(h);
	return err < 0 && err != -EBADMSG ? err : 0; /* damage is in the report */
}

SK_EXPORT int shmkit_inspect_heap_names(const struct shmkit_obj *obj, shmkit_heap_name_fn fn,
                                        void *arg)
{
	shmkit_heap_t *h;
	int err = open_heap(obj, &h);
	if (err)
		return err;
	err = shmkit_heap_names(h, fn, arg);
	shmkit_heap_close(h);
	return err;
}
