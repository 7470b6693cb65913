"""Cloud-referenced alignment of an edge set, and whether it satisfies 1 - alpha.

The alignment score of an edge set is C*(x) = sum_{y in edge set} p*(y|x), the cloud
mass the edge set captures. The set *satisfies* the requirement when C*(x) >= 1 - alpha.
In CAb the null hypothesis of input i is "not satisfied"; serving it at the edge while it
is unsatisfied is a false discovery.
"""

from __future__ import annotations

import numpy as np

from jointbench.cab.options import PROB_TOL


def alignment_score(edge_mask: np.ndarray, cloud_probs: np.ndarray) -> np.ndarray:
    """Cloud mass inside the edge set, C*(x).

    Parameters
    ----------
    edge_mask : ndarray of bool, shape (..., K)
    cloud_probs : ndarray, shape broadcastable to (..., K)
        The reference rows (raw or normalised, see :class:`CabOptions`).

    Returns
    -------
    ndarray of float64, shape (...)
    """
    return np.sum(np.where(edge_mask, np.asarray(cloud_probs, dtype=np.float64), 0.0), -1)


def is_satisfied(
    edge_mask: np.ndarray, cloud_probs: np.ndarray, alpha: float
) -> np.ndarray:
    """True where C*(x) >= 1 - alpha (within :data:`PROB_TOL`).

    Returns
    -------
    ndarray of bool, shape (...)
        An all-zero reference row is never satisfied.
    """
    return alignment_score(edge_mask, cloud_probs) >= (1.0 - alpha) - PROB_TOL
