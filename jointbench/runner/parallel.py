"""Test cases run by a pool of forked worker processes (``jointbench run --jobs N``), results in order.

Ianvs runs a job's test cases one after another; so does the embedded runner by default. With
``--jobs N`` (N > 1) the runner forks N workers after validation, so every worker starts with what
validation loaded (test set, sessions, recorded traces, the calibration) and runs whole test cases;
the parent takes their results **in test-case order** and does everything else exactly as a
sequential run (rank rows, the repeated-failure stop, the final save). Each case is still seeded
by its own hyperparameters, so its metrics do not depend on N.

Guarantees kept:

- a worker is killed with the parent (``PR_SET_PDEATHSIG`` on Linux), so ``kill -9`` of the run
  leaves no process behind; Ctrl-C, SIGTERM and SIGHUP are handled by the parent, which then
  terminates the workers (their unfinished case folders never appear: folders are written
  atomically);
- a worker that dies (a plugin calling ``os._exit``, a crash) fails the test cases it was running,
  with a message that says so, and the run goes on in a fresh pool;
- worker output (the per-case lines) is printed by the parent, in order.

Modules that time real work (a real-time transport, wall-clock latency) are disturbed by other
test cases running beside them; they can refuse to run in a worker by checking
:func:`jointbench.workers.in_parallel_worker`.
"""

from __future__ import annotations

import concurrent.futures as cf
import ctypes
import io
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from jointbench.workers import PARALLEL_ENV, can_fork

T = TypeVar("T")

_PR_SET_PDEATHSIG = 1

#: The per-case function a forked worker calls (set in the parent just before the fork).
_WORK: list[Callable[[int, io.StringIO], Any] | None] = [None]


def check_jobs(jobs: int) -> int:
    """``jobs`` if it is an int >= 1; fork-based pools need a platform with ``fork``."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an integer >= 1, got {jobs!r}")
    if jobs > 1 and not can_fork():
        raise ValueError(f"jobs={jobs} needs the 'fork' start method, which this platform lacks; use jobs=1")
    return jobs


def _worker_init(jobs: int) -> None:
    os.environ[PARALLEL_ENV] = str(jobs)
    # The parent handles Ctrl-C/SIGTERM/SIGHUP and then terminates the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the pool's own pipes still end idle workers
            pass
        if os.getppid() == 1:  # the parent died before prctl took effect
            os._exit(1)


def _call(index: int) -> tuple[Any, str]:
    """Run case ``index`` in a worker; returns its result and what it printed."""
    work = _WORK[0]
    assert work is not None, "the pool was not started by ordered_results"
    buf = io.StringIO()
    stdout = sys.stdout
    sys.stdout = buf
    try:
        return work(index, buf), buf.getvalue()
    finally:
        sys.stdout = stdout


def _terminate(pool: cf.ProcessPoolExecutor) -> None:
    """Kill the workers of ``pool`` now (the executor has no public call for it before 3.14)."""
    for proc in list(getattr(pool, "_processes", {}).values()):
        if proc.is_alive():
            proc.terminate()
    pool.shutdown(wait=True, cancel_futures=True)


def ordered_results(n: int, work: Callable[[int, io.StringIO], T], jobs: int,
                    died: Callable[[int, str], T]) -> Iterator[tuple[T, str]]:
    """Yield ``(work(i, out), printed text)`` for i = 0..n-1 in order, ``jobs`` at a time.

    Parameters
    ----------
    n : int
        Number of items (test cases).
    work : callable
        ``work(i, out)`` runs item ``i`` in a worker, printing to ``out``; its result must pickle.
    jobs : int
        Worker processes (> 1).
    died : callable
        ``died(i, why)`` builds the result of an item whose worker process died.

    Notes
    -----
    At most ``jobs`` items run at once. Closing the generator early (a stop, an interrupt in the
    caller) terminates the workers. If a worker dies, every item then running is reported through
    ``died`` and the remaining items run in a fresh pool.
    """
    _WORK[0] = work  # type: ignore[assignment]
    ctx = multiprocessing.get_context("fork")
    nxt = 0
    while nxt < n:
        pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_worker_init,
                                      initargs=(jobs,))
        pending: dict[int, cf.Future[tuple[T, str]]] = {}
        submitted = nxt
        broken = False
        try:
            while nxt < n and not broken:
                while submitted < n and len(pending) < jobs:
                    pending[submitted] = pool.submit(_call, submitted)
                    submitted += 1
                try:
                    result = pending.pop(nxt).result()
                except BrokenProcessPool:
                    broken = True
                    n_lost = submitted - nxt
                    why = (f"the worker process running it died (one of {n_lost} test case(s) running at once "
                           f"ended its process; rerun with --jobs 1 to tell which)")
                    yield died(nxt, why), ""
                    for i in range(nxt + 1, submitted):  # those that finished before the pool broke keep their result
                        try:
                            yield pending.pop(i).result()
                        except BrokenProcessPool:
                            yield died(i, why), ""
                    nxt = submitted
                    continue
                nxt += 1
                yield result
        finally:
            _terminate(pool)
