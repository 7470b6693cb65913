"""Start, await and stop the cloud service process, leaving no orphan behind.

:class:`ServiceProcess` is a context manager around one child process:

- it starts the command in its **own process group** (``start_new_session``), with
  stdin a pipe it holds, stdout a pipe it reads and stderr a temporary file;
- it waits for the readiness line (``JOINTBENCH_CLOUD_READY port=...``) and raises
  :class:`ServiceStartError` naming the command, the exit code and the stderr tail
  when the line does not come within ``ready_timeout_s`` or the process dies first;
- on exit (normal, exception, ``KeyboardInterrupt`` from Ctrl-C) it sends SIGTERM to
  the whole group, then SIGKILL after ``stop_timeout_s``, and reaps the child.

What covers the parent's other ways to end: an ``atexit`` hook stops every live
service (``sys.exit``, an uncaught exception); while a service is live, SIGTERM of
the parent (if it had the default handler) raises ``SystemExit`` in the main thread
so the ``with`` blocks unwind; and a parent killed by SIGKILL closes the stdin pipe,
which the cloud service (``--exit-with-parent``) takes as its signal to exit.
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from types import FrameType, TracebackType
from typing import IO, Any, Mapping, Sequence

READY_PREFIX = "JOINTBENCH_CLOUD_READY"
"""First word of the readiness line a service prints to stdout (then ``port=<int>``)."""

_LIVE: set[ServiceProcess] = set()
_LOCK = threading.Lock()
_PREVIOUS_SIGTERM: Any = None
_HOOKS_INSTALLED = False


class ServiceStartError(RuntimeError):
    """The service did not print its readiness line (message: command, exit code, stderr tail)."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _stop_all() -> None:
    for proc in list(_LIVE):
        proc.stop()


def _register(proc: ServiceProcess) -> None:
    global _HOOKS_INSTALLED, _PREVIOUS_SIGTERM
    with _LOCK:
        if not _HOOKS_INSTALLED:
            atexit.register(_stop_all)
            _HOOKS_INSTALLED = True
        if not _LIVE and threading.current_thread() is threading.main_thread():
            current = signal.getsignal(signal.SIGTERM)
            if current == signal.SIG_DFL:  # never replace a handler someone else installed
                _PREVIOUS_SIGTERM = current
                signal.signal(signal.SIGTERM, _on_sigterm)
        _LIVE.add(proc)


def _unregister(proc: ServiceProcess) -> None:
    global _PREVIOUS_SIGTERM
    with _LOCK:
        _LIVE.discard(proc)
        if not _LIVE and _PREVIOUS_SIGTERM is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _PREVIOUS_SIGTERM)
            _PREVIOUS_SIGTERM = None


def cloud_command(pair: str, *, temperature: float = 0.0, threads: int = 1, port: int = 0,
                  codec: str | None = None, codec_params: Mapping[str, Any] | None = None) -> list[str]:
    """The command line of the cloud service for ``pair`` (this Python, loopback, exit with parent).

    ``codec``: the registered draft codec the edge sends (default: ``ids_only`` at T=0, ``dense_fp32`` at T>0);
    ``codec_params``: its parameters (passed as JSON), so that the service decodes what the edge encodes.
    """
    command = [sys.executable, "-m", "jointbench.specdec.transport.cloud_server", "--pair", str(pair),
               "--port", str(int(port)), "--temperature", repr(float(temperature)),
               "--threads", str(int(threads)), "--exit-with-parent"]
    if codec:
        command += ["--codec", str(codec)]
    if codec_params:
        command += ["--codec-params", json.dumps(dict(codec_params), sort_keys=True)]
    return command


class ServiceProcess:
    """A child service started in its own process group and stopped for sure.

    Parameters
    ----------
    command : sequence of str
        The command; it must print a line starting with :data:`READY_PREFIX` and
        containing ``port=<int>`` once it accepts connections.
    ready_timeout_s : float
        Seconds to wait for the readiness line.
    stop_timeout_s : float
        Seconds between SIGTERM and SIGKILL when stopping.
    env : mapping, optional
        Environment of the child (default: this process's).
    stderr_tail_chars : int
        How much of the child's stderr a start error quotes.
    ready_url : str, optional
        Instead of the readiness line, poll this loopback URL until it answers 200
        (e.g. vLLM's ``http://127.0.0.1:<port>/health``); ``port`` is then taken from it.

    Attributes
    ----------
    port : int
        The port from the readiness line (after :meth:`start`).
    pid : int
    """

    def __init__(self, command: Sequence[str], *, ready_timeout_s: float = 120.0, stop_timeout_s: float = 5.0,
                 env: dict[str, str] | None = None, stderr_tail_chars: int = 2000,
                 ready_url: str | None = None) -> None:
        if ready_timeout_s <= 0 or stop_timeout_s <= 0:
            raise ValueError(f"ready_timeout_s={ready_timeout_s!r}, stop_timeout_s={stop_timeout_s!r}: must be > 0")
        self.command = [str(c) for c in command]
        self.ready_timeout_s = float(ready_timeout_s)
        self.stop_timeout_s = float(stop_timeout_s)
        self.env = env
        self.stderr_tail_chars = int(stderr_tail_chars)
        self.ready_url = ready_url
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self._stderr: IO[bytes] | None = None
        self._lines: queue.Queue[bytes] = queue.Queue()

    @property
    def pid(self) -> int:
        """Process id of the service (its process group id too)."""
        if self.proc is None:
            raise RuntimeError("the service has not been started")
        return self.proc.pid

    def start(self) -> ServiceProcess:
        """Start the process and block until it is ready (or raise :class:`ServiceStartError`)."""
        if self.proc is not None:
            raise RuntimeError("the service was already started")
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self._stderr, env=self.env, start_new_session=True)
        _register(self)
        threading.Thread(target=self._drain_stdout, daemon=True).start()
        try:
            self._await_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _drain_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            for line in iter(self.proc.stdout.readline, b""):
                self._lines.put(line)
        except (OSError, ValueError):  # the pipe was closed by stop()
            pass
        self._lines.put(b"")  # EOF marker

    def _await_url(self, deadline: float) -> None:
        import urllib.error
        import urllib.parse
        import urllib.request

        assert self.proc is not None and self.ready_url is not None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self._start_error(f"it exited before {self.ready_url} answered")
            try:
                with urllib.request.urlopen(self.ready_url, timeout=2.0) as resp:
                    if resp.status == 200:
                        self.port = int(urllib.parse.urlsplit(self.ready_url).port or 0)
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise self._start_error(f"{self.ready_url} did not answer 200 within {self.ready_timeout_s:g} s")

    def _await_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        if self.ready_url is not None:
            self._await_url(deadline)
            return
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._start_error(f"no readiness line within {self.ready_timeout_s:g} s")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if line == b"":
                assert self.proc is not None
                try:
                    self.proc.wait(timeout=self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    pass
                raise self._start_error("it closed its stdout before printing the readiness line")
            text = line.decode(errors="replace").strip()
            if text.startswith(READY_PREFIX):
                fields = dict(part.split("=", 1) for part in text.split()[1:] if "=" in part)
                if "port" not in fields:
                    raise self._start_error(f"readiness line without port=: {text!r}")
                self.port = int(fields["port"])
                return

    def stderr_tail(self) -> str:
        """The last ``stderr_tail_chars`` characters the service wrote to stderr."""
        if self._stderr is None or self._stderr.closed:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-self.stderr_tail_chars:]

    def _start_error(self, why: str) -> ServiceStartError:
        assert self.proc is not None
        code = self.proc.poll()
        status = "still running (stopped now)" if code is None else f"exit code {code}"
        tail = self.stderr_tail().rstrip() or "(empty)"
        return ServiceStartError(f"the service did not come up: {why}; {status}.\n"
                                 f"command: {' '.join(self.command)}\nstderr tail:\n{tail}")

    def running(self) -> bool:
        """True while the process has not exited."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the service's process group now (fault injection); :meth:`stop` still reaps."""
        if self.running():
            os.killpg(self.pid, signal.SIGKILL)

    def stop(self) -> int | None:
        """SIGTERM the group, SIGKILL after ``stop_timeout_s``, reap; return the exit code. Idempotent."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=self.stop_timeout_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
        code = proc.wait()
        for stream in (proc.stdin, proc.stdout):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        _unregister(self)
        return code

    def close(self) -> None:
        """:meth:`stop` and drop the stderr file."""
        self.stop()
        if self._stderr is not None:
            self._stderr.close()

    def __enter__(self) -> ServiceProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def cloud_service(pair: str, *, temperature: float = 0.0, threads: int = 1,
                  ready_timeout_s: float = 120.0, stop_timeout_s: float = 5.0) -> ServiceProcess:
    """A :class:`ServiceProcess` for the cloud service of ``pair`` (enter it to start)."""
    return ServiceProcess(cloud_command(pair, temperature=temperature, threads=threads),
                          ready_timeout_s=ready_timeout_s, stop_timeout_s=stop_timeout_s)
