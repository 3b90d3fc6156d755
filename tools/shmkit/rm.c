/* SPDX-License-Identifier: MIT */
/* shmkit rm: remove objects by id, key or name, or every object a filter selects. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include "cli.h"

static void help(void)
{
	printf("Usage: shmkit rm [options] ID|KEY|NAME...\n"
	       "       shmkit rm --all [filters]\n"
	       "       shmkit rm --ns NS          remove namespace NS itself (its owner, or root)\n"
	       "Remove shared-memory objects. KEY is 0x hex; a plain number is an id; anything\n"
	       "else is the name of a POSIX object or a channel (choose with --kind if both\n"
	       "exist). Every operand is checked before anything is removed.\n"
	       "A System V segment that is still attached is marked for removal and goes away\n"
	       "with its last detach.\n\n"
	       "Options:\n"
	       "  -a, --all            remove every object the filters select\n"
	       "  -v, --verbose        say what is removed\n"
	       "%s"
	       "  -h, --help           this help\n",
	       cli_filter_help);
}

static void explain_sysv(const char *cmd, const struct shmkit_obj *o, int err)
{
	char u[64], cu[64], d[400];
	cli_describe(o, d, sizeof(d));
	if (err == EPERM) {
		cli_user_name(o->uid, u, sizeof(u));
		cli_user_name(o->cuid, cu, sizeof(cu));
		cli_warn(
		    cmd,
		    "cannot remove %s: permission denied: only its owner (%s), its "
		    "creator (%s) or a process with CAP_SYS_ADMIN may remove it; you are uid %u",
		    d, u, cu, (unsigned)geteuid());
	} else if (err == EINVAL || err == EIDRM || err == ENOENT) {
		cli_warn(cmd, "cannot remove %s: it no longer exists", d);
	} else {
		cli_warn(cmd, "cannot remove %s: %s", d, strerror(err));
	}
}

/* IPC_RMID in o's namespace, without joining it, waiting at most $SHMKIT_NS_TIMEOUT. */
static int rmid_shmkit(const struct shmkit_obj *o)
{
	int r = shmkit_ns_rmid(o->ns, o->id);
	if (r < 0)
		errno = -r;
	return r < 0 ? -1 : 0;
}

static void explain_posix(const char *cmd, const struct shmkit_obj *o, int err)
{
	char u[64];
	if (err == EACCES || err == EPERM) {
		cli_user_name(o->uid, u, sizeof(u));
		cli_warn(
		    cmd,
		    "cannot remove POSIX object '%s': permission denied: /dev/shm is sticky, so "
		    "only its owner (%s), the owner of /dev/shm or root may remove it; you are "
		    "uid %u",
		    o->name, u, (unsigned)geteuid());
	} else {
		cli_warn(cmd, "cannot remove POSIX object '%s': %s", o->name, strerror(err));
	}
}

static void explain_chan(const char *cmd, const struct shmkit_obj *o, int err)
{
	char u[64];
	if (err == EACCES || err == EPERM) {
		cli_user_name(o->uid, u, sizeof(u));
		cli_warn(
		    cmd,
		    "cannot remove channel '%s': permission denied: only its owner (%s) or root "
		    "may remove it; you are uid %u",
		    o->name, u, (unsigned)geteuid());
	} else if (err == ENOENT) {
		cli_warn(cmd, "cannot remove channel '%s': it no longer exists", o->name);
	} else {
		cli_warn(cmd, "cannot remove channel '%s': %s", o->name, strerror(err));
	}
}

/*
 * A channel, by its library's word. A name that is no directory (a file or a link planted
 * there, or left by hand) is not one the library removes: the name itself is unlinked, which
 * the sticky /dev/shm allows its owner (or root) only.
 */
static int unlink_chan(const struct shmkit_obj *o)
{
	int r = shmkit_chan_unlink(o->name);
	if ((r != -ENOTDIR && r != -ELOOP) || !(o->flags & SHMKIT_OBJ_DAMAGED))
		return r;
	return unlink(o->backing) == 0 ? 0 : -errno; /* the name, as inspect found it */
}

int cli_remove(const char *cmd, const struct shmkit_obj *o)
{
	char path[SHMKIT_OBJ_NAME_MAX + 2];
	int err;
	switch (o->kind) {
	case SHMKIT_KIND_SYSV:
		if (shmctl(o->id, IPC_RMID, NULL) == 0)
			return 0;
		err = errno; /* the explanation looks up names, which may change errno */
		explain_sysv(cmd, o, err);
		return -err;
	case SHMKIT_KIND_SHMKIT:
		if (rmid_shmkit(o) == 0)
			return 0;
		err = errno;
		if (err == ETIMEDOUT || err == EBADMSG || err == EPROTO)
			cli_ns_error(cmd, o->ns, -err);
		else
			explain_sysv(cmd, o, err);
		return -err;
	case SHMKIT_KIND_POSIX:
		snprintf(path, sizeof(path), "/%s", o->name);
		if (shm_unlink(path) == 0)
			return 0;
		err = errno;
		explain_posix(cmd, o, err);
		return -err;
	case SHMKIT_KIND_CHAN:
		err = -unlink_chan(o);
		if (!err)
			return 0;
		explain_chan(cmd, o, err);
		return -err;
	}
	cli_warn(cmd, "cannot remove an object of kind %s", cli_kind_name(o->kind));
	return -ENOTSUP;
}

void cli_describe(const struct shmkit_obj *o, char *buf, size_t len)
{
	if (o->kind == SHMKIT_KIND_POSIX)
		snprintf(buf, len, "posix %s", o->name);
	else if (o->kind == SHMKIT_KIND_CHAN)
		snprintf(buf, len, "chan %s", o->name);
	else if (o->kind == SHMKIT_KIND_SHMKIT)
		snprintf(buf, len, "shmkit %s shmid %d key 0x%08x", o->ns, o->id, (uint32_t)o->key);
	else
		snprintf(buf, len, "sysv shmid %d key 0x%08x", o->id, (uint32_t)o->key);
}

static int remove_all(struct cli_objs *objs, bool verbose)
{
	int failed = 0;
	for (size_t i = 0; i < objs->n; i++) {
		if (cli_remove("rm", &objs->v[i]) < 0) {
			failed++;
			continue;
		}
		if (verbose) {
			char d[400];
			cli_describe(&objs->v[i], d, sizeof(d));
			printf("removed %s\n", d);
		}
	}
	return failed ? EXIT_FAIL : EXIT_OK;
}

/* shmkit rm --ns NS: the namespace itself, with what is in it. */
static int remove_ns(const char *ns, bool verbose)
{
	struct shmkit_ns_info in;
	int r = shmkit_ns_destroy(ns);
	if (r == 0) {
		if (verbose)
			printf("removed namespace %s\n", ns);
		return EXIT_OK;
	}
	if (r == -EPERM && shmkit_ns_info(ns, &in) == 0) {
		char who[64];
		cli_user_name(in.owner, who, sizeof(who));
		cli_warn("rm",
		         "cannot remove namespace %s: it belongs to %s (uid %u); only its owner or "
		         "root may remove it; you are uid %u",
		         ns, who, in.owner, (unsigned)geteuid());
	} else if (r == -ENOENT) {
		cli_warn("rm", "namespace %s does not exist", ns);
	} else {
		cli_ns_error("rm", ns, r);
	}
	return EXIT_FAIL;
}

static bool already_listed(const struct cli_objs *objs, const struct shmkit_obj *o)
{
	for (size_t i = 0; i < objs->n; i++) {
		const struct shmkit_obj *p = &objs->v[i];
		if (p->kind == o->kind && p->id == o->id && !strcmp(p->name, o->name) &&
		    !strcmp(p->ns, o->ns))
			return true;
	}
	return false;
}

/* Resolve every operand first: a typo must not leave half of a command line done. */
static int resolve_all(char **specs, int n, const struct cli_filter *f, struct cli_objs *objs)
{
	objs->v = calloc((size_t)n, sizeof(*objs->v));
	if (!objs->v) {
		cli_warn("rm", "out of memory");
		return EXIT_FAIL;
	}
	int bad = 0, usage = 0;
	for (int i = 0; i < n; i++) {
		int r = cli_resolve(specs[i], f->kinds, f->ns, &objs->v[objs->n]);
		if (r == 0) {
			if (!already_listed(objs, &objs->v[objs->n]))
				objs->n++; /* an id and its key name one segment: remove it once */
			continue;
		}
		bad++;
		if (cli_resolve_error("rm", specs[i], r) == EXIT_USAGE)
			usage = 1;
	}
	if (bad) {
		cli_warn("rm", "nothing removed");
		return usage ? EXIT_USAGE : EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_rm(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"all", no_argument, NULL, 'a'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    CLI_FILTER_OPTS,
	    {NULL, 0, NULL, 0},
	};
	struct cli_filter f = {0};
	bool all = false, verbose = false, filtered = false;
	int c;
	while ((c = getopt_long(argc, argv, "avh" CLI_FILTER_SHORT, opts, NULL)) != -1) {
		int r = cli_filter_opt("rm", &f, c, optarg);
		if (r < 0)
			return EXIT_USAGE;
		if (r) {
			filtered = true;
			continue;
		}
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			help();
			return EXIT_OK;
		default:
			return cli_usage("rm", "invalid option '%s'", argv[optind - 1]);
		}
	}
	if (all && optind < argc)
		return cli_usage("rm", "--all takes no operands");
	if (!all && optind == argc && f.ns && !f.kinds && !f.has_uid && !f.nkeys && !f.nids &&
	    !f.nnames)
		return remove_ns(f.ns, verbose);
	if (!all && optind == argc)
		return cli_usage("rm", "nothing to remove (give ID|KEY|NAME, --all or --ns NS)");
	if (!all && (f.has_uid || f.nkeys || f.nids || f.nnames))
		return cli_usage("rm", "filters other than --kind/--ns need --all");
	(void)filtered;

	struct cli_objs objs = {0};
	int rc;
	if (all) {
		int r = cli_collect(&f, &objs);
		if (r < 0) {
			cli_warn("rm", "cannot list objects: %s", strerror(-r));
			return EXIT_FAIL;
		}
	} else if ((rc = resolve_all(argv + optind, argc - optind, &f, &objs)) != EXIT_OK) {
		cli_objs_free(&objs);
		return rc;
	}
	rc = remove_all(&objs, verbose);
	/* With --all, a namespace that could not be read was not emptied: say so, and fail. */
	if (cli_report_unreadable("rm", &objs))
		rc = EXIT_FAIL;
	cli_objs_free(&objs);
	return rc;
}
