# SPDX-License-Identifier: MIT
"""What the package's modules share: argument checks, errors, deadlines."""
import math
import numbers
import operator
import os
import time

from ._ffi import ffi

# A blocking call waits in slices this long, so that the interpreter can run its signal
# handlers (KeyboardInterrupt) between them; a wait of the C library never sees them.
_SLICE = 0.1


def _error(r, what):
    return OSError(-r, "%s: %s" % (what, os.strerror(-r)))


def _check(r, what):
    if r < 0:
        raise _error(r, what)
    return r


def _name(name, what):
    """A name as the C library takes it (what: "a channel name", ...)."""
    if not isinstance(name, str):
        raise TypeError("%s is a str, not %s" % (what, type(name).__name__))
    if "\0" in name:
        raise ValueError("embedded null character in %s" % what)
    return name.encode()


def _count(what, v, top=None):
    """An int 0..top (a size, a mode, a length): ValueError or TypeError otherwise."""
    if isinstance(v, bool):
        raise TypeError("%s must be an int, not bool" % what)
    v = operator.index(v)
    if v < 0 or top is not None and v > top:
        raise ValueError("%s must be 0..%s, not %d" % (what, "" if top is None else top, v))
    return v


def _writable(buffer):
    """ffi.from_buffer of a buffer the C library will write: TypeError for a read-only one,
    as Python's own readinto() gives (BufferError for one that is not contiguous)."""
    if memoryview(buffer).readonly:
        raise TypeError("a writable buffer is needed, not a read-only %s"
                        % type(buffer).__name__)
    return ffi.from_buffer(buffer, require_writable=True)


def _deadline(timeout):
    """A CLOCK_MONOTONIC deadline timeout seconds from now, or None (no deadline)."""
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError("timeout must be a number of seconds or None, not %s"
                        % type(timeout).__name__)
    try:
        t = float(timeout)
    except OverflowError:
        return None  # beyond any float: no deadline, as inf
    if not t >= 0:  # negative, or nan
        raise ValueError("timeout must be >= 0 or None, not %r" % (timeout,))
    if math.isinf(t):
        return None
    return time.clock_gettime(time.CLOCK_MONOTONIC) + t


def _timespec(ts, at):
    sec = int(at)
    ts.tv_sec = sec
    ts.tv_nsec = min(int((at - sec) * 1e9), 999999999)
    return ts
