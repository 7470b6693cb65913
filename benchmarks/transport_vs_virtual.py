"""Real time across two processes vs the virtual clock, through the ``transport`` switch.

For each RTT and strategy (cloud-only, edge-cloud fixed K, edge-cloud adaptive: NASD when it is
registered, else the heuristic), the same :class:`~jointbench.specdec.session.SpecDecSession`
configuration serves the same prompts twice, side by side in one run:

- ``transport: tcp``: the cloud service in its own process, the link applied by the shaping
  proxy on the loopback socket, the draft here, wall-clock timings (one warm-up query first,
  not counted: the first forwards of a fresh process are slow);
- ``transport: inprocess``: the virtual clock, once per calibration:
  ``this-run`` measured by this script just before (the same machine under the same load: the
  calibration the comparison is about), ``cached`` the suite's cached calibration of the pair
  (measured at another time, under another load);
- ``measured``: the tcp run's own cycles and measured compute (draft spans, the cloud's reported
  verify/decode times) placed by the suite's loop on the virtual clock with a fresh link of the same
  config, so its ratio isolates what the transport adds (sockets, proxy, scheduling, the cloud's
  unreported prefill wait) from compute that drifts away from any calibration under machine load.

Printed per strategy and RTT: the ratio real / virtual of the mean per-cycle time (commit to
commit: ``(latency - ttft) / (commits - 1)``) and of the end-to-end latency, per calibration;
the transport's own overhead (real latency minus what the real timeline accounts for: measured
edge and cloud compute and the link's exposed network time) in ms per cycle; whether the tokens
are identical (tcp = in process = cloud-only greedy). At RTT 0 the per-cycle overhead is the
floor. The summary line comes last; the exit code is 1 when a ratio of the gated calibration
(``--gate``, default ``this-run``) at RTT >= 25 ms is off by more than ``--tolerance`` or tokens
differ.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transport_vs_virtual.py                 # SmolLM2 pair
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transport_vs_virtual.py --pair tiny-random  # smoke
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT_PROMPTS = Path(__file__).resolve().parents[1] / "examples" / "specdec" / "data" / "sd_prompts.jsonl"
CLOCKS = ("this-run", "cached", "measured")


class MeasuredCompute:
    """Duck-typed ComputeModel answering with one tcp query's measured stage times, cycle by cycle.

    From the real timeline: the draft prefill, each cycle's drafting span (per drafted token) and
    the cloud's reported verify time; cloud-only: the first token's reported compute (prefill) and
    the mean reported decode step. What the tcp run does not measure (the cloud's prefill before
    the first VERIFY) comes from ``fallback``.
    """

    def __init__(self, outcome: Any, fallback: Any) -> None:
        ev = [e for e in outcome.timeline.events if e.kind == "compute"]
        self.fallback, self.i = fallback, 0
        self.edge_prefill = sum(e.duration_ms for e in ev if e.where == "edge" and e.stage == "prefill")
        drafts = iter(e.duration_ms for e in ev if e.where == "edge" and e.stage == "draft")
        self.draft = [next(drafts) / c.drafted if c.drafted else 0.0 for c in outcome.cycles]
        self.verify = [e.duration_ms for e in ev if e.where == "cloud" and e.stage == "verify"]
        first = [e.duration_ms for e in ev if e.where == "cloud" and e.stage == "prefill"]
        steps = [e.duration_ms for e in ev if e.where == "cloud" and e.stage == "decode"]
        self.first = first[0] if first else None
        self.step = sum(steps) / len(steps) if steps else None

    def edge_prefill_ms(self, n: int) -> float:
        return self.edge_prefill or self.fallback.edge_prefill_ms(n)

    def cloud_prefill_ms(self, n: int) -> float:
        return self.first if self.first is not None else self.fallback.cloud_prefill_ms(n)

    def draft_ms(self) -> float:
        return self.draft[self.i]

    def verify_ms(self, k: int) -> float:
        self.i += 1
        return self.verify[self.i - 1]

    def decode_ms(self) -> float:
        return self.step if self.step is not None else self.fallback.decode_ms()


class Replay:
    """A policy that asks for the ``K`` each recorded cycle was drafted with."""

    reads_link = False

    def __init__(self, ks: list[int]) -> None:
        self.ks = ks

    def reset(self) -> None:
        """Nothing to reset."""

    def next_k(self, state: Any) -> int:
        return self.ks[state.cycle]

    def update(self, outcome: Any) -> None:
        """Nothing learnt."""


def measured_virtual(outcome: Any, n_prompt: int, session: Any, fallback: Any, max_new_tokens: int) -> dict[str, Any]:
    """The tcp query's own cycles and measured compute, placed on the virtual clock by the suite's loop."""
    from jointbench.netsim import Link
    from jointbench.specdec.loop import run_query
    from jointbench.specdec.sources import RecordedSource, TokenSource
    from jointbench.specdec.strategy import Strategy

    base = session.strategy
    if base.speculative:
        source: Any = RecordedSource(n_prompt, outcome.cycles)
        strategy = Strategy(base.placement, Replay([c.k for c in outcome.cycles]), base.codec)
    else:
        source, strategy = TokenSource(n_prompt, outcome.tokens), Strategy(base.placement, None, base.codec)
    link = Link(session.link.config)
    tl = run_query(strategy, source, MeasuredCompute(outcome, fallback), link, max_new_tokens).timeline
    return {"latency_ms": tl.latency_ms, "ttft_ms": tl.ttft_ms, "tokens_out": tl.tokens_out,
            "cycles": len(outcome.cycles) if base.speculative else None,
            "extras": {"tokens": list(outcome.tokens), "agrees_with_cloud": True}}


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


def overhead_ms_per_cycle(records: list[dict[str, Any]]) -> float:
    """Real latency beyond measured compute and exposed network, per commit (ms)."""
    extra = sum(r["latency_ms"] - r["edge_compute_ms"] - r["cloud_compute_ms"] - r["network_ms"] for r in records)
    commits = sum(r["cycles"] if r["cycles"] is not None else r["tokens_out"] for r in records)
    return extra / commits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="smollm2-135m-int8")
    parser.add_argument("--rtts", default="0,25,100", help="comma-separated RTTs (ms)")
    parser.add_argument("--bw", type=float, default=100.0, help="bandwidth both ways (Mbit/s)")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--prompts", type=int, default=3, help="first N prompts of the root test set")
    parser.add_argument("--tolerance", type=float, default=0.10, help="allowed |ratio - 1| at RTT >= 25 ms")
    parser.add_argument("--gate", choices=CLOCKS, default="this-run", help="which calibration's ratios are gated")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
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
    adaptive = "nasd" if "nasd" in available(POLICY) else "heuristic"
    strategies = {"cloud-only": {"strategy": "cloud_only"},
                  f"fixed K={args.k}": {"strategy": "edge_cloud", "policy": "fixed", "k": args.k},
                  adaptive: {"strategy": "edge_cloud", "policy": adaptive, "k": args.k,
                             # NASD picks K from the RTT; its cutoff's fallback steps do not run over tcp yet
                             **({"policy_params": {"cutoff": False}} if adaptive == "nasd" else {})}}
    rows_in = [json.loads(line) for line in ROOT_PROMPTS.read_text().splitlines() if line.strip()]
    queries = [{**row["question"], "index": i} for i, row in enumerate(rows_in[: args.prompts])]

    cached_calibration(pair)  # make sure the cached one exists
    calibrations = {"cached": str(calibration_path(args.pair))}
    this_run = calibrate(pair.target, pair.draft, prompt_lens=CALIBRATION_PROMPT_LENS, ks=CALIBRATION_KS)
    tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
    json.dump(this_run.to_dict(), tmp)
    tmp.close()
    calibrations["this-run"] = tmp.name
    fallback = compute_model(this_run)
    print(f"calibrations: this-run t_draft {this_run.draft_ms:.2f} ms, t_verify(3) {this_run.verify_ms[3]:.2f} ms, "
          f"t_decode {this_run.verify_ms[0]:.2f} ms; cached {calibrations['cached']}", flush=True)

    rows: list[Row] = []
    floors: list[str] = []
    try:
        for rtt in (float(x) for x in args.rtts.split(",")):
            net = {"network_rtt_ms": rtt, "network_uplink_bandwidth_mbps": args.bw,
                   "network_downlink_bandwidth_mbps": args.bw}
            for label, hp in strategies.items():
                common = dict(pair=args.pair, max_new_tokens=args.max_new_tokens, network=dict(net), **hp)
                tcp = SpecDecSession(transport="tcp", **common)
                try:
                    tcp.predict(dict(queries[0]))  # warm-up: service start, first forwards
                    real, outcomes = [], []
                    for q in queries:
                        real.append(tcp.predict(dict(q)))
                        outcomes.append(tcp.last_outcome)
                finally:
                    tcp.close()
                over = overhead_ms_per_cycle(real)
                if rtt == 0.0:
                    floors.append(f"{label} {over:+.2f}")
                for clock in CLOCKS:
                    if clock == "measured":
                        virt = [measured_virtual(o, r["extras"]["prompt_tokens"], tcp, fallback, args.max_new_tokens)
                                for o, r in zip(outcomes, real)]
                    else:
                        virtual = SpecDecSession(transport="inprocess", calibration_file=calibrations[clock], **common)
                        virt = [virtual.predict(dict(q)) for q in queries]
                    same = all(r["extras"]["tokens"] == v["extras"]["tokens"] and r["extras"]["agrees_with_cloud"]
                               for r, v in zip(real, virt))
                    rc, vc = per_cycle_ms(real), per_cycle_ms(virt)
                    re2e, ve2e = sum(r["latency_ms"] for r in real), sum(v["latency_ms"] for v in virt)
                    row = Row(label, clock, rtt, rc / vc, re2e / ve2e, same)
                    rows.append(row)
                    print(f"{label:12s} RTT {rtt:5.0f} ms vs {clock:8s}: per-cycle real {rc:7.2f} / virtual {vc:7.2f} ms"
                          f" = {row.cycle_ratio:.3f}; end-to-end {re2e:8.1f} / {ve2e:8.1f} ms = {row.e2e_ratio:.3f};"
                          f" tokens identical: {same}", flush=True)
                print(f"{label:12s} RTT {rtt:5.0f} ms transport overhead {over:+.2f} ms/cycle (real latency beyond "
                      f"measured compute and the link's time); cycles {[r['cycles'] for r in real]}", flush=True)
    finally:
        os.unlink(tmp.name)

    checked = [r for r in rows if r.clock == args.gate and r.rtt_ms >= 25.0]
    misses = [r for r in checked if abs(r.cycle_ratio - 1) > args.tolerance or abs(r.e2e_ratio - 1) > args.tolerance]
    bad_tokens = [r for r in rows if not r.same_tokens]
    worst = {c: max((max(abs(r.cycle_ratio - 1), abs(r.e2e_ratio - 1)) for r in rows
                     if r.clock == c and r.rtt_ms >= 25.0), default=0.0) for c in CLOCKS}
    ok = not misses and not bad_tokens
    print(f"SUMMARY transport_vs_virtual pair={args.pair} strategies={list(strategies)}: worst |real/virtual - 1| at "
          f"RTT>=25 = {', '.join(f'{c} {w:.3f}' for c, w in worst.items())} (gate {args.gate}, target <= "
          f"{args.tolerance:.2f}); overhead floor at RTT 0 (ms/cycle): {', '.join(floors) or 'not run'}; tokens "
          f"identical: {not bad_tokens}; load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} CPUs; {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
