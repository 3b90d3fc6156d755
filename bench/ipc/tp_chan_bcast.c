/* SPDX-License-Identifier: MIT */
/*
 * shmkit broadcast channels (tp_chan.h), one receiver per direction. Round trip only: a
 * broadcast sender never waits for its receivers (the oldest message is overwritten), so a
 * one-way stream faster than its receiver loses messages by design, which the harness would
 * count as broken. One sender and two receivers are measured by bench/bench_chan.c.
 */
#include "tp_chan.h"

CHAN_DEFINE(chan_bcast_busy, "chan-bcast-busy",
            "shmkit broadcast channel (1 receiver here), copying, busy-polling; round trip only",
            21, SHMKIT_CHAN_BROADCAST, 0, BT_BUSY | BT_RT_ONLY, CHAN_COPY);
CHAN_DEFINE(chan_bcast_zc_busy, "chan-bcast-zc-busy",
            "shmkit broadcast channel (1 receiver here), zero-copy, busy-polling; round trip only",
            22, SHMKIT_CHAN_BROADCAST, CHAN_ZC, BT_BUSY | BT_ZEROCOPY | BT_RT_ONLY, CHAN_ZEROCOPY);
CHAN_DEFINE(
    chan_bcast_sleep, "chan-bcast-sleep",
    "shmkit broadcast channel (1 receiver here), copying, blocking recv, no spin; round trip only",
    23, SHMKIT_CHAN_BROADCAST, CHAN_SLEEP, BT_SLEEPING | BT_RT_ONLY, CHAN_COPY);
