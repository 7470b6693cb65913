"""Helper of test_transport_lifecycle: a parent process holding a service, waiting to be signalled.

    python lifecycle_parent.py fake|real

Prints ``CHILD <pid>`` once the service is ready, then sleeps inside the ``with`` block.
"""

from __future__ import annotations

import sys
import time

from jointbench.specdec.transport.lifecycle import ServiceProcess, cloud_service

FAKE = [sys.executable, "-c",
        "import time; print('JOINTBENCH_CLOUD_READY port=1', flush=True); time.sleep(600)"]


def main() -> None:
    svc = cloud_service("tiny-random", ready_timeout_s=180.0) if sys.argv[1] == "real" else ServiceProcess(FAKE)
    with svc:
        print(f"CHILD {svc.pid}", flush=True)
        time.sleep(600)


if __name__ == "__main__":
    main()
