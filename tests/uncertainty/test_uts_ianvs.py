"""The Ianvs modules run a whole UTS test case (tiny model) and the metrics read it back."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pandas as pd
import pytest
import yaml

from jointbench.runner.job import run_job

REPO = Path(__file__).resolve().parents[2]
ALG = REPO / "testalgorithms" / "uncertainty_token"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ALG / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_constructors_validate_and_name_the_key() -> None:
    edge, hem, cloud = _load("uts_edge_model"), _load("uts_hard_example_mining"), _load("uts_cloud_model")
    with pytest.raises(ValueError, match="m: must be a number in \\(0, 1\\], got 1.5"):
        edge.UTSEdgeModel(model="tiny-random", m=1.5)
    with pytest.raises(ValueError, match="token_score: must be one of .*'entropy'.*got 'variance'"):
        edge.UTSEdgeModel(model="tiny-random", token_score="variance")
    with pytest.raises(TypeError, match="tau: must be a number in \\[0, 1\\], got 'abc'"):
        hem.UTSSampleSelection(tau="abc")
    with pytest.raises(ValueError, match="bits: must be a whole number in \\[2, 16\\], got 1"):
        cloud.UTSCloudUpdater(bits=1)
    with pytest.raises(ValueError, match="codec: must be one of .*'dense-fp16'.*got 'zip'"):
        cloud.UTSCloudUpdater(codec="zip")
    with pytest.raises(ValueError, match="network_profile"):
        cloud.UTSCloudUpdater(network_profile="moon")
    with pytest.raises(TypeError, match="cloud_model: must be a non-empty string, got 3"):
        cloud.UTSCloudUpdater(cloud_model=3)
    assert hem.UTSSampleSelection(tau=0.5)({"extras": {"confidence": 0.49}}) is True
    assert hem.UTSSampleSelection(tau=0.5)({"extras": {"confidence": 0.5}}) is False


@pytest.fixture(scope="module")
def tiny_rank(tmp_path_factory) -> pd.DataFrame:
    """Run the default algorithm with the tiny model on 12 stream and 6 held-out questions."""
    tmp = tmp_path_factory.mktemp("uts")
    ex = REPO / "examples" / "uncertainty-token"
    (tmp / "stream.jsonl").write_text("".join((ex / "data" / "stream.jsonl").read_text().splitlines(True)[:12]))
    (tmp / "heldout.jsonl").write_text("".join((ex / "data" / "heldout.jsonl").read_text().splitlines(True)[:6]))
    alg = yaml.safe_load((ALG / "uts_default.yaml").read_text())
    mods = alg["algorithm"]["modules"]
    mods[0]["hyperparameters"] = [{"model": {"values": ["tiny-random"]}}, {"tail_layers": {"values": [1]}},
                                  {"dropout_layers": {"values": [1]}}, {"mc_passes": {"values": [2]}},
                                  {"heldout_path": {"values": [str(tmp / "heldout.jsonl")]}}]
    mods[1]["hyperparameters"] = [{"tau": {"values": [1.0]}}]
    mods[2]["hyperparameters"] = [{"update_every": {"values": [5]}}, {"rho": {"values": [0.2]}}]
    for m in mods:
        m["url"] = str(REPO / m["url"])
    (tmp / "alg.yaml").write_text(yaml.safe_dump(alg))
    env = yaml.safe_load((ex / "testenv" / "testenv.yaml").read_text())
    env["testenv"]["dataset"] = {"train_data": str(ex / "data" / "train_unused.jsonl"),
                                 "test_data": str(tmp / "stream.jsonl")}
    for metric in env["testenv"]["metrics"]:
        metric["url"] = str(REPO / metric["url"])
    (tmp / "testenv.yaml").write_text(yaml.safe_dump(env))
    job = yaml.safe_load((ex / "benchmarkingjob.yaml").read_text())
    job["benchmarkingjob"].update(workspace=str(tmp / "ws"), testenv=str(tmp / "testenv.yaml"))
    job["benchmarkingjob"]["test_object"]["algorithms"] = [{"name": "uts-tiny", "url": str(tmp / "alg.yaml")}]
    (tmp / "job.yaml").write_text(yaml.safe_dump(job))
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        with open(os.devnull, "w") as sink:
            outcome = run_job(str(tmp / "job.yaml"), progress=False, out=sink)
    finally:
        os.chdir(cwd)
    assert not outcome.failures, outcome.failures
    return pd.read_csv(tmp / "ws" / "uncertainty_token" / "rank" / "all_rank.csv")


def test_job_runs_rounds_and_reports_every_metric(tiny_rank: pd.DataFrame) -> None:
    row = tiny_rank.iloc[0]
    assert row["UTS upload fraction (%)"] == 100.0  # tau = 1 uploads every (uncertain) sample
    assert row["UTS update rounds (count)"] == 2.0  # 12 uploads, an update every 5
    assert row["UTS served accuracy (%)"] > 50.0  # the replayed 7B answers the uploads
    assert row["UTS uplink (B/query)"] > 0 and row["UTS downlink (B/update)"] > 0
    assert row["UTS compression ratio (x)"] > 1.5
    assert 0.0 <= row["UTS held-out acc before (%)"] <= 100.0
    assert row["UTS held-out gain (pp)"] == pytest.approx(row["UTS held-out acc after (%)"]
                                                          - row["UTS held-out acc before (%)"])
    assert row["UTS latency mean (ms)"] > 0
    assert 0.0 <= row["UTS uncertainty AUROC (0-1)"] <= 1.0 or pd.isna(row["UTS uncertainty AUROC (0-1)"])


def test_check_dataset_names_the_bad_item() -> None:
    edge = _load("uts_edge_model").UTSEdgeModel(model="tiny-random")
    edge.check_dataset([{"row": 1, "n_options": 4}], ["A"])
    with pytest.raises(ValueError, match="test item 1: n_options=5"):
        edge.check_dataset([{"row": 1, "n_options": 4}, {"row": 2, "n_options": 5}], ["A", "B"])
    with pytest.raises(ValueError, match="test item 0: expected a TeleQnA question dict"):
        edge.check_dataset(["What?"], ["A"])
