"""CAb on TeleQnA (Qwen2-1.5B edge, Qwen2-7B cloud): guarantee, reproduction, 5-option."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.cab.data import load_cascade_data
from jointbench.cab.experiment import run_experiment, run_trials
from jointbench.cab.options import CabOptions
from jointbench.cab.satisfaction import is_satisfied
from jointbench.cab.sets import hms_mask
from jointbench.cab.trials import prepare

DELTAS = (0.1, 0.15, 0.2, 0.25, 0.3)


@pytest.fixture(scope="module")
def teleqna4():
    return load_cascade_data(4)


@pytest.fixture(scope="module")
def teleqna5():
    return load_cascade_data(5)


@pytest.mark.parametrize("mode", ["faithful", "clean"])
@pytest.mark.parametrize("delta", DELTAS)
def test_cab_sr_meets_target_on_teleqna4(teleqna4, mode: str, delta: float) -> None:
    res = run_experiment(
        teleqna4, 0.2, delta, [("cab", "hms"), ("cab", "cp")], n_trials=200, seed=0, mode=mode
    )
    for arm in res.values():
        assert arm["sr_mean"] >= 1 - delta, (arm["method"], arm["edge_set"])
        assert arm["deferral_rate_mean"] < 1.0  # it serves something at the edge


@pytest.mark.parametrize("delta", DELTAS)
def test_cab_sr_meets_target_on_teleqna5(teleqna5, delta: float) -> None:
    res = run_trials(teleqna5, 0.2, delta, "cab", edge_set="cp", n_trials=200, seed=0)
    assert res["sr_mean"] >= 1 - delta
    assert res["n_dropped_zero_cloud"] == 1


def test_faithful_reproduces_authors_rerun(teleqna4) -> None:
    # Reference values: the re-run of the authors' pipeline (notes, methods-conformal 1.9,
    # alpha = 0.2, delta = 0.25); tolerances are a few Monte-Carlo standard errors.
    arms = [("cloud_only", None), ("edge_only", "hms"), ("edge_only", "cp"), ("cbd", "cp"),
            ("cab", "cp")]
    r = run_experiment(teleqna4, 0.2, 0.25, arms, n_trials=200, seed=1, mode="faithful")
    assert r["cloud_only"]["n_pool"] == 1720
    assert r["cloud_only"]["coverage_mean"] == pytest.approx(0.944, abs=0.01)
    assert r["cloud_only"]["coverage_as_coded_mean"] == pytest.approx(0.374, abs=0.01)
    assert r["cloud_only"]["set_size_mean"] == pytest.approx(1.47, abs=0.03)
    assert r["edge_only-hms"]["sr_mean"] == pytest.approx(0.727, abs=0.015)
    assert r["edge_only-cp"]["coverage_mean"] == pytest.approx(0.848, abs=0.01)
    assert r["edge_only-cp"]["ni_mean"] == pytest.approx(1.65, abs=0.04)
    assert r["cbd-cp"]["deferral_rate_mean"] == pytest.approx(0.825, abs=0.01)
    assert r["cbd-cp"]["sr_mean"] == pytest.approx(0.813, abs=0.02)
    cab, cbd = r["cab-cp"], r["cbd-cp"]
    assert cab["deferral_rate_mean"] < 0.5 * cbd["deferral_rate_mean"]
    assert cab["sr_mean"] >= 0.75


def test_same_seed_is_paired_and_deterministic(teleqna4) -> None:
    a = run_trials(teleqna4, 0.2, 0.25, "edge_only", edge_set="cp", n_trials=30, seed=5,
                   return_trials=True)
    b = run_experiment(teleqna4, 0.2, 0.25, [("cab", "hms"), ("edge_only", "cp")],
                       n_trials=30, seed=5, return_trials=True)["edge_only-cp"]
    assert np.array_equal(a["per_trial"]["coverage"], b["per_trial"]["coverage"])
    c = run_trials(teleqna4, 0.2, 0.25, "edge_only", edge_set="cp", n_trials=30, seed=6,
                   return_trials=True)
    assert not np.array_equal(a["per_trial"]["coverage"], c["per_trial"]["coverage"])


@pytest.mark.parametrize("policy", ["drop", "unsatisfiable"])
@pytest.mark.parametrize("mode", ["faithful", "clean"])
def test_five_option_zero_cloud_row_runs(teleqna5, policy: str, mode: str) -> None:
    opts = CabOptions.from_mode(mode, zero_cloud_rows=policy, pool_size=None)
    arms = [(m, s) for m in ("cab", "cbd", "edge_only") for s in ("hms", "cp")]
    r = run_experiment(teleqna5, 0.2, 0.25, arms + [("cloud_only", None)], n_trials=50,
                       seed=0, mode=opts)
    expect_pool = 3223 if policy == "drop" else 3224
    for arm in r.values():
        assert arm["n_pool"] == expect_pool
        assert np.isfinite(arm["deferral_rate_mean"]) and np.isfinite(arm["sr_mean"])
    zero = int(np.flatnonzero(~(teleqna5.cloud_probs > 0).any(1))[0])
    prep = prepare(teleqna5, 0.2, opts, "maxprob")
    assert (zero in prep.pool) == (policy == "unsatisfiable")
    assert prep.cloud_set[zero].all()  # no reference: the cloud set is every option
    edge_sets = hms_mask(prep.edge, 0.2)
    assert not is_satisfied(edge_sets[zero], prep.cloud_ref[zero], 0.2)


def test_localized_cp_on_teleqna(teleqna4) -> None:
    data = load_cascade_data(4, embeddings=True)
    arms = [("edge_only", "cp"), ("edge_only", "lcp")]
    flat = run_experiment(data, 0.2, 0.25, arms, n_trials=10, seed=0, sigma="paper",
                          mode="faithful")
    # The paper's sigma = 20 is flat on unit-norm MiniLM features: LCP equals split CP.
    assert flat["edge_only-lcp"]["lcp_ess_mean"] > 500
    assert flat["edge_only-lcp"]["coverage_mean"] == flat["edge_only-cp"]["coverage_mean"]
    local = run_experiment(data, 0.2, 0.25, arms, n_trials=10, seed=0, sigma=0.5)
    assert local["edge_only-lcp"]["lcp_ess_mean"] < 100
    assert local["edge_only-lcp"]["set_size_mean"] != local["edge_only-cp"]["set_size_mean"]
    assert local["edge_only-lcp"]["coverage_mean"] >= 0.75


def test_tree_predictor_and_sorted_features_run(teleqna4) -> None:
    r = run_trials(teleqna4, 0.2, 0.25, "cab", edge_set="cp", n_trials=5, seed=0,
                   predictor="rf", features="sorted")
    assert r["predictor"] == "rf" and r["features"] == "sorted"
    assert 0.0 <= r["deferral_rate_mean"] <= 1.0


def test_bad_arguments_are_reported(teleqna4) -> None:
    with pytest.raises(ValueError, match="Available"):
        run_trials(teleqna4, 0.2, 0.25, "oracle", n_trials=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Available"):
        run_trials(teleqna4, 0.2, 0.25, "cab", edge_set="aps", n_trials=2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="embeddings"):
        run_trials(teleqna4, 0.2, 0.25, "cab", edge_set="lcp", n_trials=2)
    with pytest.raises(ValueError, match="pool"):
        run_trials(teleqna4, 0.2, 0.25, "cab", n_trials=2, splits=(1000, 200, 500, 100))
