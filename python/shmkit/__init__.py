# SPDX-License-Identifier: MIT
"""shmkit: shared-memory IPC for Linux, from Python.

Channels (shmkit.Channel): crash-safe message rings in shared memory between processes,
SPSC, MPMC or broadcast, copying or zero-copy, with timeouts and a pollable descriptor.
Synchronization (shmkit.Mutex, Condition, Semaphore, Event) in any shared buffer: a mutex
whose owner is killed is taken over by the next process, told so (owner_died).
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
from .sync import Condition, Event, Mutex, Semaphore

__version__ = "0.1.0"

__all__ = [
    "BROADCAST",
    "MPMC",
    "RECV",
    "SEND",
    "SPSC",
    "Channel",
    "Condition",
    "Event",
    "Mutex",
    "Semaphore",
    "ChannelInfo",
    "ChannelOverflow",
    "Loan",
    "Message",
    "Peer",
]
