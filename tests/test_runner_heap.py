"""The job's GC policy: survivors are frozen between test cases, garbage is never frozen, and the
job leaves the collector as it found it."""

from __future__ import annotations

import gc
import os
import weakref
from collections.abc import Iterator

import pytest

from jointbench.runner import heap


class Node:
    """A container the collector tracks, able to form a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.fixture(autouse=True)
def _clean_gc() -> Iterator[None]:
    assert gc.isenabled() and gc.get_freeze_count() == 0
    yield
    gc.unfreeze()


def test_settle_collects_garbage_then_freezes_survivors_until_the_job_ends() -> None:
    with heap.frozen_between_cases():
        garbage = _cycle()
        keep = Node()
        heap.settle()
        assert garbage() is None  # garbage made before a settle is collected, not frozen
        assert gc.get_freeze_count() > 0 and gc.is_tracked(keep)
        # a frozen object that later dies in a cycle is not collected while the job runs ...
        keep.other = keep
        dead = weakref.ref(keep)
        del keep
        gc.collect()
        assert dead() is not None
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert dead() is None  # ... but is once the job is over (the control: it was held above)


def _frozen(obj: object) -> bool:
    """Whether ``obj`` is in the permanent generation (``gc.get_objects`` lists the others)."""
    return gc.is_tracked(obj) and not any(o is obj for o in gc.get_objects())


def test_settle_outside_a_job_and_a_callers_own_freeze_are_left_alone() -> None:
    mine = Node()
    heap.settle()
    assert not _frozen(mine) and gc.get_freeze_count() == 0  # outside the context: no-op
    gc.freeze()  # the caller's own policy
    assert _frozen(mine)
    with heap.frozen_between_cases():
        late = Node()
        heap.settle()
        assert not _frozen(late)  # the caller's policy is kept: no freezing of its own
    assert _frozen(mine)  # and not undone
    gc.unfreeze()
    assert not _frozen(mine)  # control: the check sees an unfrozen object


def test_a_job_settles_before_each_test_case_and_unfreezes_at_the_end(toy_job, monkeypatch) -> None:
    from jointbench.runner import job

    seen: list[int] = []
    real_run_case = job._run_case

    def run_case(ctx, case):  # observe the collector as each test case starts
        seen.append(gc.get_freeze_count())
        return real_run_case(ctx, case)

    monkeypatch.setattr(job, "_run_case", run_case)
    path = toy_job()
    with open(os.devnull, "w") as out:
        job.run_job(path, progress=False, out=out)
    assert len(seen) == 1 and seen[0] > 0  # frozen while the case ran
    assert gc.get_freeze_count() == 0  # left as found (the fixture checks it on entry too)
