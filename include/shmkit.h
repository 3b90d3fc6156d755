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

/*
 * On a 32-bit ABI, shmkit's interface has a 64-bit time_t and off_t (struct timespec of the timed
 * waits, struct shmid_ds of shmkit_shmctl), as glibc's time64 interface does: one layout, good
 * past 2038. pkg-config and the CMake package add the flags; the libc's own shmctl for 32-bit
 * time_t callers is the interposer's business (libshmkit-sysv(7)).
 */
#if defined(__TIMESIZE) && __TIMESIZE == 32 && !defined(__USE_TIME_BITS64)
#error "shmkit needs a 64-bit time_t on 32-bit ABIs: -D_TIME_BITS=64 -D_FILE_OFFSET_BITS=64"
#endif

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
