/* SPDX-License-Identifier: MIT */
/*
 * iceoryx classic (2.0, C binding): a publisher and a subscriber per side, through RouDi,
 * the daemon the harness starts for each run of an iceoryx transport with a memory pool
 * configuration sized for the run, and stops after it (with everything it leaves in
 * /dev/shm and /tmp). Four variants, labelled:
 *
 *   iceoryx-busy         subscriber busy-polls take_chunk; copies in and out of the chunk
 *   iceoryx-busy-zc      the same, zero-copy: the harness writes into the loaned chunk and
 *                        checks the received one in place
 *   iceoryx-waitset      subscriber sleeps in a WaitSet until data arrives; copies
 *   iceoryx-waitset-zc   WaitSet, zero-copy
 *
 * Publishers wait for a slow subscriber and subscribers block the producer when their queue
 * (8 deep) is full, so no message is ever dropped (a dropped one would fail the check).
 * RouDi's names are fixed (/tmp/roudi, /dev/shm/iceoryx_mgmt, /dev/shm/USER): when another
 * RouDi runs, the transports are skipped rather than share or disturb it.
 */
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "iceoryx_binding_c/enums.h"
#include "iceoryx_binding_c/log.h"
#include "iceoryx_binding_c/notification_info.h"
#include "iceoryx_binding_c/publisher.h"
#include "iceoryx_binding_c/runtime.h"
#include "iceoryx_binding_c/subscriber.h"
#include "iceoryx_binding_c/wait_set.h"
#include "internal/atomic.h"
#include "transport.h"

#define ROUDI_LOCK   "/tmp/iox-unique-roudi.lock"
#define ROUDI_SOCKET "/tmp/roudi"
enum { QUEUE = 8 };

/* ---- RouDi, in the parent ---- */

static pid_t roudi = -1;

/* RouDi holds an flock on its lock file while it runs. */
static bool roudi_running(void)
{
	int fd = open(ROUDI_LOCK, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool held = flock(fd, LOCK_EX | LOCK_NB) < 0;
	close(fd);
	return held;
}

static int iox_probe(struct bt_ctx *c)
{
	if (access("/usr/bin/iox-roudi", X_OK) != 0 && system("command -v iox-roudi >/dev/null"))
		return bt_fail(c, -ENOENT, "iox-roudi not found (Debian package iceoryx)");
	if (roudi_running())
		return bt_fail(c, -EBUSY, "an iox-roudi not started by shmkit bench is running");
	return 0;
}

/* RouDi's own objects, and the sockets of our two applications. */
static void roudi_objects(const struct bt_ctx *c,
                          void (*fn)(const struct bt_ctx *, const char *, const char *))
{
	struct passwd *pw = getpwuid(geteuid());
	char user[300], app[64];
	snprintf(user, sizeof(user), "/%s", pw ? pw->pw_name : "root");
	fn(c, "shm", "/iceoryx_mgmt");
	fn(c, "shm", user);
	fn(c, "path", ROUDI_SOCKET);
	fn(c, "path", "/tmp/roudi.lock");
	fn(c, "path", ROUDI_LOCK);
	for (int side = 0; side < 2; side++)
		for (int lock = 0; lock < 2; lock++) { /* each application's socket and lock file */
			snprintf(app, sizeof(app), "/tmp/skb%dx%u%c%s", (int)getpid(), c->instance,
			         "cs"[side], lock ? ".lock" : "");
			fn(c, "path", app);
		}
}

static void track_one(const struct bt_ctx *c, const char *kind, const char *what)
{
	c->host->track(kind, what);
}

static void remove_one(const struct bt_ctx *c, const char *kind, const char *what)
{
	if (!strcmp(kind, "shm"))
		shm_unlink(what);
	else
		unlink(what);
	c->host->untrack(kind, what);
}

/* Memory pools from 128 B up by factors of 4 to the largest message, QUEUE-sized. */
static int write_config(struct bt_ctx *c, char *path, size_t len)
{
	snprintf(path, len, "%s/roudi-%u.toml", c->rundir, c->instance);
	FILE *f = fopen(path, "w");
	if (!f)
		return bt_fail(c, -errno, "%s", path);
	fprintf(f, "[general]\nversion = 1\n\n[[segment]]\n");
	for (size_t size = 128;; size *= 4) {
		size_t s = size < c->max_size ? size : c->max_size < 128 ? 128 : c->max_size;
		/* in flight per direction: a full queue, one taken, one loaned */
		fprintf(f, "\n[[segment.mempool]]\nsize = %zu\ncount = %d\n", s,
		        2 * (QUEUE + 2) + 4);
		if (s >= c->max_size)
			break;
	}
	return fclose(f) == 0 ? 0 : bt_fail(c, -errno, "%s", path);
}

static int wait_ready(struct bt_ctx *c)
{
	for (int i = 0; i < 1000; i++) { /* 10 s */
		struct stat st;
		if (stat(ROUDI_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (waitpid(roudi, NULL, WNOHANG) == roudi) {
			roudi = -1;
			return bt_fail(c, -ESRCH,
			               "iox-roudi exited at start (log in the run directory)");
		}
		usleep(10000);
	}
	return bt_fail(c, -ETIMEDOUT, "iox-roudi did not come up in 10 s");
}

static int iox_setup(struct bt_ctx *c)
{
	char conf[600], log[600], spid[16];
	int r = write_config(c, conf, sizeof(conf));
	if (r < 0)
		return r;
	snprintf(log, sizeof(log), "%s/roudi-%u.log", c->rundir, c->instance);
	roudi_objects(c, track_one);
	pid_t parent = getpid();
	if ((roudi = fork()) < 0)
		return bt_fail(c, -errno, "fork");
	if (roudi == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* it shuts down cleanly on SIGTERM */
		if (getppid() != parent)
			_exit(1);
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		dup2(fd, 1);
		dup2(fd, 2);
		execlp("iox-roudi", "iox-roudi", "-c", conf, "-l", "warning", (char *)NULL);
		_exit(127);
	}
	snprintf(spid, sizeof(spid), "%d", (int)roudi);
	c->host->track("pid", spid);
	snprintf(c->arg, sizeof(c->arg), "%d", (int)parent);
	return wait_ready(c);
}

static void iox_teardown(struct bt_ctx *c)
{
	if (roudi > 0) {
		char spid[16];
		int st;
		kill(roudi, SIGTERM);
		for (int i = 0; i < 500 && waitpid(roudi, &st, WNOHANG) == 0; i++)
			usleep(10000);
		if (waitpid(roudi, &st, WNOHANG) == 0) {
			kill(roudi, SIGKILL);
			waitpid(roudi, &st, 0);
		}
		snprintf(spid, sizeof(spid), "%d", (int)roudi);
		c->host->untrack("pid", spid);
		roudi = -1;
	}
	roudi_objects(c, remove_one); /* what a clean shutdown left, or a crash */
}

/* ---- a side ---- */

struct side {
	iox_pub_storage_t pub_storage;
	iox_sub_storage_t sub_storage;
	iox_ws_storage_t ws_storage;
	iox_pub_t pub;
	iox_sub_t sub;
	iox_ws_t ws; /* NULL: busy-polling */
};

static struct side sd;

static int attach_with(struct bt_ctx *c, bool waitset)
{
	char app[64], inst[32];
	snprintf(app, sizeof(app), "skb%.16sx%u%c", c->arg, c->instance, "cs"[c->role]);
	snprintf(inst, sizeof(inst), "%u", c->instance);
	iox_set_loglevel(Iceoryx_LogLevel_Warn); /* its debug lines would flood the progress */
	iox_runtime_init(app);
	iox_pub_options_t po;
	iox_pub_options_init(&po);
	po.historyCapacity = 0;
	po.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
	iox_sub_options_t so;
	iox_sub_options_init(&so);
	so.queueCapacity = QUEUE;
	so.historyRequest = 0;
	so.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
	const char *out = c->role == BT_CLIENT ? "c2s" : "s2c",
	           *in = c->role == BT_CLIENT ? "s2c" : "c2s";
	sd.pub = iox_pub_init(&sd.pub_storage, "shmkit-bench", inst, out, &po);
	sd.sub = iox_sub_init(&sd.sub_storage, "shmkit-bench", inst, in, &so);
	if (waitset) {
		sd.ws = iox_ws_init(&sd.ws_storage);
		if (iox_ws_attach_subscriber_state(sd.ws, sd.sub, SubscriberState_HAS_DATA, 0,
		                                   NULL) != WaitSetResult_SUCCESS)
			return bt_fail(c, -EIO, "iox_ws_attach_subscriber_state");
	}
	/* A message published before the peer subscribed would be lost: wait for it (RouDi's
	 * discovery connects them within a few of its cycles). */
	for (int i = 0; i < 2000 && !iox_pub_has_subscribers(sd.pub); i++)
		usleep(10000);
	return iox_pub_has_subscribers(sd.pub) ? 0
	                                       : bt_fail(c, -ETIMEDOUT, "no subscriber in 20 s");
}

static int attach_busy(struct bt_ctx *c)
{
	return attach_with(c, false);
}

static int attach_waitset(struct bt_ctx *c)
{
	return attach_with(c, true);
}

static int loan(struct bt_ctx *c, size_t len, void **buf)
{
	enum iox_AllocationResult r;
	while ((r = iox_pub_loan_chunk(sd.pub, buf, (uint32_t)len)) ==
	       AllocationResult_RUNNING_OUT_OF_CHUNKS)
		sk_cpu_relax(); /* every chunk is in flight: the subscriber will release one */
	if (r == AllocationResult_SUCCESS)
		return 0;
	return bt_fail(c, r == AllocationResult_NO_MEMPOOLS_AVAILABLE ? -ENOBUFS : -EIO,
	               "iox_pub_loan_chunk: result %d", (int)r);
}

static int publish(struct bt_ctx *c, void *buf, size_t len)
{
	iox_pub_publish_chunk(sd.pub, buf);
	return 0;
}

/* Take the next chunk: spin, or sleep in the WaitSet between tries. */
static int view(struct bt_ctx *c, size_t len, const void **buf)
{
	for (;;) {
		enum iox_ChunkReceiveResult r = iox_sub_take_chunk(sd.sub, buf);
		if (r == ChunkReceiveResult_SUCCESS)
			return 0;
		if (r != ChunkReceiveResult_NO_CHUNK_AVAILABLE)
			return bt_fail(c, -EIO, "iox_sub_take_chunk: result %d", (int)r);
		if (!sd.ws) {
			sk_cpu_relax();
			continue;
		}
		iox_notification_info_t info[1];
		uint64_t missed;
		iox_ws_wait(sd.ws, info, 1, &missed);
	}
}

static int release(struct bt_ctx *c, const void *buf)
{
	iox_sub_release_chunk(sd.sub, buf);
	return 0;
}

static int copy_send(struct bt_ctx *c, const void *msg, size_t len)
{
	void *chunk;
	int r = loan(c, len, &chunk);
	if (r < 0)
		return r;
	memcpy(chunk, msg, len);
	return publish(c, chunk, len);
}

static int copy_recv(struct bt_ctx *c, void *buf, size_t len)
{
	const void *chunk;
	int r = view(c, len, &chunk);
	if (r < 0)
		return r;
	memcpy(buf, chunk, len);
	return release(c, chunk);
}

static void iox_detach(struct bt_ctx *c)
{
	if (sd.ws)
		iox_ws_deinit(sd.ws);
	if (sd.sub)
		iox_sub_deinit(sd.sub);
	if (sd.pub)
		iox_pub_deinit(sd.pub);
	iox_runtime_shutdown();
}

#define ICEORYX(var, nm, desc, ord, fl, att, zc)                                                   \
	static const struct bt_transport var = {                                                   \
	    .name = nm,                                                                            \
	    .what = desc,                                                                          \
	    .order = BT_ORDER_PEER + (ord),                                                        \
	    .flags = (fl),                                                                         \
	    .probe = iox_probe,                                                                    \
	    .setup = iox_setup,                                                                    \
	    .attach = att,                                                                         \
	    .send = zc ? NULL : copy_send,                                                         \
	    .recv = zc ? NULL : copy_recv,                                                         \
	    .loan = zc ? loan : NULL,                                                              \
	    .publish = zc ? publish : NULL,                                                        \
	    .view = zc ? view : NULL,                                                              \
	    .release = zc ? release : NULL,                                                        \
	    .detach = iox_detach,                                                                  \
	    .teardown = iox_teardown,                                                              \
	};                                                                                         \
	BT_REGISTER(var)

ICEORYX(iox_busy, "iceoryx-busy", "iceoryx 2.0 C binding, busy-polling subscriber, copy in/out", 10,
        BT_BUSY, attach_busy, 0);
ICEORYX(iox_busy_zc, "iceoryx-busy-zc",
        "iceoryx 2.0 C binding, busy-polling subscriber, zero-copy (loan/publish, take/release)",
        11, BT_BUSY | BT_ZEROCOPY, attach_busy, 1);
ICEORYX(iox_ws, "iceoryx-waitset",
        "iceoryx 2.0 C binding, WaitSet (sleeping) subscriber, "
        "copy in/out",
        12, BT_SLEEPING, attach_waitset, 0);
ICEORYX(iox_ws_zc, "iceoryx-waitset-zc",
        "iceoryx 2.0 C binding, WaitSet (sleeping) subscriber, "
        "zero-copy",
        13, BT_SLEEPING | BT_ZEROCOPY, attach_waitset, 1);
