# SPDX-License-Identifier: MIT
"""Managed segments (shmkit_heap(3)): an allocator whose memory and bookkeeping live in one
shared object, and objects found by name.

    import shmkit
    with shmkit.Heap.create("state", 1 << 20) as heap:       # once, by one process
        counts = heap.object("counts", 8 * 64).cast("q")     # zeroed, by name
        counts[3] += 1
    with shmkit.Heap.open("state") as heap:                   # any other process
        print(heap["counts"].cast("q")[3])

A heap is mapped at a different address in each process, so everything in it is named by
an offset from its start (alloc() returns one, view() makes it memory); offsets are the same
in every process. Views are memoryviews of the shared memory itself (numpy.frombuffer,
ctypes' from_buffer and struct take them), slices of a mapping of the heap's file that lives
as long as they do: they stay valid after the heap is closed, whatever collects them when.
A process killed at any point leaves a heap that the next caller repairs.
"""
import errno
import mmap
import os
import threading
import weakref
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

from ._ffi import ffi, lib
from ._util import _check, _count, _error

MIN_SIZE = lib.SHMKIT_HEAP_MIN_SIZE
MAX_SIZE = lib.SHMKIT_HEAP_MAX_SIZE
NAME_MAX = lib.SHMKIT_HEAP_NAME_MAX
ALIGN = lib.SHMKIT_HEAP_ALIGN

# Open heaps' states: a fork child (whose inherited handles work) gets fresh locks for them.
_open = weakref.WeakSet()


def _after_fork_in_child():
    for st in list(_open):
        st.lock = threading.RLock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _heap_name(name):
    if not isinstance(name, str):
        raise TypeError("a heap name is a str, not %s" % type(name).__name__)
    if "\0" in name:
        raise ValueError("embedded null character in a heap name")
    return name.encode()


def _object_name(name):
    """An object's name: 1..NAME_MAX bytes (UTF-8; bytes that are not come back as the
    surrogates os.fsdecode makes of them)."""
    if not isinstance(name, str):
        raise TypeError("an object name is a str, not %s" % type(name).__name__)
    b = name.encode("utf-8", "surrogateescape")
    if not b or len(b) > NAME_MAX or b"\0" in b:
        raise ValueError("an object name is 1..%d bytes without a null character, not %r"
                         % (NAME_MAX, name))
    return b


_walk = threading.local()  # the exception a names() walk's callback raised, in this thread


def _collect_failed(kind, value, tb):
    _walk.failed = value  # names() raises it; the walk stops (the callback returns 1)


@ffi.callback("int(const char *, uint64_t, uint64_t, void *)", error=1, onerror=_collect_failed)
def _collect(name, off, size, arg):
    ffi.from_handle(arg).append(
        (ffi.string(name).decode("utf-8", "surrogateescape"), int(off), int(size)))
    return 0


class _State:
    """The C handle, held by the Heap and by each call in progress: the last of them gone
    (the heap closed or dropped, no call in progress in another thread), it is closed; no
    count that an interrupted call could leave wrong. Views do not hold it: they are slices
    of map, an mmap of the heap's file of the views' own, which the buffer protocol keeps
    while any of them lives (no finalizer of ours guards that memory: garbage collection
    and interpreter shutdown can take things in any order)."""

    def __init__(self, holder, readonly):
        self.holder = holder  # shmkit_heap_t **, shared with the opening Heap: one owner
        self.lock = threading.RLock()  # map's growth; re-entrant: a signal handler may call
        self.map = None  # the mmap new views are cut from, None before the first
        self.access = mmap.ACCESS_READ if readonly else mmap.ACCESS_WRITE
        _open.add(self)

    @property
    def h(self):
        return self.holder[0]

    def mapping(self, end):
        """An mmap of the heap's file reaching offset end at least (under lock): map, or a
        new one of the file's whole size if the heap grew past it (the old one stays for the
        views made from it)."""
        if self.map is None or len(self.map) < end:
            fd = _check(lib.shmkit_heap_fd(self.h), "fileno")
            self.map = mmap.mmap(fd, max(os.fstat(fd).st_size, end), access=self.access)
        return self.map

    def __del__(self):
        _close_holder(self.holder)


def _close_holder(holder):
    """Close the handle holder holds, once: the holder is emptied first."""
    h = holder[0]
    if h != ffi.NULL:
        holder[0] = ffi.NULL
        lib.shmkit_heap_close(h)


@dataclass
class HeapReport:
    """What check() found (shmkit_heap_check): bytes unless said otherwise;
    size == meta + used + free + slack + leaked."""

    size: int  # bytes of the object now
    max_size: int  # bytes it may grow to
    meta: int  # header, page descriptors and the name table
    used: int  # allocations (their usable sizes), named objects included
    free: int  # allocatable (cached blocks included)
    slack: int  # run tails too small for a slot, pages fenced off by repairs
    leaked: int  # neither free nor reachable
    largest_free: int  # the largest allocation that would succeed without growing
    blocks: int  # allocations
    leaked_blocks: int
    named: int  # named objects
    damage: int  # inconsistencies found now, plus those repairs fenced off before
    repairs: int  # repairs done after a process died holding a heap lock
    cached: int  # free blocks that handles keep for their next allocation
    first_problem: str  # what the first leak or damage was, "" if none
    leaks_found: bool  # leaks were found (and given back, with repair=True)
    damaged: bool  # damage was found

    @property
    def ok(self) -> bool:
        return not self.leaks_found and not self.damaged


class Heap:
    """An open heap. Threads may share it (its calls run in parallel). A fork child may use
    the handle it inherits. Open it anew (by name, or from fileno()) in any other
    process."""

    def __init__(self, _token=None):
        if _token is not _PRIVATE:
            raise TypeError("use Heap.create(), Heap.open(), Heap.from_fd() or "
                            "Heap.create_fd()")
        self._s = None  # first: a heap that failed to open has nothing to close
        self._opening = ffi.new("shmkit_heap_t **")  # closed by __del__ until a state has it
        self.created = False

    def _opened(self, r, readonly, name):
        self.name, self.readonly, self.created = name, readonly, r == 1
        self._s = _State(self._opening, readonly)  # the state closes it from now on
        self._opening = None
        return self

    @classmethod
    def create(cls, name: str, size: int, *, max_size: int = 0, mode: int = 0o600,
               exist_ok: bool = False) -> "Heap":
        """Create heap name of size bytes (rounded up to the page size, MIN_SIZE at least)
        that grows, when an allocation does not fit, up to max_size (0: never grows); mode
        the permission bits of its object (0: 0600; the umask does not apply).
        FileExistsError if the name exists, unless exist_ok: then the existing heap is
        opened (its own sizes apply) and .created is False."""
        self = cls(_PRIVATE)
        o = _opts(size, max_size, mode, lib.SHMKIT_HEAP_OPEN if exist_ok else 0)
        r = lib.shmkit_heap_create_opts(self._opening, _heap_name(name), o)
        return self._opened(_created(r, "create %s" % name), False, name)

    @classmethod
    def open(cls, name: str, *, readonly: bool = False) -> "Heap":
        """Open heap name; readonly maps it read-only (views are read-only, allocating,
        freeing and unnaming raise PermissionError)."""
        self = cls(_PRIVATE)
        r = lib.shmkit_heap_open(self._opening, _heap_name(name), _flags(readonly))
        return self._opened(_check(r, "open %s" % name), bool(readonly), name)

    @classmethod
    def create_fd(cls, fd: int, size: int, *, max_size: int = 0) -> "Heap":
        """Make a heap in the file behind fd (os.memfd_create's, or a file on tmpfs),
        resizing it to size. The heap keeps a descriptor of its own; the caller still owns
        fd. Another process opens it with Heap.from_fd() on a descriptor of that file (passed
        with socket.send_fds, or inherited)."""
        self = cls(_PRIVATE)
        o = _opts(size, max_size, 0, 0)
        r = lib.shmkit_heap_create_fd(self._opening, _fd(fd), o)
        return self._opened(_created(r, "create on descriptor %d" % fd), False, None)

    @classmethod
    def from_fd(cls, fd: int, *, readonly: bool = False) -> "Heap":
        """Open the heap in the file behind fd (the caller still owns fd)."""
        self = cls(_PRIVATE)
        r = lib.shmkit_heap_open_fd(self._opening, _fd(fd), _flags(readonly))
        return self._opened(_check(r, "open descriptor %d" % fd), bool(readonly), None)

    @staticmethod
    def unlink(name: str):
        """Remove the name; open heaps keep working."""
        _check(lib.shmkit_heap_unlink(_heap_name(name)), "unlink %s" % name)

    def __copy__(self):
        raise TypeError("a heap handle cannot be copied: open the heap again")

    def __deepcopy__(self, memo):
        raise TypeError("a heap handle cannot be copied: open the heap again")

    def __reduce__(self):
        raise TypeError("a heap handle cannot be pickled: open the heap by its name or "
                        "descriptor")

    # -- the handle --

    def _run(self, fn):
        """fn(state): the call holds the state, and so the mapping (ValueError once
        closed)."""
        s = self._s
        if s is None:
            raise ValueError("the heap is closed")
        return fn(s)

    @property
    def closed(self) -> bool:
        return self._s is None

    def close(self):
        """Close the handle (the heap stays as it is, for the others): at once, or when a
        call in progress in another thread returns. Views stay valid."""
        self._s = None  # the state goes, closing the handle, with the last call holding it

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        # The state closes the handle; one opened without a state (an interrupted open) is
        # closed here.
        if getattr(self, "_opening", None) is not None:
            _close_holder(self._opening)

    def __repr__(self):
        what = repr(self.name) if self.name is not None else "descriptor"
        return "<shmkit.Heap %s%s%s>" % (what, " read-only" if self.readonly else "",
                                         " closed" if self.closed else "")

    def fileno(self) -> int:
        """The descriptor of the heap's file (owned by the heap: dup it to keep it), to
        pass to another process."""
        return self._run(lambda s: _check(lib.shmkit_heap_fd(s.h), "fileno"))

    # -- allocations --

    def alloc(self, size: int) -> int:
        """Allocate size zeroed bytes (ALIGN-aligned): their offset. OSError ENOMEM when
        nothing fits (the heap grown as far as it may)."""
        n = _count("size", size, 2**64 - 1)
        off = ffi.new("uint64_t *")
        self._run(lambda s: _check(lib.shmkit_heap_alloc(s.h, n, off), "alloc %d bytes" % n))
        return int(off[0])

    def free(self, off: int):
        """Free the allocation at off (any process may free any allocation). ValueError if
        off is not the start of a live allocation (a double free, a block's inside, a named
        object: unname it). Views of it stay mapped, and show what the heap puts there next,
        as memory freed in C does."""
        o = _count("offset", off, 2**64 - 1)

        def free(s):
            r = lib.shmkit_heap_free(s.h, o)
            if r == -errno.EINVAL:
                raise ValueError("offset %d is not the start of a live allocation (a named "
                                 "object: unname it)" % o)
            _check(r, "free")

        self._run(free)

    def usable_size(self, off: int) -> int:
        """Bytes usable at the allocation at off (its size class): ValueError if off is
        not the start of a live allocation (a named object's size is find()'s)."""
        o = _count("offset", off, 2**64 - 1)
        return self._run(lambda s: _usable(s, o))

    def view(self, off: int, size: Optional[int] = None) -> memoryview:
        """The size bytes at offset off as a memoryview of the shared memory (read-only on
        a read-only heap); size None: the allocation's usable size. ValueError for a range
        outside the heap."""
        o = _count("offset", off, 2**64 - 1)
        n = None if size is None else _count("size", size, 2**64 - 1 - o)
        return self._run(lambda s: _view(s, o, _usable(s, o) if n is None else n))

    # -- named objects --

    def named(self, name: str, size: int) -> Tuple[int, bool]:
        """Find the object called name, or allocate size zeroed bytes under that name (of
        processes racing for one name exactly one creates it): (offset, created). ValueError
        if it exists with fewer than size bytes; FileNotFoundError on a read-only heap
        where it does not exist."""
        b = _object_name(name)
        n = _count("size", size, 2**64 - 1)
        return self._run(lambda s: _named(s, name, b, n))

    def object(self, name: str, size: int) -> memoryview:
        """A view of the object called name (created, zeroed, with size bytes if it does not
        exist; as named()): its first size bytes."""
        b = _object_name(name)
        n = _count("size", size, 2**64 - 1)

        return self._run(lambda s: _view(s, _named(s, name, b, n)[0], n))

    def find(self, name: str) -> Tuple[int, int]:
        """(offset, size) of the object called name; KeyError if there is none."""
        b = _object_name(name)
        return self._run(lambda s: _find(s, name, b))

    def __getitem__(self, name: str) -> memoryview:
        """A view of the whole object called name; KeyError if there is none."""
        b = _object_name(name)

        return self._run(lambda s: _view(s, *_find(s, name, b)))

    def __contains__(self, name) -> bool:
        try:
            _object_name(name)
        except (TypeError, ValueError):
            return False  # no object can have that name
        try:
            self.find(name)
        except KeyError:
            return False
        return True

    def unname(self, name: str):
        """Forget the name and free its object (views of it as after free()). KeyError if
        there is no such name."""
        b = _object_name(name)

        def unname(s):
            r = lib.shmkit_heap_unname(s.h, b)
            if r == -errno.ENOENT:
                raise KeyError(name)
            _check(r, "unname %r" % name)

        self._run(unname)

    __delitem__ = unname

    def names(self) -> Dict[str, Tuple[int, int]]:
        """Every named object: name -> (offset, size), from one snapshot of the table."""
        found = []
        keep = ffi.new_handle(found)

        def walk(s):
            _walk.failed = None
            r = lib.shmkit_heap_names(s.h, _collect, keep)
            failed, _walk.failed = _walk.failed, None
            if failed is not None:
                raise failed
            _check(r, "names")

        self._run(walk)
        return {name: (off, size) for name, off, size in found}

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.names()))

    def __len__(self) -> int:
        return len(self.names())

    # -- checking --

    def check(self, repair: bool = False) -> HeapReport:
        """Walk the whole heap (shmkit_heap_check); repair gives leaked blocks back."""
        r = ffi.new("struct shmkit_heap_report *")
        flags = lib.SHMKIT_HEAP_CHECK_REPAIR if repair else 0
        res = self._run(lambda s: lib.shmkit_heap_check(s.h, r, flags))
        if res < 0 and res != -errno.EBADMSG:
            raise _error(res, "check")
        fields = {f: int(getattr(r, f)) for f in (
            "size", "max_size", "meta", "used", "free", "slack", "leaked", "largest_free",
            "blocks", "leaked_blocks", "named", "damage", "repairs", "cached")}
        return HeapReport(first_problem=ffi.string(r.first_problem).decode(errors="replace"),
                          leaks_found=res == 1, damaged=res == -errno.EBADMSG, **fields)


def _usable(s, off):
    size = ffi.new("uint64_t *")
    r = lib.shmkit_heap_usable_size(s.h, off, size)
    if r == -errno.EINVAL:
        raise ValueError("offset %d is not the start of a live allocation (a named object's "
                         "view: heap[name])" % off)
    _check(r, "usable size")
    return int(size[0])


def _view(s, off, size):
    """A view of offsets off..off+size, checked against the heap (the C handle maps what it
    grew to meanwhile)."""
    if off == 0:
        raise ValueError("offset 0 is the null offset")
    p = lib.shmkit_heap_ptr(s.h, off)
    last = lib.shmkit_heap_ptr(s.h, off + size - 1) if size else p
    if p == ffi.NULL or last == ffi.NULL or last - p != max(size - 1, 0):
        raise ValueError("offsets %d..%d are not inside the heap" % (off, off + size))
    with s.lock:
        return memoryview(s.mapping(off + size))[off:off + size]


def _named(s, name, b, n):
    off = ffi.new("uint64_t *")
    r = lib.shmkit_heap_named(s.h, b, n, off)
    if r == -errno.EINVAL:
        raise ValueError("object %r exists, smaller than %d bytes" % (name, n))
    return int(off[0]), _check(r, "object %r" % name) == 1


def _find(s, name, b):
    off, size = ffi.new("uint64_t *"), ffi.new("uint64_t *")
    r = lib.shmkit_heap_find(s.h, b, off, size)
    if r == -errno.ENOENT:
        raise KeyError(name)
    _check(r, "find %r" % name)
    return int(off[0]), int(size[0])


_PRIVATE = object()


def _opts(size, max_size, mode, flags):
    o = ffi.new("struct shmkit_heap_opts *")
    o.size = _count("size", size, MAX_SIZE)
    o.max_size = _count("max_size", max_size, MAX_SIZE)
    if o.size < MIN_SIZE:
        raise ValueError("a heap has %d bytes at least, not %d" % (MIN_SIZE, o.size))
    if o.max_size and o.max_size < o.size:
        raise ValueError("max_size %d is below size %d" % (o.max_size, o.size))
    o.mode = _count("mode", mode, 0o777)
    o.flags = flags
    return o


def _created(r, what):
    if r == -errno.EINVAL:  # what only the library checks
        raise ValueError("%s: invalid argument (the name; max_size's page descriptors, 1/64 "
                         "of it, must fit in size; a file of huge pages cannot hold a heap)"
                         % what)
    return _check(r, what)


def _flags(readonly):
    return lib.SHMKIT_HEAP_RDONLY if readonly else 0


def _fd(fd):
    if isinstance(fd, bool) or not isinstance(fd, int):
        raise TypeError("a descriptor is an int, not %s" % type(fd).__name__)
    if not 0 <= fd < 2**31:
        raise ValueError("%d is not a descriptor" % fd)
    return fd
