"""Run a whole benchmarking job: validate, run each test case, save, rank, print.

Order: parse and validate the YAMLs, import every plugin, load and check the test set
once, check the workspace, construct every module of every grid point (all before the
first sample: an invalid job exits 2 having run nothing); then, holding the job folder's
lock, run the test cases. Each finished case's folder is written atomically at once; the
rank CSVs are rewritten every few seconds and always at the end, also after Ctrl-C,
SIGTERM or SIGHUP. A failing case is recorded and the next one runs, unless the same
error ends ``max_repeated_failures`` cases in a row; a workspace that stops accepting
writes ends the job with one message.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import sys
import time
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, Callable, TextIO

import pandas as pd

from jointbench.registry import ClassType
from jointbench.runner.casefiles import case_record, full_records_requested, write_case, write_error
from jointbench.runner.config import parse_job
from jointbench.runner.datasource import DataSource
from jointbench.runner.envinfo import environment
from jointbench.runner.errors import ConfigError, RunnerError
from jointbench.runner.heap import frozen_between_cases, settle
from jointbench.runner.loader import get_registered
from jointbench.runner.lock import job_lock
from jointbench.runner.parallel import check_jobs, ordered_results
from jointbench.runner.paradigm import run_test_case
from jointbench.runner.plaincopy import copy_inputs
from jointbench.runner.rank import RankRow, RankWriter
from jointbench.runner.signals import Interrupted, deferred_signals, stop_on_signals
from jointbench.runner.spec import SYSTEM_METRICS, JobSpec, TestCaseSpec
from jointbench.runner.validate import check_workspace, load_checked_test_set, validate_modules

MAX_PRINTED_ROWS = 40
#: Consecutive test cases ended by the same error before the job stops.
MAX_REPEATED_FAILURES = 3


class WorkspaceError(RunnerError):
    """The workspace stopped accepting writes (full disk, permissions); the job stops."""


@dataclass
class CaseFailure:
    """A test case that raised; its traceback is saved under ``url``."""

    case: TestCaseSpec
    error: str
    url: str
    signature: tuple[str, str] = ("", "")


@dataclass
class JobOutcome:
    """What a run produced."""

    spec: JobSpec
    rank_dir: str
    leaderboard: pd.DataFrame | None
    failures: list[CaseFailure] = field(default_factory=list)
    n_done: int = 0
    stopped: str | None = None


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


def leaderboard_view(selected: pd.DataFrame, metric_names: list[str]) -> pd.DataFrame:
    """The printed leaderboard: algorithm, metrics and the hyperparameters that vary."""
    hp_cols = [c for c in selected.columns if "-" in c and c not in metric_names
               and selected[c].astype(str).nunique() > 1]
    cols = ["algorithm", *[m for m in metric_names if m in selected.columns], *hp_cols]
    return selected[cols]


def _root_cause(err: BaseException) -> BaseException:
    while err.__cause__ is not None:
        err = err.__cause__
    return err


@dataclass
class _Context:
    spec: JobSpec
    metrics: dict[str, Callable[..., Any]]
    dataset: DataSource
    job_file: str
    progress: bool
    full_records: bool
    writer: RankWriter
    out: TextIO


def _workspace_error(url: str, err: OSError, ctx: _Context) -> WorkspaceError:
    return WorkspaceError(f"cannot write results to {url}: {err.strerror or err}. Free disk space or make "
                          f"the workspace writable, then rerun; the test cases finished so far are kept "
                          f"(rank: {ctx.writer.rank_dir}, `jointbench rank {ctx.spec.job_dir}` rebuilds it)")


def _copy_dataset(dataset: DataSource) -> DataSource:
    """A deep copy of the test set for one test case (its ``dataset_processor`` may change it)."""
    if type(dataset) is not DataSource:
        return copy.deepcopy(dataset)
    return DataSource(copy_inputs(dataset.x), copy.deepcopy(dataset.y), dataset.data_type)


def _label(ctx: _Context, case: TestCaseSpec) -> str:
    return f"[{case.index + 1}/{len(ctx.spec.test_cases)}] {case.algorithm}"


def _failed(ctx: _Context, case: TestCaseSpec, url: str, error: str, details: str,
            signature: tuple[str, str]) -> CaseFailure:
    """Write a failed case's ``error.txt`` (``details``), print one line, return its :class:`CaseFailure`."""
    try:
        write_error(url, details)
    except OSError as os_err:
        raise _workspace_error(url, os_err, ctx) from os_err
    print(f"{_label(ctx, case)} FAILED: {error} (traceback: {url}/error.txt)", file=ctx.out)
    return CaseFailure(case, error, url, signature)


def _run_case(ctx: _Context, case: TestCaseSpec) -> RankRow | CaseFailure:
    """Run one test case and write its folder; a failure is returned, not raised."""
    spec, out = ctx.spec, ctx.out
    result_saved_url = os.path.join(spec.job_dir, case.algorithm)
    url = os.path.join(result_saved_url, str(uuid.uuid1()))
    label = _label(ctx, case)
    started = time.perf_counter()
    provenance: dict[str, Any] = {}
    try:
        y_pred = run_test_case(case, spec.testenv, result_saved_url, ctx.progress, label,
                               dataset=_copy_dataset(ctx.dataset), provenance=provenance)
        values = compute_metrics(ctx.metrics, copy.deepcopy(ctx.dataset.y), y_pred)
    except (Exception, SystemExit) as err:  # a failing case is reported and the next one runs
        root = _root_cause(err)
        if isinstance(err, SystemExit):
            err = RunnerError(f"a module called sys.exit({err.code!r}); the test case counts as failed")
        return _failed(ctx, case, url, f"{type(err).__name__}: {err}", traceback.format_exc(),
                       (type(root).__name__, str(root)))
    env = environment(case.hyperparameter_columns())
    env.update({"job_file": ctx.job_file, "algorithm": case.algorithm, "test_case_index": case.index,
                "mode": spec.testenv.mode, "wall_time_s": round(time.perf_counter() - started, 3),
                "n_samples": len(y_pred), "records": "full" if ctx.full_records else "compact",
                "provenance": provenance})
    row = RankRow.from_case(case, values, time.strftime("%Y-%m-%d %H:%M:%S"), url)
    try:
        write_case(url, y_pred, values, env, case_record(row, list(ctx.metrics), spec.rank), ctx.full_records)
    except OSError as err:
        raise _workspace_error(url, err, ctx) from err
    shown = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items())
    print(f"{label} done in {env['wall_time_s']:.1f} s: {shown}", file=out)
    return row


def _worker_died(ctx: _Context, case: TestCaseSpec, why: str) -> CaseFailure:
    """The failure of a test case whose worker process died (``--jobs N``)."""
    url = os.path.join(ctx.spec.job_dir, case.algorithm, str(uuid.uuid1()))
    return _failed(ctx, case, url, f"RunnerError: {why}", f"RunnerError: {why}\n", ("RunnerError", why))


def _case_results(ctx: _Context, jobs: int) -> Iterator[RankRow | CaseFailure]:
    """Each test case's outcome in order: run here (``jobs`` = 1) or by ``jobs`` forked workers."""
    cases = ctx.spec.test_cases
    if jobs == 1:
        for case in cases:
            settle()  # earlier cases' survivors are not rescanned by this case's collections
            yield _run_case(ctx, case)
        return

    def work(index: int, out: io.StringIO) -> RankRow | CaseFailure:
        settle()
        return _run_case(replace(ctx, out=out, progress=False), cases[index])

    settle()  # the workers start from a frozen heap: their collections skip it, so pages stay shared
    print(f"[jointbench] {min(jobs, len(cases))} worker processes run the test cases; results in order",
          file=ctx.out)
    results = ordered_results(len(cases), work, jobs, lambda i, why: _worker_died(ctx, cases[i], why))
    with contextlib.closing(results):
        for finished, text in results:
            ctx.out.write(text)
            yield finished


def _run_cases(ctx: _Context, outcome: JobOutcome, max_repeated_failures: int, jobs: int = 1) -> None:
    streak = 0
    with contextlib.closing(_case_results(ctx, jobs)) as results:
        for finished in results:
            outcome.n_done += 1
            if isinstance(finished, RankRow):
                streak = 0
                ctx.writer.add(finished, force=False)
                continue
            last = outcome.failures[-1].signature if outcome.failures else None
            streak = streak + 1 if streak and finished.signature == last else 1
            outcome.failures.append(finished)
            if streak >= max_repeated_failures:
                outcome.stopped = (f"stopped: the same error ended {streak} test cases in a row "
                                   f"({finished.signature[0]}: {finished.signature[1]}); fix it and rerun "
                                   f"({len(ctx.spec.test_cases) - outcome.n_done} test case(s) not run)")
                print(outcome.stopped, file=ctx.out)
                return


def _final_save(ctx: _Context, outcome: JobOutcome) -> str:
    """Write the rank CSVs a last time; return what to tell the user about it."""
    try:
        if ctx.writer.rows or ctx.writer.n_added_back:
            outcome.leaderboard = ctx.writer.save()
        return f"rank saved to {ctx.writer.rank_dir}"
    except OSError as err:
        return (f"the rank could not be saved ({err.strerror or err}); `jointbench rank {ctx.spec.job_dir}` "
                f"rebuilds it from the finished case folders")


def run_job(job_file: str, *, progress: bool = True, out: TextIO | None = None,
            full_records: bool | None = None, wait_s: float = 0.0,
            max_repeated_failures: int = MAX_REPEATED_FAILURES, jobs: int = 1) -> JobOutcome:
    """Validate and run ``job_file``; save each finished test case at once.

    Parameters
    ----------
    job_file : str
        ``benchmarkingjob.yaml``, relative to the CWD as in Ianvs.
    progress : bool
        Show a tqdm bar per test case.
    out : file-like, optional
        Where to print progress lines and the leaderboard (default stdout).
    full_records : bool, optional
        Full per-sample records instead of compact ones (default: ``$JOINTBENCH_FULL_RECORDS``).
    wait_s : float
        How long to wait for another run holding the job folder (0: refuse at once).
    max_repeated_failures : int
        Stop when the same error ends this many consecutive test cases.
    jobs : int
        Test cases run at once by forked worker processes (1: one after another, as Ianvs does;
        see :mod:`jointbench.runner.parallel`). Results, rank and output order do not depend on it.

    Raises
    ------
    ConfigError
        Before the first sample, if any file, key, value, module, metric or the test set is invalid.
    WorkspaceBusy
        If another run holds the job folder.
    WorkspaceError
        If the workspace stops accepting writes during the run.
    KeyboardInterrupt
        On Ctrl-C, SIGTERM or SIGHUP (:class:`jointbench.runner.signals.Interrupted`),
        after saving the rank.
    """
    out = out or sys.stdout
    jobs = check_jobs(jobs)
    spec = parse_job(job_file)
    metrics = resolve_plugins(spec)
    dataset = load_checked_test_set(spec)
    check_workspace(spec)
    validate_modules(spec, dataset)
    full = full_records_requested() if full_records is None else bool(full_records)
    with job_lock(spec.job_dir, wait_s), stop_on_signals():
        writer = RankWriter(spec.rank, spec.job_dir, list(metrics), out=out)
        ctx = _Context(spec, metrics, dataset, job_file, progress, full, writer, out)
        outcome = JobOutcome(spec, writer.rank_dir, None)
        print(f"[jointbench] job '{spec.name}': {len(spec.test_cases)} test case(s), mode {spec.testenv.mode}, "
              f"workspace {spec.job_dir}", file=out)
        interrupted = False
        try:
            with frozen_between_cases():
                _run_cases(ctx, outcome, max_repeated_failures, jobs)
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            with deferred_signals() as late:  # a signal now must not cut the last save short
                saved = _final_save(ctx, outcome)
            if interrupted or late:
                print(f"interrupted after {outcome.n_done} of {len(spec.test_cases)} test cases; {saved}", file=out)
            if late and not interrupted:
                raise Interrupted(late[0])
    _print_summary(outcome, writer, list(metrics), out)
    return outcome


def _print_summary(outcome: JobOutcome, writer: RankWriter, metric_names: list[str], out: TextIO) -> None:
    if outcome.leaderboard is not None:
        view = leaderboard_view(outcome.leaderboard, metric_names)
        with pd.option_context("display.max_columns", None, "display.width", 200,
                               "display.float_format", "{:.4g}".format):
            more = f"\n... {len(view) - MAX_PRINTED_ROWS} more rows in the CSV" if len(view) > MAX_PRINTED_ROWS else ""
            print(f"\nLeaderboard ({writer.selected_file}):\n{view.head(MAX_PRINTED_ROWS).to_string()}{more}",
                  file=out)
    if outcome.failures:
        print(f"\n{len(outcome.failures)} test case(s) failed; the others are ranked:", file=out)
        for f in outcome.failures:
            print(f"  - {f.case.algorithm} {f.case.hyperparameter_columns()}: {f.error}", file=out)
