/* SPDX-License-Identifier: MIT */
/*
 * System V shared memory + System V semaphores, the way the tutorials do it: one segment,
 * one buffer per direction, a semaphore set with "empty" and "full" per direction and two
 * semop calls per message on each side.
 *
 *   sysv-shm     the kernel's segments (shmget/shmat)
 *   shmkit-sysv  shmkit's System V model (shmkit_shmget/shmkit_shmat in a private
 *                namespace), under the same kernel semaphores: the data path is plain
 *                memory in both, so this shows what the model costs there (nothing, or not)
 *
 * The segment is IPC_PRIVATE and marked for removal once both sides are attached.
 */
#include <stdbool.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "shmkit.h"
#include "transport.h"

enum { EMPTY, FULL }; /* semaphore number = 2 * direction + EMPTY/FULL */

struct api {
	int (*get)(key_t, size_t, int);
	void *(*at)(int, const void *, int);
	int (*ctl)(int, int, struct shmid_ds *);
};

static const struct api kernel = {shmget, shmat, shmctl};
static const struct api model = {shmkit_shmget, shmkit_shmat, shmkit_shmctl};

/* The parent's ids, for ready and teardown. */
static int shm_id = -1, sem_id = -1;
static char ns[64];

/* Each side's view. */
static unsigned char *out, *in;
static int out_dir, in_dir, sems;

static size_t region_bytes(size_t max)
{
	return (max + 4095) & ~(size_t)4095;
}

static void track_id(struct bt_ctx *c, const char *kind, int id, bool on)
{
	char s[16];
	snprintf(s, sizeof(s), "%d", id);
	(on ? c->host->track : c->host->untrack)(kind, s);
}

static int make_sems(struct bt_ctx *c)
{
	if ((sem_id = semget(IPC_PRIVATE, 4, IPC_CREAT | 0600)) < 0)
		return bt_fail(c, -errno, "semget");
	track_id(c, "sysv-sem", sem_id, true);
	unsigned short init[4] = {1, 0, 1, 0}; /* both buffers empty */
	return semctl(sem_id, 0, SETALL, init) < 0 ? bt_fail(c, -errno, "semctl SETALL") : 0;
}

static int setup_with(struct bt_ctx *c, const struct api *a)
{
	int r = make_sems(c);
	if (r < 0)
		return r;
	if ((shm_id = a->get(IPC_PRIVATE, 2 * region_bytes(c->max_size), IPC_CREAT | 0600)) < 0)
		return bt_fail(c, -errno, "shmget");
	if (a == &kernel)
		track_id(c, "sysv-shm", shm_id, true);
	snprintf(c->arg, sizeof(c->arg), "%d %d %s", shm_id, sem_id, ns);
	return 0;
}

static int attach_with(struct bt_ctx *c, const struct api *a)
{
	int id;
	char name[64] = "";
	if (sscanf(c->arg, "%d %d %63s", &id, &sems, name) < 2)
		return -EINVAL;
	if (name[0] && shmkit_ns_use(name) < 0)
		return bt_fail(c, -EINVAL, "shmkit_ns_use %s", name);
	unsigned char *p = a->at(id, NULL, 0);
	if (p == (void *)-1)
		return bt_fail(c, -errno, "shmat");
	size_t bytes = region_bytes(c->max_size);
	out_dir = c->role == BT_CLIENT ? 0 : 1;
	in_dir = !out_dir;
	out = p + (size_t)out_dir * bytes;
	in = p + (size_t)in_dir * bytes;
	return 0;
}

static int semop1(int num, int delta)
{
	struct sembuf op = {.sem_num = (unsigned short)num, .sem_op = (short)delta};
	while (semop(sems, &op, 1) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int sysv_send(struct bt_ctx *c, const void *msg, size_t len)
{
	int r = semop1(2 * out_dir + EMPTY, -1);
	if (r < 0)
		return r;
	memcpy(out, msg, len);
	return semop1(2 * out_dir + FULL, 1);
}

static int sysv_recv(struct bt_ctx *c, void *buf, size_t len)
{
	int r = semop1(2 * in_dir + FULL, -1);
	if (r < 0)
		return r;
	memcpy(buf, in, len);
	return semop1(2 * in_dir + EMPTY, 1);
}

/* Both sides attached: the segment goes when they detach (deferred IPC_RMID). */
static void ready_with(struct bt_ctx *c, const struct api *a)
{
	if (shm_id >= 0 && a->ctl(shm_id, IPC_RMID, NULL) == 0 && a == &kernel)
		track_id(c, "sysv-shm", shm_id, false);
	shm_id = -1;
}

static void teardown_sems(struct bt_ctx *c)
{
	if (sem_id >= 0 && semctl(sem_id, 0, IPC_RMID) == 0)
		track_id(c, "sysv-sem", sem_id, false);
	sem_id = -1;
}

/* ---- the kernel's segments ---- */

static int kernel_setup(struct bt_ctx *c)
{
	ns[0] = '\0';
	return setup_with(c, &kernel);
}

static int kernel_attach(struct bt_ctx *c)
{
	return attach_with(c, &kernel);
}

static void kernel_ready(struct bt_ctx *c)
{
	ready_with(c, &kernel);
}

static void kernel_teardown(struct bt_ctx *c)
{
	ready_with(c, &kernel);
	teardown_sems(c);
}

static const struct bt_transport sysv_shm = {
    .name = "sysv-shm",
    .what = "kernel System V shm (shmget/shmat) + System V semaphores, two semop per side "
            "and message",
    .order = BT_ORDER_SHM + 4,
    .flags = BT_SLEEPING,
    .setup = kernel_setup,
    .ready = kernel_ready,
    .attach = kernel_attach,
    .send = sysv_send,
    .recv = sysv_recv,
    .teardown = kernel_teardown,
};
BT_REGISTER(sysv_shm);

/* ---- shmkit's model ---- */

static int model_setup(struct bt_ctx *c)
{
	snprintf(ns, sizeof(ns), "bench-%d-%u", (int)getpid(), c->instance);
	c->host->track("shmkit-ns", ns);
	int r = shmkit_ns_create(ns, 0600);
	if (r < 0)
		return bt_fail(c, r, "shmkit_ns_create %s", ns);
	if ((r = shmkit_ns_use(ns)) < 0)
		return bt_fail(c, r, "shmkit_ns_use %s", ns);
	return setup_with(c, &model);
}

static int model_attach(struct bt_ctx *c)
{
	return attach_with(c, &model);
}

static void model_ready(struct bt_ctx *c)
{
	ready_with(c, &model);
}

static void model_teardown(struct bt_ctx *c)
{
	ready_with(c, &model);
	teardown_sems(c);
	shmkit_ns_use(NULL);
	if (ns[0] && shmkit_ns_destroy(ns) >= 0)
		c->host->untrack("shmkit-ns", ns);
	ns[0] = '\0';
}

static const struct bt_transport shmkit_sysv = {
    .name = "shmkit-sysv",
    .what = "shmkit's System V model (shmkit_shmget/shmat, private namespace) + the same "
            "System V semaphores",
    .order = BT_ORDER_SHM + 5,
    .flags = BT_SLEEPING,
    .setup = model_setup,
    .ready = model_ready,
    .attach = model_attach,
    .send = sysv_send,
    .recv = sysv_recv,
    .teardown = model_teardown,
};
BT_REGISTER(shmkit_sysv);
