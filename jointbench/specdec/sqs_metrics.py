"""Metrics of draft codecs at T>0 (the SQS leaderboard), from the records' per-cycle codec stats.

Each speculative record's ``extras.codec_stats`` holds one dict per cycle
(:func:`~jointbench.specdec.engine.cycle_codec_stats`): ``tv`` (analytic ``TV(p, q_hat)``
per drafted position), ``message_bits`` (the whole draft message), and for bit-coded
codecs ``bits``, ``support_size``, ``dropped_mass`` and ``beta`` per position. A cycle
that drafted ``d`` tokens and accepted ``a`` verified ``a + 1`` positions when ``a < d``
(the last one rejected) and ``d`` otherwise; the realised and analytic rejection rates
are both taken over those verified positions, so they estimate the same quantity.
Every function returns ``nan`` when no sample carries what it needs.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Sequence

import numpy as np

from jointbench.metrics.slots import views


def _records(y_pred: Sequence[Any] | None) -> Iterator[dict[str, Any]]:
    for view in views(y_pred):
        extras = (view.result or {}).get("extras") or {}
        if extras.get("codec_stats"):
            yield extras


def _cycles(y_pred: Sequence[Any] | None) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """``(drafted, accepted, stats)`` of every cycle of every sample with codec stats."""
    for ex in _records(y_pred):
        yield from zip(ex["drafted_per_cycle"], ex["accepted_per_cycle"], ex["codec_stats"])


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def uplink_bits_per_draft_token(y_pred: Sequence[Any] | None) -> float:
    """Draft-message bits (header, ids and distribution) over drafted tokens (bit/token)."""
    bits = drafted = 0
    for d, _, st in _cycles(y_pred):
        bits += st["message_bits"]
        drafted += d
    return bits / drafted if drafted else math.nan


def bits_per_accepted_token(y_pred: Sequence[Any] | None) -> float:
    """Draft-message bits over accepted drafted tokens (bit/token; ``nan`` if none accepted)."""
    bits = accepted = 0
    for _, a, st in _cycles(y_pred):
        bits += st["message_bits"]
        accepted += a
    return bits / accepted if accepted else math.nan


def rejection_realised_pct(y_pred: Sequence[Any] | None) -> float:
    """Rejected over verified drafted positions, in %."""
    rejected = verified = 0
    for d, a, _ in _cycles(y_pred):
        rejected += int(a < d)
        verified += a + 1 if a < d else d
    return 100.0 * rejected / verified if verified else math.nan


def rejection_analytic_pct(y_pred: Sequence[Any] | None) -> float:
    """Mean ``TV(p, q_hat)`` over verified drafted positions, in % (the expected rejection rate)."""
    tv: list[float] = []
    for d, a, st in _cycles(y_pred):
        tv.extend(st["tv"][: a + 1 if a < d else d])
    return 100.0 * _mean(tv)


def dropped_mass_pct(y_pred: Sequence[Any] | None) -> float:
    """Long-run (time-averaged) draft mass outside the coded support, in % (sparse codecs)."""
    return 100.0 * _mean([m for _, _, st in _cycles(y_pred) for m in st.get("dropped_mass", []) if m is not None])


def support_size_mean(y_pred: Sequence[Any] | None) -> float:
    """Mean coded support size per drafted position (tokens; bit-coded codecs)."""
    return _mean([n for _, _, st in _cycles(y_pred) for n in st.get("support_size", []) if n is not None])


def totals(y_pred: Sequence[Any] | None) -> tuple[float, float, float, float]:
    """``(message bits, drafted tokens, sum of TV over verified positions, verified positions)``.

    The sums behind :func:`uplink_bits_per_draft_token` and :func:`rejection_analytic_pct`,
    per sample group, so that groups can be pooled or resampled (bootstrap) without bias.
    """
    bits = drafted = verified = 0
    tv = 0.0
    for d, a, st in _cycles(y_pred):
        bits += st["message_bits"]
        drafted += d
        seen = st["tv"][: a + 1 if a < d else d]
        tv += float(sum(seen))
        verified += len(seen)
    return float(bits), float(drafted), tv, float(verified)


def position_series(extras: dict[str, Any], key: str) -> list[float]:
    """One sample's per-position values of ``key`` (``beta``, ``dropped_mass``, …) in drafting order."""
    return [float(v) for st in extras.get("codec_stats") or [] for v in st.get(key, []) if v is not None]


__all__ = ["bits_per_accepted_token", "dropped_mass_pct", "position_series", "rejection_analytic_pct",
           "rejection_realised_pct", "support_size_mean", "totals", "uplink_bits_per_draft_token"]
