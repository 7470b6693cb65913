"""The Ianvs face: a small self-design job on the tiny pair, and the root job's grid."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sd_tiny_job import write_tiny_testenv

from jointbench.runner.config import parse_job
from jointbench.runner.job import run_job
from jointbench.specdec.leaderboard_plots import reversal_rtt

REPO = Path(__file__).resolve().parents[2]
SD = REPO / "testalgorithms" / "specdec"

STRATEGIES = {
    "cloud-only": {"strategy": ["cloud_only"]},
    "edge-only": {"strategy": ["edge_only"]},
    "co-located": {"strategy": ["colocated"], "policy": ["fixed"], "k": [2]},
    "fixed-k": {"strategy": ["edge_cloud"], "policy": ["fixed"], "k": [1, 3]},
    "heuristic": {"strategy": ["edge_cloud"], "policy": ["heuristic"], "k": [4]},
}


def _algorithm(hps: dict, prompts: str) -> dict:
    grid = {**hps, "pair": ["tiny-random"], "max_new_tokens": [12], "prompts_file": [prompts],
            "hardware": ["this-cpu/this-cpu"], "network_rtt_ms": [0, 50], "bandwidth_mbps": [10]}
    return {"algorithm": {"paradigm_type": "jointinference", "modules": [
        {"type": "edgemodel", "name": "SDSessionEdgeModel", "url": str(SD / "sd_edge_model.py"),
         "hyperparameters": [{k: {"values": v}} for k, v in grid.items()]},
        {"type": "cloudmodel", "name": "SDTargetService", "url": str(SD / "sd_cloud_model.py")},
        {"type": "hard_example_mining", "name": "SDNoMining", "url": str(SD / "sd_hard_example_mining.py")},
    ]}}


@pytest.fixture(scope="module")
def tiny_job(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sdjob")
    prompts, _ = write_tiny_testenv(tmp)
    algs = []
    for name, hps in STRATEGIES.items():
        (tmp / f"{name}.yaml").write_text(yaml.safe_dump(_algorithm(hps, str(prompts))))
        algs.append({"name": name, "url": str(tmp / f"{name}.yaml")})
    job = {"benchmarkingjob": {"name": "sdtiny", "workspace": str(tmp / "ws"), "testenv": str(tmp / "testenv.yaml"),
                               "test_object": {"type": "algorithms", "algorithms": algs},
                               "rank": {"sort_by": [{"Throughput P50 (tokens/s)": "descend"}],
                                        "visualization": {"mode": "selected_only", "method": "print_table"},
                                        "selected_dataitem": {"paradigms": ["all"], "modules": ["all"],
                                                              "hyperparameters": ["all"], "metrics": ["all"]},
                                        "save_mode": "selected_and_all"}}}
    (tmp / "job.yaml").write_text(yaml.safe_dump(job))
    cwd, old_cache = os.getcwd(), os.environ.get("JOINTBENCH_CACHE")
    os.environ["JOINTBENCH_CACHE"] = str(tmp / "cache")
    os.chdir(REPO)
    try:
        outcome = run_job(str(tmp / "job.yaml"), progress=False, out=open(os.devnull, "w"))
    finally:
        os.chdir(cwd)
        if old_cache is None:
            os.environ.pop("JOINTBENCH_CACHE", None)
        else:
            os.environ["JOINTBENCH_CACHE"] = old_cache
    assert not outcome.failures, outcome.failures
    return tmp


def _records(tmp: Path) -> dict[str, list[list[dict]]]:
    out: dict[str, list[list[dict]]] = {}
    for name in STRATEGIES:
        for f in sorted((tmp / "ws" / "sdtiny" / name).glob("*/records.jsonl")):
            out.setdefault(name, []).append([json.loads(line)["result"] for line in f.open()])
    return out


def test_every_strategy_but_edge_only_outputs_the_cloud_only_tokens(tiny_job):
    recs = _records(tiny_job)
    assert sum(len(v) for v in recs.values()) == 2 * 6  # 6 strategy settings x 2 RTTs
    reference = [r["extras"]["tokens"] for r in recs["cloud-only"][0]]
    for name, cases in recs.items():
        for case in cases:
            tokens = [r["extras"]["tokens"] for r in case]
            if name == "edge-only":
                assert tokens != reference
            else:
                assert tokens == reference, name
                assert all(r["extras"]["agrees_with_cloud"] for r in case)


def test_rank_has_metrics_and_reversal_is_computable(tiny_job):
    rank = pd.read_csv(next((tiny_job / "ws").rglob("all_rank.csv")))
    assert len(rank) == 12
    lossless = rank[rank["algorithm"] != "edge-only"]
    assert (lossless["Cloud agreement (%)"] == 100).all()
    assert (rank[rank["algorithm"] == "edge-only"]["Network overhead (%)"] == 0).all()
    rev = reversal_rtt(str(next((tiny_job / "ws").rglob("all_rank.csv"))))
    assert set(rev["status"]) <= {"crosses", "never wins", "always wins"}


def test_root_job_expands_to_the_full_grid():
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        spec = parse_job("benchmarkingjob.yaml")
    finally:
        os.chdir(cwd)
    assert spec.testenv.mode == "self-design"
    # (cloud, edge, co-located, 5 fixed K, heuristic) x 3 hardware x (7 RTT x 3 bandwidths + 3 traces
    # + 2 RTT x 3 jitter x 3 loss), and (NASD srtt, raw, cloud-fallback, online, shift, stop and stopend
    # cloud-fallback, UCB) on the same conditions
    assert len(spec.test_cases) == (9 + 8) * 3 * (7 * 3 + 3 + 2 * 3 * 3)
    strategies = {c.hyperparameter_columns()["edgemodel-strategy"] for c in spec.test_cases}
    assert strategies == {"cloud_only", "edge_only", "colocated", "edge_cloud"}
    policies = {c.hyperparameter_columns().get("edgemodel-policy") for c in spec.test_cases}
    assert {"fixed", "heuristic", "nasd", "ucb"} <= policies
