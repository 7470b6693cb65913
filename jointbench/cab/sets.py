"""Highest-mass sets (HMS): the fewest top classes whose mass reaches 1 - alpha.

CAb's model-based edge and cloud sets. The conformal sets (split CP and randomized localized
CP with the ``-log p`` score) come from :mod:`jointbench.conformal`.

Conventions
-----------
* Masks are boolean arrays of shape (..., K); True means the class is in the set.
* Sorting ties: classes with equal probability are ordered by index (stable sort), so
  the highest-mass set keeps the lower-index class when a tie straddles the cut.
"""

from __future__ import annotations

import numpy as np

from jointbench.cab.options import PROB_TOL, HmsFallback


def hms_mask(
    probs: np.ndarray, alpha: float, *, fallback: HmsFallback = "top1"
) -> np.ndarray:
    """Highest-mass set: the fewest top classes whose mass reaches 1 - alpha.

    Parameters
    ----------
    probs : ndarray, shape (..., K)
        Class probabilities (rows may sum to < 1).
    alpha : float
        Miscoverage level in (0, 1).
    fallback : {"top1", "full"}
        Set used when no prefix reaches 1 - alpha (see :class:`CabOptions`).

    Returns
    -------
    ndarray of bool, shape (..., K)
    """
    probs = np.asarray(probs, dtype=np.float64)
    k_classes = probs.shape[-1]
    order = np.argsort(-probs, axis=-1, kind="stable")
    cum = np.cumsum(np.take_along_axis(probs, order, axis=-1), axis=-1)
    reach = cum >= (1.0 - alpha) - PROB_TOL
    size = np.argmax(reach, axis=-1) + 1
    size = np.where(reach.any(axis=-1), size, 1 if fallback == "top1" else k_classes)
    in_sorted = np.arange(k_classes) < size[..., None]
    mask = np.zeros(probs.shape, dtype=bool)
    np.put_along_axis(mask, order, in_sorted, axis=-1)
    return mask
