"""Cascade metrics, baselines, reference rows and satisfaction on hand-made examples."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.cab.baselines import confidence_deferral, tuned_cbd_threshold
from jointbench.confidence import defer_to_cloud
from jointbench.cab.metrics import ServedOutcome, cascade_metrics, summarize
from jointbench.cab.reference import normalize_rows, sample_labels, zero_rows
from jointbench.cab.satisfaction import alignment_score, is_satisfied


def _outcome() -> ServedOutcome:
    b = lambda *v: np.array([v], dtype=bool)  # noqa: E731
    i = lambda *v: np.array([v])  # noqa: E731
    return ServedOutcome(
        satisfied=b(1, 0, 1, 0),
        edge_size=i(2, 1, 0, 3),
        cloud_size=i(1, 1, 2, 3),
        edge_covers=b(1, 0, 0, 1),
        cloud_covers=b(1, 1, 1, 0),
        edge_correct=b(1, 0, 0, 0),
        cloud_correct=b(1, 1, 0, 1),
        edge_has_key=b(1, 0, 0, 1),
        cloud_has_key=b(1, 1, 1, 1),
        key_valid=b(1, 1, 1, 0),
    )


def test_cascade_metrics_by_hand() -> None:
    serve = np.array([[True, True, False, False]])
    got = {k: v[0] for k, v in cascade_metrics(serve, _outcome()).items()}
    assert got["deferral_rate"] == 0.5
    assert got["sr"] == 0.5 and got["sr_nonempty"] == 0.5
    assert got["ni"] == pytest.approx((2 / 1 + 1 / 1 + 1 + 1) / 4)
    assert got["coverage"] == pytest.approx((1 + 0 + 1 + 0) / 4)
    assert got["accuracy"] == pytest.approx((1 + 0 + 0) / 3)  # last row has no valid key
    assert got["key_coverage"] == pytest.approx(2 / 3)
    assert got["set_size"] == pytest.approx((2 + 1 + 2 + 3) / 4)


def test_sr_is_one_when_nothing_is_served_and_summary_skips_nan() -> None:
    serve = np.array([[False] * 4])
    per = cascade_metrics(serve, _outcome())
    assert per["sr"][0] == 1.0 and np.isnan(per["sr_nonempty"][0]) and per["empty"][0] == 1
    both = {k: np.concatenate([v, cascade_metrics(~serve, _outcome())[k]]) for k, v in per.items()}
    s = summarize(both)
    assert s["sr_mean"] == pytest.approx((1.0 + 0.5) / 2)
    assert s["sr_nonempty_mean"] == pytest.approx(0.5)
    assert s["sr_pooled"] == pytest.approx(0.5)
    assert s["empty_mean"] == 0.5


def test_confidence_deferral_and_tuned_threshold() -> None:
    assert confidence_deferral(np.array([0.7, 0.75, 0.8]), 0.75).tolist() == [False, True, True]
    # One rule with the cascade: a float32 0.7 meets gamma 0.7 when compared in float32,
    # not in float64 (where float32(0.7) = 0.69999998 < 0.7).
    stored = np.array([0.7, 0.69], dtype=np.float32)
    assert confidence_deferral(stored.astype(np.float64), 0.7, np.float32).tolist() == [True, False]
    assert confidence_deferral(stored.astype(np.float64), 0.7).tolist() == [False, False]  # control
    assert (confidence_deferral(stored, 0.7) == ~defer_to_cloud(stored, 0.7)).all()
    mp = np.array([[0.9, 0.8, 0.8, 0.5, 0.4]])
    sat = np.array([[True, True, False, True, False]])
    # Cut at 0.8 (both 0.8 rows): SR 2/3; at 0.5: 3/4; at 0.4: 3/5.
    assert tuned_cbd_threshold(mp, sat, delta=0.25).tolist() == [0.5]
    assert tuned_cbd_threshold(mp, sat, delta=0.4).tolist() == [0.4]
    assert tuned_cbd_threshold(mp, sat, delta=0.34).tolist() == [0.5]
    assert np.isinf(tuned_cbd_threshold(mp[:, 2:4], sat[:, 2:4], delta=0.1)).all()


def test_alignment_score_and_satisfaction() -> None:
    edge_mask = np.array([[True, True, False], [False, False, True], [True, True, True]])
    cloud = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.0], [0.0, 0.0, 0.0]], dtype=np.float32)
    assert alignment_score(edge_mask, cloud) == pytest.approx([0.8, 0.0, 0.0])
    assert is_satisfied(edge_mask, cloud, 0.2).tolist() == [True, False, False]


def test_reference_rows_and_label_sampling() -> None:
    probs = np.array([[0.2, 0.0, 0.6], [0.0, 0.0, 0.0], [0.0, 0.5, 0.0]])
    assert zero_rows(probs).tolist() == [False, True, False]
    assert normalize_rows(probs)[1].tolist() == [0, 0, 0]
    assert normalize_rows(probs, zero="uniform")[1] == pytest.approx([1 / 3] * 3)
    with pytest.raises(ValueError, match="all-zero"):
        sample_labels(probs, np.random.default_rng(0))
    rng = np.random.default_rng(0)
    draws = sample_labels(normalize_rows(probs, zero="uniform"), rng, n_draws=20000)
    assert draws.shape == (20000, 3)
    assert np.all(draws[:, 2] == 1)
    assert not np.any(draws[:, 0] == 1)  # zero-probability class never drawn
    assert np.mean(draws[:, 0] == 2) == pytest.approx(0.75, abs=0.015)
    assert np.mean(draws[:, 1] == 0) == pytest.approx(1 / 3, abs=0.015)


def test_one_deferral_rule_keeps_the_old_slack_decisions_on_the_shipped_data() -> None:
    """The float32 rule (the cascade's) decides like CAb's former 1e-6 slack at every gamma = 1 - delta
    on a 0.001 grid of delta and at every tuned gamma (a data value), on both shipped tables."""
    from jointbench.datasets.teleqna import load_teleqna

    for k in (4, 5):
        mp32 = load_teleqna(k).edge_probs.max(axis=1)
        mp64 = mp32.astype(np.float64)
        gammas = np.concatenate([1.0 - np.round(np.arange(0.001, 1.0, 0.001), 3), np.unique(mp64)])
        old = mp64[None, :] >= gammas[:, None] - 1e-6
        new = confidence_deferral(mp64[None, :], gammas[:, None], np.float32)
        assert np.array_equal(old, new)
        # control: a gamma 5e-7 above a stored value separates the two rules
        g = float(mp64.max()) + 5e-7 if mp64.max() < 1 else 0.7 + 5e-7
        v = np.float32(g - 5e-7)
        assert (v >= g - 1e-6) and not confidence_deferral(np.array([v]), g, np.float32)[0]
