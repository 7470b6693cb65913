"""Bytes on the edge-cloud link per query."""

from __future__ import annotations

import math
from typing import Any, Sequence

from jointbench.metrics.slots import views


def _kb_per_query(y_pred: Sequence[Any] | None, field: str) -> float:
    items = list(views(y_pred))
    if not items:
        return math.nan
    total = sum(v.total(field) or 0.0 for v in items)
    return total / 1000.0 / len(items)


def uplink_kb_per_query(y_true: Sequence[Any] | None, y_pred: Sequence[Any] | None) -> float:
    """Mean bytes sent edge to cloud per query, in kB (1 kB = 1000 bytes); ``nan`` for no samples."""
    return _kb_per_query(y_pred, "bytes_up")


def downlink_kb_per_query(y_true: Sequence[Any] | None, y_pred: Sequence[Any] | None) -> float:
    """Mean bytes sent cloud to edge per query, in kB (1 kB = 1000 bytes); ``nan`` for no samples."""
    return _kb_per_query(y_pred, "bytes_down")
