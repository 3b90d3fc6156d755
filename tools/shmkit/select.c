/* SPDX-License-Identifier: MIT */
/* shmkit(1): choosing objects — filters, and ID|KEY|NAME resolution. */
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

const char cli_filter_help[] =
    "  -k, --kind LIST      only these kinds: sysv,posix,shmkit,heap,chan (comma-separated)\n"
    "  -u, --owner USER     only objects owned by USER (name or uid)\n"
    "      --key KEY        only this key (0x hex, 0 octal or decimal); repeatable\n"
    "      --id ID          only this id; repeatable\n"
    "      --name PATTERN   only POSIX objects, channels (or namespaces) matching PATTERN;\n"
    "                       repeatable\n"
    "      --ns NS          only segments of shmkit namespace NS\n";

int cli_filter_opt(const char *cmd, struct cli_filter *f, int c, const char *arg)
{
	long long v;
	switch (c) {
	case 'k':
		if (cli_parse_kinds(arg, &f->kinds) < 0) {
			cli_usage(cmd,
			          "invalid kind list '%s' (use sysv, posix, shmkit, heap, chan)",
			          arg);
			return -1;
		}
		return 1;
	case 'u':
		if (cli_parse_user(arg, &f->uid) < 0) {
			cli_usage(cmd, "unknown user '%s'", arg);
			return -1;
		}
		f->has_uid = true;
		return 1;
	case 'K':
		if (f->nkeys == CLI_MAX_MATCH || cli_parse_key(arg, &f->keys[f->nkeys]) < 0) {
			cli_usage(cmd, "invalid key '%s'", arg);
			return -1;
		}
		f->nkeys++;
		return 1;
	case 'I':
		if (f->nids == CLI_MAX_MATCH || cli_parse_long(arg, 0, INT32_MAX, &v) < 0) {
			cli_usage(cmd, "invalid id '%s'", arg);
			return -1;
		}
		f->ids[f->nids++] = (int32_t)v;
		return 1;
	case 'N':
		if (f->nnames == CLI_MAX_MATCH || !*arg) {
			cli_usage(cmd, "invalid name '%s'", arg);
			return -1;
		}
		f->names[f->nnames++] = arg[0] == '/' ? arg + 1 : arg;
		return 1;
	case 'S':
		if (shmkit_ns_canonical(arg, f->ns_buf, sizeof(f->ns_buf)) < 0) {
			cli_usage(cmd, "invalid namespace name '%s'", arg);
			return -1;
		}
		f->ns = f->ns_buf;
		return 1;
	}
	return 0;
}

static bool in_list(const int32_t *v, size_t n, int32_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

bool cli_filter_match(const struct cli_filter *f, const struct shmkit_obj *o)
{
	uint32_t kind = o->kind | (o->flags & SHMKIT_OBJ_HEAP ? SHMKIT_KIND_HEAP : 0);
	if (f->kinds && !(f->kinds & kind))
		return false;
	if (f->has_uid && o->uid != f->uid)
		return false;
	bool named_only = o->kind == SHMKIT_KIND_POSIX || o->kind == SHMKIT_KIND_CHAN;
	if (f->nkeys && (named_only || !in_list(f->keys, f->nkeys, o->key)))
		return false;
	if (f->nids && (named_only || !in_list(f->ids, f->nids, o->id)))
		return false;
	if (f->ns && (o->kind != SHMKIT_KIND_SHMKIT || strcmp(o->ns, f->ns)))
		return false;
	if (f->nnames) {
		const char *name = o->kind == SHMKIT_KIND_SHMKIT ? o->ns : o->name;
		size_t i;
		for (i = 0; i < f->nnames; i++)
			if (*name && fnmatch(f->names[i], name, 0) == 0)
				break;
		if (i == f->nnames)
			return false;
	}
	return true;
}

struct collect {
	const struct cli_filter *f;
	struct cli_objs *out;
};

static int push(struct shmkit_obj **v, size_t *n, size_t *cap, const struct shmkit_obj *o)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 32;
		struct shmkit_obj *nv = realloc(*v, c * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = *o;
	return 0;
}

static int collect_one(const struct shmkit_obj *o, void *arg)
{
	struct collect *c = arg;
	struct cli_objs *v = c->out;
	if (o->flags & SHMKIT_OBJ_UNREADABLE)
		return push(&v->bad, &v->nbad, &v->capbad, o);
	if (c->f && !cli_filter_match(c->f, o))
		return 0;
	return push(&v->v, &v->n, &v->cap, o);
}

double cli_ns_timeout(void)
{
	const char *e = getenv("SHMKIT_NS_TIMEOUT");
	char *end;
	double t = e ? strtod(e, &end) : 5.0;
	return e && (end == e || *end || t < 0 || t > 86400) ? 5.0 : t;
}

void cli_ns_error(const char *cmd, const char *ns, int err)
{
	struct shmkit_ns_info in;
	char who[64];
	switch (err) {
	case -ETIMEDOUT:
		cli_warn(cmd,
		         "namespace %s is busy: a member has held its registry lock for over %gs "
		         "(SHMKIT_NS_TIMEOUT); try again, or find the member with 'shmkit stat'",
		         ns, cli_ns_timeout());
		return;
	case -EBADMSG:
	case -EPROTO:
		cli_warn(cmd,
		         "namespace %s is damaged (%s): its registry is not one this shmkit reads; "
		         "its owner can remove it with 'shmkit rm --ns %s'",
		         ns, strerror(-err), ns);
		return;
	case -EACCES:
		if (shmkit_ns_info(ns, &in) == 0 && (in.flags & SHMKIT_NS_SQUATTED)) {
			cli_user_name(in.owner, who, sizeof(who));
			cli_warn(cmd,
			         "namespace %s cannot be used: %s belongs to %s (uid %u), "
			         "who took its name first",
			         ns, in.path, who, in.owner);
			return;
		}
		cli_warn(cmd, "namespace %s: permission denied (not a member)", ns);
		return;
	}
	cli_warn(cmd, "namespace %s: %s", ns, strerror(-err));
}

size_t cli_report_unreadable(const char *cmd, const struct cli_objs *objs)
{
	for (size_t i = 0; i < objs->nbad; i++) {
		if (objs->bad[i].kind == SHMKIT_KIND_CHAN)
			cli_warn(cmd,
			         "channels could not all be listed: a ring shrank while it was "
			         "read (its owner truncated it); try again");
		else
			cli_ns_error(cmd, objs->bad[i].ns, objs->bad[i].id);
	}
	return objs->nbad;
}

static int send_obj(const struct shmkit_obj *o, void *arg)
{
	const char *p = (const char *)o;
	for (size_t done = 0; done < sizeof(*o);) {
		ssize_t n = write(*(int *)arg, p + done, sizeof(*o) - done);
		if (n < 0 && errno != EINTR)
			return -errno;
		done += n > 0 ? (size_t)n : 0;
	}
	return 0;
}

/* Marks, in the child's stream, the start of the next namespace (for the parent's report). */
#define READING 0x80000000u

/* The child: every selected namespace, each preceded by a mark; one it cannot read is sent
 * as an unreadable entry. */
static int stream_ns(const struct cli_filter *f, int fd)
{
	char(*names)[SHMKIT_NS_NAME_MAX + 1] = NULL;
	int n = 1;
	if (!f || !f->ns) {
		n = shmkit_ns_list(NULL, 0);
		if (n < 0)
			return n;
		names = calloc((size_t)n + 16, sizeof(*names));
		if (!names)
			return -ENOMEM;
		int cap = n + 16;
		n = shmkit_ns_list(names, (size_t)cap);
		if (n > cap)
			n = cap; /* more made meanwhile: the next listing has them */
	}
	for (int i = 0; i < n; i++) {
		struct shmkit_obj mark = {.kind = SHMKIT_KIND_SHMKIT, .flags = READING};
		const char *ns = names ? names[i] : f->ns;
		snprintf(mark.ns, sizeof(mark.ns), "%s", ns);
		send_obj(&mark, &fd);
		struct shmkit_inspect_filter lf = {.kinds = SHMKIT_KIND_SHMKIT, .ns = ns};
		int r = shmkit_inspect_list(&lf, send_obj, &fd);
		if (r < 0 && r != -ENOENT && (r != -EACCES || !names)) {
			mark.flags = SHMKIT_OBJ_UNREADABLE;
			mark.id = r;
			send_obj(&mark, &fd);
		}
	}
	free(names);
	return 0;
}

/*
 * A namespace is read under its registry lock, which a busy member may hold for long, and from
 * a mapping that a member could truncate. The namespaces are therefore read by a child that
 * streams the objects back, the library waiting at most the timeout for each lock; should the
 * child fall silent for longer than that, the listing goes on without the rest, and says which
 * namespace it was reading. The child is not killed (it may hold a lock then): it finishes on
 * its own and dies writing to the closed pipe.
 */
static int collect_ns(const struct cli_filter *f, struct collect *c, double timeout)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		close(p[0]);
		signal(SIGPIPE, SIG_DFL);
		_exit(stream_ns(f, p[1]) < 0 ? 1 : 0);
	}
	close(p[1]);
	struct shmkit_obj o, reading = {.kind = SHMKIT_KIND_SHMKIT};
	size_t have = 0;
	/* Silence allowed: one lock wait, and some time to read what the lock guards. */
	int64_t quiet_ms = timeout > 0 ? (int64_t)(timeout * 1000) + 2000 : -1;
	int r = 0;
	for (;;) {
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		if (poll(&pfd, 1, (int)quiet_ms) == 0) {
			reading.flags = SHMKIT_OBJ_UNREADABLE;
			reading.id = -ETIMEDOUT;
			collect_one(&reading, c);
			break;
		}
		ssize_t n = read(p[0], (char *)&o + have, sizeof(o) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			waitpid(pid, NULL, 0);
			break;
		}
		have += (size_t)n;
		if (have < sizeof(o))
			continue;
		have = 0;
		if (o.flags == READING)
			reading = o;
		else if ((r = collect_one(&o, c)) < 0)
			break;
	}
	close(p[0]);
	return r;
}

struct list_call {
	const struct shmkit_inspect_filter *f;
	struct collect *c;
};

static int list_objects(void *arg)
{
	struct list_call *l = arg;
	return shmkit_inspect_list(l->f, collect_one, l->c);
}

int cli_collect(const struct cli_filter *f, struct cli_objs *out)
{
	uint32_t kinds = f && f->kinds ? f->kinds : SHMKIT_KIND_ALL;
	struct shmkit_inspect_filter lf = {.kinds = kinds & ~SHMKIT_KIND_SHMKIT};
	struct collect c = {f, out};
	struct list_call call = {&lf, &c};
	memset(out, 0, sizeof(*out));
	while (waitpid(-1, NULL, WNOHANG) > 0)
		; /* namespace readers abandoned by an earlier listing (watch) */
	/* Channels come last in this walk, and a fault there (a ring truncated under a read
	 * through a mapping) ends the walk, which the listing then says is incomplete. */
	int r = lf.kinds ? cli_guarded(list_objects, &call) : 0;
	if (r == -EFAULT) {
		struct shmkit_obj bad = {
		    .kind = SHMKIT_KIND_CHAN, .flags = SHMKIT_OBJ_UNREADABLE, .id = -EFAULT};
		r = collect_one(&bad, &c);
	}
	if (r >= 0 && (kinds & SHMKIT_KIND_SHMKIT)) {
		int n = collect_ns(f, &c, cli_ns_timeout());
		r = n < 0 && !lf.kinds ? n : r;
	}
	if (r < 0)
		cli_objs_free(out);
	return r < 0 ? r : 0;
}

void cli_objs_free(struct cli_objs *o)
{
	free(o->v);
	free(o->bad);
	o->v = o->bad = NULL;
	o->n = o->cap = o->nbad = o->capbad = 0;
}

int cli_resolve(const char *spec, uint32_t kinds, const char *ns, struct shmkit_obj *out)
{
	struct cli_filter f = {.kinds = kinds, .ns = ns};
	if (!spec || !*spec)
		return -EINVAL;
	if (spec[0] >= '0' && spec[0] <= '9') {
		bool is_key = spec[0] == '0' && (spec[1] == 'x' || spec[1] == 'X');
		long long v;
		if (is_key) {
			if (cli_parse_key(spec, &f.keys[0]) < 0)
				return -EINVAL;
			if (f.keys[0] == 0)
				return -EDOM; /* IPC_PRIVATE names no one segment */
			f.nkeys = 1;
		} else {
			if (cli_parse_long(spec, 0, INT32_MAX, &v) < 0)
				return -EINVAL;
			f.ids[0] = (int32_t)v;
			f.nids = 1;
		}
	} else {
		f.names[0] = spec[0] == '/' ? spec + 1 : spec;
		if (!*f.names[0] || strchr(f.names[0], '/'))
			return -EINVAL;
		if (!f.kinds)
			f.kinds = SHMKIT_KIND_POSIX | SHMKIT_KIND_CHAN;
		/* heaps are POSIX objects */
		f.kinds &= SHMKIT_KIND_POSIX | SHMKIT_KIND_HEAP | SHMKIT_KIND_CHAN;
		if (!f.kinds)
			return -EINVAL;
		f.nnames = 1;
	}
	struct cli_objs objs;
	int r = cli_collect(&f, &objs);
	if (r < 0)
		return r;
	cli_report_unreadable("shmkit", &objs);
	/* fnmatch would accept a pattern: a name names exactly one object. */
	size_t found = 0;
	for (size_t i = 0; i < objs.n; i++) {
		if (f.nnames && strcmp(objs.v[i].name, f.names[0]))
			continue;
		if (!found)
			*out = objs.v[i];
		found++;
	}
	cli_objs_free(&objs);
	return found == 1 ? 0 : found ? -EEXIST : -ENOENT;
}

int cli_resolve_error(const char *cmd, const char *spec, int err)
{
	switch (err) {
	case -EINVAL:
		return cli_usage(cmd, "'%s' is not an id, a key (0x...), a POSIX name or a channel",
		                 spec);
	case -EDOM:
		return cli_usage(cmd,
		                 "key 0 is IPC_PRIVATE, which names no single segment; use its id");
	case -ENOENT:
		cli_warn(cmd, "no shared-memory object matches '%s'", spec);
		return EXIT_FAIL;
	case -EEXIST:
		cli_warn(cmd, "'%s' matches objects of several kinds; choose one with --kind",
		         spec);
		return EXIT_FAIL;
	}
	cli_warn(cmd, "cannot list objects: %s", strerror(-err));
	return EXIT_FAIL;
}
