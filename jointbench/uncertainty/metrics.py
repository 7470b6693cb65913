"""UTS metrics over a test case's records (Ianvs ``y_pred`` 4-slot items or plain record dicts).

Every function returns a float with the unit in its name; ``nan`` when nothing can be measured
(e.g. no update happened). The final record of each sample carries the edge's fields (its
answer, confidence, whether it uploaded) and, for uploads, the cloud's (bytes, pseudo-label,
and the ``update`` dict when that upload triggered an update round).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jointbench.uncertainty.selection import auroc

__all__ = ["compressed_vs_dense_drop_pp", "compression_ratio_x", "downlink_bytes_per_update", "heldout_after_pct",
           "heldout_before_pct", "heldout_gain_pp", "latency_mean_ms", "served_accuracy_pct", "update_rounds",
           "upload_fraction_pct", "uncertainty_auroc", "uplink_bytes_per_query"]


def results(y_pred: Sequence[Any] | None) -> list[Mapping[str, Any]]:
    """The final record of each sample (slot 1 of a 4-slot item, or the item itself if a dict)."""
    out = []
    for item in y_pred or []:
        rec = item[1] if isinstance(item, (list, tuple)) and len(item) == 4 else item
        if isinstance(rec, Mapping):
            out.append(rec)
    return out


def _extras(y_pred: Sequence[Any] | None) -> list[Mapping[str, Any]]:
    return [r.get("extras") or {} for r in results(y_pred)]


def _updates(y_pred: Sequence[Any] | None) -> list[Mapping[str, Any]]:
    return [e["update"] for e in _extras(y_pred) if isinstance(e.get("update"), Mapping)]


def _mean(values: list[float]) -> float:
    return float(np.mean(values)) if values else math.nan


def served_accuracy_pct(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Accuracy of what the user got (the edge's answer, or the cloud's for uploads), %."""
    return 100.0 * _mean([float(r["correct"]) for r in results(y_pred) if isinstance(r.get("correct"), bool)])


def heldout_before_pct(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Edge-alone held-out accuracy before any update, %."""
    for e in _extras(y_pred):
        if isinstance(e.get("heldout"), Mapping):
            return 100.0 * float(e["heldout"]["heldout_acc"])
    return math.nan


def heldout_after_pct(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Edge-alone held-out accuracy after the last update (before, if there was none), %."""
    ups = _updates(y_pred)
    return 100.0 * float(ups[-1]["heldout_acc"]) if ups else heldout_before_pct(y_true, y_pred)


def heldout_gain_pp(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """After minus before, percentage points."""
    return heldout_after_pct(y_true, y_pred) - heldout_before_pct(y_true, y_pred)


def update_rounds(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Number of update rounds in the test case (count)."""
    return float(len(_updates(y_pred)))


def upload_fraction_pct(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Share of samples UTS-1 uploaded, %."""
    return 100.0 * _mean([float(bool(e.get("uploaded"))) for e in _extras(y_pred)])


def uncertainty_auroc(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """AUROC of the edge's uncertainty (1 - confidence) for the edge's own errors (0-1, 0.5 = chance)."""
    pairs = [(float(e["uncertainty"]), not e["edge_correct"]) for e in _extras(y_pred)
             if isinstance(e.get("edge_correct"), bool) and e.get("uncertainty") is not None]
    if not pairs:
        return math.nan
    u, err = zip(*pairs)
    return auroc(np.array(u), np.array(err))


def uplink_bytes_per_query(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Mean wire bytes edge -> cloud per query (all queries, uploads or not), bytes."""
    return _mean([float(r.get("bytes_up") or 0) for r in results(y_pred)])


def downlink_bytes_per_update(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Mean wire bytes of one model update cloud -> edge, bytes."""
    return _mean([float(u["downlink_bytes"]) for u in _updates(y_pred)])


def compression_ratio_x(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Mean (dense fp16 update bytes) / (sent update bytes), times."""
    return _mean([float(u["compression_ratio"]) for u in _updates(y_pred)])


def compressed_vs_dense_drop_pp(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Mean held-out accuracy with the dense fp16 update minus with the compressed one, percentage points."""
    return _mean([100.0 * (float(u["heldout_acc_dense"]) - float(u["heldout_acc"])) for u in _updates(y_pred)])


def latency_mean_ms(y_true: Any, y_pred: Sequence[Any] | None) -> float:
    """Mean end-to-end latency per query on the virtual clock (edge compute + link + cloud), ms."""
    return _mean([float(r["latency_ms"]) for r in results(y_pred) if r.get("latency_ms") is not None])
