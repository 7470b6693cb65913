"""NASD against the oracle fixed K, the best fixed K under time-varying links, and the UCB bandit.

One run, side by side on the root job's 16 prompts (T=0 traces replayed on the virtual clock,
the pair's cached calibration, 64 new tokens):

- per stable RTT (0-500 ms, 10 Mbit/s) x hardware pair: NASD tokens/s ÷ the oracle's (the best
  fixed K in 1..12 for that condition, replayed on the same traces). Target >= 0.99 (the seed's
  milestone), never below 0.96 (its prototype's claim);
- per time-varying trace (oscillating, handover step, two-state Markov) x hardware pair: NASD ÷
  the best fixed K (target > 1.0) and NASD ÷ the bandit (printed).

NASD here is the lossless controller: SRTT estimate, cloud-only fallback (``--variant`` picks
another: ``nocutoff`` = K selection only; ``edge`` = the seed's lossy edge-only fallback,
whose ratio compares a lossy rate with a lossless one). Each line shows three NASDs side by side
(:data:`NASDS`): ``table`` (the seed's: K* from the calibrated table), ``online`` (``acceptance:
online``: a per-position Beta posterior with the table's profile as prior, the rate re-maximised
over K each cycle) and ``shift`` (``acceptance: shift``: the table's profile moved by one logit
shift fitted per session, and the finite-horizon K in the last tokens, ``horizon: true``; picked
by ``benchmarks/nasd_tune.py`` on calibration prompts) and ``stop`` (``draft_stop: true``: the table's
K* as the cap and the cutoff's rate, each draft ended by the draft's own probabilities, priced at the
predicted rate; :mod:`jointbench.specdec.nasd_stop`, its map fitted on the calibration prompts, no
parameter chosen on these) and ``stopend`` (the stop with ``answer_end: true``, each drafted token weighed by
the chance the target does not end the answer there, from the length survival of the calibration answers of the
query's prompt kind, and ``cutoff_margin: 0.9``: the pick of ``benchmarks/nasd_tune.py --grid stop-end`` on
held-out prompts under four compute calibrations).
**The targets are judged on** :data:`JUDGED`; the summary line also gives the other NASDs' numbers and misses. Under
each trace the line also prints the hindsight bound ``per-prompt best K ÷ best fixed K`` (each
prompt served with its own best fixed K, chosen after the fact): no controller that keeps one K
per prompt can beat it. One line per
condition, a summary line last; exit status 1 when a target is missed. ``--plot PNG`` also writes K per cycle under a
stable and the oscillating RTT with the RTT each decision saw beneath.

``--calibration FILE`` replays under that compute calibration (a cached ``calibration/<pair>-t1.json``)
instead of the cache's own, so one machine can judge the controllers under calibrations taken at other loads.

    JOINTBENCH_CACHE=... python benchmarks/nasd_vs_oracle.py [--variant cloud|nocutoff|edge] [--plot PNG]
                                                            [--calibration FILE]
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
ONLINE = {"acceptance": "online"}
"""What the online NASD adds to the variant's parameters (its defaults, picked by ``benchmarks/nasd_tune.py``)."""
SHIFT = {"acceptance": "shift", "shift_strength": 2.0, "discount": 1.0, "horizon": True}
"""What the shift NASD adds: picked on calibration prompts by ``benchmarks/nasd_tune.py --grid shift-fine --skip 0 24``
(K selection alone), RTT input from ``--variant cloud --grid shift-rtt`` (with the cutoff, SRTT beats raw)."""
STOP = {"draft_stop": True}
"""What the stop NASD adds: the table's K* for the cutoff and the rate, and each draft ended by the draft's
probabilities (:mod:`jointbench.specdec.nasd_stop`, the map fitted on the calibration prompts)."""
STOPEND = {**STOP, "answer_end": True, "cutoff_margin": 0.9}
"""What the judged NASD adds to the stop: each drafted token weighed by the chance the target does not end the
answer there (the map's answer-length survival of the query's prompt kind), and the cutoff entered below 0.9 x
the fallback's rate (the table's fixed-K rate it compares is a lower bound on the stop's, and leaving the fallback
costs a probe); both from ``benchmarks/nasd_tune.py --variant cloud --skip 24 40 --gsm8k-skip 8 --grid stop-end``
on four calibrations."""
NASDS = {"table": {}, "online": ONLINE, "shift": SHIFT, "stop": STOP, "stopend": STOPEND}
"""The NASDs each line compares (overrides of the variant's parameters)."""
JUDGED = "stopend"
"""The NASD the targets are judged on."""
TARGET, FLOOR = 0.99, 0.96


def _prompts() -> list[dict[str, Any]]:
    with open("examples/specdec/data/sd_prompts.jsonl", encoding="utf-8") as fh:
        return [json.loads(line)["question"] for line in fh if line.strip()]


def run(policy: str, k: int, params: dict[str, Any] | None, hw: str, network: dict[str, Any],
        bandwidth: float | None = 10.0, prompts: list[Any] | None = None, calibration: str | None = None
        ) -> tuple[float, list[dict[str, Any]]]:
    """Tokens/s (total tokens over total latency) of one strategy over the prompts (default: the test set),
    replayed under the compute ``calibration`` file (None: the cache's)."""
    s = SpecDecSession("edge_cloud", policy=policy, k=k, policy_params=params, hardware=hw, bandwidth_mbps=bandwidth,
                       network=network, calibration_file=calibration)
    recs = [s.predict(q, i) for i, q in enumerate(_prompts() if prompts is None else prompts)]
    tokens = sum(r["tokens_out"] for r in recs)
    latency = sum(r["latency_ms"] for r in recs)
    return 1000.0 * tokens / latency, recs


def oracle(hw: str, net: dict[str, Any], bw: float | None, prompts: list[Any] | None = None,
           calibration: str | None = None) -> tuple[int, float, float]:
    """Best fixed K in :data:`ORACLE_KS`, its tokens/s, and the per-prompt hindsight bound ÷ it."""
    runs = {k: run("fixed", k, None, hw, net, bw, prompts, calibration) for k in ORACLE_KS}
    k_star = max(sorted(runs), key=lambda k: (runs[k][0], -k))
    tokens = sum(r["tokens_out"] for r in runs[k_star][1])
    per_prompt = sum(min(runs[k][1][i]["latency_ms"] for k in ORACLE_KS) for i in range(len(runs[k_star][1])))
    return k_star, runs[k_star][0], 1000.0 * tokens / per_prompt / runs[k_star][0]


def _med(xs: list[float]) -> float:
    return sorted(xs)[len(xs) // 2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="cloud")
    ap.add_argument("--plot", default=None, help="write the judged NASD's K per cycle (stable 200 ms and oscillating) to this PNG")
    ap.add_argument("--calibration", default=None, help="compute calibration JSON to replay under (default: the cache's)")
    args = ap.parse_args(argv)
    cal = args.calibration
    params = VARIANTS[args.variant]
    nasds = {name: {**params, **extra} for name, extra in NASDS.items()}
    misses: dict[str, list[str]] = {name: [] for name in NASDS}
    ratios: dict[str, list[float]] = {name: [] for name in NASDS}
    trace_ratios: dict[str, list[float]] = {name: [] for name in NASDS}
    for hw in HARDWARE:
        for rtt in RTTS:
            net = {"network_rtt_ms": rtt, "network_seed": 0}
            k_star, best, _ = oracle(hw, net, 10.0, calibration=cal)
            cells = []
            for name, p in nasds.items():
                nasd, recs = run("nasd", 3, p, hw, net, calibration=cal)
                r = nasd / best
                ratios[name].append(r)
                lossy = any(x["extras"]["lossy"] for x in recs)
                status = "ok" if r >= TARGET else ("below target" if r >= FLOOR else "MISS")
                if r < FLOOR or (r < TARGET and not lossy):
                    misses[name].append(f"{hw} rtt {rtt}")
                cells.append(f"{name} {nasd:6.2f} = {r:5.3f} {status}{' (lossy)' if lossy else ''}")
            print(f"stable  {hw:28s} rtt {rtt:4d} ms  oracle K={k_star:2d} {best:6.2f} tok/s  NASD "
                  + "  |  ".join(cells), flush=True)
        for prof in TRACES:
            net = {"network_profile": prof, "network_seed": 0}
            k_star, best, bound = oracle(hw, net, None, calibration=cal)
            ucb = run("ucb", 3, None, hw, net, None, calibration=cal)[0]
            cells = []
            for name, p in nasds.items():
                nasd = run("nasd", 3, p, hw, net, None, calibration=cal)[0]
                r = nasd / best
                trace_ratios[name].append(r)
                if r <= 1.0:
                    misses[name].append(f"{hw} {prof}")
                cells.append(f"{name} {nasd:6.2f} = {r:5.3f} ({'ok' if r > 1.0 else 'MISS'}, /UCB {nasd / ucb:5.3f})")
            print(f"trace   {hw:28s} {prof:11s}  best fixed K={k_star:2d} {best:6.2f} tok/s  UCB {ucb:6.2f}  "
                  f"hindsight per-prompt K {bound:5.3f}  NASD " + "  |  ".join(cells), flush=True)
    if args.plot:
        from jointbench.specdec.nasd_plots import plot_k_per_cycle

        hw = "this-cpu/this-cpu"
        judged = nasds[JUDGED]
        recs = {f"NASD-{JUDGED}, stable RTT 200 ms ({hw})":
                run("nasd", 3, judged, hw, {"network_rtt_ms": 200}, calibration=cal)[1][:6],
                f"NASD-{JUDGED}, oscillating ({hw})":
                run("nasd", 3, judged, hw, {"network_profile": "oscillating"}, None, calibration=cal)[1][:6]}
        print(plot_k_per_cycle(recs, args.plot))

    def _line(name: str) -> str:
        return (f"NASD-{name}/oracle min {min(ratios[name]):.3f} median {_med(ratios[name]):.3f} over "
                f"{len(ratios[name])} stable conditions, /best fixed K under traces min {min(trace_ratios[name]):.3f} "
                f"median {_med(trace_ratios[name]):.3f}, {len(misses[name])} missed")
    others = [n for n in NASDS if n != JUDGED]
    print(f"SUMMARY variant={args.variant}, targets judged on NASD-{JUDGED} (stable >= {TARGET}, floor {FLOOR}; "
          f"traces > 1.0): {_line(JUDGED)}; "
          + "; ".join(f"{_line(n)} ({'; '.join(misses[n]) or 'none'})" for n in others)
          + f"; {'PASS' if not misses[JUDGED] else 'MISS: ' + '; '.join(misses[JUDGED])}")
    return 1 if misses[JUDGED] else 0


if __name__ == "__main__":
    sys.exit(main())
