"""SIGTERM and SIGHUP end a run the way Ctrl-C does (``timeout``, Slurm and Kubernetes send SIGTERM)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

HANDLED = ("SIGTERM", "SIGHUP")


class Interrupted(KeyboardInterrupt):
    """Raised in the main thread when a handled signal arrives.

    Attributes
    ----------
    signum : int
        The signal; the conventional exit status is ``128 + signum``.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    # Further signals while the run saves and unwinds are ignored (the first one stops it).
    for name in HANDLED:
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Interrupted(signum)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into :class:`Interrupted` inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {name: signal.getsignal(getattr(signal, name)) for name in (*HANDLED, "SIGINT")}
    for name in HANDLED:
        signal.signal(getattr(signal, name), _raise)
    try:
        yield
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)


def exit_status(err: KeyboardInterrupt) -> int:
    """``128 + signum`` of the signal that stopped the run (SIGINT for a plain Ctrl-C)."""
    return 128 + getattr(err, "signum", int(signal.SIGINT))


@contextlib.contextmanager
def deferred_signals() -> Iterator[list[int]]:
    """Hold off SIGINT/SIGTERM/SIGHUP inside the block (the final save); yields the signals received.

    The caller decides what to do with them after the block (the run then stops as if
    interrupted, its rank saved).
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    names = (*HANDLED, "SIGINT")
    previous = {name: signal.getsignal(getattr(signal, name)) for name in names}

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    for name in names:
        signal.signal(getattr(signal, name), remember)
    try:
        yield received
    finally:
        for name, handler in previous.items():
            signal.signal(getattr(signal, name), handler)
