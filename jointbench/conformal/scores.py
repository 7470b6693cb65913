"""Non-conformity scores (TEMPORARY i12 stand-in for i15's module; same API, INTERFACES.md §C)."""

from __future__ import annotations

import numpy as np


def _check(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be a 2-D (n, C) array, got shape {p.shape}")
    return p


class NegLogProb:
    """Score ``-log p(y|x)`` (``+inf`` where ``p = 0``)."""

    def score_all(self, probs: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """(n, C) scores of every label."""
        p = _check(probs)
        with np.errstate(divide="ignore"):
            return -np.log(p)

    def score(self, probs: np.ndarray, labels: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """(n,) score of each row's label."""
        s = self.score_all(probs, u)
        return s[np.arange(s.shape[0]), np.asarray(labels, dtype=np.int64)]


class APS:
    """Adaptive prediction sets score (Romano, Sesia, Candès 2020).

    Non-randomised: cumulative sorted mass up to and including the label. Randomised:
    mass strictly above the label plus ``u`` times the label's own mass.

    Parameters
    ----------
    randomized : bool
        Use the uniform ``u`` (required then).
    """

    def __init__(self, randomized: bool = False) -> None:
        self.randomized = bool(randomized)

    def score_all(self, probs: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """(n, C) APS score of every label."""
        p = _check(probs)
        order = np.argsort(-p, axis=1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=1)
        cum = np.cumsum(sorted_p, axis=1)
        if self.randomized:
            if u is None:
                raise ValueError("APS(randomized=True) needs u, a (n,) array of uniforms in [0, 1]")
            u = np.asarray(u, dtype=np.float64).reshape(-1, 1)
            cum = cum - (1.0 - u) * sorted_p
        out = np.empty_like(cum)
        np.put_along_axis(out, order, cum, axis=1)
        return out

    def score(self, probs: np.ndarray, labels: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """(n,) APS score of each row's label."""
        s = self.score_all(probs, u)
        return s[np.arange(s.shape[0]), np.asarray(labels, dtype=np.int64)]
