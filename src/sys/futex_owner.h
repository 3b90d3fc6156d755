/* SPDX-License-Identifier: MIT */
/* sys: whether the owner named in a PI futex word is still alive, in the kernel's own terms. */
#ifndef SHMKIT_SYS_FUTEX_OWNER_H
#define SHMKIT_SYS_FUTEX_OWNER_H

#include <sys/types.h>

/*
 * 1 if thread tid (in the caller's PID namespace) has finished its futex exit handling, i.e.
 * FUTEX_LOCK_PI on a word naming it would fail with ESRCH; 0 if it is alive (or is the
 * caller); -errno on error. A zombie counts as dead. Never blocks for long: while tid is
 * exiting the kernel waits for its exit to complete.
 */
int sk_futex_owner_dead(pid_t tid);

#endif
