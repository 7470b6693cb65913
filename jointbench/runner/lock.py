"""One run at a time per job folder: an advisory ``flock`` on ``<workspace>/<job>/.lock``.

The kernel drops the lock when its holder dies (``kill -9`` included), so a stale lock
cannot block a later run. The file holds the holder's pid and start time for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator

from jointbench.runner.errors import RunnerError

LOCK_FILE = ".lock"


class WorkspaceBusy(RunnerError):
    """Another process holds the job folder's lock."""


def _holder(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip() or "another process"
    except OSError:
        return "another process"


@contextlib.contextmanager
def job_lock(job_dir: str, wait_s: float = 0.0, poll_s: float = 0.2) -> Iterator[None]:
    """Hold the job folder's lock for the block.

    Parameters
    ----------
    job_dir : str
        ``<workspace>/<job>``; created if absent.
    wait_s : float
        How long to wait for another run to finish before refusing (0: refuse at once).
    poll_s : float
        Polling interval while waiting.

    Raises
    ------
    WorkspaceBusy
        Naming the folder, the holder and the fix.
    """
    os.makedirs(job_dir, exist_ok=True)
    path = os.path.join(job_dir, LOCK_FILE)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + max(0.0, wait_s)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise WorkspaceBusy(
                        f"{job_dir} is in use by {_holder(path)}: two runs into one job folder would mix "
                        f"their results. Wait for it to finish (or pass --wait SECONDS), or give this run "
                        f"another workspace or job name.") from None
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} (started {time.strftime('%Y-%m-%d %H:%M:%S')})".encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock
