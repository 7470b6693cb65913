"""``colocated`` and ``edge_cloud``: draft/verify cycles.

- co-located: prompt up; both models prefill and run draft/verify cycles in the cloud;
  each cycle's committed tokens go down in one message.
- edge-cloud: prompt up while the edge prefills the draft; per cycle the edge drafts
  ``drafted`` tokens, sends the codec's draft message up, the cloud verifies
  (``t_verify(drafted)``) and sends the verdict down; the edge commits on arrival.

Fallback steps (edge-cloud only; a policy's ``next_k == 0`` with a ``fallback``):

- ``edge_only``: the edge decodes the step's tokens with the draft, one draft step each,
  delivered as decoded; nothing is sent. The cloud has not seen them: the next draft
  message carries them too (ids) and its verify pass covers them
  (``t_verify(pending + drafted)``).
- ``cloud_only``: the edge asks once (a small request up), the cloud decodes the tokens
  with the target (one decode step each) and streams each down; consecutive cloud steps
  continue the stream without a new request. The edge's draft catches up on the streamed
  tokens in one extra draft step before it drafts again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jointbench.netsim import Timeline
from jointbench.specdec.parts import PLACEMENT, register
from jointbench.specdec.payload import TOKEN_BYTES, VERDICT_BYTES, prompt_bytes, tokens_bytes
from jointbench.specdec.placement import Cycle, PlacedCycle, round_trip_ms, stream_rtt_ms

if TYPE_CHECKING:  # typing only: compute imports torch (via calibrate)
    from jointbench.specdec.compute import ComputeModel


class _ColocatedQuery:
    def __init__(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> None:
        self.tl, self.compute = tl, compute
        self.context = n_prompt
        """Prompt + committed tokens (the cache lengths a context-dependent compute model charges at)."""
        up = tl.send("up", prompt_bytes(n_prompt), kind="prompt", at_ms=tl.start_ms)
        prefill = compute.cloud_prefill_ms(n_prompt - 1) + compute.cloud_draft_prefill_ms(max(1, n_prompt - 1))
        self.t_cloud = tl.compute("cloud", prefill, stage="prefill", at_ms=up.arrival_ms)

    @property
    def now_ms(self) -> float:
        return self.t_cloud

    def place(self, cycle: Cycle, index: int) -> PlacedCycle:
        tl, start = self.tl, self.t_cloud
        if cycle.drafted:
            self.t_cloud = tl.compute("cloud", self.compute.cloud_draft_block_ms(cycle.drafted, self.context),
                                      stage="draft", at_ms=self.t_cloud)
        self.t_cloud = tl.compute("cloud", self.compute.verify_ms(cycle.drafted, self.context - 1), stage="verify",
                                  at_ms=self.t_cloud)
        self.context += len(cycle.tokens)
        down = tokens_bytes(len(cycle.tokens))
        tl.send("down", down, kind="tokens", at_ms=self.t_cloud)
        tl.emit(len(cycle.tokens))
        return PlacedCycle(start, self.t_cloud, 0, down)


FALLBACK_REQUEST_BYTES = VERDICT_BYTES
"""A cloud-only fallback request (\"decode on, stream down\"): as small as a verdict."""


class _EdgeCloudQuery:
    def __init__(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> None:
        self.tl, self.compute = tl, compute
        self.cloud_behind = 0
        """Edge-only fallback tokens the cloud has not seen yet."""
        self.edge_behind = False
        """The cloud streamed tokens the edge's draft has not processed yet."""
        self.streaming = False
        self.context = n_prompt
        """Prompt + committed tokens (the cache lengths a context-dependent compute model charges at)."""
        start = tl.start_ms
        up = tl.send("up", prompt_bytes(n_prompt), kind="prompt", at_ms=start)
        self.t_edge = tl.compute("edge", compute.edge_prefill_ms(max(1, n_prompt - 1)), stage="prefill", at_ms=start)
        self.t_cloud = tl.compute("cloud", compute.cloud_prefill_ms(max(1, n_prompt - 1)), stage="prefill",
                                  at_ms=up.arrival_ms)

    @property
    def now_ms(self) -> float:
        return self.t_edge

    def place(self, cycle: Cycle, index: int) -> PlacedCycle:
        if cycle.fallback == "edge_only":
            return self._edge_step(cycle)
        if cycle.fallback == "cloud_only":
            return self._cloud_step(cycle)
        if cycle.fallback is not None:
            raise ValueError(f"fallback={cycle.fallback!r}: unknown. Available: edge_only, cloud_only")
        tl, start = self.tl, self.t_edge
        steps = cycle.drafted + (1 if self.edge_behind and cycle.drafted else 0)
        if steps:
            self.t_edge = tl.compute("edge", self.compute.draft_block_ms(steps, self.context), stage="draft",
                                     at_ms=self.t_edge)
        up_bytes = cycle.bytes_up + tokens_bytes(self.cloud_behind)
        draft = tl.send("up", up_bytes, kind="draft", at_ms=self.t_edge)
        # the cloud has cached all but the last committed token and the edge-only tokens it has not seen
        self.t_cloud = tl.compute("cloud", self.compute.verify_ms(cycle.drafted + self.cloud_behind,
                                                                  self.context - 1 - self.cloud_behind),
                                  stage="verify", at_ms=max(self.t_cloud, draft.arrival_ms))
        self.context += len(cycle.tokens)
        verdict = tl.send("down", VERDICT_BYTES, kind="verdict", at_ms=self.t_cloud)
        tl.emit(len(cycle.tokens))
        self.t_edge = tl.now_ms
        self.cloud_behind, self.streaming = 0, False
        self.edge_behind = self.edge_behind and not cycle.drafted
        return PlacedCycle(start, self.t_edge, up_bytes, VERDICT_BYTES, round_trip_ms(draft, verdict),
                           draft.serialisation_ms, draft)

    def _edge_step(self, cycle: Cycle) -> PlacedCycle:
        tl, start = self.tl, self.t_edge
        for _ in cycle.tokens:
            self.t_edge = tl.compute("edge", self.compute.draft_ms(self.context), stage="fallback", at_ms=self.t_edge)
            self.context += 1
            tl.emit(1)
        self.cloud_behind += len(cycle.tokens)
        self.streaming = False
        return PlacedCycle(start, self.t_edge)

    def _cloud_step(self, cycle: Cycle) -> PlacedCycle:
        tl, start = self.tl, self.t_edge
        up = 0
        if not self.streaming:
            req = tl.send("up", FALLBACK_REQUEST_BYTES, kind="fallback", at_ms=self.t_edge)
            self.t_cloud = max(self.t_cloud, req.arrival_ms)
            if self.cloud_behind:  # only reachable if a policy mixed both fallbacks
                self.t_cloud = tl.compute("cloud", self.compute.verify_ms(self.cloud_behind - 1,
                                                                          self.context - self.cloud_behind - 1),
                                          stage="verify", at_ms=self.t_cloud)
                self.cloud_behind = 0
            up = FALLBACK_REQUEST_BYTES
        last = None
        for _ in cycle.tokens:
            self.t_cloud = tl.compute("cloud", self.compute.decode_ms(self.context - 1), stage="decode",
                                      at_ms=self.t_cloud)
            self.context += 1
            last = tl.send("down", TOKEN_BYTES, kind="token", at_ms=self.t_cloud)
            tl.emit(1)
        self.t_edge = tl.now_ms
        self.streaming, self.edge_behind = True, True
        return PlacedCycle(start, self.t_edge, up, TOKEN_BYTES * len(cycle.tokens), stream_rtt_ms=stream_rtt_ms(last))


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
    fallbacks = True

    def begin(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> _EdgeCloudQuery:
        """Prompt up while both sides prefill ``prompt[:-1]``."""
        return _EdgeCloudQuery(tl, n_prompt, compute)
