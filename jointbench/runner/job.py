"""Run a whole benchmarking job: validate, run each test case, save, rank, print."""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, TextIO

import pandas as pd

from jointbench.registry import ClassType
from jointbench.runner.config import parse_job
from jointbench.runner.datasource import load_test_set
from jointbench.runner.envinfo import environment
from jointbench.runner.errors import ConfigError, RunnerError
from jointbench.runner.loader import get_registered
from jointbench.runner.paradigm import run_test_case
from jointbench.runner.rank import RankRow, RankWriter
from jointbench.runner.serialize import dumps
from jointbench.runner.spec import SYSTEM_METRICS, JobSpec, TestCaseSpec


MAX_PRINTED_ROWS = 40


@dataclass
class CaseFailure:
    """A test case that raised; its traceback is saved under ``url``."""

    case: TestCaseSpec
    error: str
    url: str


@dataclass
class JobOutcome:
    """What a run produced."""

    spec: JobSpec
    rank_dir: str
    leaderboard: pd.DataFrame | None
    failures: list[CaseFailure] = field(default_factory=list)


def resolve_plugins(spec: JobSpec) -> dict[str, Callable[..., Any]]:
    """Import every module and metric file and check each alias exists, before any sample runs.

    Returns
    -------
    dict
        Metric name to metric function, in testenv order.

    Raises
    ------
    ConfigError
        Naming the YAML file and key whose alias or file does not resolve.
    """
    for case in spec.test_cases:
        for i, (mtype, module) in enumerate(case.modules.items()):
            space = ClassType.HEM if mtype == "hard_example_mining" else ClassType.GENERAL
            try:
                get_registered(space, module.name, module.url)
            except RunnerError as err:
                raise ConfigError(case.algorithm_file, f"algorithm.modules[{i}].name", str(err)) from err
    metrics: dict[str, Callable[..., Any]] = {}
    for i, metric in enumerate(spec.testenv.metrics):
        try:
            metrics[metric.name] = get_registered(ClassType.GENERAL, metric.name, metric.url)  # type: ignore[assignment]
        except RunnerError as err:
            raise ConfigError(spec.testenv.file, f"testenv.metrics[{i}].name", str(err)) from err
    return metrics


def compute_metrics(metrics: dict[str, Callable[..., Any]], y_true: Any, y_pred: list[Any]) -> dict[str, Any]:
    """Call each metric as Ianvs does and insist on a hashable scalar (contract C21)."""
    out: dict[str, Any] = {}
    for name, fn in metrics.items():
        value = fn({}) if name in SYSTEM_METRICS else fn(y_true, y_pred)
        if hasattr(value, "item") and callable(value.item):
            value = value.item()
        if not isinstance(value, (int, float, str, bool)) and value is not None:
            raise RunnerError(f"metric '{name}' returned {type(value).__name__}; Ianvs's rank stage needs a "
                              "number (a dict crashes it, contract C14)")
        out[name] = value
    return out


def _write_case_files(case_dir: str, y_pred: list[Any], metrics: dict[str, Any], env: dict[str, Any]) -> None:
    os.makedirs(case_dir, exist_ok=True)
    with open(os.path.join(case_dir, "records.jsonl"), "w", encoding="utf-8") as fh:
        for i, (is_hard, result, edge, cloud) in enumerate(y_pred):
            fh.write(dumps({"index": i, "is_hard_example": is_hard, "result": result,
                            "edge_result": edge, "cloud_result": cloud}) + "\n")
    with open(os.path.join(case_dir, "metrics.json"), "w", encoding="utf-8") as fh:
        json.dump({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()},
                  fh, indent=2)
    with open(os.path.join(case_dir, "env.json"), "w", encoding="utf-8") as fh:
        fh.write(json.dumps(json.loads(dumps(env)), indent=2))


def leaderboard_view(selected: pd.DataFrame, metric_names: list[str]) -> pd.DataFrame:
    """The printed leaderboard: algorithm, metrics and the hyperparameters that vary."""
    hp_cols = [c for c in selected.columns if "-" in c and c not in metric_names
               and selected[c].astype(str).nunique() > 1]
    cols = ["algorithm", *[m for m in metric_names if m in selected.columns], *hp_cols]
    return selected[cols]


def _run_case(spec: JobSpec, case: TestCaseSpec, metrics: dict[str, Callable[..., Any]], job_file: str,
              progress: bool, out: TextIO) -> RankRow | CaseFailure:
    """Run one test case and write its folder; a failure is returned, not raised."""
    n = len(spec.test_cases)
    result_saved_url = os.path.join(spec.job_dir, case.algorithm)
    url = os.path.join(result_saved_url, str(uuid.uuid1()))
    label = f"[{case.index + 1}/{n}] {case.algorithm}"
    started = time.perf_counter()
    try:
        y_pred = run_test_case(case, spec.testenv, result_saved_url, progress, label)
        y_true = load_test_set(spec.testenv.test_file, spec.testenv.test_kind, "eval overall").y
        values = compute_metrics(metrics, y_true, y_pred)
    except Exception as err:  # a failing case is reported and the next one runs
        os.makedirs(url, exist_ok=True)
        with open(os.path.join(url, "error.txt"), "w", encoding="utf-8") as fh:
            fh.write(traceback.format_exc())
        print(f"{label} FAILED: {type(err).__name__}: {err} (traceback: {url}/error.txt)", file=out)
        return CaseFailure(case, f"{type(err).__name__}: {err}", url)
    env = environment(case.hyperparameter_columns())
    env.update({"job_file": job_file, "algorithm": case.algorithm, "test_case_index": case.index,
                "mode": spec.testenv.mode, "wall_time_s": round(time.perf_counter() - started, 3),
                "n_samples": len(y_pred)})
    _write_case_files(url, y_pred, values, env)
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    print(f"{label} done in {env['wall_time_s']:.1f} s: {shown}", file=out)
    return RankRow(case, values, time.strftime("%Y-%m-%d %H:%M:%S"), url)


def run_job(job_file: str, *, progress: bool = True, out: TextIO | None = None) -> JobOutcome:
    """Validate and run ``job_file``; save each finished test case at once.

    Parameters
    ----------
    job_file : str
        ``benchmarkingjob.yaml``, relative to the CWD as in Ianvs.
    progress : bool
        Show a tqdm bar per test case.
    out : file-like, optional
        Where to print progress lines and the leaderboard (default stdout).

    Raises
    ------
    ConfigError
        Before the first sample, if any file, key, value, module or metric alias is invalid.
    """
    out = out or sys.stdout
    spec = parse_job(job_file)
    metrics = resolve_plugins(spec)
    writer = RankWriter(spec.rank, spec.job_dir, list(metrics))
    outcome = JobOutcome(spec, writer.rank_dir, None)
    print(f"[jointbench] job '{spec.name}': {len(spec.test_cases)} test case(s), mode {spec.testenv.mode}, "
          f"workspace {spec.job_dir}", file=out)
    try:
        for case in spec.test_cases:
            finished = _run_case(spec, case, metrics, job_file, progress, out)
            if isinstance(finished, CaseFailure):
                outcome.failures.append(finished)
            else:
                writer.add(finished, force=False)
    finally:
        # Each case's metrics.json is already on disk; the rank CSVs are rewritten at
        # most every few seconds during a sweep and always here, even on Ctrl-C.
        if writer.rows:
            outcome.leaderboard = writer.save()
    if outcome.leaderboard is not None:
        view = leaderboard_view(outcome.leaderboard, list(metrics))
        with pd.option_context("display.max_columns", None, "display.width", 200,
                               "display.float_format", "{:.4g}".format):
            more = f"\n... {len(view) - MAX_PRINTED_ROWS} more rows in the CSV" if len(view) > MAX_PRINTED_ROWS else ""
            print(f"\nLeaderboard ({writer.selected_file}):\n{view.head(MAX_PRINTED_ROWS).to_string()}{more}",
                  file=out)
    if outcome.failures:
        print(f"\n{len(outcome.failures)} test case(s) failed; the others are ranked:", file=out)
        for f in outcome.failures:
            print(f"  - {f.case.algorithm} {f.case.hyperparameter_columns()}: {f.error}", file=out)
    return outcome
