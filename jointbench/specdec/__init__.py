"""Speculative decoding on real small LMs: edge drafts, cloud verifies.

- :mod:`.models` — the offline model pairs (:data:`~.models.PAIRS`) and their loaders.
- :mod:`.tiny` — tiny random-init Llama pairs for tests.
- :mod:`.sampling` — the acceptance rule (greedy and lossless speculative sampling).
- :mod:`.parts` — registries of placements, policies and codecs (lookup by name).
- :mod:`.policy` — the draft-length policy Protocol, its state (virtual time, last cycle's
  RTT/transmit time/bytes, bandwidth estimate, acceptance history); policies in :mod:`.policies`.
- :mod:`.codec` — draft codecs, the single source of draft message sizes; codecs in :mod:`.codecs`.
- :mod:`.placement` — where the models run; one cycle on the timeline; placements in :mod:`.placements`.
- :mod:`.strategy` — the one ``Strategy`` type (placement × policy × codec) and per-query records.
- :mod:`.loop` — the one per-cycle loop: policy → source → placement → policy.
- :mod:`.sources` — cycle sources: recorded trace (T=0), cached or live sampled generation (T>0).
- :mod:`.engine` — :class:`~.engine.SpecDecoder`: speculative (cycle by cycle), cloud-only, edge-only.
- :mod:`.results` — per-cycle records (compute times, payload sizes) and per-query results.
- :mod:`.payload` — wire format of the fixed messages (prompt, verdict, tokens).
- :mod:`.lm` — a model bound to its own KV cache, with rollback.
- :mod:`.trace` — record a T=0 query once; the cycle of any ``K`` from any prefix.
- :mod:`.calibrate` — t_prefill(n), t_draft, t_verify(K) on this machine (load-robust).
- :mod:`.compute` — per-stage costs from a cached calibration and hardware profiles.
- :mod:`.tracestore` — one recorded trace per (pair, prompt, max_new_tokens), cached on disk.
- :mod:`.sampled` — T>0 generations, cached by everything that decides them.
- :mod:`.session` — one leaderboard test case (what the Ianvs module wraps).
- :mod:`.answers` — parse option letters and final numbers out of generated text.
- :mod:`.leaderboard_plots` — leaderboard plots and the reversal RTT per hardware pair.
- :mod:`.nasd`, :mod:`.nasd_table`, :mod:`.nasd_calibrate`, :mod:`.bandit`, :mod:`.oracle` — NASD's
  controller and RTT → K* table, the UCB bandit and the best-fixed-K oracle; on the loop as the
  ``nasd`` and ``ucb`` policies (:mod:`.policies`); :mod:`.nasd_plots` — oracle table and NASD plots.
- :mod:`.prefixstore` — model answers for prefixes a lossy fallback step took off a T=0 trace.

Importing this package does not import transformers; loading models does.
"""

from __future__ import annotations

from jointbench.specdec.calibrate import Calibration, calibrate
from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.models import PAIRS, LoadedPair, ModelUnavailableError, PairSpec, load_pair
from jointbench.specdec.codec import DraftCodec, make_codec
from jointbench.specdec.placement import Cycle, make_placement
from jointbench.specdec.policies.fixed import FixedK
from jointbench.specdec.policies.heuristic import HeuristicK
from jointbench.specdec.policy import CycleOutcome, DraftLengthPolicy, DraftState, make_policy
from jointbench.specdec.results import DECODE_MODES, CycleRecord, GenerationResult
from jointbench.specdec.strategy import Strategy
from jointbench.specdec.sampling import (
    expected_tokens_per_cycle,
    greedy_verify,
    speculative_verify,
)
from jointbench.specdec.trace import GreedyTrace, record_trace, replay

__all__ = [
    "DECODE_MODES",
    "PAIRS",
    "Calibration",
    "Cycle",
    "CycleOutcome",
    "CycleRecord",
    "DraftCodec",
    "DraftLengthPolicy",
    "DraftState",
    "FixedK",
    "GenerationResult",
    "GreedyTrace",
    "HeuristicK",
    "LoadedPair",
    "ModelUnavailableError",
    "PairSpec",
    "SpecDecoder",
    "Strategy",
    "make_codec",
    "make_placement",
    "make_policy",
    "calibrate",
    "expected_tokens_per_cycle",
    "greedy_verify",
    "load_pair",
    "record_trace",
    "replay",
    "speculative_verify",
]
