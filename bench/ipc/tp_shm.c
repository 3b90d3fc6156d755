/* SPDX-License-Identifier: MIT */
/*
 * Shared memory with POSIX semaphores, the producer/consumer of the tutorials: one buffer
 * per direction guarded by two process-shared sem_t (empty, full). The sender waits for
 * "empty", copies the message in and posts "full"; the receiver waits for "full", copies
 * it out and posts "empty". Three backings, the same protocol, so that the backing is the
 * only difference:
 *
 *   mmap-disk   an unnamed regular file (O_TMPFILE) in /var/tmp, or $SHMKIT_BENCH_DISK_DIR
 *   mmap-tmpfs  an unnamed regular file in /dev/shm
 *   posix-shm   shm_open by name, unlinked once both sides have mapped it
 */
#include <fcntl.h>
#include <semaphore.h>
#include <stdlib.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "transport.h"

enum { DATA_OFF = 128 }; /* the two semaphores, then the message */

struct dir {
	sem_t full, empty;
};

struct shm {
	unsigned char *out, *in;
	size_t bytes; /* one direction's region */
};

static struct shm shm;

static size_t region_bytes(size_t max)
{
	return (DATA_OFF + max + 4095) & ~(size_t)4095;
}

/* Size the object and initialise both directions' semaphores through a mapping. */
static int init_object(struct bt_ctx *c, int fd)
{
	size_t bytes = region_bytes(c->max_size);
	if (ftruncate(fd, (off_t)(2 * bytes)) < 0)
		return bt_fail(c, -errno, "ftruncate");
	unsigned char *p = mmap(NULL, 2 * bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return bt_fail(c, -errno, "mmap");
	for (int d = 0; d < 2; d++) {
		struct dir *h = (struct dir *)(void *)(p + d * bytes);
		sem_init(&h->full, 1, 0);
		sem_init(&h->empty, 1, 1);
	}
	munmap(p, 2 * bytes);
	return 0;
}

static int map_object(struct bt_ctx *c, int fd)
{
	shm.bytes = region_bytes(c->max_size);
	unsigned char *p = mmap(NULL, 2 * shm.bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return bt_fail(c, -errno, "mmap");
	shm.out = p + (c->role == BT_CLIENT ? 0 : shm.bytes);
	shm.in = p + (c->role == BT_CLIENT ? shm.bytes : 0);
	return 0;
}

static int sem_wait_intr(sem_t *s)
{
	while (sem_wait(s) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int shm_send(struct bt_ctx *c, const void *msg, size_t len)
{
	struct dir *h = (struct dir *)(void *)shm.out;
	int r = sem_wait_intr(&h->empty);
	if (r < 0)
		return r;
	memcpy(shm.out + DATA_OFF, msg, len);
	return sem_post(&h->full) < 0 ? -errno : 0;
}

static int shm_recv(struct bt_ctx *c, void *buf, size_t len)
{
	struct dir *h = (struct dir *)(void *)shm.in;
	int r = sem_wait_intr(&h->full);
	if (r < 0)
		return r;
	memcpy(buf, shm.in + DATA_OFF, len);
	return sem_post(&h->empty) < 0 ? -errno : 0;
}

/* ---- an unnamed regular file: nothing to remove, whatever happens ---- */

static int tmpfile_in(struct bt_ctx *c, const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) { /* a file system without O_TMPFILE: create and unlink at once */
		char path[512];
		snprintf(path, sizeof(path), "%s/shmkit-bench.XXXXXX", dir);
		if ((fd = mkostemp(path, O_CLOEXEC)) < 0)
			return bt_fail(c, -errno, "a file in %s", dir);
		unlink(path);
	}
	int r = init_object(c, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	c->fd[0] = fd;
	c->nfd = 1;
	return 0;
}

static const char *disk_dir(void)
{
	const char *d = getenv("SHMKIT_BENCH_DISK_DIR");
	return d && *d ? d : "/var/tmp";
}

/* Say so when the "disk" directory is a tmpfs: the comparison would then be void. */
static int disk_probe(struct bt_ctx *c)
{
	struct statfs st;
	if (statfs(disk_dir(), &st) < 0)
		return bt_fail(c, -errno, "%s", disk_dir());
	if (st.f_type == 0x01021994 /* TMPFS_MAGIC */)
		return bt_fail(c, -ENOTSUP,
		               "%s is a tmpfs here, not a disk (set SHMKIT_BENCH_DISK_DIR)",
		               disk_dir());
	return 0;
}

static int disk_setup(struct bt_ctx *c)
{
	return tmpfile_in(c, disk_dir());
}

static int tmpfs_setup(struct bt_ctx *c)
{
	return tmpfile_in(c, "/dev/shm");
}

static int fd_attach(struct bt_ctx *c)
{
	return map_object(c, c->fd[0]);
}

static const struct bt_transport mmap_disk = {
    .name = "mmap-disk",
    .what = "mmap of a regular file on disk (/var/tmp, O_TMPFILE) + two sem_t per direction",
    .order = BT_ORDER_SHM + 1,
    .flags = BT_SLEEPING,
    .probe = disk_probe,
    .setup = disk_setup,
    .attach = fd_attach,
    .send = shm_send,
    .recv = shm_recv,
};
BT_REGISTER(mmap_disk);

static const struct bt_transport mmap_tmpfs = {
    .name = "mmap-tmpfs",
    .what = "mmap of a regular file on tmpfs (/dev/shm, O_TMPFILE) + two sem_t per direction",
    .order = BT_ORDER_SHM + 2,
    .flags = BT_SLEEPING,
    .setup = tmpfs_setup,
    .attach = fd_attach,
    .send = shm_send,
    .recv = shm_recv,
};
BT_REGISTER(mmap_tmpfs);

/* ---- POSIX shm by name ---- */

static int pshm_setup(struct bt_ctx *c)
{
	snprintf(c->arg, sizeof(c->arg), "/shmkit-bench.%d.%u", (int)getpid(), c->instance);
	c->host->track("shm", c->arg);
	int fd = shm_open(c->arg, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return bt_fail(c, -errno, "shm_open %s", c->arg);
	int r = init_object(c, fd);
	close(fd);
	return r;
}

static int pshm_attach(struct bt_ctx *c)
{
	int fd = shm_open(c->arg, O_RDWR | O_CLOEXEC, 0);
	return fd < 0 ? bt_fail(c, -errno, "shm_open %s", c->arg) : map_object(c, fd);
}

static void pshm_unlink(struct bt_ctx *c)
{
	if (c->arg[0] && (shm_unlink(c->arg) == 0 || errno == ENOENT))
		c->host->untrack("shm", c->arg);
}

static const struct bt_transport posix_shm = {
    .name = "posix-shm",
    .what = "POSIX shm (shm_open by name) + two sem_t per direction: producer/consumer",
    .order = BT_ORDER_SHM + 3,
    .flags = BT_SLEEPING,
    .setup = pshm_setup,
    .ready = pshm_unlink,
    .attach = pshm_attach,
    .send = shm_send,
    .recv = shm_recv,
    .teardown = pshm_unlink,
};
BT_REGISTER(posix_shm);
