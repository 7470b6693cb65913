"""Real time across two processes vs the virtual clock, through the ``transport`` switch.

For each RTT and strategy (cloud-only, edge-cloud fixed K, edge-cloud adaptive: NASD when it is
registered, else the heuristic), the same :class:`~jointbench.specdec.session.SpecDecSession`
configuration serves the same prompts with ``transport: tcp`` (the cloud service in its own
process, the link applied by the shaping proxy on the loopback socket, the draft here, wall-clock
timings; one warm-up query first, not counted) and is timed on the virtual clock, side by side in
one run, by these clocks:

- ``this-run``: ``transport: inprocess`` with the calibration this script measures at its start
  (same machine; every forward timed back to back, as the suite calibrates);
- ``cached``: ``transport: inprocess`` with the suite's cached calibration (another time and load);
- ``replay``: the tcp run's OWN cycles (its ``K`` sequence, drafts and acceptances) on the virtual
  clock with the ``this-run`` calibration. An adaptive policy (NASD) reads the wall clock's round
  trip, which carries the transport's overhead, so on the wall clock it picks other ``K`` than on
  the virtual clock; replaying its real ``K`` compares the clocks cycle for cycle (the policy's
  choices are not what is checked here);
- ``fresh``: the same cycles with draft, verify and decode re-measured right before this
  strategy's tcp run (a loaded machine's speed drifts 2x within minutes; prefill tables are
  this-run's scaled by prefill(16) now / then);
- ``fresh-idle`` (the gate): ``fresh`` with its verify passes (``K >= 1``) multiplied by how much
  slower a verify pass runs right after a sleep of the one-way delay than back to back, and its
  draft step by the same for one draft step in one of every ``--k`` steps (only a cycle's first
  draft step follows the wait), both measured at the start with the two alternating
  (:func:`transport_clocks.idle_factor`, drift cancels): in the tcp run both processes have waited
  that long on the link, with nothing to compute, before each verify and each draft block
  (``benchmarks/compute_after_idle.py``); at RTT 0 it is ``fresh``;
- ``measured``: the tcp run's own cycles AND its measured compute (draft spans, the cloud's
  reported prefill/verify/decode) on the virtual clock: what the transport alone adds.

Printed per strategy and RTT: real / virtual of the mean per-cycle time (commit to commit:
``(latency - ttft) / (commits - 1)``) and of the end-to-end latency, per clock; the tcp run's
measured compute per stage ÷ each calibration (median over cycles: where a gap is); the
transport's own overhead (real latency beyond the ``measured`` clock's) in ms per cycle, at RTT 0
the floor; whether tokens are identical (tcp = in process = cloud-only greedy). ``--rtts
0,100,25,0`` interleaves RTTs to separate an RTT effect from drift. The summary line (with the
load average) comes last; the exit code is 1 when a ratio of the gated clock (``--gate``, default
``fresh-idle``) at RTT >= 25 ms is off by more than ``--tolerance`` or tokens differ.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transport_vs_virtual.py                # SmolLM2 pair
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transport_vs_virtual.py --pair tiny-random \
        --adaptive heuristic                                                                # smoke
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport_clocks import MeasuredCompute, idle_factor, replayed_virtual, stage_ratios

ROOT_PROMPTS = Path(__file__).resolve().parents[1] / "examples" / "specdec" / "data" / "sd_prompts.jsonl"
CLOCKS = ("this-run", "cached", "replay", "fresh", "fresh-idle", "measured")
"""Virtual clocks compared with the tcp run (see the module docstring)."""


@dataclass
class Row:
    strategy: str
    clock: str
    rtt_ms: float
    cycle_ratio: float
    e2e_ratio: float
    same_tokens: bool


def per_cycle_ms(records: list[dict[str, Any]]) -> float:
    """Mean commit-to-commit time over the queries (ms): sum of ``latency - ttft`` over sum of ``commits - 1``."""
    span = gaps = 0.0
    for r in records:
        commits = r["cycles"] if r["cycles"] is not None else r["tokens_out"]
        span += r["latency_ms"] - (r["ttft_ms"] or 0.0)
        gaps += max(0, commits - 1)
    return span / gaps if gaps else float("nan")


def overhead_ms_per_commit(real: list[dict[str, Any]], measured: list[dict[str, Any]]) -> float:
    """Real latency beyond the ``measured`` clock (the same compute and link on the virtual clock), per commit (ms)."""
    extra = sum(r["latency_ms"] - m["latency_ms"] for r, m in zip(real, measured))
    commits = sum(r["cycles"] if r["cycles"] is not None else r["tokens_out"] for r in real)
    return extra / commits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="smollm2-135m-int8")
    parser.add_argument("--rtts", default="0,25,100", help="comma-separated RTTs (ms), repeats allowed")
    parser.add_argument("--bw", type=float, default=100.0, help="bandwidth both ways (Mbit/s)")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--prompts", type=int, default=3, help="first N prompts of the root test set")
    parser.add_argument("--tolerance", type=float, default=0.10, help="allowed |ratio - 1| at RTT >= 25 ms")
    parser.add_argument("--gate", choices=CLOCKS, default="fresh-idle", help="which clock's ratios are gated")
    parser.add_argument("--adaptive", choices=("auto", "nasd", "heuristic"), default="auto",
                        help="the adaptive policy (auto: NASD when registered; it needs the pair's NASD table)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    load_before = os.getloadavg()
    from jointbench.specdec.calibrate import calibrate
    from jointbench.specdec.compute import (
        CALIBRATION_KS,
        CALIBRATION_PROMPT_LENS,
        cached_calibration,
        calibration_path,
        compute_model,
    )
    from jointbench.specdec.parts import POLICY, available
    from jointbench.specdec.session import SpecDecSession
    from jointbench.specdec.tracestore import get_pair

    pair = get_pair(args.pair)
    adaptive = args.adaptive if args.adaptive != "auto" else "nasd" if "nasd" in available(POLICY) else "heuristic"
    strategies = {"cloud-only": {"strategy": "cloud_only"},
                  f"fixed K={args.k}": {"strategy": "edge_cloud", "policy": "fixed", "k": args.k},
                  adaptive: {"strategy": "edge_cloud", "policy": adaptive, "k": args.k,
                             # NASD picks K from the RTT; its cutoff's fallback steps do not run over tcp yet
                             **({"policy_params": {"cutoff": False}} if adaptive == "nasd" else {})}}
    rows_in = [json.loads(line) for line in ROOT_PROMPTS.read_text().splitlines() if line.strip()]
    queries = [{**row["question"], "index": i} for i, row in enumerate(rows_in[: args.prompts])]
    rtts = [float(x) for x in args.rtts.split(",")]

    cached_calibration(pair)  # make sure the cached one exists
    tmpdir = tempfile.TemporaryDirectory()
    files = {"cached": str(calibration_path(args.pair))}
    cals: dict[str, Any] = {}

    def save(name: str, cal: Any) -> None:
        cals[name] = cal
        files[name] = os.path.join(tmpdir.name, f"{name}.json")
        with open(files[name], "w", encoding="utf-8") as fh:
            json.dump(cal.to_dict(), fh)

    this_run = calibrate(pair.target, pair.draft, prompt_lens=CALIBRATION_PROMPT_LENS, ks=CALIBRATION_KS)
    save("this-run", this_run)
    print(f"calibration this-run: t_draft {this_run.draft_ms:.2f} ms, t_verify(3) {this_run.verify_ms[3]:.2f} ms, "
          f"t_decode {this_run.verify_ms[0]:.2f} ms; cached {files['cached']}", flush=True)
    factors = {0.0: (1.0, 1.0)}  # RTT -> (verify pass, first draft step) after the one-way wait
    for rtt in sorted(set(rtts) - {0.0}):
        (verify, spread), (draft, _) = (idle_factor(pair.target, rtt / 2, args.k),
                                        idle_factor(pair.draft, rtt / 2, 0))
        factors[rtt] = (verify, draft)
        print(f"idle factor {rtt / 2:g} ms: right after that sleep a verify pass (K={args.k}) takes {verify:.3f}x, "
              f"a draft step {draft:.3f}x the back-to-back one (alternating, median of 15 each); back to back, "
              f"verify median / q0.2 (the calibration's statistic) = {spread:.3f}", flush=True)

    def fresh_calibration() -> Any:
        """Draft/verify/decode measured now; prefill tables: this run's, scaled by prefill(16) now / then."""
        n = CALIBRATION_PROMPT_LENS[0]
        now = calibrate(pair.target, pair.draft, prompt_lens=(n,), ks=CALIBRATION_KS)
        scaled = {role: {m: v * getattr(now, role)[n] / getattr(this_run, role)[n]
                         for m, v in getattr(this_run, role).items()}
                  for role in ("prefill_target_ms", "prefill_draft_ms")}
        return dataclasses.replace(now, **scaled)

    rows: list[Row] = []
    floors: list[str] = []
    try:
        for rtt in rtts:
            net = {"network_rtt_ms": rtt, "network_uplink_bandwidth_mbps": args.bw,
                   "network_downlink_bandwidth_mbps": args.bw}
            for label, hp in strategies.items():
                common = dict(pair=args.pair, max_new_tokens=args.max_new_tokens, network=dict(net), **hp)
                fresh = fresh_calibration()
                cals["fresh"] = fresh
                fv, fd = factors[rtt]  # only a cycle's first draft step follows the wait
                cals["fresh-idle"] = dataclasses.replace(
                    fresh, verify_ms={k: v * fv if k else v for k, v in fresh.verify_ms.items()},
                    draft_ms=fresh.draft_ms * (fd + args.k - 1) / args.k,
                    statistic=f"{fresh.statistic}; verify x{fv:.3f}, first draft step x{fd:.3f} after {rtt / 2:g} ms")
                tcp = SpecDecSession(transport="tcp", **common)
                try:
                    tcp.predict(dict(queries[0]))  # warm-up: service start, first forwards
                    real, outcomes = [], []
                    for q in queries:
                        real.append(tcp.predict(dict(q)))
                        outcomes.append(tcp.last_outcome)
                finally:
                    tcp.close()
                n_prompt = [r["extras"]["prompt_tokens"] for r in real]
                for clock in CLOCKS:
                    if clock == "measured":
                        fallback = compute_model(fresh)
                        virt = [replayed_virtual(o, n, tcp, MeasuredCompute(o, fallback), args.max_new_tokens)
                                for o, n in zip(outcomes, n_prompt)]
                    elif clock in ("replay", "fresh", "fresh-idle"):
                        model = compute_model(cals["this-run" if clock == "replay" else clock])
                        virt = [replayed_virtual(o, n, tcp, model, args.max_new_tokens)
                                for o, n in zip(outcomes, n_prompt)]
                    else:
                        virtual = SpecDecSession(transport="inprocess", calibration_file=files[clock], **common)
                        virt = [virtual.predict(dict(q)) for q in queries]
                    same = all(r["extras"]["tokens"] == v["extras"]["tokens"] and r["extras"]["agrees_with_cloud"]
                               for r, v in zip(real, virt))
                    rc, vc = per_cycle_ms(real), per_cycle_ms(virt)
                    re2e, ve2e = sum(r["latency_ms"] for r in real), sum(v["latency_ms"] for v in virt)
                    row = Row(label, clock, rtt, rc / vc, re2e / ve2e, same)
                    rows.append(row)
                    if clock == "measured":
                        over = overhead_ms_per_commit(real, virt)
                    print(f"{label:12s} RTT {rtt:5.0f} ms vs {clock:10s}: per-cycle real {rc:7.2f} / virtual "
                          f"{vc:7.2f} ms = {row.cycle_ratio:.3f}; end-to-end {re2e:8.1f} / {ve2e:8.1f} ms = "
                          f"{row.e2e_ratio:.3f}; tokens identical: {same}", flush=True)
                if rtt == 0.0:
                    floors.append(f"{label} {over:+.2f}")
                stages = {name: stage_ratios(outcomes, compute_model(cals[name]))
                          for name in ("this-run", "fresh", "fresh-idle")}
                print(f"{label:12s} RTT {rtt:5.0f} ms measured compute ÷ calibration (median over cycles): "
                      + "; ".join(f"{name} " + ", ".join(f"{k} {v:.3f}" for k, v in st.items())
                                  for name, st in stages.items())
                      + f" (fresh: t_draft {fresh.draft_ms:.2f}, t_verify(3) {fresh.verify_ms[3]:.2f}, "
                        f"t_decode {fresh.verify_ms[0]:.2f} ms)", flush=True)
                print(f"{label:12s} RTT {rtt:5.0f} ms transport overhead {over:+.2f} ms/cycle (real latency beyond "
                      f"the same compute and link on the virtual clock); K per cycle "
                      f"{[[c.k for c in o.cycles] for o in outcomes]}" if tcp.strategy.speculative else
                      f"{label:12s} RTT {rtt:5.0f} ms transport overhead {over:+.2f} ms/token", flush=True)
    finally:
        tmpdir.cleanup()

    checked = [r for r in rows if r.clock == args.gate and r.rtt_ms >= 25.0]
    misses = [r for r in checked if abs(r.cycle_ratio - 1) > args.tolerance or abs(r.e2e_ratio - 1) > args.tolerance]
    bad_tokens = [r for r in rows if not r.same_tokens]
    worst = {c: max((max(abs(r.cycle_ratio - 1), abs(r.e2e_ratio - 1)) for r in rows
                     if r.clock == c and r.rtt_ms >= 25.0), default=0.0) for c in CLOCKS}
    ok = not misses and not bad_tokens
    load_after = os.getloadavg()
    print(f"SUMMARY transport_vs_virtual pair={args.pair} strategies={list(strategies)} rtts={args.rtts}: worst "
          f"|real/virtual - 1| at RTT>=25 = {', '.join(f'{c} {w:.3f}' for c, w in worst.items())} (gate {args.gate}, "
          f"target <= {args.tolerance:.2f}); overhead floor at RTT 0 (ms/cycle): {', '.join(floors) or 'not run'}; "
          f"tokens identical: {not bad_tokens}; load average (1/5/15 min) before "
          f"{'/'.join(f'{x:.1f}' for x in load_before)}, after {'/'.join(f'{x:.1f}' for x in load_after)} on "
          f"{os.cpu_count()} CPUs; {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
