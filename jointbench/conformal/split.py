"""Split conformal prediction with any score of :mod:`jointbench.conformal.scores`."""

from __future__ import annotations

import numpy as np

from jointbench.conformal.quantile import conformal_quantile, threshold_sets
from jointbench.conformal.scores import Score


class SplitConformal:
    """Split CP: one quantile of the calibration scores, sets ``{y : s(x, y) <= qhat}``.

    Marginal guarantee: P(y in set) >= 1 - alpha for an exchangeable test point, and
    <= 1 - alpha + 1/(n+1) when the scores have no ties.

    Parameters
    ----------
    score : Score
        e.g. ``NegLogProb()``, ``APS(randomized=True)``.
    """

    def __init__(self, score: Score) -> None:
        self.score = score
        self.qhat: float | None = None
        self.n_cal = 0
        self.alpha: float | None = None

    def calibrate(self, probs: np.ndarray, labels: np.ndarray, alpha: float,
                  u: np.ndarray | None = None) -> SplitConformal:
        """Set :attr:`qhat` from calibration rows (n, C), labels (n,) and, for a randomised score, u (n,)."""
        scores = self.score.score(probs, np.asarray(labels), u)
        self.qhat = float(conformal_quantile(scores, alpha))
        self.n_cal, self.alpha = int(scores.shape[0]), float(alpha)
        return self

    def predict_sets(self, probs: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """Prediction sets, bool array of shape (m, C)."""
        if self.qhat is None:
            raise RuntimeError("SplitConformal.predict_sets called before calibrate.")
        return threshold_sets(self.score.score_all(probs, u), self.qhat)
