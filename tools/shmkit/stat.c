/* SPDX-License-Identifier: MIT */
/* shmkit stat: everything known about one object, including who is attached right now. */
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>

#include "cli.h"
#include "table.h"

#define PROCS_SHOWN 64

static void help(void)
{
	printf("Usage: shmkit stat [options] ID|KEY|NAME\n"
	       "Show one object: its shmid_ds fields, backing object, attached processes and\n"
	       "whether it is orphaned; for a channel, its figures and live participants. KEY is\n"
	       "0x hex; a plain number is an id; anything else is the name of a POSIX object in\n"
	       "/dev/shm or of a channel.\n\n"
	       "Options:\n"
	       "  -J, --json           JSON output: ls --json's members, with attached and peers\n"
	       "  -k, --kind KIND      look only at this kind (sysv, posix, shmkit, heap, chan)\n"
	       "      --ns NS          look in shmkit namespace NS\n"
	       "  -h, --help           this help\n");
}

static void who(const char *label, uint32_t uid, uint32_t gid)
{
	char u[64], g[64];
	cli_user_name(uid, u, sizeof(u));
	cli_group_name(gid, g, sizeof(g));
	printf("%-12s %s(%u) group %s(%u)\n", label, u, uid, g, gid);
}

static void when(const char *label, int64_t t)
{
	char buf[64];
	cli_time_string(t, buf, sizeof(buf));
	printf("%-12s %s\n", label, t ? buf : "not set");
}

static void print_attachers(int n, const struct shmkit_inspect_proc *procs)
{
	if (n < 0) {
		printf("%-12s unknown (%s)\n", "attached:", strerror(-n));
		return;
	}
	printf("%-12s %d process%s\n", "attached:", n, n == 1 ? "" : "es");
	for (int i = 0; i < n && i < PROCS_SHOWN; i++) {
		char cmd[256];
		if (shmkit_inspect_proc_cmdline(procs[i].pid, cmd, sizeof(cmd)) < 0)
			snprintf(cmd, sizeof(cmd), "%s", procs[i].comm);
		printf("  pid %-8d maps %-3u fds %-3u %s\n", procs[i].pid, procs[i].maps,
		       procs[i].fds, cmd);
	}
	if (n > PROCS_SHOWN)
		printf("  ... and %d more\n", n - PROCS_SHOWN);
}

static void print_obj(const struct shmkit_obj *o, int nprocs,
                      const struct shmkit_inspect_proc *procs)
{
	char buf[512], perms[10];
	/* POSIX objects and channels have names, no keys, ids or creators */
	bool sysv_like = !(o->kind & (SHMKIT_KIND_POSIX | SHMKIT_KIND_CHAN));
	printf("%-12s %s\n", "kind:", cli_obj_kind(o));
	if (sysv_like) {
		printf("%-12s 0x%08x\n", "key:", (uint32_t)o->key);
		printf("%-12s %d\n", "id:", o->id);
	}
	if (o->ns[0])
		printf("%-12s %s\n", "namespace:", o->ns);
	if (o->name[0])
		printf("%-12s %s\n", "name:", o->name);
	if (o->kind == SHMKIT_KIND_SYSV)
		printf("%-12s kernel shm, /SYSV%08x inode %d\n", "backing:", (uint32_t)o->key,
		       o->id);
	else
		printf("%-12s %s\n", "backing:", o->backing);
	who("owner:", o->uid, o->gid);
	who("creator:", o->cuid, o->cgid);
	cli_perms_string(o->mode, perms);
	printf("%-12s %#o (%s)\n", "mode:", o->mode, perms);
	cli_human_size(o->size, buf, sizeof(buf));
	printf("%-12s %" PRIu64 " (%s)\n", "size:", o->size, buf);
	if (sysv_like) {
		printf("%-12s %" PRIu64 "\n", "nattch:", o->nattch);
		printf("%-12s %d\n", "cpid:", o->cpid);
		printf("%-12s %d\n", "lpid:", o->lpid);
		when("atime:", o->atime);
		when("dtime:", o->dtime);
	}
	when(o->kind == SHMKIT_KIND_POSIX ? "mtime:" : "ctime:", o->ctime);
	if (o->rss || o->swap)
		printf("%-12s rss %" PRIu64 " swap %" PRIu64 "\n", "memory:", o->rss, o->swap);
	cli_status_string(o, ", ", buf, sizeof(buf));
	printf("%-12s %s\n", "status:", buf[0] ? buf : "-");
	if (sysv_like) {
		bool alive = o->flags & SHMKIT_OBJ_CREATOR_ALIVE;
		printf("%-12s %s%s%s\n", "creator is:", alive ? "running" : "gone",
		       o->comm[0] ? ": " : "", o->comm);
	}
	if (o->kind != SHMKIT_KIND_CHAN)
		printf("%-12s %s\n", "orphaned:",
		       o->kind == SHMKIT_KIND_POSIX ? "unknown (POSIX objects record no creator)"
		       : (o->flags & SHMKIT_OBJ_ORPHANED) ? "yes"
		                                          : "no");
	if (o->kind == SHMKIT_KIND_CHAN)
		cli_chan_stat(o, procs,
		              nprocs < 0             ? 0
		              : nprocs > PROCS_SHOWN ? PROCS_SHOWN
		                                     : nprocs);
	print_attachers(nprocs, procs);
	if (o->flags & SHMKIT_OBJ_HEAP)
		cli_heap_stat(o);
}

/* ls --json's members for every column, then who is attached and (channels) who takes part. */
static void print_json(const struct shmkit_obj *o, int nprocs,
                       const struct shmkit_inspect_proc *procs)
{
	struct table_opts to = {.mode = TABLE_JSON, .bytes = true};
	table_all_columns(&to);
	printf("{\n   \"sharedmemory\": [\n      {");
	table_json_members(stdout, &to, o);
	printf(", \"attached\": ");
	if (nprocs < 0)
		printf("null");
	else
		putchar('[');
	for (int i = 0; i < nprocs && i < PROCS_SHOWN; i++) {
		char cmd[256];
		if (shmkit_inspect_proc_cmdline(procs[i].pid, cmd, sizeof(cmd)) < 0)
			snprintf(cmd, sizeof(cmd), "%s", procs[i].comm);
		printf("%s\n         {\"pid\": %d, \"maps\": %u, \"fds\": %u, \"start\": %" PRIu64
		       ", \"command\": ",
		       i ? "," : "", procs[i].pid, procs[i].maps, procs[i].fds, procs[i].start);
		cli_json_string(stdout, cmd);
		putchar('}');
	}
	if (nprocs >= 0)
		printf("%s]", nprocs ? "\n      " : "");
	printf(", \"peers\": ");
	cli_chan_json_peers(stdout, o, procs,
	                    nprocs < 0             ? 0
	                    : nprocs > PROCS_SHOWN ? PROCS_SHOWN
	                                           : nprocs);
	printf("}\n   ]\n}\n");
}

int cmd_stat(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'J'},
	    {"kind", required_argument, NULL, 'k'},
	    {"ns", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct cli_filter f = {0};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "Jk:h", opts, NULL)) != -1) {
		int r = cli_filter_opt("stat", &f, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		if (c == 'J') {
			json = true;
			continue;
		}
		if (c == 'h') {
			help();
			return EXIT_OK;
		}
		return cli_usage("stat", "invalid option '%s'", argv[optind - 1]);
	}
	if (optind + 1 != argc)
		return cli_usage("stat", optind == argc ? "missing ID|KEY|NAME"
		                                        : "expected one ID|KEY|NAME");
	struct shmkit_obj o;
	int r = cli_resolve(argv[optind], f.kinds, f.ns, &o);
	if (r < 0)
		return cli_resolve_error("stat", argv[optind], r);
	struct shmkit_inspect_proc procs[PROCS_SHOWN];
	int n = shmkit_inspect_attachers(&o, procs, PROCS_SHOWN);
	if (json)
		print_json(&o, n, procs);
	else
		print_obj(&o, n, procs);
	return EXIT_OK;
}
