/* SPDX-License-Identifier: MIT */
/*
 * Liveness of a PI futex owner, asked of the futex code itself: FUTEX_TRYLOCK_PI on a private
 * probe word holding tid makes the kernel look the owner up exactly as it would for the real
 * lock word (attach_to_pi_owner / handle_exit_race in kernel/futex/pi.c): ESRCH once the owner
 * has passed its futex exit handling, EWOULDBLOCK while it lives. /proc or kill(tid, 0) would
 * call a zombie alive and disagree with the kernel's view of the lock word.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys/futex_owner.h"
#include "sys/sys.h"

int sk_futex_owner_dead(pid_t tid)
{
	if (tid <= 0 || (uint32_t)tid > FUTEX_TID_MASK)
		return -EINVAL;
	SK_ATOMIC(uint32_t) probe = (uint32_t)tid; /* stays on this stack: nobody else sees it */
	int r = sk_futex_trylock_pi(&probe);
	switch (r) {
	case -ESRCH:
		return 1;
	case -EAGAIN:  /* EWOULDBLOCK: a live task owns it */
	case -EDEADLK: /* tid is the caller */
		return 0;
	case 0:
		return -EPROTO; /* cannot happen: the probe names an owner */
	default:
		return r;
	}
}
