"""Forked worker processes: the marker a worker carries, and an ordered map for independent jobs.

``jointbench run --jobs N`` runs test cases in forked workers (:mod:`jointbench.runner.parallel`)
and draws a job's plots the same way (:func:`fork_map`). Code that times real work (a real-time
transport, wall-clock latency) is disturbed by work running beside it and can refuse to run in a
worker with :func:`in_parallel_worker`.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from collections.abc import Callable, Sequence
from typing import TypeVar

#: Set in every worker process: how many test cases may run at once.
PARALLEL_ENV = "JOINTBENCH_PARALLEL_CASES"

T = TypeVar("T")

#: The callables a forked :func:`fork_map` worker runs (set in the parent just before the fork).
_THUNKS: list[Sequence[Callable[[], object]]] = [()]


def in_parallel_worker() -> bool:
    """True inside a worker of ``jointbench run --jobs N`` with N > 1."""
    try:
        return int(os.environ.get(PARALLEL_ENV, "1")) > 1
    except ValueError:
        return False


def can_fork() -> bool:
    """True where the ``fork`` start method exists (Linux, macOS)."""
    return "fork" in multiprocessing.get_all_start_methods()


def _run_thunk(index: int) -> object:
    return _THUNKS[0][index]()


def fork_map(thunks: Sequence[Callable[[], T]], jobs: int) -> list[T]:
    """``[f() for f in thunks]``, by up to ``jobs`` forked processes; results in order.

    With ``jobs`` <= 1, a single thunk, or no ``fork``, the thunks run here one after another.
    An exception raised by a thunk is raised here. Results must pickle.
    """
    if jobs <= 1 or len(thunks) < 2 or not can_fork():
        return [f() for f in thunks]
    _THUNKS[0] = thunks
    try:
        with cf.ProcessPoolExecutor(max_workers=min(jobs, len(thunks)),
                                    mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_run_thunk, range(len(thunks))))  # type: ignore[arg-type]
    finally:
        _THUNKS[0] = ()


def refuse_in_parallel_worker(what: str) -> None:
    """Raise when called in a worker of ``jointbench run --jobs N`` (N > 1).

    Parameters
    ----------
    what : str
        What times real work, for the message (e.g. ``"transport: tcp"``).

    Raises
    ------
    RuntimeError
        Naming ``what`` and the fix (``--jobs 1``).
    """
    if in_parallel_worker():
        raise RuntimeError(f"{what} times real work on this machine, so other test cases running beside it would "
                           f"change its numbers; run this job with --jobs 1")
