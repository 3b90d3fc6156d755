/* SPDX-License-Identifier: MIT */
/* shmkit(1): what the subcommands share. */
#ifndef SHMKIT_CLI_H
#define SHMKIT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "shmkit.h"

/* Exit codes of every subcommand. */
#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* Subcommands: argv[0] is the subcommand's name. */
int cmd_ls(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_mk(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_limits(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_ipcs(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_heap(int argc, char **argv);

/* ---- messages ---- */
/* "shmkit CMD: ..." on stderr. */
void cli_warn(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A usage error: message plus a hint to --help; returns EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reset getopt for a subcommand's own argument vector. */
void cli_getopt_reset(void);

/* fn(arg), or -EFAULT if a shared mapping it reads is truncated under it (SIGBUS). */
int cli_guarded(int (*fn)(void *arg), void *arg);

/* Directory of this executable, without the trailing slash: 0 or -1. */
int cli_self_dir(char *buf, size_t len);
/* A regular file this process may read. */
bool cli_readable_file(const char *path);

/* ---- parsing (all return 0 or -EINVAL/-ERANGE) ---- */
/* Decimal, 0x hex or 0 octal, like ipcrm. */
int cli_parse_long(const char *s, long long min, long long max, long long *out);
/* A key: 0x hex, 0 octal or decimal, full 32-bit range (negative decimal allowed). */
int cli_parse_key(const char *s, int32_t *out);
/* A size with K/M/G/T/P/E (powers of 1024, also KiB...) or KB/MB/... (powers of 1000). */
int cli_parse_size(const char *s, uint64_t *out);
/* An octal mode 0..0777. */
int cli_parse_mode(const char *s, unsigned *out);
/* Comma list of sysv,posix,shmkit,heap,chan into a SHMKIT_KIND_* mask. */
int cli_parse_kinds(const char *s, uint32_t *out);
/* A user name or uid. */
int cli_parse_user(const char *s, uid_t *out);
/* A namespace name: 1..SHMKIT_NS_NAME_MAX of [A-Za-z0-9_-]. */
bool cli_ns_valid(const char *s);

/* ---- formatting ---- */
/* util-linux's size_to_human_string(SIZE_SUFFIX_1LETTER): "4K", "1.5M". */
void cli_human_size(uint64_t bytes, char *buf, size_t len);
void cli_user_name(uid_t uid, char *buf, size_t len);
void cli_group_name(gid_t gid, char *buf, size_t len);
/* "rw-r--r--" */
void cli_perms_string(unsigned mode, char *buf);
/* Flags as words (dest, locked, orphaned; channels: damaged, noaccess, incomplete), joined
 * by sep; "" if none. */
void cli_status_string(const struct shmkit_obj *o, const char *sep, char *buf, size_t len);
/* "2026-01-31 12:34:56", or "-" for 0. */
void cli_time_string(int64_t t, char *buf, size_t len);
const char *cli_kind_name(uint32_t kind);
/* JSON string literal with escapes. */
void cli_json_string(FILE *f, const char *s);

/* ---- selecting objects ---- */
#define CLI_MAX_MATCH 64
struct cli_filter {
	uint32_t kinds; /* 0 = all */
	bool has_uid;
	uid_t uid;
	size_t nkeys, nids, nnames;
	int32_t keys[CLI_MAX_MATCH];
	int32_t ids[CLI_MAX_MATCH];
	const char *names[CLI_MAX_MATCH]; /* fnmatch patterns */
	const char *ns;                   /* canonical ("default" is default.EUID), in ns_buf */
	char ns_buf[SHMKIT_NS_NAME_MAX + 1];
};
/* Long options every filtering subcommand accepts, and their handler. */
#define CLI_FILTER_OPTS                                                                            \
	{"kind", required_argument, NULL, 'k'}, {"owner", required_argument, NULL, 'u'},           \
	    {"key", required_argument, NULL, 'K'}, {"id", required_argument, NULL, 'I'},           \
	    {"name", required_argument, NULL, 'N'},                                                \
	{                                                                                          \
		"ns", required_argument, NULL, 'S'                                                 \
	}
#define CLI_FILTER_SHORT "k:u:"
/* Handle one filter option; 1 if c was one, 0 if not, -1 after printing a usage error. */
int cli_filter_opt(const char *cmd, struct cli_filter *f, int c, const char *arg);
extern const char cli_filter_help[];
bool cli_filter_match(const struct cli_filter *f, const struct shmkit_obj *o);

struct cli_objs {
	struct shmkit_obj *v;
	size_t n, cap;
	/* namespaces that could not be read (SHMKIT_OBJ_UNREADABLE entries: ns, id = -errno), and
	 * a kind SHMKIT_KIND_CHAN entry if the channels could not all be read */
	struct shmkit_obj *bad;
	size_t nbad, capbad;
};
/*
 * Every object the filter selects, in listing order. 0 or -errno. Namespaces are read by a
 * child, each waiting at most $SHMKIT_NS_TIMEOUT for a busy registry lock; those that could
 * not be read land in out->bad.
 */
int cli_collect(const struct cli_filter *f, struct cli_objs *out);
void cli_objs_free(struct cli_objs *o);
/* Say on stderr why each namespace in objs->bad could not be read; returns how many. */
size_t cli_report_unreadable(const char *cmd, const struct cli_objs *objs);
/* $SHMKIT_NS_TIMEOUT in seconds (default 5; 0: no limit); the library's waits follow it. */
double cli_ns_timeout(void);
/* Explain a namespace error (busy, damaged, not a member, squatted) on stderr. */
void cli_ns_error(const char *cmd, const char *ns, int err);

/*
 * Find the one object that ID|KEY|NAME names: "0x..." is a key, a decimal number an id,
 * anything else the name of a POSIX object or a channel (a leading '/' is allowed). kinds/ns
 * narrow the search.
 * Returns 0, -ENOENT (nothing), -EEXIST (several: ambiguous), -EINVAL (bad spelling) or
 * -EDOM (key 0, IPC_PRIVATE).
 */
int cli_resolve(const char *spec, uint32_t kinds, const char *ns, struct shmkit_obj *out);
/* Remove o, explaining a failure on stderr (cmd names the subcommand). 0 or -errno. */
int cli_remove(const char *cmd, const struct shmkit_obj *o);
/* "sysv shmid 5 key 0x0000abcd", "posix NAME"... */
void cli_describe(const struct shmkit_obj *o, char *buf, size_t len);

/* Print the resolve error for spec; returns the exit code. */
int cli_resolve_error(const char *cmd, const char *spec, int err);

/* ---- heaps (heap.c) ---- */
/* "heap" for a POSIX object that holds a shmkit heap, else the kind's name. */
const char *cli_obj_kind(const struct shmkit_obj *o);
/* The heap's figures (read once per listing), or NULL if o is no heap or cannot be read. */
const struct shmkit_heap_report *cli_heap_report(const struct shmkit_obj *o);
/* stat's lines for a heap: its figures and named objects. */
void cli_heap_stat(const struct shmkit_obj *o);

/* ---- channels (chan.c) ---- */
/* "spsc", "mpmc", "broadcast" (or "?") */
const char *cli_chan_type(uint32_t type);
/* A channel's figures (read once per listing), or NULL if o is no channel or cannot be read. */
const struct shmkit_chan_info *cli_chan_info(const struct shmkit_obj *o);
/* Why a channel cannot be read, in words ("" if it can). */
const char *cli_chan_problem(const struct shmkit_obj *o, int err);
/* stat's lines for a channel: its figures and live participants. */
void cli_chan_stat(const struct shmkit_obj *o, const struct shmkit_inspect_proc *procs, int nprocs);
/* stat --json's "peers" member for o: an array, or null for what is no (readable) channel. */
void cli_chan_json_peers(FILE *f, const struct shmkit_obj *o,
                         const struct shmkit_inspect_proc *procs, int nprocs);

#endif
