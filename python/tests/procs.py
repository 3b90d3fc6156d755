# SPDX-License-Identifier: MIT
"""Processes and signals for the tests: fork children, wait for them, interrupt a wait."""
import contextlib
import os
import signal
import time
import traceback

import pytest


def child(fn):
    """Run fn() in a fork child; its pid. The child exits 0 if fn returns, 1 if it raises."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid


def wait_ok(pid, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0, "child %d failed" % pid
            return
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("child %d hung" % pid)


def started(fn):
    """A child that runs fn() (taking a lock, peeking a message...), says so, then sleeps
    until killed; its pid, once fn() has returned in it."""
    r, w = os.pipe()

    def run():
        fn()
        os.write(w, b"!")
        time.sleep(60)

    pid = child(run)
    os.close(w)
    assert os.read(r, 1) == b"!", "the child failed before it was ready"
    os.close(r)
    return pid


def kill(pid):
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


class Alarm(Exception):
    pass


@contextlib.contextmanager
def alarm_in(seconds):
    """Raise Alarm from a SIGALRM handler in seconds, inside the block."""

    def ring(signum, frame):
        raise Alarm

    old = signal.signal(signal.SIGALRM, ring)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
