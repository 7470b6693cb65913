"""Generation metrics over hand-made records, and the reversal RTT on a synthetic rank table."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from jointbench.metrics.generation import (
    acceptance_rate_pct,
    accepted_per_cycle,
    cloud_agreement_pct,
    downlink_bytes_per_token,
    network_overhead_pct,
    tokens_per_s_percentile,
    uplink_bytes_per_token,
)
from jointbench.specdec.leaderboard_plots import load_rank, plot_specdec, reversal_rtt


def _item(tps, acc, drafted, cycles, agree, net=10.0, lat=100.0, up=40, down=20, n=10):
    rec = {"accepted": acc, "drafted": drafted, "cycles": cycles, "network_ms": net, "latency_ms": lat,
           "bytes_up": up, "bytes_down": down, "tokens_out": n,
           "extras": {"tokens_per_s": tps, "agrees_with_cloud": agree}}
    return [False, rec, rec, None]


def test_generation_metrics():
    y = [_item(10.0, 3, 4, 2, True), _item(20.0, 1, 4, 2, False, net=30.0)]
    assert tokens_per_s_percentile(y, 50) == pytest.approx(15.0)
    assert acceptance_rate_pct(y) == pytest.approx(50.0)
    assert accepted_per_cycle(y) == pytest.approx(1.0)
    assert network_overhead_pct(y) == pytest.approx(20.0)
    assert uplink_bytes_per_token(y) == pytest.approx(4.0)
    assert downlink_bytes_per_token(y) == pytest.approx(2.0)
    assert cloud_agreement_pct(y) == pytest.approx(50.0)
    assert math.isnan(acceptance_rate_pct([_item(1.0, None, None, None, True)]))


def _rank(tmp_path):
    rows = []
    for rtt, cloud, sd1, sd3 in [(0, 10, 14, 12), (10, 10, 12, 11), (50, 9, 6, 8), (100, 8, 4, 5)]:
        for strat, k, tps in [("cloud_only", None, cloud), ("edge_cloud", 1, sd1), ("edge_cloud", 3, sd3),
                              ("edge_only", None, 30)]:
            rows.append({"algorithm": strat, "Throughput P50 (tokens/s)": tps, "TTFT P50 (ms)": 100 + rtt,
                         "Accepted per cycle (tokens)": 0.7 * (k or 0), "Acceptance rate (%)": 70,
                         "edgemodel-strategy": strat, "edgemodel-policy": "fixed" if k else None,
                         "edgemodel-k": k, "edgemodel-hardware": "a/b", "edgemodel-network_rtt_ms": rtt,
                         "edgemodel-bandwidth_mbps": 10})
    path = tmp_path / "all_rank.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def test_reversal_interpolates_best_sd_against_cloud_only(tmp_path):
    rev = reversal_rtt(_rank(tmp_path))
    # best SD: 14, 12, 8, 5 vs cloud 10, 10, 9, 8 -> crosses between 10 and 50 ms: 10 + 40 * 2 / 3
    assert rev["status"].iloc[0] == "crosses"
    assert rev["rtt_ms"].iloc[0] == pytest.approx(10 + 40 * 2 / 3)
    assert rev["best_sd_at_0"].iloc[0] == "edge-cloud K=1"


def test_plots_are_written(tmp_path):
    paths = plot_specdec(_rank(tmp_path), str(tmp_path / "img"))
    assert len(paths) == 3 and all((tmp_path / "img" / p.split("/")[-1]).stat().st_size > 0 for p in paths)
    assert set(load_rank(_rank(tmp_path))["label"]) == {"cloud-only", "edge-only", "edge-cloud K=1", "edge-cloud K=3"}


def test_accumulated_rank_keeps_the_latest_run(tmp_path):
    path = _rank(tmp_path)
    old, new = pd.read_csv(path), pd.read_csv(path)
    old["time"], new["time"] = "2026-01-01 00:00:00", "2026-01-02 00:00:00"
    old["Throughput P50 (tokens/s)"] = 0.0
    pd.concat([old, new]).to_csv(path, index=False)
    assert len(load_rank(path)) == 16
    assert reversal_rtt(path)["rtt_ms"].iloc[0] == pytest.approx(10 + 40 * 2 / 3)
