#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A work queue over an MPMC channel: one producer, several worker processes, each job done,
even when a worker is killed (kill -9) while it holds one: that job goes back to the queue
for another worker (so it may be done twice; no job is lost).

    workqueue.py [--kill] [WORKERS [JOBS]]    (defaults: 3 workers, 1000 jobs)

--kill: kill -9 one worker half-way. Prints each worker's share; exit status 1 if a job was
not done.
"""
import os
import signal
import struct
import sys

import shmkit

JOB = struct.Struct("<Q")  # a job: its number
RESULT = struct.Struct("<iQ")  # a result: the worker's pid and the job's number squared


def worker(jobs_name, results_name):
    with shmkit.Channel(jobs_name, "recv") as jobs, shmkit.Channel(results_name, "send") as out:
        for _ in iter(int, 1):
            try:
                job = jobs.peek()  # in place: released only once its result is out
            except BrokenPipeError:
                return  # no job left, and the producer is gone
            with job:
                (n,) = JOB.unpack(job.buffer)
                out.send(RESULT.pack(os.getpid(), n * n))


def main(argv):
    kill = "--kill" in argv
    args = [a for a in argv if a != "--kill"]
    workers = int(args[0]) if args else 3
    count = int(args[1]) if len(args) > 1 else 1000
    base = "workqueue.%d" % os.getpid()
    jobs_name, results_name = base + ".jobs", base + ".results"
    shmkit.Channel.create(jobs_name, shmkit.MPMC, msg_size=JOB.size, capacity=64)
    shmkit.Channel.create(results_name, shmkit.MPMC, msg_size=RESULT.size, capacity=64)
    results = []
    try:
        with shmkit.Channel(results_name, "recv") as rx:
            with shmkit.Channel(jobs_name, "send") as jobs:
                pids = []
                for _ in range(workers):
                    pid = os.fork()
                    if pid == 0:
                        try:
                            worker(jobs_name, results_name)
                        finally:
                            os._exit(0)
                    pids.append(pid)
                for n in range(count):
                    if kill and n == count // 2:
                        os.kill(pids[0], signal.SIGKILL)
                        print("job %d: worker %d killed with kill -9" % (n, pids[0]))
                    while True:
                        try:
                            if jobs.try_send(JOB.pack(n)):
                                break
                        except BrokenPipeError:  # full, and no worker has it open (yet)
                            if not any(os.waitpid(p, os.WNOHANG) == (0, 0) for p in pids[1:]):
                                raise
                        try:  # take results meanwhile
                            results.append(RESULT.unpack(rx.recv(timeout=0.01)))
                        except TimeoutError:
                            pass
            # The jobs' sender is closed: workers stop once the queue is empty.
            results += [RESULT.unpack(r) for r in rx]  # until every worker has closed
        for pid in pids:
            os.waitpid(pid, 0)
    finally:
        shmkit.Channel.unlink(jobs_name)
        shmkit.Channel.unlink(results_name)
    share = {}
    for pid, _ in results:
        share[pid] = share.get(pid, 0) + 1
    done = set(sq for _, sq in results)
    print("%d jobs (%d results) by %d workers: %s" % (
        len(done), len(results), workers, ", ".join(str(share[p]) for p in sorted(share))))
    return 0 if done == set(n * n for n in range(count)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
