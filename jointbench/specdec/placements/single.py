"""``cloud_only`` and ``edge_only``: one model decodes alone, one token per step.

- cloud-only: prompt up, target prefill, every token streamed down as decoded
  (decoding does not wait for the downlink).
- edge-only: draft prefill and decoding on the edge; no network.

The loop hands these placements one-token cycles; cycle 0 is the token the prefill yields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jointbench.netsim import Timeline
from jointbench.specdec.parts import PLACEMENT, register
from jointbench.specdec.payload import TOKEN_BYTES, prompt_bytes
from jointbench.specdec.placement import Cycle, PlacedCycle

if TYPE_CHECKING:  # typing only: compute imports torch (via calibrate)
    from jointbench.specdec.compute import ComputeModel


class _CloudQuery:
    def __init__(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> None:
        self.tl, self.step = tl, compute.decode_ms()
        self.compute, self.n_prompt = compute, n_prompt
        up = tl.send("up", prompt_bytes(n_prompt), kind="prompt", at_ms=tl.start_ms)
        self.t_cloud = tl.compute("cloud", compute.cloud_prefill_ms(n_prompt), stage="prefill", at_ms=up.arrival_ms)

    @property
    def now_ms(self) -> float:
        return self.t_cloud

    def place(self, cycle: Cycle, index: int) -> PlacedCycle:
        start = self.t_cloud
        if index:
            # step ``index`` feeds token ``index - 1`` with ``n_prompt + index - 1`` cached (flat: ``self.step``)
            step = self.compute.decode_ms(self.n_prompt + index - 1) if self.compute.context else self.step
            self.t_cloud = self.tl.compute("cloud", step, stage="decode", at_ms=self.t_cloud)
        self.tl.send("down", TOKEN_BYTES, kind="token", at_ms=self.t_cloud)
        # The clock is now the latest arrival so far: in-order delivery on the stream.
        self.tl.emit(1)
        return PlacedCycle(start, self.tl.now_ms, 0, TOKEN_BYTES)


class _EdgeQuery:
    def __init__(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> None:
        self.tl, self.step = tl, compute.draft_ms()
        self.compute, self.n_prompt = compute, n_prompt
        self.t = tl.compute("edge", compute.edge_prefill_ms(n_prompt), stage="prefill", at_ms=tl.start_ms)

    @property
    def now_ms(self) -> float:
        return self.t

    def place(self, cycle: Cycle, index: int) -> PlacedCycle:
        start = self.t
        if index:
            step = self.compute.draft_ms(self.n_prompt + index - 1) if self.compute.context else self.step
            self.t = self.tl.compute("edge", step, stage="decode", at_ms=self.t)
        self.tl.emit(1)
        return PlacedCycle(start, self.t)


@register(PLACEMENT, "cloud_only")
class CloudOnly:
    """The target decodes in the cloud; tokens streamed down."""

    name = "cloud_only"
    label = "cloud-only"
    order = 0
    speculative = False
    uses_link = True
    route = "cloud"

    def begin(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> _CloudQuery:
        """Prompt up, target prefill."""
        return _CloudQuery(tl, n_prompt, compute)


@register(PLACEMENT, "edge_only")
class EdgeOnly:
    """The draft decodes on the edge (lossy: draft quality); no network."""

    name = "edge_only"
    label = "edge-only"
    order = 1
    speculative = False
    uses_link = False
    route = "edge"

    def begin(self, tl: Timeline, n_prompt: int, compute: ComputeModel) -> _EdgeQuery:
        """Draft prefill on the edge."""
        return _EdgeQuery(tl, n_prompt, compute)
