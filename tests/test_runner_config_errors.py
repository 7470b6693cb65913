"""Invalid jobs fail before the first sample with one error naming the file and the key."""

from __future__ import annotations

import pytest
import yaml
from runner_toyjob import module

from jointbench.cli import main
from jointbench.runner.config import parse_job
from jointbench.runner.errors import ConfigError
from jointbench.runner.job import resolve_plugins


def _rewrite(path, mutate):
    data = yaml.safe_load(open(path))
    mutate(data)
    open(path, "w").write(yaml.safe_dump(data, sort_keys=False))


def test_unknown_job_key_names_file_and_key(toy_job):
    job = toy_job(job_extra={"hard_example_mining_mode": "self-design"})
    with pytest.raises(ConfigError) as err:
        parse_job(job)
    assert err.value.file == "benchmarkingjob.yaml"
    assert err.value.key == "benchmarkingjob.hard_example_mining_mode"
    assert "testenv.yaml" in err.value.message  # says where it belongs


def test_bad_mode_value(toy_job):
    job = toy_job(mode="mining-free")
    with pytest.raises(ConfigError) as err:
        parse_job(job)
    assert (err.value.file, err.value.key) == ("./testenv.yaml", "testenv.hard_example_mining_mode")


def test_scalar_values_are_refused_not_iterated(toy_job):
    job = toy_job()
    _rewrite("alg_toy.yaml", lambda d: d["algorithm"]["modules"][2].update(
        hyperparameters=[{"threshold": {"values": "big"}}]))
    with pytest.raises(ConfigError) as err:
        parse_job(job)
    assert err.value.file == "./alg_toy.yaml"
    assert err.value.key == "algorithm.modules[2].hyperparameters[0].threshold.values"


def test_missing_test_file_is_an_error_even_if_absolute(toy_job, tmp_path):
    job = toy_job(testenv_extra={})
    _rewrite("testenv.yaml", lambda d: d["testenv"]["dataset"].update(test_data=str(tmp_path / "nope.jsonl")))
    with pytest.raises(ConfigError) as err:
        parse_job(job)
    assert err.value.key == "testenv.dataset.test_data"


def test_csv_test_data_is_refused(toy_job, tmp_path):
    job = toy_job()
    (tmp_path / "data" / "test.csv").write_text("a,b\n")
    _rewrite("testenv.yaml", lambda d: d["testenv"]["dataset"].update(test_data="./data/test.csv"))
    with pytest.raises(ConfigError, match=r"\.jsonl"):
        parse_job(job)


def test_sort_by_unknown_metric(toy_job):
    job = toy_job(sort_by=[{"Accuracy": "descend"}])
    with pytest.raises(ConfigError) as err:
        parse_job(job)
    assert err.value.key == "benchmarkingjob.rank.sort_by[0]"


def test_second_module_of_same_type(toy_job):
    job = toy_job(algorithms={"dup": [module("edgemodel", "JBToyEdge"), module("edgemodel", "JBToyEdge"),
                                      module("cloudmodel", "JBToyCloud"),
                                      module("hard_example_mining", "JBToyThreshold")]})
    with pytest.raises(ConfigError) as err:
        parse_job(job)
    assert err.value.key == "algorithm.modules[1].type"


def test_missing_required_module(toy_job):
    job = toy_job(algorithms={"nohem": [module("edgemodel", "JBToyEdge"), module("cloudmodel", "JBToyCloud")]})
    with pytest.raises(ConfigError, match="hard_example_mining"):
        parse_job(job)


def test_selected_dataitem_without_hyperparameters(toy_job):
    job = toy_job(rank={"sort_by": [{"JBToy Hits (count)": "descend"}],
                        "selected_dataitem": {"paradigms": ["all"], "modules": ["all"], "metrics": ["all"]}})
    with pytest.raises(ConfigError) as err:
        parse_job(job)
    assert err.value.key == "benchmarkingjob.rank.selected_dataitem.hyperparameters"


def test_unknown_module_alias_is_caught_before_running(toy_job):
    job = toy_job(algorithms={"typo": [module("edgemodel", "JBToyEdgeTypo"), module("cloudmodel", "JBToyCloud"),
                                       module("hard_example_mining", "JBToyThreshold")]})
    with pytest.raises(ConfigError) as err:
        resolve_plugins(parse_job(job))
    assert err.value.file == "./alg_typo.yaml" and err.value.key == "algorithm.modules[0].name"
    assert "Available:" in err.value.message and "JBToyEdge" in err.value.message


def test_cli_exit_code_2_and_message(toy_job, capsys):
    job = toy_job(job_extra={"bogus": 1})
    assert main(["run", job, "--no-progress", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert "benchmarkingjob.yaml" in err and "benchmarkingjob.bogus" in err


def test_cli_exit_code_1_when_a_case_fails(toy_job):
    job = toy_job(algorithms={"broken": [module("edgemodel", "JBToyEdge", {"fail_on": [1]}),
                                         module("cloudmodel", "JBToyCloud"),
                                         module("hard_example_mining", "JBToyThreshold")]})
    assert main(["run", job, "--no-progress", "--no-plot"]) == 1


def test_cli_exit_code_0(toy_job):
    assert main(["run", toy_job(), "--no-progress"]) == 0
