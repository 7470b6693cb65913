"""Process helpers of the tests and of ``benchmarks/faults.py``: is a pid gone, who descends from it.

Read from ``/proc`` (Linux); the tests that use them start and kill real processes.
"""

from __future__ import annotations

import os


def default_sigint() -> None:
    """``preexec_fn`` restoring SIGINT's default in a child the test will interrupt.

    A shell starts background jobs (``cmd &``, CI runners, ``nohup``) with SIGINT ignored and children
    inherit that, so a test that sends SIGINT must not depend on how its own process was started.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def process_gone(pid: int) -> bool:
    """True if ``pid`` no longer exists or is a zombie (dead, awaiting its reaper)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            state = fh.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren, ...), from ``/proc``; zombies count."""
    parent: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "X":
            parent[int(entry)] = int(fields[1])
    out, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in parent.items() if pp in frontier]
        out.extend(kids)
        frontier = kids
    return sorted(out)
