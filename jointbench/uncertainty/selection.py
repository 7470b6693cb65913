"""Uncertainty-guided sampling (UTS) of CD-CCA, on plain arrays.

* **UTS-1, sample selection.** A sample is uploaded when its *confidence* is below ``tau``.
  Two confidence rules (:data:`CONFIDENCES`): ``"maxprob"``, the product over the answer's
  steps of the per-step maximum probability (what CD-CCA's code computes), and
  ``"entropy"``, ``1 - mean_t H(p_t) / log(V)`` (the README's entropy variant, put on the
  same [0, 1] "higher = surer" scale so one ``tau`` rule serves both).
* **UTS-2, token selection.** Each token gets an uncertainty score (MC-dropout variance or
  predictive entropy, computed by :mod:`jointbench.uncertainty.edge`); the most uncertain
  fraction ``m`` of the tokens is kept (``ceil(m * T)`` tokens, at least one).
  Note: CD-CCA's released code keeps ``floor(T (1-m))`` *low*-variance tokens and zeroes the
  rest; the issue and the paper's text keep the uncertain ones, as done here.
* :func:`auroc`: how well an uncertainty score ranks the edge's errors first.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["CONFIDENCES", "auroc", "entropy_confidence", "maxprob_confidence", "select_samples",
           "select_tokens", "token_entropy"]


def _steps(step_probs: np.ndarray) -> np.ndarray:
    p = np.asarray(step_probs, dtype=np.float64)
    if p.ndim == 1:
        p = p[None, :]
    if p.ndim != 2 or p.shape[0] < 1 or p.shape[1] < 2:
        raise ValueError(f"step_probs: expected shape (T >= 1, V >= 2), got {np.shape(step_probs)}")
    if np.any(p < 0) or np.any(np.abs(p.sum(axis=1) - 1.0) > 1e-4):
        raise ValueError("step_probs: every row must be a probability distribution (>= 0, sums to 1)")
    return p


def maxprob_confidence(step_probs: np.ndarray) -> float:
    """Sequence confidence ``prod_t max_v p_t(v)`` (CD-CCA's UTS-1 score).

    Parameters
    ----------
    step_probs : numpy.ndarray, shape (T, V) or (V,)
        The answer's per-step distributions (one row per generated step).

    Returns
    -------
    float
        In (0, 1]; 1 only if every step is certain.
    """
    p = _steps(step_probs)
    return float(np.prod(p.max(axis=1)))


def token_entropy(probs: np.ndarray) -> np.ndarray:
    """Entropy in nats of each row of ``probs`` (shape (T, V) -> (T,))."""
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, -p * np.log(p), 0.0)
    return terms.sum(axis=-1)


def entropy_confidence(step_probs: np.ndarray) -> float:
    """``1 - mean_t H(p_t) / log(V)``: 1 for certain steps, 0 for uniform ones."""
    p = _steps(step_probs)
    return float(1.0 - token_entropy(p).mean() / math.log(p.shape[1]))


CONFIDENCES: dict[str, Callable[[np.ndarray], float]] = {
    "maxprob": maxprob_confidence,
    "entropy": entropy_confidence,
}
"""UTS-1 confidence rules by name."""


def confidence_rule(name: str) -> Callable[[np.ndarray], float]:
    """The UTS-1 rule registered as ``name`` (``"Unknown ... Available: ..."`` otherwise)."""
    if name not in CONFIDENCES:
        raise ValueError(f"Unknown confidence rule {name!r}. Available: {', '.join(sorted(CONFIDENCES))}")
    return CONFIDENCES[name]


def select_samples(confidences: np.ndarray, tau: float) -> np.ndarray:
    """UTS-1: upload mask, ``confidence < tau`` (strict, as in CD-CCA's ``conf < 0.5``).

    Parameters
    ----------
    confidences : numpy.ndarray, shape (n,)
    tau : float
        In [0, 1]; 0 uploads nothing, 1 everything short of certain samples.
    """
    if not 0.0 <= float(tau) <= 1.0:
        raise ValueError(f"tau: must be in [0, 1], got {tau!r}")
    return np.asarray(confidences, dtype=np.float64) < float(tau)


def n_kept(n_tokens: int, m: float) -> int:
    """Number of tokens UTS-2 keeps: ``ceil(m * n_tokens)``, at least 1 (``m`` in (0, 1])."""
    if not 0.0 < float(m) <= 1.0:
        raise ValueError(f"m: must be in (0, 1], got {m!r}")
    if n_tokens < 1:
        raise ValueError(f"n_tokens: must be >= 1, got {n_tokens}")
    return max(1, min(n_tokens, math.ceil(float(m) * n_tokens - 1e-9)))


def select_tokens(scores: np.ndarray, m: float) -> np.ndarray:
    """UTS-2: positions of the ``ceil(m T)`` most uncertain tokens, in increasing position order.

    Ties are broken towards the earlier position (a stable sort), so the result is deterministic.

    Parameters
    ----------
    scores : numpy.ndarray, shape (T,)
        Per-token uncertainty (larger = more uncertain).
    m : float
        Fraction kept, in (0, 1].

    Returns
    -------
    numpy.ndarray of int64, shape (k,)
    """
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or not np.all(np.isfinite(s)):
        raise ValueError(f"scores: expected a finite 1-D array, got shape {s.shape}")
    k = n_kept(s.shape[0], m)
    order = np.argsort(-s, kind="stable")
    return np.sort(order[:k]).astype(np.int64)


def auroc(uncertainty: np.ndarray, is_error: np.ndarray) -> float:
    """Area under the ROC curve of ``uncertainty`` for detecting ``is_error`` (ties count 1/2).

    The Mann-Whitney statistic: the probability that a random error has a higher uncertainty
    than a random correct answer. ``nan`` when either class is empty.
    """
    u = np.asarray(uncertainty, dtype=np.float64)
    y = np.asarray(is_error, dtype=bool)
    if u.shape != y.shape or u.ndim != 1:
        raise ValueError(f"uncertainty and is_error must be 1-D of one length, got {u.shape} and {y.shape}")
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(u, kind="mergesort")
    ranks = np.empty(u.shape[0], dtype=np.float64)
    sorted_u = u[order]
    i = 0
    while i < len(u):  # average ranks over ties
        j = i
        while j + 1 < len(u) and sorted_u[j + 1] == sorted_u[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))
