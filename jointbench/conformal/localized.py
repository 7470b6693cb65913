"""Randomized localized conformal prediction (Hore & Barber 2023), Gaussian kernel, any score.

Each test point gets its own threshold: a weighted quantile of the calibration scores, the
weights a Gaussian kernel around a randomly perturbed copy of the test feature. Marginal
coverage >= 1 - alpha holds for the unclamped version; localisation makes coverage closer to
conditional on the feature neighbourhood.
"""

from __future__ import annotations

import numpy as np

from jointbench.conformal.quantile import threshold_sets
from jointbench.conformal.scores import Score


def rlcp_thresholds(
    cal_features: np.ndarray,
    cal_scores: np.ndarray,
    test_features: np.ndarray,
    alpha: float,
    sigma: float,
    rng: np.random.Generator,
    *,
    clamp: float | None = None,
    chunk: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Randomized localized CP thresholds (Hore & Barber 2023), Gaussian kernel.

    For each test point x: draw x~ = x + sigma * N(0, I) (optionally clamped to
    [-clamp, clamp], as the authors do), weight calibration point i by
    exp(-|x_i - x~|^2 / 2 sigma^2) and the test point by exp(-|x - x~|^2 / 2 sigma^2),
    normalise over the n + 1 weights, and return the smallest calibration score whose
    cumulative weight reaches 1 - alpha (the test point's own mass sits at +inf).

    Parameters
    ----------
    cal_features : ndarray, shape (B, n, D)
        Calibration features, one block per batch entry (trial).
    cal_scores : ndarray, shape (B, n)
        Calibration scores (may be +inf).
    test_features : ndarray, shape (B, m, D)
    alpha : float
    sigma : float
        Kernel bandwidth, in feature units.
    rng : numpy Generator
        Source of the perturbations x~.
    clamp : float or None
    chunk : int
        Batch entries processed at once (bounds memory at about chunk * m * n * 8 B).

    Returns
    -------
    thresholds : ndarray of float64, shape (B, m)
    ess : ndarray of float64, shape (B, m)
        Effective sample size (sum w)^2 / sum w^2 of the n + 1 weights.
    """
    cal_features = np.asarray(cal_features, dtype=np.float64)
    test_features = np.asarray(test_features, dtype=np.float64)
    cal_scores = np.asarray(cal_scores, dtype=np.float64)
    n_batch, m, dim = test_features.shape
    order = np.argsort(cal_scores, axis=-1, kind="stable")
    sorted_scores = np.take_along_axis(cal_scores, order, axis=-1)
    thresholds = np.empty((n_batch, m))
    ess = np.empty((n_batch, m))
    inv = 1.0 / (2.0 * sigma**2)
    for lo in range(0, n_batch, chunk):
        hi = min(lo + chunk, n_batch)
        x = test_features[lo:hi]
        x_tilde = x + sigma * rng.standard_normal(x.shape)
        if clamp is not None:
            x_tilde = np.clip(x_tilde, -clamp, clamp)
        xc = np.take_along_axis(cal_features[lo:hi], order[lo:hi, :, None], axis=1)
        # |a - x~|^2 up to the |x~|^2 term, which is common to all n + 1 weights.
        d_cal = np.sum(xc**2, axis=-1)[:, None, :] - 2.0 * (
            x_tilde @ xc.transpose(0, 2, 1)
        )
        d_test = np.sum(x**2, axis=-1) - 2.0 * np.sum(x * x_tilde, axis=-1)
        log_w = -inv * np.concatenate([d_cal, d_test[..., None]], axis=-1)
        log_w -= log_w.max(axis=-1, keepdims=True)
        w = np.exp(log_w)
        w /= w.sum(axis=-1, keepdims=True)
        cum = np.cumsum(w[..., :-1], axis=-1)
        reach = cum >= (1.0 - alpha) - 1e-12
        idx = np.argmax(reach, axis=-1)
        q = np.take_along_axis(sorted_scores[lo:hi], idx, axis=-1)
        thresholds[lo:hi] = np.where(reach.any(axis=-1), q, np.inf)
        ess[lo:hi] = 1.0 / np.sum(w**2, axis=-1)
    return thresholds, ess


def median_pairwise_distance(features: np.ndarray, *, max_points: int = 500) -> float:
    """Median Euclidean distance between distinct rows (first ``max_points`` rows).

    A scale for the RLCP bandwidth: sigma far above it makes the kernel flat, so RLCP
    reduces to split CP.
    """
    x = np.asarray(features, dtype=np.float64)[:max_points]
    sq = np.sum(x**2, axis=1)
    d2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * x @ x.T, 0.0)
    iu = np.triu_indices(x.shape[0], k=1)
    return float(np.median(np.sqrt(d2[iu])))



class LocalizedConformal:
    """Randomized localized CP with a Gaussian kernel and any score.

    Parameters
    ----------
    score : Score
        e.g. ``NegLogProb()`` (CAb's LCP sets).
    sigma : float
        Kernel bandwidth, in feature units.
    clamp : float or None
        Clamp the perturbed feature to [-clamp, clamp] (the CAb authors' choice; breaks validity).
    seed : int
        Seed of the perturbations.
    """

    def __init__(self, score: Score, sigma: float, *, clamp: float | None = None, seed: int = 0) -> None:
        if not float(sigma) > 0:
            raise ValueError(f"sigma: must be > 0, got {sigma!r}")
        self.score, self.sigma, self.clamp = score, float(sigma), clamp
        self.rng = np.random.default_rng(seed)
        self.alpha: float | None = None
        self.cal_features: np.ndarray | None = None
        self.cal_scores: np.ndarray | None = None
        self.last_ess: np.ndarray | None = None

    def calibrate(self, features: np.ndarray, probs: np.ndarray, labels: np.ndarray, alpha: float,
                  u: np.ndarray | None = None) -> LocalizedConformal:
        """Store calibration features (n, D) and the scores of the labels (n,)."""
        self.cal_features = np.asarray(features, dtype=np.float64)
        self.cal_scores = self.score.score(probs, np.asarray(labels), u)
        self.alpha = float(alpha)
        return self

    def thresholds(self, features: np.ndarray) -> np.ndarray:
        """Per-point thresholds (m,); the effective sample sizes go to :attr:`last_ess`."""
        if self.cal_features is None or self.cal_scores is None or self.alpha is None:
            raise RuntimeError("LocalizedConformal used before calibrate.")
        q, ess = rlcp_thresholds(
            self.cal_features[None], self.cal_scores[None], np.asarray(features, dtype=np.float64)[None],
            self.alpha, self.sigma, self.rng, clamp=self.clamp,
        )
        self.last_ess = ess[0]
        return q[0]

    def predict_sets(self, features: np.ndarray, probs: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Prediction sets, bool array of shape (m, C)."""
        return threshold_sets(self.score.score_all(probs, u), self.thresholds(features))
