"""The one per-cycle loop that serves a query under any placement × policy × codec.

Before each cycle the loop asks the draft-length policy for ``K`` with a
:class:`~jointbench.specdec.policy.DraftState` holding the virtual time, the last cycle's
measured RTT, transmit time and bytes, the session's bandwidth estimate and the acceptance
history; a :class:`CycleSource` says what the models do with that ``K`` (a recorded T=0
trace, a cached sampled generation, or the live engine); the placement puts the cycle on
the timeline; the policy is told the outcome. Single-model placements run the same loop
with one token per cycle and no policy.

**Fallback steps.** A policy with a ``fallback`` attribute (NASD) that answers
``next_k == 0`` asks for one fallback step, not a target-only cycle (``FixedK(0)`` keeps
that meaning): the source commits up to ``fallback_tokens`` tokens decoded by the draft
alone on the edge (``edge_only``, nothing sent, lossy) or by the target alone in the cloud
and streamed down (``cloud_only``, lossless), and the placement puts them on the clock.
The policy is told ``CycleOutcome(k=0, drafted=0, accepted=0, committed=n,
fallback=...)`` with no RTT.

**Draft stops.** A policy whose ``draft_stop`` attribute is set after ``next_k`` (NASD with
``draft_stop: true``) ends the cycle's draft early by the draft's own probabilities
(:mod:`~jointbench.specdec.nasd_stop`): ``K`` is then a cap and the cycle's ``drafted`` says
where the draft stopped. Only sources with ``stops_drafting`` serve it (greedy drafts: T=0 traces, the tcp edge).

At T=0 the source is a recorded trace (:class:`~jointbench.specdec.sources.TraceSource`):
what a draft of ``K`` accepts from a committed prefix is a function of the prefix, so one
recording per (pair, prompt) serves every policy and network profile, network-aware
policies included, with no model compute per profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from jointbench.netsim import Exchange, Link, Timeline
from jointbench.specdec.compute import ComputeModel
from jointbench.specdec.placement import Cycle, new_timeline
from jointbench.specdec.policy import CycleOutcome, DraftState, clip_k
from jointbench.specdec.strategy import Strategy


class CycleSource(Protocol):
    """What the models do in each cycle of one query."""

    n_prompt: int
    """Prompt length (tokens)."""

    @property
    def done(self) -> bool:
        """True once the query ended (EOS or ``max_new_tokens``)."""

    def next_cycle(self, k: int) -> Cycle:
        """Run (or look up) the next cycle with draft length ``k`` (0 for single-model steps)."""


@dataclass
class BandwidthMeter:
    """Uplink rate estimate from measured draft messages (Mbit/s), exponentially averaged.

    Parameters
    ----------
    weight : float
        Weight of the newest measurement, in (0, 1].
    """

    weight: float = 0.5
    mbps: float | None = None

    def observe(self, ex: Exchange) -> None:
        """Fold one message's wire bits over its serialisation time into the estimate."""
        if ex.serialisation_ms > 0:
            rate = ex.bytes * 8 / ex.serialisation_ms / 1000.0
        else:
            rate = ex.bandwidth_mbps
        self.mbps = rate if self.mbps is None else self.weight * rate + (1 - self.weight) * self.mbps


@dataclass
class Outcome:
    """One query under one strategy: its timeline, output and cycles.

    Attributes
    ----------
    timeline : Timeline
    tokens : list of int
    cycles : list of Cycle
        Draft/verify cycles (empty for single-model placements).
    outcomes : list of CycleOutcome
        What the policy was told after each cycle (empty for single-model placements).
    policy_log : list of dict
        The policy's own per-cycle log of the query (``query_log()``), empty if it keeps none.
    """

    timeline: Timeline
    tokens: list[int]
    cycles: list[Cycle] = field(default_factory=list)
    outcomes: list[CycleOutcome] = field(default_factory=list)
    policy_log: list[dict] = field(default_factory=list)

    @property
    def lossy(self) -> bool:
        """True when an edge-only fallback step committed tokens (draft quality, not the target's)."""
        return any(c.fallback == "edge_only" and c.tokens for c in self.cycles)


def run_query(strategy: Strategy, source: CycleSource, compute: ComputeModel, link: Link | None,
              max_new_tokens: int, start_ms: float = 0.0, keep_exchanges: bool = False,
              meter: BandwidthMeter | None = None) -> Outcome:
    """Serve one query cycle by cycle on the virtual clock.

    Parameters
    ----------
    strategy : Strategy
        Placement, policy (speculative placements) and codec.
    source : CycleSource
        Cycles of this query.
    compute : ComputeModel
    link : Link or None
        Ignored by placements that use no network.
    max_new_tokens : int
        Generation limit (the loop clips ``K`` to ``remaining - 1``).
    start_ms : float
        Virtual time the query starts (ms); a network trace evolves across queries.
    keep_exchanges : bool
        Keep every message in the timeline's tally.
    meter : BandwidthMeter, optional
        Session-wide bandwidth estimate, updated with every draft message.

    Returns
    -------
    Outcome
    """
    placement, policy = strategy.placement, strategy.policy
    tl = new_timeline(link if placement.uses_link else None, start_ms, keep_exchanges)
    placed = placement.begin(tl, source.n_prompt, compute)
    meter = meter if meter is not None else BandwidthMeter()
    out = Outcome(tl, [])
    last: CycleOutcome | None = None
    history: list[tuple[int, int]] = []
    fallback = getattr(policy, "fallback", None) if placement.speculative else None
    if fallback is not None and not getattr(placement, "fallbacks", False):
        raise ValueError(f"policy {policy!r} asks for {fallback} fallback steps, which placement "
                         f"'{placement.name}' cannot run (use strategy edge_cloud)")
    if placement.speculative:
        assert policy is not None
        policy.reset()
    index = 0
    while not source.done:
        k, step = 0, None
        if placement.speculative:
            generated = len(out.tokens)
            remaining = max_new_tokens - generated
            state = DraftState(len(out.cycles), generated, remaining, placed.now_ms, last, meter.mbps,
                               tuple(history))
            asked = int(policy.next_k(state))  # type: ignore[union-attr]
            step = fallback if (fallback is not None and asked == 0) else None
            k = clip_k(asked, remaining)
        if step is not None:
            if not hasattr(source, "fallback_step"):
                raise ValueError(f"policy {policy!r} asked for a {step} fallback step, which a "
                                 f"{type(source).__name__} cannot serve (T=0 traces only)")
            cycle = source.fallback_step(step, int(policy.fallback_tokens))  # type: ignore[attr-defined,union-attr]
        elif placement.speculative and getattr(policy, "draft_stop", None) is not None and k > 0:
            if not getattr(source, "stops_drafting", False):
                raise ValueError(f"policy {policy!r} ends drafts by the draft's probabilities (draft_stop), "
                                 f"which a {type(source).__name__} cannot serve "
                                 "(greedy drafts only: T=0 traces, the tcp edge)")
            cycle = source.next_cycle(k, policy.draft_stop)  # type: ignore[call-arg,union-attr]
        else:
            cycle = source.next_cycle(k)
        timing = placed.place(cycle, index)
        index += 1
        out.tokens.extend(cycle.tokens)
        if not placement.speculative:
            continue
        if timing.draft_message is not None:
            meter.observe(timing.draft_message)
        last = CycleOutcome(cycle.k, cycle.drafted, cycle.accepted, timing.bytes_up, timing.bytes_down,
                            timing.rtt_ms, timing.transmit_ms, timing.end_ms - timing.start_ms, timing.end_ms,
                            len(cycle.tokens), cycle.fallback, timing.stream_rtt_ms)
        history.append((cycle.drafted, cycle.accepted))
        out.cycles.append(cycle)
        out.outcomes.append(last)
        policy.update(last)  # type: ignore[union-attr]
    query_log = getattr(policy, "query_log", None) if placement.speculative else None
    if query_log is not None:
        out.policy_log = list(query_log())
    return out
