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
- :mod:`.engine` — :class:`~.engine.SpecDecoder`: speculative (cycle by cycle), cloud-only, edge-only;
  :mod:`.drafting` — the one drafting routine (engine and two-process edge).
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

Importing this package imports neither torch nor transformers: each exported name is loaded from its
submodule on first use (:mod:`jointbench.lazy`); loading models imports them.
"""

from __future__ import annotations

from jointbench.lazy import lazy_exports

_EXPORTS = {
    "Calibration": "calibrate",
    "Cycle": "placement",
    "CycleOutcome": "policy",
    "CycleRecord": "results",
    "DECODE_MODES": "results",
    "DraftCodec": "codec",
    "DraftLengthPolicy": "policy",
    "DraftState": "policy",
    "FixedK": "policies.fixed",
    "GenerationResult": "results",
    "GreedyTrace": "trace",
    "HeuristicK": "policies.heuristic",
    "LoadedPair": "models",
    "ModelUnavailableError": "models",
    "PAIRS": "models",
    "PairSpec": "models",
    "SpecDecoder": "engine",
    "Strategy": "strategy",
    "expected_tokens_per_cycle": "sampling",
    "greedy_verify": "sampling",
    "load_pair": "models",
    "make_codec": "codec",
    "make_placement": "placement",
    "make_policy": "policy",
    "record_trace": "trace",
    "replay": "trace",
    "speculative_verify": "sampling",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
