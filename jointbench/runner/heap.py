"""Garbage-collector policy of a job run: what outlives a test case is not rescanned by each later one.

A job keeps a large long-lived heap (imported libraries, sessions, caches) while every test case
allocates tens of thousands of record containers. Those records trigger a full collection about
once per test case, and each full collection rescans the whole long-lived heap: a quarter of the
run time of the 46-case CAb example. Inside :func:`frozen_between_cases`, :func:`settle` (called
before each test case) collects the garbage among the objects created since the previous call, then
freezes the survivors (:func:`gc.freeze`), so later collections skip them. Leaving the context
unfreezes them, so an object that dies in a reference cycle after it was frozen is still collected
once the job is over. Reference counting frees everything else as usual.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_ACTIVE: list[bool] = [False]


def settle() -> None:
    """Collect garbage, then freeze what survives (a no-op outside :func:`frozen_between_cases`)."""
    if _ACTIVE[0]:
        gc.collect()
        gc.freeze()


@contextlib.contextmanager
def frozen_between_cases() -> Iterator[None]:
    """Let :func:`settle` freeze survivors until the context ends, then unfreeze them.

    Does nothing when the garbage collector is disabled, objects were already frozen by the caller
    (their policy is kept), or the context is already active (nested job runs).
    """
    if _ACTIVE[0] or not gc.isenabled() or gc.get_freeze_count():
        yield
        return
    _ACTIVE[0] = True
    try:
        yield
    finally:
        _ACTIVE[0] = False
        gc.unfreeze()
