"""The one ``Strategy`` type: a placement, a draft-length policy and a draft codec, by name.

Placements (``cloud_only``, ``edge_only``, ``colocated``, ``edge_cloud``), policies
(``fixed``, ``heuristic``, …) and codecs (``ids_only``, ``dense_fp32``, ``dense_fp16``, …)
are looked up in the suite's registry (:mod:`~jointbench.specdec.parts`), so YAML composes
them (``strategy: edge_cloud``, ``policy: fixed``, ``codec: dense_fp16``). At T=0 every
strategy but ``edge_only`` outputs exactly the cloud-only tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from jointbench.records import SampleRecord
from jointbench.specdec.codec import DraftCodec, make_codec
from jointbench.specdec.placement import Placement, make_placement
from jointbench.specdec.policy import DraftLengthPolicy

if TYPE_CHECKING:
    from jointbench.specdec.loop import Outcome


@dataclass
class Strategy:
    """How a query is served.

    Attributes
    ----------
    placement : Placement
    policy : DraftLengthPolicy or None
        Required by speculative placements; kept across queries (a non-transient
        heuristic carries ``K`` over, as transformers does).
    codec : DraftCodec
        What the edge sends with a draft (speculative placements).
    """

    placement: Placement
    policy: DraftLengthPolicy | None
    codec: DraftCodec

    def __post_init__(self) -> None:
        if self.placement.speculative and self.policy is None:
            raise ValueError(f"strategy '{self.placement.name}' needs a draft-length policy")

    @classmethod
    def build(cls, name: str, policy: DraftLengthPolicy | None = None, codec: str = "ids_only",
              codec_params: Mapping[str, Any] | None = None) -> Strategy:
        """Look ``name`` and ``codec`` (with its ``codec_params``) up in the registry (policy only kept
        for speculative placements)."""
        placement = make_placement(name)
        return cls(placement, policy if placement.speculative else None, make_codec(codec, codec_params))

    @property
    def name(self) -> str:
        """The placement's name."""
        return self.placement.name

    @property
    def speculative(self) -> bool:
        """True for the draft/verify placements."""
        return self.placement.speculative

    @property
    def reads_link(self) -> bool:
        """True when the policy or the codec decides from the link (then outputs depend on the network)."""
        return self.speculative and (bool(getattr(self.policy, "reads_link", False)) or self.codec.reads_link)


def outcome_record(outcome: Outcome, reference: Sequence[int] | None, strategy: Strategy, sample_id: str,
                   sample_index: int | None, estimated_windows: int = 0,
                   keep_exchanges: bool = False) -> dict[str, Any]:
    """The :class:`SampleRecord` dict of one query (``prediction`` and ``correct`` left to the caller).

    ``extras`` holds ``tokens_per_s`` (tokens over end-to-end latency), the per-cycle
    ``k``, ``drafted`` and ``accepted`` lists, ``agrees_with_cloud`` (output == cloud-only
    greedy output), ``messages`` (exchanges on the link), ``codec`` and
    ``estimated_windows`` (cycles whose drafted count assumed no EOS; see
    :mod:`~jointbench.specdec.tracestore`); per cycle ``committed_per_cycle``,
    ``fallback_per_cycle`` (``None``, ``"edge_only"`` or ``"cloud_only"``), ``rtt_per_cycle``
    (measured round trip, ms, ``None`` without one) and ``network_overhead_per_cycle`` (RTT +
    serialisation over the cycle time); ``lossy`` (draft-model output: the edge-only
    strategy, or an edge-only fallback step committed tokens) and ``cycle_log`` (the policy's own per-cycle log, e.g. NASD's
    K, RTT seen and estimated, cutoff state, probe, drafted, accepted, overhead share).
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
        route=strategy.placement.route,
        cycles=len(cycles) if spec else None,
        drafted=sum(c.drafted for c in cycles) if spec else None,
        accepted=sum(c.accepted for c in cycles) if spec else None,
        **fields,
    ).to_dict()
    rec["extras"] = {
        "strategy": strategy.name,
        "policy": repr(strategy.policy) if spec else None,
        "codec": strategy.codec.name if spec else None,
        "tokens_per_s": 1000.0 * len(outcome.tokens) / latency if latency > 0 else None,
        "k_per_cycle": [c.k for c in cycles],
        "drafted_per_cycle": [c.drafted for c in cycles],
        "accepted_per_cycle": [c.accepted for c in cycles],
        "draft_bytes_per_cycle": [c.bytes_up for c in cycles],
        "agrees_with_cloud": list(outcome.tokens) == list(reference) if reference is not None else None,
        "tokens": list(outcome.tokens),
        "messages": messages,
        "estimated_windows": int(estimated_windows) if spec else 0,
        "committed_per_cycle": [len(c.tokens) for c in cycles],
        "fallback_per_cycle": [c.fallback for c in cycles],
        "rtt_per_cycle": [o.rtt_ms for o in outcome.outcomes],
        "network_overhead_per_cycle": [((o.rtt_ms or 0.0) + (o.transmit_ms or 0.0)) / o.cycle_ms if o.cycle_ms > 0
                                       else 0.0 for o in outcome.outcomes],
        "lossy": outcome.lossy or strategy.name == "edge_only",
        "cycle_log": list(outcome.policy_log),
    }
    return rec
