"""Record a query once at temperature 0, then replay any draft-length policy on it.

At T=0 the committed tokens are always the target's greedy continuation ``g``, and
what a cycle accepts depends only on the committed prefix: from prefix ``g[:j]`` the
draft proposes its greedy continuation, and the target accepts its longest prefix
that agrees with ``g[j:]``. So a trace stores, for every position ``j``, that
agreement length ``m_j``, plus the draft's proposals themselves (where it would emit
EOS decides how many tokens a cycle drafts). Any policy then replays in
microseconds, without the models; combined with a calibration table (t_draft,
t_verify(K), t_prefill(n)) and the network simulator this gives edge-cloud
timelines without re-running anything.

Replays equal live runs of ``SpecDecoder(draft_feed="token")`` exactly, whatever the
draft: the trace feeds the draft in the same canonical chunking. With the default
``draft_feed="chunk"`` they are equal for drafts whose outputs do not depend on
chunking (fp32, bf16, up to float rounding); a dynamic-int8 draft then differs in a
few cycles (its activation scale spans the whole input chunk), with the same
statistics. For timing, a replayed cycle costs ``drafted`` draft steps either way
(a two-token catch-up costs about one step on a memory-bound CPU).

Recording is cheap: if the draft agrees for ``m_j >= 1`` tokens from ``g[:j]``, its
proposals from ``g[:j+1]`` are the same sequence shifted by one, so
``m_{j+1} = m_j - 1`` needs no forward pass; the draft only restarts after a
disagreement (about ``len(g) + #disagreements`` draft steps in total).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Literal, Sequence

from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.lm import CachedLM
from jointbench.specdec.placement import Cycle
from jointbench.specdec.policy import CycleOutcome, DraftLengthPolicy, DraftState, clip_k
from jointbench.specdec.sampling import token_confidence

if TYPE_CHECKING:
    from jointbench.specdec.nasd_stop import DraftStop


class TraceIncompleteError(RuntimeError):
    """A replay needs draft proposals the detached trace did not record."""


@dataclass
class GreedyTrace:
    """What a T=0 speculative run of one query depends on.

    Attributes
    ----------
    prompt : list of int
    target_tokens : list of int
        The target's greedy continuation (= cloud-only output), EOS included.
    stop : {"eos", "length"}
    max_new_tokens : int
        Length limit the trace was recorded with.
    match_len : list of int
        ``match_len[j]``: how many leading greedy draft proposals from
        ``prompt + target_tokens[:j]`` equal ``target_tokens[j:]`` (capped at the end).
    anchor : list of int
        ``anchor[j]``: the position whose proposal list also serves position ``j``.
    proposals : dict of int to list of int
        Per anchor ``a``: the draft's greedy proposals from ``prompt +
        target_tokens[:a]``, at least up to the first disagreement (its own path after
        that), ending early at an EOS id. Needed beyond ``match_len`` only to know where
        the draft would stop at EOS, i.e. how many tokens a cycle drafts.
    eos_token_ids : list of int
    draft_forwards : int
        Draft forward passes spent so far (cost diagnostic).
    confidence : dict of int to list of float
        Per anchor, parallel to ``proposals``: the draft's probability of each proposal
        (its top-1 softmax probability, :func:`~jointbench.specdec.sampling.token_confidence`). Empty
        in traces recorded before it was kept (:attr:`has_confidence` is then False).
    """

    prompt: list[int]
    target_tokens: list[int]
    stop: Literal["eos", "length"]
    max_new_tokens: int
    match_len: list[int]
    anchor: list[int]
    proposals: dict[int, list[int]]
    eos_token_ids: list[int]
    draft_forwards: int = 0
    confidence: dict[int, list[float]] = field(default_factory=dict)
    decoder: SpecDecoder | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (without the attached decoder)."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "decoder"}
        data["proposals"] = {str(a): list(p) for a, p in self.proposals.items()}
        data["confidence"] = {str(a): list(c) for a, c in self.confidence.items()}
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GreedyTrace:
        """Inverse of :meth:`to_dict` (detached)."""
        kwargs = dict(data)
        kwargs["proposals"] = {int(a): list(p) for a, p in data["proposals"].items()}
        kwargs["confidence"] = {int(a): [float(x) for x in c] for a, c in data.get("confidence", {}).items()}
        return cls(**kwargs)

    @property
    def has_confidence(self) -> bool:
        """True when every recorded proposal has its draft probability (see :attr:`confidence`)."""
        return all(len(self.confidence.get(a, ())) == len(p) for a, p in self.proposals.items())

    def draft_confidence(self, j: int, k: int) -> list[float]:
        """The draft's probabilities of its first ``k`` proposals from position ``j``.

        Call after :meth:`draft_window` (which extends the proposals); ``nan`` where a
        probability was not recorded (a lenient trace's assumed tokens).
        """
        a = self.anchor[j]
        conf = self.confidence.get(a, [])[j - a : j - a + k]
        return conf + [math.nan] * (k - len(conf))

    def draft_window(self, j: int, k: int) -> list[int]:
        """The first ``k`` greedy draft proposals from position ``j``.

        Shorter only when the draft emits EOS (drafting stops there). Extends the
        recorded proposals with the attached decoder's draft when needed.

        Raises
        ------
        TraceIncompleteError
            If more proposals are needed and no decoder is attached.
        """
        a = self.anchor[j]
        self._extend(a, j - a + k)
        props = self.proposals[a][j - a : j - a + k]
        for i, tok in enumerate(props):
            if tok in self.eos_token_ids:
                return props[: i + 1]
        return props

    def _extend(self, a: int, length: int) -> None:
        props = self.proposals[a]
        eos = set(self.eos_token_ids)
        if len(props) >= length or (props and props[-1] in eos):
            return
        if self.decoder is None or self.decoder.draft_lm is None:
            raise TraceIncompleteError(
                f"position {a} needs {length} draft proposals, the trace holds {len(props)}; "
                "record with a larger horizon or keep the decoder attached"
            )
        draft = self.decoder.draft_lm
        sequence = self.prompt + self.target_tokens[:a] + props
        feed = _canonical_feed(draft, sequence, len(self.prompt))
        conf = self.confidence.setdefault(a, [])
        keep = len(conf) == len(props)  # a trace recorded without probabilities does not start them midway
        while len(props) < length and not (props and props[-1] in eos):
            logits = draft.forward(feed, 1)[-1]
            tok = int(logits.argmax())
            self.draft_forwards += 1
            props.append(tok)
            if keep:
                conf.append(token_confidence(logits, tok))
            feed = [tok]


def _canonical_feed(draft: CachedLM, sequence: list[int], prompt_len: int) -> list[int]:
    """Bring the draft cache to ``sequence[:-1]`` in the canonical chunking; return the rest.

    Canonical: ``prompt[:-1]`` in one forward, every later token in its own forward
    (what ``SpecDecoder(draft_feed="token")`` does), so recorded proposals are
    bit-identical to the live engine's even for chunking-sensitive drafts.
    """
    keep, limit = 0, min(draft.length, len(sequence) - 1)
    while (
        keep < limit
        and draft.tokens[keep] == sequence[keep]
        and draft.chunk_sizes[keep] == (prompt_len - 1 if keep < prompt_len - 1 else 1)
    ):
        keep += 1
    if keep < prompt_len - 1:
        draft.prefill(sequence[: prompt_len - 1])
    else:
        draft.crop(keep)
    for tok in sequence[draft.length : -1]:
        draft.forward([tok], 1)
    return sequence[-1:]


def record_trace(
    decoder: SpecDecoder, prompt_ids: Sequence[int], max_new_tokens: int, horizon: int = 0
) -> GreedyTrace:
    """Run the target greedily once and the draft from every needed prefix.

    Parameters
    ----------
    decoder : SpecDecoder
        At temperature 0, with a draft model. It stays attached to the trace so that
        replays can extend proposals lazily; :meth:`GreedyTrace.to_dict` drops it.
    prompt_ids : sequence of int
        Non-empty prompt.
    max_new_tokens : int
        Length limit (replays may use this or a smaller one).
    horizon : int
        Record at least this many proposals per anchor up front, so that a detached
        trace replays any policy with ``K <= horizon`` (0: only up to the first
        disagreement, extended lazily).
    """
    if not decoder.greedy or decoder.draft_lm is None:
        raise ValueError("traces are defined at temperature 0 and need a draft model")
    prompt = [int(t) for t in prompt_ids]
    g = decoder.cloud_only(prompt, max_new_tokens)
    n_total = len(g.tokens)
    trace = GreedyTrace(
        prompt, g.tokens, g.stop, max_new_tokens, [0] * n_total, [0] * n_total, {},
        sorted(decoder.eos), decoder=decoder,
    )
    j = 0
    while j < n_total:
        a, m = j, 0
        trace.proposals[a] = []
        while True:
            trace._extend(a, m + 1)
            props = trace.proposals[a]
            if len(props) <= m or a + m >= n_total or props[m] != g.tokens[a + m]:
                break
            m += 1
            if props[m - 1] in decoder.eos or a + m == n_total:
                break
        if horizon and a + m < n_total:
            trace._extend(a, m + horizon)
        for i in range(min(m + 1, n_total - a)):
            trace.anchor[a + i] = a
            trace.match_len[a + i] = m - i
        j = a + m + 1
    return trace


def cycle_at(trace: GreedyTrace, j: int, k: int, limit: int) -> tuple[Cycle, list[int]]:
    """The cycle the live T=0 engine runs from committed position ``j`` with draft length ``k``.

    Parameters
    ----------
    trace : GreedyTrace
    j : int
        Tokens already committed (``0 <= j < len(target_tokens[:limit])``).
    k : int
        Draft length, already clipped to ``limit - j - 1``.
    limit : int
        ``max_new_tokens`` of the replay (``<= trace.max_new_tokens``).

    Returns
    -------
    cycle : Cycle
        ``bytes_up`` is left 0: the loop's source asks the codec for it.
    window : list of int
        The drafted ids (``-1`` where a lenient trace had to assume a token).
    """
    g = trace.target_tokens
    n_total = min(len(g), limit)
    m = min(trace.match_len[j], n_total - j)
    window = trace.draft_window(j, k)
    drafted = len(window)
    accepted = min(drafted, m)
    end = n_total if accepted == n_total - j else j + accepted + 1
    return Cycle(k, drafted, accepted, tuple(g[j:end])), window


def stop_at(trace: GreedyTrace, j: int, k: int, stop: DraftStop) -> int:
    """How many tokens a draft stop lets the draft propose from committed position ``j`` with cap ``k``.

    The stop reads the recorded probabilities of the window (``nan`` where not recorded), as a live
    drafter asking :meth:`~jointbench.specdec.nasd_stop.DraftStop.continues` after each token would.
    """
    window = trace.draft_window(j, k)
    return stop.length(trace.draft_confidence(j, len(window)), k)


def replay(trace: GreedyTrace, policy: DraftLengthPolicy, max_new_tokens: int | None = None) -> list[Cycle]:
    """Replay ``policy`` on a recorded query without a clock, as the live T=0 engine would run.

    The loop (:func:`jointbench.specdec.loop.run_query`) does the same with a timeline; this
    helper serves tests and tools that only need the cycles. The policy's state has no link
    fields (``now_ms`` 0, no last outcome timing).

    Returns
    -------
    list of Cycle
        Same ``k``, ``drafted``, ``accepted`` and ``tokens`` per cycle as
        :meth:`SpecDecoder.speculative` with the same pair, prompt and policy (and
        ``draft_feed="token"``; see the module docstring).
    """
    limit = trace.max_new_tokens if max_new_tokens is None else max_new_tokens
    if not 1 <= limit <= trace.max_new_tokens:
        raise ValueError(f"max_new_tokens must be in [1, {trace.max_new_tokens}]")
    n_total = len(trace.target_tokens[:limit])
    policy.reset()
    cycles: list[Cycle] = []
    history: list[tuple[int, int]] = []
    j = 0
    while j < n_total:
        remaining = limit - j
        k = clip_k(policy.next_k(DraftState(len(cycles), j, remaining, history=tuple(history))), remaining)
        stop = getattr(policy, "draft_stop", None) if k > 0 else None
        c, _ = cycle_at(trace, j, k if stop is None else stop_at(trace, j, k, stop), limit)
        if stop is not None:
            c = Cycle(k, c.drafted, c.accepted, c.tokens)
        cycles.append(c)
        history.append((c.drafted, c.accepted))
        policy.update(CycleOutcome(c.k, c.drafted, c.accepted))
        j += len(c.tokens)
    return cycles
