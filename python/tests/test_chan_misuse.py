# SPDX-License-Identifier: MIT
"""shmkit.Channel under misuse and bad luck: views kept past their slot, handles dropped to
the garbage collector, closed from another thread or a signal handler, shared by threads,
inherited through fork, copied; arguments of the wrong kind."""
import copy
import errno
import gc
import math
import pickle
import signal
import struct
import sys
import threading
import time
import zlib

import pytest

from shmkit import BROADCAST, MPMC, SPSC, Channel, ChannelOverflow
from procs import child, wait_ok
from test_chan import pair


def ring_maps():
    return sum("shmkit.chan." in line for line in open("/proc/self/maps"))


def test_a_slice_kept_past_a_dropped_handle_keeps_the_ring(name):
    tx, _ = pair(name, SPSC)

    def first_word():
        rx = Channel(name, "recv")
        tx.send(b"header:payload")
        m = rx.peek(timeout=5)
        return m.buffer[:6]  # the handle and its message are dropped, the slice is not

    _.close()  # pair's receiver: SPSC has one
    word = first_word()
    gc.collect()
    assert bytes(word) == b"header", "the ring is still mapped under the slice"
    assert Channel.stat(name).receivers == 1, "and its handle still open"
    del word
    gc.collect()
    assert Channel.stat(name).receivers == 0, "closed once the slice is gone"
    with Channel(name, "recv") as rx:
        assert rx.recv(timeout=5) == b"header:payload", "the peeked message went back"
    tx.close()


def test_close_from_another_thread_during_a_peek_never_leaves_a_view_of_nothing(name):
    tx, rx = pair(name, SPSC, msg_size=1 << 16, capacity=2)
    tx.send(b"x" * (1 << 16))
    slow = threading.Event()

    def hook(frame, event, arg):  # widen the window between the C peek and its Message
        if event == "call" and frame.f_code.co_name == "__init__" and \
                type(frame.f_locals.get("self")).__name__ == "Message":
            slow.set()
            time.sleep(0.2)

    out = {}

    def reader():
        sys.setprofile(hook)
        try:
            out["m"] = rx.peek(timeout=5)
        finally:
            sys.setprofile(None)

    t = threading.Thread(target=reader)
    t.start()
    assert slow.wait(5)
    rx.close()  # waits for the peek to finish, then takes its view away
    t.join()
    with pytest.raises(ValueError):
        bytes(out["m"])
    with Channel(name, "recv") as rx2:
        assert len(rx2.recv(timeout=5)) == 1 << 16
    tx.close()


def test_a_signal_handler_may_close_the_handle_it_interrupts(name):
    tx, rx = pair(name, SPSC)

    def stop(signum, frame):
        rx.close()

    old = signal.signal(signal.SIGALRM, stop)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.15)
        with pytest.raises(ValueError):
            rx.recv()  # closed under it: the wait ends instead of deadlocking on the lock
        assert rx.closed
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        tx.close()


def test_threads_sharing_a_receiving_handle_get_whole_messages(name):
    tx, rx = pair(name, MPMC, msg_size=256, capacity=64)
    n = 3000
    got = [[], []]

    def take(k):
        for _ in range(n // 2):
            got[k].append(rx.recv(timeout=30))

    threads = [threading.Thread(target=take, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for i in range(n):
        body = bytes((i + j) & 0xFF for j in range(200))
        tx.send(struct.pack("<I", i) + body + struct.pack("<I", zlib.crc32(body)), timeout=30)
    for t in threads:
        t.join()
    seqs = []
    for m in got[0] + got[1]:
        assert struct.unpack("<I", m[-4:])[0] == zlib.crc32(m[4:-4]), "a torn message"
        seqs.append(struct.unpack("<I", m[:4])[0])
    assert sorted(seqs) == list(range(n))
    tx.close()
    rx.close()


def test_a_fork_during_another_threads_wait_leaves_the_child_free(name):
    tx, rx = pair(name, SPSC)
    t = threading.Thread(target=lambda: rx.recv(timeout=3))
    t.start()
    time.sleep(0.05)  # the thread is inside a wait slice, holding the handle's lock

    def in_child():
        with pytest.raises(OSError) as e:
            rx.try_recv()
        assert e.value.errno == errno.EBADF
        before = ring_maps()
        rx.close()  # frees the child's copy, without waiting for the parent's thread
        assert ring_maps() < before

    signal.alarm(20)
    try:
        wait_ok(child(in_child))
    finally:
        signal.alarm(0)
    tx.send(b"to the thread")
    t.join()
    tx.close()
    rx.close()


def test_a_failed_open_closes_once(name, monkeypatch):
    Channel.create(name, SPSC)
    import shmkit.chan

    def interrupted(stat):
        raise KeyboardInterrupt

    monkeypatch.setattr(shmkit.chan, "_info", interrupted)
    with pytest.raises(KeyboardInterrupt):
        Channel(name, "recv")
    monkeypatch.undo()
    gc.collect()  # the half-made handle's __del__: nothing to close again
    assert Channel.stat(name).receivers == 0
    with Channel(name, "recv"):
        pass


def test_handles_cannot_be_copied_but_errors_can(name):
    tx, rx = pair(name, BROADCAST, capacity=2)
    with tx, rx:
        for f in (copy.copy, copy.deepcopy, pickle.dumps):
            with pytest.raises(TypeError):
                f(tx)
        for i in range(5):
            tx.send(b"%d" % i)
        with pytest.raises(ChannelOverflow) as e:
            rx.recv(timeout=5)
        back = pickle.loads(pickle.dumps(e.value))
        assert (type(back), back.errno, back.lost) == (ChannelOverflow, errno.EOVERFLOW, 3)


def test_overflow_lost_is_none_when_the_process_has_several_receivers(name):
    tx, rx = pair(name, BROADCAST, capacity=2)
    with tx, rx, Channel(name, "recv") as other:
        for i in range(5):
            tx.send(b"%d" % i)
        with pytest.raises(ChannelOverflow) as e:
            rx.recv(timeout=5)
        assert e.value.lost is None, "two receiving records of this process: ambiguous"
        with pytest.raises(ChannelOverflow):
            other.recv(timeout=5)  # each receiver is told once


def test_a_refused_give_back_keeps_the_loan_whole(name):
    tx, rx = pair(name, SPSC, msg_size=16)
    with tx, rx:
        loan = tx.loan(8)
        part = loan.buffer[:4]
        part[:] = b"abcd"
        with pytest.raises(BufferError):
            loan.commit(4)
        loan.buffer[4:8] = b"efgh"  # still ours, still usable
        del part
        with pytest.raises(ValueError):
            loan.commit(9)  # more than was loaned: stale bytes would be published
        with pytest.raises(TypeError):
            loan.commit(4.0)
        loan.commit(8)
        assert rx.recv(timeout=5) == b"abcdefgh"


def test_arguments_of_the_wrong_kind(name):
    tx, rx = pair(name, SPSC)
    with tx, rx:
        for bad in (-1, math.nan):
            with pytest.raises(ValueError):
                rx.recv(timeout=bad)
        t0 = time.monotonic()
        assert rx.try_recv() is None
        tx.send(b"x", timeout=math.inf)  # inf: no deadline
        assert rx.recv(timeout=math.inf) == b"x" and time.monotonic() - t0 < 5
        with pytest.raises(ValueError):
            rx.set_spin(2 * 10**9)
        with pytest.raises(ValueError):
            rx.set_spin(-1)
        rx.set_spin(0)
        with pytest.raises(ValueError):
            tx.loan(-1)
    with pytest.raises(ValueError):
        Channel(name + "\0", "recv")
    with pytest.raises(ValueError):
        Channel.unlink(name + "\0tail")
    assert name in Channel.list()


def test_iteration_goes_on_after_an_overflow(name):
    tx, rx = pair(name, BROADCAST, capacity=2)
    with rx:
        with tx:
            for i in range(5):
                tx.send(b"%d" % i)
        got, overflows = [], 0
        while True:
            try:
                got += list(rx)  # ends when every sender is gone
                break
            except ChannelOverflow:
                overflows += 1
        assert (overflows, got) == (1, [b"3", b"4"])


def test_a_dropped_message_is_delivered_again_and_a_dropped_loan_is_cancelled(name):
    tx, rx = pair(name, MPMC)
    with tx, rx:
        tx.send(b"first")
        tx.send(b"second")

        def fail_half_way():
            m = rx.peek(timeout=5)
            assert bytes(m) == b"first"
            raise KeyError("the consumer's work failed")  # before m.release()

        with pytest.raises(KeyError):
            fail_half_way()
        gc.collect()
        assert rx.recv(timeout=5) == b"first", "the dropped message comes first, again"
        with rx.peek(timeout=5) as m:
            assert bytes(m) == b"second"
        del m
        assert rx.try_peek() is None
        loan = tx.loan(4)
        loan.buffer[:] = b"half"
        del loan  # dropped unfinished: cancelled, never delivered
        assert rx.try_recv() is None
        with tx.loan(3) as slot:
            slot.buffer[:] = b"new"
        assert rx.recv(timeout=5) == b"new"


def test_a_dropped_handle_closes_at_once_even_with_a_message_out(name):
    Channel.create(name, SPSC)
    with Channel(name, "send") as tx:
        tx.send(b"held")
        gc.disable()
        try:
            def peek_and_drop():
                rx = Channel(name, "recv")
                rx.peek(timeout=5)  # the Message and the handle both dropped here

            peek_and_drop()
            with Channel(name, "recv") as rx:  # the role is free without a collection
                assert rx.recv(timeout=5) == b"held"
        finally:
            gc.enable()


def test_a_signal_handler_may_not_call_into_the_handle_it_interrupted(name):
    tx, rx = pair(name, SPSC)
    seen = []

    def nested(signum, frame):
        try:
            rx.try_recv()
        except RuntimeError as e:
            seen.append(e)

    old = signal.signal(signal.SIGALRM, nested)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.15)
        with pytest.raises(TimeoutError):
            rx.recv(timeout=0.4)
        assert len(seen) == 1, "refused, instead of clobbering the interrupted call"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    tx.send(b"fine")
    assert rx.recv(timeout=5) == b"fine"
    tx.close()
    rx.close()


def test_timeouts_are_checked_first_and_a_long_spin_is_spent_once(name):
    tx, rx = pair(name, SPSC)
    with tx, rx:
        for bad in (-1, math.nan):
            with pytest.raises(ValueError):
                tx.send(b"room is there", timeout=bad)
        for bad in ("0.5", True, [1]):
            with pytest.raises(TypeError):
                tx.send(b"room is there", timeout=bad)
        assert rx.try_recv() is None, "nothing was sent"
        tx.send(b"x", timeout=10**400)  # beyond any float: no deadline
        assert rx.recv() == b"x"
        rx.set_spin(10**9)  # a busy-polling receiver that still sleeps when it is quiet
        cpu = time.process_time()
        with pytest.raises(TimeoutError):
            rx.recv(timeout=0.6)
        assert time.process_time() - cpu < 0.4, "spun through every slice"


def test_a_view_dropped_in_a_reference_cycle_does_not_block_the_handle(name):
    tx, rx = pair(name, SPSC)
    with tx, rx:
        gc.disable()
        try:
            loan = tx.loan(4)
            loan.me = loan  # a cycle: only the collector frees it
            del loan
            with tx.loan(4) as slot:  # EBUSY, a collection, then the dropped loan cancelled
                slot.buffer[:] = b"next"
        finally:
            gc.enable()
        assert rx.recv(timeout=5) == b"next"


def test_a_loan_whose_cancel_was_refused_is_given_back_by_the_next_send(name):
    tx, rx = pair(name, MPMC)
    with tx, rx:
        loan = tx.loan(8)
        part = loan.buffer[:4]
        del loan  # its cancel is refused: a view of the slot lives
        del part  # now nothing shows it
        assert tx.try_send(b"after"), "the dropped loan no longer blocks the handle"
        assert rx.recv(timeout=5) == b"after", "and its position no longer the receivers"


def test_two_waiting_threads_spend_the_spin_once(name):
    tx, rx = pair(name, MPMC)
    with tx, rx:
        rx.set_spin(10**9)

        def quiet():
            with pytest.raises(TimeoutError):
                rx.recv(timeout=0.3 + 0.4 * (threading.current_thread().name == "late"))

        cpu = time.process_time()
        threads = [threading.Thread(target=quiet, name=n) for n in ("early", "late")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert time.process_time() - cpu < 0.5, "one waiter's end gave the other its spin back"
        with pytest.raises(ValueError):
            Channel.create(name + "z", SPSC, capacity=0)
