"""NASD and UCB as registered loop policies: parameters, table choice by pair, per-cycle logs in the records."""

from __future__ import annotations

import pytest

from jointbench.specdec.nasd_model import AcceptanceProfile
from jointbench.specdec.nasd_sim import synthetic_costs
from jointbench.specdec.nasd_table import TablePairMismatchError, build_table
from jointbench.specdec.parts import POLICY, available
from jointbench.specdec.policy import make_policy


def _table(pair="tiny-random", edge="this-cpu", cloud="this-cpu"):
    return build_table(AcceptanceProfile.geometric(0.7, 8), synthetic_costs(k_max=8), pair=pair, edge_hardware=edge,
                       cloud_hardware=cloud, rtt_grid_ms=(0.0, 600.0, 1.0))


def test_nasd_and_ucb_are_registered():
    assert {"nasd", "ucb", "fixed", "heuristic"} <= set(available(POLICY))
    assert make_policy("nasd", 3).reads_link and make_policy("ucb", 3).reads_link


@pytest.mark.parametrize("name, params, error, match", [
    ("nasd", {"rtt_mod": "raw"}, TypeError, "rtt_mod"),
    ("nasd", {"cutoff": "yes"}, TypeError, "policy_params.cutoff"),
    ("nasd", {"fallback_tokens": 2.5}, TypeError, "fallback_tokens"),
    ("nasd", {"fallback": "edge"}, ValueError, "edge_only, cloud_only"),
    ("nasd", {"rtt_mode": "ewma"}, ValueError, "raw, srtt"),
    ("nasd", {"formula": "paper"}, ValueError, "seed, corrected"),
    ("nasd", {"acceptance": "bayes"}, ValueError, "table, online"),
    ("nasd", {"context": 1}, TypeError, "policy_params.context"),
    ("ucb", {"arms": [1, 2]}, TypeError, "arms"),
    ("ucb", {"ks": [1, 2.5]}, TypeError, "policy_params.ks"),
    ("ucb", {"estimator": "median"}, ValueError, "ratio, mean"),
    ("ucb", {"discount": 0.0}, ValueError, "discount"),
])
def test_bad_policy_params_are_refused_by_name(name, params, error, match):
    with pytest.raises(error, match=match):
        make_policy(name, 3, params=params)


def test_good_params_are_accepted_control():
    make_policy("nasd", 3, params={"rtt_mode": "raw", "fallback": "cloud_only", "cutoff_margin": 1})
    make_policy("ucb", 3, params={"ks": [1, 2, 4], "rtt_buckets_ms": [50, 150.0]})


def test_nasd_numeric_ranges_checked_when_bound(tmp_path):
    path = _table().save(tmp_path / "t.json")
    policy = make_policy("nasd", 3, params={"table": str(path), "hysteresis": -1.0})
    with pytest.raises(ValueError, match="hysteresis"):
        policy.bind("tiny-random", "this-cpu", "this-cpu", lambda: None)
    for key, bad in (("prior_strength", 0.0), ("discount", 1.5)):
        policy = make_policy("nasd", 3, params={"table": str(path), "acceptance": "online", key: bad})
        with pytest.raises(ValueError, match=key):
            policy.bind("tiny-random", "this-cpu", "this-cpu", lambda: None)


def test_table_for_another_pair_is_refused_naming_both(tmp_path):
    path = _table(pair="other-pair", edge="edge-board-4x").save(tmp_path / "t.json")
    policy = make_policy("nasd", 3, params={"table": str(path), "costs": "table"})
    with pytest.raises(TablePairMismatchError, match="other-pair.*edge-board-4x/this-cpu.*tiny-random"):
        policy.bind("tiny-random", "this-cpu", "this-cpu", lambda: None)
    ok = _table().save(tmp_path / "ok.json")  # control: the right pair binds
    make_policy("nasd", 3, params={"table": str(ok), "costs": "table"}).bind("tiny-random", "this-cpu", "this-cpu",
                                                                          lambda: None)


def test_default_table_is_chosen_by_pair_and_hardware():
    policy = make_policy("nasd", 3, params={"costs": "table"})
    policy.bind("smollm2-135m-int8", "edge-npu-4x", "this-cpu", lambda: None)
    assert policy.table.hardware == "edge-npu-4x/this-cpu"
    seed = make_policy("nasd", 3, params={"costs": "table", "formula": "seed"})
    seed.bind("smollm2-135m-int8", "edge-npu-4x", "this-cpu", lambda: None)
    assert seed.table.formula == "seed"
    with pytest.raises(FileNotFoundError, match="nasd_calibrate"):
        make_policy("nasd", 3).bind("smollm2-135m-int8", "edge-board-10x", "this-cpu", lambda: None)


def test_unbound_nasd_says_how_to_bind():
    from jointbench.specdec.policy import DraftState

    with pytest.raises(RuntimeError, match="bind"):
        make_policy("nasd", 3).next_k(DraftState(0, 0, 10))


_EDGE_CUTOFF = {"costs": "table", "cutoff_margin": 1.0, "fallback_tokens": 4}


@pytest.mark.parametrize("params", [_EDGE_CUTOFF,
                                    {"costs": "table", "fallback": "cloud_only", "cutoff_margin": 50.0},
                                    {**_EDGE_CUTOFF, "acceptance": "online"},
                                    {**_EDGE_CUTOFF, "acceptance": "shift"}])
def test_per_cycle_logs_add_up_to_the_record_totals(tmp_path, monkeypatch, params):
    from jointbench.specdec.session import SpecDecSession

    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path))
    path = _table().save(tmp_path / "t.json")
    s = SpecDecSession("edge_cloud", pair="tiny-random", policy="nasd", k=3, max_new_tokens=12,
                       policy_params={"table": str(path), **params}, network={"network_rtt_ms": 80})
    recs = [s.predict({"prompt": f"question {i}", "index": i}) for i in range(3)]
    for rec in recs:
        log, ex = rec["extras"]["cycle_log"], rec["extras"]
        assert len(log) == rec["cycles"] == len(ex["k_per_cycle"])
        assert sum(c["drafted"] for c in log) == rec["drafted"]
        assert sum(c["accepted"] for c in log) == rec["accepted"]
        assert sum(c["committed"] for c in log) == rec["tokens_out"] == len(ex["tokens"])
        assert [c["k"] for c in log] == ex["k_per_cycle"]
        assert [c["committed"] for c in log] == ex["committed_per_cycle"]
        fallback = sum(n for n, f in zip(ex["committed_per_cycle"], ex["fallback_per_cycle"]) if f)
        assert fallback == sum(c["committed"] for c in log if c["k_asked"] == 0) > 0
        assert all(0.0 <= c["overhead_share"] <= 1.0 for c in log)
        assert ex["lossy"] == (params.get("fallback", "edge_only") == "edge_only")
    # control: a log missing one cycle does not add up
    rec = recs[0]
    assert sum(c["committed"] for c in rec["extras"]["cycle_log"][:-1]) != rec["tokens_out"]
