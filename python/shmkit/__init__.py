# SPDX-License-Identifier: MIT
"""shmkit: shared-memory IPC for Linux, from Python.

Channels (shmkit.Channel): crash-safe message rings in shared memory between processes,
SPSC, MPMC or broadcast, copying or zero-copy, with timeouts and a pollable descriptor.
Synchronization (shmkit.Mutex, Condition, Semaphore, Event) in any shared buffer: a mutex
whose owner is killed is taken over by the next process, told so (owner_died).
Managed segments (shmkit.Heap): an allocator and objects found by name in one shared
object, viewed as memoryviews.
The C library's manuals, shmkit_chan(3), shmkit_sync(3) and shmkit_heap(3), have the full
semantics; docs/python.md this package's.
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
from .heap import Heap, HeapReport
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
    "Heap",
    "HeapReport",
    "Mutex",
    "Semaphore",
    "ChannelInfo",
    "ChannelOverflow",
    "Loan",
    "Message",
    "Peer",
]
