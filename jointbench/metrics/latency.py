"""Latency metrics from the virtual clock's per-sample times."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from jointbench.metrics.slots import views


def _totals(y_pred: Sequence[Any] | None, field: str) -> np.ndarray:
    vals = [v.total(field) for v in views(y_pred)]
    return np.array([x for x in vals if x is not None], dtype=float)


def latency_percentile_ms(y_pred: Sequence[Any] | None, q: float, field: str = "latency_ms") -> float:
    """The ``q``-th percentile (0-100, linear interpolation) of per-sample latency, in ms.

    A sample's latency adds its edge and cloud records' ``latency_ms`` when both ran.

    Returns
    -------
    float
        Milliseconds; ``nan`` when no sample reports the field.
    """
    totals = _totals(y_pred, field)
    return float(np.percentile(totals, q)) if totals.size else math.nan


def latency_mean_ms(y_pred: Sequence[Any] | None, field: str = "latency_ms") -> float:
    """Mean per-sample latency in ms; ``nan`` when no sample reports it."""
    totals = _totals(y_pred, field)
    return float(totals.mean()) if totals.size else math.nan


def ttft_percentile_ms(y_pred: Sequence[Any] | None, q: float) -> float:
    """The ``q``-th percentile of time to first token (``ttft_ms``), in ms; ``nan`` if absent."""
    return latency_percentile_ms(y_pred, q, field="ttft_ms")
