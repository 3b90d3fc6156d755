/* SPDX-License-Identifier: MIT */
/*
 * shmkit MPMC channels (tp_chan.h), carrying the harness's two-party traffic (one sender and
 * one receiver per direction): what MPMC's generality costs against SPSC. Two senders and two
 * receivers on one channel are measured by bench/bench_chan.c.
 */
#include "tp_chan.h"

CHAN_DEFINE(chan_mpmc_busy, "chan-mpmc-busy",
            "shmkit MPMC channel (1 sender, 1 receiver here), copying, busy-polling", 11,
            SHMKIT_CHAN_MPMC, 0, BT_BUSY, CHAN_COPY);
CHAN_DEFINE(chan_mpmc_zc_busy, "chan-mpmc-zc-busy",
            "shmkit MPMC channel (1 sender, 1 receiver here), zero-copy, busy-polling receiver", 12,
            SHMKIT_CHAN_MPMC, CHAN_ZC, BT_BUSY | BT_ZEROCOPY, CHAN_ZEROCOPY);
CHAN_DEFINE(chan_mpmc_sleep, "chan-mpmc-sleep",
            "shmkit MPMC channel (1 sender, 1 receiver here), copying, blocking send/recv, no spin",
            13, SHMKIT_CHAN_MPMC, CHAN_SLEEP, BT_SLEEPING, CHAN_COPY);
