"""Split conformal predictor (TEMPORARY i12 stand-in for i15's module; same API)."""

from __future__ import annotations

import numpy as np

from jointbench.conformal.quantile import conformal_quantile


class SplitConformal:
    """Split conformal prediction sets for any score object (``score``/``score_all``)."""

    def __init__(self, score) -> None:
        self.score = score
        self.qhat: float | None = None

    def calibrate(self, probs: np.ndarray, labels: np.ndarray, alpha: float, u: np.ndarray | None = None):
        """Set ``qhat`` from calibration probabilities and labels; returns ``self``."""
        self.qhat = conformal_quantile(self.score.score(probs, labels, u), alpha)
        return self

    def predict_sets(self, probs: np.ndarray, u: np.ndarray | None = None) -> np.ndarray:
        """(n, C) bool: label in the set iff its score <= qhat."""
        if self.qhat is None:
            raise RuntimeError("SplitConformal.predict_sets called before calibrate()")
        return self.score.score_all(probs, u) <= self.qhat
