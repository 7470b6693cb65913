"""Baselines of the CAb paper: confidence-based deferral (CbD), edge-only, cloud-only.

CbD serves an input at the edge when the edge confidence max_y p^e(y|x) is at least a
threshold gamma; the authors use gamma = 1 - delta. It has no guarantee on the
satisfaction rate. Edge-only serves everything, cloud-only nothing.
"""

from __future__ import annotations

import numpy as np

from jointbench.cab.options import PROB_TOL


def edge_only(shape: tuple[int, ...]) -> np.ndarray:
    """Edge-serve mask that serves every input (no cascade)."""
    return np.ones(shape, dtype=bool)


def cloud_only(shape: tuple[int, ...]) -> np.ndarray:
    """Edge-serve mask that defers every input to the cloud."""
    return np.zeros(shape, dtype=bool)


def confidence_deferral(edge_maxprob: np.ndarray, gamma: np.ndarray | float) -> np.ndarray:
    """Edge-serve mask of CbD: max-prob >= gamma (within :data:`PROB_TOL`).

    Parameters
    ----------
    edge_maxprob : ndarray, shape (..., m)
    gamma : float or ndarray broadcastable to (...,) + (1,)

    Returns
    -------
    ndarray of bool, shape (..., m)
    """
    return np.asarray(edge_maxprob) >= np.asarray(gamma) - PROB_TOL


def tuned_cbd_threshold(
    val_maxprob: np.ndarray, val_satisfied: np.ndarray, delta: float
) -> np.ndarray:
    """Smallest threshold whose empirical satisfaction rate on a split is >= 1 - delta.

    An empirically tuned CbD (no finite-sample guarantee), a stronger baseline than
    gamma = 1 - delta. Cuts are only placed between distinct max-prob values.

    Parameters
    ----------
    val_maxprob : ndarray, shape (B, n)
    val_satisfied : ndarray of bool, shape (B, n)
    delta : float

    Returns
    -------
    ndarray of float64, shape (B,)
        +inf (defer everything) where no threshold reaches 1 - delta.
    """
    mp = np.asarray(val_maxprob, dtype=np.float64)
    order = np.argsort(-mp, axis=-1, kind="stable")
    mp_sorted = np.take_along_axis(mp, order, axis=-1)
    sat_sorted = np.take_along_axis(np.asarray(val_satisfied), order, axis=-1)
    served = np.arange(1, mp.shape[-1] + 1)
    rate = np.cumsum(sat_sorted, axis=-1) / served
    last_of_tie = np.ones_like(mp_sorted, dtype=bool)
    last_of_tie[..., :-1] = mp_sorted[..., 1:] < mp_sorted[..., :-1]
    ok = last_of_tie & (rate >= 1.0 - delta - 1e-12)
    j = mp.shape[-1] - 1 - np.argmax(ok[..., ::-1], axis=-1)
    gamma = np.take_along_axis(mp_sorted, j[..., None], axis=-1)[..., 0]
    return np.where(ok.any(axis=-1), gamma, np.inf)


class ConfidenceDeferral:
    """Per-input CbD rule for an Ianvs hard-example-mining module.

    Parameters
    ----------
    gamma : float
        Edge serves when max_y p^e(y|x) >= gamma. ``ConfidenceDeferral.for_delta(d)``
        gives the authors' gamma = 1 - d.
    """

    def __init__(self, gamma: float) -> None:
        self.gamma = gamma

    @classmethod
    def for_delta(cls, delta: float) -> ConfidenceDeferral:
        """The paper's rule, gamma = 1 - delta."""
        return cls(1.0 - delta)

    def select(self, batch_edge_probs: np.ndarray) -> np.ndarray:
        """Edge-serve mask (m,) for edge rows of shape (m, K)."""
        return confidence_deferral(np.asarray(batch_edge_probs).max(axis=-1), self.gamma)
