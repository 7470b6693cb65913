"""Helpers shared by the transport tests (a unique module name, imported by path)."""

from __future__ import annotations

import os
from typing import Any, Iterator

from jointbench.specdec.transport.client import CloudError
from jointbench.specdec.transport.frames import Frame, MsgType

PROMPT = list(range(1, 20))
"""Prompt of the end-to-end tests (token ids of the tiny vocabulary)."""


def serve(client: Any, pair: Any, prompt: list[int], n_new: int, strategy: str = "edge_cloud", policy: Any = None,
          shaper: Any = None, codec: str = "ids_only", temperature: float = 0.0, seed: int = 0) -> Any:
    """One query through the suite's loop with the two-process source: ``(outcome, source)``."""
    from jointbench.specdec.loop import run_query
    from jointbench.specdec.policies.fixed import FixedK
    from jointbench.specdec.strategy import Strategy
    from jointbench.specdec.transport.remote import remote_strategy

    base = Strategy.build(strategy, policy or FixedK(3), codec)
    vocab = min(int(m.config.get_text_config().vocab_size) for m in (pair.target, pair.draft))
    real, source = remote_strategy(base, client, pair.draft, pair.eos_token_ids, prompt, n_new,
                                   temperature=temperature, seed=seed, vocab_limit=vocab, shaper=shaper)
    return run_query(real, source, None, None, n_new), source


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



class InProcessClient:
    """The parts of CloudClient the edge loop uses, served by a CloudSession directly."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def post(self, kind: MsgType, data: bytes = b"", arg: int = 0) -> None:
        assert list(self.session.handle(Frame(kind, data, arg=arg))) == []

    def stream(self, kind: MsgType, data: bytes = b"", arg: int = 0, resume: Any = None) -> Iterator[Frame]:
        for frame in self.session.handle(Frame(kind, data, arg=arg)):
            if frame.type == MsgType.ERROR:
                raise CloudError(frame.payload.decode())
            yield frame

    def request(self, kind: MsgType, data: bytes = b"", arg: int = 0, resume: Any = None) -> Frame:
        return list(self.stream(kind, data, arg))[-1]
