"""Values are checked before the first sample (issue 10, failures 4, 5 and 7).

Each bad value must exit 2 naming the YAML file, the grid point and the key, with no
test case folder written; each control (the same job with a good value) must pass the
same checks.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
import yaml
from runner_toyjob import module

from jointbench.cli import main
from jointbench.runner.config import parse_job
from jointbench.runner.errors import ConfigError
from jointbench.runner.job import resolve_plugins, run_job

REPO = Path(__file__).resolve().parents[1]
DEVNULL = open(os.devnull, "w")


def _job(tmp_path: Path, alg_file: str, testenv: str, set_hp: dict[tuple[int, str], list] | None = None,
         testenv_data: str | None = None, name: str = "job", alg_name: str = "alg") -> str:
    """A one-algorithm job (run from the repo root) whose module grid is ``alg_file``'s, edited."""
    alg = yaml.safe_load((REPO / alg_file).read_text())
    for (index, key), values in (set_hp or {}).items():
        hps = alg["algorithm"]["modules"][index].setdefault("hyperparameters", [])
        for entry in hps:
            if key in entry:
                entry[key]["values"] = values
                break
        else:
            hps.append({key: {"values": values}})
    (tmp_path / "alg.yaml").write_text(yaml.safe_dump(alg, sort_keys=False))
    env_file = str(REPO / testenv)
    if testenv_data is not None:
        env = yaml.safe_load((REPO / testenv).read_text())
        env["testenv"]["dataset"]["test_data"] = testenv_data
        env_file = str(tmp_path / "testenv.yaml")
        Path(env_file).write_text(yaml.safe_dump(env, sort_keys=False))
    job = {"benchmarkingjob": {"name": name, "workspace": str(tmp_path / "ws"), "testenv": env_file,
                               "test_object": {"type": "algorithms",
                                               "algorithms": [{"name": alg_name, "url": str(tmp_path / "alg.yaml")}]},
                               "rank": {"sort_by": [{"Accuracy (%)": "descend"}]}}}
    if "cab" in alg_file:
        job["benchmarkingjob"]["rank"]["sort_by"] = [{"CAb SR mean (%)": "descend"}]
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(job, sort_keys=False))
    return str(tmp_path / "job.yaml")


def _validate(job: str) -> None:
    from jointbench.runner.validate import load_checked_test_set, validate_modules

    spec = parse_job(job)
    resolve_plugins(spec)
    validate_modules(spec, load_checked_test_set(spec))


CASCADE = ("testalgorithms/teleqna_cascade/tqc_threshold.yaml", "examples/teleqna-cascade/testenv/testenv.yaml")
CAB = ("testalgorithms/cab_teleqna/cab_selection.yaml", "examples/cab-teleqna/testenv/testenv_4opt.yaml")

BAD_VALUES = [
    # (job, module index, key, bad values, text the error must contain)
    (CAB, 3, "dleta", [0.1], "unexpected keyword argument 'dleta'"),  # misspelt key no longer swallowed by **kwargs
    (CAB, 3, "delta", [0.1, "abc"], "delta: must be a number"),
    (CASCADE, 1, "network_rtt_ms", [-5], "network_rtt_ms"),
    (CASCADE, 1, "network_profile", ["lan", "5g-ultra"], "unknown profile"),
    (CASCADE, 2, "threshold", [0.5, 2], "threshold: must be a number in [0, 1]"),
    (CAB, 0, "alpha", [2], "alpha: must be a number in (0, 1)"),
    (CAB, 0, "n_trials", [0], "n_trials: must be a whole number"),
    (CAB, 0, "n_trials", [2.5], "n_trials: must be a whole number"),
    (CAB, 0, "n_options", [5], "n_options: 5, but the test set's questions have 4 options"),
    (CASCADE, 0, "n_options", [5], "n_options: 5, but the test set's questions have 4 options"),
]


@pytest.mark.parametrize("job_kind,index,key,values,needle", BAD_VALUES,
                         ids=[f"{k}={v[-1]!r}" for _, _, k, v, _ in BAD_VALUES])
def test_bad_value_exits_2_before_any_sample(tmp_path, monkeypatch, capsys, job_kind, index, key, values, needle):
    monkeypatch.chdir(REPO)
    job = _job(tmp_path, *job_kind, {(index, key): values})
    assert main(["run", job, "--no-progress", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert needle in err, err
    assert str(tmp_path / "alg.yaml") in err and f"algorithm.modules[{index}]" in err and "grid point" in err
    assert not list((tmp_path / "ws").rglob("records.jsonl"))  # no test case ran


@pytest.mark.parametrize("job_kind,index,key,good", [
    (CAB, 3, "delta", [0.1]), (CASCADE, 1, "network_rtt_ms", [5]), (CASCADE, 2, "threshold", [1.0]),
    (CAB, 0, "n_trials", [2]), (CAB, 0, "n_options", [4]), (CASCADE, 0, "n_options", [4])])
def test_control_good_value_validates(tmp_path, monkeypatch, job_kind, index, key, good):
    monkeypatch.chdir(REPO)
    _validate(_job(tmp_path, *job_kind, {(index, key): good}))


def test_empty_test_set_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    (tmp_path / "empty.jsonl").write_text("")
    job = _job(tmp_path, *CASCADE, testenv_data=str(tmp_path / "empty.jsonl"))
    assert main(["run", job, "--no-progress", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert "testenv.dataset.test_data" in err and "no samples" in err


def test_row_without_answer_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    (tmp_path / "bad.jsonl").write_text(json.dumps({"question": {"row": 0}}) + "\n")
    job = _job(tmp_path, *CASCADE, testenv_data=str(tmp_path / "bad.jsonl"))
    assert main(["run", job, "--no-progress", "--no-plot"]) == 2
    assert "'answer'" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["job", "algorithm"])
@pytest.mark.parametrize("bad", ["../escape", "a/b", "..", "x\\y"])
def test_names_with_dotdot_or_separators_are_refused(tmp_path, monkeypatch, capsys, where, bad):
    monkeypatch.chdir(REPO)
    names = {"name": bad} if where == "job" else {"alg_name": bad}
    job = _job(tmp_path, *CASCADE, **names)
    assert main(["run", job, "--no-progress", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert ("benchmarkingjob.name" if where == "job" else "algorithms[0].name") in err and "plain name" in err
    assert not (tmp_path / "escape").exists() and not (tmp_path / "ws").exists()


def test_plain_names_with_at_and_dots_are_fine(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    parse_job(_job(tmp_path, *CASCADE, name="job.v1", alg_name="cloud-only@oscillating"))


# ---- toy plugins: missing model, sys.exit, repeated errors, check_dataset, provenance -----------------

def _toy_algorithms(edge: dict, n_cases: int = 1, hem: str = "JBToyThreshold") -> dict:
    return {"toy": [edge, module("cloudmodel", "JBToyCloud"),
                    module("hard_example_mining", hem, {"threshold": [0.1 * (i + 1) for i in range(n_cases)]})]}


def test_missing_model_fails_once_before_any_sample(toy_job, capsys):
    job = toy_job(algorithms=_toy_algorithms(module("edgemodel", "JBToyModelEdge"), n_cases=6))
    assert main(["run", job, "--no-progress", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert err.count("missing-model.bin") == 1 and "grid point 1 of 6" in err
    assert not os.path.isdir("ws/toyjob/toy")


def test_error_repeating_in_consecutive_cases_stops_the_job(toy_job):
    # the model file is checked only in load(): every case fails the same way
    job = toy_job(algorithms=_toy_algorithms(module("edgemodel", "JBToyModelEdge", {"check_early": [False]}),
                                             n_cases=6))
    import io

    out = io.StringIO()
    outcome = run_job(job, progress=False, out=out, max_repeated_failures=3)
    assert len(outcome.failures) == 3 and outcome.n_done == 3
    assert out.getvalue().count("stopped: the same error ended 3 test cases in a row") == 1
    assert "3 test case(s) not run" in out.getvalue()


def test_different_errors_do_not_stop_the_job(toy_job):
    job = toy_job(algorithms={f"a{i}": [module("edgemodel", "JBToyEdge", {"fail_on": [i]}),
                                        module("cloudmodel", "JBToyCloud"),
                                        module("hard_example_mining", "JBToyThreshold")] for i in range(4)})
    outcome = run_job(job, progress=False, out=DEVNULL, max_repeated_failures=3)
    assert len(outcome.failures) == 4 and outcome.stopped is None  # each failed on another sample id


def test_sys_exit_in_a_plugin_fails_that_case_only(toy_job):
    job = toy_job(algorithms={"exits": _toy_algorithms(module("edgemodel", "JBToyExitEdge"))["toy"],
                              "ok": _toy_algorithms(module("edgemodel", "JBToyEdge"))["toy"]})
    outcome = run_job(job, progress=False, out=DEVNULL)
    assert [f.case.algorithm for f in outcome.failures] == ["exits"]
    assert "sys.exit(3)" in outcome.failures[0].error
    assert list(outcome.leaderboard["algorithm"]) == ["ok"]


def test_strict_module_and_check_dataset_hook(toy_job, capsys):
    from jointbench.runner.validate import load_checked_test_set, validate_modules

    job = toy_job(algorithms=_toy_algorithms(module("edgemodel", "JBToyEdge"), hem="JBToyStrictThreshold",
                                             n_cases=1))
    spec = parse_job(job)
    resolve_plugins(spec)
    data = load_checked_test_set(spec)
    validate_modules(spec, data)  # control: the toy set has 'conf'
    bad = copy.deepcopy(data)
    for q in bad.x:
        q.pop("conf")
    with pytest.raises(ConfigError, match="does not fit the test set.*'conf'"):
        validate_modules(spec, bad)


def test_provenance_hook_lands_in_env_json(toy_job):
    job = toy_job(algorithms={"p": [module("edgemodel", "JBToyEdge"), module("cloudmodel", "JBToyProvenanceCloud"),
                                    module("hard_example_mining", "JBToyThreshold")]})
    outcome = run_job(job, progress=False, out=DEVNULL)
    env = json.load(open(os.path.join(outcome.leaderboard["url"].iloc[0], "env.json")))
    assert env["provenance"] == {"cloudmodel": {"calibration_sha256": "abc123", "load_average_1m": 0.5}}
