"""CAb's trial-grouped metrics of its set-valued cascade, from the Ianvs records alone.

Each sample's records carry ``extras.trial`` and the reference annotations described in
:mod:`jointbench.cab.ianvs_records`. A served sample (``is_hard`` false) delivers the edge
record's ``edge_set``; a deferred one the cloud record's ``cloud_set``. Per trial, with
m the trial's samples (definitions of :mod:`jointbench.cab.metrics`):

* ``deferral_rate`` = deferred / m;
* ``sr`` = edge-served samples with ``ref_satisfied`` / edge-served, **1 when nothing is
  served** (the quantity CAb bounds: E[SR] >= 1 - delta); ``sr_nonempty`` is NaN there
  instead and ``empty`` flags such trials;
* ``ni`` = mean of |edge set| / |cloud set| (``ref_cloud_set_size``) over served samples,
  1 for deferred ones, averaged over all m;
* ``coverage`` = share whose sampled reference label ``ref_label`` lies in the delivered
  set (checked sample by sample, not the authors' N x N broadcast);
* ``accuracy`` = share of samples with a known key whose final record is ``correct``;
* ``set_size`` = mean size of the delivered set; ``n_served`` = edge-served count.

Summaries are the mean and the population std (ddof 0) over trials, skipping NaN, as
:func:`jointbench.cab.metrics.summarize` does. Samples without a trial id are ignored;
no CAb samples at all gives NaN.

Ianvs calls every metric on the same ``y_pred`` list, so the per-trial table of the last
list seen is memoised (by identity and length); results do not depend on the memo.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from jointbench.metrics.slots import SampleView, views

TRIAL_METRICS: tuple[str, ...] = (
    "deferral_rate", "sr", "sr_nonempty", "empty", "ni", "coverage", "accuracy", "set_size", "n_served",
)


def _extras(record: Mapping[str, Any] | None) -> Mapping[str, Any]:
    extras = record.get("extras") if record is not None else None
    return extras if isinstance(extras, Mapping) else {}


def _sample(view: SampleView) -> tuple[Any, dict[str, Any]] | None:
    """(trial id, outcome) of one sample; None if it is not a trial sample or lacks its set."""
    edge, cloud = _extras(view.edge), _extras(view.cloud)
    trial = edge.get("trial", cloud.get("trial"))
    if trial is None:
        return None
    trial_key = (edge.get("cab_session", cloud.get("cab_session")), trial)
    label = edge.get("ref_label", cloud.get("ref_label"))
    if view.is_hard:
        delivered = cloud.get("cloud_set")
        satisfied, ratio = False, 1.0
    else:
        delivered = edge.get("edge_set")
        satisfied = bool(edge.get("ref_satisfied"))
        ratio = len(delivered or []) / max(int(edge.get("ref_cloud_set_size") or 1), 1)
    if delivered is None:
        return None
    correct = view.result.get("correct") if view.result is not None else None
    return trial_key, {
        "served": not view.is_hard, "satisfied": satisfied, "ratio": ratio,
        "covers": label is not None and int(label) in delivered, "size": len(delivered),
        "correct": correct if isinstance(correct, bool) else None,
    }


_MEMO: list[Any] = [None, -1, None]  # [y_pred object, its length, table]


def set_metrics_per_trial(y_pred: Sequence[Any] | None) -> dict[str, np.ndarray]:
    """Per-trial metric arrays, trials in order of first appearance.

    Returns
    -------
    dict of str to ndarray of float64, shape (T,)
        The keys of :data:`TRIAL_METRICS`, plus ``trial`` (the trial ids).
    """
    n = len(y_pred) if y_pred is not None else 0
    if y_pred is not None and _MEMO[0] is y_pred and _MEMO[1] == n:
        return {k: v.copy() for k, v in _MEMO[2].items()}
    table = _per_trial(y_pred)
    _MEMO[:] = [y_pred, n, table]
    return {k: v.copy() for k, v in table.items()}


def _per_trial(y_pred: Sequence[Any] | None) -> dict[str, np.ndarray]:
    groups: dict[Any, list[dict[str, Any]]] = {}
    for view in views(y_pred):
        item = _sample(view)
        if item is not None:
            groups.setdefault(item[0], []).append(item[1])
    out: dict[str, list[float]] = {name: [] for name in ("trial", *TRIAL_METRICS)}
    for (_, trial), samples in groups.items():
        m = len(samples)
        served = [s for s in samples if s["served"]]
        n_served = len(served)
        sr_nonempty = sum(s["satisfied"] for s in served) / n_served if n_served else math.nan
        scored = [s["correct"] for s in samples if s["correct"] is not None]
        out["trial"].append(float(trial))
        out["deferral_rate"].append(1.0 - n_served / m)
        out["sr"].append(sr_nonempty if n_served else 1.0)
        out["sr_nonempty"].append(sr_nonempty)
        out["empty"].append(float(n_served == 0))
        out["ni"].append(sum(s["ratio"] for s in samples) / m)
        out["coverage"].append(sum(s["covers"] for s in samples) / m)
        out["accuracy"].append(sum(scored) / len(scored) if scored else math.nan)
        out["set_size"].append(sum(s["size"] for s in samples) / m)
        out["n_served"].append(float(n_served))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def _check(metric: str) -> None:
    if metric not in TRIAL_METRICS:
        raise ValueError(f"Unknown trial metric {metric!r}. Available: {', '.join(TRIAL_METRICS)}")


def set_metric_mean(y_pred: Sequence[Any] | None, metric: str, scale: float = 1.0) -> float:
    """Mean over trials of ``metric`` (NaN trials skipped), times ``scale`` (100 for %).

    Returns
    -------
    float
        ``nan`` when no trial has a finite value.
    """
    _check(metric)
    values = set_metrics_per_trial(y_pred)[metric]
    finite = values[~np.isnan(values)]
    return float(scale * finite.mean()) if finite.size else math.nan


def set_metric_std(y_pred: Sequence[Any] | None, metric: str, scale: float = 1.0) -> float:
    """Population std (ddof 0) over trials of ``metric``, times ``scale``; ``nan`` if none."""
    _check(metric)
    values = set_metrics_per_trial(y_pred)[metric]
    finite = values[~np.isnan(values)]
    return float(scale * finite.std()) if finite.size else math.nan


def set_trial_count(y_pred: Sequence[Any] | None) -> int:
    """Number of distinct trials among the samples."""
    return int(set_metrics_per_trial(y_pred)["trial"].size)
