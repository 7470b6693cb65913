"""The cascade's accuracy/deferral curve over thresholds (the rule itself: :mod:`jointbench.confidence`)."""

from __future__ import annotations

import numpy as np

from jointbench.confidence import defer_to_cloud, top1

__all__ = ["defer_to_cloud", "threshold_curve", "top1"]


def threshold_curve(edge_probs: np.ndarray, cloud_probs: np.ndarray, answer: np.ndarray,
                    thresholds: np.ndarray, valid: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Accuracy and deferral rate of the cascade for each threshold, computed in closed form.

    Parameters
    ----------
    edge_probs, cloud_probs : numpy.ndarray, shape (n, k)
        Edge and cloud answer probabilities.
    answer : numpy.ndarray of int, shape (n,)
        Correct option index.
    thresholds : numpy.ndarray, shape (m,)
        Deferral thresholds.
    valid : numpy.ndarray of bool, shape (n,), optional
        Rows with a usable answer key (others are excluded from accuracy).

    Returns
    -------
    dict
        ``threshold`` (m,), ``accuracy_pct`` (m,) and ``deferral_pct`` (m,), in percent.
    """
    e_idx, e_conf, _ = top1(edge_probs)
    c_idx, _, _ = top1(cloud_probs)
    ok = np.ones(len(answer), bool) if valid is None else np.asarray(valid, bool)
    t = np.asarray(thresholds, dtype=np.float64)
    deferred = np.stack([defer_to_cloud(e_conf, float(x)) for x in t]) if t.size else np.zeros((0, len(answer)), bool)
    pred = np.where(deferred, c_idx[None, :], e_idx[None, :])
    acc = ((pred == answer[None, :]) & ok[None, :]).sum(axis=1) / max(int(ok.sum()), 1)
    return {"threshold": t, "accuracy_pct": 100.0 * acc, "deferral_pct": 100.0 * deferred.mean(axis=1)}
