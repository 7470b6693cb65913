"""Helpers shared by the transport tests (a unique module name, imported by path)."""

from __future__ import annotations

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


class InProcessClient:
    """The parts of CloudClient the edge loop uses, served by a CloudSession directly."""

    def __init__(self, session: Any) -> None:
        self.session = session

    def post(self, kind: MsgType, data: bytes = b"", arg: int = 0) -> None:
        assert list(self.session.handle(Frame(kind, data, arg=arg))) == []

    def stream(self, kind: MsgType, data: bytes = b"", arg: int = 0, resume: Any = None,
               kept: int = 0) -> Iterator[Frame]:
        for frame in self.session.handle(Frame(kind, data, arg=arg, prior_us=kept)):
            if frame.type == MsgType.ERROR:
                raise CloudError(frame.payload.decode())
            yield frame

    def request(self, kind: MsgType, data: bytes = b"", arg: int = 0, resume: Any = None, kept: int = 0) -> Frame:
        return list(self.stream(kind, data, arg, kept=kept))[-1]

    def cut(self, stream: Iterator[Frame]) -> None:
        stream.close()
