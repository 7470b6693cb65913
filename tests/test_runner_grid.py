"""Hyperparameter grid expansion with Ianvs's semantics."""

from __future__ import annotations

import yaml
from runner_toyjob import module

from jointbench.runner.config import parse_job


def test_cartesian_product_over_modules_and_hyperparameters(toy_job):
    job = toy_job(algorithms={"grid": [
        module("edgemodel", "JBToyEdge", {"offset": [0, 1], "fail_on": [None]}),
        module("cloudmodel", "JBToyCloud"),
        module("hard_example_mining", "JBToyThreshold", {"threshold": [0.1, 0.5, 0.9]}),
    ]})
    cases = parse_job(job).test_cases
    assert len(cases) == 6
    combos = [(c.modules["edgemodel"].hyperparameters["offset"], c.modules["hard_example_mining"].hyperparameters["threshold"])
              for c in cases]
    # Ianvs's itertools.product order: the first module varies slowest.
    assert combos == [(0, 0.1), (0, 0.5), (0, 0.9), (1, 0.1), (1, 0.5), (1, 0.9)]
    assert list(cases[0].modules) == ["edgemodel", "cloudmodel", "hard_example_mining"]
    assert cases[4].hyperparameter_columns() == {"edgemodel-offset": "1", "edgemodel-fail_on": "None",
                                                 "hard_example_mining-threshold": "0.5"}


def test_other_hyperparameters_are_a_base_that_explicit_values_override(toy_job, tmp_path):
    (tmp_path / "base1.yaml").write_text(yaml.safe_dump({"offset": 5, "network_rtt_ms": 20, "extra": "a"}))
    (tmp_path / "base2.yaml").write_text(yaml.safe_dump({"extra": "b"}))
    job = toy_job(algorithms={"other": [
        module("edgemodel", "JBToyEdge", {"other_hyperparameters": ["./base1.yaml", "./base2.yaml"],
                                          "offset": [7, 8]}),
        module("cloudmodel", "JBToyCloud"),
        module("hard_example_mining", "JBToyThreshold"),
    ]})
    cases = parse_job(job).test_cases
    # other_hyperparameters files merge into one base: they are not a grid dimension.
    assert len(cases) == 2
    hps = [c.modules["edgemodel"].hyperparameters for c in cases]
    assert hps == [{"offset": 7, "network_rtt_ms": 20, "extra": "b"}, {"offset": 8, "network_rtt_ms": 20, "extra": "b"}]
    # merged keys become rank columns too
    assert "edgemodel-network_rtt_ms" in cases[0].hyperparameter_columns()


def test_yaml_types_reach_constructors_unchanged(toy_job):
    job = toy_job(algorithms={"types": [
        module("edgemodel", "JBToyEdge", {"flag": [True], "lst": [[1, 2]], "none": [None], "small": [1e-07]}),
        module("cloudmodel", "JBToyCloud"),
        module("hard_example_mining", "JBToyThreshold"),
    ]})
    (case,) = parse_job(job).test_cases
    hp = case.modules["edgemodel"].hyperparameters
    assert hp == {"flag": True, "lst": [1, 2], "none": None, "small": 1e-07}
    assert case.hyperparameter_columns()["edgemodel-lst"] == "[1, 2]"
