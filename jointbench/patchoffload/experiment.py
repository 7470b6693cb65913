"""Driver of the trade-off experiment: train or load the models, calibrate, sweep, print Tables 1–2.

Shared by ``benchmarks/crc_tradeoff.py`` (which enforces the target cut) and
``examples/crc-patch-offload/run_tradeoff.py`` (which draws the plot). ``--compare ROLE=NAME[,ROLE=NAME]``
(repeatable) also runs the whole trade-off with those recipes in place of the defaults, on the same split in
the same run, and prints one headline row per configuration side by side. The last printed line is a
summary of the first configuration: the proposed method's cheapest point within ``--gap-pp`` of
server-only accuracy, its cut vs full-image transmission, and the best baseline's point under the same floor.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from jointbench.patchoffload.models import ModelTrio, add_recipe_argument, load_trio, parse_recipes
from jointbench.patchoffload.report import BASELINE_METHODS, best_baseline_within, plot_tradeoff, table1, table2
from jointbench.patchoffload.tradeoff import (PROPOSED, SERVER_ONLY, SweepConfig, TradeoffResult, operating_points,
                                              run_tradeoff)

__all__ = ["headline", "main"]


def headline(trio: ModelTrio, res: TradeoffResult, gap_pp: float, label: str) -> dict[str, Any]:
    """One configuration's headline: model accuracies (%), grid, server-only accuracy (%), the proposed
    method's and the best baseline's cheapest point within ``gap_pp`` (None when none qualifies)."""
    pts = operating_points(res.rows, gap_pp)
    base_name = best_baseline_within(res.rows, gap_pp)
    mine = pts[PROPOSED]["within"]
    return {"label": label, "recipes": {t.role: t.info.get("recipe_name", "?")
                                        for t in trio.models()},
            "model_accuracy_pct": trio.accuracies(), "grid": trio.server_vit.model.grid,
            "server_only_pct": pts[SERVER_ONLY]["best"]["accuracy_pct"], "proposed_within": mine,
            "cut": 1.0 - mine["cost"] if mine is not None else float("nan"),
            "baseline": base_name, "baseline_within": pts[base_name]["within"] if base_name else None}


def _point(row: dict[str, Any] | None) -> str:
    return f"{row['cost']:.3f} ({row['accuracy_pct']:.2f}%, {row['knob']}={row['value']:g})" if row else "none"


def comparison_table(heads: list[dict[str, Any]], gap_pp: float) -> str:
    """The configurations' headlines side by side (one line each)."""
    lines = [f"comparison (same split, one run; 'within' = accuracy >= server-only - {gap_pp:g} pp):",
             f"{'configuration':<48} {'grid':>5} {'CNN %':>6} {'server %':>8} {'ViT %':>6}  "
             f"{'proposed within: cost':<30} {'best baseline within: cost':<40}"]
    for h in heads:
        acc = h["model_accuracy_pct"]
        base = f"{h['baseline']} {_point(h['baseline_within'])}" if h["baseline"] else "none"
        lines.append(f"{h['label']:<48} {h['grid']:>2}x{h['grid']:<2} {acc['edge_cnn']:6.2f} {acc['server_vit']:8.2f} "
                     f"{acc['edge_vit']:6.2f}  {_point(h['proposed_within']):<30} {base:<40}")
    return "\n".join(lines)


def _parse_compare(items: list[str] | None) -> list[dict[str, str]]:
    return [parse_recipes([part for part in item.split(",") if part]) for item in items or []]


def _print_run(trio: ModelTrio, res: TradeoffResult, args: argparse.Namespace) -> None:
    acc = trio.accuracies()
    print(f"models ({args.dataset}, seed {args.seed}): " + ", ".join(f"{k} {v:.2f}%" for k, v in acc.items()))
    print("recipes: " + ", ".join(f"{t.role} {t.info.get('recipe_name', '?')} ({t.info['train_seconds']} s, "
                                  f"{t.info['threads']} thread(s))"
                                  for t in trio.models()))
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
    mine = operating_points(res.rows, args.gap_pp)[PROPOSED]["within"]
    if mine is not None:
        same = [r for r in res.rows if r["method"] in BASELINE_METHODS and r["accuracy_pct"] >= mine["accuracy_pct"]]
        same_best = min(same, key=lambda r: r["cost"]) if same else None
        print(f"\nat the proposed point's accuracy ({mine['accuracy_pct']:.2f}%): cheapest baseline "
              + (f"{same_best['method']} cost {same_best['cost']:.3f}" if same_best else "none reaches it"))


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
    ap.add_argument("--compare", action="append", metavar="ROLE=NAME[,ROLE=NAME]",
                    help="also run the trade-off with these recipes (on top of --recipe) and print it side by side")
    args = ap.parse_args(argv)
    base_recipes = parse_recipes(args.recipe)
    first = ",".join(f"{k}={v}" for k, v in base_recipes.items()) or "defaults"
    configs = [(first, base_recipes)] + [(",".join(f"{k}={v}" for k, v in c.items()), {**base_recipes, **c})
                                              for c in _parse_compare(args.compare)]

    t0 = time.perf_counter()
    cfg = SweepConfig(alpha_crc=args.alpha_crc, alpha_aps=args.alpha_aps, eta=args.eta, seed=args.seed)
    heads, dumps = [], []
    for i, (label, recipes) in enumerate(configs):
        if len(configs) > 1:
            print(f"\n=== configuration {i + 1}/{len(configs)}: {label} ===")
        trio = load_trio(args.dataset, args.seed, args.retrain, args.threads, log=lambda m: print(m, flush=True),
                         recipes=recipes)
        assert trio.edge_vit is not None  # load_trio loads it by default
        res = run_tradeoff(trio.splits, trio.edge_cnn.model, trio.server_vit.model, trio.edge_vit.model, cfg)
        _print_run(trio, res, args)
        heads.append(headline(trio, res, args.gap_pp, label))
        dumps.append({"recipes": heads[-1]["recipes"], "model_accuracy_pct": trio.accuracies(),
                      "calibration": res.calibration.to_dict(), "info": res.info, "rows": res.rows})
        if i == 0 and args.plot:
            print("plot:", plot_tradeoff(res.rows, args.plot, f"{args.dataset}: CRC+APS Grad-CAM vs Im et al."))
    if len(heads) > 1:
        print()
        print(comparison_table(heads, args.gap_pp))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), **dumps[0], "compare": dumps[1:]}, fh, indent=1)

    h = heads[0]
    mine, base = h["proposed_within"], h["baseline_within"]
    ok = mine is not None and h["cut"] >= args.target_cut
    print(f"SUMMARY crc_tradeoff {args.dataset}: server-only {h['server_only_pct']:.2f}%; proposed within "
          f"{args.gap_pp:g} pp: "
          + (f"cost {mine['cost']:.3f} (cut {100 * h['cut']:.1f}%) at {mine['accuracy_pct']:.2f}%" if mine else "none")
          + "; best baseline " + (f"{h['baseline']} cost {base['cost']:.3f} at {base['accuracy_pct']:.2f}%"
                                  if base else "none")
          + f"; target cut >= {100 * args.target_cut:.0f}%: {'MET' if ok else 'MISSED'} "
          f"({time.perf_counter() - t0:.0f} s)")
    return 0 if (ok or not enforce_target) else 1
