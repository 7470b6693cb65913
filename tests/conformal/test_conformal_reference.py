"""The conformal core agrees with an established library (MAPIE, a test-only dependency)."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.conformal import APS, benjamini_hochberg, conformal_pvalues, conformal_quantile

mapie = pytest.importorskip("mapie", reason="test-only reference library: pip install -r requirements-test.txt")
from mapie.conformity_scores.sets.aps import APSConformityScore  # noqa: E402
from mapie.exchangeability_testing.martingales import OnlineMartingaleTest  # noqa: E402
from mapie.utils import _compute_classification_quantile  # noqa: E402


@pytest.mark.parametrize("n", [1, 7, 10, 19, 100, 499, 500])
@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1, 0.2, 0.25, 0.5, 0.9])
def test_quantile_equals_mapie(n: int, alpha: float) -> None:
    rng = np.random.default_rng(n)
    scores = np.round(rng.random(n), 2)  # ties on purpose
    ours = conformal_quantile(scores, alpha)
    if np.ceil((n + 1) * (1 - alpha) - 1e-9) > n:  # the rank exceeds n: no finite threshold
        assert ours == np.inf
        with pytest.raises(ValueError):  # MAPIE refuses (quantile level > 1) where we return +inf
            _compute_classification_quantile(scores, np.array([alpha]))
    else:
        assert ours == _compute_classification_quantile(scores, np.array([alpha]))[0]


def test_randomized_pvalues_equal_mapie() -> None:
    rng = np.random.default_rng(0)
    cal = np.round(rng.normal(size=200), 1)  # ties on purpose
    for j, t in enumerate(np.round(rng.normal(size=50), 1)):
        theirs = OnlineMartingaleTest(random_state=j).compute_p_value(t, cal)
        ours = conformal_pvalues(cal, np.array([t]), randomized=True, rng=np.random.default_rng(j))[0]
        assert ours == pytest.approx(theirs, rel=0, abs=1e-15)
        conservative = conformal_pvalues(cal, np.array([t]))[0]
        assert conservative >= ours


def test_aps_label_scores_equal_mapie() -> None:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(6), size=300)  # continuous: no ties in the sort
    labels = rng.integers(0, 6, size=300)
    theirs, _ = APSConformityScore.get_true_label_cumsum_proba(labels, probs, np.arange(6))
    np.testing.assert_allclose(APS().score(probs, labels), theirs[:, 0], rtol=0, atol=1e-12)


def test_benjamini_hochberg_equals_the_textbook_rule() -> None:
    """BH against a direct implementation of the step-up rule (MAPIE has no BH)."""
    rng = np.random.default_rng(2)
    for _ in range(200):
        p = np.round(rng.random(20) ** 3, 3)
        m, level = p.size, 0.2
        order = np.sort(p)
        passing = [k for k in range(1, m + 1) if order[k - 1] <= k * level / m]
        expect = p <= (max(passing) * level / m if passing else -1.0)
        np.testing.assert_array_equal(benjamini_hochberg(p, level), expect)
