# SPDX-License-Identifier: MIT
"""Process-shared synchronization (shmkit_sync(3)) in any shared buffer.

Each object lives in 16 bytes of memory shared between processes: an mmap.mmap (anonymous
ones are shared with fork children), a multiprocessing.shared_memory.SharedMemory's buf, a
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
import time

from ._ffi import ffi, lib
from .chan import _SLICE, _check, _count, _deadline, _timespec, _writable

SIZE = lib.SHMKIT_SYNC_OBJ_SIZE


class _Obj:
    """16 bytes at offset of a shared buffer, typed as the C object kind."""

    def __enter__(self):  # for those with acquire() and release()
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False

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
        self._keep, self._p, self._ts = keep, p, ffi.new("struct timespec *")

    def _obj(self):
        if self._keep is None:
            raise ValueError("the object is closed")
        return self._p

    def close(self):
        """Let go of the buffer (the object in it stays as it is, for the others)."""
        if self._keep is not None:
            keep, self._keep = self._keep, None
            ffi.release(keep)

    def __del__(self):
        self.close()

    def _wait(self, now, timed, blocking, timeout):
        """now(p) once; if it would block, timed(p, abs) in slices until timeout. The C
        result (0 or -errno); -EAGAIN/-EBUSY/-ETIMEDOUT mean not acquired."""
        p = self._obj()
        r = now(p)
        if r not in (-errno.EAGAIN, -errno.EBUSY) or not blocking:
            return r
        if timeout is not None and timeout != -1:
            end = _deadline(timeout)
        else:
            end = None
        while True:
            slice_end = time.clock_gettime(time.CLOCK_MONOTONIC) + _SLICE
            last = end is not None and end <= slice_end
            r = timed(self._obj(), _timespec(self._ts, end if last else slice_end))
            if r != -errno.ETIMEDOUT or last:
                return r


def _no_timeout_without_blocking(blocking, timeout):
    if not blocking and timeout not in (None, -1):
        raise ValueError("can't specify a timeout for a non-blocking call")


class Mutex(_Obj):
    """A robust, error-checking, process-shared mutex, owned by a thread.

    acquire() -> True, or False when not blocking (or at the timeout) and it is held. When
    its owner died holding it, acquire() takes it over and sets owner_died: repair what it
    protects, call consistent(), then release(); released without consistent(), it becomes
    unrecoverable (acquire() then raises OSError ENOTRECOVERABLE for everyone)."""

    _ctype = "shmkit_mutex_t"

    def __init__(self, buffer, offset=0, create=False):
        super().__init__(buffer, offset)
        self.owner_died = False
        if create:
            _check(lib.shmkit_mutex_init(self._p), "mutex init")

    def acquire(self, blocking=True, timeout=None) -> bool:
        _no_timeout_without_blocking(blocking, timeout)
        r = self._wait(lib.shmkit_mutex_trylock, lib.shmkit_mutex_timedlock, blocking, timeout)
        if r in (-errno.EBUSY, -errno.ETIMEDOUT):
            return False
        if r == -errno.EDEADLK:
            raise RuntimeError("this thread holds the mutex already")
        self.owner_died = r == -errno.EOWNERDEAD
        if not self.owner_died:
            _check(r, "mutex lock")
        return True

    def consistent(self):
        """Mark the state a dead owner left as repaired (after acquire set owner_died)."""
        r = lib.shmkit_mutex_consistent(self._obj())
        if r == -errno.EPERM:
            raise RuntimeError("consistent() by a thread that does not hold the mutex")
        _check(r, "mutex consistent")
        self.owner_died = False

    def release(self):
        r = lib.shmkit_mutex_unlock(self._obj())
        if r == -errno.EPERM:
            raise RuntimeError("release of a mutex this thread does not hold")
        _check(r, "mutex unlock")

class Condition(_Obj):
    """A process-shared condition variable, used with a Mutex (any process's object naming
    the same mutex). wait() releases the mutex, waits for a notify, and takes it again; it
    returns False at the timeout, and may wake spuriously: wait in a predicate loop, or use
    wait_for()."""

    _ctype = "shmkit_cond_t"

    def __init__(self, buffer, offset=0, create=False):
        super().__init__(buffer, offset)
        if create:
            _check(lib.shmkit_cond_init(self._p), "cond init")

    def wait(self, mutex: Mutex, timeout=None) -> bool:
        """Release mutex, wait for a notify (or the timeout: False), take mutex again."""
        end = _deadline(timeout)
        while True:
            slice_end = time.clock_gettime(time.CLOCK_MONOTONIC) + _SLICE
            last = end is not None and end <= slice_end
            r = lib.shmkit_cond_timedwait(self._obj(), mutex._obj(),
                                          _timespec(self._ts, end if last else slice_end))
            # A slice that ends comes back with the mutex held: the interpreter runs its
            # signal handlers here, then the wait goes on.
            if r != -errno.ETIMEDOUT or last:
                break
        if r == -errno.EOWNERDEAD:
            mutex.owner_died = True
            return True
        if r == -errno.EPERM:
            raise RuntimeError("wait() by a thread that does not hold the mutex")
        if r == -errno.ETIMEDOUT:
            return False
        _check(r, "cond wait")
        return True

    def wait_for(self, mutex: Mutex, predicate, timeout=None):
        """wait() until predicate() is true (checked first); its last value."""
        end = _deadline(timeout)
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
        _check(lib.shmkit_cond_signal(self._obj()), "cond signal")

    def notify_all(self):
        _check(lib.shmkit_cond_broadcast(self._obj()), "cond broadcast")


class Semaphore(_Obj):
    """A process-shared counting semaphore. Semaphore(buffer, offset, value) with a value
    initializes it (once, by one process); without, it names an initialized one."""

    _ctype = "shmkit_sem_t"

    def __init__(self, buffer, offset=0, value=None):
        super().__init__(buffer, offset)
        if value is not None:
            v = _count("value", value, lib.SHMKIT_SEM_VALUE_MAX)
            _check(lib.shmkit_sem_init(self._p, v), "sem init")

    def acquire(self, blocking=True, timeout=None) -> bool:
        _no_timeout_without_blocking(blocking, timeout)
        r = self._wait(lib.shmkit_sem_trywait, lib.shmkit_sem_timedwait, blocking, timeout)
        if r in (-errno.EAGAIN, -errno.ETIMEDOUT):
            return False
        _check(r, "sem wait")
        return True

    def release(self, n=1):
        for _ in range(_count("n", n)):
            r = lib.shmkit_sem_post(self._obj())
            if r == -errno.EOVERFLOW:
                raise ValueError("the semaphore's value would exceed %d"
                                 % lib.SHMKIT_SEM_VALUE_MAX)
            _check(r, "sem post")

    @property
    def value(self) -> int:
        v = ffi.new("unsigned *")
        _check(lib.shmkit_sem_getvalue(self._obj(), v), "sem getvalue")
        return v[0]

class Event(_Obj):
    """A process-shared event: set() wakes its waiters; a manual-reset event stays set
    until clear(), an automatic one lets one waiter through and resets. Event(buffer,
    offset, create=True, manual=True) initializes it (reset)."""

    _ctype = "shmkit_event_t"

    def __init__(self, buffer, offset=0, create=False, manual=True):
        super().__init__(buffer, offset)
        if create:
            _check(lib.shmkit_event_init(self._p, 1 if manual else 0), "event init")

    def set(self):
        _check(lib.shmkit_event_set(self._obj()), "event set")

    def clear(self):
        _check(lib.shmkit_event_reset(self._obj()), "event reset")

    def wait(self, timeout=None) -> bool:
        """True once set (an automatic event is reset by the waiter it lets through),
        False at the timeout."""
        r = self._wait(lib.shmkit_event_trywait, lib.shmkit_event_timedwait, True, timeout)
        if r in (-errno.EAGAIN, -errno.ETIMEDOUT):
            return False
        _check(r, "event wait")
        return True
