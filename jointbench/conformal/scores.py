"""Non-conformity scores as objects: ``s(x, y)``, larger = less conforming.

A score object turns a probability row into the score of every label
(:meth:`Score.score_all`) or of given labels (:meth:`Score.score`); the predictors of
:mod:`jointbench.conformal.split` and :mod:`jointbench.conformal.localized` take any of them.
A prediction set is ``{y : s(x, y) <= q}``.

Sorting ties (APS): classes with equal probability are ordered by index (stable sort), so a
class with a lower index comes first.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Score(Protocol):
    """What a predictor needs from a score."""

    name: str

    def score_all(self, probs: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Score of every label, shape ``probs.shape``."""

    def score(self, probs: np.ndarray, labels: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Score of the given label of each row, shape ``labels.shape``."""


def _pick(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.take_along_axis(values, np.asarray(labels)[..., None], axis=-1)[..., 0]


class NegLogProb:
    """``s(x, y) = -log p(y|x)`` (+inf where p = 0); the score of CAb's CP and LCP sets."""

    name = "neg_log_prob"

    def score_all(self, probs: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Scores of every label.

        Parameters
        ----------
        probs : ndarray, shape (..., C)
        u : ignored
            Accepted so that every score has the same call signature.

        Returns
        -------
        ndarray of float64, shape (..., C)
        """
        with np.errstate(divide="ignore"):
            return -np.log(np.asarray(probs, dtype=np.float64))

    def score(self, probs: np.ndarray, labels: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Scores of ``labels`` (shape (...)); only the label's probability is read."""
        picked = _pick(np.asarray(probs), labels)
        with np.errstate(divide="ignore"):
            return -np.log(np.asarray(picked, dtype=np.float64))


class APS:
    """Adaptive prediction sets (Romano, Sesia & Candès 2020).

    With the classes sorted by decreasing probability, the score of label y is the mass of
    the classes ranked before y plus y's own mass (``randomized=False``), or plus ``u`` times
    y's own mass with ``u ~ Uniform(0, 1)`` one per row (``randomized=True``; the version with
    exact coverage 1 - alpha up to 1/(n+1) and never larger sets than needed on average).

    Parameters
    ----------
    randomized : bool
        Use ``u`` (required then) to randomise the label's own mass.
    """

    def __init__(self, randomized: bool = False) -> None:
        if not isinstance(randomized, (bool, np.bool_)):
            raise TypeError(f"randomized: must be a bool, got {randomized!r}")
        self.randomized = bool(randomized)
        self.name = "aps_randomized" if self.randomized else "aps"

    def _own_weight(self, shape: tuple[int, ...], u: np.ndarray | None) -> np.ndarray | float:
        if not self.randomized:
            return 1.0
        if u is None:
            raise ValueError("APS(randomized=True) needs u: one Uniform(0, 1) draw per row")
        u = np.asarray(u, dtype=np.float64)
        if u.shape != shape:
            raise ValueError(f"u has shape {u.shape}, expected one draw per row {shape}")
        return u

    def score_all(self, probs: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Scores of every label.

        Parameters
        ----------
        probs : ndarray, shape (..., C)
        u : ndarray, shape (...), optional
            Uniform draws, one per row (required when randomised).

        Returns
        -------
        ndarray of float64, shape (..., C)
        """
        p = np.asarray(probs, dtype=np.float64)
        order = np.argsort(-p, axis=-1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=-1)
        before = np.cumsum(sorted_p, axis=-1) - sorted_p
        own = self._own_weight(p.shape[:-1], u)
        own = own[..., None] if isinstance(own, np.ndarray) else own
        out = np.empty_like(p)
        np.put_along_axis(out, order, before + own * sorted_p, axis=-1)
        return out

    def score(self, probs: np.ndarray, labels: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Scores of ``labels``, shape (...)."""
        return _pick(self.score_all(probs, u), labels)


SCORES = {"neg_log_prob": NegLogProb, "aps": lambda: APS(False), "aps_randomized": lambda: APS(True)}
"""Score constructors by name."""


def make_score(name: str) -> Score:
    """A score object by name (a key of :data:`SCORES`)."""
    if name not in SCORES:
        raise ValueError(f"Unknown score {name!r}. Available: {', '.join(SCORES)}.")
    return SCORES[name]()
