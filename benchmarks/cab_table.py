"""Headline table of CAb on TeleQnA: deferral rate vs confidence-based deferral.

Runs alpha = 0.2, delta = 0.25 (the issue's operating point), 200 seeded trials of the
500/200/500/100 protocol, for HMS, CP and LCP edge sets in faithful and clean modes, and
checks the issue's criterion: CAb cuts the deferral rate of CbD (gamma = 1 - delta) by
>= 60% with SR >= 0.75.

    PYTHONPATH=. python benchmarks/cab_table.py [--options 4] [--predictor xgbrf] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time

from jointbench.cab.data import load_cascade_data
from jointbench.cab.report import format_markdown, headline_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--options", type=int, default=4, choices=(4, 5))
    parser.add_argument("--alpha", type=float, default=0.2)
    parser.add_argument("--delta", type=float, default=0.25)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--predictor", default="logistic")
    parser.add_argument("--features", default="maxprob", choices=("maxprob", "sorted"))
    parser.add_argument("--sigma", default="auto", help="RLCP bandwidth: number, auto or paper")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    parser.add_argument("--sweep", action="store_true",
                        help="also print CAb vs CbD over delta in {0.1, ..., 0.3}")
    args = parser.parse_args()
    sigma = args.sigma if args.sigma in ("auto", "paper") else float(args.sigma)

    data = load_cascade_data(args.options, embeddings=True)
    start = time.perf_counter()
    rows = headline_rows(
        data, alpha=args.alpha, delta=args.delta, n_trials=args.trials, seed=args.seed,
        predictor=args.predictor, features=args.features, sigma=sigma,
    )
    elapsed = time.perf_counter() - start
    print(f"TeleQnA {args.options}-option, alpha={args.alpha}, delta={args.delta}, "
          f"{args.trials} trials, seed {args.seed}, predictor {args.predictor} "
          f"({args.features}); {elapsed:.1f} s")
    print(format_markdown(rows))
    for r in rows:
        ok = r["reduction"] >= 0.60 and r["cab_sr"] >= 1 - args.delta
        print(f"{r['mode']:8s} {r['edge_set']:3s}: DR cut {100 * r['reduction']:.0f}% "
              f"with SR {r['cab_sr']:.3f} -> {'meets' if ok else 'misses'} the >=60% / "
              f"SR>={1 - args.delta:.2f} criterion")
    sweep = []
    if args.sweep:
        print("\nDelta sweep (DR / SR; CbD uses gamma = 1 - delta):")
        for delta in (0.1, 0.15, 0.2, 0.25, 0.3):
            part = headline_rows(
                data, alpha=args.alpha, delta=delta, n_trials=args.trials, seed=args.seed,
                predictor=args.predictor, features=args.features, sigma=sigma,
            )
            sweep += [{"delta": delta, **r} for r in part]
            for r in part:
                print(f"  delta={delta:.2f} {r['mode']:8s} {r['edge_set']:3s}: "
                      f"CbD {r['cbd_dr']:.3f} / {r['cbd_sr']:.3f}  "
                      f"tuned {r['tuned_dr']:.3f} / {r['tuned_sr']:.3f}  "
                      f"CAb {r['cab_dr']:.3f} / {r['cab_sr']:.3f}  "
                      f"cut {100 * r['reduction']:.0f}%")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "rows": rows, "sweep": sweep}, fh, indent=2)


if __name__ == "__main__":
    main()
