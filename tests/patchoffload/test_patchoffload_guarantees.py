"""CRC accept-and-wrong risk <= α_crc and APS coverage >= 1 − α, averaged over many calibration draws.

The population is a large pool of synthetic, deliberately over-confident softmax outputs (labels drawn
from a flatter distribution than the model's), so an uncorrected threshold is visibly optimistic.
Each trial draws a small calibration set and measures the *population* risk / coverage of the
threshold it produced; the guarantee is on the mean over trials, checked within 3 standard errors.
CRC uses n = 40 (α·n = 2, so the plug-in rule may accept 2 calibration errors and its risk is about
3/(n+1)); APS uses n = 110, where ⌈(n+1)(1−α)⌉/(n+1) = 0.955 and the uncorrected ⌈n(1−α)⌉/(n+1) = 0.946.
Controls: the plug-in CRC threshold (no finite-sample correction) and the uncorrected APS quantile
must fail the same checks.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointbench.conformal.scores import APS
from jointbench.patchoffload.calibration import accept_wrong_losses, aps_quantile, crc_acceptance_threshold
from jointbench.patchoffload.candidates import aps_candidate_sets

N_POOL, N_CAL_CRC, N_CAL, TRIALS, ALPHA = 60_000, 40, 110, 800, 0.05


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(12)
    logits = rng.normal(0.0, 2.2, size=(N_POOL, 10))
    e = np.exp(logits - logits.max(1, keepdims=True))
    probs = e / e.sum(1, keepdims=True)
    flat = np.exp(0.6 * logits)
    flat /= flat.sum(1, keepdims=True)
    labels = (flat.cumsum(1) > rng.random((N_POOL, 1))).argmax(1)   # truth is flatter than the model
    return probs, labels


def _plugin_threshold(conf, correct, alpha):
    lambdas = np.append(np.unique(conf), np.nextafter(conf.max(), math.inf))
    risk = accept_wrong_losses(conf, correct, lambdas).mean(0)
    return lambdas[np.nonzero(risk <= alpha)[0][0]]


def _population_risk(conf, wrong, lam_values):
    order = np.argsort(conf)
    sc, cw = conf[order], np.cumsum(wrong[order][::-1])[::-1]       # cw[i] = wrong among conf >= sc[i]
    idx = np.searchsorted(sc, lam_values, side="left")
    return np.where(idx < len(sc), cw[np.minimum(idx, len(sc) - 1)], 0) / len(sc)


def _trials(pool, threshold_fn):
    probs, labels = pool
    conf, wrong = probs.max(1), probs.argmax(1) != labels
    rng = np.random.default_rng(3)
    lams = []
    for _ in range(TRIALS):
        i = rng.choice(N_POOL, N_CAL_CRC, replace=False)
        lams.append(threshold_fn(conf[i], ~wrong[i], ALPHA))
    risk = _population_risk(conf, wrong.astype(float), np.array(lams))
    return risk.mean(), risk.std(ddof=1) / math.sqrt(TRIALS)


def test_crc_accept_and_wrong_risk_is_controlled(pool):
    mean, se = _trials(pool, crc_acceptance_threshold)
    assert mean <= ALPHA + 3 * se, (mean, se)
    assert mean >= ALPHA - 2.0 / (N_CAL_CRC + 1) - 3 * se       # CRC is also nearly tight


def test_control_plugin_threshold_exceeds_budget(pool):
    mean, se = _trials(pool, _plugin_threshold)
    assert mean > ALPHA + 3 * se, (mean, se)


def _coverage_trials(pool, q_fn, set_fn):
    probs, labels = pool
    rng = np.random.default_rng(5)
    test = rng.choice(N_POOL, 5_000, replace=False)
    rest = np.setdiff1d(np.arange(N_POOL), test)
    scores_test = APS().score(probs[test], labels[test])
    cov = []
    for t in range(TRIALS):
        i = rng.choice(rest, N_CAL, replace=False)
        q = q_fn(probs[i], labels[i], ALPHA)
        cov.append(set_fn(probs[test], labels[test], scores_test, q).mean())
    cov = np.array(cov)
    return cov.mean(), cov.std(ddof=1) / math.sqrt(TRIALS)


def _textbook(probs, labels, scores, q):
    return scores <= q


def _seed_set(probs, labels, scores, q):
    return aps_candidate_sets(probs, q)[np.arange(len(labels)), labels]


def _naive_quantile(probs, labels, alpha):
    s = np.sort(APS().score(probs, labels))
    return s[math.ceil(len(s) * (1 - alpha)) - 1]


@pytest.mark.parametrize("set_fn", [_textbook, _seed_set], ids=["textbook-set", "seed-set"])
def test_aps_coverage_holds(pool, set_fn):
    mean, se = _coverage_trials(pool, aps_quantile, set_fn)
    assert mean >= 1 - ALPHA - 3 * se, (mean, se)


def test_control_uncorrected_aps_quantile_undercovers(pool):
    mean, se = _coverage_trials(pool, _naive_quantile, _textbook)
    assert mean < 1 - ALPHA - 3 * se, (mean, se)


def test_seed_set_contains_textbook_set(pool):
    probs, labels = pool
    q = aps_quantile(probs[:500], labels[:500], ALPHA)
    textbook = APS().score_all(probs[500:3000]) <= q
    seed = aps_candidate_sets(probs[500:3000], q)
    assert np.all(seed | ~textbook) and seed.sum() > textbook.sum()
