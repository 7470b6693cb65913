"""Conformal prediction core shared by the methods: scores, predictors, p-values, risk control.

numpy only. Probabilities are ``(n, C)`` float arrays (rows may sum to < 1), labels ``(n,)``
ints; every function also accepts leading batch axes where it says so, so a Monte-Carlo
experiment can stack independent trials on axis 0.

* :mod:`~jointbench.conformal.scores` -- non-conformity scores as objects: :class:`NegLogProb`,
  :class:`APS` (randomised or not).
* :mod:`~jointbench.conformal.quantile` -- the split-conformal quantile and threshold sets.
* :mod:`~jointbench.conformal.split` -- :class:`SplitConformal` taking a score.
* :mod:`~jointbench.conformal.localized` -- randomized localized CP (Hore & Barber 2023) taking a score.
* :mod:`~jointbench.conformal.rlcp_cache` -- its thresholds for features given by row, cached on disk.
* :mod:`~jointbench.conformal.pvalues` -- conformal p-values and Benjamini-Hochberg.
* :mod:`~jointbench.conformal.crc` -- conformal risk control threshold (Angelopoulos et al. 2024).
"""

from __future__ import annotations

from jointbench.conformal.crc import crc_threshold
from jointbench.conformal.localized import LocalizedConformal, median_pairwise_distance, rlcp_thresholds
from jointbench.conformal.pvalues import benjamini_hochberg, conformal_pvalues
from jointbench.conformal.rlcp_cache import cached_rlcp_thresholds
from jointbench.conformal.quantile import conformal_quantile, conformal_rank, threshold_sets
from jointbench.conformal.scores import APS, SCORES, NegLogProb, Score, make_score
from jointbench.conformal.split import SplitConformal

__all__ = [
    "APS",
    "SCORES",
    "LocalizedConformal",
    "NegLogProb",
    "Score",
    "SplitConformal",
    "benjamini_hochberg",
    "cached_rlcp_thresholds",
    "conformal_pvalues",
    "conformal_quantile",
    "conformal_rank",
    "crc_threshold",
    "make_score",
    "median_pairwise_distance",
    "rlcp_thresholds",
    "threshold_sets",
]
