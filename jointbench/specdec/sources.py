"""Cycle sources of the loop: what the models do with each ``K`` of one query.

- :class:`TraceSource` (T=0): a recorded :class:`~jointbench.specdec.tracestore.QueryTrace`;
  any ``K`` from any committed prefix, no model run.
- :class:`TokenSource`: a single-model output, one token per cycle.
- :class:`RecordedSource` (T>0): a cached sampled generation; checks that the policy asks
  for the ``K`` it was generated with.
- :class:`LiveSource` (T>0): the engine, one real draft/verify cycle per call.
"""

from __future__ import annotations

from typing import Sequence

from jointbench.specdec.codec import DraftCodec
from jointbench.specdec.engine import SpecRun
from jointbench.specdec.placement import Cycle
from jointbench.specdec.trace import GreedyTrace, cycle_at


class TraceSource:
    """Speculative cycles replayed from a T=0 trace; draft sizes from the codec.

    Parameters
    ----------
    trace : GreedyTrace
        The query's trace (a :class:`~jointbench.specdec.tracestore.LenientTrace` counts
        windows it had to estimate).
    codec : DraftCodec
        Encodes each drafted window (ids only at T=0) to price the draft message.
    max_new_tokens : int
        ``<= trace.max_new_tokens``.
    """

    def __init__(self, trace: GreedyTrace, codec: DraftCodec, max_new_tokens: int) -> None:
        if not 1 <= max_new_tokens <= trace.max_new_tokens:
            raise ValueError(f"max_new_tokens must be in [1, {trace.max_new_tokens}], got {max_new_tokens}")
        self.trace, self.codec, self.limit = trace, codec, int(max_new_tokens)
        self.n_prompt = len(trace.prompt)
        self.n_total = len(trace.target_tokens[: self.limit])
        self.j = 0

    @property
    def done(self) -> bool:
        """All committed."""
        return self.j >= self.n_total

    def next_cycle(self, k: int) -> Cycle:
        """The cycle from the current prefix with draft length ``k``."""
        c, window = cycle_at(self.trace, self.j, k, self.limit)
        self.j += len(c.tokens)
        return Cycle(c.k, c.drafted, c.accepted, c.tokens, len(self.codec.encode(window, None)))


class TokenSource:
    """A single-model output served one token per cycle."""

    def __init__(self, n_prompt: int, tokens: Sequence[int]) -> None:
        self.n_prompt, self.tokens, self.i = int(n_prompt), list(tokens), 0

    @property
    def done(self) -> bool:
        """All tokens served."""
        return self.i >= len(self.tokens)

    def next_cycle(self, k: int) -> Cycle:
        """The next token (``k`` is 0)."""
        self.i += 1
        return Cycle(0, 0, 0, (self.tokens[self.i - 1],))


class RecordedSource:
    """A cached sampled generation, cycle by cycle.

    Raises
    ------
    RuntimeError
        If the policy asks for another ``K`` than the one the generation was made with (the
        cache key missed something that decides the policy's choices).
    """

    def __init__(self, n_prompt: int, cycles: Sequence[Cycle]) -> None:
        self.n_prompt, self.cycles, self.i = int(n_prompt), list(cycles), 0

    @property
    def done(self) -> bool:
        """All cycles served."""
        return self.i >= len(self.cycles)

    def next_cycle(self, k: int) -> Cycle:
        """The recorded cycle, checked against ``k``."""
        c = self.cycles[self.i]
        if c.k != k:
            raise RuntimeError(f"cached sampled generation drafted K={c.k} in cycle {self.i}, the policy now asks "
                               f"K={k}: the cache key misses something the policy reads")
        self.i += 1
        return c


class LiveSource:
    """The engine's cycles, run as the loop asks (T>0, or T=0 without a trace)."""

    def __init__(self, run: SpecRun) -> None:
        self.run = run
        self.n_prompt = len(run.prompt)

    @property
    def done(self) -> bool:
        """EOS or ``max_new_tokens``."""
        return self.run.done

    def next_cycle(self, k: int) -> Cycle:
        """Run one draft/verify cycle; its draft size is the codec's real encoding."""
        r = self.run.cycle(k)
        return Cycle(r.k, r.drafted, r.accepted, tuple(r.tokens), r.bytes_up)
