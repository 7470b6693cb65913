"""The split-conformal quantile and the threshold sets ``{y : s(x, y) <= q}``."""

from __future__ import annotations

import math

import numpy as np


def conformal_rank(n: int, alpha: float) -> int:
    """Rank k = ceil((n + 1)(1 - alpha)) of the split-CP quantile among n scores.

    A 1e-9 slack keeps float error from pushing an exact integer to the next one
    ((n + 1)(1 - alpha) = 9.000000000000002 must give 9). k > n means the quantile is +inf
    (every label is in every set); clipping k to n instead loses the guarantee when
    alpha < 1/(n + 1).
    """
    return max(1, math.ceil((n + 1) * (1.0 - alpha) - 1e-9))


def conformal_quantile(scores: np.ndarray, alpha: float) -> float | np.ndarray:
    """Split-CP threshold: the ceil((n+1)(1-alpha))-th smallest score on the last axis.

    Parameters
    ----------
    scores : ndarray, shape (n,) or (..., n)
        Calibration scores (may contain +inf).
    alpha : float
        Miscoverage level in (0, 1).

    Returns
    -------
    float, or ndarray of float64 of shape (...) for batched scores
        +inf when ceil((n+1)(1-alpha)) > n.
    """
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha: must be in (0, 1), got {alpha!r}")
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[-1]
    k = conformal_rank(n, alpha)
    if k > n:
        q = np.full(scores.shape[:-1], np.inf)
    else:
        q = np.partition(scores, k - 1, axis=-1)[..., k - 1]
    return float(q) if scores.ndim == 1 else q


def threshold_sets(class_scores: np.ndarray, thresholds: np.ndarray | float) -> np.ndarray:
    """Sets ``{y : s(x, y) <= q}``.

    Parameters
    ----------
    class_scores : ndarray, shape (..., C)
    thresholds : float or ndarray broadcastable to (...)

    Returns
    -------
    ndarray of bool, shape (..., C)
    """
    return class_scores <= np.asarray(thresholds)[..., None]
