/* SPDX-License-Identifier: MIT */
/*
 * The transport interface of shmkit-bench: one IPC mechanism, as the harness drives it.
 *
 * A run of one transport is three processes. The harness (the parent) calls setup(), which
 * creates whatever both sides share and describes it in the rendezvous (fd[], arg); it then
 * forks and execs two sides, the client and the server, pinned to two CPUs. Each side finds
 * the same rendezvous after exec and calls attach() to open its end. The harness calls
 * ready() in the parent once both sides are attached (the moment to remove names), and
 * teardown() after both have exited.
 *
 * Messages: the client sends requests, the server answers each with a reply of the same
 * size (round trip), or the client streams messages and the server acknowledges each batch
 * (one-way throughput). The harness writes and checks every message (sequence number and
 * checksum); a transport only moves bytes:
 *
 *   copying    send(msg, len) delivers len bytes; recv(buf, len) returns only after len bytes
 *              arrived in buf (a stream transport loops; a datagram one checks the length).
 *              buf has room for c->max_size bytes.
 *   zero-copy  (BT_ZEROCOPY) loan(len) -> buffer the sender writes in place -> publish();
 *              view(len) -> the received message in place -> release().
 *
 * The first 4 bytes of consecutive messages in one direction always differ (they carry the
 * sequence number), so a transport may use them as its "new message" flag; only the raw
 * references do (tp_ref.c).
 *
 * Both directions belong to one transport (the client's send reaches the server's recv and
 * the server's send the client's recv). Every function returns 0 or a negative errno and
 * may explain itself in c->err (bt_fail). -EMSGSIZE or -ENOBUFS from send/loan means "this
 * size is beyond the transport" (the case is reported as not applicable, not as broken).
 *
 * Nothing may be left behind when the harness is killed: every named object, id or process
 * is reported to c->host->track() right after it is created (and untrack()ed once removed);
 * the harness's cleaner removes what is still tracked when the harness dies. Prefer unnamed
 * objects (pipes, socketpairs, memfds, O_TMPFILE, IPC_PRIVATE removed in ready()).
 *
 * Adding a transport: bench/README.md.
 */
#ifndef SHMKIT_BENCH_TRANSPORT_H
#define SHMKIT_BENCH_TRANSPORT_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Bumped whenever struct bt_ctx, bt_host or bt_transport changes: plugins must match. */
#define BT_ABI 1

enum { BT_PARENT = -1, BT_CLIENT = 0, BT_SERVER = 1 };

/* bt_transport.flags */
#define BT_BUSY     (1u << 0) /* receivers busy-poll: fast, and they burn their CPU waiting */
#define BT_ZEROCOPY (1u << 1) /* loan/publish and view/release instead of send/recv */
#define BT_RT_ONLY  (1u << 2) /* round trip only: no queue for a one-way stream */
#define BT_TP_ONLY  (1u << 3) /* throughput only (memcpy) */
#define BT_LOCAL    (1u << 4) /* one process: the client runs send + view alone (memcpy) */
#define BT_SLEEPING (1u << 5) /* receivers sleep in the kernel (for the legend) */

/* bt_transport.order: the table groups transports; within a group, by order then name. */
enum {
	BT_ORDER_REF = 100,    /* physical references: ping-pong, futex, memcpy */
	BT_ORDER_KERNEL = 200, /* kernel IPC: pipes, sockets, queues */
	BT_ORDER_SHM = 300,    /* shared memory with kernel semaphores or futexes */
	BT_ORDER_CHAN = 400,   /* shmkit channels */
	BT_ORDER_PEER = 500,   /* other libraries: ck, iceoryx, ZeroMQ, NNG */
};

#define BT_MAX_FDS 8

/* What the harness offers a transport (plugins cannot link against the harness). */
struct bt_host {
	/*
	 * Record an object for the cleaner, which removes it if the harness dies before
	 * untrack(). kind: "pid" (SIGTERM, then SIGKILL after 2 s), "path" (unlink), "dir"
	 * (remove recursively), "shm" (shm_unlink), "mq" (mq_unlink), "sysv-shm", "sysv-sem",
	 * "sysv-msg" (IPC_RMID of the id), "shmkit-ns" (shmkit_ns_destroy), "shmkit-chan"
	 * (shmkit_chan_unlink). 0 or -errno.
	 */
	int (*track)(const char *kind, const char *what);
	int (*untrack)(const char *kind, const char *what);
};

struct bt_ctx {
	const struct bt_host *host;
	int role;        /* BT_PARENT, BT_CLIENT or BT_SERVER */
	size_t max_size; /* largest message of the run; setup may lower it (say why in why_max) */
	const char *rundir; /* a private directory for named objects; the harness removes it */
	unsigned instance;  /* distinct for every setup of a run: for unique names */
	/* The rendezvous: filled by setup in the parent, the same on both sides after exec. */
	int fd[BT_MAX_FDS]; /* inherited by both sides; the parent closes them after the fork */
	int nfd;
	char arg[512]; /* names, ids, ports: anything else the sides need */
	/* Each process's own state. */
	void *priv;
	char why_max[160]; /* why max_size was lowered */
	char err[256];     /* what failed, when a function returned < 0 */
};

struct bt_transport {
	const char *name; /* [a-z0-9-]: what --only matches and the ratio table names */
	const char *what; /* one line for the legend: what it is and how it waits */
	int order;
	unsigned flags;
	/* Parent, optional: 0 if usable here, else -errno with the reason in c->err (a skip). */
	int (*probe)(struct bt_ctx *c);
	/* Parent: create what the sides share, fill fd[]/arg, track names and ids. */
	int (*setup)(struct bt_ctx *c);
	/* Parent, optional: both sides are attached; remove names that are no longer needed. */
	void (*ready)(struct bt_ctx *c);
	/* Each side after exec: open its end (c->role says which) and wait for its peer if
	 * the transport would lose a message sent before the peer is there. */
	int (*attach)(struct bt_ctx *c);
	int (*send)(struct bt_ctx *c, const void *msg, size_t len);
	int (*recv)(struct bt_ctx *c, void *buf, size_t len);
	int (*loan)(struct bt_ctx *c, size_t len, void **buf);
	int (*publish)(struct bt_ctx *c, void *buf, size_t len);
	int (*view)(struct bt_ctx *c, size_t len, const void **buf);
	int (*release)(struct bt_ctx *c, const void *buf);
	/* Each side, optional: close its end. */
	void (*detach)(struct bt_ctx *c);
	/* Parent, optional: remove everything setup created, untrack it. Runs after both sides
	 * exited, also after a failure, even of setup itself (remove the part that was made). */
	void (*teardown)(struct bt_ctx *c);
};

/*
 * BT_REGISTER(t): make the transport t known. Built into the harness, that is all a new
 * transport file needs; in a plugin (bench/ipc/peers/), bt_plugin.c lists the plugin's own.
 */
#define BT_REGISTER(t)                                                                             \
	static const struct bt_transport *const bt_reg_##t                                         \
	    __attribute__((used, section("bt_transports"), aligned(sizeof(void *)))) = &t

/* A plugin exports this (bt_plugin.c), found with dlsym(BT_PLUGIN_SYMBOL). */
struct bt_plugin {
	int abi; /* BT_ABI */
	size_t n;
	const struct bt_transport *const *list;
};
#define BT_PLUGIN_SYMBOL "shmkit_bench_plugin"

/* ---- helpers for transports ---- */

/* Explain a failure in c->err; returns err (a negative errno) for `return bt_fail(...)`. */
__attribute__((format(printf, 3, 4), unused)) static int bt_fail(struct bt_ctx *c, int err,
                                                                 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(c->err) && err < 0)
		snprintf(c->err + n, sizeof(c->err) - (size_t)n, ": %s", strerror(-err));
	return err;
}

/* Write all of buf to a stream descriptor. 0 or -errno. */
__attribute__((unused)) static int bt_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n, len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes from a stream descriptor. 0, -EPIPE at end of file, or -errno. */
__attribute__((unused)) static int bt_read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;
		p += n, len -= (size_t)n;
	}
	return 0;
}

#endif
