# SPDX-License-Identifier: MIT
"""The package's examples run and do what they say."""
import os
import re
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


@pytest.mark.parametrize("args", [["3", "2000"], ["--kill", "3", "3000"]])
def test_workqueue_does_every_job(args):
    r = subprocess.run([sys.executable, os.path.join(EXAMPLES, "workqueue.py")] + args,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.strip().split("\n")
    assert len(lines) == (2 if "--kill" in args else 1), r.stdout
    m = re.match(r"(\d+) jobs \((\d+) results\) by 3 workers: ([\d, ]+)$", lines[-1])
    assert m, r.stdout
    jobs, results = int(m.group(1)), int(m.group(2))
    assert jobs == int(args[-1])
    assert jobs <= results <= jobs + 1  # a job the killed worker held may be done twice
    assert sum(int(x) for x in m.group(3).split(",")) == results
