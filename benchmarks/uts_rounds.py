"""Edge held-out accuracy before/after K UTS rounds, and link bytes, against upload-everything + dense.

A fixed pool of ``--stream + --heldout`` 4-option TeleQnA questions (so the frozen trunk's
outputs are computed once and cached) is split anew for each seed: the first ``--stream``
questions of the seed's shuffle are the stream the edge serves, in that order, the rest the
held-out questions; the seed also sets the LoRA init, the MC-dropout masks and the training order. Two systems run side by
side on the same split: **UTS** (UTS-1 at ``tau``, UTS-2 keeping fraction ``m``, compressed
updates) and **ALL** (every sample uploaded with all its tokens, dense fp16 updates; updates
every ``--update-every`` uploads in both). Printed per seed and as mean +- std over seeds:
held-out accuracy before and after, uplink bytes per query, downlink bytes per update.
The summary line is last; exit 1 unless the UTS update raises held-out accuracy beyond the seed
spread: the one-sided 95% lower confidence bound of the mean gain (Student t over seeds) must be > 0.

Run:  JOINTBENCH_CACHE=... .venv/bin/python benchmarks/uts_rounds.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np
import torch
from scipy import stats

from jointbench.datasets.teleqna import load_teleqna
from jointbench.netsim import Link, link_config_from_hyperparameters
from jointbench.uncertainty.cloud import REPLAY, make_cloud
from jointbench.uncertainty.edge import EdgeLM
from jointbench.uncertainty.lm import fresh_lm
from jointbench.uncertainty.session import UTSConfig, UTSSession, questions_from_teleqna
from jointbench.uncertainty.update import FinetuneConfig


def run_system(name: str, cfg: UTSConfig, stream, heldout, network: str, tail: int, cloud) -> dict:
    """Run one session from the pristine model; returns its summary."""
    model, tok = fresh_lm(name)
    edge = EdgeLM(model, tok, tail_layers=tail, model_name=name)
    session = UTSSession(edge, cloud, cfg,
                         Link(link_config_from_hyperparameters({"network_profile": network,
                                                                "network_seed": cfg.seed})), heldout)
    t0 = time.perf_counter()
    session.start()
    records = [session.serve(q) for q in stream]
    updates = session.history[1:]
    out = {
        "before": session.history[0]["heldout_acc"],
        "after": session.history[-1]["heldout_acc"],
        "after_dense": updates[-1]["heldout_acc_dense"] if updates else None,
        "rounds": len(updates),
        "served_acc": float(np.mean([r["correct"] for r in records if r["correct"] is not None])),
        "edge_acc_stream": float(np.mean([r["extras"]["edge_correct"] for r in records
                                          if r["extras"]["edge_correct"] is not None])),
        "upload_frac": float(np.mean([r["extras"]["uploaded"] for r in records])),
        "uplink_B_per_query": float(np.mean([r["bytes_up"] for r in records])),
        "downlink_B_per_update": float(np.mean([u["downlink_bytes"] for u in updates])) if updates else 0.0,
        "compression": float(np.mean([u["compression_ratio"] for u in updates])) if updates else None,
        "history": [{k: h[k] for k in ("round", "heldout_acc", "heldout_acc_dense")} for h in session.history],
        "why": letter_diagnostics(session, records, heldout),
        "wall_s": time.perf_counter() - t0,
    }
    return out


def _shares(letters: list[int], n: int = 4) -> list[float]:
    counts = np.bincount(np.asarray(letters, dtype=int), minlength=n)[:n]
    return (counts / max(1, counts.sum())).round(3).tolist()


def letter_diagnostics(session: UTSSession, records: list[dict], heldout) -> dict:
    """What the updates changed, to tell a learned answer-letter prior from learned knowledge.

    Returns the held-out answer-letter shares before and after the last update, the share of held-out
    answers the updates changed, the share of those changes that fixed / broke an answer, the
    pseudo-labels' accuracy and letter shares, the true letters' shares, and the held-out accuracy of
    always answering the pseudo-labels' most common letter (a prior-only learner).
    """
    truth = np.array([q.answer for q in heldout if q.answer >= 0])
    first = np.array(session.history[0]["heldout_answers"])
    last = np.array(session.history[-1]["heldout_answers"])
    changed = first != last
    labels = [r["extras"]["pseudo_label"] for r in records if r["extras"].get("pseudo_label")]
    label_idx = ["ABCDE".index(x) for x in labels]
    correct = [r["extras"]["pseudo_label_correct"] for r in records
               if r["extras"].get("pseudo_label_correct") is not None]
    majority = int(np.bincount(label_idx, minlength=4).argmax()) if label_idx else -1
    return {
        "letters_before": _shares(first.tolist()), "letters_after": _shares(last.tolist()),
        "letters_true": _shares(truth.tolist()), "letters_pseudo": _shares(label_idx),
        "changed": float(changed.mean()),
        "fixed": float(np.mean((last == truth)[changed])) if changed.any() else 0.0,
        "broke": float(np.mean((first == truth)[changed])) if changed.any() else 0.0,
        "pseudo_label_acc": float(np.mean(correct)) if correct else float("nan"),
        "prior_only_acc": float(np.mean(truth == majority)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--stream", type=int, default=96)
    ap.add_argument("--heldout", type=int, default=128)
    ap.add_argument("--update-every", type=int, default=16)
    ap.add_argument("--tau", type=float, default=0.4)
    ap.add_argument("--m", type=float, default=0.25)
    ap.add_argument("--rho", type=float, default=0.1)
    ap.add_argument("--bits", type=int, default=4)
    ap.add_argument("--tail-layers", type=int, default=2)
    ap.add_argument("--loss", default="ce+mse+wavelet")
    ap.add_argument("--network", default="4g")
    ap.add_argument("--cloud", default=REPLAY, help="qwen2-7b-replay (default), or a model the cloud runs live: "
                                                     "gemma3-270m (its package), smollm2-135m, a local folder")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", default=None, help="also write the per-seed results here")
    ap.add_argument("--report", default=None, help="only print the table of a --json file written earlier")
    args = ap.parse_args(argv)
    if args.report:
        with open(args.report, encoding="utf-8") as fh:
            return report(json.load(fh)["results"])
    torch.set_num_threads(args.threads)
    data = load_teleqna(4)
    pool = np.random.default_rng(0).permutation(len(data))[:args.stream + args.heldout]
    base = UTSConfig(tau=args.tau, m=args.m, rho=args.rho, bits=args.bits, update_every=args.update_every,
                     finetune=FinetuneConfig(loss=args.loss))
    cloud = make_cloud(args.cloud, data)  # a live model loads once and serves every seed
    results = []
    for seed in args.seeds:
        rows = np.random.default_rng(1000 + seed).permutation(pool)
        stream = questions_from_teleqna(data, rows[:args.stream])
        heldout = questions_from_teleqna(data, rows[args.stream:])
        uts = run_system(args.model, replace(base, seed=seed), stream, heldout, args.network, args.tail_layers,
                         cloud)
        everything = run_system(args.model,
                                replace(base, seed=seed, tau=1.0, m=1.0, codec="dense-fp16"),
                                stream, heldout, args.network, args.tail_layers, cloud)
        results.append({"seed": seed, "uts": uts, "all": everything})
        for tag, r in (("UTS", uts), ("ALL", everything)):
            print(f"seed {seed} {tag}: held-out {r['before']:.3f} -> {r['after']:.3f} "
                  f"(dense {r['after_dense'] if r['after_dense'] is None else round(r['after_dense'], 3)}) "
                  f"over {r['rounds']} rounds; served {r['served_acc']:.3f} (edge {r['edge_acc_stream']:.3f}); "
                  f"upload {r['upload_frac']:.2f}; up {r['uplink_B_per_query']:.0f} B/query; "
                  f"down {r['downlink_B_per_update']:.0f} B/update; {r['wall_s']:.0f} s", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"args": vars(args), "results": results}, fh, indent=1)
    return report(results)


def lower_bound(gains: np.ndarray, level: float = 0.95) -> float:
    """One-sided lower confidence bound of the mean of ``gains`` (pp); ``-inf`` with fewer than 2 seeds."""
    n = len(gains)
    if n < 2:
        return float("-inf")
    return float(gains.mean() - stats.t.ppf(level, n - 1) * gains.std(ddof=1) / np.sqrt(n))


def report(results: list[dict]) -> int:
    """Print the mean +- std table and the summary line.

    Returns 0 iff the one-sided 95% lower confidence bound of the mean held-out gain over seeds
    (Student t, ``n - 1`` degrees of freedom) is above 0; a positive mean within the seed spread fails.
    """

    def stat(tag: str, key: str) -> tuple[float, float]:
        v = np.array([r[tag][key] for r in results], dtype=float)
        return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0

    def gains(tag: str, key: str = "after") -> np.ndarray:
        return np.array([r[tag][key] - r[tag]["before"] for r in results], dtype=float) * 100

    sd = lambda v: float(v.std(ddof=1)) if len(v) > 1 else 0.0  # noqa: E731
    print(f"\n{'system':<6} {'held-out before':>16} {'held-out after':>16} {'gain (pp)':>12} "
          f"{'gain dense (pp)':>16} {'uplink B/query':>15} {'downlink B/update':>18} {'rounds':>7}")
    for tag in ("uts", "all"):
        (b, bs), (a, as_) = stat(tag, "before"), stat(tag, "after")
        g, gd = gains(tag), gains(tag, "after_dense")
        print(f"{tag.upper():<6} {b:>9.3f}±{bs:.3f} {a:>9.3f}±{as_:.3f} {g.mean():>7.1f}±{sd(g):.1f}"
              f" {gd.mean():>11.1f}±{sd(gd):.1f} {stat(tag, 'uplink_B_per_query')[0]:>15.0f}"
              f" {stat(tag, 'downlink_B_per_update')[0]:>18.0f} {stat(tag, 'rounds')[0]:>7.1f}")
    print("\nwhy (held-out answer letters A/B/C/D; changed = answers the updates changed; fixed/broke = "
          "share of the changed ones now right / that were right; prior-only = always the pseudo-labels' "
          "most common letter):")
    for r in results:
        for tag in ("uts", "all"):
            w = r[tag].get("why")
            if w:
                print(f"seed {r['seed']} {tag.upper()}: letters {w['letters_before']} -> {w['letters_after']} "
                      f"(truth {w['letters_true']}, pseudo-labels {w['letters_pseudo']}, acc "
                      f"{w['pseudo_label_acc']:.3f}); changed {w['changed']:.3f} (fixed {w['fixed']:.2f}, "
                      f"broke {w['broke']:.2f}); prior-only {w['prior_only_acc']:.3f}")
    g, g_all = gains("uts"), gains("all")
    up_ratio = stat("all", "uplink_B_per_query")[0] / max(stat("uts", "uplink_B_per_query")[0], 1e-9)
    down_total = (stat("all", "downlink_B_per_update")[0] * stat("all", "rounds")[0]
                  / max(stat("uts", "downlink_B_per_update")[0] * stat("uts", "rounds")[0], 1e-9))
    lower = lower_bound(g)
    ok = lower > 0
    within = f" (95% lower bound {lower:+.1f} pp)"
    print(f"SUMMARY uts_rounds: held-out gain {g.mean():+.1f}±{sd(g):.1f} pp (UTS){within} vs "
          f"{g_all.mean():+.1f}±{sd(g_all):.1f} pp (ALL), uplink {up_ratio:.1f}x and total downlink "
          f"{down_total:.1f}x fewer bytes than ALL, {len(results)} seeds: {'PASS' if ok else 'FAIL (no held-out gain beyond the seed spread)'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
