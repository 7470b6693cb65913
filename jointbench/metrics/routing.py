"""Routing metrics: who answered."""

from __future__ import annotations

import math
from typing import Any, Sequence

from jointbench.metrics.slots import views


def cloud_share_pct(y_true: Sequence[Any] | None, y_pred: Sequence[Any] | None) -> float:
    """Deferral rate: share of samples the HEM marked hard (sent to the cloud), in percent.

    Returns
    -------
    float
        % of samples with a truthy ``is_hard_example`` slot; ``nan`` for no samples.
    """
    flags = [v.is_hard for v in views(y_pred)]
    return 100.0 * sum(flags) / len(flags) if flags else math.nan


def edge_share_pct(y_true: Sequence[Any] | None, y_pred: Sequence[Any] | None) -> float:
    """Share of samples answered at the edge, in percent (100 minus the deferral rate)."""
    share = cloud_share_pct(y_true, y_pred)
    return share if math.isnan(share) else 100.0 - share
