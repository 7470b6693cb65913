"""NASD against the oracle fixed K, the best fixed K under time-varying links, and the UCB bandit.

One run, side by side on the root job's 16 prompts (T=0 traces replayed on the virtual clock,
the pair's cached calibration, 64 new tokens):

- per stable RTT (0-500 ms, 10 Mbit/s) x hardware pair: NASD tokens/s ÷ the oracle's (the best
  fixed K in 1..12 for that condition, replayed on the same traces). Target >= 0.99 (the seed's
  milestone), never below 0.96 (its prototype's claim);
- per time-varying trace (oscillating, handover step, two-state Markov) x hardware pair: NASD ÷
  the best fixed K (target > 1.0) and NASD ÷ the bandit (printed).

NASD here is the lossless controller: SRTT estimate, cloud-only fallback (``--variant`` picks
another: ``nocutoff`` = the table's K only; ``edge`` = the seed's lossy edge-only fallback,
whose ratio compares a lossy rate with a lossless one). One line per condition, a summary line
last; exit status 1 when a target is missed. ``--plot PNG`` also writes K per cycle under a
stable and the oscillating RTT with the RTT each decision saw beneath.

    JOINTBENCH_CACHE=... python benchmarks/nasd_vs_oracle.py [--variant cloud|nocutoff|edge] [--plot PNG]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from jointbench.specdec.session import SpecDecSession

HARDWARE = ("this-cpu/this-cpu", "edge-board-4x/cloud-gpu-7b", "edge-npu-4x/this-cpu")
RTTS = (0, 10, 25, 50, 100, 200, 500)
TRACES = ("oscillating", "handover", "markov")
ORACLE_KS = tuple(range(1, 13))
VARIANTS = {"cloud": {"rtt_mode": "srtt", "fallback": "cloud_only", "probe_backoff": 2},
            "nocutoff": {"rtt_mode": "srtt", "cutoff": False},
            "edge": {"rtt_mode": "srtt", "probe_backoff": 2}}
TARGET, FLOOR = 0.99, 0.96


def _prompts() -> list[dict[str, Any]]:
    with open("examples/specdec/data/sd_prompts.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in fh if line.strip()]


def run(policy: str, k: int, params: dict[str, Any] | None, hw: str, network: dict[str, Any],
        bandwidth: float | None = 10.0) -> tuple[float, list[dict[str, Any]]]:
    """Tokens/s (total tokens over total latency) of one strategy over the prompts, and the records."""
    s = SpecDecSession("edge_cloud", policy=policy, k=k, policy_params=params, hardware=hw, bandwidth_mbps=bandwidth,
                       network=network)
    recs = [s.predict(q, i) for i, q in enumerate(_prompts())]
    tokens = sum(r["tokens_out"] for r in recs)
    latency = sum(r["latency_ms"] for r in recs)
    return 1000.0 * tokens / latency, recs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="cloud")
    ap.add_argument("--plot", default=None, help="write K per cycle (stable 50 ms and oscillating) to this PNG")
    args = ap.parse_args(argv)
    params = VARIANTS[args.variant]
    misses, ratios, trace_ratios = [], [], []
    for hw in HARDWARE:
        for rtt in RTTS:
            net = {"network_rtt_ms": rtt, "network_seed": 0}
            by_k = {k: run("fixed", k, None, hw, net)[0] for k in ORACLE_KS}
            k_star = max(sorted(by_k), key=lambda k: (by_k[k], -k))
            nasd, recs = run("nasd", 3, params, hw, net)
            r = nasd / by_k[k_star]
            ratios.append(r)
            lossy = any(x["extras"]["lossy"] for x in recs)
            status = "ok" if r >= TARGET else ("below target" if r >= FLOOR else "MISS")
            if r < FLOOR or (r < TARGET and not lossy):
                misses.append(f"{hw} rtt {rtt}")
            print(f"stable  {hw:28s} rtt {rtt:4d} ms  oracle K={k_star:2d} {by_k[k_star]:7.2f} tok/s  "
                  f"NASD {nasd:7.2f}  ratio {r:6.3f}  {status}{'  (lossy)' if lossy else ''}", flush=True)
        for prof in TRACES:
            net = {"network_profile": prof, "network_seed": 0}
            by_k = {k: run("fixed", k, None, hw, net, None)[0] for k in ORACLE_KS}
            k_star = max(sorted(by_k), key=lambda k: (by_k[k], -k))
            nasd = run("nasd", 3, params, hw, net, None)[0]
            ucb = run("ucb", 3, None, hw, net, None)[0]
            r, rb = nasd / by_k[k_star], nasd / ucb
            trace_ratios.append(r)
            if r <= 1.0:
                misses.append(f"{hw} {prof}")
            print(f"trace   {hw:28s} {prof:11s}  best fixed K={k_star:2d} {by_k[k_star]:7.2f} tok/s  NASD {nasd:7.2f}"
                  f"  ratio {r:6.3f} ({'ok' if r > 1.0 else 'MISS'})  UCB {ucb:7.2f}  NASD/UCB {rb:6.3f}", flush=True)
    if args.plot:
        from jointbench.specdec.nasd_plots import plot_k_per_cycle

        hw = "this-cpu/this-cpu"
        recs = {f"stable RTT 200 ms ({hw})": run("nasd", 3, params, hw, {"network_rtt_ms": 200})[1][:6],
                f"oscillating ({hw})": run("nasd", 3, params, hw, {"network_profile": "oscillating"}, None)[1][:6]}
        print(plot_k_per_cycle(recs, args.plot))
    print(f"SUMMARY variant={args.variant}: NASD/oracle min {min(ratios):.3f} median "
          f"{sorted(ratios)[len(ratios) // 2]:.3f} over {len(ratios)} stable conditions (target >= {TARGET}, floor "
          f"{FLOOR}); NASD/best fixed K under traces min {min(trace_ratios):.3f} (target > 1.0); "
          f"{'PASS' if not misses else 'MISS: ' + '; '.join(misses)}")
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
