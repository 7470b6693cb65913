"""Split CP coverage bounds, RLCP validity and limits, with CAb's -log p score."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.conformal import (
    LocalizedConformal,
    NegLogProb,
    SplitConformal,
    conformal_quantile,
    conformal_rank,
    rlcp_thresholds,
    threshold_sets,
)

NLP = NegLogProb()


def label_scores(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return NLP.score(probs, labels)


def neg_log_scores(probs: np.ndarray) -> np.ndarray:
    return NLP.score_all(probs)


def test_conformal_rank_and_infinite_quantile() -> None:
    assert conformal_rank(500, 0.2) == 401
    assert conformal_rank(99, 0.1) == 90  # exactly 90, not bumped to 91 by float error
    assert np.isinf(conformal_quantile(np.arange(5.0), alpha=0.1))  # ceil(6 * 0.9) = 6 > 5
    assert conformal_quantile(np.array([3.0, 1.0, 2.0, 5.0, 4.0]), 0.5) == 3.0


def _synthetic(rng: np.random.Generator, shape: tuple[int, ...], k: int = 5):
    """Edge probs (Dirichlet) and labels from a different, sharper distribution."""
    edge = rng.dirichlet(np.ones(k), size=shape)
    truth = edge**2 / np.sum(edge**2, axis=-1, keepdims=True)
    cdf = np.cumsum(truth, axis=-1)
    labels = np.argmax(rng.random(shape)[..., None] < cdf / cdf[..., -1:], axis=-1)
    return edge, labels


def test_split_cp_coverage_within_finite_sample_bounds() -> None:
    rng = np.random.default_rng(0)
    n_trials, n, m, alpha = 4000, 100, 100, 0.105
    edge, labels = _synthetic(rng, (n_trials, n + m))
    scores = label_scores(edge, labels)
    q = conformal_quantile(scores[:, :n], alpha)
    sets = threshold_sets(neg_log_scores(edge[:, n:]), q[:, None])
    covered = np.take_along_axis(sets, labels[:, n:, None], axis=-1)[..., 0]
    coverage = covered.mean()
    # E[coverage] = ceil(101 * 0.895) / 101 = 0.90099; Monte-Carlo s.e. ~ 5e-4.
    assert 1 - alpha <= coverage <= 1 - alpha + 1 / (n + 1)
    assert coverage == pytest.approx(91 / 101, abs=2.5e-3)


def test_split_cp_class_matches_functions() -> None:
    rng = np.random.default_rng(1)
    edge, labels = _synthetic(rng, (300,))
    model = SplitConformal(NLP).calibrate(edge[:200], labels[:200], 0.1)
    assert model.qhat == conformal_quantile(label_scores(edge[:200], labels[:200]), 0.1)
    sets = model.predict_sets(edge[200:])
    assert sets.shape == (100, 5)
    assert np.array_equal(sets, neg_log_scores(edge[200:]) <= model.qhat)


def test_rlcp_with_flat_kernel_reduces_to_split_cp() -> None:
    rng = np.random.default_rng(2)
    n_trials, n, m, alpha = 20, 200, 30, 0.2
    edge, labels = _synthetic(rng, (n_trials, n))
    scores = label_scores(edge, labels)
    feats = rng.normal(size=(n_trials, n, 3))
    q, ess = rlcp_thresholds(
        feats, scores, rng.normal(size=(n_trials, m, 3)), alpha, 1e4, rng
    )
    # Uniform weights over n + 1 points: the ceil((n+1)(1-alpha))-th smallest score.
    assert np.allclose(ess, n + 1)
    assert np.array_equal(q, np.repeat(conformal_quantile(scores, alpha)[:, None], m, 1))


def test_rlcp_marginal_coverage_and_ess() -> None:
    rng = np.random.default_rng(3)
    n_trials, n, m, alpha, k = 600, 200, 50, 0.2, 5
    x = rng.uniform(-1, 1, size=(n_trials, n + m, 1))
    # Heteroscedastic: the edge model is confident for x < 0 and noisy for x > 0.
    logits = rng.normal(size=(n_trials, n + m, k)) * np.where(x > 0, 0.3, 3.0)
    edge = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    labels = np.where(
        x[..., 0] > 0, rng.integers(0, k, size=(n_trials, n + m)), np.argmax(edge, -1)
    )
    scores = label_scores(edge, labels)
    q, ess = rlcp_thresholds(x[:, :n], scores[:, :n], x[:, n:], alpha, 0.2, rng)
    covered = scores[:, n:] <= q
    se = covered.mean(axis=1).std() / np.sqrt(n_trials)
    assert covered.mean() >= 1 - alpha - 3 * se
    assert np.all((ess >= 1 - 1e-9) & (ess <= n + 1 + 1e-9))
    assert ess.mean() < 0.8 * (n + 1)  # the kernel really localises
    # Localisation adapts: coverage on the noisy half is near 1 - alpha, unlike split CP.
    q_cp = conformal_quantile(scores[:, :n], alpha)[:, None]
    noisy = x[:, n:, 0] > 0
    cov_lcp = covered[noisy].mean()
    cov_cp = (scores[:, n:] <= q_cp)[noisy].mean()
    assert cov_lcp > cov_cp + 0.1


def test_localized_cp_class_and_clamp() -> None:
    rng = np.random.default_rng(4)
    edge, labels = _synthetic(rng, (150,))
    feats = rng.normal(size=(150, 4))
    model = LocalizedConformal(NLP, sigma=1.0, clamp=3.0, seed=0)
    model.calibrate(feats[:100], edge[:100], labels[:100], 0.2)
    sets = model.predict_sets(feats[100:], edge[100:])
    assert sets.shape == (50, 5)
    assert model.last_ess is not None and model.last_ess.shape == (50,)
    with pytest.raises(RuntimeError):
        LocalizedConformal(NLP, 1.0).thresholds(feats)
