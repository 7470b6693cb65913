"""Baselines of the CAb paper: confidence-based deferral (CbD), edge-only, cloud-only.

CbD serves an input at the edge when the edge confidence max_y p^e(y|x) is at least a
threshold gamma; the authors use gamma = 1 - delta. It has no guarantee on the
satisfaction rate. Edge-only serves everything, cloud-only nothing. The comparison is the
confidence cascade's (:func:`jointbench.confidence.defer_to_cloud`, in the data's dtype).
"""

from __future__ import annotations

import numpy as np

from jointbench.confidence import defer_to_cloud


def edge_only(shape: tuple[int, ...]) -> np.ndarray:
    """Edge-serve mask that serves every input (no cascade)."""
    return np.ones(shape, dtype=bool)


def cloud_only(shape: tuple[int, ...]) -> np.ndarray:
    """Edge-serve mask that defers every input to the cloud."""
    return np.zeros(shape, dtype=bool)


def confidence_deferral(edge_maxprob: np.ndarray, gamma: np.ndarray | float,
                        dtype: np.dtype | type | None = None) -> np.ndarray:
    """Edge-serve mask of CbD: max-prob >= gamma, the suite's one rule (:mod:`jointbench.confidence`).

    Parameters
    ----------
    edge_maxprob : ndarray, shape (..., m)
    gamma : float or ndarray broadcastable to (...,) + (1,)
    dtype : numpy float dtype, optional
        Dtype the probabilities were stored in (float32 for the shipped TeleQnA tables): the
        comparison happens there, so a stored 0.7 meets gamma = 0.7.

    Returns
    -------
    ndarray of bool, shape (..., m)
    """
    return ~np.asarray(defer_to_cloud(edge_maxprob, gamma, dtype))


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
