/* SPDX-License-Identifier: MIT */
/* shmkit/sysv.h — the System V shared-memory model in user space (part of <shmkit.h>). */
#ifndef SHMKIT_SYSV_H
#define SHMKIT_SYSV_H

#endif
