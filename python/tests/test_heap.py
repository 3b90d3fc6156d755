# SPDX-License-Identifier: MIT
"""shmkit.Heap: allocations and named objects in one shared object, across processes and
threads; views that cannot outlive the mapping; read-only handles; growth; descriptors."""
import copy
import ctypes
import errno
import os
import pickle
import struct
import subprocess
import sys
import threading

import pytest

import shmkit
from shmkit import Heap, Mutex
from conftest import PREFIX, _seq
from procs import child, kill, started, wait_ok

MiB = 1 << 20


@pytest.fixture
def hname():
    """A fresh heap name, removed after the test (whatever it left)."""
    n = PREFIX + "heap." + str(next(_seq))
    yield n
    try:
        Heap.unlink(n)
    except FileNotFoundError:
        pass


@pytest.fixture
def heap(hname):
    h = Heap.create(hname, MiB)
    yield h
    import gc

    gc.collect()  # a failed test's views go first
    h.close()


def test_create_open_unlink(hname):
    with Heap.create(hname, MiB, mode=0o640) as h:
        assert h.created and not h.readonly and h.name == hname
        assert os.stat("/dev/shm/" + hname).st_mode & 0o777 == 0o640
        with pytest.raises(FileExistsError):
            Heap.create(hname, MiB)
        with Heap.create(hname, 2 * MiB, exist_ok=True) as again:
            assert not again.created
            assert again.check().size == MiB  # the existing heap's size applies
    Heap.unlink(hname)
    with pytest.raises(FileNotFoundError):
        Heap.open(hname)
    with pytest.raises(FileNotFoundError):
        Heap.unlink(hname)


def test_bad_arguments(hname, heap):
    with pytest.raises(ValueError):
        Heap.create(hname + "x", shmkit.heap.MIN_SIZE - 1)
    with pytest.raises(ValueError):
        Heap.create(hname + "x", 2 * MiB, max_size=MiB)
    with pytest.raises(TypeError):
        Heap.create(b"bytes", MiB)
    with pytest.raises(ValueError):
        Heap.create("a\0b", MiB)
    with pytest.raises(TypeError):
        Heap()
    with pytest.raises(TypeError):
        heap.alloc("10")
    with pytest.raises(ValueError):
        heap.alloc(-1)
    with pytest.raises(ValueError):
        heap.view(0, 8)  # the null offset
    with pytest.raises(ValueError):
        heap.view(MiB - 8, 16)  # beyond the end
    for bad in ("", "x" * 256, "a\0b"):
        with pytest.raises(ValueError):
            heap.named(bad, 8)
        assert bad not in heap
    with pytest.raises(TypeError):
        heap.find(b"bytes")
    assert not os.path.exists("/dev/shm/" + hname + "x")


def test_alloc_free_usable_size(heap):
    offs = [heap.alloc(n) for n in (0, 1, 16, 100, 4000, 70000)]
    assert len(set(offs)) == len(offs)
    for off, n in zip(offs, (0, 1, 16, 100, 4000, 70000)):
        assert off % shmkit.heap.ALIGN == 0
        assert heap.usable_size(off) >= max(n, 1)
        v = heap.view(off)
        assert len(v) == heap.usable_size(off) and not v.readonly
        assert bytes(v) == bytes(len(v))  # zeroed
        v[:] = b"\xab" * len(v)
        del v
    for off in offs:
        heap.free(off)
    with pytest.raises(ValueError):
        heap.free(offs[-1])  # a double free
    with pytest.raises(ValueError):
        heap.free(offs[-1] + 16)  # inside a block
    with pytest.raises(ValueError):
        heap.usable_size(offs[-1])
    heap.free(0)  # the null offset: nothing
    again = heap.alloc(100)
    assert bytes(heap.view(again, 100)) == bytes(100)  # zeroed again
    heap.free(again)
    assert heap.check().blocks == 0


def test_full_heap_says_enomem(heap):
    offs = []
    with pytest.raises(OSError) as e:
        while True:
            offs.append(heap.alloc(64 * 1024))
    assert e.value.errno == errno.ENOMEM and 8 <= len(offs) < 16
    heap.free(offs.pop())
    offs.append(heap.alloc(64 * 1024))  # room again
    for off in offs:
        heap.free(off)


def test_views_outlive_the_handle_and_free(heap):
    off = heap.alloc(64)
    v = heap.view(off, 64)
    inner = heap.view(off + 16, 8)
    as_int = ctypes.c_int64.from_buffer(inner)  # an export of a view
    words = heap.view(off, 64).cast("q")  # a cast of a dropped view
    heap.free(off)  # as in C: the views stay mapped, the block is the heap's again
    again = heap.alloc(64)
    assert again == off  # handed out again: what the views show now
    heap.view(again, 8)[:] = b"reused.."
    assert bytes(v[:8]) == b"reused.."
    heap.close()
    with pytest.raises(ValueError):
        heap.alloc(8)
    heap.close()  # twice is fine
    assert heap.closed and "closed" in repr(heap)
    as_int.value = 42  # every view still valid after the close
    assert words[2] == 42 and struct.unpack("<q", v[16:24])[0] == 42
    del v, inner, as_int, words


def mapped(hname):
    """How many of this process's mappings are of heap hname's file."""
    ino = os.stat("/dev/shm/" + hname).st_ino
    with open("/proc/self/maps") as f:
        return sum(len(line.split()) > 5 and int(line.split()[4]) == ino for line in f)


def test_the_mapping_goes_with_the_last_view(hname):
    with Heap.create(hname, MiB) as h:
        words = h.object("w", 16).cast("q")
        kept = h.view(h.find("w")[0], 8)
        assert mapped(hname) == 2  # the handle's, and the views'
    assert h.closed and mapped(hname) == 1  # the views' only
    with pytest.raises(ValueError):
        h.alloc(8)  # no call after the block
    words[1] = 9
    del words
    assert mapped(hname) == 1
    kept.release()  # the last one: unmapped now
    assert mapped(hname) == 0
    with Heap.open(hname) as h:
        assert h["w"].cast("q")[1] == 9
    assert mapped(hname) == 0


def test_many_views_take_one_mapping_and_no_descriptor(heap, hname):
    fds = len(os.listdir("/proc/self/fd"))
    off = heap.alloc(4096)
    views = [heap.view(off + i % 4096, 1) for i in range(5000)]
    assert len(os.listdir("/proc/self/fd")) <= fds + 1 and mapped(hname) == 2
    del views


def test_views_survive_any_order_of_collection(tmp_path):
    """A view read by a finalizer in a garbage cycle, and at interpreter exit: the mapping
    is still there (no segfault)."""
    script = tmp_path / "order.py"
    script.write_text(
        "import gc, os, shmkit\n"
        "name = 'pytest-shmkit-order.%d' % os.getpid()\n"
        "class Reader:\n"
        "    def __del__(self):\n"
        "        print('read', self.view.cast('q')[0], flush=True)\n"
        "h = shmkit.Heap.create(name, 1 << 20)\n"
        "shmkit.Heap.unlink(name)\n"
        "v = h.object('n', 8)\n"
        "v.cast('q')[0] = 5\n"
        "r = Reader(); r.view = v; r.heap = h; r.self = r\n"
        "del r\n"
        "gc.collect()\n"  # a cycle: the heap, its view, a finalizer reading it
        "at_exit = Reader(); at_exit.view = h.object('n', 8); at_exit.heap = h\n"
        "del v, h\n")  # the interpreter's shutdown takes the rest
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.split("\n")[:2] == ["read 5", "read 5"], r.stdout + r.stderr


def test_a_dropped_heap_outlives_its_views(hname):
    h = Heap.create(hname, MiB)
    v = h.object("n", 8).cast("q")
    del h  # the views hold it: no unmapping under them
    v[0] = 7
    assert v[0] == 7
    del v  # now it goes, unmapped
    with Heap.open(hname) as h:
        assert h["n"].cast("q")[0] == 7


def test_named_objects(heap):
    off, created = heap.named("config", 100)
    assert created
    assert heap.named("config", 50) == (off, False)
    with pytest.raises(ValueError):
        heap.named("config", 200)  # bigger than it is
    assert heap.find("config") == (off, 100)
    heap["config"][:5] = b"hello"
    assert bytes(heap.object("config", 5)) == b"hello"
    with pytest.raises(ValueError):
        heap.free(off)  # named: unname it
    heap.object("a", 8)
    heap.object("\u00e9t\u00e9", 8)  # not ASCII
    assert list(heap) == sorted(["config", "a", "\u00e9t\u00e9"]) and len(heap) == 3
    names = heap.names()
    assert names["config"] == (off, 100) and names["a"][1] == 8
    assert "config" in heap and "nope" not in heap
    with pytest.raises(KeyError):
        heap["nope"]
    view = heap["config"]
    del heap["config"]
    assert bytes(view[:5]) == b"hello"  # still mapped: the memory is the heap's again
    view.release()
    with pytest.raises(KeyError):
        heap.unname("config")
    assert "config" not in heap and len(heap) == 2
    heap.unname("a")
    heap.unname("\u00e9t\u00e9")
    assert heap.check().named == 0


def test_processes_share_the_memory(hname, heap):
    counts = heap.object("counts", 8 * 4).cast("q")

    def bump():
        with Heap.open(hname) as h:
            c = h["counts"].cast("q")
            c[1] += 10
            off = h.alloc(16)
            h.view(off, 16)[:] = b"from the child.."
            h.object("where", 8).cast("Q")[0] = off

    wait_ok(child(bump))
    assert counts[1] == 10
    off = heap["where"].cast("Q")[0]
    assert bytes(heap.view(off, 16)) == b"from the child.."
    heap.free(off)  # any process frees any block

    def inherited():  # a fork child may use the handle it inherits
        counts[2] = 5
        o = heap.alloc(8)
        heap.free(o)

    wait_ok(child(inherited))
    assert counts[2] == 5
    counts.release()


def test_exactly_one_process_creates_a_name(hname, heap):
    r, w = os.pipe()

    def race():
        with Heap.open(hname) as h:
            off, created = h.named("once", 64)
            os.write(w, struct.pack("<Q?", off, created))

    pids = [child(race) for _ in range(6)]
    for pid in pids:
        wait_ok(pid)
    os.close(w)
    got = [struct.unpack("<Q?", os.read(r, 9)) for _ in pids]
    os.close(r)
    assert len({off for off, _ in got}) == 1
    assert sum(created for _, created in got) == 1
    assert heap.find("once") == (got[0][0], 64)


def test_read_only_handle(hname, heap):
    heap.object("x", 8)[:] = b"12345678"
    with Heap.open(hname, readonly=True) as ro:
        assert ro.readonly and "read-only" in repr(ro)
        v = ro["x"]
        assert v.readonly and bytes(v) == b"12345678"
        with pytest.raises(TypeError):
            v[0] = 0
        del v
        for call in (lambda: ro.alloc(8), lambda: ro.unname("x")):
            with pytest.raises(PermissionError):
                call()
        with pytest.raises(FileNotFoundError):
            ro.named("absent", 8)  # found, never created
        assert ro.named("x", 8)[1] is False
        assert ro.check().named == 1


def test_growth_is_seen_by_every_handle(hname):
    with pytest.raises(ValueError):  # max_size's page descriptors do not fit in size
        Heap.create(hname, 64 * 1024, max_size=8 * MiB)
    with Heap.create(hname, 256 * 1024, max_size=8 * MiB) as h:
        with Heap.open(hname) as other:
            offs = []
            for i in range(64):
                off = other.alloc(64 * 1024)
                other.view(off, 8)[:] = struct.pack("<Q", i)
                offs.append(off)
            assert max(offs) > 256 * 1024  # beyond what h mapped at first
            for i, off in enumerate(offs):  # h maps the grown part on demand
                assert struct.unpack("<Q", h.view(off, 8))[0] == i
            assert h.check().size > 256 * 1024
            for off in offs:
                h.free(off)
        with pytest.raises(OSError) as e:
            h.alloc(16 * MiB)
        assert e.value.errno == errno.ENOMEM


def test_memfd_heap_passed_by_descriptor():
    fd = os.memfd_create("pytest-shmkit-heap")
    try:
        with Heap.create_fd(fd, MiB) as h:
            assert h.created and h.name is None and "descriptor" in repr(h)
            h.object("n", 8).cast("q")[0] = 3
            mine = h.fileno()
            assert os.path.samestat(os.fstat(mine), os.fstat(fd))

            def opened_from_fd():
                with Heap.from_fd(fd) as there:
                    there["n"].cast("q")[0] += 1

            wait_ok(child(opened_from_fd))
            assert h["n"].cast("q")[0] == 4
        with pytest.raises(FileExistsError):
            Heap.create_fd(fd, MiB)  # a heap already
        with pytest.raises(TypeError):
            Heap.from_fd("3")
    finally:
        os.close(fd)


def test_a_mutex_in_the_heap(hname, heap):
    off, created = heap.named("lock", 16)
    lock = Mutex(heap.view(off, 16), 0, create=created)
    total = heap.object("total", 8).cast("q")
    n = 500

    def work():
        with Heap.open(hname) as h:
            m = Mutex(h["lock"], 0)
            t = h["total"].cast("q")
            for _ in range(n):
                with m:
                    t[0] += 1
            m.close()
            del t

    pids = [child(work) for _ in range(3)]
    for pid in pids:
        wait_ok(pid)
    assert total[0] == 3 * n
    heap.close()
    with lock:  # its bytes stay mapped with it
        total[0] += 1
    assert total[0] == 3 * n + 1
    lock.close()
    del total


def test_a_killed_process_leaves_the_heap_usable(hname, heap):
    def hold():
        h = Heap.open(hname)
        for _ in range(100):
            h.alloc(24)  # its handle caches blocks too
        h.object("alive", 8)

    kill(started(hold))
    report = heap.check()
    assert report.damage == 0 and report.named == 1
    offs = [heap.alloc(24) for _ in range(1000)]
    assert len(set(offs)) == 1000
    for off in offs:
        heap.free(off)


def test_threads_share_a_handle(heap):
    seen, errors = [], []

    def work(k):
        try:
            mine = []
            for i in range(300):
                off = heap.alloc(32)
                heap.view(off, 8)[:] = struct.pack("<Q", k * 1000 + i)
                mine.append((off, k * 1000 + i))
            for off, v in mine:
                assert struct.unpack("<Q", heap.view(off, 8))[0] == v
            seen.extend(off for off, _ in mine)
            for off, _ in mine:
                heap.free(off)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(seen) == 1200
    assert heap.check().blocks == 0


def test_check_reports(heap):
    offs = [heap.alloc(100) for _ in range(10)]
    r = heap.check()
    assert r.ok and r.blocks == 10 and r.damage == 0 and r.first_problem == ""
    assert r.size == r.meta + r.used + r.free + r.slack + r.leaked
    assert heap.check(repair=True).ok
    for off in offs:
        heap.free(off)


def test_no_copies(heap):
    for make in (copy.copy, copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError):
            make(heap)


def test_a_read_only_view_reaches_no_writable_memory(hname, heap):
    heap.object("x", 16)
    with Heap.open(hname, readonly=True) as ro:
        v = ro["x"]
        with pytest.raises(TypeError):
            v.obj[0:1] = b"A"  # what the view is made of is read-only too
        with pytest.raises(TypeError):
            Mutex(v, 0)  # nothing may write through it
        with pytest.raises(TypeError):
            Mutex(v.obj, 0)
        assert ro.view(ro.find("x")[0], 0).tobytes() == b""
        del v


def test_a_heap_in_a_cycle_with_its_view_is_unmapped(hname):
    import gc

    h = Heap.create(hname, MiB)
    holder = {"heap": h, "view": h.object("v", 8)}
    holder["self"] = holder
    del h, holder
    gc.collect()
    assert mapped(hname) == 0


def test_names_raises_what_its_callback_raised(heap, monkeypatch):
    heap.object("a", 8)

    class Failing:
        def append(self, item):
            raise RuntimeError("the walk's callback failed")

    monkeypatch.setattr(shmkit.heap.ffi, "from_handle", lambda h: Failing())
    with pytest.raises(RuntimeError, match="callback failed"):
        heap.names()
    monkeypatch.undo()
    assert list(heap) == ["a"]


def test_threads_view_and_unname_at_once(heap):
    stop, errors = threading.Event(), []

    def viewer():
        while not stop.is_set():
            try:
                v = heap["x"]
            except KeyError:
                continue
            except BaseException as e:
                errors.append(e)
                return
            v[0] = 1  # whatever was unnamed meanwhile, the memory is mapped
            v.release()

    t = threading.Thread(target=viewer)
    t.start()
    try:
        for _ in range(3000):
            heap.object("x", 8).release()
            try:
                del heap["x"]
            except KeyError:
                pass
    finally:
        stop.set()
        t.join()
    assert not errors
    assert heap.check().damage == 0


def test_arguments_beyond_the_range(hname, heap):
    with pytest.raises(ValueError):
        heap.view(2**64 - 1, 2)
    with pytest.raises(ValueError):
        heap.view(16, 2**64)
    with pytest.raises(ValueError):
        Heap.from_fd(2**40)
    for bad in ("", "a/b"):
        with pytest.raises(ValueError):
            Heap.create(bad, MiB)
    off, _ = heap.named("n", 8)
    with pytest.raises(ValueError, match="heap\\[name\\]"):
        heap.view(off)  # a named object's size is its own: heap["n"]
    assert len(heap["n"]) == 8
