"""Choose the online NASD's estimator and parameters on a calibration split, never on the test prompts.

This script replays a grid of acceptance estimators (``acceptance: online`` with its three knobs
``prior_strength``, ``discount``, ``context``; ``acceptance: shift`` with ``shift_strength`` and
``discount``; ``horizon``) and RTT inputs on TeleQnA prompts of the *calibration* split
(:func:`~jointbench.specdec.nasd_calibrate.calibration_prompts`, disjoint from
``examples/specdec/data/sd_prompts.jsonl``; recorded on first use, ~2 min), under the conditions of
``benchmarks/nasd_vs_oracle.py`` (stable RTTs and the three traces, each hardware pair), with K
selection only (no cutoff; ``--variant cloud``: with the cloud-only cutoff), and ranks them by the number of conditions that would miss the
benchmark's targets (stable NASD ÷ oracle < 0.99; trace NASD ÷ best fixed K <= 1.0), then by the
mean ratio. One line per configuration, the pick last.

``--skip 24`` takes the prompts *after* the 24 TeleQnA prompts the pairs' tables were calibrated
on (``nasd_calibrate --n-teleqna 24``), so the prior's own prompts are not the tuning prompts
(held out from the table as well as from the test set); ``--skip 0`` (the first split used)
overlaps the table's prompts. Several values pool one split each (``--skip 0 24``: 60 conditions).
``--gsm8k-skip 8`` adds a split of GSM8K prompts held out from the map's and tables' own 8 (long answers).
``--calibration FILE...`` pools the conditions under each compute calibration (default: the cache's
own); ``benchmarks/data/nasd_calibrations/`` keeps calibrations this suite's machine took at several loads.

    JOINTBENCH_CACHE=... python benchmarks/nasd_tune.py [--n-prompts 16] [--skip 0 24] [--variant cloud] [--grid shift-fine horizon]
                                                       [--calibration FILE ...]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nasd_vs_oracle import HARDWARE, RTTS, TARGET, TRACES, VARIANTS, oracle, run  # type: ignore[import-not-found]  # noqa: E402

GRIDS: dict[str, list[dict[str, Any]]] = {
    "online": [{"acceptance": "online", "prior_strength": s, "discount": d, "context": c}
               for s, d, c in itertools.product((5.0, 20.0, 80.0), (1.0, 0.98), (False, True))],
    "shift": [{"acceptance": "shift", "shift_strength": s, "discount": d}
              for s, d in itertools.product((0.5, 2.0, 8.0), (1.0, 0.98, 0.95))],
    "rtt": [{"acceptance": a, "rtt_mode": m} for a in ("online", "shift") for m in ("raw", "srtt", "median3")],
    "horizon": [{"acceptance": a, "rtt_mode": m, "horizon": h} for a in ("table", "online", "shift")
                for m in ("srtt", "raw") for h in (False, True)],
    "shift-fine": [{"acceptance": "shift", "shift_strength": s, "discount": d, "rtt_mode": m, "horizon": h}
                   for s, d, m, h in itertools.product((0.25, 0.5, 1.0, 2.0), (1.0, 0.98, 0.95, 0.9),
                                                       ("srtt", "raw"), (False, True))],
    "shift-rtt": [{"acceptance": "shift", "shift_strength": 2.0, "discount": 1.0, "rtt_mode": m, "horizon": True}
                  for m in ("raw", "srtt", "median3")],
    "shift-local": [{"acceptance": "shift", "shift_strength": s, "discount": d, "shift_local": n, "rtt_mode": m,
                     "horizon": True} for s, d, n, m in itertools.product((0.5, 2.0), (0.98, 0.95), (5.0, 20.0),
                                                                          ("srtt", "raw"))],
    "stop-probe": [{"draft_stop": True, "rtt_mode": m, "probe_backoff": b, "probe_interval_ms": i}
                   for m, b, i in itertools.product(("srtt", "median3"), (1.0, 2.0), (250.0, 500.0, 1000.0))],
    "stop-stream": [{"draft_stop": True, "stream_rtt": s, "probe_interval_ms": i}
                    for s, i in itertools.product((False, True), (500.0, 1000.0))],
    "stop-end": [{"draft_stop": True, "answer_end": a, "cutoff_margin": m}
                 for a, m in itertools.product((False, True), (1.0, 0.95, 0.9, 0.85, 0.8, 0.7))],
}
"""Named grids; each entry overrides the ``--variant``'s parameters (default ``nocutoff``: K selection only)."""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-prompts", type=int, default=16, help="TeleQnA calibration prompts")
    ap.add_argument("--skip", type=int, nargs="+", default=[0],
                    help="skip the first N calibration prompts (24: the tables' own); several: one split each, pooled")
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="nocutoff",
                    help="controller parameters the grid overrides (cloud: with the cloud-only cutoff)")
    ap.add_argument("--grid", nargs="+", choices=sorted(GRIDS), default=["online"])
    ap.add_argument("--gsm8k-skip", type=int, nargs="*", default=[],
                    help="also a split of --n-prompts GSM8K prompts after skipping N (8: the map's and tables' own)")
    ap.add_argument("--calibration", nargs="+", default=[None], metavar="FILE",
                    help="compute calibration JSON(s) to replay under, pooled (default: the cache's own)")
    args = ap.parse_args(argv)
    from jointbench.specdec.nasd_calibrate import calibration_prompts

    one = ([(hw, {"network_rtt_ms": r, "network_seed": 0}, 10.0, True) for hw in HARDWARE for r in RTTS]
           + [(hw, {"network_profile": p, "network_seed": 0}, None, False) for hw in HARDWARE for p in TRACES])
    conds: list[tuple[str, dict[str, Any], float | None, bool, list[dict[str, str]], str | None]] = []
    splits = [calibration_prompts(skip + args.n_prompts, 0)[skip:] for skip in args.skip]
    splits += [calibration_prompts(0, skip + args.n_prompts)[skip:] for skip in args.gsm8k_skip]
    for split in splits:
        prompts = [{"prompt": p["prompt"], "kind": p["kind"], "id": p["id"]} for p in split]
        conds += [(hw, net, bw, st, prompts, cal) for cal in args.calibration for hw, net, bw, st in one]

    def rate(params: dict[str, Any] | None, cond: tuple[Any, ...]) -> float:
        """Tokens/s of the NASD with ``params`` under ``cond`` (None: the oracle fixed K's)."""
        hw, net, bw, _, prompts, cal = cond
        if params is None:
            return oracle(hw, net, bw, prompts, cal)[1]
        return run("nasd", 3, params, hw, net, bw, prompts, cal)[0]

    best = [rate(None, c) for c in conds]
    base = VARIANTS[args.variant]
    table = [rate(base, c) / b for c, b in zip(conds, best)]
    print(f"table NASD on the calibration split (skip {args.skip}): misses "
          f"{sum(r < TARGET if st else r <= 1.0 for r, (_, _, _, st, _, _) in zip(table, conds))}, "
          f"mean {sum(table) / len(table):.4f}, min {min(table):.3f}", flush=True)
    scored = []
    for cfg in (c for g in args.grid for c in GRIDS[g]):
        params = {**base, **cfg}
        ratios = [rate(params, c) / b for c, b in zip(conds, best)]
        misses = sum(r < TARGET if c[3] else r <= 1.0 for r, c in zip(ratios, conds))
        n_st = sum(c[3] for c in conds)
        mean = sum(ratios) / len(ratios)
        st_mean = sum(r for r, c in zip(ratios, conds) if c[3]) / n_st
        tr_mean = sum(r for r, c in zip(ratios, conds) if not c[3]) / (len(conds) - n_st)
        scored.append((misses, -mean, cfg))
        print(f"{cfg}: misses {misses} of {len(conds)}, mean ratio {mean:.4f} (stable {st_mean:.4f}, "
              f"traces {tr_mean:.4f}), min {min(ratios):.3f}", flush=True)
    misses, neg_mean, cfg = min(scored, key=lambda x: (x[0], x[1]))
    print(f"PICK {cfg}: misses {misses}, mean ratio {-neg_mean:.4f} ({len(args.calibration)} compute "
          f"calibration(s); splits of {args.n_prompts} prompts after skipping TeleQnA {args.skip}, "
          f"GSM8K {args.gsm8k_skip})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
