"""Service lifecycle: readiness, clear start errors, no orphan after an exception or a signal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jointbench.specdec.transport.lifecycle import ServiceProcess, ServiceStartError

from prochelpers import default_sigint, process_gone

HERE = Path(__file__).parent
READY = "print('JOINTBENCH_CLOUD_READY port=4242 pid=0', flush=True)"


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def wait_gone(pid: int, within_s: float = 30.0) -> bool:
    """Poll until ``pid`` is gone (generous bound; returns False if it never goes)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.05)
    return process_gone(pid)


def test_ready_line_gives_the_port_and_exit_stops_the_process() -> None:
    with ServiceProcess(py(f"import time; {READY}; time.sleep(600)")) as svc:
        assert svc.port == 4242 and svc.running() and not process_gone(svc.pid)
    assert process_gone(svc.pid) and not svc.running()


def test_a_service_that_dies_names_command_code_and_stderr() -> None:
    cmd = py("import sys; sys.stderr.write('loading pair xyz: no such model\\n'); sys.exit(3)")
    with pytest.raises(ServiceStartError) as info:
        ServiceProcess(cmd, ready_timeout_s=60.0).start()
    text = str(info.value)
    assert "exit code 3" in text and "no such model" in text and "sys.exit(3)" in text


def test_a_service_that_never_gets_ready_times_out_and_is_stopped() -> None:
    svc = ServiceProcess(py("import sys, time; sys.stderr.write('still loading'); sys.stderr.flush(); time.sleep(600)"),
                         ready_timeout_s=1.0, stop_timeout_s=2.0)
    with pytest.raises(ServiceStartError, match="no readiness line within 1 s") as info:
        svc.start()
    assert "still loading" in str(info.value)
    assert process_gone(svc.pid)


def test_sigterm_ignoring_service_is_killed_after_the_grace_period() -> None:
    code = f"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); {READY}; time.sleep(600)"
    svc = ServiceProcess(py(code), stop_timeout_s=0.5)
    with svc:
        pid = svc.pid
    assert process_gone(pid) and svc.proc.returncode == -signal.SIGKILL


def test_an_exception_in_the_block_leaves_no_process() -> None:
    with pytest.raises(RuntimeError, match="case failed"):
        with ServiceProcess(py(f"import time; {READY}; time.sleep(600)")) as svc:
            pid = svc.pid
            raise RuntimeError("case failed")
    assert process_gone(pid)


def start_parent(kind: str) -> tuple[subprocess.Popen[str], int]:
    parent = subprocess.Popen([sys.executable, str(HERE / "lifecycle_parent.py"), kind],
                              stdout=subprocess.PIPE, text=True, preexec_fn=default_sigint)
    line = parent.stdout.readline()
    assert line.startswith("CHILD "), line
    return parent, int(line.split()[1])


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signalled_parent_stops_its_service(sig: int) -> None:
    parent, child = start_parent("fake")
    assert not process_gone(child)
    parent.send_signal(sig)
    parent.wait(timeout=60)
    parent.stdout.close()
    assert wait_gone(child)


def test_sigkilled_parent_without_a_stdin_watcher_leaves_an_orphan() -> None:
    """Control for the next test: the fake service does not watch stdin, so it survives."""
    parent, child = start_parent("fake")
    parent.kill()
    parent.wait(timeout=60)
    parent.stdout.close()
    try:
        assert not wait_gone(child, within_s=1.0)
    finally:
        os.kill(child, signal.SIGKILL)
    assert wait_gone(child)


def test_sigkilled_parent_takes_the_cloud_service_down() -> None:
    parent, child = start_parent("real")  # --exit-with-parent: exits on stdin EOF
    parent.kill()
    parent.wait(timeout=60)
    parent.stdout.close()
    assert wait_gone(child)
