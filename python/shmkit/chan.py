# SPDX-License-Identifier: MIT
"""Channels: crash-safe message rings in shared memory (shmkit_chan(3)).

    import shmkit
    shmkit.Channel.create("jobs", shmkit.MPMC, msg_size=256, capacity=1024)
    with shmkit.Channel("jobs", "send") as tx:
        tx.send(b"hello")
    with shmkit.Channel("jobs", "recv") as rx:
        print(rx.recv(timeout=1.0))

Errors are OSError with the C library's errno, and so Python's own subclasses of it:
BrokenPipeError (EPIPE: no peer left), TimeoutError, FileExistsError, FileNotFoundError,
PermissionError, BlockingIOError (EAGAIN); a broadcast receiver that missed messages gets
ChannelOverflow (EOVERFLOW) once, with .lost.
"""
import errno
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import List, Optional

from ._ffi import ffi, lib

SPSC = lib.SHMKIT_CHAN_SPSC
MPMC = lib.SHMKIT_CHAN_MPMC
BROADCAST = lib.SHMKIT_CHAN_BROADCAST
SEND = lib.SHMKIT_CHAN_SEND
RECV = lib.SHMKIT_CHAN_RECV

_KINDS = {"spsc": SPSC, "mpmc": MPMC, "broadcast": BROADCAST}
_ROLES = {"send": SEND, "recv": RECV}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}

# A blocking call waits in slices this long, so that the interpreter can run its signal
# handlers (KeyboardInterrupt) between them; a wait of the C library never sees them.
_SLICE = 0.1


class ChannelOverflow(OSError):
    """A broadcast receiver missed messages (overwritten before it read them).

    Raised once; the next receive goes on with the oldest message still in the ring.
    .lost is the receiver's cumulative count of missed messages."""

    def __init__(self, lost):
        super().__init__(errno.EOVERFLOW, os.strerror(errno.EOVERFLOW))
        self.lost = lost


def _error(r, what):
    return OSError(-r, "%s: %s" % (what, os.strerror(-r)))


def _check(r, what):
    if r < 0:
        raise _error(r, what)
    return r


def _name(name):
    if not isinstance(name, str):
        raise TypeError("a channel name is a str, not %s" % type(name).__name__)
    return name.encode()


def _deadline(timeout):
    """A CLOCK_MONOTONIC deadline timeout seconds from now, or None."""
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError("timeout must be >= 0 or None")
    return time.clock_gettime(time.CLOCK_MONOTONIC) + timeout


def _timespec(ts, at):
    sec = int(at)
    ts.tv_sec = sec
    ts.tv_nsec = min(int((at - sec) * 1e9), 999999999)
    return ts


@dataclass
class Peer:
    """A live participant of a channel."""

    pid: int
    role: str  # "send" or "recv"
    start: int  # its start time, clock ticks since boot
    comm: str
    count: int  # messages it sent or received
    lag: int  # receiver: messages behind the newest
    lost: int  # broadcast receiver: overwritten before it read them
    abandoned: int  # receiver: abandoned slots it skipped


@dataclass
class ChannelInfo:
    """What a channel holds and who uses it (shmkit_chan_stat)."""

    kind: str  # "spsc", "mpmc" or "broadcast"
    mode: int
    msg_size: int
    capacity: int
    depth: int  # messages queued (broadcast: in the ring)
    sent: int  # positions used since creation (abandoned ones included)
    abandoned: int  # slots skipped: their writer died or gave its loan back
    senders: int
    receivers: int  # live receivers (passive ones are not counted)
    owner: int
    ctime: int
    peers: List[Peer] = field(default_factory=list)


def _info(stat):
    """Call stat(info, peers, max) until every peer fits; a ChannelInfo."""
    n = lib.SHMKIT_CHAN_MAX_PEERS
    while True:
        info = ffi.new("struct shmkit_chan_info *")
        peers = ffi.new("struct shmkit_chan_peer[]", n)
        r = _check(stat(info, peers, n), "stat")
        if r <= n:
            break
        n = r
    return ChannelInfo(
        kind=_KIND_NAMES.get(info.kind, str(info.kind)),
        mode=info.mode,
        msg_size=info.msg_size,
        capacity=info.capacity,
        depth=info.depth,
        sent=info.sent,
        abandoned=info.abandoned,
        senders=info.senders,
        receivers=info.receivers,
        owner=info.owner,
        ctime=info.ctime,
        peers=[
            Peer(
                pid=p.pid,
                role="recv" if p.role == RECV else "send",
                start=p.start,
                comm=ffi.string(p.comm, 16).decode(errors="replace"),
                count=p.count,
                lag=p.lag,
                lost=p.lost,
                abandoned=p.abandoned,
            )
            for p in peers[0:r]
        ],
    )


class _View:
    """A slot lent out as a memoryview, for as long as the loan or peek lasts.

    The slot may be given back (and the ring unmapped, at close) only once no view of it is
    left: not ours, not a slice or memoryview made from it, not an array on it. Ours are
    released; whatever else was made from them keeps the buffer object that exports the slot
    alive, which a weak reference to it tells."""

    def __init__(self, chan, ptr, size, readonly):
        self._chan = chan
        self._ptr = ptr
        exporter = ffi.buffer(ptr, size)
        self._exporter = weakref.ref(exporter)
        self._base = memoryview(exporter)
        self._view = self._base.toreadonly() if readonly else self._base

    @property
    def buffer(self) -> memoryview:
        """The slot's bytes, in place (read-only for a received message). Valid until the
        slot is given back; so is anything made from it."""
        if self._view is None:
            raise ValueError("the slot was given back")
        return self._view

    def _drop(self):
        """Release our views; BufferError while any other view of the slot is alive."""
        if self._view is not None:
            try:
                self._view.release()
                self._base.release()
            except BufferError:
                raise BufferError(
                    "an array or buffer made from the slot is still in use: drop it first"
                ) from None
            self._view = self._base = None
        if self._exporter() is not None:
            raise BufferError(
                "a view made from the slot (a slice or memoryview of .buffer) is still in "
                "use: drop it first, the slot is about to be given back"
            )

    _done = False

    def _give_back(self, call):
        """Drop the views, then call(c) on the handle, once: its result."""
        if self._done:
            raise ValueError("the slot was given back already")
        self._drop()
        self._done = True
        with self._chan._lock:
            self._chan._lent = None
            return call(self._chan._handle())

    def __enter__(self):
        return self

    def __len__(self):
        return len(self.buffer)

    def __bytes__(self):
        return bytes(self.buffer)


class Loan(_View):
    """A slot to write a message into, in place: commit() publishes it, cancel() gives it
    back unpublished. As a context manager it commits on a normal exit (with .length
    bytes) and cancels on an exception."""

    def __init__(self, chan, ptr, size):
        super().__init__(chan, ptr, size, readonly=False)
        self.length = size

    def commit(self, length: Optional[int] = None):
        """Publish the first length bytes (default: .length)."""
        n = self.length if length is None else length
        if not 0 <= n <= self._chan.msg_size:
            raise ValueError("a message of 0..%d bytes, not %r" % (self._chan.msg_size, n))
        _check(self._give_back(lambda c: lib.shmkit_chan_commit(c, self._ptr, n)), "commit")

    def cancel(self):
        """Give the slot back: nothing is delivered."""
        _check(self._give_back(lambda c: lib.shmkit_chan_cancel(c, self._ptr)), "cancel")

    def __exit__(self, kind, value, tb):
        if self._done:
            return False
        if kind is None:
            self.commit()
        else:
            self.cancel()
        return False


class Message(_View):
    """A received message, read in place: release() frees its slot. As a context manager
    it releases on exit. A broadcast message may be overwritten while it is read: release
    then raises ChannelOverflow (what was read may be torn)."""

    def release(self):
        r = self._give_back(lambda c: lib.shmkit_chan_release(c, self._ptr))
        if r == -errno.EOVERFLOW:
            raise ChannelOverflow(self._chan._lost())
        _check(r, "release")

    def __exit__(self, kind, value, tb):
        if not self._done:
            self.release()
        return False


class Channel:
    """An open channel handle, as a sender ("send") or a receiver ("recv").

    The handle belongs to the process that opened it: a fork child opens its own (calls on
    an inherited one raise OSError EBADF). Threads may share a handle: its calls run one at
    a time; for parallel work, open a handle per thread."""

    @staticmethod
    def create(name: str, kind=SPSC, msg_size: int = 4096, capacity: int = 1024,
               mode: int = 0o600, exist_ok: bool = False):
        """Create channel name: kind SPSC, MPMC or BROADCAST (or "spsc", "mpmc",
        "broadcast"); messages of 0..msg_size bytes; capacity rounded up to a power of two;
        mode the permission bits of its backing object. FileExistsError unless exist_ok."""
        if isinstance(kind, str):
            if kind not in _KINDS:
                raise ValueError("unknown channel kind %r" % (kind,))
            kind = _KINDS[kind]
        cfg = ffi.new("struct shmkit_chan_config *")
        cfg.kind = kind
        cfg.mode = mode
        cfg.msg_size = msg_size
        cfg.capacity = capacity
        r = lib.shmkit_chan_create(_name(name), cfg)
        if r == -errno.EEXIST and exist_ok:
            return
        _check(r, "create %s" % name)

    @staticmethod
    def unlink(name: str):
        """Remove the name; open handles keep working."""
        _check(lib.shmkit_chan_unlink(_name(name)), "unlink %s" % name)

    @staticmethod
    def list() -> List[str]:
        """The names of the channels that exist."""
        n = 64
        while True:
            names = ffi.new("char[%d][129]" % n)
            r = _check(lib.shmkit_chan_list(names, n), "list")
            if r <= n:
                return sorted(ffi.string(names[i]).decode() for i in range(r))
            n = r

    @staticmethod
    def stat(name: str) -> ChannelInfo:
        """What channel name holds and who uses it, without opening it."""
        b = _name(name)
        return _info(lambda i, p, n: lib.shmkit_chan_stat(b, i, p, n))

    def __init__(self, name: str, role):
        r = _ROLES.get(role, role) if isinstance(role, str) else role
        if r not in (SEND, RECV):
            raise ValueError("role must be 'send' or 'recv', not %r" % (role,))
        out = ffi.new("shmkit_chan_t **")
        _check(lib.shmkit_chan_open(out, _name(name), r), "open %s" % name)
        self._c = out[0]
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._lent = None  # the Loan or Message out
        self._ts = ffi.new("struct timespec *")
        self.name = name
        self.role = "send" if r == SEND else "recv"
        try:
            i = self.info()
        except BaseException:
            lib.shmkit_chan_close(self._c)
            raise
        self.kind, self.msg_size, self.capacity = i.kind, i.msg_size, i.capacity
        self._buf = ffi.new("char[]", max(self.msg_size, 1))

    # -- the handle --

    def _handle(self):
        if self._c is None:
            raise ValueError("the channel is closed")
        return self._c

    def close(self):
        """Close the handle: a message peeked goes back to the ring, a loan is dropped.
        BufferError while a view of a lent slot is still in use."""
        with self._lock:
            if self._c is None:
                return
            if self._lent is not None:
                self._lent._drop()  # the mapping goes away: no view may outlive it
                self._lent = None
            c, self._c = self._c, None
            if os.getpid() == self._pid:
                lib.shmkit_chan_close(c)

    @property
    def closed(self) -> bool:
        return self._c is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except (BufferError, AttributeError):
            pass  # a view still in use keeps the mapping (or __init__ failed): left open

    def __repr__(self):
        state = "closed" if self._c is None else "open"
        return "<shmkit.Channel %r %s %s %s>" % (self.name, self.kind, self.role, state)

    def fileno(self) -> int:
        """A descriptor for select/poll/epoll, level-triggered: a receiver's is readable
        while a message (or a pending error) is there, a sender's writable while there is
        room. The handle owns it."""
        with self._lock:
            return _check(lib.shmkit_chan_fd(self._handle()), "fd")

    def set_spin(self, ns: int):
        """How long a waiting call spins before it sleeps, in nanoseconds (0..1e9)."""
        with self._lock:
            _check(lib.shmkit_chan_set_spin(self._handle(), ns), "set_spin")

    def info(self) -> ChannelInfo:
        """shmkit_chan_stat of this handle's channel."""
        with self._lock:
            c = self._handle()
            return _info(lambda i, p, n: lib.shmkit_chan_stat_handle(c, i, p, n))

    def _lost(self):
        for p in self.info().peers:
            if p.pid == os.getpid() and p.role == "recv":
                return p.lost
        return None

    # -- waiting --

    def _go(self, now, call, timeout, what):
        """now() (the try call) first, then, if it must wait, call(c, abs) until timeout."""
        with self._lock:
            r = now(self._handle())
        if r != -errno.EAGAIN:
            if r == -errno.EOVERFLOW:
                raise ChannelOverflow(self._lost())
            return _check(r, what)
        return self._wait(call, timeout, what)

    def _wait(self, call, timeout, what):
        """call(c, abs) with the deadline of timeout, in slices; returns its result >= 0."""
        end = _deadline(timeout)
        while True:
            slice_end = time.clock_gettime(time.CLOCK_MONOTONIC) + _SLICE
            last = end is not None and end <= slice_end
            with self._lock:
                r = call(self._handle(), _timespec(self._ts, end if last else slice_end))
            if r != -errno.ETIMEDOUT or last:
                break
        if r == -errno.EOVERFLOW:
            raise ChannelOverflow(self._lost())
        return _check(r, what)

    def _try(self, r, what):
        if r == -errno.EAGAIN:
            return None
        if r == -errno.EOVERFLOW:
            raise ChannelOverflow(self._lost())
        return _check(r, what)

    # -- copying --

    def send(self, data, timeout: Optional[float] = None):
        """Send data (bytes or any contiguous buffer), waiting for room up to timeout
        seconds (None: as long as it takes). TimeoutError; BrokenPipeError when the ring is
        full and no receiver is alive; OSError EMSGSIZE beyond msg_size."""
        with ffi.from_buffer(data) as p:
            n = len(p)
            self._go(lambda c: lib.shmkit_chan_trysend(c, p, n),
                     lambda c, ts: lib.shmkit_chan_send(c, p, n, ts), timeout, "send")

    def try_send(self, data) -> bool:
        """Send without waiting: False if there is no room."""
        with ffi.from_buffer(data) as p, self._lock:
            r = lib.shmkit_chan_trysend(self._handle(), p, len(p))
        return self._try(r, "send") is not None

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """The next message, waiting up to timeout seconds (None: as long as it takes).
        TimeoutError; BrokenPipeError when the ring is empty and every sender is gone;
        ChannelOverflow (broadcast) once after missed messages."""
        b, cap = self._buf, len(self._buf)
        n = self._go(lambda c: lib.shmkit_chan_tryrecv(c, b, cap),
                     lambda c, ts: lib.shmkit_chan_recv(c, b, cap, ts), timeout, "recv")
        return ffi.unpack(self._buf, n)

    def try_recv(self) -> Optional[bytes]:
        """The next message, or None if there is none now."""
        with self._lock:
            r = lib.shmkit_chan_tryrecv(self._handle(), self._buf, len(self._buf))
        n = self._try(r, "recv")
        return None if n is None else ffi.unpack(self._buf, n)

    def recv_into(self, buffer, timeout: Optional[float] = None) -> int:
        """Receive into a writable buffer; its length. OSError EMSGSIZE if the message does
        not fit (it stays queued)."""
        with ffi.from_buffer(buffer, require_writable=True) as p:
            n = len(p)
            return self._go(lambda c: lib.shmkit_chan_tryrecv(c, p, n),
                            lambda c, ts: lib.shmkit_chan_recv(c, p, n, ts), timeout, "recv")

    def __iter__(self):
        """Receive until every sender is gone (BrokenPipeError ends the iteration)."""
        while True:
            try:
                yield self.recv()
            except BrokenPipeError:
                return

    # -- zero copy --

    def loan(self, size: Optional[int] = None, timeout: Optional[float] = None) -> Loan:
        """A slot to write the next message into (size bytes, default msg_size)."""
        n = self.msg_size if size is None else size
        slot = ffi.new("void **")
        self._go(lambda c: lib.shmkit_chan_tryloan(c, n, slot),
                 lambda c, ts: lib.shmkit_chan_loan(c, n, slot, ts), timeout, "loan")
        return self._lend(Loan(self, slot[0], n))

    def try_loan(self, size: Optional[int] = None) -> Optional[Loan]:
        """A loan without waiting, or None if there is no room."""
        n = self.msg_size if size is None else size
        slot = ffi.new("void **")
        with self._lock:
            r = lib.shmkit_chan_tryloan(self._handle(), n, slot)
        return None if self._try(r, "loan") is None else self._lend(Loan(self, slot[0], n))

    def peek(self, timeout: Optional[float] = None) -> Message:
        """The next message, in place (read-only), until it is released."""
        msg = ffi.new("void **")
        n = self._go(lambda c: lib.shmkit_chan_trypeek(c, msg),
                     lambda c, ts: lib.shmkit_chan_peek(c, msg, ts), timeout, "peek")
        return self._lend(Message(self, msg[0], n, readonly=True))

    def try_peek(self) -> Optional[Message]:
        """peek without waiting, or None if there is no message now."""
        msg = ffi.new("void **")
        with self._lock:
            r = lib.shmkit_chan_trypeek(self._handle(), msg)
        n = self._try(r, "peek")
        return None if n is None else self._lend(Message(self, msg[0], n, readonly=True))

    def _lend(self, view):
        self._lent = view
        return view
