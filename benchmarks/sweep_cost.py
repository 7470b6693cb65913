"""What the root sweep costs beyond the model compute it contains.

The root job replays recorded traces on the virtual clock, so its wall time should be
the model compute (loading the pair, recording one trace per prompt, calibrating) plus
a small replay overhead. This script runs the root grid and prints

    wall time / model compute        (target <= 1.1)

Modes: ``--core`` (default) runs every test case of ``benchmarkingjob.yaml`` through
:class:`~jointbench.specdec.session.SpecDecSession` and the testenv's metrics, without
the runner's per-case files; ``--runner`` runs the job itself (``run_job``: records,
rank CSVs and plots per case). ``--cold`` uses an empty cache directory so that the
models really run (the first load also converts the GGUF).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sweep_cost.py --cold [--runner]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def core_sweep(job_file: str) -> int:
    """Run every test case's session over the test set and its metrics; return the case count."""
    import json

    from jointbench.runner.config import parse_job
    from jointbench.runner.job import compute_metrics, resolve_plugins
    from jointbench.specdec.session import SpecDecSession

    spec = parse_job(job_file)
    metrics = resolve_plugins(spec)
    with open(spec.testenv.test_file, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    questions, answers = [r["question"] for r in rows], [r["answer"] for r in rows]
    for case in spec.test_cases:
        hp = dict(case.modules["edgemodel"].hyperparameters)
        hp.pop("prompts_file", None)
        network = {k: hp.pop(k) for k in list(hp) if k.startswith("network_")}
        session = SpecDecSession(**hp, network=network)
        session.prepare([q["prompt"] for q in questions])
        y_pred = []
        for q in questions:
            rec = session.predict(q)
            y_pred.append([False, rec, rec, None])
        compute_metrics(metrics, answers, y_pred)
    return len(spec.test_cases)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--job", default="benchmarkingjob.yaml")
    parser.add_argument("--cold", action="store_true", help="empty cache: record and calibrate for real")
    parser.add_argument("--runner", action="store_true", help="run the job through run_job")
    args = parser.parse_args()
    os.chdir(REPO)
    if args.cold:
        os.environ["JOINTBENCH_CACHE"] = tempfile.mkdtemp(prefix="jbcold-")
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    from jointbench.specdec.tracestore import RECORDING_S

    t0 = time.perf_counter()
    if args.runner:
        from jointbench.runner.job import run_job

        outcome = run_job(args.job, progress=False, out=open(os.devnull, "w"))
        n = len(outcome.spec.test_cases)
    else:
        n = core_sweep(args.job)
    wall = time.perf_counter() - t0
    model = RECORDING_S["load_s"] + RECORDING_S["record_s"] + RECORDING_S["calibrate_s"]
    print(f"mode: {'runner' if args.runner else 'core'}, cache: {os.environ.get('JOINTBENCH_CACHE', 'default')}, "
          f"torch threads: {torch.get_num_threads()}")
    print(f"test cases: {n}")
    print(f"model compute: {model:.1f} s (load {RECORDING_S['load_s']:.1f}, record {RECORDING_S['record_s']:.1f}, "
          f"calibrate {RECORDING_S['calibrate_s']:.1f})")
    print(f"wall time: {wall:.1f} s; replay + bookkeeping: {wall - model:.1f} s "
          f"({1000 * (wall - model) / max(n, 1):.1f} ms per test case)")
    if model > 0:
        print(f"ratio wall / model compute: {wall / model:.3f} (target <= 1.1)")
    else:
        print("warm cache: no model ran (use --cold for the ratio)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
