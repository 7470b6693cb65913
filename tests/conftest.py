"""Shared fixtures: a toy Ianvs job written into a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
import yaml

from runner_toyjob import TOY, TOY_ANSWERS, TOY_ROWS, _module


@pytest.fixture
def toy_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., str]:
    """Write a toy job into ``tmp_path`` (the CWD) and return the job file's relative path.

    Keyword arguments override pieces: ``mode``, ``algorithms`` (name -> module list),
    ``metrics`` (list of aliases), ``sort_by``, ``job_extra``, ``testenv_extra``.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("model_path", raising=False)

    def make(mode: str = "inference-then-mining", algorithms: dict[str, list[dict]] | None = None,
             metrics: list[str] | None = None, sort_by: list[dict] | None = None,
             job_extra: dict | None = None, testenv_extra: dict | None = None, rank: dict | None = None) -> str:
        (tmp_path / "data").mkdir(exist_ok=True)
        with open(tmp_path / "data" / "test.jsonl", "w") as fh:
            for row, ans in zip(TOY_ROWS, TOY_ANSWERS):
                fh.write(json.dumps({"question": row, "answer": ans}) + "\n")
        (tmp_path / "data" / "train.jsonl").write_text("")
        metrics = metrics or ["JBToy Hits (count)"]
        env = {"testenv": {"hard_example_mining_mode": mode,
                           "dataset": {"train_data": "./data/train.jsonl", "test_data": "./data/test.jsonl"},
                           "metrics": [{"name": m, "url": str(TOY)} for m in metrics],
                           **(testenv_extra or {})}}
        (tmp_path / "testenv.yaml").write_text(yaml.safe_dump(env, sort_keys=False))
        algorithms = algorithms or {"toy": [_module("edgemodel", "JBToyEdge"), _module("cloudmodel", "JBToyCloud"),
                                            _module("hard_example_mining", "JBToyThreshold", {"threshold": [0.5]})]}
        entries = []
        for name, modules in algorithms.items():
            alg_file = f"alg_{name}.yaml"
            (tmp_path / alg_file).write_text(yaml.safe_dump(
                {"algorithm": {"paradigm_type": "jointinference", "modules": modules}}, sort_keys=False))
            entries.append({"name": name, "url": f"./{alg_file}"})
        job = {"benchmarkingjob": {"name": "toyjob", "workspace": "./ws", "testenv": "./testenv.yaml",
                                   "test_object": {"type": "algorithms", "algorithms": entries},
                                   "rank": rank or {"sort_by": sort_by or [{metrics[0]: "descend"}],
                                                    "selected_dataitem": {"paradigms": ["all"], "modules": ["all"],
                                                                          "hyperparameters": ["all"],
                                                                          "metrics": ["all"]},
                                                    "save_mode": "selected_and_all"},
                                   **(job_extra or {})}}
        (tmp_path / "benchmarkingjob.yaml").write_text(yaml.safe_dump(job, sort_keys=False))
        return "benchmarkingjob.yaml"

    return make

