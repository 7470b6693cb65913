"""Leaderboard labels: rows of different settings never collapse into one label (which the rerun
deduplication would then drop), with a control that a true rerun still keeps only its latest row."""

from __future__ import annotations

import pandas as pd
import pytest

from jointbench.specdec.leaderboard_plots import load_rank
from jointbench.specdec.policies.nasd_policy import NasdPolicy


def _row(algorithm: str, params: dict, tps: float, time: str = "2026-01-01 00:00:00") -> dict:
    return {"algorithm": algorithm, "Throughput P50 (tokens/s)": tps, "time": time,
            "edgemodel-strategy": "edge_cloud", "edgemodel-policy": "nasd", "edgemodel-k": 3,
            "edgemodel-policy_params": str(params), "edgemodel-hardware": "a/b", "edgemodel-network_rtt_ms": 50,
            "edgemodel-bandwidth_mbps": 10}


def test_two_settings_with_one_policy_label_stay_two_rows(tmp_path) -> None:
    base = {"fallback": "cloud_only", "draft_stop": True}
    path = tmp_path / "all_rank.csv"
    pd.DataFrame([_row("nasd-a", {**base, "probe_interval_ms": 500.0}, 5.0),
                  _row("nasd-b@traces", {**base, "probe_interval_ms": 1000.0}, 6.0)]).to_csv(path, index=False)
    with pytest.warns(UserWarning, match="names 2 different settings"):
        df = load_rank(str(path))
    assert sorted(df["label"]) == [f"edge-cloud NASD-srtt-stop+cloud [{a}]" for a in ("nasd-a", "nasd-b")]
    assert sorted(df["Throughput P50 (tokens/s)"]) == [5.0, 6.0]


def test_control_a_rerun_of_one_setting_keeps_its_latest_row(tmp_path, recwarn) -> None:
    params = {"fallback": "cloud_only", "draft_stop": True}
    path = tmp_path / "all_rank.csv"
    pd.DataFrame([_row("nasd-a", params, 5.0, "2026-01-01 00:00:00"),
                  _row("nasd-a", params, 6.0, "2026-01-02 00:00:00")]).to_csv(path, index=False)
    df = load_rank(str(path))
    assert list(df["Throughput P50 (tokens/s)"]) == [6.0] and list(df["label"]) == ["edge-cloud NASD-srtt-stop+cloud"]
    assert not [w for w in recwarn if "different settings" in str(w.message)]


def test_nasd_label_names_the_answer_end_and_a_cutoff_margin() -> None:
    assert NasdPolicy({"fallback": "cloud_only", "draft_stop": True}).label() == "NASD-srtt-stop+cloud"
    assert NasdPolicy({"fallback": "cloud_only", "draft_stop": True, "answer_end": True,
                       "cutoff_margin": 0.95}).label() == "NASD-srtt-stop-end-margin0.95+cloud"
    assert NasdPolicy({"cutoff": False, "cutoff_margin": 0.9}).label() == "NASD-srtt"  # no cutoff: no margin


def test_codec_parameters_and_temperatures_are_in_the_label(tmp_path, recwarn) -> None:
    # K-SQS with three supports in one algorithm, and the same strategy at two temperatures and at T=0
    rows = []
    for k, t, tps in ((2, 0.5, 5.0), (3, 0.5, 6.0), (8, 0.5, 7.0), (3, 1.0, 8.0), (3, 0.0, 9.0)):
        r = _row("sqs-k", {}, tps)
        r.update({"edgemodel-policy": "fixed", "edgemodel-policy_params": None, "edgemodel-codec": "k_sqs",
                  "edgemodel-codec_params": str({"k": k}), "edgemodel-temperature": t})
        rows.append(r)
    path = tmp_path / "all_rank.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    df = load_rank(str(path))
    assert sorted(df["label"]) == ["edge-cloud K=3 k_sqs k=2 T=0.5", "edge-cloud K=3 k_sqs k=3",
                                   "edge-cloud K=3 k_sqs k=3 T=0.5", "edge-cloud K=3 k_sqs k=3 T=1",
                                   "edge-cloud K=3 k_sqs k=8 T=0.5"]
    assert not [w for w in recwarn if "different settings" in str(w.message)]  # nothing left to tell apart
