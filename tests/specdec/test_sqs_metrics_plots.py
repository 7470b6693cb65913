"""SQS leaderboard metrics (from per-cycle codec stats) and its plots."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from jointbench.specdec import sqs_metrics as sm
from jointbench.specdec.sqs_plots import crossovers, plot_sqs_rank


def _item(drafted, accepted, stats):
    rec = {"drafted": sum(drafted), "accepted": sum(accepted),
           "extras": {"drafted_per_cycle": drafted, "accepted_per_cycle": accepted, "codec_stats": stats}}
    return [False, rec, rec, None]


# cycle 1: 3 drafted, 1 accepted -> positions 1, 2 verified, one rejection
# cycle 2: 2 drafted, 2 accepted -> positions 1, 2 verified, no rejection
ITEMS = [_item([3, 2], [1, 2], [
    {"tv": [0.1, 0.5, 0.9], "message_bits": 100, "bits": [30, 30, 30], "support_size": [3, 3, 3],
     "dropped_mass": [0.1, 0.2, 0.3], "beta": [0.05, 0.04, 0.03]},
    {"tv": [0.2, 0.0], "message_bits": 80, "bits": [30, 30], "support_size": [3, 5],
     "dropped_mass": [0.0, 0.4], "beta": [0.02, 0.01]},
])]


def test_metrics_from_codec_stats():
    assert sm.uplink_bits_per_draft_token(ITEMS) == pytest.approx(180 / 5)
    assert sm.bits_per_accepted_token(ITEMS) == pytest.approx(180 / 3)
    assert sm.rejection_realised_pct(ITEMS) == pytest.approx(100 * 1 / 4)
    # analytic over the verified positions only: 0.1, 0.5 (cycle 1), 0.2, 0.0 (cycle 2)
    assert sm.rejection_analytic_pct(ITEMS) == pytest.approx(100 * 0.8 / 4)
    # control: averaging over every drafted position would count the unverified 0.9
    assert sm.rejection_analytic_pct(ITEMS) != pytest.approx(100 * 1.7 / 5)
    assert sm.dropped_mass_pct(ITEMS) == pytest.approx(100 * 1.0 / 5)
    assert sm.support_size_mean(ITEMS) == pytest.approx(17 / 5)
    assert sm.position_series(ITEMS[0][1]["extras"], "beta") == [0.05, 0.04, 0.03, 0.02, 0.01]


def test_metrics_are_nan_without_codec_stats():
    plain = [[False, {"drafted": 3, "accepted": 1, "extras": {}}, None, None]]
    assert math.isnan(sm.uplink_bits_per_draft_token(plain))
    assert math.isnan(sm.rejection_realised_pct(plain))


def _rank() -> pd.DataFrame:
    rows = []
    for bw in (0.1, 1.0, 10.0, 100.0):
        # dense: latency falls with bandwidth; sparse: flat 1000 ms -> they cross between 1 and 10 Mbit/s
        for codec, params, lat, bits in (("dense_fp16", None, 200.0 + 3000.0 / bw, 786000.0),
                                         ("k_sqs", "{'k': 3}", 1000.0, 60.0)):
            rows.append({"edgemodel-codec": codec, "edgemodel-codec_params": params, "edgemodel-temperature": 1.0,
                         "edgemodel-bandwidth_mbps": bw, "edgemodel-network_rtt_ms": 10, "Latency P50 (ms)": lat,
                         "Uplink per draft token (bit/token)": bits, "Rejection analytic TV (%)": 20.0})
    return pd.DataFrame(rows)


def test_crossover_is_interpolated_in_log_bandwidth(tmp_path):
    cross = crossovers(_rank())
    assert len(cross) == 1 and cross[0]["codec"] == "k_sqs k=3"
    # latency difference 1000 - (200 + 3000/bw): -2200 at 1, +500 at 10 -> log10 x = 2200 / 2700
    assert cross[0]["bandwidth_mbps"] == pytest.approx(10 ** (2200 / 2700))
    assert not cross[0]["faster_above"]
    # control: a codec that is always slower never crosses
    slow = _rank()
    slow.loc[slow["edgemodel-codec"] == "k_sqs", "Latency P50 (ms)"] = 1e6
    assert crossovers(slow) == []
    paths = plot_sqs_rank(_rank(), str(tmp_path / "rank" / "all_rank.csv"), str(tmp_path / "plots"), "job")
    assert [p.rsplit("/", 1)[-1] for p in paths] == ["sqs_bits_vs_rejection.png", "sqs_latency_vs_bandwidth.png"]
    assert plot_sqs_rank(pd.DataFrame({"x": [1]}), "r.csv", str(tmp_path), "job") == []
