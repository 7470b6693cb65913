"""The cloud reference distribution p*(y|x): row normalisation and label sampling."""

from __future__ import annotations

import numpy as np


def zero_rows(probs: np.ndarray) -> np.ndarray:
    """Rows with no mass at all, bool array of shape (N,)."""
    return np.asarray(~(np.asarray(probs) > 0).any(axis=-1))


def normalize_rows(probs: np.ndarray, *, zero: str = "keep") -> np.ndarray:
    """Rows divided by their sum, as float64.

    Parameters
    ----------
    probs : ndarray, shape (N, K)
    zero : {"keep", "uniform"}
        What an all-zero row becomes: still zero, or uniform 1/K.

    Returns
    -------
    ndarray of float64, shape (N, K)
    """
    p = np.asarray(probs, dtype=np.float64)
    total = p.sum(axis=-1, keepdims=True)
    empty = total[..., 0] <= 0
    out = np.divide(p, total, out=np.zeros_like(p), where=total > 0)
    if zero == "uniform":
        out[empty] = 1.0 / p.shape[-1]
    elif zero != "keep":
        raise ValueError(f"Unknown zero-row rule {zero!r}. Available: 'keep', 'uniform'.")
    return out


def sample_labels(
    probs: np.ndarray, rng: np.random.Generator, n_draws: int | None = None
) -> np.ndarray:
    """Draw one label per row from the normalised rows (inverse CDF).

    Parameters
    ----------
    probs : ndarray, shape (N, K)
        Nonnegative rows, each with positive mass (normalisation is done here).
    rng : numpy Generator
    n_draws : int or None
        Independent draws per row stacked on a leading axis (trials); None for one.

    Returns
    -------
    ndarray of int64, shape (N,) or (n_draws, N)
        A class with zero probability is never drawn.
    """
    p = np.asarray(probs, dtype=np.float64)
    if zero_rows(p).any():
        raise ValueError("Cannot sample labels from an all-zero row; handle it first.")
    cdf = np.cumsum(p, axis=-1)
    cdf /= cdf[..., -1:]  # x / x == 1 exactly, so the last class always catches u < 1
    shape = (p.shape[0],) if n_draws is None else (n_draws, p.shape[0])
    u = rng.random(shape)
    return np.argmax(u[..., None] < cdf, axis=-1).astype(np.int64)
