# SPDX-License-Identifier: MIT
"""The package's examples run and do what they say."""
import os
import re
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def run(example, args):
    """Run python/examples/<example> with args: its output's lines (it must exit 0)."""
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, example)] + args,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip().split("\n")


@pytest.mark.parametrize("args", [["3", "2000"], ["--kill", "3", "3000"]])
def test_workqueue_does_every_job(args):
    lines = run("workqueue.py", args)
    assert len(lines) == (2 if "--kill" in args else 1), lines
    m = re.match(r"(\d+) jobs \((\d+) results\) by 3 workers: ([\d, ]+)$", lines[-1])
    assert m, lines
    jobs, results = int(m.group(1)), int(m.group(2))
    assert jobs == int(args[-1])
    assert jobs <= results <= jobs + 1  # a job the killed worker held may be done twice
    assert sum(int(x) for x in m.group(3).split(",")) == results


@pytest.mark.parametrize("args", [["3", "30"], ["--kill", "3", "30"]])
def test_letters_counts_right_when_a_worker_dies_mid_update(args):
    lines = run("letters.py", args)
    m = re.match(r"30 chunks, 150000 letters by 3 workers \((\d+) counted again by the "
                 r"parent\): right$", lines[-1])
    assert m, lines
    if "--kill" in args:
        assert any("killed with kill -9, holding the mutex" in x for x in lines), lines
        assert any("took the mutex over" in x for x in lines), lines
        assert 0 < int(m.group(1)) <= 10  # the killed worker's chunks but its first
    else:
        assert int(m.group(1)) == 0 and len(lines) == 1
