/* SPDX-License-Identifier: MIT */
/*
 * shmkit ipcs: util-linux ipcs output for shared memory, byte for byte, so that scripts that
 * parse ipcs keep working. The formats are util-linux's sys-utils/ipcs.c and ipcutils.c.
 */
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum format { F_DEFAULT, F_TIME, F_PID, F_CREATOR, F_LIMITS, F_STATUS };
enum unit { U_DEFAULT, U_BYTES, U_KB, U_HUMAN };

static void help(void)
{
	printf("Usage: shmkit ipcs [options]\n"
	       "Show shared-memory segments exactly as util-linux ipcs -m does.\n\n"
	       "Options:\n"
	       "  -m, --shmems         shared memory segments (the default; -a is the same)\n"
	       "  -i, --id ID          details of one segment\n"
	       "  -t, --time           attach, detach and change times\n"
	       "  -p, --pid            creator and last-operation pids\n"
	       "  -c, --creator        creator and owner\n"
	       "  -l, --limits         resource limits\n"
	       "  -u, --summary        status summary\n"
	       "  -b, --bytes          sizes in bytes\n"
	       "      --human          human-readable sizes\n"
	       "      --ns NS          also shmkit namespace NS (with -i: look there)\n"
	       "      --shmkit         also every shmkit namespace, one section each\n"
	       "  -h, --help           this help\n");
}

/* ipcutils.c: ipc_print_size(). */
static void print_size(enum unit unit, const char *msg, uint64_t size, const char *end, int width)
{
	if (!msg)
		;
	else if (msg[strlen(msg) - 1] == '=')
		printf("%s", msg);
	else if (unit == U_BYTES)
		printf("%s (bytes) = ", msg);
	else if (unit == U_KB)
		printf("%s (kbytes) = ", msg);
	else
		printf("%s = ", msg);
	if (unit == U_HUMAN) {
		char buf[32];
		cli_human_size(size, buf, sizeof(buf));
		printf("%*s", width, buf);
	} else {
		printf("%*" PRIu64, width, unit == U_KB ? size / 1024 : size);
	}
	if (end)
		printf("%s", end);
}

/* "------ Shared Memory Segments --------", naming the namespace for shmkit's sections. */
static void print_title(const char *what, const char *ns)
{
	if (ns)
		printf("------ %s (shmkit namespace %s) --------\n", what, ns);
	else
		printf("------ %s --------\n", what);
}

static int get_limits(const char *ns, struct shmkit_inspect_limits *l)
{
	return ns ? shmkit_inspect_limits(SHMKIT_KIND_SHMKIT, ns, l)
	          : shmkit_inspect_limits(SHMKIT_KIND_SYSV, NULL, l);
}

static void print_limits(enum unit unit, const char *ns)
{
	struct shmkit_inspect_limits l;
	if (get_limits(ns, &l) < 0) {
		printf("unable to fetch shared memory limits\n");
		return;
	}
	uint64_t pgsz = l.page_size, tmp;
	print_title("Shared Memory Limits", ns);
	printf("max number of segments = %" PRIu64 "\n", l.shmmni);
	print_size(unit == U_DEFAULT ? U_KB : unit, "max seg size", l.shmmax, "\n", 0);
	if (unit == U_KB || unit == U_DEFAULT) {
		tmp = l.shmall * (pgsz / 1024);
		if (l.shmall != 0 && tmp / l.shmall != pgsz / 1024)
			tmp = UINT64_MAX - (UINT64_MAX % (pgsz / 1024));
		printf("max total shared memory (kbytes) = %" PRIu64 "\n", tmp);
	} else {
		tmp = l.shmall * pgsz;
		if (l.shmall != 0 && tmp / l.shmall != pgsz)
			tmp = UINT64_MAX - (UINT64_MAX % pgsz);
		print_size(unit, "max total shared memory", tmp, "\n", 0);
	}
	print_size(unit == U_DEFAULT ? U_BYTES : unit, "min seg size", l.shmmin, "\n", 0);
}

static void print_status(const char *ns)
{
	struct shmkit_inspect_limits l;
	if (get_limits(ns, &l) < 0)
		return;
	print_title("Shared Memory Status", ns);
	printf("segments allocated %ld\n"
	       "pages allocated %ld\n"
	       "pages resident  %ld\n"
	       "pages swapped   %ld\n"
	       "Swap performance: %ld attempts\t %ld successes\n",
	       (long)l.used_ids, (long)l.shm_tot, (long)l.shm_rss, (long)l.shm_swp,
	       (long)l.swap_attempts, (long)l.swap_successes);
}

static void print_header(enum format fmt, enum unit unit, const char *ns)
{
	switch (fmt) {
	case F_CREATOR:
		print_title("Shared Memory Segment Creators/Owners", ns);
		printf("%-10s %-10s %-10s %-10s %-10s %-10s\n", "shmid", "perms", "cuid", "cgid",
		       "uid", "gid");
		break;
	case F_TIME:
		print_title("Shared Memory Attach/Detach/Change Times", ns);
		printf("%-10s %-10s %-20s %-20s %-20s\n", "shmid", "owner", "attached", "detached",
		       "changed");
		break;
	case F_PID:
		print_title("Shared Memory Creator/Last-op PIDs", ns);
		printf("%-10s %-10s %-10s %-10s\n", "shmid", "owner", "cpid", "lpid");
		break;
	default:
		print_title("Shared Memory Segments", ns);
		printf("%-10s %-10s %-10s %-10s %-10s %-10s %-12s\n", "key", "shmid", "owner",
		       "perms", unit == U_HUMAN ? "size" : "bytes", "nattch", "status");
		break;
	}
}

static void print_id_owner(const struct shmkit_obj *o)
{
	struct passwd *pw = getpwuid(o->uid);
	if (pw)
		printf("%-10d %-10.10s", o->id, pw->pw_name);
	else
		printf("%-10d %-10u", o->id, o->uid);
}

static void print_name_or_id(bool user, uint32_t v, const char *end)
{
	const char *name = NULL;
	if (user) {
		struct passwd *pw = getpwuid(v);
		name = pw ? pw->pw_name : NULL;
	} else {
		struct group *gr = getgrgid(v);
		name = gr ? gr->gr_name : NULL;
	}
	if (name)
		printf(" %-10s%s", name, end);
	else
		printf(" %-10u%s", v, end);
}

/* ctime(t) + 4, i.e. "Mon DD HH:MM:SS YYYY\n" (or "Not set"), as "%-20.16s". */
static void print_time16(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	printf(" %-20.16s", t && ctime_r(&tt, buf) ? buf + 4 : "Not set");
}

static int print_row(const struct shmkit_obj *o, void *arg)
{
	const enum format fmt = ((const int *)arg)[0];
	const enum unit unit = ((const int *)arg)[1];
	switch (fmt) {
	case F_CREATOR:
		printf("%-10d %-10o", o->id, o->mode & 0777);
		print_name_or_id(true, o->cuid, "");
		print_name_or_id(false, o->cgid, "");
		print_name_or_id(true, o->uid, "");
		print_name_or_id(false, o->gid, "\n");
		break;
	case F_TIME:
		print_id_owner(o);
		print_time16(o->atime);
		print_time16(o->dtime);
		print_time16(o->ctime);
		printf("\n");
		break;
	case F_PID:
		print_id_owner(o);
		printf(" %-10u %-10u\n", (unsigned)o->cpid, (unsigned)o->lpid);
		break;
	default:
		printf("0x%08x ", (uint32_t)o->key);
		print_id_owner(o);
		printf(" %-10o ", o->mode & 0777);
		if (unit == U_HUMAN)
			print_size(unit, NULL, o->size, "    ", 6);
		else
			print_size(unit, NULL, o->size, NULL, -10);
		printf(" %-10" PRIu64 " %-6s %-6s\n", o->nattch, o->mode & SHM_DEST ? "dest" : " ",
		       o->mode & SHM_LOCKED ? "locked" : " ");
		break;
	}
	return 0;
}

/* The kernel's segments (ns NULL) or those of one shmkit namespace. */
static void print_section(enum format fmt, enum unit unit, const char *ns)
{
	if (fmt == F_LIMITS) {
		print_limits(unit, ns);
		return;
	}
	if (fmt == F_STATUS) {
		print_status(ns);
		return;
	}
	print_header(fmt, unit, ns);
	int args[2] = {fmt, unit};
	struct shmkit_inspect_filter f = {.kinds = ns ? SHMKIT_KIND_SHMKIT : SHMKIT_KIND_SYSV,
	                                  .ns = ns};
	shmkit_inspect_list(&f, print_row, args);
}

static int print_namespaces(enum format fmt, enum unit unit, const char *ns)
{
	if (ns) {
		print_section(fmt, unit, ns);
		printf("\n");
		return EXIT_OK;
	}
	int n = shmkit_ns_list(NULL, 0);
	if (n < 0) {
		cli_warn("ipcs", "cannot list shmkit namespaces: %s", strerror(-n));
		return EXIT_FAIL;
	}
	char(*names)[SHMKIT_NS_NAME_MAX + 1] = calloc((size_t)n + 1, sizeof(*names));
	if (!names)
		return EXIT_FAIL;
	int m = shmkit_ns_list(names, (size_t)n + 1);
	for (int i = 0; i < m && i <= n; i++) {
		names[i][SHMKIT_NS_NAME_MAX] = '\0';
		print_section(fmt, unit, names[i]);
		printf("\n");
	}
	free(names);
	return EXIT_OK;
}

static int find_id(const struct shmkit_obj *o, void *arg)
{
	struct shmkit_obj *want = arg;
	if (o->id != want->id)
		return 0;
	*want = *o;
	return 1;
}

/* ipcs.c: print_shm(). */
static int print_one(int id, enum unit unit, const char *ns)
{
	struct shmkit_obj o = {.id = id};
	struct shmkit_inspect_filter f = {.kinds = ns ? SHMKIT_KIND_SHMKIT : SHMKIT_KIND_SYSV,
	                                  .ns = ns};
	if (shmkit_inspect_list(&f, find_id, &o) != 1) {
		cli_warn("ipcs", "id %d not found", id);
		return EXIT_FAIL;
	}
	char at[32], dt[32], ct[32];
	time_t a = (time_t)o.atime, d = (time_t)o.dtime, c = (time_t)o.ctime;
	printf("\nShared memory Segment shmid=%d\n", id);
	printf("uid=%u\tgid=%u\tcuid=%u\tcgid=%u\n", o.uid, o.gid, o.cuid, o.cgid);
	printf("mode=%#o\taccess_perms=%#o\n", o.mode, o.mode & 0777);
	print_size(unit, unit == U_HUMAN ? "size=" : "bytes=", o.size, "\t", 0);
	printf("lpid=%u\tcpid=%u\tnattch=%" PRId64 "\n", (unsigned)o.lpid, (unsigned)o.cpid,
	       (int64_t)o.nattch);
	printf("att_time=%-26.24s\n", a && ctime_r(&a, at) ? at : "Not set");
	printf("det_time=%-26.24s\n", d && ctime_r(&d, dt) ? dt : "Not set");
	printf("change_time=%-26.24s\n", ctime_r(&c, ct) ? ct : "");
	printf("\n");
	return EXIT_OK;
}

int cmd_ipcs(int argc, char **argv)
{
	enum { OPT_HUMAN = 256, OPT_NS, OPT_SHMKIT };
	static const struct option opts[] = {
	    {"shmems", no_argument, NULL, 'm'},      {"all", no_argument, NULL, 'a'},
	    {"id", required_argument, NULL, 'i'},    {"time", no_argument, NULL, 't'},
	    {"pid", no_argument, NULL, 'p'},         {"creator", no_argument, NULL, 'c'},
	    {"limits", no_argument, NULL, 'l'},      {"summary", no_argument, NULL, 'u'},
	    {"bytes", no_argument, NULL, 'b'},       {"human", no_argument, NULL, OPT_HUMAN},
	    {"ns", required_argument, NULL, OPT_NS}, {"shmkit", no_argument, NULL, OPT_SHMKIT},
	    {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
	};
	enum format fmt = F_DEFAULT;
	enum unit unit = U_DEFAULT;
	long long id = -1;
	const char *ns = NULL;
	bool shmkit = false;
	int c;
	while ((c = getopt_long(argc, argv, "mai:tpclubh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
		case 'a':
			break;
		case 'i':
			if (cli_parse_long(optarg, 0, INT32_MAX, &id) < 0)
				return cli_usage("ipcs", "invalid id '%s'", optarg);
			break;
		case 't':
			fmt = F_TIME;
			break;
		case 'p':
			fmt = F_PID;
			break;
		case 'c':
			fmt = F_CREATOR;
			break;
		case 'l':
			fmt = F_LIMITS;
			break;
		case 'u':
			fmt = F_STATUS;
			break;
		case 'b':
			unit = U_BYTES;
			break;
		case OPT_HUMAN:
			unit = U_HUMAN;
			break;
		case OPT_NS:
			if (!cli_ns_valid(optarg))
				return cli_usage("ipcs", "invalid namespace name '%s'", optarg);
			ns = optarg;
			shmkit = true;
			break;
		case OPT_SHMKIT:
			shmkit = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return cli_usage("ipcs",
			                 "invalid option '%s' (only shared memory is shown)",
			                 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage("ipcs", "unexpected argument '%s'", argv[optind]);
	if (id >= 0)
		return print_one((int)id, unit, ns);
	printf("\n");
	print_section(fmt, unit, NULL);
	printf("\n");
	return shmkit ? print_namespaces(fmt, unit, ns) : EXIT_OK;
}
