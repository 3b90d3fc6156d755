# SPDX-License-Identifier: MIT
"""The binding's declarations (shmkit/_ffi.py) against what the C compiler makes of
<shmkit/chan.h>, <shmkit/sync.h> and <shmkit/heap.h>: every size, offset and constant the
binding uses."""
import json
import os
import re
import subprocess

import pytest

from shmkit._ffi import ffi, lib


@pytest.fixture(scope="module")
def probe():
    path = os.environ.get("SHMKIT_ABI_PROBE")
    if not path:
        pytest.fail("SHMKIT_ABI_PROBE (the build's shmkit_abi_probe) is not set")
    return json.loads(subprocess.run([path], check=True, capture_output=True).stdout)


def test_every_size_offset_and_constant(probe):
    assert len(probe) > 30
    for key, want in probe.items():
        m = re.fullmatch(r"sizeof\((.*)\)", key)
        if m:
            assert ffi.sizeof(m.group(1)) == want, key
            continue
        m = re.fullmatch(r"alignof\((.*)\)", key)
        if m:
            assert ffi.alignof(m.group(1)) == want, key
            continue
        m = re.fullmatch(r"offsetof\((.*), (\w+)\)", key)
        if m:
            assert ffi.offsetof(m.group(1), m.group(2)) == want, key
            continue
        assert getattr(lib, key) == want, key


def test_list_buffer_rows_hold_the_longest_name(probe):
    assert ffi.sizeof("char[1][129]") == probe["SHMKIT_CHAN_NAME_MAX"] + 1
