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
    "  -k, --kind LIST      only these kinds: sysv,posix,shmkit (comma-separated)\n"
    "  -u, --owner USER     only objects owned by USER (name or uid)\n"
    "      --key KEY        only this key (0x hex, 0 octal or decimal); repeatable\n"
    "      --id ID          only this id; repeatable\n"
    "      --name PATTERN   only POSIX objects (or namespaces) matching PATTERN; repeatable\n"
    "      --ns NS          only segments of shmkit namespace NS\n";

int cli_filter_opt(const char *cmd, struct cli_filter *f, int c, const char *arg)
{
	long long v;
	switch (c) {
	case 'k':
		if (cli_parse_kinds(arg, &f->kinds) < 0) {
			cli_usage(cmd, "invalid kind list '%s' (use sysv, posix, shmkit)", arg);
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
		if (!cli_ns_valid(arg)) {
			cli_usage(cmd, "invalid namespace name '%s'", arg);
			return -1;
		}
		f->ns = arg;
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
	if (f->kinds && !(f->kinds & o->kind))
		return false;
	if (f->has_uid && o->uid != f->uid)
		return false;
	if (f->nkeys && (o->kind == SHMKIT_KIND_POSIX || !in_list(f->keys, f->nkeys, o->key)))
		return false;
	if (f->nids && (o->kind == SHMKIT_KIND_POSIX || !in_list(f->ids, f->nids, o->id)))
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

static int collect_one(const struct shmkit_obj *o, void *arg)
{
	struct collect *c = arg;
	if (c->f && !cli_filter_match(c->f, o))
		return 0;
	struct cli_objs *v = c->out;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 32;
		struct shmkit_obj *nv = realloc(v->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = *o;
	return 0;
}

/* Seconds to wait for shmkit namespaces ($SHMKIT_NS_TIMEOUT, default 5; 0: no limit). */
static double ns_timeout(void)
{
	const char *e = getenv("SHMKIT_NS_TIMEOUT");
	char *end;
	double t = e ? strtod(e, &end) : 5.0;
	return e && (end == e || *end || t < 0 || t > 86400) ? 5.0 : t;
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

static int64_t ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A namespace is read under its registry lock, which a busy member may hold for long. The
 * namespaces are therefore read by a child that streams the objects back; past the deadline
 * the listing goes on without the rest. The child is not killed (it may hold the lock then):
 * it finishes on its own and dies writing to the closed pipe.
 */
static int collect_ns(const struct cli_filter *f, struct collect *c, double timeout)
{
	struct shmkit_inspect_filter lf = {.kinds = SHMKIT_KIND_SHMKIT, .ns = f ? f->ns : NULL};
	if (timeout <= 0)
		return shmkit_inspect_list(&lf, collect_one, c);
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
		_exit(shmkit_inspect_list(&lf, send_obj, &p[1]) < 0 ? 1 : 0);
	}
	close(p[1]);
	struct shmkit_obj o;
	size_t have = 0;
	int64_t deadline = ms_now() + (int64_t)(timeout * 1000);
	int r = 0;
	for (;;) {
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		int64_t left = deadline - ms_now();
		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			fprintf(stderr,
			        "shmkit: shmkit namespaces did not answer within %gs (a member "
			        "holds a registry lock); the listing lacks some of them\n",
			        timeout);
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
		if (have == sizeof(o)) {
			have = 0;
			if ((r = collect_one(&o, c)) < 0)
				break;
		}
	}
	close(p[0]);
	return r;
}

int cli_collect(const struct cli_filter *f, struct cli_objs *out)
{
	uint32_t kinds = f && f->kinds ? f->kinds : SHMKIT_KIND_ALL;
	struct shmkit_inspect_filter lf = {.kinds = kinds & ~SHMKIT_KIND_SHMKIT};
	struct collect c = {f, out};
	memset(out, 0, sizeof(*out));
	while (waitpid(-1, NULL, WNOHANG) > 0)
		; /* namespace readers abandoned by an earlier listing (watch) */
	int r = lf.kinds ? shmkit_inspect_list(&lf, collect_one, &c) : 0;
	if (r >= 0 && (kinds & SHMKIT_KIND_SHMKIT)) {
		int n = collect_ns(f, &c, ns_timeout());
		r = n < 0 && !lf.kinds ? n : r;
	}
	if (r < 0)
		cli_objs_free(out);
	return r < 0 ? r : 0;
}

void cli_objs_free(struct cli_objs *o)
{
	free(o->v);
	o->v = NULL;
	o->n = o->cap = 0;
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
			f.kinds = SHMKIT_KIND_POSIX;
		f.kinds &= SHMKIT_KIND_POSIX;
		if (!f.kinds)
			return -EINVAL;
		f.nnames = 1;
	}
	struct cli_objs objs;
	int r = cli_collect(&f, &objs);
	if (r < 0)
		return r;
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
		return cli_usage(cmd, "'%s' is not an id, a key (0x...) or a POSIX name", spec);
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
