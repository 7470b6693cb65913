"""Plots are drawn from the rank CSVs; doctor reports; plugin files stay runner-free."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from jointbench.cli import main
from jointbench.plots import plot_workspace

REPO = Path(__file__).resolve().parents[1]


def test_plot_from_rank_csv(toy_job, tmp_path):
    assert main(["run", toy_job(), "--no-progress", "--no-plot"]) == 0
    paths = plot_workspace("ws")
    assert len(paths) == 1 and paths[0].endswith("toyjob_metrics.png")
    assert os.path.getsize(paths[0]) > 1000
    with open(paths[0], "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_tradeoff_plot_uses_metrics_from_csv(tmp_path):
    rank = tmp_path / "job" / "rank"
    rank.mkdir(parents=True)
    pd.DataFrame({"algorithm": ["a", "a", "b"], "Accuracy (%)": [60.0, 70.0, 73.0],
                  "Deferral rate (%)": [10.0, 50.0, 100.0], "paradigm": "jointinference",
                  "hard_example_mining-threshold": [0.3, 0.6, 0.0], "time": ["t1", "t2", "t3"],
                  "url": ["u1", "u2", "u3"]}).to_csv(rank / "all_rank.csv", index_label="rank")
    paths = plot_workspace(str(tmp_path))
    assert any(p.endswith("job_accuracy_vs_deferral_rate.png") for p in paths)


def test_plot_cli_errors_without_rank(tmp_path, capsys):
    assert main(["plot", str(tmp_path)]) == 1
    assert "all_rank.csv" in capsys.readouterr().err


def test_doctor_reports(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "sedna" in out and "TeleQnA 4-option data" in out


def test_plugin_files_have_no_runner_code():
    files = list((REPO / "testalgorithms").rglob("*.py")) + list((REPO / "testenv").rglob("*.py"))
    assert files
    for f in files:
        text = f.read_text()
        assert "jointbench.runner" not in text, f


def test_plugin_basenames_are_unique():
    files = list((REPO / "testalgorithms").rglob("*.py")) + list((REPO / "testenv").rglob("*.py"))
    names = [f.stem for f in files]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_edge_models_follow_ianvs_quirks():
    import importlib.util

    for f in (REPO / "testalgorithms").rglob("*edge*.py"):
        spec = importlib.util.spec_from_file_location(f.stem, f)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name in getattr(module, "__all__", []):
            cls = getattr(module, name)
            assert not callable(cls.__dict__.get("__call__")), f"{name} defines __call__ (contract C19)"
            params = list(__import__("inspect").signature(cls.predict).parameters)
            assert params[:2] == ["self", "data"] and "kwargs" in params, f"{name}.predict signature {params}"
