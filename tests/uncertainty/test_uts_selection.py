"""UTS-1 and UTS-2 select what they claim, on constructed inputs; AUROC matches sklearn."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointbench.uncertainty.selection import (auroc, entropy_confidence, maxprob_confidence, select_samples,
                                              select_tokens)


def test_maxprob_confidence_is_product_of_step_maxima() -> None:
    steps = np.array([[0.7, 0.2, 0.1], [0.1, 0.5, 0.4], [0.3, 0.3, 0.4]])
    assert maxprob_confidence(steps) == pytest.approx(0.7 * 0.5 * 0.4)
    # Control: the mean of the maxima (a different rule) is not what it returns.
    assert maxprob_confidence(steps) != pytest.approx(np.mean([0.7, 0.5, 0.4]))


def test_entropy_confidence_extremes_and_order() -> None:
    assert entropy_confidence(np.array([[1.0, 0.0, 0.0, 0.0]])) == pytest.approx(1.0)
    assert entropy_confidence(np.full((2, 4), 0.25)) == pytest.approx(0.0, abs=1e-12)
    half = np.array([[0.5, 0.5, 0.0, 0.0]])
    assert entropy_confidence(half) == pytest.approx(1 - math.log(2) / math.log(4))


def test_rows_must_be_distributions() -> None:
    with pytest.raises(ValueError, match="probability distribution"):
        maxprob_confidence(np.array([[0.5, 0.6]]))


def test_uts1_uploads_exactly_the_samples_below_tau() -> None:
    conf = np.array([0.1, 0.5, 0.49, 0.9, 0.5000001])
    mask = select_samples(conf, 0.5)
    assert mask.tolist() == [True, False, True, False, False]  # strict: conf == tau stays on the edge
    assert select_samples(conf, 0.0).sum() == 0
    with pytest.raises(ValueError, match="tau"):
        select_samples(conf, 1.5)


@pytest.mark.parametrize("m,expected", [(0.25, [2, 5]), (0.5, [1, 2, 5, 7]), (1.0, list(range(8)))])
def test_uts2_keeps_the_most_uncertain_fraction(m: float, expected: list[int]) -> None:
    scores = np.array([0.1, 0.5, 0.9, 0.0, 0.2, 0.8, 0.3, 0.4])
    kept = select_tokens(scores, m)
    assert kept.tolist() == expected
    # Every kept score >= every dropped score (the guarantee), and the count is ceil(m T).
    dropped = np.setdiff1d(np.arange(8), kept)
    assert kept.size == math.ceil(m * 8)
    if dropped.size:
        assert scores[kept].min() >= scores[dropped].max()


def test_uts2_control_low_variance_rule_differs() -> None:
    """CD-CCA's code keeps the low-variance tokens; our rule must not coincide with that."""
    scores = np.array([0.1, 0.5, 0.9, 0.0, 0.2, 0.8, 0.3, 0.4])
    kept = select_tokens(scores, 0.25)
    low = np.sort(np.argsort(scores)[:2])
    assert set(kept) != set(low)


def test_uts2_ties_break_to_earlier_positions_and_at_least_one_token() -> None:
    assert select_tokens(np.ones(5), 0.4).tolist() == [0, 1]
    assert select_tokens(np.array([3.0, 1.0]), 0.01).tolist() == [0]


def test_auroc_matches_sklearn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    u = rng.integers(0, 5, size=200).astype(float)
    y = rng.random(200) < 0.3 + 0.1 * u
    assert auroc(u, y) == pytest.approx(roc_auc_score(y, u))
    assert auroc(np.array([0.1, 0.9]), np.array([False, True])) == 1.0
    assert math.isnan(auroc(np.array([0.1, 0.9]), np.array([True, True])))
