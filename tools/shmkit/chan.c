/* SPDX-License-Identifier: MIT */
/*
 * What ls and stat show of channels: their figures, read once per listing, and their live
 * participants. Every read of a ring goes through cli_guarded(): its owner may truncate it.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cli.h"

const char *cli_chan_type(uint32_t type)
{
	switch (type) {
	case SHMKIT_CHAN_SPSC:
		return "spsc";
	case SHMKIT_CHAN_MPMC:
		return "mpmc";
	case SHMKIT_CHAN_BROADCAST:
		return "broadcast";
	}
	return "?";
}

struct chan_read {
	const struct shmkit_obj *obj;
	struct shmkit_chan_info *info;
	struct shmkit_chan_peer *peers;
	size_t max;
};

static int read_chan(void *arg)
{
	struct chan_read *r = arg;
	return shmkit_inspect_chan(r->obj, r->info, r->peers, r->max);
}

static int chan_read(const struct shmkit_obj *o, struct shmkit_chan_info *info,
                     struct shmkit_chan_peer *peers, size_t max)
{
	struct chan_read r = {o, info, peers, max};
	return cli_guarded(read_chan, &r);
}

/* Figures of the channels of one listing (a table asks for every cell twice). */
static struct {
	const struct shmkit_obj *obj;
	char name[SHMKIT_OBJ_NAME_MAX + 1];
	int err;
	struct shmkit_chan_info info;
} cache[32];
static unsigned cache_next;
#define CACHE (sizeof(cache) / sizeof(cache[0]))

const struct shmkit_chan_info *cli_chan_info(const struct shmkit_obj *o)
{
	if (o->kind != SHMKIT_KIND_CHAN ||
	    (o->flags & (SHMKIT_OBJ_DAMAGED | SHMKIT_OBJ_NOACCESS | SHMKIT_OBJ_INCOMPLETE)))
		return NULL;
	for (size_t i = 0; i < CACHE; i++)
		if (cache[i].obj == o && !strcmp(cache[i].name, o->name))
			return cache[i].err < 0 ? NULL : &cache[i].info;
	unsigned i = cache_next++ % CACHE;
	cache[i].obj = o;
	snprintf(cache[i].name, sizeof(cache[i].name), "%s", o->name);
	cache[i].err = chan_read(o, &cache[i].info, NULL, 0);
	return cache[i].err < 0 ? NULL : &cache[i].info;
}

const char *cli_chan_problem(const struct shmkit_obj *o, int err)
{
	if (o->flags & SHMKIT_OBJ_INCOMPLETE || err == -ENOENT)
		return "incomplete: a directory with no ring (its creator died while making it, "
		       "or is making it now)";
	if (o->flags & SHMKIT_OBJ_NOACCESS || err == -EACCES || err == -EPERM)
		return "unreadable: permission denied";
	if (err == -EFAULT)
		return "unreadable: its ring shrank while it was read";
	if (err == -EPROTO)
		return "damaged: a ring of a layout version this shmkit does not read";
	if (o->flags & SHMKIT_OBJ_DAMAGED || err == -EBADMSG)
		return "damaged: not a channel this shmkit reads (not a directory, a ring with a "
		       "bad header, or files someone other than its owner could have planted)";
	return err < 0 ? strerror(-err) : "";
}

/* The participant's command line if the kernel says it maps the ring, else its record's. */
static const char *command_of(const struct shmkit_chan_peer *p,
                              const struct shmkit_inspect_proc *procs, int nprocs, char *buf,
                              size_t len)
{
	for (int i = 0; i < nprocs; i++)
		if (procs[i].pid == p->pid && procs[i].start == p->start &&
		    shmkit_inspect_proc_cmdline(p->pid, buf, len) >= 0)
			return buf;
	return p->comm;
}

static const char *role_name(uint32_t role)
{
	return role == SHMKIT_CHAN_RECV ? "receiver" : "sender";
}

static void size_line(const char *label, uint64_t bytes)
{
	char buf[32];
	cli_human_size(bytes, buf, sizeof(buf));
	printf("%-12s %" PRIu64 " (%s)\n", label, bytes, buf);
}

void cli_chan_stat(const struct shmkit_obj *o, const struct shmkit_inspect_proc *procs, int nprocs)
{
	struct shmkit_chan_info info;
	struct shmkit_chan_peer peers[SHMKIT_CHAN_MAX_PEERS];
	int n = chan_read(o, &info, peers, SHMKIT_CHAN_MAX_PEERS);
	if (n < 0) {
		printf("%-12s %s\n", "channel:", cli_chan_problem(o, n));
		return;
	}
	printf("%-12s %s\n", "type:", cli_chan_type(info.kind));
	printf("%-12s %" PRIu64 " messages\n", "capacity:", info.capacity);
	size_line("msg size:", info.msg_size);
	printf("%-12s %" PRIu64 "\n", "depth:", info.depth);
	printf("%-12s %" PRIu64 "\n", "sent:", info.sent);
	printf("%-12s %" PRIu64 "\n", "abandoned:", info.abandoned);
	printf("%-12s %u\n", "senders:", info.senders);
	printf("%-12s %u\n", "receivers:", info.receivers);
	printf("%-12s %d\n", "peers:", n);
	for (int i = 0; i < n && i < SHMKIT_CHAN_MAX_PEERS; i++) {
		const struct shmkit_chan_peer *p = &peers[i];
		char cmd[256], more[128] = "";
		if (p->role == SHMKIT_CHAN_RECV)
			snprintf(more, sizeof(more),
			         " lag %-6" PRIu64 " lost %-6" PRIu64 " abandoned %-4" PRIu64,
			         p->lag, p->lost, p->abandoned);
		printf("  pid %-8d %-8s count %-8" PRIu64 "%s %s\n", p->pid, role_name(p->role),
		       p->count, more, command_of(p, procs, nprocs, cmd, sizeof(cmd)));
	}
}

static void json_u64_or_null(FILE *f, const char *key, bool has, uint64_t v)
{
	if (has)
		fprintf(f, ", \"%s\": %" PRIu64, key, v);
	else
		fprintf(f, ", \"%s\": null", key);
}

void cli_chan_json_peers(FILE *f, const struct shmkit_obj *o,
                         const struct shmkit_inspect_proc *procs, int nprocs)
{
	struct shmkit_chan_info info;
	struct shmkit_chan_peer peers[SHMKIT_CHAN_MAX_PEERS];
	int n = o->kind == SHMKIT_KIND_CHAN ? chan_read(o, &info, peers, SHMKIT_CHAN_MAX_PEERS)
	                                    : -EINVAL;
	if (n < 0) {
		fprintf(f, "null");
		return;
	}
	fputc('[', f);
	for (int i = 0; i < n && i < SHMKIT_CHAN_MAX_PEERS; i++) {
		const struct shmkit_chan_peer *p = &peers[i];
		char cmd[256];
		bool rx = p->role == SHMKIT_CHAN_RECV;
		fprintf(f, "%s\n         {\"pid\": %d, \"role\": \"%s\", \"start\": %" PRIu64 ", ",
		        i ? "," : "", p->pid, role_name(p->role), p->start);
		fprintf(f, "\"comm\": ");
		cli_json_string(f, p->comm);
		fprintf(f, ", \"command\": ");
		cli_json_string(f, command_of(p, procs, nprocs, cmd, sizeof(cmd)));
		fprintf(f, ", \"count\": %" PRIu64, p->count);
		json_u64_or_null(f, "lag", rx, p->lag);
		json_u64_or_null(f, "lost", rx, p->lost);
		json_u64_or_null(f, "abandoned", rx, p->abandoned);
		fputc('}', f);
	}
	fprintf(f, "%s]", n ? "\n      " : "");
}
