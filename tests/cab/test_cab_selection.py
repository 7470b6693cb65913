"""Conformal p-values, Benjamini-Hochberg and the satisfaction predictors."""

from __future__ import annotations

import numpy as np
import pytest

from cab_reference_selector import SatisfactionPredictor

from jointbench.cab.selection import edge_features, fit_logistic, fit_predict_scores
from jointbench.conformal import benjamini_hochberg, conformal_pvalues


def _bh_reference(p: np.ndarray, delta: float) -> np.ndarray:
    m = p.size
    order = np.argsort(p)
    k_star = 0
    for k in range(1, m + 1):
        if p[order[k - 1]] <= k * delta / m:
            k_star = k
    selected = np.zeros(m, dtype=bool)
    selected[order[:k_star]] = True
    return selected


def test_bh_matches_step_up_definition() -> None:
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(size=(300, 20)), rng.beta(0.3, 4, size=(300, 20))], 1)
    got = benjamini_hochberg(p, 0.2)
    for row in range(p.shape[0]):
        assert np.array_equal(got[row], _bh_reference(p[row], 0.2))
    assert not benjamini_hochberg(np.full(10, 0.5), 0.1).any()
    assert benjamini_hochberg(np.full(10, 0.01), 0.1).all()
    # Step-up: p_(2) = 0.06 > 0.05 but p_(3) = 0.07 <= 0.075, so all three are selected.
    assert benjamini_hochberg(np.array([0.07, 0.06, 0.02, 0.9]), 0.1).tolist() == [
        True, True, True, False,
    ]


@pytest.mark.parametrize("randomized", [False, True])
@pytest.mark.parametrize("levels", [None, 6])
def test_conformal_pvalues_super_uniform_under_null(randomized: bool, levels: int | None) -> None:
    # n + 1 exchangeable points; the last one is the test point. Discrete scores
    # (levels=6) create many ties, the regime of TeleQnA's 30 max-prob values.
    rng = np.random.default_rng(1)
    n_trials, n = 40000, 40
    score = rng.uniform(size=(n_trials, n + 1))
    if levels:
        score = np.floor(score * levels) / levels
    satisfied = rng.uniform(size=score.shape) < score  # better score, more often satisfied
    p = conformal_pvalues(
        score[:, :n], score[:, n:], null=~satisfied[:, :n], randomized=randomized, rng=rng
    )[:, 0]
    null = ~satisfied[:, n]
    for t in (1 / (n + 1), 0.05, 0.1, 0.2, 0.5):
        share = np.mean((p <= t) & null)
        assert share <= t + 3 * np.sqrt(t * (1 - t) / n_trials)
    assert np.all((p > 0) & (p <= 1))


def test_pvalues_without_plus_one_would_fail_the_null_check() -> None:
    # Guard against a vacuous super-uniformity test: an anti-conservative variant fails.
    rng = np.random.default_rng(2)
    n_trials, n = 40000, 40
    score = rng.uniform(size=(n_trials, n + 1))
    satisfied = rng.uniform(size=score.shape) < score
    p = conformal_pvalues(score[:, :n], score[:, n:], null=~satisfied[:, :n])[:, 0]
    bad = p - 1 / (n + 1)
    t = 1 / (n + 1)
    assert np.mean((bad <= t) & ~satisfied[:, n]) > t + 3 * np.sqrt(t * (1 - t) / n_trials)


def test_conformal_pvalue_counts_ties_against_the_test_point() -> None:
    cal = np.array([0.9, 0.5, 0.5, 0.1])
    sat = np.array([False, False, True, False])
    p = conformal_pvalues(cal, np.array([0.5, 0.95, 0.0]), null=~sat)
    # 0.5: nulls with score >= 0.5 are 0.9 and 0.5 -> (1 + 2) / 5.
    assert p.tolist() == pytest.approx([3 / 5, 1 / 5, 4 / 5])


@pytest.mark.parametrize("randomized", [False, True])
def test_conformal_selection_controls_fdr(randomized: bool) -> None:
    # Known nulls: input i is satisfied with probability x_i; the predictor is x itself.
    rng = np.random.default_rng(3)
    n_trials, n_cal, m, delta = 4000, 200, 50, 0.2
    x = rng.uniform(size=(n_trials, n_cal + m))
    satisfied = rng.uniform(size=x.shape) < x**2
    p = conformal_pvalues(
        x[:, :n_cal], x[:, n_cal:], null=~satisfied[:, :n_cal], randomized=randomized, rng=rng
    )
    selected = benjamini_hochberg(p, delta)
    n_sel = selected.sum(1)
    fdp = np.where(n_sel > 0, (selected & ~satisfied[:, n_cal:]).sum(1) / np.maximum(n_sel, 1), 0)
    se = fdp.std() / np.sqrt(n_trials)
    assert fdp.mean() <= delta + 3 * se
    assert n_sel.mean() > 1  # non-trivial: it does select


def test_naive_threshold_selection_violates_fdr_here() -> None:
    # The same data with "serve if P(sat) >= 0.5" has FDR about 0.26 > delta = 0.2,
    # so the FDR test above is not vacuous for this data-generating process.
    rng = np.random.default_rng(3)
    x = rng.uniform(size=(4000, 50))
    satisfied = rng.uniform(size=x.shape) < x**2
    sel = x**2 >= 0.5
    fdp = (sel & ~satisfied).sum(1) / np.maximum(sel.sum(1), 1)
    assert fdp.mean() > 0.2


def test_batched_logistic_matches_sklearn() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(4)
    x = rng.uniform(size=(3, 200, 2))
    y = rng.uniform(size=(3, 200)) < x[..., 0]
    coef = fit_logistic(x, y)
    for b in range(3):
        ref = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(x[b], y[b])
        assert coef[b, 1:] == pytest.approx(ref.coef_[0], abs=1e-3)
        assert coef[b, 0] == pytest.approx(ref.intercept_[0], abs=1e-3)


def test_identical_rows_get_identical_scores() -> None:
    rng = np.random.default_rng(5)
    probs = rng.dirichlet(np.ones(4), size=(2, 40))
    probs[:, 20:] = probs[:, :20]
    feats = edge_features(probs, "sorted")
    y = rng.uniform(size=(2, 40)) < 0.5
    s = fit_predict_scores("logistic", feats, y, feats)
    assert np.array_equal(s[:, :20], s[:, 20:])


@pytest.mark.parametrize("name", ["logistic", "hgb", "rf"])
def test_predictors_rank_informative_feature_and_handle_one_class(name: str) -> None:
    rng = np.random.default_rng(6)
    probs = rng.dirichlet(np.ones(4) * 0.5, size=400)
    conf = probs.max(1)
    sat = rng.uniform(size=400) < conf
    pred = SatisfactionPredictor(name, "maxprob", seed=0).fit(probs[:200], sat[:200])
    s = pred.score(probs[200:])
    corr = np.corrcoef(s, conf[200:])[0, 1]
    assert corr > 0.5
    flat = SatisfactionPredictor(name).fit(probs[:50], np.zeros(50, dtype=bool))
    if name != "logistic":
        assert np.all(flat.score(probs[:5]) == 0.0)
    batched = fit_predict_scores(
        name, edge_features(probs[None, :200]), sat[None, :200], edge_features(probs[None, 200:]),
    )
    assert batched.shape == (1, 200)


def test_xgbrf_optional() -> None:
    pytest.importorskip("xgboost")
    rng = np.random.default_rng(7)
    probs = rng.dirichlet(np.ones(4) * 0.5, size=300)
    sat = rng.uniform(size=300) < probs.max(1)
    s = SatisfactionPredictor("xgbrf").fit(probs[:200], sat[:200]).score(probs[200:])
    assert np.corrcoef(s, probs[200:].max(1))[0, 1] > 0.3


def test_unknown_names_list_the_choices() -> None:
    with pytest.raises(ValueError, match="Available"):
        SatisfactionPredictor("svm")
    with pytest.raises(ValueError, match="Available"):
        edge_features(np.ones((2, 3)), "entropy")  # type: ignore[arg-type]
