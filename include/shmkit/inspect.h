/* SPDX-License-Identifier: MIT */
/*
 * shmkit/inspect.h — read-only views of every shared-memory object on the machine
 * (part of <shmkit.h>). Filled in by the inspection layer.
 */
#ifndef SHMKIT_INSPECT_H
#define SHMKIT_INSPECT_H

#endif
