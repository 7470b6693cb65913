"""Does one forward run slower right after the process waited? (compute, wait x ms, compute)

The two-process run (``transport: tcp``) alternates compute bursts with waits: the cloud waits
for the next draft block (the RTT plus the edge's drafting), the edge waits for the verdict.
The calibration (:func:`~jointbench.specdec.calibrate.calibrate`) times the same forwards
back to back. This script times one draft step and one verify pass (K = 3) of the pair, each
right after a wait of ``x`` ms, with the gaps interleaved in a shuffled order every round (so
drift of the machine over time hits every gap alike), and the wait either slept
(``time.sleep``: the CPU may go idle) or spun (busy loop: the CPU stays busy, caches are
polluted only by this process). It prints, per gap and wait mode, the median and the 20 %
quantile (the calibration's statistic) and their ratio to the back-to-back (0 ms) timing.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compute_after_idle.py
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/compute_after_idle.py --pair tiny-random --rounds 5  # smoke

The summary line comes last. There is no target: it exits 0 unless the measurement failed.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from typing import Callable

import numpy as np


def spin(seconds: float) -> None:
    """Busy-wait ``seconds`` (the CPU stays busy)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def timed_after(wait: Callable[[float], None], gap_ms: float, op: Callable[[], None]) -> float:
    """Wait ``gap_ms`` with ``wait`` (not timed), then time ``op`` (ms)."""
    if gap_ms > 0:
        wait(gap_ms / 1e3)
    t0 = time.perf_counter()
    op()
    return (time.perf_counter() - t0) * 1e3


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="smollm2-135m-int8")
    parser.add_argument("--gaps", default="0,2,12.5,25,50,100", help="comma-separated waits before each op (ms)")
    parser.add_argument("--rounds", type=int, default=15, help="timed runs per gap, op and wait mode")
    parser.add_argument("--context", type=int, default=64, help="cached tokens before each op")
    parser.add_argument("--k", type=int, default=3, help="draft tokens of the verify pass")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from jointbench.specdec.lm import CachedLM
    from jointbench.specdec.tracestore import get_pair

    load_before = os.getloadavg()[0]
    pair = get_pair(args.pair)
    vocab = int(pair.target.config.vocab_size)
    ids = torch.randint(0, vocab, (args.context + args.k + 1,), generator=torch.Generator().manual_seed(0)).tolist()
    target, draft = CachedLM(pair.target), CachedLM(pair.draft)
    target.prefill(ids[: args.context])
    draft.prefill(ids[: args.context])

    def verify() -> None:
        target.forward(ids[args.context:], args.k + 1)
        target.crop(args.context)

    def draft_step() -> None:
        draft.forward(ids[args.context: args.context + 1], 1)
        draft.crop(args.context)

    ops = {"draft step": draft_step, f"verify K={args.k}": verify}
    waits = {"sleep": time.sleep, "spin": spin}
    gaps = [float(g) for g in args.gaps.split(",")]
    for op in ops.values():  # warm-up
        op()
        op()
    times: dict[tuple[str, str, float], list[float]] = {(o, w, g): [] for o in ops for w in waits for g in gaps}
    rng = random.Random(0)
    for _ in range(args.rounds):
        cells = list(times)
        rng.shuffle(cells)
        for o, w, g in cells:
            times[(o, w, g)].append(timed_after(waits[w], g, ops[o]))

    worst = (0.0, "")
    for o in ops:
        for w in waits:
            base = times[(o, w, gaps[0])]
            b_med, b_q = float(np.median(base)), float(np.quantile(base, 0.2))
            for g in gaps:
                t = times[(o, w, g)]
                med, q = float(np.median(t)), float(np.quantile(t, 0.2))
                print(f"{o:11s} after {w:5s} {g:6.1f} ms: median {med:7.2f} ms ({med / b_med:.3f}x), "
                      f"q0.2 {q:7.2f} ms ({q / b_q:.3f}x)", flush=True)
                if w == "sleep" and med / b_med > worst[0]:
                    worst = (med / b_med, f"{o} after {g:g} ms asleep")
    print(f"SUMMARY compute_after_idle pair={args.pair} rounds={args.rounds}: slowest median after a sleep "
          f"{worst[0]:.3f}x the back-to-back one ({worst[1]}); load average {load_before:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
