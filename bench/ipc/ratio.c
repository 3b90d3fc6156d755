/* SPDX-License-Identifier: MIT */
/*
 * Metrics and ratios: "transport A against transport B at size S, metric M", both measured
 * in the same run. The table below holds the comparisons the project reports; a row whose
 * transports are not in the run says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "harness.h"

#define KiB 1024
#define MiB (1024 * 1024)

static const struct bt_ratio builtin[] = {
    /* The channels' targets, each against its reference (bench/README.md, docs/bench.md). */
    {"chan-spsc-busy", "ref-pingpong", 64, 0, BT_M_RT_P50, 1.25,
     "shmkit SPSC busy vs a raw cache-line ping-pong, 64 B round trip"},
    {"chan-spsc-busy", "ref-pingpong", 64, 0, BT_M_RT_P99, 0, "the same, p99"},
    {"chan-spsc-sleep", "ref-futex", 64, 0, BT_M_RT_P50, 1.1,
     "shmkit SPSC sleeping receivers vs raw futex wait/wake, 64 B round trip"},
    {"chan-spsc-sleep", "ref-futex", 64, 0, BT_M_RT_P99, 0, "the same, p99"},
    {"chan-spsc-busy", "ck-ring", 64, 0, BT_M_TP_MSGS, 2.0,
     "shmkit SPSC one-way 64 B throughput vs ck_ring SPSC (64-byte slots)"},
    {"chan-spsc-busy", "pipe", 64, 0, BT_M_TP_MSGS, 10.0,
     "shmkit SPSC one-way 64 B throughput vs a pipe"},
    {"chan-spsc-busy", "memcpy", MiB, 0, BT_M_TP_GBPS, 0.8,
     "shmkit SPSC copying send/recv, 1 MiB bandwidth vs memcpy of 1 MiB"},
    {"chan-spsc-zc-busy", "chan-spsc-zc-busy", MiB, 64, BT_M_RT_P50, 0,
     "shmkit SPSC zero-copy round trip, 1 MiB against 64 B (size independence)"},
    {"chan-spsc-zc-busy", "chan-spsc-zc-busy", 4 * MiB, 64, BT_M_RT_P50, 0, "the same, 4 MiB"},
    {"iceoryx-busy-zc", "iceoryx-busy-zc", MiB, 64, BT_M_RT_P50, 0,
     "iceoryx zero-copy round trip, 1 MiB against 64 B (the same message checks)"},
    /* What the library adds to a bare ring of its own layout, and what a ring adds to one
     * slot (tp_ref.c): where the distance to the targets above lies. */
    {"chan-spsc-busy", "ref-ring", 64, 0, BT_M_RT_P50, 0,
     "shmkit SPSC busy vs a bare ring of its layout, 64 B round trip"},
    {"chan-spsc-busy", "ref-ring", 64, 0, BT_M_TP_MSGS, 0,
     "shmkit SPSC vs a bare ring of its layout, one-way 64 B throughput"},
    {"ref-ring", "ref-pingpong", 64, 0, BT_M_RT_P50, 0,
     "a bare ring vs one slot per direction (every message in a new slot), 64 B round trip"},
    {"ref-ring", "ck-ring", 64, 0, BT_M_TP_MSGS, 0,
     "a bare ring of shmkit's layout vs ck_ring, one-way 64 B throughput"},
    {"ref-ring-line", "ref-pingpong", 64, 0, BT_M_RT_P50, 0,
     "a ring of one-line slots, no header, vs one slot per direction, 64 B round trip"},
    {"ref-ring-line", "ck-ring", 64, 0, BT_M_TP_MSGS, 0,
     "a ring of one-line slots, no header, vs ck_ring, one-way 64 B throughput"},
    /* The channels against what a user could pick instead. */
    {"chan-spsc-busy", "iceoryx-busy", 64, 0, BT_M_RT_P50, 0.2,
     "shmkit SPSC vs iceoryx, both busy-polling, 64 B round trip"},
    {"chan-spsc-zc-busy", "iceoryx-busy-zc", MiB, 0, BT_M_RT_P50, 0,
     "shmkit SPSC zero-copy vs iceoryx zero-copy, both busy, 1 MiB round trip"},
    {"chan-spsc-sleep", "iceoryx-waitset", 64, 0, BT_M_RT_P50, 0,
     "shmkit SPSC sleeping vs iceoryx WaitSet, 64 B round trip"},
    {"chan-spsc-busy", "zmq", 64, 0, BT_M_RT_P50, 0.05, "shmkit SPSC busy vs ZeroMQ ipc://, 64 B"},
    {"chan-spsc-sleep", "zmq", 64, 0, BT_M_RT_P50, 0,
     "shmkit SPSC sleeping vs ZeroMQ ipc://, 64 B"},
    {"chan-spsc-sleep", "nng", 64, 0, BT_M_RT_P50, 0, "shmkit SPSC sleeping vs NNG ipc://, 64 B"},
    {"chan-spsc-busy", "sysv-shm", 64, 0, BT_M_RT_P50, 0.05,
     "shmkit SPSC busy vs kernel SysV shm + semop, 64 B"},
    {"chan-spsc-sleep", "sysv-shm", 64, 0, BT_M_RT_P50, 0,
     "shmkit SPSC sleeping vs kernel SysV shm + semop, 64 B"},
    {"chan-spsc-sleep", "pipe", 64, 0, BT_M_RT_P50, 0, "shmkit SPSC sleeping vs a pipe, 64 B"},
    {"chan-spsc-busy", "unix-stream", MiB, 0, BT_M_RT_P50, 0.5,
     "shmkit SPSC copying vs UNIX stream socket, 1 MiB round trip"},
    {"chan-spsc-zc-busy", "unix-stream", MiB, 0, BT_M_RT_P50, 0.01,
     "shmkit SPSC zero-copy vs UNIX stream socket, 1 MiB round trip"},
    {"chan-spsc-busy", "zmq", 64, 0, BT_M_TP_MSGS, 0,
     "shmkit SPSC one-way 64 B throughput vs ZeroMQ"},
    {"chan-mpmc-busy", "chan-spsc-busy", 64, 0, BT_M_RT_P50, 0,
     "what MPMC's generality costs against SPSC (one sender, one receiver), 64 B"},
    {"chan-mpmc-busy", "chan-spsc-busy", 64, 0, BT_M_TP_MSGS, 0,
     "the same, one-way 64 B throughput"},
    {"chan-bcast-busy", "chan-spsc-busy", 64, 0, BT_M_RT_P50, 0,
     "what broadcast costs against SPSC (one receiver), 64 B"},
    /* What the other mechanisms cost against each other and against the references. */
    {"ref-pingpong", "pipe", 64, 0, BT_M_RT_P50, 0, "raw shared memory (busy) vs a pipe, 64 B"},
    {"ref-futex", "pipe", 64, 0, BT_M_RT_P50, 0, "raw futex wait/wake vs a pipe, 64 B"},
    {"sysv-shm", "pipe", 64, 0, BT_M_RT_P50, 0, "SysV shm + semop (the tutorials' way) vs a pipe"},
    {"mmap-disk", "posix-shm", 64, 0, BT_M_RT_P50, 0,
     "mmap of a file on disk vs POSIX shm, same sem_t handshake, 64 B"},
    {"mmap-disk", "posix-shm", MiB, 0, BT_M_RT_P50, 0, "the same at 1 MiB"},
    {"shmkit-sysv", "sysv-shm", 64, 0, BT_M_RT_P50, 0,
     "shmkit's System V model vs the kernel's, same semaphores, 64 B"},
    {"shmkit-sysv", "sysv-shm", MiB, 0, BT_M_RT_P50, 0, "the same at 1 MiB"},
    {"iceoryx-busy", "unix-stream", 64, 0, BT_M_RT_P50, 0,
     "iceoryx busy vs UNIX stream socket, 64 B"},
    {"iceoryx-busy-zc", "unix-stream", MiB, 0, BT_M_RT_P50, 0,
     "iceoryx zero-copy vs UNIX stream socket, 1 MiB"},
    {"zmq", "unix-stream", 64, 0, BT_M_RT_P50, 0, "ZeroMQ ipc:// vs UNIX stream socket, 64 B"},
    {"ck-ring", "pipe", 64, 0, BT_M_TP_MSGS, 0, "ck_ring one-way 64 B throughput vs pipe"},
    {"unix-stream", "memcpy", MiB, 0, BT_M_TP_GBPS, 0, "UNIX stream 1 MiB bandwidth vs memcpy"},
};

size_t bt_ratio_builtin(const struct bt_ratio **list)
{
	*list = builtin;
	return sizeof(builtin) / sizeof(builtin[0]);
}

static const char *const metric_names[BT_NMETRICS] = {
    "rt_p50", "rt_p99", "rt_p999", "tp_msgs", "tp_gbps", "cpu_rt", "cpu_tp",
};

const char *bt_metric_name(enum bt_metric m)
{
	return m < BT_NMETRICS ? metric_names[m] : "?";
}

int bt_metric_parse(const char *s, enum bt_metric *m)
{
	for (int i = 0; i < BT_NMETRICS; i++)
		if (!strcmp(s, metric_names[i])) {
			*m = (enum bt_metric)i;
			return 0;
		}
	return -EINVAL;
}

static const struct bt_row *find_row(const struct bt_run *run, const char *name)
{
	for (size_t i = 0; i < run->nrows; i++)
		if (!strcmp(run->rows[i].name, name))
			return &run->rows[i];
	return NULL;
}

int bt_metric_value(const struct bt_run *run, const char *name, size_t size, enum bt_metric m,
                    double *v)
{
	const struct bt_row *row = find_row(run, name);
	int s = -1;
	for (int i = 0; i < run->cfg->nsizes; i++)
		if (run->cfg->sizes[i] == size)
			s = i;
	if (!row || row->skipped || s < 0)
		return -ENOENT;
	bool tp = m == BT_M_TP_MSGS || m == BT_M_TP_GBPS || m == BT_M_CPU_TP;
	const struct bt_case *k = &row->c[tp ? BT_TP : BT_RT][s];
	if (k->status != BT_ST_OK)
		return -ENOENT;
	switch (m) {
	case BT_M_RT_P50:
		*v = k->st.median;
		break;
	case BT_M_RT_P99:
		*v = k->st.p99;
		break;
	case BT_M_RT_P999:
		*v = k->st.p999;
		break;
	case BT_M_TP_MSGS:
		*v = k->rate;
		break;
	case BT_M_TP_GBPS:
		*v = k->gbps;
		break;
	case BT_M_CPU_RT:
	case BT_M_CPU_TP:
		*v = k->cpu_per_m;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

void bt_size_name(size_t size, char *buf, size_t len)
{
	if (size >= MiB && size % MiB == 0)
		snprintf(buf, len, "%zu MiB", size / MiB);
	else if (size >= KiB && size % KiB == 0)
		snprintf(buf, len, "%zu KiB", size / KiB);
	else
		snprintf(buf, len, "%zu B", size);
}

int bt_size_parse(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	unsigned long long mul = 1;
	if (!strcasecmp(end, "k") || !strcasecmp(end, "KiB"))
		mul = KiB;
	else if (!strcasecmp(end, "m") || !strcasecmp(end, "MiB"))
		mul = MiB;
	else if (*end && strcasecmp(end, "b"))
		return -EINVAL;
	if (v > (1ull << 40) / mul)
		return -ERANGE;
	*out = (size_t)(v * mul);
	return 0;
}
