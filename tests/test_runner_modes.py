"""Each mining mode yields Ianvs's 4-slot y_pred exactly as contract C20 says."""

from __future__ import annotations

import json
import os

import pytest
from runner_toyjob import TOY_ROWS, module

from jointbench.runner.config import parse_job
from jointbench.runner.errors import RunnerError
from jointbench.runner.paradigm import run_test_case


def _run(job_file):
    spec = parse_job(job_file)
    (case,) = spec.test_cases
    return run_test_case(case, spec.testenv, os.path.join(spec.job_dir, case.algorithm), progress=False)


def test_inference_then_mining_keeps_edge_result_on_hard_samples(toy_job):
    y_pred = _run(toy_job(mode="inference-then-mining"))
    assert len(y_pred) == len(TOY_ROWS)
    for item, row in zip(y_pred, TOY_ROWS):
        is_hard, result, edge, cloud = item
        assert edge is not None and edge["prediction"] == row["guess"]  # the edge always ran
        if row["conf"] < 0.5:
            assert is_hard is True and cloud is not None and cloud["route"] == "cloud"
            assert result == cloud and result is not cloud  # a deep copy of the cloud result
        else:
            assert not is_hard and cloud is None
            assert result == edge and result is not edge


def test_mining_then_inference_runs_one_side_only(toy_job):
    y_pred = _run(toy_job(mode="mining-then-inference"))
    for (is_hard, result, edge, cloud), row in zip(y_pred, TOY_ROWS):
        if row["hard"]:
            assert is_hard and edge is None and cloud is not None and result == cloud
        else:
            assert not is_hard and cloud is None and edge is not None and result == edge


def test_mining_then_inference_hem_sees_raw_input(toy_job):
    from jbtoy_modules import CALLS  # imported by the runner from the fixture folder

    CALLS.clear()
    _run(toy_job(mode="mining-then-inference"))
    hem_args = [arg for name, arg in CALLS if name == "hem"]
    assert hem_args == [sorted(r) for r in TOY_ROWS]  # dict keys of the raw x, not an edge record


def test_self_design_returns_what_predict_returns(toy_job):
    job = toy_job(mode="self-design", algorithms={"sd": [
        module("edgemodel", "JBToySelfDesignEdge"), module("cloudmodel", "JBToyCloud"),
        module("hard_example_mining", "JBToyThreshold")]})
    y_pred = _run(job)
    for (is_hard, result, edge, cloud), row in zip(y_pred, TOY_ROWS):
        assert is_hard is False and cloud is None and result["prediction"] == row["guess"] and edge == result


def test_self_design_rejects_a_dict_result(toy_job):
    job = toy_job(mode="self-design")
    with pytest.raises(RunnerError, match="self-design"):
        _run(job)


def test_call_order_and_kwargs(toy_job):
    from jbtoy_modules import CALLS

    CALLS.clear()
    _run(toy_job(mode="inference-then-mining"))
    names = [n for n, _ in CALLS]
    # constructed in YAML order, then load, then per-sample predict (+cloud when hard), cleanup last
    assert names[:3] == ["edge.__init__", "cloud.__init__", "edge.load"]
    assert names[-1] == "edge.cleanup"
    assert ("edge.predict", "inference-then-mining") in CALLS
    assert ("cloud.inference", "inference-then-mining") in CALLS
    assert dict(CALLS)["edge.load"].endswith("jbtoy_modules.py")  # load(model_url=model_path)


def test_dataset_processor_subsamples_and_metrics_align_by_index(toy_job, tmp_path):
    job = toy_job(algorithms={"sub": [
        module("dataset_processor", "JBToyEveryOther"), module("edgemodel", "JBToyEdge"),
        module("cloudmodel", "JBToyCloud"), module("hard_example_mining", "JBToyThreshold")]},
        metrics=["JBToy Hits (count)"])
    y_pred = _run(job)
    assert [item[1]["sample_index"] for item in y_pred] == [0, 2]


@pytest.mark.parametrize("full", [False, True])
def test_records_jsonl_and_env_json_written_per_case(toy_job, full):
    from jointbench.runner.job import run_job

    outcome = run_job(toy_job(), progress=False, out=open(os.devnull, "w"), full_records=full)
    url = outcome.leaderboard["url"].iloc[0]
    lines = open(os.path.join(url, "records.jsonl")).read().splitlines()
    assert len(lines) == len(TOY_ROWS)
    first = json.loads(lines[0])
    if full:
        assert set(first) == {"index", "is_hard_example", "result", "edge_result", "cloud_result"}
    else:  # compact: the served result only, without empty fields
        assert set(first) == {"index", "is_hard_example", "result"}
        assert first["result"]["prediction"] == TOY_ROWS[0]["guess"]
    env = json.load(open(os.path.join(url, "env.json")))
    for key in ("python", "packages", "git", "seeds", "hyperparameters", "torch_threads", "device", "wall_time_s"):
        assert key in env
