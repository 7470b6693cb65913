"""APS candidate classes and their weights (seed Eqs. 17–20).

``k*(x) = min{k : Σ_{j<=k} π_(j)(x) > q̂}`` (strict ">" as in the seed; capped at C when rounding
keeps the cumulative sum at or below q̂, or q̂ = +inf), ``S(x)`` = the top-k* classes, and
``w_c = π_c / Σ_{c'∈S} π_{c'}`` on S, 0 elsewhere. The seed's set always contains the class whose
mass crosses q̂, so it is a superset of the textbook non-randomised APS set ``{y : score(y) <= q̂}``
and keeps its coverage guarantee.
"""

from __future__ import annotations

import numpy as np

__all__ = ["aps_candidate_sets", "candidate_weights"]


def aps_candidate_sets(probs: np.ndarray, q_hat: float) -> np.ndarray:
    """Boolean ``(n, C)`` membership of the seed's APS candidate set S(x)."""
    p = np.asarray(probs, dtype=np.float64)
    order = np.argsort(-p, axis=1, kind="stable")
    cum = np.cumsum(np.take_along_axis(p, order, axis=1), axis=1)
    n, c = p.shape
    over = cum > q_hat
    k_star = np.where(over.any(axis=1), over.argmax(axis=1) + 1, c)
    in_sorted = np.arange(c)[None, :] < k_star[:, None]
    member = np.zeros_like(in_sorted)
    np.put_along_axis(member, order, in_sorted, axis=1)
    return member


def candidate_weights(probs: np.ndarray, members: np.ndarray) -> np.ndarray:
    """``(n, C)`` weights w_c = π_c / Σ_{c'∈S} π_{c'} on S(x), 0 outside (rows sum to 1)."""
    p = np.asarray(probs, dtype=np.float64) * np.asarray(members, dtype=bool)
    return p / p.sum(axis=1, keepdims=True)
