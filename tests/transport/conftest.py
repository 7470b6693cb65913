"""Fixtures of the transport tests: one tiny-random cloud service shared by a module."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from jointbench.transport.lifecycle import ServiceProcess, cloud_service


def process_gone(pid: int) -> bool:
    """True if ``pid`` no longer exists or is a zombie (dead, awaiting its reaper)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


@pytest.fixture(scope="module")
def tiny_cloud() -> Iterator[ServiceProcess]:
    """A running cloud service for the tiny random pair (greedy), stopped after the module."""
    with cloud_service("tiny-random", ready_timeout_s=180.0) as svc:
        yield svc
    assert process_gone(svc.pid)


@pytest.fixture(scope="module")
def tiny_pair():
    from jointbench.specdec.tiny import tiny_random_pair

    return tiny_random_pair()


PROMPT = list(range(1, 20))
"""Prompt of the end-to-end tests (token ids of the tiny vocabulary)."""

os.environ.setdefault("OMP_NUM_THREADS", "1")
