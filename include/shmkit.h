/* SPDX-License-Identifier: MIT */
/*
 * shmkit — shared-memory IPC for Linux.
 *
 * The one public header. Conventions:
 *  - public names start with shmkit_ / SHMKIT_;
 *  - functions return 0 (or a count) on success and -errno on failure, except the System V
 *    compatible entry points (shmkit_shmget & co.), which keep the libc signatures: they return
 *    -1 and set errno;
 *  - objects meant to live in shared memory (shmkit_mutex_t, ...) have a fixed size and layout,
 *    the same for 32- and 64-bit processes; process-local handles are opaque pointers.
 */
#ifndef SHMKIT_H
#define SHMKIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMKIT_VERSION_MAJOR 0
#define SHMKIT_VERSION_MINOR 1
#define SHMKIT_VERSION_PATCH 0

/* "MAJOR.MINOR.PATCH" of the library actually loaded. */
const char *shmkit_version(void);

#include "shmkit/seg.h"
#include "shmkit/sync.h"
#include "shmkit/sysv.h"
#include "shmkit/heap.h"
#include "shmkit/chan.h"
#include "shmkit/inspect.h"

#ifdef __cplusplus
}
#endif

#endif /* SHMKIT_H */
