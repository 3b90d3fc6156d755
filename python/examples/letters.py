#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Letter counts of a text, tallied by several worker processes into one table in a shared
heap, found by name, under a robust mutex that lives in the heap too. The table has two
copies, each with the counts and which chunks they hold, and a word that says which copy is
current: an update writes the other copy and then flips the word, so a worker killed at any
point of one (holding the mutex) leaves the table as it was or as it will be, never half;
the next process takes the mutex over and goes on.

    letters.py [--kill] [WORKERS [CHUNKS]]    (defaults: 3 workers, 30 chunks)

--kill: the first worker kills itself (kill -9) in the middle of an update, mutex held; the
chunks it had not finished are counted by the parent. Exit status 1 if a count is wrong.
"""
import collections
import os
import random
import signal
import string
import sys

import shmkit

LETTERS = string.ascii_lowercase
N = len(LETTERS)


def chunk(i):
    return random.Random(i).choices(LETTERS, k=5000)


def copies(heap, chunks):
    """The table's two copies (N counts, then a done word per chunk) and the word that says
    which is current."""
    table = heap["table"].cast("q")
    size = N + chunks
    return table[0:size], table[size:2 * size], table[2 * size:]


def tally(heap, lock, i, chunks, die_midway=False):
    """Add chunk i's counts to the table, once (the current copy's done word says so)."""
    counts = collections.Counter(chunk(i))
    lock.acquire()
    try:
        if lock.owner_died:  # the table is one of its two copies, whole: nothing to repair
            print("worker %d: took the mutex over from a killed worker" % os.getpid())
            lock.consistent()
        *both, current = copies(heap, chunks)
        cur, new = both[current[0]], both[1 - current[0]]
        if cur[N + i]:
            return
        new[:] = cur  # the other copy: the current one, then this chunk added
        for k, c in enumerate(LETTERS):
            new[k] += counts[c]
            if die_midway and k == N // 2:
                os.kill(os.getpid(), signal.SIGKILL)
        new[N + i] = 1
        current[0] = 1 - current[0]  # the update is in, counts and done word: one word
    finally:
        lock.release()


def worker(name, first, step, chunks, die):
    with shmkit.Heap.open(name) as heap:
        lock = shmkit.Mutex(heap["lock"], 0)
        for i in range(first, chunks, step):
            tally(heap, lock, i, chunks, die and i >= first + step)
        lock.close()


def main(argv):
    kill = "--kill" in argv
    args = [a for a in argv if a != "--kill"]
    workers = int(args[0]) if args else 3
    chunks = int(args[1]) if len(args) > 1 else 30
    name = "letters.%d" % os.getpid()
    with shmkit.Heap.create(name, 1 << 20) as heap:
        try:
            lock = shmkit.Mutex(heap.object("lock", shmkit.sync.SIZE), 0, create=True)
            heap.object("table", 8 * (2 * (N + chunks) + 1))
            pids = []
            for w in range(workers):
                pid = os.fork()
                if pid == 0:
                    code = 1
                    try:
                        worker(name, w, workers, chunks, kill and w == 0)
                        code = 0
                    finally:
                        os._exit(code)
                pids.append(pid)
            for pid in pids:
                _, status = os.waitpid(pid, 0)
                if os.waitstatus_to_exitcode(status) == -signal.SIGKILL:
                    print("worker %d: killed with kill -9, holding the mutex" % pid)
            *both, current = copies(heap, chunks)
            left = [i for i in range(chunks) if not both[current[0]][N + i]]
            for i in left:  # the killed worker's chunks
                tally(heap, lock, i, chunks)
            *both, current = copies(heap, chunks)
            got = {c: both[current[0]][k] for k, c in enumerate(LETTERS)}
            lock.close()
        finally:
            shmkit.Heap.unlink(name)
    want = collections.Counter()
    for i in range(chunks):
        want.update(chunk(i))
    print("%d chunks, %d letters by %d workers (%d counted again by the parent): %s"
          % (chunks, sum(got.values()), workers, len(left),
             "right" if got == dict(want) else "WRONG"))
    return 0 if got == dict(want) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
