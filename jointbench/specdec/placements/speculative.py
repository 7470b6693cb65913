"""``colocated`` and ``edge_cloud``: draft/verify cycles.

- co-located: prompt up; both models prefill and run draft/verify cycles in the cloud;
  each cycle's committed tokens go down in one message.
- edge-cloud: prompt up while the edge prefills the draft; per cycle the edge drafts
  ``drafted`` tokens, sends the codec's draft message up, the cloud verifies
  (``t_verify(drafted)``) and sends the verdict down; the edge commits on arrival.
"""

from __future__ import annotations

from jointbench.netsim import Timeline
from jointbench.specdec.compute import ComputeModel
from jointbench.specdec.parts import PLACEMENT, register
from jointbench.specdec.payload import VERDICT_BYTES, prompt_bytes, tokens_bytes
from jointbench.specdec.placement import Cycle, PlacedCycle, round_trip_ms


class _ColocatedQuery:
    def __init__(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> None:
        self.tl, self.compute = tl, compute
        up = tl.send("up", prompt_bytes(n_prompt), kind="prompt", at_ms=tl.start_ms)
        prefill = compute.cloud_prefill_ms(n_prompt - 1) + compute.cloud_draft_prefill_ms(max(1, n_prompt - 1))
        self.t_cloud = tl.compute("cloud", prefill, stage="prefill", at_ms=up.arrival_ms)

    @property
    def now_ms(self) -> float:
        return self.t_cloud

    def place(self, cycle: Cycle, index: int) -> PlacedCycle:
        tl, start = self.tl, self.t_cloud
        if cycle.drafted:
            self.t_cloud = tl.compute("cloud", cycle.drafted * self.compute.cloud_draft_ms(), stage="draft",
                                      at_ms=self.t_cloud)
        self.t_cloud = tl.compute("cloud", self.compute.verify_ms(cycle.drafted), stage="verify", at_ms=self.t_cloud)
        down = tokens_bytes(len(cycle.tokens))
        tl.send("down", down, kind="tokens", at_ms=self.t_cloud)
        tl.emit(len(cycle.tokens))
        return PlacedCycle(start, self.t_cloud, 0, down)


class _EdgeCloudQuery:
    def __init__(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> None:
        self.tl, self.compute = tl, compute
        start = tl.start_ms
        up = tl.send("up", prompt_bytes(n_prompt), kind="prompt", at_ms=start)
        self.t_edge = tl.compute("edge", compute.edge_prefill_ms(max(1, n_prompt - 1)), stage="prefill", at_ms=start)
        self.t_cloud = tl.compute("cloud", compute.cloud_prefill_ms(max(1, n_prompt - 1)), stage="prefill",
                                  at_ms=up.arrival_ms)

    @property
    def now_ms(self) -> float:
        return self.t_edge

    def place(self, cycle: Cycle, index: int) -> PlacedCycle:
        tl, start = self.tl, self.t_edge
        if cycle.drafted:
            self.t_edge = tl.compute("edge", cycle.drafted * self.compute.draft_ms(), stage="draft", at_ms=self.t_edge)
        draft = tl.send("up", cycle.bytes_up, kind="draft", at_ms=self.t_edge)
        self.t_cloud = tl.compute("cloud", self.compute.verify_ms(cycle.drafted), stage="verify",
                                  at_ms=max(self.t_cloud, draft.arrival_ms))
        verdict = tl.send("down", VERDICT_BYTES, kind="verdict", at_ms=self.t_cloud)
        tl.emit(len(cycle.tokens))
        self.t_edge = tl.now_ms
        return PlacedCycle(start, self.t_edge, cycle.bytes_up, VERDICT_BYTES, round_trip_ms(draft, verdict),
                           draft.serialisation_ms, draft)


@register(PLACEMENT, "colocated")
class Colocated:
    """Speculative decoding with both models in the cloud."""

    name = "colocated"
    label = "co-located"
    order = 2
    speculative = True
    uses_link = True
    route = "both"

    def begin(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> _ColocatedQuery:
        """Prompt up, both prefills in the cloud."""
        return _ColocatedQuery(tl, n_prompt, compute)


@register(PLACEMENT, "edge_cloud")
class EdgeCloud:
    """The edge drafts, the cloud verifies, one round trip per cycle."""

    name = "edge_cloud"
    label = "edge-cloud"
    order = 3
    speculative = True
    uses_link = True
    route = "both"

    def begin(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> _EdgeCloudQuery:
        """Prompt up while both sides prefill ``prompt[:-1]``."""
        return _EdgeCloudQuery(tl, n_prompt, compute)
