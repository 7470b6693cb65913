"""The example's trade-off: τ sweep of CRC + APS Grad-CAM beside server-only, edge-only and the Im et al.
baselines, Tables 1–2, and the plot (``workspace/crc_patch_offload/tradeoff_cifar10.png`` by default).

    .venv/bin/python examples/crc-patch-offload/run_tradeoff.py [--dataset fashion-mnist] [--plot out.png]

The first run trains the three models (about 13 minutes on 2 cores, measured in docs/patchoffload.md); later
runs take well under a minute.
"""

from __future__ import annotations

import sys
from pathlib import Path

from jointbench.patchoffload.experiment import main

if __name__ == "__main__":
    argv = sys.argv[1:]
    if "--plot" not in argv:
        dataset = argv[argv.index("--dataset") + 1] if "--dataset" in argv else "cifar10"
        argv += ["--plot", str(Path("workspace") / "crc_patch_offload" / f"tradeoff_{dataset}.png")]
    sys.exit(main(argv, description=__doc__.splitlines()[0], enforce_target=False))
