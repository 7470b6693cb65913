"""CRC + APS Grad-CAM patch offload vs the Im et al. baselines on the suite's CIFAR-10 pair.

Trains (first run, cached afterwards) the edge CNN, the patch-dropping server ViT and the tiny ViT edge,
calibrates λ̂ (CRC, α_crc) and q̂ (APS, α) on the calibration split, sweeps τ and the baselines' knobs on
the test split, and prints the seed's Tables 1–2. Headline: the proposed method's communication cost at
its cheapest point within 1 pp of server-only accuracy, as a cut vs full-image transmission (seed: 74%
on ImageNet; target here >= 70%), beside the best baseline's cost at the same accuracy floor.
Exits 1 when the target is missed. Every number is measured in this run on one test split.
``--compare ROLE=NAME[,ROLE=NAME]`` (repeatable) runs further recipe configurations in the same run and
prints their headlines side by side (the summary line stays the first configuration's). The comparison
of docs/patchoffload.md (old ViT edge, 8-epoch ViT edge, 8×8 grid):

    .venv/bin/python benchmarks/crc_tradeoff.py [--dataset cifar10] [--json out.json] [--plot out.png]
    .venv/bin/python benchmarks/crc_tradeoff.py --compare edge_vit=vit-tiny --compare edge_vit=vit-hybrid-kd-8ep \
        --compare server_vit=hybrid-small-kd-p4,edge_vit=vit-hybrid-kd-p4
"""

from __future__ import annotations

import sys

from jointbench.patchoffload.experiment import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], description=__doc__.splitlines()[0]))
