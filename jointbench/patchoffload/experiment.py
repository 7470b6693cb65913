"""Driver of the trade-off experiment: train or load the models, calibrate, sweep, print Tables 1–2.

Shared by ``benchmarks/crc_tradeoff.py`` (which enforces the target cut) and
``examples/crc-patch-offload/run_tradeoff.py`` (which draws the plot). The last printed line is a summary:
the proposed method's cheapest point within ``--gap-pp`` of server-only accuracy, its cut vs full-image
transmission, and the best baseline's point under the same accuracy floor.
"""

from __future__ import annotations

import argparse
import json
import time

from jointbench.patchoffload.models import add_recipe_argument, load_trio, parse_recipes
from jointbench.patchoffload.report import BASELINE_METHODS, best_baseline_within, plot_tradeoff, table1, table2
from jointbench.patchoffload.tradeoff import PROPOSED, SERVER_ONLY, SweepConfig, operating_points, run_tradeoff


def main(argv: list[str] | None = None, description: str = "CRC + APS patch offload trade-off",
         enforce_target: bool = True) -> int:
    """Run the trade-off and print it (see the module docstring); returns the exit status."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--dataset", default="cifar10")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--alpha-crc", type=float, default=0.05)
    ap.add_argument("--alpha-aps", type=float, default=0.05)
    ap.add_argument("--eta", type=float, default=0.8)
    ap.add_argument("--gap-pp", type=float, default=1.0)
    ap.add_argument("--target-cut", type=float, default=0.70)
    ap.add_argument("--retrain", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--plot", default=None)
    add_recipe_argument(ap)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    trio = load_trio(args.dataset, args.seed, args.retrain, args.threads, log=lambda m: print(m, flush=True),
                     recipes=parse_recipes(args.recipe))
    acc = trio.accuracies()
    print(f"models ({args.dataset}, seed {args.seed}): " + ", ".join(f"{k} {v:.2f}%" for k, v in acc.items()))
    print("recipes: " + ", ".join(f"{t.role} {t.info.get('recipe_name', '?')} ({t.info['train_seconds']} s, "
                                  f"{t.info['threads']} thread(s))" for t in (trio.edge_cnn, trio.server_vit, trio.edge_vit)))
    cfg = SweepConfig(alpha_crc=args.alpha_crc, alpha_aps=args.alpha_aps, eta=args.eta, seed=args.seed)
    res = run_tradeoff(trio.splits, trio.edge_cnn.model, trio.server_vit.model, trio.edge_vit.model, cfg)
    cal = res.calibration
    print(f"calibration (n={cal.n_cal}): lambda_hat {cal.lambda_hat:.4f}, q_hat {cal.q_hat:.4f}, "
          f"cal accept rate {cal.cal_accept_rate:.3f}, cal accept-and-wrong {cal.cal_accept_wrong_rate:.4f}")
    prop = res.rows_of(PROPOSED)[0]
    print(f"test: accept rate {1 - prop['offload_rate']:.3f}, accept-and-wrong {prop['accept_wrong_rate']:.4f} "
          f"(budget {args.alpha_crc}), mean APS set size {prop['aps_set_size']:.2f}")
    print("\nproposed tau sweep:")
    for r in res.rows_of(PROPOSED):
        print(f"  tau {r['value']:.2f}: acc {r['accuracy_pct']:6.2f}%  cost {r['cost']:.3f}  "
              f"patches/offloaded {r['mean_patches_offloaded']:5.1f}")
    print()
    print(table1(res.rows, args.gap_pp))
    print()
    print(table2(res.rows, args.gap_pp))

    pts = operating_points(res.rows, args.gap_pp)
    server_acc = pts[SERVER_ONLY]["best"]["accuracy_pct"]
    mine = pts[PROPOSED]["within"]
    base_name = best_baseline_within(res.rows, args.gap_pp)
    if mine is not None:
        same = [r for r in res.rows if r["method"] in BASELINE_METHODS and r["accuracy_pct"] >= mine["accuracy_pct"]]
        same_best = min(same, key=lambda r: r["cost"]) if same else None
        print(f"\nat the proposed point's accuracy ({mine['accuracy_pct']:.2f}%): cheapest baseline "
              + (f"{same_best['method']} cost {same_best['cost']:.3f}" if same_best else "none reaches it"))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "model_accuracy_pct": acc, "calibration": cal.to_dict(),
                       "info": res.info, "rows": res.rows}, fh, indent=1)
    if args.plot:
        print("plot:", plot_tradeoff(res.rows, args.plot, f"{args.dataset}: CRC+APS Grad-CAM vs Im et al."))

    cut = 1.0 - mine["cost"] if mine is not None else float("nan")
    base = pts[base_name]["within"] if base_name else None
    ok = mine is not None and cut >= args.target_cut
    print(f"SUMMARY crc_tradeoff {args.dataset}: server-only {server_acc:.2f}%; proposed within {args.gap_pp:g} pp: "
          + (f"cost {mine['cost']:.3f} (cut {100 * cut:.1f}%) at {mine['accuracy_pct']:.2f}%" if mine else "none")
          + "; best baseline " + (f"{base_name} cost {base['cost']:.3f} at {base['accuracy_pct']:.2f}%" if base else "none")
          + f"; target cut >= {100 * args.target_cut:.0f}%: {'MET' if ok else 'MISSED'} "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0 if (ok or not enforce_target) else 1
