/* SPDX-License-Identifier: MIT */
/*
 * shmkit SPSC channels (tp_chan.h): one sender and one receiver per direction, copying and
 * zero-copy, busy-polling and sleeping.
 */
#include "tp_chan.h"

CHAN_DEFINE(chan_spsc_busy, "chan-spsc-busy",
            "shmkit SPSC channel, copying send/recv, busy-polling trysend/tryrecv", 1,
            SHMKIT_CHAN_SPSC, 0, BT_BUSY, CHAN_COPY);
CHAN_DEFINE(chan_spsc_zc_busy, "chan-spsc-zc-busy",
            "shmkit SPSC channel, zero-copy, busy-polling tryloan/commit and trypeek/release", 2,
            SHMKIT_CHAN_SPSC, CHAN_ZC, BT_BUSY | BT_ZEROCOPY, CHAN_ZEROCOPY);
CHAN_DEFINE(chan_spsc_sleep, "chan-spsc-sleep",
            "shmkit SPSC channel, copying blocking send/recv (no spin: FUTEX_WAIT at once)", 3,
            SHMKIT_CHAN_SPSC, CHAN_SLEEP, BT_SLEEPING, CHAN_COPY);
CHAN_DEFINE(chan_spsc_zc_sleep, "chan-spsc-zc-sleep",
            "shmkit SPSC channel, zero-copy, blocking loan/peek (no spin: FUTEX_WAIT at once)", 4,
            SHMKIT_CHAN_SPSC, CHAN_ZC | CHAN_SLEEP, BT_SLEEPING | BT_ZEROCOPY, CHAN_ZEROCOPY);
