/* SPDX-License-Identifier: MIT */
/* The interposer's parts (preload/): what preload.c's entry points call. */
#ifndef SHMKIT_PRELOAD_H
#define SHMKIT_PRELOAD_H

#include <stdio.h>
#include <sys/types.h>

#include "internal/atomic.h"
#include "internal/compiler.h"
#include "shmkit.h"

/* The kernel files the interposer answers for the namespace (procfs.c). */
enum {
	PL_VIEW_NONE,
	PL_VIEW_SYSVIPC,
	PL_VIEW_SHMMAX,
	PL_VIEW_SHMALL,
	PL_VIEW_SHMMNI,
	PL_VIEW_RMID_FORCED,
	PL_VIEW_NEXT_ID,
};
/* Which view path names (PL_VIEW_NONE: a path like any other). */
int pl_view_of(const char *path);
/* A descriptor for the view (open(2)'s flags and result). */
int pl_view_open(int view, int flags);
/* A stream for the view (fopen(3)'s mode and result). */
FILE *pl_view_fopen(int view, const char *mode);
/* If fd is a writable view: apply buf, set *ret as write(2) would, return 1. Else 0. */
int pl_view_write(int fd, const void *buf, size_t n, ssize_t *ret);
/* If fd is a writable view: *out = a stream that applies what it writes, return 1. Else 0. */
int pl_view_fdopen(int fd, const char *mode, FILE **out);

#endif
