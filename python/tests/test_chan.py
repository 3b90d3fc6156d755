# SPDX-License-Identifier: MIT
"""shmkit.Channel: the C library's channels from Python, in one process and across many."""
import errno
import os
import select
import struct
import threading
import time
import zlib

import pytest

from shmkit import BROADCAST, MPMC, SPSC, Channel, ChannelOverflow
from procs import Alarm, alarm_in, child, kill, started, wait_ok

KINDS = [SPSC, MPMC, BROADCAST]


def pair(name, kind, msg_size=64, capacity=8, **kw):
    Channel.create(name, kind, msg_size=msg_size, capacity=capacity, **kw)
    rx = Channel(name, "recv")  # first: a broadcast receiver sees what is sent after it opens
    return Channel(name, "send"), rx


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_carries_every_size(name, kind):
    tx, rx = pair(name, kind, msg_size=1000)
    with tx, rx:
        for n in (0, 1, 63, 64, 999, 1000):
            data = os.urandom(n)
            tx.send(data)
            assert rx.recv(timeout=5) == data
        tx.send(bytearray(b"from a bytearray"))
        assert rx.recv(timeout=5) == b"from a bytearray"
        tx.send(memoryview(b"xxsliceyy")[2:7])
        assert rx.recv(timeout=5) == b"slice"
        with pytest.raises(OSError) as e:
            tx.send(b"x" * 1001)
        assert e.value.errno == errno.EMSGSIZE
        assert rx.try_recv() is None


def test_create_and_open_errors(name):
    Channel.create(name, "mpmc", msg_size=16, capacity=4)
    with pytest.raises(FileExistsError):
        Channel.create(name, MPMC, msg_size=16, capacity=4)
    Channel.create(name, MPMC, msg_size=16, capacity=4, exist_ok=True)
    with pytest.raises(ValueError):
        Channel.create(name + "x", "ring")
    with pytest.raises(OSError) as e:
        Channel.create("a/b", SPSC)
    assert e.value.errno == errno.EINVAL
    for kind in (7, True, 1.0):
        with pytest.raises(ValueError):
            Channel.create(name + "y", kind)
    for bad in ({"msg_size": -1}, {"capacity": -4}, {"mode": 0o10000}):
        with pytest.raises(ValueError):
            Channel.create(name + "y", SPSC, **bad)
    with pytest.raises(TypeError):
        Channel.create(name + "y", SPSC, msg_size=1.5)
    with pytest.raises(ValueError):
        Channel.create(name + "\0y", SPSC)  # never cut short at the NUL
    with pytest.raises(ValueError):
        Channel(name, True)
    with pytest.raises(FileNotFoundError):
        Channel(name + "missing", "recv")
    with pytest.raises(ValueError):
        Channel(name, "both")
    with pytest.raises(TypeError):
        Channel(name.encode(), "recv")
    with pytest.raises(FileNotFoundError):
        Channel.unlink(name + "missing")
    with Channel(name, "send") as tx:
        with pytest.raises(TypeError):
            tx.send("a str is not bytes")
    with Channel(name, "recv") as rx:
        with pytest.raises(TypeError):
            rx.recv_into(b"read-only", timeout=0)


def test_spsc_roles_are_exclusive(name):
    tx, rx = pair(name, SPSC)
    with tx, rx:
        with pytest.raises(OSError) as e:
            Channel(name, "recv")
        assert e.value.errno == errno.EBUSY
    with Channel(name, "recv"):  # free again once closed
        pass


def test_timeouts_and_try_calls(name):
    tx, rx = pair(name, SPSC, capacity=4)
    with tx, rx:
        t0 = time.monotonic()
        with pytest.raises(TimeoutError):
            rx.recv(timeout=0.25)  # longer than a wait slice: the deadline is the caller's
        assert time.monotonic() - t0 >= 0.25
        with pytest.raises(TimeoutError):
            rx.recv(timeout=0)
        assert rx.try_recv() is None and rx.try_peek() is None
        for i in range(4):
            assert tx.try_send(b"%d" % i)
        assert not tx.try_send(b"full")
        assert tx.try_loan() is None
        with pytest.raises(TimeoutError):
            tx.send(b"full", timeout=0.05)
        with pytest.raises(ValueError):
            tx.send(b"x", timeout=-1)
        assert [rx.recv() for _ in range(4)] == [b"0", b"1", b"2", b"3"]


def test_senders_gone_is_broken_pipe_after_the_last_message(name):
    tx, rx = pair(name, MPMC)
    with rx:
        with tx:
            tx.send(b"last words")
        assert list(rx) == [b"last words"]  # iteration ends at BrokenPipeError
        with pytest.raises(BrokenPipeError):
            rx.recv(timeout=5)


def test_full_ring_and_no_receiver_is_broken_pipe(name):
    Channel.create(name, SPSC, msg_size=8, capacity=2)
    with Channel(name, "send") as tx:
        tx.send(b"a")
        tx.send(b"b")  # queued for the next receiver
        with pytest.raises(BrokenPipeError):
            tx.send(b"c")
        with Channel(name, "recv") as rx:
            assert rx.recv() == b"a" and rx.recv() == b"b"


def test_loan_commits_on_exit_and_cancels_on_an_exception(name):
    tx, rx = pair(name, MPMC, msg_size=32)
    with tx, rx:
        with tx.loan() as loan:
            assert len(loan.buffer) == 32
            loan.buffer[:5] = b"hello"
            loan.length = 5
        assert rx.recv(timeout=5) == b"hello"
        with pytest.raises(ZeroDivisionError):
            with tx.loan(8) as loan:
                loan.buffer[:4] = b"half"
                1 / 0
        with pytest.raises(ValueError):
            loan.buffer  # given back
        assert rx.try_recv() is None, "a cancelled loan is never delivered"
        tx.send(b"after")
        assert rx.recv(timeout=5) == b"after"
        assert Channel.stat(name).abandoned == 1  # MPMC: the position was skipped
        loan = tx.loan(3)
        loan.buffer[:] = b"abc"
        with pytest.raises(ValueError):
            loan.commit(33)  # beyond msg_size: the loan stays out
        loan.commit()
        with pytest.raises(ValueError):
            loan.commit()
        assert rx.recv(timeout=5) == b"abc"


def test_peek_is_read_only_in_place_and_guards_its_views(name):
    tx, rx = pair(name, SPSC)
    with tx, rx:
        tx.send(b"in place")
        msg = rx.peek(timeout=5)
        assert bytes(msg) == b"in place" and len(msg) == 8
        with pytest.raises(TypeError):
            msg.buffer[0] = 0
        with pytest.raises(OSError) as e:  # no copying receive while a peek is out
            rx.try_recv()
        assert e.value.errno == errno.EBUSY
        held = msg.buffer[2:]  # a view derived from the slot's: the slot may not go back
        with pytest.raises(BufferError):
            msg.release()
        del held
        msg.release()
        with pytest.raises(ValueError):
            msg.buffer
        with pytest.raises(ValueError):
            msg.release()
        assert rx.try_recv() is None


def test_close_gives_a_peeked_message_back(name):
    tx, rx = pair(name, SPSC)
    with tx:
        tx.send(b"again")
        m = rx.peek(timeout=5)
        same = m.buffer  # the view itself: released with the slot
        view = m.buffer[1:]  # made from it: it must go first
        with pytest.raises(BufferError):
            rx.close()  # the ring would be unmapped under the view
        assert not rx.closed
        view.release()
        rx.close()
        with pytest.raises(ValueError):
            same[0]
        assert rx.closed
        rx.close()  # twice is fine
        with pytest.raises(ValueError):
            rx.recv()
        with Channel(name, "recv") as rx2:
            assert rx2.recv(timeout=5) == b"again"


def test_a_consumer_killed_holding_a_message_loses_nothing(name):
    Channel.create(name, SPSC, msg_size=64, capacity=16)
    with Channel(name, "send") as tx:
        for i in range(3):
            tx.send(b"line %d" % i)
        kill(started(lambda: Channel(name, "recv").peek(timeout=10)))
        with Channel(name, "recv") as rx:  # the dead one's role is free, its message back
            assert [rx.recv(timeout=5) for _ in range(3)] == [b"line 0", b"line 1", b"line 2"]


def test_broadcast_overflow_is_raised_once_then_the_oldest_follows(name):
    tx, rx = pair(name, BROADCAST, msg_size=16, capacity=8)
    with tx, rx:
        for i in range(13):
            tx.send(b"%d" % i)  # a broadcast sender never waits: 5 are overwritten
        with pytest.raises(ChannelOverflow) as e:
            rx.recv(timeout=5)
        assert e.value.errno == errno.EOVERFLOW and e.value.lost == 5
        assert [rx.recv(timeout=5) for _ in range(8)] == [b"%d" % i for i in range(5, 13)]
        assert rx.try_recv() is None


def test_descriptor_is_readable_exactly_while_a_message_waits(name):
    tx, rx = pair(name, SPSC)
    with tx, rx:
        fd = rx.fileno()
        assert select.select([fd], [], [], 0.05)[0] == []
        tx.send(b"ping")
        assert select.select([fd], [], [], 5)[0] == [fd]
        assert rx.recv() == b"ping"
        deadline = time.monotonic() + 5
        while select.select([fd], [], [], 0)[0] and time.monotonic() < deadline:
            time.sleep(0.001)  # the helper thread notices the ring emptied
        assert select.select([fd], [], [], 0)[0] == []
        assert select.select([], [tx.fileno()], [], 5)[1] == [tx.fileno()]


def test_a_blocked_receive_lets_signal_handlers_run(name):
    tx, rx = pair(name, SPSC)
    with tx, rx:
        t0 = time.monotonic()
        with pytest.raises(Alarm), alarm_in(0.2):
            rx.recv()  # no deadline: only the handler ends it
        assert time.monotonic() - t0 < 2
        tx.send(b"still works")
        assert rx.recv(timeout=5) == b"still works"


def test_an_inherited_handle_is_refused_in_a_fork_child(name):
    tx, rx = pair(name, SPSC)
    with tx, rx:

        def use_inherited():
            with pytest.raises(OSError) as e:
                tx.send(b"from the child")
            assert e.value.errno == errno.EBADF

        wait_ok(child(use_inherited))
        assert rx.try_recv() is None
        tx.send(b"parent")
        assert rx.recv(timeout=5) == b"parent"


def stamp(sender, seq, size):
    body = bytes((sender * 31 + seq + i) & 0xFF for i in range(size - 12))
    head = struct.pack("<II", sender, seq)
    return head + body + struct.pack("<I", zlib.crc32(head + body))


def unstamp(msg):
    sender, seq = struct.unpack_from("<II", msg)
    assert struct.unpack_from("<I", msg, len(msg) - 4)[0] == zlib.crc32(msg[:-4]), "checksum"
    return sender, seq


@pytest.mark.parametrize("senders,receivers,size", [(1, 1, 16), (2, 2, 200), (4, 3, 1000)])
def test_mpmc_processes_deliver_everything_once_in_order(name, senders, receivers, size):
    per = 3000
    Channel.create(name, MPMC, msg_size=1000, capacity=64)
    pipes = [os.pipe() for _ in range(receivers)]

    def send(s):
        with Channel(name, "send") as tx:
            for q in range(per):
                tx.send(stamp(s, q, size), timeout=30)

    def receive(k):
        with Channel(name, "recv") as rx:
            out = os.fdopen(pipes[k][1], "w")
            for msg in rx:
                out.write("%d %d\n" % unstamp(msg))
            out.close()

    with Channel(name, "send"):  # a sender until every child sender has opened: no early EPIPE
        rpids = [child(lambda k=k: receive(k)) for k in range(receivers)]
        spids = [child(lambda s=s: send(s)) for s in range(senders)]
        deadline = time.monotonic() + 30
        while Channel.stat(name).senders < senders + 1 and time.monotonic() < deadline:
            time.sleep(0.005)
    seen = {}
    for k in range(receivers):
        os.close(pipes[k][1])
    logs = [os.fdopen(pipes[k][0]).read() for k in range(receivers)]
    for pid in spids + rpids:
        wait_ok(pid)
    for log in logs:
        last = {}
        for pair_ in zip(*[iter(log.split())] * 2):
            s, q = int(pair_[0]), int(pair_[1])
            assert q > last.get(s, -1), "sender %d: %d after %d (reordered)" % (s, q, last[s])
            last[s] = q
            assert (s, q) not in seen, "(%d, %d) delivered twice" % (s, q)
            seen[(s, q)] = True
    assert len(seen) == senders * per, "%d of %d delivered" % (len(seen), senders * per)


def test_threads_may_share_a_handle(name):
    tx, rx = pair(name, MPMC, capacity=1024)
    with tx, rx:
        def burst(t):
            for i in range(500):
                tx.send(struct.pack("<II", t, i), timeout=30)

        threads = [threading.Thread(target=burst, args=(t,)) for t in range(3)]
        for th in threads:
            th.start()
        got = [struct.unpack("<II", rx.recv(timeout=30)) for _ in range(1500)]
        for th in threads:
            th.join()
        assert sorted(got) == sorted((t, i) for t in range(3) for i in range(500))
        for t in range(3):
            mine = [i for s, i in got if s == t]
            assert mine == sorted(mine), "one thread's messages stay in order"


def test_stat_and_list_show_the_channel_and_its_peers(name):
    tx, rx = pair(name, BROADCAST, msg_size=48, capacity=5, mode=0o640)
    with tx, rx:
        tx.send(b"one")
        info = Channel.stat(name)
        assert (info.kind, info.msg_size, info.capacity, info.mode) == ("broadcast", 48, 8,
                                                                        0o640)
        assert (info.senders, info.receivers, info.sent, info.owner) == (1, 1, 1, os.getuid())
        roles = sorted(p.role for p in info.peers if p.pid == os.getpid())
        assert roles == ["recv", "send"]
        r = [p for p in info.peers if p.role == "recv"][0]
        assert r.lag == 1 and r.lost == 0 and r.comm
        assert rx.info().peers == info.peers
        assert name in Channel.list()
        assert (tx.kind, tx.role, rx.role, tx.msg_size, tx.capacity) == ("broadcast", "send",
                                                                         "recv", 48, 8)
    Channel.unlink(name)
    assert name not in Channel.list()
    with pytest.raises(FileNotFoundError):
        Channel.stat(name)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to become another user")
def test_permissions_another_user(name):
    Channel.create(name, BROADCAST, msg_size=16, capacity=8, mode=0o644)
    Channel.create(name + "p", SPSC, msg_size=16, capacity=8)  # 0600
    r, w = os.pipe()

    def other_user():
        os.setgid(65534)
        os.setuid(65534)
        with pytest.raises(PermissionError):
            Channel(name + "p", "recv")
        with pytest.raises(PermissionError):
            Channel(name, "send")
        with Channel(name, "recv") as rx:  # read-only: a passive receiver
            os.write(w, b"!")
            assert rx.recv(timeout=10) == b"to everyone"

    try:
        with Channel(name, "send") as tx:
            pid = child(other_user)
            assert os.read(r, 1) == b"!"
            assert Channel.stat(name).receivers == 0, "a passive receiver is not listed"
            tx.send(b"to everyone")
            wait_ok(pid)
    finally:
        Channel.unlink(name + "p")
        os.close(r)
        os.close(w)
