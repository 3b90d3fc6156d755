# SPDX-License-Identifier: MIT
"""shmkit: shared-memory IPC for Linux, from Python.

Channels (shmkit.Channel): crash-safe message rings in shared memory between processes,
SPSC, MPMC or broadcast, copying or zero-copy, with timeouts and a pollable descriptor.
The C library's manual, shmkit_chan(3), has the full semantics; docs/python.md this
package's.
"""
from .chan import (
    BROADCAST,
    MPMC,
    RECV,
    SEND,
    SPSC,
    Channel,
    ChannelInfo,
    ChannelOverflow,
    Loan,
    Message,
    Peer,
)

__version__ = "0.1.0"

__all__ = [
    "BROADCAST",
    "MPMC",
    "RECV",
    "SEND",
    "SPSC",
    "Channel",
    "ChannelInfo",
    "ChannelOverflow",
    "Loan",
    "Message",
    "Peer",
]
