"""Metrics of the patch-offload Ianvs job over ``(y_true, y_pred)`` (Ianvs's four-slot samples).

Per sample the edge record (slot 2) carries the CRC decision, the APS set and the image geometry; the
cloud record (slot 3, offloaded samples only) carries the uploaded bytes. Every function returns a
float (``nan`` when no sample can be scored).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from jointbench.metrics.slots import label_for, views
from jointbench.patchoffload.costs import communication_cost, mean_upload_latency_ms, serialisation_link

__all__ = ["COST_ALIAS", "OFFLOAD_ALIAS", "TOP1_ALIAS", "accept_wrong_pct", "aps_coverage_pct", "aps_set_size",
           "communication_cost_ratio", "mean_patches_sent", "upload_latency_ms"]

TOP1_ALIAS = "Patch top-1 accuracy (%)"
"""Leaderboard name of the system's top-1 accuracy (the testenv registers it; the plots read it)."""
COST_ALIAS = "Patch communication cost (ratio)"
"""Leaderboard name of the bytes uploaded over the raw image bytes."""
OFFLOAD_ALIAS = "Patch offload rate (%)"
"""Leaderboard name of the share of images sent to the server."""


def _rows(y_true: Sequence[Any] | None, y_pred: Sequence[Any] | None) -> list[dict[str, Any]]:
    n = len(y_pred or [])
    out = []
    for v in views(y_pred):
        edge = v.edge or {}
        extras = edge.get("extras") or {}
        if "accept" not in extras:
            continue
        cloud = v.cloud or {}
        out.append({"hard": v.is_hard, "label": label_for(v, y_true, n), "extras": extras,
                    "bytes_up": int(cloud.get("bytes_up") or 0) if v.is_hard else 0,
                    "patches": int((cloud.get("extras") or {}).get("patches_sent") or 0) if v.is_hard else 0})
    return out


def communication_cost_ratio(y_true, y_pred) -> float:
    """Σ bytes uploaded / Σ raw image bytes (ratio in [0, 1] without index overhead)."""
    rows = _rows(y_true, y_pred)
    if not rows:
        return math.nan
    return communication_cost(np.array([r["bytes_up"] for r in rows]), int(rows[0]["extras"]["raw_image_bytes"]))


def mean_patches_sent(y_true, y_pred) -> float:
    """Mean patches uploaded per image over all images (0 for accepted ones)."""
    rows = _rows(y_true, y_pred)
    return float(np.mean([r["patches"] for r in rows])) if rows else math.nan


def accept_wrong_pct(y_true, y_pred) -> float:
    """Empirical CRC risk: % of images accepted at the edge with a wrong edge answer."""
    rows = [r for r in _rows(y_true, y_pred) if r["label"] is not None]
    if not rows:
        return math.nan
    bad = [not r["hard"] and str(r["extras"]["edge_prediction"]) != str(r["label"]).strip() for r in rows]
    return 100.0 * float(np.mean(bad))


def aps_coverage_pct(y_true, y_pred) -> float:
    """% of images whose label is in the edge's APS candidate set."""
    rows = [r for r in _rows(y_true, y_pred) if r["label"] is not None]
    if not rows:
        return math.nan
    return 100.0 * float(np.mean([int(str(r["label"]).strip()) in r["extras"]["aps_set"] for r in rows]))


def aps_set_size(y_true, y_pred) -> float:
    """Mean APS candidate-set size (classes)."""
    rows = _rows(y_true, y_pred)
    return float(np.mean([len(r["extras"]["aps_set"]) for r in rows])) if rows else math.nan


def upload_latency_ms(y_true, y_pred, rate_mbps: float) -> float:
    """Mean upload time per image (ms) on a serialisation-only link at ``rate_mbps`` (0 when accepted)."""
    rows = _rows(y_true, y_pred)
    if not rows:
        return math.nan
    return mean_upload_latency_ms([r["bytes_up"] for r in rows], serialisation_link(rate_mbps))
