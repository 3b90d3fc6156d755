#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Letter counts of a text, tallied by several worker processes into one table in a shared
heap, found by name, under a robust mutex that lives in the heap too. The table has two
copies and a word that says which is current: an update writes the other copy and then
flips the word, so a worker killed in the middle of one (holding the mutex) leaves the
table as it was; the next process takes the mutex over and goes on.

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


def tally(heap, lock, i, die_midway=False):
    """Add chunk i's counts to the table, once (its done flag says so)."""
    table, done = heap["table"].cast("q"), heap["done"]
    counts = collections.Counter(chunk(i))
    lock.acquire()
    try:
        if lock.owner_died:  # the table is one of its two copies, whole: nothing to repair
            print("worker %d: took the mutex over from a killed worker" % os.getpid())
            lock.consistent()
        if done[i]:
            return
        cur = table[2 * N]
        new = 1 - cur
        for k, c in enumerate(LETTERS):
            table[new * N + k] = table[cur * N + k] + counts[c]
            if die_midway and k == N // 2:
                os.kill(os.getpid(), signal.SIGKILL)
        table[2 * N] = new  # the update is in: one word
        done[i] = 1
    finally:
        lock.release()
        del table, done


def worker(name, first, step, chunks, die):
    with shmkit.Heap.open(name) as heap:
        lock = shmkit.Mutex(heap["lock"], 0)
        for i in range(first, chunks, step):
            tally(heap, lock, i, die and i >= first + step)
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
            heap.object("table", 8 * (2 * N + 1))
            heap.object("done", chunks)
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
            left = [i for i in range(chunks) if not heap["done"][i]]
            for i in left:  # the killed worker's chunks
                tally(heap, lock, i)
            table = heap["table"].cast("q")
            cur = table[2 * N]
            got = {c: table[cur * N + k] for k, c in enumerate(LETTERS)}
            del table
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
