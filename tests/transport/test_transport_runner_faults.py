"""A jointbench job with ``transport: tcp`` whose cloud process is killed mid-session.

Three test cases (edge-cloud, K = 1, 2, 3, tiny pair); the cloud of the second is SIGKILLed in the
middle of its second query. That case must fail with an error naming the service, the other two
must be ranked, the job must finish, and no process may be left behind. And a job stopped by
SIGTERM or Ctrl-C (SIGINT) while a case runs leaves no cloud process either.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from sd_tiny_job import write_tiny_testenv

from jointbench.runner.job import run_job
from jointbench.specdec.transport import remote as remote_mod

from prochelpers import default_sigint, descendants, process_gone

REPO = Path(__file__).resolve().parents[2]
SD = REPO / "testalgorithms" / "specdec"


def _job(tmp: Path) -> Path:
    prompts, _ = write_tiny_testenv(tmp)
    grid = {"strategy": ["edge_cloud"], "policy": ["fixed"], "k": [1, 2, 3], "pair": ["tiny-random"],
            "max_new_tokens": [12], "chat": [False], "prompts_file": [str(prompts)], "transport": ["tcp"],
            "network_rtt_ms": [10]}
    alg = {"algorithm": {"paradigm_type": "jointinference", "modules": [
        {"type": "edgemodel", "name": "SDSessionEdgeModel", "url": str(SD / "sd_edge_model.py"),
         "hyperparameters": [{k: {"values": v}} for k, v in grid.items()]},
        {"type": "cloudmodel", "name": "SDTargetService", "url": str(SD / "sd_cloud_model.py")},
        {"type": "hard_example_mining", "name": "SDNoMining", "url": str(SD / "sd_hard_example_mining.py")},
    ]}}
    (tmp / "tcp.yaml").write_text(yaml.safe_dump(alg))
    job = {"benchmarkingjob": {"name": "sdtcp", "workspace": str(tmp / "ws"), "testenv": str(tmp / "testenv.yaml"),
                               "test_object": {"type": "algorithms",
                                               "algorithms": [{"name": "tcp", "url": str(tmp / "tcp.yaml")}]},
                               "rank": {"sort_by": [{"Throughput P50 (tokens/s)": "descend"}],
                                        "visualization": {"mode": "selected_only", "method": "print_table"},
                                        "selected_dataitem": {"paradigms": ["all"], "modules": ["all"],
                                                              "hyperparameters": ["all"], "metrics": ["all"]},
                                        "save_mode": "selected_and_all"}}}
    (tmp / "job.yaml").write_text(yaml.safe_dump(job))
    return tmp / "job.yaml"


def test_a_cloud_killed_mid_session_fails_its_case_and_the_job_goes_on(tmp_path, monkeypatch) -> None:
    services: list[int] = []
    seen_alive: list[bool] = []
    original = remote_mod.RemoteCloud.query

    def query(self, strategy, prompt_ids, max_new_tokens, loaded, seed=0):
        real, source = original(self, strategy, prompt_ids, max_new_tokens, loaded, seed)
        if self.service.pid not in services:
            services.append(self.service.pid)
        seen_alive.append(self.service.pid in descendants(os.getpid()))  # control of the orphan check
        if len(services) == 2 and seed == 1:  # case 2, query 2: kill the cloud before its 2nd cycle
            step, service = source.next_cycle, self.service

            def next_cycle(k):
                if len(source.marks) == 1:
                    service.kill()
                return step(k)

            source.next_cycle = next_cycle
        return real, source

    monkeypatch.setattr(remote_mod.RemoteCloud, "query", query)
    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(REPO)
    job = _job(tmp_path)
    outcome = run_job(str(job), progress=False, out=open(os.devnull, "w"))

    assert len(services) == 3 and all(seen_alive)
    assert len(outcome.failures) == 1
    failure = outcome.failures[0]
    assert failure.case.index == 1
    assert "transport tcp: the cloud service failed a request (CloudUnavailable" in failure.error
    assert "exited with code -9" in failure.error and "cloud_server" in failure.error
    board = outcome.leaderboard
    assert board is not None and sorted(board["edgemodel-k"].astype(int)) == [1, 3]
    assert all(process_gone(pid) for pid in services)
    assert descendants(os.getpid()) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_job_stops_its_cloud_process(tmp_path, sig) -> None:
    job = _job(tmp_path)
    env = {**os.environ, "JOINTBENCH_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    runner = subprocess.Popen([sys.executable, "-m", "jointbench", "run", "--no-progress", str(job)], cwd=REPO,
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=default_sigint)
    try:
        clouds: list[int] = []
        deadline = time.monotonic() + 240.0
        while not clouds and time.monotonic() < deadline and runner.poll() is None:
            clouds = [p for p in descendants(runner.pid) if "cloud_server" in _cmdline(p)]
            time.sleep(0.1)
        assert clouds, "the job never started its cloud service"  # control: the check sees it
        runner.send_signal(sig)
        assert runner.wait(timeout=120) == 128 + sig
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    assert all(process_gone(pid) for pid in clouds)  # (an orphan would be re-parented, so check the pids)


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
