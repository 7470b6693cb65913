"""Metrics of generative (token-streaming) methods: throughput, speculation, wire cost, losslessness.

Pure functions over Ianvs's ``y_pred`` (4-slot items, :mod:`jointbench.metrics.slots`).
Per-sample values come from the result record (``extras.tokens_per_s``,
``extras.agrees_with_cloud``) or from the sample's totals (``accepted``, ``drafted``,
``cycles``, ``network_ms``, ``latency_ms``, ``bytes_up``, ``bytes_down``, ``tokens_out``).
Every function returns ``nan`` when no sample reports what it needs.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from jointbench.metrics.slots import views


def _extra(y_pred: Sequence[Any] | None, key: str) -> list[Any]:
    out = []
    for view in views(y_pred):
        extras = (view.result or {}).get("extras") or {}
        if extras.get(key) is not None:
            out.append(extras[key])
    return out


def _sum(y_pred: Sequence[Any] | None, field: str) -> float | None:
    vals = [v.total(field) for v in views(y_pred)]
    nums = [x for x in vals if x is not None]
    return float(sum(nums)) if nums else None


def _ratio(num: float | None, den: float | None, scale: float = 1.0) -> float:
    if num is None or den is None or den == 0:
        return math.nan
    return scale * num / den


def tokens_per_s_percentile(y_pred: Sequence[Any] | None, q: float) -> float:
    """Percentile ``q`` (0-100) of per-sample throughput, tokens / end-to-end latency (tokens/s)."""
    vals = np.array([float(v) for v in _extra(y_pred, "tokens_per_s")], dtype=float)
    return float(np.percentile(vals, q)) if vals.size else math.nan


def acceptance_rate_pct(y_pred: Sequence[Any] | None) -> float:
    """Accepted over drafted tokens, summed over samples, in %."""
    return _ratio(_sum(y_pred, "accepted"), _sum(y_pred, "drafted"), 100.0)


def accepted_per_cycle(y_pred: Sequence[Any] | None) -> float:
    """Mean accepted drafted tokens per draft/verify cycle (tokens; the bonus token excluded)."""
    return _ratio(_sum(y_pred, "accepted"), _sum(y_pred, "cycles"))


def network_overhead_pct(y_pred: Sequence[Any] | None) -> float:
    """Exposed network time over end-to-end latency, summed over samples, in %."""
    return _ratio(_sum(y_pred, "network_ms"), _sum(y_pred, "latency_ms"), 100.0)


def uplink_bytes_per_token(y_pred: Sequence[Any] | None) -> float:
    """Edge-to-cloud wire bytes per generated token (B/token)."""
    return _ratio(_sum(y_pred, "bytes_up"), _sum(y_pred, "tokens_out"))


def uplink_bytes_per_drafted_token(y_pred: Sequence[Any] | None) -> float:
    """Edge-to-cloud wire bytes per drafted token (B/token); what a draft codec costs.

    Includes the prompt and transport headers, so it is slightly above the codec's
    per-token payload (``4·V`` for dense fp32 drafts over a vocabulary of ``V``).
    """
    return _ratio(_sum(y_pred, "bytes_up"), _sum(y_pred, "drafted"))


def downlink_bytes_per_token(y_pred: Sequence[Any] | None) -> float:
    """Cloud-to-edge wire bytes per generated token (B/token)."""
    return _ratio(_sum(y_pred, "bytes_down"), _sum(y_pred, "tokens_out"))


def cloud_agreement_pct(y_pred: Sequence[Any] | None) -> float:
    """Share of samples whose output tokens equal the cloud-only greedy output, in %.

    100 for any lossless strategy at T=0; below 100 for edge-only.
    """
    flags = [bool(v) for v in _extra(y_pred, "agrees_with_cloud")]
    return 100.0 * sum(flags) / len(flags) if flags else math.nan


def lossy_pct(y_pred: Sequence[Any] | None) -> float:
    """Share of samples served (at least partly) by a quality-changing mode, in %.

    A sample is lossy when its record says ``extras.lossy`` (edge-only decoding, or an
    edge-only fallback step of NASD's cutoff); 0 for every lossless strategy.
    """
    flags = [bool(v) for v in _extra(y_pred, "lossy")]
    return 100.0 * sum(flags) / len(flags) if flags else math.nan


def fallback_token_pct(y_pred: Sequence[Any] | None) -> float:
    """Share of output tokens committed by fallback steps (no draft/verify), in %."""
    done = total = 0
    for view in views(y_pred):
        extras = (view.result or {}).get("extras") or {}
        per = extras.get("committed_per_cycle")
        kinds = extras.get("fallback_per_cycle")
        if per is None or kinds is None:
            continue
        done += sum(n for n, f in zip(per, kinds) if f)
        total += sum(per)
    return 100.0 * done / total if total else math.nan
