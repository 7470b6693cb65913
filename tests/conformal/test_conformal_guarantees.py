"""Guarantees of the conformal core, each with a control that must fail."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.conformal import (
    APS,
    NegLogProb,
    SplitConformal,
    conformal_quantile,
    crc_threshold,
    make_score,
    threshold_sets,
)

N_CAL, N_TEST, N_SPLITS, K = 10, 50, 2000, 5


def _batches(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N_SPLITS random calibration+test splits of exchangeable (probs, label) pairs.

    Labels are drawn from a tempered copy of the probabilities, so the model is
    miscalibrated and coverage comes from the conformal step, not from the model.
    """
    rng = np.random.default_rng(seed)
    n = N_CAL + N_TEST
    probs = rng.dirichlet(np.full(K, 0.7), size=(N_SPLITS, n))
    true = probs**0.4
    true /= true.sum(-1, keepdims=True)
    labels = (true.cumsum(-1) < rng.random((N_SPLITS, n, 1))).sum(-1)
    return probs, np.minimum(labels, K - 1), rng.random((N_SPLITS, n))


def _coverage(score, alpha: float, seed: int, *, naive: bool = False) -> float:
    probs, labels, u = _batches(seed)
    cal = score.score(probs[:, :N_CAL], labels[:, :N_CAL], u[:, :N_CAL])
    if naive:  # the empirical (1 - alpha) quantile without the (n + 1) correction
        k = int(np.ceil(N_CAL * (1 - alpha)))
        q = np.sort(cal, axis=-1)[:, k - 1]
    else:
        q = conformal_quantile(cal, alpha)
    sets = threshold_sets(score.score_all(probs[:, N_CAL:], u[:, N_CAL:]), q[:, None])
    return float(np.take_along_axis(sets, labels[:, N_CAL:, None], -1).mean())


@pytest.mark.parametrize("randomized", [True, False])
def test_aps_coverage_at_least_one_minus_alpha_over_many_splits(randomized: bool) -> None:
    alpha = 0.1
    cov = _coverage(APS(randomized), alpha, seed=1)
    se = np.sqrt(alpha * (1 - alpha) / (N_SPLITS * N_TEST)) * 3  # generous: splits are correlated within
    # n = 10: the guarantee gives >= 10/11 = 0.909 (randomised: exactly 10/11 in expectation).
    assert cov >= 1 - alpha - se, cov
    if randomized:
        assert cov == pytest.approx(10 / 11, abs=0.01)


def test_control_naive_quantile_undercovers() -> None:
    """Control: the uncorrected empirical quantile gives 9/11 = 0.818 < 0.9 and must fail."""
    cov = _coverage(APS(True), 0.1, seed=1, naive=True)
    assert cov < 0.9 - 0.05, cov


def test_split_conformal_object_matches_functions_and_neg_log_sets_nest() -> None:
    probs, labels, u = _batches(3)
    p, y, uu = probs[0], labels[0], u[0]
    for name in ("neg_log_prob", "aps", "aps_randomized"):
        cp = SplitConformal(make_score(name)).calibrate(p[:N_CAL], y[:N_CAL], 0.2, u=uu[:N_CAL])
        score = make_score(name)
        q = conformal_quantile(score.score(p[:N_CAL], y[:N_CAL], uu[:N_CAL]), 0.2)
        assert cp.qhat == q
        np.testing.assert_array_equal(cp.predict_sets(p[N_CAL:], uu[N_CAL:]),
                                      score.score_all(p[N_CAL:], uu[N_CAL:]) <= q)


def test_aps_scores_by_hand() -> None:
    p = np.array([[0.2, 0.5, 0.3]])
    np.testing.assert_allclose(APS().score_all(p), [[1.0, 0.5, 0.8]])
    np.testing.assert_allclose(APS(True).score_all(p, np.array([0.5])), [[0.9, 0.25, 0.65]])
    np.testing.assert_allclose(NegLogProb().score(p, np.array([1])), [-np.log(0.5)])
    with pytest.raises(ValueError, match="needs u"):
        APS(True).score_all(p)
    with pytest.raises(ValueError, match="Unknown score 'lac'. Available"):
        make_score("lac")


def test_quantile_is_plus_inf_when_rank_exceeds_n() -> None:
    assert conformal_quantile(np.arange(5.0), 0.1) == np.inf  # ceil(6 * 0.9) = 6 > 5
    assert conformal_quantile(np.arange(9.0), 0.1) == 8.0  # ceil(10 * 0.9) = 9
    with pytest.raises(ValueError, match="alpha"):
        conformal_quantile(np.arange(9.0), 1.5)


def _crc_risk(seed: int, *, correct: bool) -> float:
    """Mean test miscoverage of APS sets at the CRC threshold over many splits."""
    probs, labels, u = _batches(seed)
    lambdas = np.linspace(0.0, 1.0, 101)
    score = APS(True)
    s_cal = score.score(probs[:, :N_CAL], labels[:, :N_CAL], u[:, :N_CAL])
    s_test = score.score(probs[:, N_CAL:], labels[:, N_CAL:], u[:, N_CAL:])
    risks = []
    for b in range(N_SPLITS):
        losses = (s_cal[b][:, None] > lambdas[None, :]).astype(float)  # miscoverage, non-increasing
        if correct:
            lam = crc_threshold(losses, lambdas, alpha=0.2)
        else:  # control: the plain empirical risk rule, without the n/(n+1) and B/(n+1) terms
            ok = np.flatnonzero(losses.mean(0) <= 0.2)
            lam = lambdas[ok[0]]
        risks.append(np.mean(s_test[b] > lam) if np.isfinite(lam) else 0.0)
    return float(np.mean(risks))


def test_crc_controls_the_risk_and_the_uncorrected_rule_does_not() -> None:
    assert _crc_risk(5, correct=True) <= 0.2 + 0.005
    assert _crc_risk(5, correct=False) > 0.2 + 0.01


def test_crc_threshold_rule_and_validation() -> None:
    losses = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    lambdas = np.array([0.1, 0.2, 0.3])
    # n = 3: (3/4) mean + 1/4 <= alpha; means are 2/3, 1/3, 0 -> 0.75, 0.5, 0.25
    assert crc_threshold(losses, lambdas, alpha=0.5) == 0.2
    assert crc_threshold(losses, lambdas, alpha=0.3) == 0.3
    assert crc_threshold(losses, lambdas, alpha=0.2) == np.inf
    with pytest.raises(ValueError, match="non-increasing"):
        crc_threshold(losses[:, ::-1], lambdas, 0.5)
    with pytest.raises(ValueError, match="lambdas"):
        crc_threshold(losses, lambdas[::-1], 0.5)
    with pytest.raises(ValueError, match="alpha"):
        crc_threshold(losses, lambdas, 1.5)
    with pytest.raises(ValueError, match=r"\[0, bound"):
        crc_threshold(losses * 2, lambdas, 0.5)


def test_aps_coverage_on_teleqna_over_random_splits() -> None:
    """Real rows: the edge model's TeleQnA-4 distributions, labels drawn from the cloud's rows
    (exchangeable by construction); 1000 random 100/rest splits, randomised APS at alpha = 0.2."""
    from jointbench.datasets.teleqna import load_teleqna

    data = load_teleqna(4)
    cloud = data.cloud_probs.astype(np.float64)
    keep = cloud.sum(1) > 0
    edge, cloud = data.edge_probs[keep].astype(np.float64), cloud[keep] / cloud[keep].sum(1, keepdims=True)
    rng = np.random.default_rng(7)
    n, splits, alpha, score = 100, 1000, 0.2, APS(True)
    covs, naive = [], []
    for _ in range(splits):
        labels = (cloud.cumsum(1) < rng.random((len(cloud), 1))).sum(1).clip(max=cloud.shape[1] - 1)
        u = rng.random(len(edge))
        perm = rng.permutation(len(edge))
        cal, test = perm[:n], perm[n:]
        s_cal = score.score(edge[cal], labels[cal], u[cal])
        s_test = score.score(edge[test], labels[test], u[test])
        covs.append(np.mean(s_test <= conformal_quantile(s_cal, alpha)))
        naive.append(np.mean(s_test <= np.sort(s_cal)[int(np.ceil(n * (1 - alpha))) - 2]))  # control: one rank low
    se = np.std(covs) / np.sqrt(splits)
    assert np.mean(covs) >= 1 - alpha - 3 * se, (np.mean(covs), se)
    assert np.mean(naive) < 1 - alpha - 3 * se  # the control must fail the same check
