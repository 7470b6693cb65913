"""Speculative decoding on real small LMs: edge drafts, cloud verifies.

- :mod:`.models` — the offline model pairs (:data:`~.models.PAIRS`) and their loaders.
- :mod:`.tiny` — tiny random-init Llama pairs for tests.
- :mod:`.sampling` — the acceptance rule (greedy and lossless speculative sampling).
- :mod:`.policy` — draft-length policies (``FixedK``, transformers' heuristic).
- :mod:`.engine` — :class:`~.engine.SpecDecoder`: speculative, cloud-only, edge-only.
- :mod:`.results` — per-cycle records (compute times, payload sizes) and per-query results.
- :mod:`.payload` — wire format of the edge-cloud messages (real byte counts).
- :mod:`.lm` — a model bound to its own KV cache, with rollback.
- :mod:`.trace` — record a T=0 query once, replay any policy without the models.
- :mod:`.calibrate` — t_prefill(n), t_draft, t_verify(K) on this machine.
- :mod:`.compute` — per-stage costs from a cached calibration and hardware profiles.
- :mod:`.tracestore` — one recorded trace per (pair, prompt, max_new_tokens), cached on disk.
- :mod:`.timing` — a query's timeline on the virtual clock, per strategy.
- :mod:`.strategies` — cloud-only, edge-only, co-located and edge-cloud; per-query records.
- :mod:`.session` — one leaderboard test case (what the Ianvs module wraps).
- :mod:`.answers` — parse option letters and final numbers out of generated text.
- :mod:`.leaderboard_plots` — leaderboard plots and the reversal RTT per hardware pair.

Importing this package does not import transformers; loading models does.
"""

from __future__ import annotations

from jointbench.specdec.calibrate import Calibration, calibrate
from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.models import PAIRS, LoadedPair, ModelUnavailableError, PairSpec, load_pair
from jointbench.specdec.policy import DraftLengthPolicy, DraftState, FixedK, HeuristicK
from jointbench.specdec.results import STRATEGIES, CycleRecord, GenerationResult
from jointbench.specdec.sampling import (
    expected_tokens_per_cycle,
    greedy_verify,
    speculative_verify,
)
from jointbench.specdec.trace import GreedyTrace, ReplayCycle, record_trace, replay

__all__ = [
    "PAIRS",
    "STRATEGIES",
    "Calibration",
    "CycleRecord",
    "DraftLengthPolicy",
    "DraftState",
    "FixedK",
    "GenerationResult",
    "GreedyTrace",
    "HeuristicK",
    "LoadedPair",
    "ModelUnavailableError",
    "PairSpec",
    "ReplayCycle",
    "SpecDecoder",
    "calibrate",
    "expected_tokens_per_cycle",
    "greedy_verify",
    "load_pair",
    "record_trace",
    "replay",
    "speculative_verify",
]
