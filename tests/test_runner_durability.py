"""Nothing lost (issue 10, failures 1, 2, 3 and 6): atomic files, a damaged history, the rank rebuild,
signals, the job lock, an unwritable workspace."""

from __future__ import annotations

import errno
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from runner_toyjob import module

from jointbench.cli import main
from jointbench.runner.job import run_job

REPO = Path(__file__).resolve().parents[1]
RANK = "ws/toyjob/rank/all_rank.csv"
DEVNULL = open(os.devnull, "w")


def _grid(n: int, edge: str = "JBToyEdge", edge_hps: dict | None = None) -> dict:
    return {"toy": [module("edgemodel", edge, edge_hps), module("cloudmodel", "JBToyCloud"),
                    module("hard_example_mining", "JBToyThreshold", {"threshold": [round(0.1 * (i + 1), 2)
                                                                                   for i in range(n)]})]}


def _case_dirs() -> set[str]:
    return {p.parent.name for p in Path("ws/toyjob").glob("*/*/case.json") if not p.parent.name.startswith(".")}


def _ranked() -> list[str]:
    return [os.path.basename(u) for u in pd.read_csv(RANK)["url"]]


# ---- 1. atomic rank CSVs and a damaged history -----------------------------------------------------------

def test_crash_while_writing_the_rank_keeps_the_old_file(toy_job, monkeypatch):
    job = toy_job(algorithms=_grid(2))
    run_job(job, progress=False, out=DEVNULL)
    before = Path(RANK).read_bytes()
    from jointbench.runner.rank import RankWriter
    from jointbench.runner.config import parse_job

    spec = parse_job(job)
    writer = RankWriter(spec.rank, spec.job_dir, ["JBToy Hits (count)"])
    writer.rows.append(writer.rows[0] if writer.rows else _fake_row(spec))

    def disk_error(fd):
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", disk_error)
    with pytest.raises(OSError):
        writer.save()
    assert Path(RANK).read_bytes() == before  # the write went to a temp file that was dropped
    assert not [p for p in Path("ws/toyjob/rank").iterdir() if p.name.endswith(".tmp")]


def _fake_row(spec):
    from jointbench.runner.rank import RankRow

    return RankRow.from_case(spec.test_cases[0], {"JBToy Hits (count)": 1.0}, "2026-01-01 00:00:00", "ws/x/y/z")


@pytest.mark.parametrize("damage", ["empty", "cut_mid_row", "wrong_header"])
def test_damaged_history_is_set_aside_and_cases_recovered(toy_job, damage):
    job = toy_job(algorithms=_grid(3))
    run_job(job, progress=False, out=DEVNULL)
    text = Path(RANK).read_text()
    damaged = {"empty": "", "cut_mid_row": text[: text.rindex(",") - 3],
               "wrong_header": "a,b\n1,2\n"}[damage]
    Path(RANK).write_text(damaged)
    out = io.StringIO()
    run_job(job, progress=False, out=out)  # no crash
    aside = list(Path("ws/toyjob/rank").glob("all_rank.csv.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_text() == damaged
    assert str(aside[0]) in out.getvalue() and "unreadable" in out.getvalue()
    df = pd.read_csv(RANK)
    assert not df.isna().any().any()  # nothing merged as NaN
    assert sorted(_ranked()) == sorted(_case_dirs()) and len(df) == 6  # 3 recovered + 3 new, each once


def test_intact_history_is_not_set_aside(toy_job):
    job = toy_job(algorithms=_grid(2))
    run_job(job, progress=False, out=DEVNULL)
    run_job(job, progress=False, out=DEVNULL)
    assert not list(Path("ws/toyjob/rank").glob("*.corrupt-*")) and len(pd.read_csv(RANK)) == 4


# ---- 2. the rank rebuilt from the case folders -------------------------------------------------------------

def test_rank_command_rebuilds_missing_rows_exactly_once(toy_job, capsys):
    job = toy_job(algorithms=_grid(4))
    run_job(job, progress=False, out=DEVNULL)
    full = pd.read_csv(RANK)
    # as if killed before the last save: two rows missing, and one listed twice
    pd.concat([full.iloc[:2], full.iloc[:1]]).to_csv(RANK, index=False)
    os.remove("ws/toyjob/rank/selected_rank.csv")
    assert main(["rank", "ws/toyjob"]) == 0
    rebuilt = pd.read_csv(RANK)
    assert sorted(_ranked()) == sorted(_case_dirs()) and len(rebuilt) == 4
    pd.testing.assert_frame_equal(rebuilt.drop(columns="rank"), full.drop(columns="rank"))
    assert os.path.isfile("ws/toyjob/rank/selected_rank.csv")
    assert main(["rank", "ws/toyjob"]) == 0 and len(pd.read_csv(RANK)) == 4  # idempotent


def test_rank_command_without_cases_says_so(tmp_path, capsys):
    assert main(["rank", str(tmp_path)]) == 1
    assert "no finished test case" in capsys.readouterr().err


def test_failed_case_folder_is_not_ranked(toy_job):
    job = toy_job(algorithms={"bad": _grid(1, edge_hps={"fail_on": [0]})["toy"], "ok": _grid(1)["toy"]})
    run_job(job, progress=False, out=DEVNULL)
    assert main(["rank", "ws/toyjob"]) == 0
    assert list(pd.read_csv(RANK)["algorithm"]) == ["ok"]


# ---- 2. SIGTERM / SIGHUP like Ctrl-C -------------------------------------------------------------------------

def _spawn(job: str, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "tests" / "fixtures" / "toyplugins")]))
    return subprocess.Popen([sys.executable, "-m", "jointbench", "run", job, "--no-progress", "--no-plot", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_for_cases(n: int, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while len(_case_dirs()) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_saves_every_finished_case(toy_job, sig):
    job = toy_job(algorithms=_grid(12, "JBToySlowEdge", {"delay_s": [0.1]}))
    proc = _spawn(job)
    _wait_for_cases(2, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, (out, err)
    assert "Traceback" not in err
    lines = [line for line in out.splitlines() if line.startswith("interrupted after")]
    assert len(lines) == 1 and "of 12 test cases; rank saved to ./ws/toyjob/rank" in lines[0]
    assert sorted(_ranked()) == sorted(_case_dirs())  # every finished case is ranked, once


# ---- 3. one run per job folder ----------------------------------------------------------------------------

def test_second_run_into_a_busy_workspace_is_refused(toy_job, capsys):
    from jointbench.runner.lock import WorkspaceBusy, job_lock

    job = toy_job(algorithms=_grid(2))
    with job_lock("ws/toyjob"):
        with pytest.raises(WorkspaceBusy, match="is in use by pid"):
            run_job(job, progress=False, out=DEVNULL)
        assert main(["run", job, "--no-progress", "--no-plot"]) == 2
        assert "--wait" in capsys.readouterr().err
    assert not _case_dirs()
    run_job(job, progress=False, out=DEVNULL)  # control: free again
    assert len(_case_dirs()) == 2


def test_two_concurrent_runs_lose_no_rows(toy_job):
    job = toy_job(algorithms=_grid(8, "JBToySlowEdge", {"delay_s": [0.12]}))  # about 4 s
    first = _spawn(job)
    _wait_for_cases(1, first)
    second = _spawn(job)
    waiter = _spawn(job, "--wait", "120")  # control: a waiting run goes after the first
    out2, err2 = second.communicate(timeout=60)
    assert first.poll() is None, "the first run ended before the second started: make it slower"
    first.communicate(timeout=60)
    assert first.returncode == 0 and second.returncode == 2 and "is in use" in err2
    assert waiter.wait(timeout=120) == 0
    assert len(_case_dirs()) == 16 and sorted(_ranked()) == sorted(_case_dirs())


# ---- 6. an unwritable workspace -----------------------------------------------------------------------------

def test_unwritable_workspace_exits_2_before_any_sample(toy_job, capsys):
    job = toy_job(algorithms=_grid(2))
    Path("ws").write_text("a file where the workspace folder should be")
    assert main(["run", job, "--no-progress", "--no-plot"]) == 2
    err = capsys.readouterr().err
    assert "benchmarkingjob.workspace" in err and "cannot write to ./ws/toyjob" in err and "Traceback" not in err


def test_full_disk_mid_run_stops_with_one_message_and_no_truncated_files(toy_job, monkeypatch, capsys):
    job = toy_job(algorithms=_grid(3))
    import jointbench.runner.job as job_module

    real = job_module.write_case
    calls = []

    def full_after_first(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr("jointbench.runner.job.write_case", full_after_first)
    assert main(["run", job, "--no-progress", "--no-plot"]) == 1
    err = capsys.readouterr().err
    assert err.count("No space left on device") == 1 and "Free disk space" in err and "Traceback" not in err
    assert len(_case_dirs()) == 1 and _ranked() == list(_case_dirs())
    assert not [p for p in Path("ws/toyjob").rglob("*") if p.name.endswith(".tmp")]


def test_case_folder_appears_whole_or_not_at_all(toy_job, monkeypatch):
    from jointbench.runner.job import WorkspaceError

    job = toy_job(algorithms=_grid(1))

    def disk_error(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_error)
    with pytest.raises(WorkspaceError):
        from jointbench.runner import validate

        monkeypatch.setattr(validate, "check_workspace", lambda spec: None)
        monkeypatch.setattr("jointbench.runner.job.check_workspace", lambda spec: None)
        run_job(job, progress=False, out=DEVNULL)
    assert not list(Path("ws/toyjob").rglob("records.jsonl"))  # no truncated records.jsonl


def test_half_written_case_folder_is_neither_ranked_nor_kept(toy_job):
    job = toy_job(algorithms=_grid(2))
    run_job(job, progress=False, out=DEVNULL)
    done = next(Path("ws/toyjob/toy").glob("*/case.json")).parent
    stale = Path("ws/toyjob/toy") / f".{done.name}x.abc.tmp"  # as a SIGKILL before the rename leaves it
    import shutil

    shutil.copytree(done, stale)
    assert main(["rank", "ws/toyjob"]) == 0
    assert not stale.exists() and len(pd.read_csv(RANK)) == 2
