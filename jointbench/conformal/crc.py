"""Conformal risk control (Angelopoulos, Bates, Fisch, Lei & Schuster, ICLR 2024, Thm 1).

For a loss L_i(λ) in [0, B], non-increasing in λ, the threshold

    λ̂ = min{λ : (n / (n + 1)) R̂_n(λ) + B / (n + 1) <= α},   R̂_n(λ) = mean_i L_i(λ)

gives E[L_{n+1}(λ̂)] <= α for an exchangeable test point. Here λ ranges over a finite grid;
if no grid value qualifies, λ̂ = +inf (the caller must then use its most conservative action,
which has to have loss 0 for the guarantee to hold at +inf).
"""

from __future__ import annotations

import numpy as np


def crc_threshold(losses: np.ndarray, lambdas: np.ndarray, alpha: float, bound: float = 1.0) -> float:
    """The finite-sample CRC threshold.

    Parameters
    ----------
    losses : ndarray, shape (n, L)
        ``losses[i, j]`` = L_i(lambdas[j]), in [0, bound], non-increasing along each row.
    lambdas : ndarray, shape (L,)
        Strictly increasing grid.
    alpha : float
        Target risk, in (0, bound).
    bound : float
        Upper bound B of the loss.

    Returns
    -------
    float
        The smallest qualifying lambda, or +inf if none qualifies.

    Raises
    ------
    ValueError
        Naming the argument: shapes, ranges, or a loss that increases with λ.
    """
    losses = np.asarray(losses, dtype=np.float64)
    lambdas = np.asarray(lambdas, dtype=np.float64)
    if lambdas.ndim != 1 or lambdas.size == 0:
        raise ValueError(f"lambdas: must be a non-empty 1-D grid, got shape {lambdas.shape}")
    if np.any(np.diff(lambdas) <= 0):
        raise ValueError("lambdas: must be strictly increasing")
    if losses.ndim != 2 or losses.shape[1] != lambdas.size or losses.shape[0] == 0:
        raise ValueError(f"losses: must have shape (n >= 1, {lambdas.size}), got {losses.shape}")
    if not float(bound) > 0:
        raise ValueError(f"bound: must be > 0, got {bound!r}")
    if not 0.0 < float(alpha) < float(bound):
        raise ValueError(f"alpha: must be in (0, bound={bound}), got {alpha!r}")
    if np.any(losses < 0) or np.any(losses > bound) or not np.all(np.isfinite(losses)):
        raise ValueError(f"losses: must lie in [0, bound={bound}]")
    if np.any(np.diff(losses, axis=1) > 0):
        raise ValueError("losses: must be non-increasing in lambda along each row (columns by increasing lambda)")
    n = losses.shape[0]
    adjusted = n / (n + 1.0) * losses.mean(axis=0) + bound / (n + 1.0)
    ok = np.flatnonzero(adjusted <= alpha)
    return float(lambdas[ok[0]]) if ok.size else float("inf")
