"""Split-conformal quantile (TEMPORARY i12 stand-in for i15's module; same API)."""

from __future__ import annotations

import math

import numpy as np


def conformal_quantile(scores: np.ndarray, alpha: float) -> float:
    """The ``ceil((n+1)(1-alpha))``-th smallest score; ``+inf`` when that index exceeds ``n``.

    Parameters
    ----------
    scores : (n,) array
        Calibration scores.
    alpha : float
        Miscoverage level in (0, 1).
    """
    s = np.sort(np.asarray(scores, dtype=np.float64).ravel())
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha: must be in (0, 1), got {alpha!r}")
    n = s.size
    k = math.ceil((n + 1) * (1.0 - float(alpha)))
    if k > n:
        return math.inf
    return float(s[k - 1])
