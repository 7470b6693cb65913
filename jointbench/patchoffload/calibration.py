"""Offline calibration of the method (seed Algorithm 1): CRC acceptance threshold λ̂ and APS quantile q̂.

- CRC loss of calibration image i at threshold λ: ``ℓ_i(λ) = 1{π_(1)(x_i) >= λ and ŷ_i != y_i}``
  (accept locally and be wrong), non-increasing in λ, bound B = 1. λ̂ is the smallest candidate with
  ``n/(n+1)·R̂_n(λ) + 1/(n+1) <= α_crc`` (:func:`jointbench.conformal.crc_threshold`), over the sorted
  distinct calibration confidences plus one value above the maximum (accept nothing). Guarantee:
  ``P(π_(1)(X) >= λ̂ and Ŷ != Y) <= α_crc`` — the *joint* accept-and-wrong rate, not the error among
  accepted images.
- APS: non-randomised score (cumulative sorted mass up to and including the label) and
  q̂ = the ⌈(n+1)(1−α)⌉-th smallest score (the seed's Eq. 3; its Algorithm 1 misplaces the ceiling).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from jointbench.conformal.crc import crc_threshold
from jointbench.conformal.quantile import conformal_quantile
from jointbench.conformal.scores import APS

__all__ = ["Calibration", "accept_wrong_losses", "aps_quantile", "calibrate", "crc_acceptance_threshold",
           "MAX_CRC_GRID"]

MAX_CRC_GRID = 4096  # above this many distinct confidences the λ grid is thinned to quantiles (memory)


def _softmax_check(probs: np.ndarray) -> np.ndarray:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"probs must be (n, C), got shape {p.shape}")
    return p


def accept_wrong_losses(confidence: np.ndarray, correct: np.ndarray, lambdas: np.ndarray) -> np.ndarray:
    """``(n, L)`` 0/1 losses ``1{confidence_i >= λ_j and not correct_i}``."""
    c = np.asarray(confidence, dtype=np.float64)[:, None]
    wrong = ~np.asarray(correct, dtype=bool)[:, None]
    return ((c >= np.asarray(lambdas, dtype=np.float64)[None, :]) & wrong).astype(np.float64)


def crc_acceptance_threshold(confidence: np.ndarray, correct: np.ndarray, alpha_crc: float) -> float:
    """CRC λ̂ for the accept-and-wrong loss.

    Parameters
    ----------
    confidence : (n,) float
        Edge top-1 softmax probability π_(1) of each calibration image.
    correct : (n,) bool
        Whether the edge's top-1 class is the label.
    alpha_crc : float
        Risk budget in (0, 1).

    Returns
    -------
    float
        λ̂ (accept iff π_(1) >= λ̂). A value above every confidence (accept nothing) when no smaller
        candidate qualifies; ``+inf`` only if even accepting nothing fails (α_crc < 1/(n+1)).
    """
    if not 0.0 < float(alpha_crc) < 1.0:
        raise ValueError(f"alpha_crc: must be in (0, 1), got {alpha_crc!r}")
    conf = np.asarray(confidence, dtype=np.float64)
    grid = np.unique(conf)
    if grid.size > MAX_CRC_GRID:
        grid = np.unique(np.quantile(conf, np.linspace(0.0, 1.0, MAX_CRC_GRID), method="lower"))
    lambdas = np.append(grid, np.nextafter(conf.max(), math.inf) if conf.size else 1.0)
    return crc_threshold(accept_wrong_losses(conf, correct, lambdas), lambdas, float(alpha_crc), bound=1.0)


def aps_quantile(probs: np.ndarray, labels: np.ndarray, alpha: float) -> float:
    """APS q̂: the ⌈(n+1)(1−α)⌉-th smallest non-randomised APS score (``+inf`` if n is too small)."""
    return conformal_quantile(APS(randomized=False).score(_softmax_check(probs), labels), float(alpha))


@dataclass(frozen=True)
class Calibration:
    """Result of Algorithm 1 (thresholds and what they were computed from)."""

    lambda_hat: float
    q_hat: float
    alpha_crc: float
    alpha_aps: float
    n_cal: int
    cal_accept_rate: float
    cal_accept_wrong_rate: float

    def to_dict(self) -> dict[str, float]:
        """JSON-friendly copy."""
        return asdict(self)


def calibrate(probs: np.ndarray, labels: np.ndarray, alpha_crc: float = 0.05, alpha_aps: float = 0.05) -> Calibration:
    """Algorithm 1 on edge softmax outputs ``probs`` (n, C) and labels (n,)."""
    p = _softmax_check(probs)
    y = np.asarray(labels, dtype=np.int64)
    conf, correct = p.max(axis=1), p.argmax(axis=1) == y
    lam = crc_acceptance_threshold(conf, correct, alpha_crc)
    accepted = conf >= lam
    return Calibration(lambda_hat=lam, q_hat=aps_quantile(p, y, alpha_aps), alpha_crc=float(alpha_crc),
                       alpha_aps=float(alpha_aps), n_cal=int(len(y)), cal_accept_rate=float(accepted.mean()),
                       cal_accept_wrong_rate=float((accepted & ~correct).mean()))
