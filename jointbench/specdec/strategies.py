"""Strategies: where the models live and how cycles are scheduled; one record per query.

A :class:`Strategy` turns a recorded :class:`~jointbench.specdec.tracestore.QueryTrace`
into a timeline (:mod:`~jointbench.specdec.timing`) and a
:class:`~jointbench.records.SampleRecord` dict, without running any model:

- ``cloud_only``: the target decodes in the cloud, tokens streamed down.
- ``edge_only``: the draft decodes on the edge (lossy: draft quality).
- ``colocated``: speculative decoding with both models in the cloud.
- ``edge_cloud``: the edge drafts, the cloud verifies, one round trip per cycle.

Speculative strategies take a draft-length policy: ``fixed`` (:class:`FixedK`) or
``heuristic`` (:class:`HeuristicK`, transformers' +2/-1 schedule). At T=0 every
strategy but ``edge_only`` outputs exactly the cloud-only tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

from jointbench.netsim import Link, Timeline
from jointbench.records import SampleRecord
from jointbench.specdec.compute import ComputeModel
from jointbench.specdec.policy import DraftLengthPolicy, FixedK, HeuristicK
from jointbench.specdec.trace import ReplayCycle, replay
from jointbench.specdec.timing import (
    cloud_only_timeline,
    colocated_timeline,
    edge_cloud_timeline,
    edge_only_timeline,
)
from jointbench.specdec.tracestore import QueryTrace

StrategyName = Literal["cloud_only", "edge_only", "colocated", "edge_cloud"]
STRATEGY_NAMES: tuple[str, ...] = ("cloud_only", "edge_only", "colocated", "edge_cloud")
POLICY_NAMES: tuple[str, ...] = ("fixed", "heuristic")


def make_policy(policy: str, k: int, k_max: int | None = None, transient: bool = False) -> DraftLengthPolicy:
    """Build a draft-length policy by name.

    Parameters
    ----------
    policy : {"fixed", "heuristic"}
    k : int
        Fixed ``K``, or the heuristic's starting ``K`` (transformers' default is 20).
    k_max : int, optional
        Upper bound of the heuristic.
    transient : bool
        Heuristic only: reset ``K`` at every query (else carried over, as in transformers).
    """
    if policy == "fixed":
        return FixedK(int(k))
    if policy == "heuristic":
        return HeuristicK(start=int(k), transient=bool(transient), max_k=k_max)
    raise ValueError(f"unknown policy '{policy}'; choose one of {', '.join(POLICY_NAMES)}")


@dataclass
class Outcome:
    """One query under one strategy: its timeline and what was generated.

    Attributes
    ----------
    timeline : Timeline
    tokens : list of int
        Output tokens.
    cycles : list of ReplayCycle
        Draft/verify cycles (empty for single-model strategies).
    """

    timeline: Timeline
    tokens: list[int]
    cycles: list[ReplayCycle]


class Strategy:
    """How a query is served.

    Parameters
    ----------
    name : {"cloud_only", "edge_only", "colocated", "edge_cloud"}
    policy : DraftLengthPolicy, optional
        Required by ``colocated`` and ``edge_cloud``; kept across queries (a
        non-transient heuristic carries ``K`` over, as transformers does).
    """

    def __init__(self, name: str, policy: DraftLengthPolicy | None = None) -> None:
        if name not in STRATEGY_NAMES:
            raise ValueError(f"unknown strategy '{name}'; choose one of {', '.join(STRATEGY_NAMES)}")
        if name in ("colocated", "edge_cloud") and policy is None:
            raise ValueError(f"strategy '{name}' needs a draft-length policy")
        self.name = name
        self.policy = policy

    @property
    def speculative(self) -> bool:
        """True for the draft/verify strategies."""
        return self.name in ("colocated", "edge_cloud")

    def run(self, trace: QueryTrace, compute: ComputeModel, link: Link, max_new_tokens: int,
            start_ms: float = 0.0, keep_exchanges: bool = False) -> Outcome:
        """Replay ``trace`` under this strategy on the virtual clock (no model runs)."""
        cycles: list[ReplayCycle] = []
        if self.name == "edge_only":
            tokens = trace.edge_tokens[:max_new_tokens]
        elif self.name == "cloud_only":
            tokens = trace.target_tokens[:max_new_tokens]
        else:
            assert self.policy is not None
            cycles = replay(trace.greedy, self.policy, max_new_tokens)
            tokens = [t for c in cycles for t in c.tokens]
        return run_cycles(self, len(trace.prompt_ids), tokens, cycles, compute, link, start_ms, keep_exchanges)


def run_cycles(strategy: Strategy, n_prompt: int, tokens: Sequence[int], cycles: Sequence[ReplayCycle],
               compute: ComputeModel, link: Link, start_ms: float = 0.0, keep_exchanges: bool = False) -> Outcome:
    """Place already-known output (``tokens``, and ``cycles`` for speculative strategies) on the clock."""
    if strategy.name == "edge_only":
        return Outcome(edge_only_timeline(n_prompt, len(tokens), compute, start_ms), list(tokens), [])
    if strategy.name == "cloud_only":
        return Outcome(cloud_only_timeline(n_prompt, len(tokens), compute, link, start_ms, keep_exchanges),
                       list(tokens), [])
    build = colocated_timeline if strategy.name == "colocated" else edge_cloud_timeline
    return Outcome(build(n_prompt, cycles, compute, link, start_ms, keep_exchanges), list(tokens), list(cycles))


def outcome_record(outcome: Outcome, reference: Sequence[int] | None, strategy: Strategy, sample_id: str,
                   sample_index: int | None, estimated_windows: int = 0,
                   keep_exchanges: bool = False) -> dict[str, Any]:
    """The :class:`SampleRecord` dict of one query (``prediction`` and ``correct`` left to the caller).

    ``extras`` holds ``tokens_per_s`` (tokens over end-to-end latency), the per-cycle
    ``k`` and ``accepted`` lists, ``agrees_with_cloud`` (output == cloud-only greedy
    output), ``messages`` (exchanges on the link) and ``estimated_windows`` (cycles
    whose drafted count assumed no EOS; see :mod:`~jointbench.specdec.tracestore`).
    """
    tl = outcome.timeline
    messages = len(tl.tally.raw)
    fields = tl.record_fields()
    if not keep_exchanges:
        fields["exchanges"] = []
    cycles = outcome.cycles
    spec = strategy.speculative
    latency = fields["latency_ms"]
    rec = SampleRecord(
        sample_id=sample_id,
        sample_index=sample_index,
        route={"edge_only": "edge", "cloud_only": "cloud"}.get(strategy.name, "both"),
        cycles=len(cycles) if spec else None,
        drafted=sum(c.drafted for c in cycles) if spec else None,
        accepted=sum(c.accepted for c in cycles) if spec else None,
        **fields,
    ).to_dict()
    rec["extras"] = {
        "strategy": strategy.name,
        "policy": repr(strategy.policy) if spec else None,
        "tokens_per_s": 1000.0 * len(outcome.tokens) / latency if latency > 0 else None,
        "k_per_cycle": [c.k for c in cycles],
        "drafted_per_cycle": [c.drafted for c in cycles],
        "accepted_per_cycle": [c.accepted for c in cycles],
        "agrees_with_cloud": list(outcome.tokens) == list(reference) if reference is not None else None,
        "tokens": list(outcome.tokens),
        "messages": messages,
        "estimated_windows": int(estimated_windows) if spec else 0,
    }
    return rec
