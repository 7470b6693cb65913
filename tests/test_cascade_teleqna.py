"""The TeleQnA confidence-deferral cascade is exact against the shipped tensors."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jointbench.cascade import defer_to_cloud, threshold_curve, top1
from jointbench.datasets.teleqna import load_teleqna
from jointbench.runner.job import run_job

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "teleqna-qwen2-cascade"


def test_tie_rule_is_lowest_index():
    idx, conf, tied = top1(np.array([[0.4, 0.4, 0.2, 0.0], [0.1, 0.2, 0.2, 0.5], [0, 0, 0, 0]], np.float32))
    assert list(idx) == [0, 3, 0]
    assert list(tied) == [2, 1, 4]
    assert conf[0] == np.float32(0.4)


def test_threshold_is_inclusive_in_float32():
    assert not defer_to_cloud(np.float32(0.7), 0.7)  # 0.7f < 0.7 in float64; must not defer
    assert defer_to_cloud(np.float32(0.6), 0.7)
    assert not defer_to_cloud(np.float32(0.0), 0.0)


def test_dataset_sizes_and_accuracies():
    d4, d5 = load_teleqna(4), load_teleqna(5)
    assert len(d4) == 1723 and len(d5) == 3224
    acc = lambda p, d: float((p.argmax(1) == d.answer)[d.gold_valid].mean())
    assert acc(d4.cloud_probs, d4) == pytest.approx(0.7348, abs=5e-4)
    assert acc(d4.edge_probs, d4) == pytest.approx(0.5775, abs=5e-4)
    assert int((~d5.gold_valid).sum()) == 3
    assert (top1(d4.edge_probs)[2] > 1).mean() == pytest.approx(0.139, abs=0.005)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared data not beside the checkout")
def test_shipped_npz_matches_shared_source():
    for k in (4, 5):
        d = load_teleqna(k)
        pred = np.load(SHARED / f"{k}options" / "qa_tensors.predictions.npy")
        gold = np.load(SHARED / f"{k}options" / "qa_tensors.gold.npy")
        np.testing.assert_array_equal(d.edge_probs, pred.astype(np.float32))
        valid = gold.sum(1) > 0
        np.testing.assert_array_equal(d.answer[valid], gold.argmax(1)[valid])


@pytest.fixture(scope="module")
def example_rank(tmp_path_factory) -> pd.DataFrame:
    """all_rank.csv of the example job, run once from the repository root into a temporary workspace."""
    tmp = tmp_path_factory.mktemp("cascade")
    job = REPO / "examples" / "teleqna-cascade" / "benchmarkingjob.yaml"
    tmp_job = tmp / "job.yaml"
    tmp_job.write_text(job.read_text().replace('workspace: "./workspace"', f'workspace: "{tmp}/ws"'))
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        outcome = run_job(str(tmp_job), progress=False, out=open(os.devnull, "w"))
    finally:
        os.chdir(cwd)
    assert not outcome.failures
    return pd.read_csv(tmp / "ws" / "teleqna_cascade" / "rank" / "all_rank.csv")


def test_example_job_matches_closed_form(example_rank):
    df = example_rank
    d = load_teleqna(4)
    cloud_acc = 100 * float((d.cloud_probs.argmax(1) == d.answer).mean())
    edge_acc = 100 * float((d.edge_probs.argmax(1) == d.answer).mean())
    # accuracy and deferral do not depend on the network profile: take one profile's rows
    df = df[df["cloudmodel-network_profile"].isin(["lan"]) | (df["algorithm"] == "edge-only")]
    by_alg = df.set_index("algorithm")
    assert by_alg.loc["cloud-only", "Accuracy (%)"] == pytest.approx(cloud_acc, abs=1e-9)
    assert by_alg.loc["cloud-only", "Deferral rate (%)"] == 100.0
    assert by_alg.loc["edge-only", "Accuracy (%)"] == pytest.approx(edge_acc, abs=1e-9)
    assert by_alg.loc["edge-only", "Deferral rate (%)"] == 0.0
    rows = df[df["algorithm"] == "confidence-deferral"].sort_values("hard_example_mining-threshold")
    curve = threshold_curve(d.edge_probs, d.cloud_probs, d.answer, rows["hard_example_mining-threshold"].to_numpy())
    np.testing.assert_allclose(rows["Accuracy (%)"], curve["accuracy_pct"], atol=1e-9)
    np.testing.assert_allclose(rows["Deferral rate (%)"], curve["deferral_pct"], atol=1e-9)
    # deferral grows with the threshold; every threshold row lies between edge-only and cloud-only deferral
    assert np.all(np.diff(rows["Deferral rate (%)"]) >= 0)
    assert rows["Accuracy (%)"].min() >= edge_acc


def test_example_latency_and_uplink_follow_the_cost_model(example_rank):
    from jointbench.netsim.request_costs import approx_tokens, generation_ms
    from jointbench.netsim import Link, hardware_profile, link_config_from_hyperparameters

    df = example_rank
    d = load_teleqna(4)
    prompt_tokens = np.array([approx_tokens(str(p)) for p in d.prompts])
    edge = hardware_profile("edge-orin-qwen2-1.5b")
    edge_ms = np.array([generation_ms(edge, n, 4) for n in prompt_tokens])
    row = df[df["algorithm"] == "edge-only"].iloc[0]
    assert row["Latency P50 (ms)"] == pytest.approx(np.percentile(edge_ms, 50))
    assert row["Uplink (KB/query)"] == 0.0

    cloud = hardware_profile("cloud-gpu-7b")
    cloud_ms = np.array([generation_ms(cloud, n, 4) for n in prompt_tokens])
    lan_link = Link(link_config_from_hyperparameters({"network_profile": "lan"}))
    wire_up = np.array([lan_link.wire_bytes(len(str(p).encode()))[0] for p in d.prompts])
    by_profile = df[df["algorithm"] == "cloud-only"].set_index("cloudmodel-network_profile")
    assert by_profile.loc["lan", "Uplink (KB/query)"] == pytest.approx(wire_up.mean() / 1000)
    p50 = by_profile["Latency P50 (ms)"]
    # network time adds to the cloud's compute, and grows with the profile's RTT
    assert p50["lan"] >= np.percentile(cloud_ms, 50) and p50["lan"] < p50["4g"] < p50["satellite"]
    rtt = {k: link_config_from_hyperparameters({"network_profile": k}).rtt_ms for k in ("lan", "4g", "satellite")}
    assert p50["satellite"] - p50["lan"] == pytest.approx(rtt["satellite"] - rtt["lan"], rel=0.1)
