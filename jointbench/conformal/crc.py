"""Conformal risk control threshold (TEMPORARY i12 stand-in for i15's module; same API)."""

from __future__ import annotations

import math

import numpy as np


def crc_threshold(losses: np.ndarray, lambdas: np.ndarray, alpha: float, bound: float = 1.0) -> float:
    """CRC rule (Angelopoulos et al. 2024, Thm 1) over a λ grid.

    Parameters
    ----------
    losses : (n, L) array
        ``losses[i, j]`` = loss of calibration point i at ``lambdas[j]``; non-increasing along j.
    lambdas : (L,) array
        Increasing grid of λ.
    alpha : float
        Risk level.
    bound : float
        Upper bound B of the loss.

    Returns
    -------
    float
        ``min{λ_j : n/(n+1)·mean_i losses[i, j] + B/(n+1) <= alpha}``, ``+inf`` if none.
    """
    L = np.asarray(losses, dtype=np.float64)
    lam = np.asarray(lambdas, dtype=np.float64).ravel()
    if L.ndim != 2 or L.shape[1] != lam.size:
        raise ValueError(f"losses must be (n, {lam.size}), got shape {L.shape}")
    if np.any(np.diff(lam) <= 0):
        raise ValueError("lambdas must be strictly increasing")
    if np.any(L < 0) or np.any(L > bound):
        raise ValueError(f"losses must lie in [0, bound={bound}]")
    if np.any(np.diff(L, axis=1) > 0):
        raise ValueError("losses must be non-increasing in lambda (along columns)")
    n = L.shape[0]
    risk = (n / (n + 1.0)) * L.mean(axis=0) + bound / (n + 1.0)
    ok = np.nonzero(risk <= alpha)[0]
    return float(lam[ok[0]]) if ok.size else math.inf
