# SPDX-License-Identifier: MIT
"""Process-shared synchronization (shmkit_sync(3)) in any shared buffer.

Each object lives in 16 bytes of memory shared between processes: an mmap.mmap (anonymous
ones are shared with fork children; a private or copy-on-write mapping, or a bytearray, is
accepted but shared with nobody), a multiprocessing.shared_memory.SharedMemory's buf, a
mapped file. The Python object holds the buffer (an mmap cannot be closed under it) and
names the 16 bytes at an offset; several processes (or several objects) naming the same
bytes are the same lock.

    import mmap, shmkit
    mem = mmap.mmap(-1, 4096)                  # shared with the children forked later
    lock = shmkit.Mutex(mem, 0, create=True)   # once, by one process
    with lock:
        ...                                    # in any process that names those bytes

The mutex is robust: when its owner dies holding it, the next acquire succeeds with
owner_died set, and the protected state must be repaired and consistent() called before
release(), or the mutex becomes unrecoverable.
"""
import errno
import signal
import threading
import time

from ._ffi import ffi, lib
from ._util import _SLICE, _check, _count, _deadline, _timespec, _writable

SIZE = lib.SHMKIT_SYNC_OBJ_SIZE


def _at_least_zero(timeout):
    """threading's Semaphore, Event and Condition: a negative timeout is no wait at all."""
    if timeout is not None and not isinstance(timeout, bool):
        try:
            if timeout < 0:
                return 0
        except TypeError:
            pass  # _deadline says what is wrong with it
    return timeout


class _Obj:
    """16 bytes at offset of a shared buffer, typed as the C object kind. Calls in flight
    are counted: the buffer is let go of (close) only when none is."""

    _ctype = None

    def __init__(self, buffer, offset=0):
        self._keep = None
        off = _count("offset", offset)
        keep = _writable(buffer)
        if off + SIZE > len(keep):
            ffi.release(keep)
            raise ValueError("offset %d: the object's %d bytes are beyond the buffer's %d"
                             % (off, SIZE, len(keep)))
        p = ffi.cast(self._ctype + " *", ffi.cast("char *", keep) + off)
        if int(ffi.cast("uintptr_t", p)) % 8:
            ffi.release(keep)
            raise ValueError("offset %d: the object must be 8-byte aligned in memory" % off)
        self._calls = 0
        self._count = threading.RLock()  # re-entrant: a signal handler may close meanwhile
        self._keep, self._p = keep, p

    def __enter__(self):  # for those with acquire() and release()
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    def _begin(self):
        """A call starts: the object's pointer (ValueError once closed)."""
        with self._count:
            if self._keep is None:
                raise ValueError("the object is closed")
            self._calls += 1
            return self._p

    def _end(self):
        with self._count:
            self._calls -= 1

    def _run(self, fn, *others):
        """fn(p, *their pointers) as one call in flight on this object and the others."""
        p = self._begin()
        done = []
        try:
            for o in others:
                done.append(o._begin())
            return fn(p, *done)
        finally:
            for o in others[: len(done)]:
                o._end()
            self._end()

    def close(self):
        """Let go of the buffer (the object in it stays as it is, for the others).
        BufferError while a call on the object is in progress in another thread."""
        with self._count:
            if self._keep is None:
                return
            if self._calls:
                raise BufferError("a call on the object is in progress: it is using the buffer")
            keep, self._keep = self._keep, None
            ffi.release(keep)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def _wait(self, p, now, timed, blocking, end):
        """now(p) once; if it would block, timed(p, abs) in slices until end. The C result
        (0 or -errno); -EAGAIN/-EBUSY/-ETIMEDOUT mean not acquired."""
        r = now(p)
        if r not in (-errno.EAGAIN, -errno.EBUSY) or not blocking:
            return r
        ts = ffi.new("struct timespec *")  # the call's own: the C wait reads it again
        while True:
            slice_end = time.clock_gettime(time.CLOCK_MONOTONIC) + _SLICE
            last = end is not None and end <= slice_end
            r = timed(p, _timespec(ts, end if last else slice_end))
            if r != -errno.ETIMEDOUT or last:
                return r


def _no_timeout_without_blocking(blocking, timeout):
    if not blocking and timeout not in (None, -1):
        raise ValueError("can't specify a timeout for a non-blocking call")


class Mutex(_Obj):
    """A robust, error-checking, process-shared mutex, owned by a thread.

    acquire() -> True, or False when not blocking (or at the timeout: -1 or None for none)
    and it is held. When its owner died holding it, acquire() takes it over and sets
    owner_died: repair what it protects, call consistent(), then release(); released
    without consistent(), it becomes unrecoverable (acquire() then raises OSError
    ENOTRECOVERABLE for everyone)."""

    _ctype = "shmkit_mutex_t"

    def __init__(self, buffer, offset=0, create=False):
        super().__init__(buffer, offset)
        self.owner_died = False
        if create:
            _check(lib.shmkit_mutex_init(self._p), "mutex init")

    def acquire(self, blocking=True, timeout=None) -> bool:
        _no_timeout_without_blocking(blocking, timeout)
        end = None if timeout in (None, -1) else _deadline(timeout)
        trying = []  # set once this call may take the mutex: what to give back if it raises
        try:
            return self._run(lambda p: self._acquire(p, blocking, end, trying))
        except BaseException:
            while trying:  # until done: a handler may raise again in the middle of it
                try:
                    self._give_back_interrupted(trying[0])
                    break
                except BaseException:
                    pass  # the first exception is the one the caller gets
            raise

    def _acquire(self, p, blocking, end, trying):
        if lib.shmkit_mutex_owned(p):
            if not blocking:
                return False  # as threading.Lock's acquire(False) by its holder
            raise RuntimeError("this thread holds the mutex already")
        trying.append(p)
        r = self._wait(p, lib.shmkit_mutex_trylock, lib.shmkit_mutex_timedlock, blocking, end)
        if r in (-errno.EBUSY, -errno.ETIMEDOUT):
            return False
        self.owner_died = r == -errno.EOWNERDEAD
        if not self.owner_died:
            _check(r, "mutex lock")
        return True

    def _give_back_interrupted(self, p):
        """acquire() raised (a signal handler, as the lock returned or later in the call):
        the caller never learns it has the mutex, so it is given back; one taken over from
        a dead owner stays held (released unrepaired it would be lost to everyone),
        owner_died set. Signals wait meanwhile (one already pending may still raise here,
        and the caller tries again)."""
        old = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
        try:
            st = lib.shmkit_mutex_owned(p)
            if st == 1:
                lib.shmkit_mutex_unlock(p)
            elif st == 2:
                self.owner_died = True
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def consistent(self):
        """Mark the state a dead owner left as repaired (after acquire set owner_died)."""
        r = self._run(lib.shmkit_mutex_consistent)
        if r == -errno.EPERM:
            raise RuntimeError("consistent() by a thread that does not hold the mutex")
        _check(r, "mutex consistent")
        self.owner_died = False

    def owned(self) -> bool:
        """Does this thread hold the mutex?"""
        return bool(self._run(lib.shmkit_mutex_owned))

    def release(self):
        r = self._run(lib.shmkit_mutex_unlock)
        if r == -errno.EPERM:
            raise RuntimeError("release of a mutex this thread does not hold")
        self.owner_died = False
        _check(r, "mutex unlock")


class Condition(_Obj):
    """A process-shared condition variable, used with a Mutex (any process's object naming
    the same mutex). wait() releases the mutex, waits for a notify, and takes it again; it
    returns False at the timeout, and may wake spuriously (at least every 100 ms, so that
    signal handlers run): wait in a predicate loop, or use wait_for()."""

    _ctype = "shmkit_cond_t"

    def __init__(self, buffer, offset=0, create=False):
        super().__init__(buffer, offset)
        if create:
            _check(lib.shmkit_cond_init(self._p), "cond init")

    def wait(self, mutex: Mutex, timeout=None) -> bool:
        """Release mutex, wait for a notify, take mutex again: False at the timeout."""
        end = _deadline(_at_least_zero(timeout))
        if mutex.owner_died:
            raise RuntimeError("the mutex is inconsistent: call consistent() first (a wait "
                               "would release it unrepaired, and it would be lost)")
        slice_end = time.clock_gettime(time.CLOCK_MONOTONIC) + _SLICE
        last = end is not None and end <= slice_end
        ts = _timespec(ffi.new("struct timespec *"), end if last else slice_end)
        r = self._run(lambda p, m: lib.shmkit_cond_timedwait(p, m, ts), mutex)
        if r == -errno.EOWNERDEAD:
            mutex.owner_died = True
            return True
        if r == -errno.EPERM:
            raise RuntimeError("wait() by a thread that does not hold the mutex")
        if r == -errno.ETIMEDOUT:
            # A slice that ended is a spurious wake-up (a notify may have come as the wait
            # was taking the mutex back); only the caller's deadline is a timeout.
            return not last
        _check(r, "cond wait")
        return True

    def wait_for(self, mutex: Mutex, predicate, timeout=None):
        """wait() until predicate() is true (checked first); its last value."""
        end = _deadline(_at_least_zero(timeout))
        result = predicate()
        while not result:
            left = None
            if end is not None:
                left = end - time.clock_gettime(time.CLOCK_MONOTONIC)
                if left <= 0:
                    break
            self.wait(mutex, left)
            result = predicate()
        return result

    def notify(self):
        _check(self._run(lib.shmkit_cond_signal), "cond signal")

    def notify_all(self):
        _check(self._run(lib.shmkit_cond_broadcast), "cond broadcast")


class Semaphore(_Obj):
    """A process-shared counting semaphore. Semaphore(buffer, offset, value) with a value
    initializes it (once, by one process); without, it names an initialized one."""

    _ctype = "shmkit_sem_t"

    def __init__(self, buffer, offset=0, value=None):
        v = None if value is None else _count("value", value, lib.SHMKIT_SEM_VALUE_MAX)
        super().__init__(buffer, offset)
        if v is not None:
            _check(lib.shmkit_sem_init(self._p, v), "sem init")

    def acquire(self, blocking=True, timeout=None) -> bool:
        _no_timeout_without_blocking(blocking, timeout)
        end = _deadline(_at_least_zero(timeout))
        r = self._run(lambda p: self._wait(p, lib.shmkit_sem_trywait, lib.shmkit_sem_timedwait,
                                           blocking, end))
        if r in (-errno.EAGAIN, -errno.ETIMEDOUT):
            return False
        _check(r, "sem wait")
        return True

    def release(self, n=1):
        """Add n (>= 1) to the value, waking as many waiters: ValueError, and nothing
        added, if the value would pass SHMKIT_SEM_VALUE_MAX (checked first; other processes
        posting meanwhile can still make part of n fail). Not atomic: n posts, one by one."""
        n = _count("n", n, lib.SHMKIT_SEM_VALUE_MAX)
        if n < 1:
            raise ValueError("n must be one or more")
        if n > lib.SHMKIT_SEM_VALUE_MAX - self.value:
            raise ValueError("the semaphore's value would exceed %d" % lib.SHMKIT_SEM_VALUE_MAX)

        def post(p):
            for _ in range(n):
                r = lib.shmkit_sem_post(p)
                if r < 0:
                    return r
            return 0

        r = self._run(post)
        if r == -errno.EOVERFLOW:  # raced past by other posters
            raise ValueError("the semaphore's value would exceed %d" % lib.SHMKIT_SEM_VALUE_MAX)
        _check(r, "sem post")

    @property
    def value(self) -> int:
        v = ffi.new("unsigned *")
        _check(self._run(lambda p: lib.shmkit_sem_getvalue(p, v)), "sem getvalue")
        return v[0]


class Event(_Obj):
    """A process-shared event: set() wakes its waiters; a manual-reset event stays set
    until clear(), an automatic one lets one waiter through and resets. Event(buffer,
    offset, create=True, manual=True) initializes it (reset); all-zero bytes are a reset
    automatic event."""

    _ctype = "shmkit_event_t"

    def __init__(self, buffer, offset=0, create=False, manual=True):
        super().__init__(buffer, offset)
        if create:
            _check(lib.shmkit_event_init(self._p, 1 if manual else 0), "event init")

    def set(self):
        _check(self._run(lib.shmkit_event_set), "event set")

    def clear(self):
        _check(self._run(lib.shmkit_event_reset), "event reset")

    def wait(self, timeout=None) -> bool:
        """True once set (an automatic event is reset by the waiter it lets through),
        False at the timeout."""
        end = _deadline(_at_least_zero(timeout))
        r = self._run(lambda p: self._wait(p, lib.shmkit_event_trywait,
                                           lib.shmkit_event_timedwait, True, end))
        if r in (-errno.EAGAIN, -errno.ETIMEDOUT):
            return False
        _check(r, "event wait")
        return True
