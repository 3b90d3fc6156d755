/* SPDX-License-Identifier: MIT */
/*
 * Asymmetric fences across processes, with membarrier(2).
 *
 * A fast side (a channel's sender publishing, thousands of times a second) and a slow side
 * (a receiver about to sleep) need a store-load fence between them: the publisher stores,
 * then reads the sleepers' bits; the sleeper sets its bit, then reads what was published.
 * A full fence on every publication costs the fast side its pipelining (the store waits for
 * every earlier store to reach the cache). MEMBARRIER_CMD_GLOBAL_EXPEDITED lets the slow side
 * pay instead: it makes every CPU that runs a registered process execute a full barrier, so
 * the publisher may use a plain release store. The pairing:
 *
 *   publisher (registered)                 sleeper
 *   seq = t + 1         (release)          mask |= bit        (seq_cst)
 *   load mask           (seq_cst)          membarrier()       (a barrier on the publisher's CPU)
 *                                          load seq
 *
 * (a channel's SPSC slot seq or head: src/chan/ring.c, BARRIER_C4 in src/chan/chan.h).
 *
 * If the publisher's load of the mask came after the barrier on its CPU, it sees the bit
 * (set before the barrier was sent); if it came before, the barrier came after its store in
 * its program order and drained it, so the sleeper's load after membarrier() sees the seq.
 *
 * Registration belongs to an address space: a fork child is not registered, so a process
 * registers when it first needs it, again after a fork (sk_asym_register).
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal/atomic.h"
#include "sys/sys.h"

/* The process whose registration succeeded, or 0. Relaxed: it orders nothing; the kernel holds
 * the registration itself, and a race only registers twice (harmless). */
static SK_ATOMIC(pid_t) registered_pid;

static long membarrier(int cmd)
{
	return syscall(SYS_membarrier, cmd, 0, 0);
}

int sk_asym_register(void)
{
	pid_t self = sk_self_pid();
	if (sk_load_relaxed(&registered_pid) == self)
		return 1;
	long q = membarrier(MEMBARRIER_CMD_QUERY);
	if (q < 0 || !(q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) ||
	    !(q & MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) ||
	    membarrier(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED) < 0)
		return 0;
	sk_store_relaxed(&registered_pid, self);
	return 1;
}

int sk_asym_heavy(void)
{
	return membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) < 0 ? -errno : 0;
}
