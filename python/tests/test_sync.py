# SPDX-License-Identifier: MIT
"""shmkit.Mutex, Condition, Semaphore and Event in shared memory, across processes: mutual
exclusion, a mutex whose owner is killed, timeouts, signals during a wait, and the buffer
they live in."""
import errno
import mmap
import struct
import threading
import time
from multiprocessing import shared_memory

import pytest

from shmkit import Condition, Event, Mutex, Semaphore
from procs import Alarm, alarm_in, child, kill, started, wait_ok


@pytest.fixture
def mem():
    m = mmap.mmap(-1, 4096)  # anonymous and MAP_SHARED: shared with fork children
    yield m
    import gc

    gc.collect()  # the objects on it let go of it first
    try:
        m.close()
    except BufferError:
        pass  # a failed test's traceback still holds an object on it


def counter(mem, off=64):
    return struct.unpack_from("<Q", mem, off)[0]


def test_mutex_excludes_across_processes(mem):
    lock = Mutex(mem, 0, create=True)
    n = 2000

    def work():
        for _ in range(n):
            with lock:
                v = counter(mem)
                struct.pack_into("<Q", mem, 64, v + 1)  # a read-modify-write: lost without it

    pids = [child(work) for _ in range(3)]
    work()
    for pid in pids:
        wait_ok(pid)
    assert counter(mem) == 4 * n


def test_a_dead_owner_is_taken_over_then_repaired_or_not(mem):
    lock = Mutex(mem, 0, create=True)
    pid = started(lock.acquire)
    assert not lock.acquire(timeout=0.05), "held by a live owner"
    kill(pid)
    assert lock.acquire(timeout=5)
    assert lock.owner_died
    lock.consistent()
    assert not lock.owner_died
    lock.release()
    with lock:
        assert not lock.owner_died, "repaired: an ordinary mutex again"
    # The same death, released without consistent(): unrecoverable for everyone.
    kill(started(lock.acquire))
    assert lock.acquire() and lock.owner_died
    lock.release()
    with pytest.raises(OSError) as e:
        lock.acquire()
    assert e.value.errno == errno.ENOTRECOVERABLE


def test_mutex_misuse_is_an_error_not_a_hang(mem):
    lock = Mutex(mem, 0, create=True)
    with pytest.raises(RuntimeError):
        lock.release()  # not held
    lock.acquire()
    with pytest.raises(RuntimeError):
        lock.acquire()  # error-checking: this thread holds it
    assert not lock.acquire(blocking=False) or pytest.fail("non-blocking must not take it")
    t = threading.Thread(target=lambda: pytest.raises(RuntimeError, lock.release))
    t.start()
    t.join()  # another thread may not release it
    lock.release()
    with pytest.raises(ValueError):
        lock.acquire(blocking=False, timeout=1)


def test_condition_hands_work_between_processes(mem):
    lock = Mutex(mem, 0, create=True)
    cond = Condition(mem, 16, create=True)
    n = 200

    def consumer():
        got = 0
        with lock:
            while got < n:
                assert cond.wait_for(lock, lambda: counter(mem) > got, timeout=20)
                got = counter(mem)
        struct.pack_into("<Q", mem, 72, got)

    pid = child(consumer)
    for i in range(n):
        with lock:
            struct.pack_into("<Q", mem, 64, i + 1)
            cond.notify()
    wait_ok(pid)
    assert counter(mem, 72) == n
    with lock:
        t0 = time.monotonic()
        assert cond.wait_for(lock, lambda: False, timeout=0.25) is False  # past a slice
        assert time.monotonic() - t0 >= 0.25
        assert cond.wait(lock, timeout=0.05) is False  # within a slice: the deadline's


def test_semaphore_counts_across_processes(mem):
    sem = Semaphore(mem, 0, value=0)
    done = Semaphore(mem, 16, value=0)

    def worker():
        for _ in range(100):
            assert sem.acquire(timeout=20)
        done.release()

    pids = [child(worker) for _ in range(2)]
    sem.release(200)
    for _ in range(2):
        assert done.acquire(timeout=20)
    for pid in pids:
        wait_ok(pid)
    assert sem.value == 0
    assert not sem.acquire(blocking=False)
    assert not sem.acquire(timeout=0.05)
    big = Semaphore(mem, 32, value=2**31 - 1)
    with pytest.raises(ValueError):
        big.release()
    with pytest.raises(ValueError):
        Semaphore(mem, 48, value=2**31)


def test_event_manual_and_automatic(mem):
    manual = Event(mem, 0, create=True)
    auto = Event(mem, 16, create=True, manual=False)
    assert not manual.wait(timeout=0.05)

    def waiter():
        assert manual.wait(timeout=20)
        assert auto.wait(timeout=20)

    pid = child(waiter)
    time.sleep(0.05)
    manual.set()
    auto.set()
    wait_ok(pid)
    assert manual.wait(0), "a manual event stays set"
    assert not auto.wait(0), "the waiter it let through reset it"
    manual.clear()
    assert not manual.wait(0)


def test_a_blocked_acquire_lets_signal_handlers_run(mem):
    lock = Mutex(mem, 0, create=True)
    pid = started(lock.acquire)
    try:
        with pytest.raises(Alarm), alarm_in(0.2):
            lock.acquire()
    finally:
        kill(pid)
    assert lock.acquire(timeout=5) and lock.owner_died


def test_the_buffer_and_the_offset():
    shm = shared_memory.SharedMemory(create=True, size=64)
    try:
        lock = Mutex(shm.buf, 8, create=True)
        with pytest.raises(BufferError):
            shm.close()  # the mutex holds the memory it lives in
        lock.close()
        with pytest.raises(ValueError):
            lock.acquire()
        again = Mutex(shm.buf, 8)  # the same bytes: the same, initialized mutex
        with again:
            pass
        again.close()
        with pytest.raises(ValueError):
            Mutex(shm.buf, 4)  # not 8-byte aligned
        with pytest.raises(ValueError):
            Mutex(shm.buf, 56)  # its 16 bytes would pass the end
        with pytest.raises(ValueError):
            Mutex(shm.buf, -8)
        with pytest.raises(TypeError):
            Mutex(b"\0" * 64)  # read-only
    finally:
        import gc

        gc.collect()
        shm.close()
        shm.unlink()


def test_a_notify_under_the_mutex_is_never_lost(mem):
    lock = Mutex(mem, 0, create=True)
    cond = Condition(mem, 16, create=True)
    for delay in (0.0, 0.09, 0.1, 0.11, 0.25):  # around the end of a wait slice

        def notifier(delay=delay):
            time.sleep(delay)
            with lock:
                struct.pack_into("<Q", mem, 64, 1)
                cond.notify()

        struct.pack_into("<Q", mem, 64, 0)
        with lock:
            pid = child(notifier)
            t0 = time.monotonic()
            assert cond.wait_for(lock, lambda: counter(mem) == 1, timeout=10)
            assert time.monotonic() - t0 < 5, "woken by the notify, not the timeout"
        wait_ok(pid)


def test_waits_on_a_shared_object_keep_their_own_deadlines(mem):
    ev = Event(mem, 0, create=True)
    out = {}

    def long_wait():
        out["long"] = ev.wait(timeout=1.0)

    t = threading.Thread(target=long_wait)
    t.start()
    time.sleep(0.05)
    t0 = time.monotonic()
    assert ev.wait(timeout=0.03) is False
    assert time.monotonic() - t0 < 0.09 + 0.05, "not the other thread's deadline"
    t.join()
    assert out["long"] is False


def test_closing_an_object_in_use_by_another_thread_is_refused(mem):
    sem = Semaphore(mem, 0, value=0)
    t = threading.Thread(target=lambda: sem.acquire(timeout=2))
    t.start()
    time.sleep(0.05)
    with pytest.raises(BufferError):
        sem.close()  # the other thread's wait is reading it
    sem.release()
    t.join()
    sem.close()
    with pytest.raises(ValueError):
        sem.release()


def test_an_interrupted_acquire_gives_the_mutex_back(mem):
    lock = Mutex(mem, 0, create=True)
    taken = Semaphore(mem, 16, value=0)

    def hold_briefly():
        with lock:
            taken.release()
            time.sleep(0.3)  # the parent's acquire is waiting when this ends

    pid = child(hold_briefly)
    assert taken.acquire(timeout=10)
    with pytest.raises(Alarm), alarm_in(0.32):  # lands around the handover
        lock.acquire()
        time.sleep(1)  # if the acquire won, the alarm comes here, with the lock held
    wait_ok(pid)
    if lock.owned():
        lock.release()  # acquired, then interrupted by the alarm in the sleep above
    assert not lock.owned()
    assert lock.acquire(timeout=5)
    lock.release()


def test_threading_conventions(mem):
    sem = Semaphore(mem, 0, value=1)
    ev = Event(mem, 16, create=True)
    for bad in (0, -1):
        with pytest.raises(ValueError):
            sem.release(bad)
    with pytest.raises(ValueError):
        Semaphore(mem, 32, value=-1)
    mem2 = mmap.mmap(-1, 64)
    with pytest.raises(ValueError):
        Semaphore(mem2, 0, value=2**31)  # refused before the buffer is taken
    mem2.close()  # nothing holds it
    t0 = time.monotonic()
    assert ev.wait(-1) is False and time.monotonic() - t0 < 1  # negative: no wait
    assert sem.acquire(timeout=-5) is True  # a token is there
    assert sem.acquire(timeout=-5) is False
    big = Semaphore(mem, 48, value=2**31 - 2)
    with pytest.raises(ValueError):
        big.release(3)  # nothing added
    assert big.value == 2**31 - 2
    zero = Event(mem, 64)  # all-zero bytes: an automatic event, reset
    zero.set()
    assert zero.wait(0) and not zero.wait(0)


def test_a_condition_refuses_an_unrepaired_mutex(mem):
    lock = Mutex(mem, 0, create=True)
    cond = Condition(mem, 16, create=True)
    kill(started(lock.acquire))
    assert lock.acquire(timeout=5) and lock.owner_died
    with pytest.raises(RuntimeError):
        cond.wait(lock, timeout=0.01)  # it would release the mutex unrepaired: lost
    lock.consistent()
    assert cond.wait(lock, timeout=0.01) is False
    lock.release()
    with lock:
        assert not lock.owner_died
