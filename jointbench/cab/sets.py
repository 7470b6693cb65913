"""Prediction sets: highest-mass sets, split conformal and randomized localized CP.

Scores and predictors are kept apart, as in TorchCP and MAPIE: the nonconformity score is
``s(x, y) = -log p^e(y|x)`` (:func:`neg_log_scores`); a set is ``{y : s(x, y) <= q}``
where the threshold ``q`` comes from a predictor (split CP: one quantile; RLCP: one
weighted quantile per test point). Every function accepts leading batch axes, so the
experiment can stack independent trials on axis 0.

Conventions
-----------
* Masks are boolean arrays of shape (..., K); True means the class is in the set.
* Sorting ties: classes with equal probability are ordered by index (stable sort), so
  the highest-mass set keeps the lower-index class when a tie straddles the cut.
* A split-CP or RLCP set can be empty (threshold below every class score).
"""

from __future__ import annotations

import math

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


def neg_log_scores(probs: np.ndarray) -> np.ndarray:
    """Nonconformity score of every class, ``-log p(y|x)`` (+inf where p = 0).

    Parameters
    ----------
    probs : ndarray, shape (..., K)

    Returns
    -------
    ndarray of float64, shape (..., K)
    """
    with np.errstate(divide="ignore"):
        return -np.log(np.asarray(probs, dtype=np.float64))


def label_scores(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Score of the given label of each row, ``-log p(y_i|x_i)``.

    Parameters
    ----------
    probs : ndarray, shape (..., K)
    labels : ndarray of int, shape (...)

    Returns
    -------
    ndarray of float64, shape (...)
    """
    picked = np.take_along_axis(np.asarray(probs), labels[..., None], axis=-1)[..., 0]
    return neg_log_scores(picked)


def conformal_rank(n: int, alpha: float) -> int:
    """Rank k = ceil((n + 1)(1 - alpha)) of the split-CP quantile among n scores.

    A 1e-9 slack keeps float error from pushing an exact integer to the next one.
    k > n means the quantile is +inf (every class is in every set). The authors clip k
    to n instead, which loses the guarantee when alpha < 1/(n + 1).
    """
    return max(1, math.ceil((n + 1) * (1.0 - alpha) - 1e-9))


def conformal_quantile(scores: np.ndarray, alpha: float) -> np.ndarray:
    """Split-CP threshold: the ceil((n+1)(1-alpha))-th smallest score on the last axis.

    Parameters
    ----------
    scores : ndarray, shape (..., n)
        Calibration scores (may contain +inf).
    alpha : float

    Returns
    -------
    ndarray of float64, shape (...)
        +inf when ceil((n+1)(1-alpha)) > n.
    """
    scores = np.asarray(scores, dtype=np.float64)
    n = scores.shape[-1]
    k = conformal_rank(n, alpha)
    if k > n:
        return np.full(scores.shape[:-1], np.inf)
    return np.partition(scores, k - 1, axis=-1)[..., k - 1]


def threshold_sets(class_scores: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Sets ``{y : s(x, y) <= q}``.

    Parameters
    ----------
    class_scores : ndarray, shape (..., K)
    thresholds : ndarray, shape broadcastable to (...)

    Returns
    -------
    ndarray of bool, shape (..., K)
    """
    return class_scores <= np.asarray(thresholds)[..., None]


class SplitCP:
    """Split conformal prediction with the score ``-log p(y|x)``.

    Marginal guarantee: P(y in set) >= 1 - alpha for an exchangeable test point, and
    <= 1 - alpha + 1/(n+1) when scores have no ties.
    """

    def __init__(self, alpha: float) -> None:
        self.alpha = alpha
        self.q_hat: float | None = None
        self.n_cal = 0

    def fit(self, cal_probs: np.ndarray, cal_labels: np.ndarray) -> SplitCP:
        """Store the quantile of the calibration scores.

        Parameters
        ----------
        cal_probs : ndarray, shape (n, K)
        cal_labels : ndarray of int, shape (n,)
        """
        scores = label_scores(cal_probs, np.asarray(cal_labels))
        self.q_hat = float(conformal_quantile(scores, self.alpha))
        self.n_cal = scores.shape[0]
        return self

    def predict(self, probs: np.ndarray) -> np.ndarray:
        """Prediction sets, bool array of shape (m, K)."""
        if self.q_hat is None:
            raise RuntimeError("SplitCP.predict called before fit.")
        return threshold_sets(neg_log_scores(probs), np.asarray(self.q_hat))


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


class LocalizedCP:
    """Randomized localized CP with a Gaussian kernel (per-point randomised threshold).

    Marginal guarantee P(y in set) >= 1 - alpha holds for the unclamped version;
    localisation makes coverage closer to conditional on the feature neighbourhood.
    """

    def __init__(
        self, alpha: float, sigma: float, *, clamp: float | None = None, seed: int = 0
    ) -> None:
        self.alpha = alpha
        self.sigma = sigma
        self.clamp = clamp
        self.rng = np.random.default_rng(seed)
        self.cal_features: np.ndarray | None = None
        self.cal_scores: np.ndarray | None = None
        self.last_ess: np.ndarray | None = None

    def fit(
        self, cal_features: np.ndarray, cal_probs: np.ndarray, cal_labels: np.ndarray
    ) -> LocalizedCP:
        """Store calibration features (n, D) and scores of the labels (n,)."""
        self.cal_features = np.asarray(cal_features, dtype=np.float64)
        self.cal_scores = label_scores(cal_probs, np.asarray(cal_labels))
        return self

    def thresholds(self, features: np.ndarray) -> np.ndarray:
        """Per-point thresholds (m,); the effective sample sizes go to ``last_ess``."""
        if self.cal_features is None or self.cal_scores is None:
            raise RuntimeError("LocalizedCP used before fit.")
        q, ess = rlcp_thresholds(
            self.cal_features[None],
            self.cal_scores[None],
            np.asarray(features, dtype=np.float64)[None],
            self.alpha,
            self.sigma,
            self.rng,
            clamp=self.clamp,
        )
        self.last_ess = ess[0]
        return q[0]

    def predict(self, features: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """Prediction sets, bool array of shape (m, K)."""
        return threshold_sets(neg_log_scores(probs), self.thresholds(features))
