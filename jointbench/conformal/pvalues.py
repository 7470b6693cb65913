"""Conformal p-values and the Benjamini-Hochberg step-up procedure.

The p-value of test point j against calibration scores ``s_1..s_n`` (larger = less like the
calibration nulls: a non-conformity score in outlier detection, the predicted satisfaction
in conformal selection) is

    p_j = (#{i null : s_i > t_j} + U_j (1 + #{i null : s_i = t_j})) / (n + 1)

with U_j ~ Uniform(0, 1) (randomised, exactly uniform under exchangeability) or U_j = 1
(conservative: every tie counts against j; super-uniform). ``n`` counts every calibration
point, null or not: in conformal selection (Jin & Candès 2023) only the nulls (unsatisfied
points) enter the numerator. Every function takes leading batch axes.
"""

from __future__ import annotations

import numpy as np


def conformal_pvalues(
    cal_scores: np.ndarray,
    test_scores: np.ndarray,
    *,
    null: np.ndarray | None = None,
    randomized: bool = False,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Conformal p-values of the test points.

    Parameters
    ----------
    cal_scores : ndarray, shape (..., n)
    test_scores : ndarray, shape (..., m)
    null : ndarray of bool, shape (..., n), optional
        Which calibration points are nulls (default: all of them, the classical p-value).
    randomized : bool
        Split ties with U ~ Uniform(0, 1) (``rng.random(test_scores.shape)``) instead of
        counting them against the test point.
    rng : numpy Generator, required when ``randomized``.

    Returns
    -------
    ndarray of float64, shape (..., m)
        Values in (0, 1].
    """
    cal = np.asarray(cal_scores, dtype=np.float64)
    test = np.asarray(test_scores, dtype=np.float64)
    is_null = np.ones(cal.shape, dtype=bool) if null is None else np.asarray(null, dtype=bool)
    if is_null.shape != cal.shape:
        raise ValueError(f"null has shape {is_null.shape}, cal_scores {cal.shape}")
    n = cal.shape[-1]
    cal_b, null_b, test_b = cal[..., None, :], is_null[..., None, :], test[..., :, None]
    n_greater = np.sum(null_b & (cal_b > test_b), axis=-1)
    n_equal = np.sum(null_b & (cal_b == test_b), axis=-1)
    if randomized:
        if rng is None:
            raise ValueError("randomized p-values need an rng.")
        u = rng.random(test.shape)
    else:
        u = np.ones(test.shape)
    return (n_greater + u * (1.0 + n_equal)) / (n + 1.0)


def benjamini_hochberg(pvalues: np.ndarray, level: float) -> np.ndarray:
    """BH step-up at ``level`` on the last axis.

    Rejects (selects) every hypothesis with p <= k* level / m, where
    k* = max{k : p_(k) <= k level / m} (nothing when no such k).

    Parameters
    ----------
    pvalues : ndarray, shape (..., m)
    level : float
        Target false discovery rate.

    Returns
    -------
    ndarray of bool, shape (..., m)
    """
    p = np.asarray(pvalues, dtype=np.float64)
    m = p.shape[-1]
    crit = level * np.arange(1, m + 1) / m
    ok = np.sort(p, axis=-1) <= crit
    k_star = np.where(ok.any(-1), m - np.argmax(ok[..., ::-1], axis=-1), 0)
    cut = np.where(k_star > 0, crit[np.maximum(k_star - 1, 0)], -np.inf)
    return p <= cut[..., None]
