"""``jointbench run --jobs N``: the same results in the same order, failures isolated, nothing left behind."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from runner_toyjob import module
from prochelpers import descendants, process_gone

from jointbench.cli import main
from jointbench.runner.job import run_job
from jointbench.runner.parallel import check_jobs
from jointbench.workers import PARALLEL_ENV, fork_map, in_parallel_worker

REPO = Path(__file__).resolve().parents[1]
RANK = "ws/toyjob/rank/all_rank.csv"


def _grid(n: int, edge: str = "JBToyEdge", edge_hps: dict | None = None) -> list[dict]:
    return [module("edgemodel", edge, edge_hps), module("cloudmodel", "JBToyCloud"),
            module("hard_example_mining", "JBToyThreshold", {"threshold": [round(0.1 * (i + 1), 2) for i in range(n)]})]


def _rank_without_times() -> pd.DataFrame:
    return pd.read_csv(RANK).drop(columns=["time", "url"])


def _case_lines(text: str) -> list[str]:
    return [re.sub(r" done in [0-9.]+ s", "", line) for line in text.splitlines() if re.match(r"\[\d+/\d+\]", line)]


def test_two_workers_give_the_sequential_rank_and_output(toy_job):
    job = toy_job(algorithms={"a": _grid(4), "b": _grid(3, edge_hps={"offset": [5]})})
    seq_out = io.StringIO()
    run_job(job, progress=False, out=seq_out)
    sequential = _rank_without_times()
    os.rename("ws", "ws-sequential")
    par_out = io.StringIO()
    run_job(job, progress=False, out=par_out, jobs=2)
    assert "2 worker processes" in par_out.getvalue()
    pd.testing.assert_frame_equal(_rank_without_times(), sequential)
    assert _case_lines(par_out.getvalue()) == _case_lines(seq_out.getvalue())  # same lines, same order
    assert len(_case_lines(par_out.getvalue())) == 7


def test_a_worker_that_dies_fails_its_case_and_the_job_goes_on(toy_job):
    job = toy_job(algorithms={"crash": _grid(1, "JBToyHardExitEdge", {"exit_on": [1]}), "ok": _grid(3)})
    out = io.StringIO()
    outcome = run_job(job, progress=False, out=out, jobs=2)
    crashed = [f for f in outcome.failures if f.case.algorithm == "crash"]
    assert len(crashed) == 1 and "worker process running it died" in crashed[0].error
    assert os.path.isfile(os.path.join(crashed[0].url, "error.txt"))
    ranked = pd.read_csv(RANK)
    # the dead worker may take a neighbour down with it; every case not reported failed is ranked
    assert len(ranked) + len(outcome.failures) == 4 and set(ranked["algorithm"]) <= {"ok"}
    assert len(ranked) >= 2


def test_sigkill_of_the_run_leaves_no_worker_and_sigterm_saves_the_rank(toy_job):
    # enough cases that the run is still busy when the signal arrives, even on a loaded machine
    job = toy_job(algorithms={"slow": _grid(40, "JBToySlowEdge", {"delay_s": [0.3]})})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests" / "fixtures" / "toyplugins")]))
    cmd = [sys.executable, "-m", "jointbench", "run", job, "--no-progress", "--no-plot", "--jobs", "2"]
    for sig in (signal.SIGKILL, signal.SIGTERM):
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 60
        while not _finished("ws/toyjob"):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        workers = _workers(proc.pid)
        assert len(workers) == 2, workers
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == (-9 if sig == signal.SIGKILL else 128 + sig), (out, err)
        deadline = time.monotonic() + 10
        while not all(process_gone(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert all(process_gone(pid) for pid in workers), "a worker outlived the run"
        if sig == signal.SIGTERM:
            assert "Traceback" not in err and "interrupted after" in out
            assert main(["rank", "ws/toyjob"]) == 0
            urls = [os.path.basename(u) for u in pd.read_csv(RANK)["url"]]
            done = [p.parent.name for p in _finished("ws/toyjob")]
            assert sorted(urls) == sorted(set(urls)) and set(urls) == set(done)  # each finished case once
        else:
            subprocess.run(["rm", "-rf", "ws"], check=True)


def _finished(job_dir: str) -> list[Path]:
    """``case.json`` of the finished case folders (not those still being built under a hidden name)."""
    return [p for p in Path(job_dir).glob("*/*/case.json") if not p.parent.name.startswith(".")]


def _forked(pid: int) -> list[int]:
    """Children of ``pid`` running its own command line (forked workers; not a ``git`` it runs)."""
    def cmdline(p: int) -> bytes | None:
        try:
            with open(f"/proc/{p}/cmdline", "rb") as fh:
                return fh.read()
        except OSError:
            return None

    own = cmdline(pid)
    return [k for k in descendants(pid) if not process_gone(k) and cmdline(k) == own]


def _workers(pid: int) -> list[int]:
    """The run's worker processes, once both are up (or what is there after 10 s)."""
    deadline = time.monotonic() + 10
    kids = _forked(pid)
    while len(kids) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        kids = _forked(pid)
    return kids


def test_jobs_must_be_a_positive_integer(toy_job, capsys):
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="jobs must be an integer >= 1"):
            check_jobs(bad)  # type: ignore[arg-type]
    assert check_jobs(3) == 3
    job = toy_job()
    with pytest.raises(SystemExit) as exc:
        main(["run", job, "--jobs", "0"])
    assert exc.value.code == 2 and "expected an integer >= 1" in capsys.readouterr().err


def test_fork_map_keeps_order_raises_and_marks_nothing_here():
    assert fork_map([lambda i=i: (i, os.getpid()) for i in range(5)], 1) == [(i, os.getpid()) for i in range(5)]
    results = fork_map([lambda i=i: (i, os.getpid()) for i in range(5)], 2)
    assert [r[0] for r in results] == list(range(5)) and os.getpid() not in {r[1] for r in results}

    def boom():
        raise RuntimeError("figure failed")

    with pytest.raises(RuntimeError, match="figure failed"):
        fork_map([lambda: 1, boom], 2)
    assert not in_parallel_worker()


def test_a_module_that_times_real_work_refuses_to_run_in_a_worker(toy_job):
    job = toy_job(algorithms={"timed": _grid(2, "JBToyTimedEdge")})
    assert not run_job(job, progress=False, out=io.StringIO()).failures  # control: one at a time it runs
    outcome = run_job(job, progress=False, out=io.StringIO(), jobs=2)
    assert len(outcome.failures) == 2
    assert all("the toy timed edge times real work" in f.error and "--jobs 1" in f.error for f in outcome.failures)
    assert not in_parallel_worker() and PARALLEL_ENV not in os.environ  # the parent is not marked
