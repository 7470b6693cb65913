"""What one decoding run reports: per-cycle compute times, token counts and payload sizes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

DecodeMode = Literal["speculative", "cloud-only", "edge-only"]
DECODE_MODES: tuple[DecodeMode, ...] = ("speculative", "cloud-only", "edge-only")
"""What :class:`~jointbench.specdec.engine.SpecDecoder` runs (placements are :mod:`~.placement`'s)."""
_ROUTES = {"speculative": "both", "cloud-only": "cloud", "edge-only": "edge"}


@dataclass
class CycleRecord:
    """One draft-verify cycle, or one decoding step of a single-model strategy.

    Attributes
    ----------
    k : int
        Draft length used (the policy's choice clipped to ``remaining - 1``; 0 for
        single-model steps).
    drafted : int
        Tokens drafted (``<= k``; fewer when the draft emitted EOS).
    accepted : int
        Leading drafted tokens the target accepted.
    tokens : list of int
        Tokens committed by this cycle (``accepted + 1``, fewer at EOS).
    edge_ms : float
        Edge compute (ms): ``drafted`` draft forwards, sampling and message encoding;
        or one draft decoding step (edge-only). Rolling the draft cache back after
        the verdict is a tensor slice (microseconds) and is not timed.
    cloud_ms : float
        Cloud compute (ms): message decoding, the verify forward over ``k + 1``
        tokens, the acceptance rule and cache rollback; or one target decoding step
        (cloud-only).
    bytes_up : int
        Encoded draft message (edge to cloud), 0 for single-model steps.
    bytes_down : int
        Encoded verdict (cloud to edge), or one streamed token id (cloud-only).
    """

    k: int
    drafted: int
    accepted: int
    tokens: list[int]
    edge_ms: float = 0.0
    cloud_ms: float = 0.0
    bytes_up: int = 0
    bytes_down: int = 0


@dataclass
class GenerationResult:
    """Outcome of one query under one strategy.

    Attributes
    ----------
    mode : {"speculative", "cloud-only", "edge-only"}
    prompt_len : int
        Prompt length in tokens.
    tokens : list of int
        Generated tokens (without the prompt), EOS included when it stopped there.
    stop : {"eos", "length"}
    temperature : float
        0 means greedy.
    edge_prefill_ms, cloud_prefill_ms : float
        Prefill compute (ms). Speculative: both models cache ``prompt[:-1]`` (the last
        prompt token enters the first draft/verify pass). Single-model strategies:
        the prefill covers the whole prompt and yields ``tokens[0]``.
    prompt_bytes : int
        Encoded prompt sent edge to cloud (0 for edge-only).
    first_token_bytes : int
        Bytes sending ``tokens[0]`` down after the prefill (cloud-only: 4; else 0).
    first_token_in_prefill : bool
        True for single-model strategies: ``cycles`` then hold ``tokens[1:]``.
    cycles : list of CycleRecord
    wall_ms : float
        Wall-clock time of the whole call (ms), for co-located throughput.
    """

    mode: DecodeMode
    prompt_len: int
    tokens: list[int]
    stop: Literal["eos", "length"]
    temperature: float
    edge_prefill_ms: float = 0.0
    cloud_prefill_ms: float = 0.0
    prompt_bytes: int = 0
    first_token_bytes: int = 0
    first_token_in_prefill: bool = False
    cycles: list[CycleRecord] = field(default_factory=list)
    wall_ms: float = 0.0

    @property
    def drafted(self) -> int:
        """Total drafted tokens."""
        return sum(c.drafted for c in self.cycles)

    @property
    def accepted(self) -> int:
        """Total accepted drafted tokens."""
        return sum(c.accepted for c in self.cycles)

    @property
    def acceptance_rate(self) -> float:
        """``accepted / drafted`` (nan when nothing was drafted)."""
        return self.accepted / self.drafted if self.drafted else float("nan")

    def colocated_timing(self) -> dict[str, float]:
        """TTFT and end-to-end latency (ms) with every stage run back to back, no network.

        This is co-located speculative decoding (or local single-model decoding) as
        measured on this machine; the network simulator composes the edge-cloud case.
        """
        prefill = self.edge_prefill_ms + self.cloud_prefill_ms
        steps = [c.edge_ms + c.cloud_ms for c in self.cycles]
        ttft = prefill if self.first_token_in_prefill else prefill + (steps[0] if steps else 0.0)
        return {"ttft_ms": ttft, "latency_ms": prefill + sum(steps)}

    def record_fields(self) -> dict[str, Any]:
        """Fields of :class:`jointbench.records.SampleRecord` this result determines.

        Times are co-located (no network); bytes are payloads without headers.
        """
        timing = self.colocated_timing()
        spec = self.mode == "speculative"
        return {
            "prediction": list(self.tokens),
            "route": _ROUTES[self.mode],
            "ttft_ms": timing["ttft_ms"],
            "latency_ms": timing["latency_ms"],
            "network_ms": 0.0,
            "edge_compute_ms": self.edge_prefill_ms + sum(c.edge_ms for c in self.cycles),
            "cloud_compute_ms": self.cloud_prefill_ms + sum(c.cloud_ms for c in self.cycles),
            "tokens_out": len(self.tokens),
            "cycles": len(self.cycles) if spec else None,
            "drafted": self.drafted if spec else None,
            "accepted": self.accepted if spec else None,
            "bytes_up": self.prompt_bytes + sum(c.bytes_up for c in self.cycles),
            "bytes_down": self.first_token_bytes + sum(c.bytes_down for c in self.cycles),
            "extras": {
                "mode": self.mode,
                "stop": self.stop,
                "k_per_cycle": [c.k for c in self.cycles] if spec else [],
                "accepted_per_cycle": [c.accepted for c in self.cycles] if spec else [],
            },
        }
