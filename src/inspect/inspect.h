/* SPDX-License-Identifier: MIT */
/* inspect: what the per-kind walkers share. Internal. */
#ifndef SHMKIT_INSPECT_INTERNAL_H
#define SHMKIT_INSPECT_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "internal/compiler.h"
#include "shmkit.h"

/* One mapping line of /proc/PID/maps: the inode and the path (" (deleted)" kept). */
typedef int (*sk_maps_fn)(pid_t pid, uint64_t ino, const char *path, void *arg);
/*
 * Call fn for every file-backed mapping of every readable process (pid 0) or of one process.
 * Lines that do not parse are skipped. A non-zero return from fn stops the scan.
 */
int sk_insp_scan_maps(pid_t pid, sk_maps_fn fn, void *arg);
/*
 * Parsers of untrusted /proc text, exposed for tests. A maps line yields its inode and path
 * (only lines whose path starts with '/'; the line is modified: its newline is cut); a
 * /proc/sysvipc/shm line fills o (and its creator's liveness). 0 or -EPROTO.
 */
int sk_insp_parse_maps_line(char *line, uint64_t *ino, const char **path);
int sk_insp_parse_shm_line(const char *line, struct shmkit_obj *o);

/* Call fn(pid, arg) for every numeric entry of /proc. */
int sk_insp_each_pid(int (*fn)(pid_t pid, void *arg), void *arg);

/*
 * A walker of one kind: calls fn for each object, returns how many it visited or -errno; a
 * non-zero return of fn stops it and is stored in *stop.
 */
typedef int (*sk_insp_walker)(const char *ns, shmkit_inspect_fn fn, void *arg, int *stop);
int sk_insp_sysv_walk(const char *ns, shmkit_inspect_fn fn, void *arg, int *stop);
int sk_insp_posix_walk(const char *ns, shmkit_inspect_fn fn, void *arg, int *stop);
int sk_insp_chan_walk(const char *ns, shmkit_inspect_fn fn, void *arg, int *stop);
int sk_insp_ns_walk(const char *ns, shmkit_inspect_fn fn, void *arg, int *stop);
/* Attachers of a shmkit segment, from its namespace's registry. */
int sk_insp_ns_attachers(const struct shmkit_obj *o, struct shmkit_inspect_proc *out, size_t max);
/* A namespace's limits (its overrides, else the kernel's) and usage. */
int sk_insp_ns_limits(const char *ns, struct shmkit_inspect_limits *l);

/* 1 if the file name in dirfd starts with a heap's header (magic and a version), else 0. */
int sk_insp_heap_probe(int dirfd, const char *name);

/* Sets SHMKIT_OBJ_CREATOR_ALIVE and comm from o->cpid/o->ctime (PID-reuse safe). */
void sk_insp_creator(struct shmkit_obj *o);
/* Command line of pid, arguments joined by spaces, truncated to len. */
int sk_insp_cmdline(pid_t pid, char *buf, size_t len);

#endif
