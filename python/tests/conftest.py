# SPDX-License-Identifier: MIT
import itertools
import os

import pytest

import shmkit

_seq = itertools.count()
PREFIX = "pytest-shmkit.%d." % os.getpid()


def _ours():
    return [n for n in os.listdir("/dev/shm") if PREFIX in n]


@pytest.fixture
def name():
    """A fresh channel name, removed after the test (whatever it left)."""
    n = PREFIX + str(next(_seq))
    yield n
    try:
        shmkit.Channel.unlink(n)
    except FileNotFoundError:
        pass


@pytest.fixture(scope="session", autouse=True)
def nothing_left_in_dev_shm():
    yield
    assert _ours() == [], "the tests left these in /dev/shm"
