"""Set-valued cascade metrics (jointbench.cab.record_metrics) on hand-made records."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointbench.cab.record_metrics import set_metric_mean, set_metric_std, set_metrics_per_trial, set_trial_count


def _edge(trial: int, pos: int, edge_set: list[int], sat: bool, label: int, cloud_size: int,
          correct: bool | None) -> dict:
    return {"route": "edge", "correct": correct, "extras": {
        "cab_session": "s", "trial": trial, "position": pos, "edge_set": edge_set, "ref_satisfied": sat,
        "ref_label": label, "ref_cloud_set_size": cloud_size}}


def _cloud(trial: int, pos: int, cloud_set: list[int], label: int, correct: bool | None) -> dict:
    return {"route": "cloud", "correct": correct, "extras": {
        "cab_session": "s", "trial": trial, "position": pos, "cloud_set": cloud_set, "ref_label": label}}


def _served(edge: dict) -> list:
    return [False, edge, edge, None]


def _deferred(edge: dict | None, cloud: dict) -> list:
    return [True, cloud, edge, cloud]


def test_per_trial_values_by_hand() -> None:
    y_pred = [
        # trial 0: two served (one satisfied), one deferred
        _served(_edge(0, 0, [0, 1], True, 1, 1, True)),          # ratio 2, covers, correct
        _served(_edge(0, 1, [2], False, 3, 2, False)),           # ratio 0.5, misses
        _deferred(_edge(0, 2, [0], False, 0, 1, None), _cloud(0, 2, [0, 3], 3, True)),  # ratio 1, covers
        # trial 1: everything deferred (mining-then-inference style: no edge record)
        _deferred(None, _cloud(1, 0, [1], 1, False)),
        _deferred(None, _cloud(1, 1, [0, 1, 2], 2, None)),
    ]
    got = set_metrics_per_trial(y_pred)
    np.testing.assert_allclose(got["deferral_rate"], [1 / 3, 1.0])
    np.testing.assert_allclose(got["sr"], [0.5, 1.0])  # SR = 1 when nothing is served
    assert got["sr_nonempty"][0] == 0.5 and math.isnan(got["sr_nonempty"][1])
    np.testing.assert_allclose(got["empty"], [0.0, 1.0])
    np.testing.assert_allclose(got["ni"], [(2 + 0.5 + 1) / 3, 1.0])
    np.testing.assert_allclose(got["coverage"], [2 / 3, 1.0])
    np.testing.assert_allclose(got["accuracy"], [2 / 3, 0.0])  # None = no answer key: skipped
    np.testing.assert_allclose(got["set_size"], [(2 + 1 + 2) / 3, 2.0])
    assert set_trial_count(y_pred) == 2
    assert set_metric_mean(y_pred, "sr", 100.0) == pytest.approx(75.0)
    assert set_metric_std(y_pred, "sr", 100.0) == pytest.approx(25.0)  # population std over trials
    assert set_metric_mean(y_pred, "sr_nonempty") == pytest.approx(0.5)  # NaN trials skipped


def test_non_trial_records_give_nan_and_unknown_metrics_are_named() -> None:
    foreign = [[False, {"extras": {"confidence": 0.9}}, {"extras": {"confidence": 0.9}}, None]]
    assert math.isnan(set_metric_mean(foreign, "sr")) and math.isnan(set_metric_mean([], "ni"))
    assert set_trial_count(None) == 0
    with pytest.raises(ValueError, match="Available"):
        set_metric_mean(foreign, "fdr")


def test_memo_never_leaks_between_lists() -> None:
    a = [_served(_edge(0, 0, [0], True, 0, 1, True))]
    b = [_served(_edge(0, 0, [0], False, 0, 1, True))]
    assert set_metric_mean(a, "sr") == 1.0 and set_metric_mean(b, "sr") == 0.0
    a.append(_served(_edge(1, 0, [0], False, 0, 1, True)))  # same list, grown
    assert set_metric_mean(a, "sr") == 0.5
