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
PermissionError; a broadcast receiver that missed messages gets ChannelOverflow (EOVERFLOW)
once, with .lost. The try_* calls answer None (False) instead of waiting.
"""
import errno
import gc
import os
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import List, Optional

from ._ffi import ffi, lib
from ._util import _SLICE, _check, _count, _deadline, _error, _timespec, _writable
from ._util import _name as _any_name

SPSC = lib.SHMKIT_CHAN_SPSC
MPMC = lib.SHMKIT_CHAN_MPMC
BROADCAST = lib.SHMKIT_CHAN_BROADCAST
SEND = lib.SHMKIT_CHAN_SEND
RECV = lib.SHMKIT_CHAN_RECV

_KINDS = {"spsc": SPSC, "mpmc": MPMC, "broadcast": BROADCAST}
_ROLES = {"send": SEND, "recv": RECV}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}

# Open handles: a fork child gets fresh locks for them (another thread of the parent may
# have held one at the fork, and would never release the child's copy).
_open = weakref.WeakSet()


def _after_fork_in_child():
    for ch in list(_open):
        ch._lock = threading.RLock()
        ch._depth, ch._closing = 0, False


os.register_at_fork(after_in_child=_after_fork_in_child)


class ChannelOverflow(OSError):
    """A broadcast receiver missed messages (overwritten before it read them).

    Raised once; the next receive goes on with the oldest message still in the ring.
    .lost is the receiver's cumulative count of missed messages, or None where the process
    cannot tell its record from another's (several receiving handles of the channel in one
    process, or a passive receiver, which has none)."""

    def __init__(self, lost=None):
        super().__init__(errno.EOVERFLOW, os.strerror(errno.EOVERFLOW))
        self.lost = lost

    def __reduce__(self):
        return (ChannelOverflow, (self.lost,))


def _name(name):
    return _any_name(name, "a channel name")


def _result(c, r):
    return r


def _sent(c, r):
    return True


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

    The slot may be given back (and the ring unmapped, at close) only once nothing shows
    it: not our views, not a slice or memoryview made from them, not an array on them. An
    array holds an export of our view, which then refuses to be released; a slice or a
    memoryview shares our view's managed buffer, which keeps a reference to the buffer
    object exporting the slot until the last view on it is released: ours released, that
    object's reference count says whether anything else still shows the slot. The handle
    keeps that object too (and a weak reference to us), so that it can tell after we are
    gone."""

    def __init__(self, chan, ptr, size, readonly):
        self._chan = chan
        self._ptr = ptr
        self._size = size
        self._readonly = readonly
        self._exporter = ffi.buffer(ptr, size)
        self._done = False
        self._show()

    def _show(self):
        self._base = memoryview(self._exporter)
        self._view = self._base.toreadonly() if self._readonly else self._base

    @property
    def buffer(self) -> memoryview:
        """The slot's bytes, in place (read-only for a received message, as a const
        pointer is in C: memoryview.obj reaches the writable buffer). Valid until the slot
        is given back; so is anything made from it."""
        if self._view is None:
            raise ValueError("the slot was given back")
        return self._view

    def _unshow(self):
        """Release our views; BufferError while anything else shows the slot (and .buffer
        is then a fresh view: one taken before is released)."""
        if self._view is not None:
            try:
                self._view.release()
                self._base.release()
            except BufferError:
                raise BufferError(
                    "an array or buffer made from the slot is still in use: drop it first"
                ) from None
            self._view = self._base = None
        # Ours released, the exporter is referenced by us, by the handle while it records
        # us, by getrefcount's argument, and once more by each managed buffer still alive.
        if sys.getrefcount(self._exporter) > 2 + (self._chan._lent_exp is self._exporter):
            self._show()
            raise BufferError(
                "a view made from the slot (a slice or memoryview of .buffer) is still in "
                "use: drop it first, the slot is about to be given back"
            )

    def _give_back(self, call, what):
        """Once: release the views, then call(c) on the handle; its result."""
        chan = self._chan

        def back(c):
            if self._done:
                raise ValueError("the slot was given back already")
            self._unshow()
            self._done = True  # before the call: our views are gone, it is not ours now
            if chan._lent_exp is self._exporter:
                chan._forget()
            return call(c)

        r = chan._run(back)
        if r == -errno.EOVERFLOW:
            raise ChannelOverflow(chan._lost())
        return _check(r, what)

    def __enter__(self):
        return self

    def __len__(self):
        return len(self.buffer)

    def __bytes__(self):
        return bytes(self.buffer)


class Loan(_View):
    """A slot to write a message into, in place: commit() publishes it, cancel() gives it
    back unpublished. As a context manager it commits on a normal exit (with .length
    bytes) and cancels on an exception; dropped unfinished, it is cancelled."""

    def __init__(self, chan, ptr, size):
        super().__init__(chan, ptr, size, readonly=False)
        self.length = size

    def commit(self, length: Optional[int] = None):
        """Publish the first length bytes (default: .length), at most the size loaned."""
        n = _count("length", self.length if length is None else length, self._size)
        self._give_back(lambda c: lib.shmkit_chan_commit(c, self._ptr, n), "commit")

    def cancel(self):
        """Give the slot back: nothing is delivered."""
        self._give_back(lambda c: lib.shmkit_chan_cancel(c, self._ptr), "cancel")

    def __del__(self):  # dropped unfinished: nothing half-written is delivered
        try:
            if not self._done and self._chan._c is not None:
                self.cancel()
        except Exception:
            pass  # still shown elsewhere, the handle mid-call or gone: its next loan sees

    def __exit__(self, kind, value, tb):
        if not self._done:
            if kind is None:
                self.commit()
            else:
                self.cancel()
        return False


class Message(_View):
    """A received message, read in place: release() frees its slot. As a context manager
    it releases on exit. Dropped unreleased (an exception before release(), say), it is
    not lost: the handle's next receive delivers it again, and a close gives it back to the
    ring. A broadcast message may be overwritten while it is read: release then raises
    ChannelOverflow (what was read may be torn)."""

    def release(self):
        self._give_back(lambda c: lib.shmkit_chan_release(c, self._ptr), "release")

    def __exit__(self, kind, value, tb):
        if not self._done:
            self.release()
        return False


class Channel:
    """An open channel handle, as a sender ("send") or a receiver ("recv").

    The handle belongs to the process that opened it: a fork child opens its own (calls on
    an inherited one raise OSError EBADF). Threads may share a handle: its calls run one at
    a time (a call waits while another thread's is in progress, a blocking one for up to
    one wait slice); for parallel work, open a handle per thread."""

    @staticmethod
    def create(name: str, kind=SPSC, msg_size: int = 4096, capacity: int = 1024,
               mode: int = 0o600, exist_ok: bool = False):
        """Create channel name: kind SPSC, MPMC or BROADCAST (or "spsc", "mpmc",
        "broadcast"); messages of 0..msg_size bytes; capacity rounded up to a power of two
        (MPMC: 2 at least); mode the permission bits of its backing object. FileExistsError
        unless exist_ok."""
        k = _KINDS.get(kind) if isinstance(kind, str) else kind
        if type(k) is not int or k not in (SPSC, MPMC, BROADCAST):
            raise ValueError("unknown channel kind %r" % (kind,))
        cfg = ffi.new("struct shmkit_chan_config *")
        cfg.kind = k
        cfg.mode = _count("mode", mode, 0o7777)
        cfg.msg_size = _count("msg_size", msg_size, 2**64 - 1)
        cfg.capacity = _count("capacity", capacity, 2**64 - 1)
        if not cfg.msg_size or not cfg.capacity:
            raise ValueError("msg_size and capacity must be at least 1")
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
            names = ffi.new("char[][129]", n)
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
        self._c = None  # first: __del__ of a handle that failed to open has nothing to do
        if isinstance(role, str) and role in _ROLES:
            r = _ROLES[role]
        elif role in (SEND, RECV) and type(role) is int:
            r = role
        else:
            raise ValueError("role must be 'send' or 'recv', not %r" % (role,))
        b = _name(name)
        out = self._opening = ffi.new("shmkit_chan_t **")  # __del__ closes what it holds
        _check(lib.shmkit_chan_open(out, b, r), "open %s" % name)
        c = out[0]
        try:
            i = _info(lambda info, p, n: lib.shmkit_chan_stat_handle(c, info, p, n))
            self._buf = ffi.new("char[]", max(i.msg_size, 1))
            self._ts = ffi.new("struct timespec *")
        except BaseException:
            self._opening = None
            lib.shmkit_chan_close(c)
            raise
        self.name = name
        self.role = "send" if r == SEND else "recv"
        self.kind, self.msg_size, self.capacity = i.kind, i.msg_size, i.capacity
        self._pid = os.getpid()
        # Re-entrant, so that a signal handler's call in the middle of one of ours is seen
        # (_depth) instead of waiting for ever: a close is done once ours ends, anything
        # else refused.
        self._lock = threading.RLock()
        self._depth, self._closing = 0, False
        self._lent = None  # a weak reference to the Loan or Message out
        self._lent_exp = None  # and the buffer object exporting its slot, its address
        self._lent_ptr = self._lent_kind = None  # and whether it is a loan or a peek
        self._spin, self._spin_off = lib.SHMKIT_CHAN_SPIN_DEFAULT, 0
        self._c = c
        self._opening = None
        _open.add(self)

    def __copy__(self):
        raise TypeError("a channel handle cannot be copied: open another")

    def __deepcopy__(self, memo):
        raise TypeError("a channel handle cannot be copied: open another")

    def __reduce__(self):
        raise TypeError("a channel handle cannot be pickled: open the channel by its name")

    # -- the handle --

    def _handle(self):
        if self._c is None:
            raise ValueError("the channel is closed")
        return self._c

    def close(self):
        """Close the handle: a message peeked goes back to the ring, a loan is dropped.
        BufferError while a view of a lent slot is still in use. In a fork child, frees
        the child's copy of an inherited handle, and nothing else. From a signal handler
        that interrupted a call on the handle, the close is done once that call ends (which
        then raises ValueError)."""
        with self._lock:
            if self._depth:
                self._closing = True
                return
            self._depth = 1  # a signal handler's call meanwhile is refused, as in _run
            try:
                self._close_now()
            finally:
                self._depth = 0

    def _close_now(self):
        if self._c is None:
            return
        view = self._lent() if self._lent is not None else None  # alive, or dropped
        if view is not None:
            view._unshow()  # the mapping goes away: no view may outlive it
            view._done = True
        elif self._lent_exp is not None and sys.getrefcount(self._lent_exp) > 2:
            raise BufferError(
                "a view made from a lent slot is still in use: drop it first, the ring is "
                "about to be unmapped"
            )
        self._forget()
        c, self._c = self._c, None
        _open.discard(self)
        lib.shmkit_chan_close(c)

    def _run(self, fn, done=None):
        """fn(c) on the handle, under its lock, never inside another of its calls: a call
        from a signal handler that interrupted one is a RuntimeError (a close is put off
        until the interrupted call ends, which then raises ValueError). With done: (r,
        done(c, r)) for a result r >= 0, (r, None) for an error, done made within the call."""
        with self._lock:
            if self._depth:
                raise RuntimeError(
                    "a call on a channel handle from inside another of its calls (a signal "
                    "handler's?)"
                )
            self._depth = 1
            try:
                c = self._c
                if c is None:
                    raise ValueError("the channel is closed")
                r = fn(c)
                if done is None:
                    return r
                return r, (done(c, r) if r >= 0 else None)
            finally:
                if self._closing:  # still marked busy while the put-off close runs
                    self._closing = False
                    try:
                        self._close_now()
                    finally:
                        self._depth = 0
                    raise ValueError("the channel was closed during the call")
                self._depth = 0

    def _lend(self, view):
        self._lent = weakref.ref(view)
        self._lent_exp, self._lent_ptr = view._exporter, view._ptr
        self._lent_kind = "loan" if isinstance(view, Loan) else "peek"
        return view

    def _forget(self):
        self._lent = self._lent_exp = self._lent_ptr = self._lent_kind = None

    def _orphan(self, kind):
        """The slot of a Loan or Message (kind) dropped unfinished, once nothing shows it
        any more: its address; else None."""
        if self._lent_kind != kind or self._lent() is not None:
            return None
        if sys.getrefcount(self._lent_exp) > 2:  # ours, getrefcount's: nothing else
            return None
        return self._lent_ptr

    # The try calls, direct while nothing is lent out (the common case; deciding before the
    # lock is safe: a peek or loan made meanwhile by another thread makes the C call -EBUSY,
    # as it should, and one given back meanwhile makes _orphan find nothing).
    def _recv_now(self, b, cap):
        if self._lent_kind:
            return lambda c: self._try_recv(c, b, cap)
        return lambda c: lib.shmkit_chan_tryrecv(c, b, cap)

    def _peek_now(self, msg):
        if self._lent_kind:
            return lambda c: self._try_peek(c, msg)
        return lambda c: lib.shmkit_chan_trypeek(c, msg)

    def _send_now(self, p, n):
        if self._lent_kind:
            return lambda c: self._try_send(c, p, n)
        return lambda c: lib.shmkit_chan_trysend(c, p, n)

    def _try_send(self, c, p, n):
        """trysend, once a loan a dropped Loan held is given back."""
        self._cancel_orphan(c)
        return lib.shmkit_chan_trysend(c, p, n)

    def _loan_now(self, n, slot):
        if self._lent_kind:
            return lambda c: self._try_loan(c, n, slot)
        return lambda c: lib.shmkit_chan_tryloan(c, n, slot)

    def _try_peek(self, c, msg):
        """trypeek, or the message a dropped Message held, again."""
        p = self._orphan("peek")
        if p is None:
            return lib.shmkit_chan_trypeek(c, msg)
        n = len(self._lent_exp)
        self._forget()
        msg[0] = p
        return n

    def _try_recv(self, c, buf, cap):
        """tryrecv into buf, or the message a dropped Message held, copied and released."""
        p = self._orphan("peek")
        if p is None:
            return lib.shmkit_chan_tryrecv(c, buf, cap)
        n = len(self._lent_exp)
        if n > cap:
            return -errno.EMSGSIZE
        ffi.memmove(buf, p, n)
        self._forget()
        r = lib.shmkit_chan_release(c, p)
        return n if r >= 0 else r

    def _try_loan(self, c, n, slot):
        """tryloan, once a loan a dropped Loan held is given back."""
        self._cancel_orphan(c)
        return lib.shmkit_chan_tryloan(c, n, slot)

    def _cancel_orphan(self, c):
        o = self._orphan("loan")
        if o is not None:
            self._forget()
            lib.shmkit_chan_cancel(c, o)

    @property
    def closed(self) -> bool:
        return self._c is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        o = getattr(self, "_opening", None)
        if o is not None and o[0] != ffi.NULL:  # an open interrupted before it was done
            self._opening = None
            lib.shmkit_chan_close(o[0])
            return
        try:
            self.close()
        except BufferError:
            # Something made from a lent slot outlives the handle: the handle (and the
            # ring's mapping) goes when that does. Not at exit: the process ends anyway,
            # and what runs then may still read it.
            c, self._c = self._c, None
            exp, self._lent_exp = self._lent_exp, None
            try:
                weakref.finalize(exp, lib.shmkit_chan_close, c).atexit = False
            except Exception:
                pass  # the interpreter is shutting down: the process ends the handle
        except Exception:
            pass

    def __repr__(self):
        state = "closed" if self._c is None else "open"
        return "<shmkit.Channel %r %s %s %s>" % (self.name, self.kind, self.role, state)

    def fileno(self) -> int:
        """A descriptor for select/poll/epoll, level-triggered: a receiver's is readable
        while a message (or a pending error) is there, a sender's writable while there is
        room. The handle owns it."""
        return _check(self._run(lib.shmkit_chan_fd), "fd")

    def set_spin(self, ns: int):
        """How long a waiting call spins before it sleeps, in nanoseconds (0..1e9), once
        per call."""
        ns = _count("spin", ns, lib.SHMKIT_CHAN_SPIN_MAX)

        def apply(c):
            self._spin = ns  # waiters past their first slice get it when the last is done
            return 0 if self._spin_off else lib.shmkit_chan_set_spin(c, ns)

        _check(self._run(apply), "set_spin")

    # A waiter past its first slice waits without spinning; the handle's spin comes back
    # when the last such waiter of its threads is done.
    def _spin_pause(self, c):
        self._spin_off += 1
        return lib.shmkit_chan_set_spin(c, 0) if self._spin_off == 1 else 0

    def _spin_resume(self, c):
        self._spin_off -= 1
        return lib.shmkit_chan_set_spin(c, self._spin) if not self._spin_off else 0

    def info(self) -> ChannelInfo:
        """shmkit_chan_stat of this handle's channel."""
        return self._run(lambda c: _info(lambda i, p, n: lib.shmkit_chan_stat_handle(c, i, p, n)))

    def _lost(self):
        """This receiver's lost count, if its record is the only receiving one of the
        process."""
        try:
            mine = [p for p in self.info().peers if p.pid == os.getpid() and p.role == "recv"]
        except (OSError, ValueError, RuntimeError):
            return None
        return mine[0].lost if len(mine) == 1 else None

    # -- every call: the try call, then, if it may, the wait --

    def _op(self, now, wait, timeout, what, done):
        """now(c): the try call; on EAGAIN, if wait is given, wait(c, abs) in slices until
        timeout (checked first). A result >= 0 goes through done(c, r) within the call, so
        that what it yields is made before any other call (or a close) on the handle. A
        try call's EAGAIN is None."""
        end = _deadline(timeout) if wait is not None else None
        r, v = self._run(now, done)
        if r == -errno.EBUSY and self._lent_exp is not None:
            # The view out, or a view made from it, may be garbage in a reference cycle, not
            # yet collected: its slot is the handle's to take back (_orphan) once it is.
            gc.collect()
            r, v = self._run(now, done)
        if r >= 0:
            return v
        if r == -errno.EAGAIN and wait is not None:
            spun = False  # the handle's spin is spent once per call, not once per slice
            try:
                while True:
                    slice_end = time.clock_gettime(time.CLOCK_MONOTONIC) + _SLICE
                    last = end is not None and end <= slice_end
                    at = end if last else slice_end
                    r, v = self._run(lambda c: wait(c, _timespec(self._ts, at)), done)
                    if r >= 0:
                        return v
                    if r != -errno.ETIMEDOUT or last:
                        break
                    if not spun and self._spin:
                        spun = True
                        self._run(self._spin_pause)
                    time.sleep(0)  # a thread waiting for the handle may have it now
            finally:
                if spun:
                    try:
                        self._run(self._spin_resume)
                    except (ValueError, RuntimeError):
                        pass  # closed meanwhile
        if r == -errno.EAGAIN and wait is None:
            return None
        if r == -errno.EOVERFLOW:
            raise ChannelOverflow(self._lost())
        raise _error(r, what)

    # -- copying --

    def send(self, data, timeout: Optional[float] = None):
        """Send data (bytes or any contiguous buffer), waiting for room up to timeout
        seconds (None: as long as it takes). TimeoutError; BrokenPipeError when the ring is
        full and no receiver is alive; OSError EMSGSIZE beyond msg_size."""
        with ffi.from_buffer(data) as p:
            n = len(p)
            self._op(self._send_now(p, n),
                     lambda c, ts: lib.shmkit_chan_send(c, p, n, ts), timeout, "send",
                     _result)

    def try_send(self, data) -> bool:
        """Send without waiting: False if there is no room."""
        with ffi.from_buffer(data) as p:
            n = len(p)
            return self._op(self._send_now(p, n), None, None, "send", _sent) is not None

    def _unpack(self, c, n):
        return ffi.unpack(self._buf, n)

    def recv(self, timeout: Optional[float] = None) -> bytes:
        """The next message, waiting up to timeout seconds (None: as long as it takes).
        TimeoutError; BrokenPipeError when the ring is empty and every sender is gone;
        ChannelOverflow (broadcast) once after missed messages."""
        b, cap = self._buf, len(self._buf)
        return self._op(self._recv_now(b, cap),
                        lambda c, ts: lib.shmkit_chan_recv(c, b, cap, ts), timeout, "recv",
                        self._unpack)

    def try_recv(self) -> Optional[bytes]:
        """The next message, or None if there is none now."""
        b, cap = self._buf, len(self._buf)
        return self._op(self._recv_now(b, cap), None, None, "recv",
                        self._unpack)

    def recv_into(self, buffer, timeout: Optional[float] = None) -> int:
        """Receive into a writable buffer; its length. OSError EMSGSIZE if the message does
        not fit (it stays queued)."""
        with _writable(buffer) as p:
            n = len(p)
            return self._op(self._recv_now(p, n),
                            lambda c, ts: lib.shmkit_chan_recv(c, p, n, ts), timeout, "recv",
                            _result)

    def __iter__(self):
        """Receive until every sender is gone (BrokenPipeError ends the iteration; a
        ChannelOverflow does not: iterate on after it)."""
        return self

    def __next__(self) -> bytes:
        try:
            return self.recv()
        except BrokenPipeError:
            raise StopIteration from None

    # -- zero copy: the view is made and recorded under the lock, with the call --

    def _lender(self, out, make):
        return lambda c, r: self._lend(make(out[0], r))

    def loan(self, size: Optional[int] = None, timeout: Optional[float] = None) -> Loan:
        """A slot to write the next message into (size bytes, default msg_size)."""
        n = _count("size", self.msg_size if size is None else size, 2**64 - 1)
        slot = ffi.new("void **")
        return self._op(self._loan_now(n, slot),
                        lambda c, ts: lib.shmkit_chan_loan(c, n, slot, ts), timeout, "loan",
                        self._lender(slot, lambda p, r: Loan(self, p, n)))

    def try_loan(self, size: Optional[int] = None) -> Optional[Loan]:
        """A loan without waiting, or None if there is no room."""
        n = _count("size", self.msg_size if size is None else size, 2**64 - 1)
        slot = ffi.new("void **")
        return self._op(self._loan_now(n, slot), None, None, "loan",
                        self._lender(slot, lambda p, r: Loan(self, p, n)))

    def peek(self, timeout: Optional[float] = None) -> Message:
        """The next message, in place (read-only), until it is released."""
        msg = ffi.new("void **")
        return self._op(self._peek_now(msg),
                        lambda c, ts: lib.shmkit_chan_peek(c, msg, ts), timeout, "peek",
                        self._lender(msg, lambda p, r: Message(self, p, r, True)))

    def try_peek(self) -> Optional[Message]:
        """peek without waiting, or None if there is no message now."""
        msg = ffi.new("void **")
        return self._op(self._peek_now(msg), None, None, "peek",
                        self._lender(msg, lambda p, r: Message(self, p, r, True)))
