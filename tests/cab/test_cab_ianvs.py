"""The CAb Ianvs modules under the embedded runner: per-sample slots, faithful wiring, 5-option."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from jointbench.cab.data import load_cascade_data
from jointbench.cab.experiment import run_trials
from jointbench.cab.ianvs_session import Arm, get_session
from jointbench.cab.record_metrics import set_metrics_per_trial
from jointbench.metrics.slots import views
from jointbench.runner.config import parse_job
from jointbench.runner.job import run_job
from jointbench.runner.paradigm import run_test_case

REPO = Path(__file__).resolve().parents[2]
ALGS = "./testalgorithms/cab_teleqna"
HEM_URL = f"{ALGS}/cab_hard_example_mining.py"
TQC_HEM_URL = "./testalgorithms/teleqna_cascade/tqc_hard_example_mining.py"
N_TRIALS, SEED = 4, 3
METRICS = ("deferral_rate", "sr", "sr_nonempty", "empty", "ni", "coverage", "accuracy", "set_size",
           "n_served")


def _hps(values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    return [{k: {"values": v}} for k, v in values.items()]


def _algorithm(processor: dict[str, list[Any]], edge: dict[str, list[Any]], hem: str,
               hem_hps: dict[str, list[Any]]) -> dict[str, Any]:
    hem_url = TQC_HEM_URL if hem == "TeleQnAConfidenceDeferral" else HEM_URL
    return {"algorithm": {"paradigm_type": "jointinference", "modules": [
        {"type": "dataset_processor", "name": "CAbTrialProcessor", "url": f"{ALGS}/cab_trial_processor.py",
         "hyperparameters": _hps(processor)},
        {"type": "edgemodel", "name": "CAbCachedEdgeModel", "url": f"{ALGS}/cab_edge_model.py",
         "hyperparameters": _hps(edge)},
        {"type": "cloudmodel", "name": "CAbCachedCloudModel", "url": f"{ALGS}/cab_cloud_model.py",
         "hyperparameters": _hps({"network_profile": ["4g"]})},
        {"type": "hard_example_mining", "name": hem, "url": hem_url, "hyperparameters": _hps(hem_hps)},
    ]}}


def _write_job(tmp: Path, algorithms: dict[str, dict[str, Any]], testenv: str = "testenv_4opt.yaml") -> str:
    entries = []
    for name, alg in algorithms.items():
        path = tmp / f"alg_{name}.yaml"
        path.write_text(yaml.safe_dump(alg, sort_keys=False))
        entries.append({"name": name, "url": str(path)})
    job = {"benchmarkingjob": {
        "name": "cabtest", "workspace": str(tmp / "ws"),
        "testenv": f"./examples/cab-teleqna/testenv/{testenv}",
        "test_object": {"type": "algorithms", "algorithms": entries},
        "rank": {"sort_by": [{"CAb SR mean (%)": "descend"}],
                 "selected_dataitem": {"paradigms": ["all"], "modules": ["all"], "hyperparameters": ["all"],
                                       "metrics": ["all"]},
                 "save_mode": "selected_and_all"}}}
    (tmp / "job.yaml").write_text(yaml.safe_dump(job, sort_keys=False))
    return str(tmp / "job.yaml")


def _run_cases(job_file: str, tmp: Path) -> list[tuple[Any, list[Any]]]:
    spec = parse_job(job_file)
    return [(case, run_test_case(case, spec.testenv, str(tmp / "out" / case.algorithm), progress=False))
            for case in spec.test_cases]


@pytest.fixture
def at_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)  # module urls are relative to the repository root, as in Ianvs


PROC = {"alpha": [0.2], "mode": ["faithful"], "n_trials": [N_TRIALS], "seed": [SEED]}
ARMS = {  # algorithm -> (edge hyperparameters, HEM, HEM hyperparameters, run_trials arm)
    "cab-hms": ({"edge_set": ["hms"]}, "CAbSelection", {"delta": [0.25]}, ("cab", "hms")),
    "cab-cp": ({"edge_set": ["cp"]}, "CAbSelection", {"delta": [0.25]}, ("cab", "cp")),
    "cab-lcp": ({"edge_set": ["lcp"]}, "CAbSelection", {"delta": [0.25]}, ("cab", "lcp")),
    "cbd-cp": ({"edge_set": ["cp"]}, "CAbConfidenceDeferral", {"delta": [0.25]}, ("cbd", "cp")),
    "edge-only": ({"edge_set": ["cp"]}, "TeleQnAConfidenceDeferral", {"threshold": [0.0]}, ("edge_only", "cp")),
    "cloud-only": ({"edge_set": ["cp"], "run_edge": [False]}, "TeleQnAConfidenceDeferral", {"threshold": [0.0]},
                   ("cloud_only", None)),
}


@pytest.fixture(scope="module")
def arm_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    """y_pred of each arm in ARMS, run once through the embedded runner."""
    tmp = tmp_path_factory.mktemp("cabarms")
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        algs = {name: _algorithm(PROC, edge, hem, hem_hps) for name, (edge, hem, hem_hps, _) in ARMS.items()}
        return {case.algorithm: y_pred for case, y_pred in _run_cases(_write_job(tmp, algs), tmp)}
    finally:
        os.chdir(cwd)


def test_every_sample_is_one_trial_question_pair(arm_runs: dict[str, list[Any]]) -> None:
    for name, y_pred in arm_runs.items():
        assert len(y_pred) == N_TRIALS * 100, name
        pairs = [(v.edge["extras"]["trial"], v.edge["extras"]["position"]) for v in views(y_pred)]
        assert sorted(pairs) == [(t, j) for t in range(N_TRIALS) for j in range(100)], name
        for is_hard, result, edge, cloud in y_pred:
            assert edge is not None  # inference-then-mining: the edge always ran
            if is_hard:  # C20: hard -> [True, copy(cloud), edge, cloud], for the same (trial, question)
                assert result == cloud and cloud["route"] == "cloud"
                for key in ("trial", "position", "row", "ref_label"):
                    assert cloud["extras"][key] == edge["extras"][key]
            else:
                assert result == edge and cloud is None


@pytest.mark.parametrize("name", ["cab-hms", "cab-cp", "cab-lcp", "cbd-cp"])
def test_is_hard_is_the_core_batch_decision(arm_runs: dict[str, list[Any]], name: str) -> None:
    y_pred = arm_runs[name]
    extras = y_pred[0][2]["extras"]
    session = get_session(extras)
    method, edge_set = ARMS[name][3]
    serve = session.serve(Arm(method, edge_set, "auto", 0.25))
    assert serve.shape == (N_TRIALS, 100)
    for is_hard, _, edge, _ in y_pred:
        t, j = edge["extras"]["trial"], edge["extras"]["position"]
        assert is_hard == (not serve[t, j])


@pytest.mark.parametrize("name", list(ARMS))
def test_ianvs_per_trial_metrics_equal_run_trials(arm_runs: dict[str, list[Any]], name: str) -> None:
    method, edge_set = ARMS[name][3]
    data = load_cascade_data(4, embeddings=edge_set == "lcp")
    ref = run_trials(data, 0.2, 0.25, method, edge_set=edge_set or "cp", n_trials=N_TRIALS, seed=SEED,
                     mode="faithful", return_trials=True)["per_trial"]
    got = set_metrics_per_trial(arm_runs[name])
    assert got["trial"].tolist() == list(range(N_TRIALS))
    for metric in METRICS:
        np.testing.assert_allclose(got[metric], ref[metric], rtol=0, atol=1e-12, err_msg=f"{name} {metric}")


def test_val_tuned_confidence_deferral_matches(tmp_path: Path, at_repo: None) -> None:
    alg = _algorithm(PROC, {"edge_set": ["hms"]}, "CAbConfidenceDeferral",
                     {"delta": [0.2], "rule": ["val_tuned"]})
    ((_, y_pred),) = _run_cases(_write_job(tmp_path, {"cbd-tuned": alg}), tmp_path)
    from jointbench.cab.options import CabOptions

    ref = run_trials(load_cascade_data(4), 0.2, 0.2, "cbd", edge_set="hms", n_trials=N_TRIALS, seed=SEED,
                     mode=CabOptions.faithful(cbd_rule="val_tuned"), return_trials=True)["per_trial"]
    got = set_metrics_per_trial(y_pred)
    for metric in ("deferral_rate", "sr", "ni", "coverage", "accuracy"):
        np.testing.assert_allclose(got[metric], ref[metric], atol=1e-12, err_msg=metric)


def _patched_example(tmp: Path, job: str, n_trials: int, deltas: list[float],
                     skip: tuple[str, ...] = ()) -> str:
    """Copy an example job into ``tmp`` with fewer trials, a shorter delta grid, some algorithms left out."""
    spec = yaml.safe_load((REPO / job).read_text())
    bench = spec["benchmarkingjob"]
    bench["workspace"] = str(tmp / "ws")
    algorithms = bench["test_object"]["algorithms"]
    algorithms[:] = [a for a in algorithms if a["name"] not in skip]
    for entry in algorithms:
        alg = yaml.safe_load((REPO / entry["url"]).read_text())
        for module in alg["algorithm"]["modules"]:
            for hp in module.get("hyperparameters", []):
                if "n_trials" in hp:
                    hp["n_trials"]["values"] = [n_trials]
                if "delta" in hp:
                    hp["delta"]["values"] = deltas
        path = tmp / Path(entry["url"]).name
        path.write_text(yaml.safe_dump(alg, sort_keys=False))
        entry["url"] = str(path)
    out = tmp / Path(job).name
    out.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(out)


def test_example_job_parses_to_its_grid(at_repo: None) -> None:
    spec = parse_job("examples/cab-teleqna/benchmarkingjob.yaml")
    assert len(spec.test_cases) == 46
    assert {c.modules["dataset_processor"].hyperparameters["n_trials"] for c in spec.test_cases} == {50}
    assert spec.testenv.mode == "inference-then-mining"


def test_five_option_job_runs_and_handles_the_zero_cloud_row(tmp_path: Path, at_repo: None) -> None:
    job = _patched_example(tmp_path, "examples/cab-teleqna/benchmarkingjob_5opt.yaml", 2, [0.25])
    outcome = run_job(job, progress=False, out=open(os.devnull, "w"))
    assert not outcome.failures
    df = pd.read_csv(tmp_path / "ws" / "cab_teleqna_5opt" / "rank" / "all_rank.csv")
    assert len(df) == 11 and (df["CAb Trials (count)"] == 2).all()
    assert df["CAb SR mean (%)"].notna().all()
    kept = df[df["algorithm"] == "cab-zero-row-kept"].iloc[0]
    assert kept["dataset_processor-zero_cloud_rows"] == "unsatisfiable"
    data = load_cascade_data(5)
    zero = int(np.flatnonzero(~(data.cloud_probs > 0).any(1))[0])
    from jointbench.cab.ianvs_session import _SESSIONS

    pools = {s.design.options.zero_cloud_rows: s for s in _SESSIONS.values() if s.data.n_classes == 5}
    # the Ianvs test set leaves out the 3 rows without an answer key
    assert pools["drop"].n_pool == 3224 - 3 - 1 and pools["drop"].n_dropped_zero_cloud == 1
    assert pools["unsatisfiable"].n_pool == 3224 - 3
    kept_ctx = pools["unsatisfiable"].context()
    assert zero in kept_ctx.prepared.pool and kept_ctx.prepared.cloud_set[zero].all()


def test_example_rank_draws_cab_plots(tmp_path: Path, at_repo: None) -> None:
    from jointbench.plots import plot_workspace

    job = _patched_example(tmp_path, "examples/cab-teleqna/benchmarkingjob.yaml", 2, [0.15, 0.25],
                           skip=("cab-alpha", "cab-sigma"))
    outcome = run_job(job, progress=False, out=open(os.devnull, "w"))
    assert not outcome.failures
    paths = plot_workspace(str(tmp_path / "ws"))
    names = {Path(p).name for p in paths}
    assert {"cab_teleqna_4opt_cab_deferral_vs_delta.png", "cab_teleqna_4opt_cab_sr_vs_target.png"} <= names
    for p in paths:
        assert Path(p).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
