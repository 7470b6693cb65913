"""Cycle sources of the loop: what the models do with each ``K`` of one query.

- :class:`TraceSource` (T=0): a recorded :class:`~jointbench.specdec.tracestore.QueryTrace`;
  any ``K`` from any committed prefix, no model run.
- :class:`TokenSource`: a single-model output, one token per cycle.
- :class:`RecordedSource` (T>0): a cached sampled generation; checks that the policy asks
  for the ``K`` it was generated with.
- :class:`LiveSource` (T>0): the engine, one real draft/verify cycle per call.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

from jointbench.specdec.codec import DraftCodec
from jointbench.specdec.engine import SpecRun
from jointbench.specdec.placement import Cycle
from jointbench.specdec.prefixstore import PrefixStore
from jointbench.specdec.trace import GreedyTrace, TraceIncompleteError, cycle_at, stop_at

if TYPE_CHECKING:
    from jointbench.specdec.nasd_stop import DraftStop


class TraceSource:
    """Speculative cycles replayed from a T=0 trace; draft sizes from the codec.

    Besides draft/verify cycles it serves a policy's *fallback steps*
    (:meth:`fallback_step`): ``cloud_only`` commits the trace's target tokens (the path stays
    on the trace); ``edge_only`` commits the draft's greedy tokens, read from the trace's
    proposals. While those equal the target's the path stays on the trace; once they
    differ the committed prefix has left it, and every later cycle and step is computed
    from that prefix by a :class:`~jointbench.specdec.prefixstore.PrefixStore` (the real
    models on a cache miss, answers kept on disk by prefix).

    Parameters
    ----------
    trace : GreedyTrace
        The query's trace (a :class:`~jointbench.specdec.tracestore.LenientTrace` counts
        windows it had to estimate).
    codec : DraftCodec
        Encodes each drafted window (ids only at T=0) to price the draft message.
    max_new_tokens : int
        ``<= trace.max_new_tokens``.
    prefix_store : PrefixStore, optional
        Needed only once a lossy step leaves the trace.
    """

    def __init__(self, trace: GreedyTrace, codec: DraftCodec, max_new_tokens: int,
                 prefix_store: PrefixStore | None = None) -> None:
        if not 1 <= max_new_tokens <= trace.max_new_tokens:
            raise ValueError(f"max_new_tokens must be in [1, {trace.max_new_tokens}], got {max_new_tokens}")
        self.trace, self.codec, self.limit = trace, codec, int(max_new_tokens)
        self.n_prompt = len(trace.prompt)
        self.n_total = len(trace.target_tokens[: self.limit])
        self.j = 0
        self.store = prefix_store.with_eos(trace.eos_token_ids) if prefix_store is not None else None
        self.eos = frozenset(trace.eos_token_ids)
        self.committed: list[int] = []
        self.on_trace = True
        """False once a lossy step committed a token the target would not have."""
        self._dbase = 0
        self._dcont: list[int] = []
        self._ended = False

    @property
    def done(self) -> bool:
        """All committed (EOS or the length limit)."""
        if self.on_trace:
            return self.j >= self.n_total
        return self._ended or len(self.committed) >= self.limit

    stops_drafting = True
    """:meth:`next_cycle` takes a draft stop (the trace holds the draft's probabilities)."""

    def next_cycle(self, k: int, stop: DraftStop | None = None) -> Cycle:
        """The cycle from the current prefix with draft length ``k``.

        ``stop``: a policy's draft stop (:class:`~jointbench.specdec.nasd_stop.DraftStop`) ends the
        window early by the draft's probabilities of its tokens; the cycle keeps ``k`` as asked and
        ``drafted`` says where the draft stopped. Needs a trace recorded with those probabilities.
        """
        if stop is not None and k > 0:
            if not self.trace.has_confidence:
                raise ValueError("a draft stop needs the draft's probabilities in the trace; it was recorded "
                                 "before they were kept (the session records it again when its policy asks)")
            n = (stop_at(self.trace, self.j, k, stop) if self.on_trace
                 else stop.length([math.nan] * len(self._draft_from_here(k)), k))
            c = self.next_cycle(n)
            return Cycle(k, c.drafted, c.accepted, c.tokens, c.bytes_up, c.fallback)
        if not self.on_trace:
            return self._off_cycle(k)
        c, window = cycle_at(self.trace, self.j, k, self.limit)
        self.j += len(c.tokens)
        self.committed.extend(c.tokens)
        return Cycle(c.k, c.drafted, c.accepted, c.tokens, len(self.codec.encode(window, None)))

    def fallback_step(self, kind: str, n: int) -> Cycle:
        """A fallback step of up to ``n`` tokens: ``"edge_only"`` (draft alone) or ``"cloud_only"`` (target alone)."""
        if kind not in ("edge_only", "cloud_only"):
            raise ValueError(f"fallback={kind!r}: unknown. Available: edge_only, cloud_only")
        n = max(1, min(int(n), self.limit - len(self.committed)))
        if self.on_trace:
            g, j = self.trace.target_tokens, self.j
            m = min(self.trace.match_len[j], self.n_total - j)
            if kind == "cloud_only" or m >= min(n, self.n_total - j):
                toks = tuple(g[j: min(j + n, self.n_total)])
                self.j += len(toks)
                self.committed.extend(toks)
                return Cycle(0, 0, 0, toks, 0, kind)
            # The draft disagrees with the target within the step: leave the trace. The
            # anchor's recorded proposals are the draft's continuation from prompt + g[:a].
            a = self.trace.anchor[j]
            self.on_trace = False
            self._dbase = a
            self._dcont = [t for t in self.trace.proposals[a] if t >= 0]
        if kind == "cloud_only":
            toks = tuple(self._need_store().target_greedy(self.trace.prompt + self.committed, n))
        else:
            toks = tuple(self._draft_from_here(n))
        return self._commit_off(Cycle(0, 0, 0, toks, 0, kind))

    # -- off the trace ----------------------------------------------------------------------

    def _need_store(self) -> PrefixStore:
        if self.store is None:
            raise TraceIncompleteError("a lossy fallback step left the recorded trace and this source has no "
                                       "PrefixStore to compute cycles from the new prefix")
        return self.store

    def _draft_from_here(self, n: int) -> list[int]:
        """The draft's greedy ``n`` tokens after the committed prefix (fewer at EOS)."""
        c = self.committed
        rel = len(c) - self._dbase
        if rel < 0 or self._dcont[:rel] != c[self._dbase:]:
            self._dbase, self._dcont, rel = len(c), [], 0
        if len(self._dcont) < rel + n and not (self._dcont and self._dcont[-1] in self.eos):
            prefix = self.trace.prompt + c[: self._dbase]
            self._dcont = self._need_store().draft_greedy(prefix, self.n_prompt, rel + n)
            if self._dcont[:rel] != c[self._dbase:]:  # recomputed in another chunking: restart here
                self._dbase, rel = len(c), 0
                self._dcont = self._need_store().draft_greedy(self.trace.prompt + c, self.n_prompt, n)
        out = self._dcont[rel: rel + n]
        for i, tok in enumerate(out):
            if tok in self.eos:
                return out[: i + 1]
        return out

    def _off_cycle(self, k: int) -> Cycle:
        window = self._draft_from_here(k) if k > 0 else []
        acc, nxt = self._need_store().target_verify(self.trace.prompt + self.committed, window)
        toks = window[:acc] if acc and window[acc - 1] in self.eos else [*window[:acc], nxt]
        return self._commit_off(Cycle(k, len(window), acc, tuple(toks), len(self.codec.encode(window, None))))

    def _commit_off(self, c: Cycle) -> Cycle:
        room = self.limit - len(self.committed)
        if len(c.tokens) > room:
            c = Cycle(c.k, c.drafted, c.accepted, c.tokens[:room], c.bytes_up, c.fallback)
        self.committed.extend(c.tokens)
        if c.tokens and c.tokens[-1] in self.eos:
            self._ended = True
        return c


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
        if c.k != k or c.fallback is not None:
            raise RuntimeError(f"cached sampled generation drafted K={c.k} in cycle {self.i}, the policy now asks "
                               f"K={k}: the cache key misses something the policy reads")
        self.i += 1
        return c

    def fallback_step(self, kind: str, n: int) -> Cycle:
        """The recorded fallback step, checked against ``kind`` (its tokens are the recorded ones)."""
        c = self.cycles[self.i]
        if c.fallback != kind:
            raise RuntimeError(f"recorded cycle {self.i} is {c.fallback or 'a draft/verify cycle'}, the policy now "
                               f"asks a {kind} fallback step")
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
