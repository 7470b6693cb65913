"""Rank CSVs: Ianvs's columns, saved per test case, failures do not lose earlier cases."""

from __future__ import annotations

import os

import pandas as pd
from runner_toyjob import module

from jointbench.runner.job import run_job

DEVNULL = open(os.devnull, "w")


def _three_module(threshold_values, edge_hps=None):
    return [module("edgemodel", "JBToyEdge", edge_hps or {"offset": [0]}), module("cloudmodel", "JBToyCloud"),
            module("hard_example_mining", "JBToyThreshold", {"threshold": threshold_values})]


def test_rank_csv_columns_follow_ianvs(toy_job):
    job = toy_job(algorithms={"toy": _three_module([0.5, 0.95])},
                  metrics=["JBToy Hits (count)"])
    run_job(job, progress=False, out=DEVNULL)
    df = pd.read_csv("ws/toyjob/rank/all_rank.csv")
    assert list(df.columns) == ["rank", "algorithm", "JBToy Hits (count)", "paradigm", "edgemodel", "cloudmodel",
                                "hard_example_mining", "edgemodel-offset", "hard_example_mining-threshold",
                                "time", "url"]
    assert list(df["rank"]) == [1, 2]
    assert set(df["paradigm"]) == {"jointinference"} and set(df["edgemodel"]) == {"JBToyEdge"}
    # sorted by the metric, descending: threshold 0.95 sends all 4 samples to the cloud (answer "C");
    # 0.5 sends the two low-confidence ones, and the edge guesses "C" on one more
    assert list(df["hard_example_mining-threshold"]) == [0.95, 0.5]
    assert list(df["JBToy Hits (count)"]) == [4.0, 3.0]
    sel = pd.read_csv("ws/toyjob/rank/selected_rank.csv")
    assert list(sel.columns) == list(df.columns)
    # url = <ws>/<job>/<algorithm>/<uuid>, and the embedded runner fills it with the case's files
    assert all(u.startswith("./ws/toyjob/toy/") and os.path.isfile(os.path.join(u, "records.jsonl"))
               for u in df["url"])


def test_all_rank_accumulates_across_runs_selected_deduplicates(toy_job):
    job = toy_job()
    run_job(job, progress=False, out=DEVNULL)
    run_job(job, progress=False, out=DEVNULL)
    assert len(pd.read_csv("ws/toyjob/rank/all_rank.csv")) == 2
    assert len(pd.read_csv("ws/toyjob/rank/selected_rank.csv")) == 1


def test_failing_second_case_keeps_first_in_rank(toy_job):
    job = toy_job(algorithms={"ok": _three_module([0.5]),
                              "broken": _three_module([0.5], {"fail_on": [2]})})
    outcome = run_job(job, progress=False, out=DEVNULL)
    assert len(outcome.failures) == 1 and "toy edge failure on 2" in outcome.failures[0].error
    df = pd.read_csv("ws/toyjob/rank/all_rank.csv")
    assert list(df["algorithm"]) == ["ok"]
    assert os.path.isfile(os.path.join(outcome.failures[0].url, "error.txt"))


def test_failure_in_first_case_still_runs_the_second(toy_job):
    job = toy_job(algorithms={"broken": _three_module([0.5], {"fail_on": [0]}), "ok": _three_module([0.5])})
    outcome = run_job(job, progress=False, out=DEVNULL)
    assert [f.case.algorithm for f in outcome.failures] == ["broken"]
    assert list(pd.read_csv("ws/toyjob/rank/all_rank.csv")["algorithm"]) == ["ok"]


def test_metric_returning_a_dict_fails_that_case_only(toy_job):
    job = toy_job(metrics=["JBToy Hits (count)", "JBToy Dict Metric"])
    outcome = run_job(job, progress=False, out=DEVNULL)
    assert len(outcome.failures) == 1 and "JBToy Dict Metric" in outcome.failures[0].error


def test_metric_columns_keep_testenv_order(toy_job):
    for order in (["JBToy Hits (count)", "JBToy Edge Answers (count)"],
                  ["JBToy Edge Answers (count)", "JBToy Hits (count)"]):
        job = toy_job(metrics=order)
        if os.path.isdir("ws"):
            import shutil

            shutil.rmtree("ws")
        run_job(job, progress=False, out=DEVNULL)
        cols = list(pd.read_csv("ws/toyjob/rank/all_rank.csv").columns)
        assert cols[2:4] == order


def test_interrupt_keeps_finished_cases_in_rank(toy_job):
    import pytest

    job = toy_job(algorithms={"ok": _three_module([0.5, 0.9]),
                              "stop": _three_module([0.5], {"interrupt_on": [1]})})
    with pytest.raises(KeyboardInterrupt):
        run_job(job, progress=False, out=DEVNULL)
    df = pd.read_csv("ws/toyjob/rank/all_rank.csv")
    assert list(df["algorithm"]) == ["ok", "ok"]
