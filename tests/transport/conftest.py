"""Fixtures of the transport tests: one tiny-random cloud service shared by a module."""

from __future__ import annotations

import os
from typing import Iterator

import pytest

from jointbench.specdec.transport.lifecycle import ServiceProcess, cloud_service
from prochelpers import process_gone

os.environ.setdefault("OMP_NUM_THREADS", "1")


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
