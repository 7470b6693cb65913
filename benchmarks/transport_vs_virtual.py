"""Real time across two processes vs the virtual clock, through the ``transport`` switch.

For each RTT and strategy (cloud-only, edge-cloud fixed K, edge-cloud adaptive: NASD when it is
registered, else the heuristic; ``--adaptive nasd-cloud``: NASD with its cutoff and the cloud-only
fallback, whose streamed steps every replaying clock replays too), one ``transport: tcp`` session (the
cloud service in its own process, the link applied by the shaping proxy on the loopback socket, the draft here, wall-clock
timings; one warm-up query first, not counted) serves the same prompts ``--repeats`` times at RTT >= 25
ms and once at RTT 0 (each pass over the prompts is one *repeat*), and every query is re-timed on the
virtual clock, side by side in one run, by these clocks:

- ``bracket``: the query's own cycles (its ``K`` sequence, drafts and acceptances) with the
  context-dependent compute model (``compute_context``), from the start calibration's context fits
  rescaled by stage timings taken right before and right after that very query at its context
  (the mean of the two; the verify pass at the ``K`` the query used most, timed in the order of a
  cycle: verify, re-feed, draft step; :mod:`transport_bracket`).
  This VM's CPU speed moves within minutes, so only a calibration this close in time can price a
  query to ±10%;
- ``bracket-2p`` (the gate): ``bracket`` with levels timed across the two processes instead (synthetic draft/verify
  cycles of the query's ``K`` at its context through a second connection to the same cloud service, behind
  a proxy of its own with the session's link; the edge's measured draft block, the cloud's reported verify;
  :class:`transport_bracket.TwoProcessTimer`; cloud-only: a short DECODE stream), right before and after the
  in-process brackets. Timed in one process, back to back, the stages miss what the deployment's
  configuration costs them (each process waits for the other and the link between its stages): on this VM
  the in-process brackets left speculative rows 5-16% slow;
- ``bracket-flat``: the same brackets, the rescaled fits charged flat at the calibration's 64-token
  context with no re-feed (what the context model adds, with levels measured at the same moments);
- ``this-run``: ``transport: inprocess`` with the calibration this script measures at its start
  (flat; every forward timed back to back, as the suite calibrates);
- ``cached``: ``transport: inprocess`` with the suite's cached calibration (another time and load);
- ``replay`` / ``replay-ctx``: the tcp query's own cycles with the start calibration, flat / with
  context. An adaptive policy (NASD) reads the wall clock's round trip, which carries the transport's
  overhead, so on the wall clock it picks other ``K`` than on the virtual clock; replaying its real
  ``K`` compares the clocks cycle for cycle (the policy's choices are not what is checked here);
- ``fresh``: the same cycles with a flat calibration of draft, verify and decode measured (q0.2 of 5
  runs) right before this strategy's tcp session (prefill tables: this-run's scaled by prefill(16) now / then);
- ``fresh-idle``: ``fresh`` with its verify passes (``K >= 1``) times how much slower a verify pass runs
  right after a sleep of the one-way delay than back to back, and its draft step by the same for one
  draft step in every ``--k`` (both measured at the start, alternating; :func:`transport_clocks.idle_factor`);
- ``measured``: the tcp query's own cycles AND its measured compute (draft spans, the cloud's reported
  prefill/verify/decode) on the virtual clock: what the transport alone adds.

Printed per strategy and RTT: real / virtual of the mean per-cycle time (commit to commit:
``(latency - ttft) / (commits - 1)``) and of the end-to-end latency per clock, as the median over the
repeats with its range ``[min-max]``; the brackets' factors; the tcp run's measured compute per stage
÷ the start calibration (context model) and ÷ the brackets; the transport's own overhead (real latency
beyond the ``measured`` clock's) in ms per cycle, at RTT 0 the floor; whether tokens are identical
(tcp = in process = cloud-only greedy). The summary line (with the load average) comes last; the exit
code is 1 when a median ratio of the gated clock (``--gate``, default ``bracket-2p``) at RTT >= 25 ms is
off by more than ``--tolerance`` or tokens differ.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transport_vs_virtual.py                # SmolLM2 pair
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transport_vs_virtual.py --pair tiny-random \
        --adaptive heuristic                                                                # smoke
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transport_bracket import Factors, StageTimer, TwoProcessTimer, bracketed, stage_levels, two_process_levels
from transport_clocks import MeasuredCompute, idle_factor, replayed_virtual, stage_ratios

ROOT_PROMPTS = Path(__file__).resolve().parents[1] / "examples" / "specdec" / "data" / "sd_prompts.jsonl"
CLOCKS = ("bracket", "bracket-flat", "bracket-2p", "this-run", "cached", "replay", "replay-ctx", "fresh", "fresh-idle",
          "measured")
"""Virtual clocks compared with the tcp run (see the module docstring)."""
CONTEXT_KS = (0, 1, 2, 3, 5, 8, 12, 16)
"""Draft lengths whose verify pass the start calibration fits against the context (K between: interpolated)."""


@dataclass
class Row:
    """One (strategy, clock, RTT): real / virtual per repeat."""

    strategy: str
    clock: str
    rtt_ms: float
    cycle_ratios: list[float]
    e2e_ratios: list[float]
    same_tokens: bool

    @property
    def cycle_ratio(self) -> float:
        return statistics.median(self.cycle_ratios)

    @property
    def e2e_ratio(self) -> float:
        return statistics.median(self.e2e_ratios)

    def miss(self) -> float:
        """Worst ``|median ratio - 1|`` of per-cycle and end to end."""
        return max(abs(self.cycle_ratio - 1), abs(self.e2e_ratio - 1))


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


def spread(xs: list[float]) -> str:
    """``median [min-max]``."""
    return f"{statistics.median(xs):.3f} [{min(xs):.3f}-{max(xs):.3f}]"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="smollm2-135m-int8")
    parser.add_argument("--rtts", default="0,25,100", help="comma-separated RTTs (ms), repeats allowed")
    parser.add_argument("--repeats", type=int, default=3,
                        help="passes over the prompts per strategy and RTT >= 25 ms (RTT 0, the floor: one)")
    parser.add_argument("--bw", type=float, default=100.0, help="bandwidth both ways (Mbit/s)")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--prompts", type=int, default=3, help="first N prompts of the root test set")
    parser.add_argument("--context-lens", default="64,128,192",
                        help="cache lengths (tokens) the start calibration fits each stage over")
    parser.add_argument("--tolerance", type=float, default=0.10, help="allowed |median ratio - 1| at RTT >= 25 ms")
    parser.add_argument("--gate", choices=CLOCKS, default="bracket-2p",
                        help="which clock's ratios are gated (bracket-2p: the calibration taken across the two "
                             "processes; bracket: taken in this one)")
    parser.add_argument("--adaptive", choices=("auto", "nasd", "nasd-cloud", "heuristic"), default="auto",
                        help="the adaptive policy (auto: NASD when registered; it needs the pair's NASD table); "
                             "nasd: its cutoff off; nasd-cloud: its cutoff on with the cloud-only fallback (the "
                             "cloud streams while the link is too slow to speculate)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    load_before = os.getloadavg()
    from jointbench.specdec.calibrate import calibrate
    from jointbench.specdec.compute import CALIBRATION_KS, cached_calibration, calibration_path, compute_model
    from jointbench.specdec.parts import POLICY, available
    from jointbench.specdec.session import SpecDecSession
    from jointbench.specdec.tracestore import encode_prompt, get_pair

    pair = get_pair(args.pair)
    adaptive = args.adaptive if args.adaptive != "auto" else "nasd" if "nasd" in available(POLICY) else "heuristic"
    # NASD's default edge-only cutoff would fire at every RTT here (the draft alone outpaces speculation on
    # this CPU): `nasd` turns the cutoff off (K from the RTT), `nasd-cloud` keeps it with the cloud fallback
    params = {"nasd": {"cutoff": False}, "nasd-cloud": {"fallback": "cloud_only"}}.get(adaptive)
    strategies = {"cloud-only": {"strategy": "cloud_only"},
                  f"fixed K={args.k}": {"strategy": "edge_cloud", "policy": "fixed", "k": args.k},
                  adaptive: {"strategy": "edge_cloud", "policy": adaptive.split("-")[0], "k": args.k,
                             **({"policy_params": params} if params else {})}}
    rows_in = [json.loads(line) for line in ROOT_PROMPTS.read_text().splitlines() if line.strip()]
    queries = [{**row["question"], "index": i} for i, row in enumerate(rows_in[: args.prompts])]
    n_prompts = [len(encode_prompt(pair, q["prompt"])) for q in queries]
    contexts = [n + args.max_new_tokens // 2 for n in n_prompts]  # a query's bracket context: its middle
    rtts = [float(x) for x in args.rtts.split(",")]
    context_lens = tuple(int(x) for x in args.context_lens.split(","))

    cached_calibration(pair)  # make sure the cached one exists
    tmpdir = tempfile.TemporaryDirectory()
    files = {"cached": str(calibration_path(args.pair))}
    cals: dict[str, Any] = {}

    def save(name: str, cal: Any) -> None:
        cals[name] = cal
        files[name] = os.path.join(tmpdir.name, f"{name}.json")
        with open(files[name], "w", encoding="utf-8") as fh:
            json.dump(cal.to_dict(), fh)

    prompt_lens = (16, 64, 128)
    this_run = calibrate(pair.target, pair.draft, prompt_lens=prompt_lens, ks=CALIBRATION_KS,
                         context_lens=context_lens, context_ks=CONTEXT_KS)
    save("this-run", this_run)
    fits = this_run.context_costs
    print(f"calibration this-run: t_draft {this_run.draft_ms:.2f} ms, t_verify(3) {this_run.verify_ms[3]:.2f} ms, "
          f"t_decode {this_run.verify_ms[0]:.2f} ms (q0.2 at 64 cached); least-squares over {list(context_lens)} "
          f"tokens: draft {fits.draft.base_ms:.2f} + {fits.draft.slope_ms_per_token:.4f}/token, re-feed "
          f"{fits.refeed.base_ms:.2f} + {fits.refeed.slope_ms_per_token:.4f}, verify(3) {fits.verify[3].base_ms:.2f} "
          f"+ {fits.verify[3].slope_ms_per_token:.4f}, decode {fits.verify[0].base_ms:.2f} + "
          f"{fits.verify[0].slope_ms_per_token:.4f}; prompts {n_prompts} tokens; cached {files['cached']}", flush=True)
    factors = {0.0: (1.0, 1.0)}  # RTT -> (verify pass, first draft step) after the one-way wait
    for rtt in sorted(set(rtts) - {0.0}):
        (verify, spread_q), (draft, _) = (idle_factor(pair.target, rtt / 2, args.k),
                                          idle_factor(pair.draft, rtt / 2, 0))
        factors[rtt] = (verify, draft)
        print(f"idle factor {rtt / 2:g} ms: right after that sleep a verify pass (K={args.k}) takes {verify:.3f}x, "
              f"a draft step {draft:.3f}x the back-to-back one (alternating, median of 15 each); back to back, "
              f"verify median / q0.2 (the calibration's statistic) = {spread_q:.3f}", flush=True)
    timer = StageTimer(pair.target, pair.draft, max(contexts) + 2)

    def fresh_calibration() -> Any:
        """Draft/verify/decode measured now; prefill tables: this run's, scaled by prefill(16) now / then."""
        n = prompt_lens[0]
        now = calibrate(pair.target, pair.draft, prompt_lens=(n,), ks=CALIBRATION_KS, repeats=5)
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
                spec = hp["strategy"] != "cloud_only"  # brackets in the order of a cycle (cloud-only: back to back)
                k_bracket = args.k if spec else 0
                fresh = fresh_calibration()
                cals["fresh"] = fresh
                fv, fd = factors[rtt]  # only a cycle's first draft step follows the wait
                cals["fresh-idle"] = dataclasses.replace(
                    fresh, verify_ms={k: v * fv if k else v for k, v in fresh.verify_ms.items()},
                    draft_ms=fresh.draft_ms * (fd + args.k - 1) / args.k,
                    statistic=f"{fresh.statistic}; verify x{fv:.3f}, first draft step x{fd:.3f} after {rtt / 2:g} ms")
                tcp = SpecDecSession(transport="tcp", **common)
                reps: list[list[tuple[dict, Any, Factors]]] = []  # per repeat: (record, outcome, bracket factors)
                two_p: dict[int, Factors] = {}  # id(outcome) -> the two-process brackets' factors
                timer2 = None
                try:
                    tcp.predict(dict(queries[0]))  # warm-up: service start, first forwards
                    timer2 = TwoProcessTimer(tcp, max(contexts) + 2)
                    before = before2 = None  # one bracket after a query is the next one's before (factors are ratios)
                    for _ in range(1 if rtt < 25.0 else args.repeats):  # RTT 0 (the floor) is not gated
                        rep = []
                        for q, ctx in zip(queries, contexts):
                            before2 = before2 or two_process_levels(timer2, this_run, ctx, k_bracket)
                            before = before or stage_levels(timer, this_run, ctx, k_bracket, spec)
                            rec = tcp.predict(dict(q))
                            if tcp.strategy.speculative:  # time the verify pass this query ran most (NASD: its K)
                                ks = [c.k for c in tcp.last_outcome.cycles if c.fallback is None] or [0]
                                k_bracket = max(set(ks), key=ks.count)
                            after = stage_levels(timer, this_run, ctx, k_bracket, spec)
                            after2 = two_process_levels(timer2, this_run, ctx, k_bracket)
                            rep.append((rec, tcp.last_outcome, Factors.mean(before, after)))
                            two_p[id(tcp.last_outcome)] = Factors.mean(before2, after2)
                            before, before2 = after, after2
                        reps.append(rep)
                finally:
                    if timer2 is not None:
                        timer2.close()
                    tcp.close()
                in_process = {clock: [SpecDecSession(transport="inprocess", calibration_file=files[clock], **common)
                                      .predict(dict(q)) for q in queries] for clock in ("this-run", "cached")}
                measured_all = []
                for clock in CLOCKS:
                    cyc, e2e, same = [], [], True
                    for rep in reps:
                        real = [r for r, _, _ in rep]
                        virt = []
                        for (r, o, f), n in zip(rep, n_prompts):
                            if clock in in_process:
                                continue
                            if clock == "measured":
                                model: Any = MeasuredCompute(o, compute_model(fresh))
                            elif clock in ("bracket", "bracket-flat"):
                                model = compute_model(bracketed(this_run, f, flat=clock == "bracket-flat"),
                                                      context=clock == "bracket")
                            elif clock == "bracket-2p":
                                model = compute_model(bracketed(this_run, two_p[id(o)]), context=True)
                            elif clock == "replay-ctx":
                                model = compute_model(this_run, context=True)
                            else:
                                model = compute_model(cals["this-run" if clock == "replay" else clock])
                            virt.append(replayed_virtual(o, n, tcp, model, args.max_new_tokens))
                        virt = in_process.get(clock, virt)
                        if clock == "measured":
                            measured_all.append((real, virt))
                        same = same and all(r["extras"]["tokens"] == v["extras"]["tokens"]
                                            and r["extras"]["agrees_with_cloud"] for r, v in zip(real, virt))
                        cyc.append(per_cycle_ms(real) / per_cycle_ms(virt))
                        e2e.append(sum(r["latency_ms"] for r in real) / sum(v["latency_ms"] for v in virt))
                    row = Row(label, clock, rtt, cyc, e2e, same)
                    rows.append(row)
                    print(f"{label:12s} RTT {rtt:5.0f} ms vs {clock:12s}: real / virtual per cycle {spread(cyc)}; "
                          f"end to end {spread(e2e)}; tokens identical: {same}", flush=True)
                over = statistics.median(overhead_ms_per_commit(r, v) for r, v in measured_all)
                if rtt == 0.0:
                    floors.append(f"{label} {over:+.2f}")
                outcomes = [o for rep in reps for _, o, _ in rep]
                fs = [f for rep in reps for _, _, f in rep]
                real_ms = [r["latency_ms"] for rep in reps for r, _, _ in rep]
                f2s = [two_p[id(o)] for o in outcomes]
                print(f"{label:12s} RTT {rtt:5.0f} ms brackets: draft x{spread([f.draft for f in fs])}, target "
                      f"x{spread([f.verify for f in fs])} of the start calibration (two-process brackets: draft "
                      f"x{spread([f.draft for f in f2s])}, target x{spread([f.verify for f in f2s])}); tcp queries "
                      f"{min(real_ms):.0f}-{max(real_ms):.0f} ms", flush=True)
                stages = {"this-run+ctx": stage_ratios(outcomes, compute_model(this_run, context=True),
                                                       n_prompts * len(reps)),
                          "fresh": stage_ratios(outcomes, compute_model(fresh))}
                per_query = [stage_ratios([o], compute_model(bracketed(this_run, f), context=True), [n])
                             for rep in reps for (_, o, f), n in zip(rep, n_prompts)]
                stages["bracket"] = {st: statistics.median(q[st] for q in per_query if st in q)
                                     for st in ("draft", "verify", "decode") if any(st in q for q in per_query)}
                print(f"{label:12s} RTT {rtt:5.0f} ms measured compute ÷ calibration (median over cycles): "
                      + "; ".join(f"{name} " + ", ".join(f"{k} {v:.3f}" for k, v in st.items())
                                  for name, st in stages.items()), flush=True)
                print(f"{label:12s} RTT {rtt:5.0f} ms transport overhead {over:+.2f} ms/cycle (real latency beyond "
                      f"the same compute and link on the virtual clock); K per cycle (first repeat) "
                      f"{[[c.k for c in o.cycles] for _, o, _ in reps[0]]}" if tcp.strategy.speculative else
                      f"{label:12s} RTT {rtt:5.0f} ms transport overhead {over:+.2f} ms/token", flush=True)
    finally:
        tmpdir.cleanup()

    checked = [r for r in rows if r.clock == args.gate and r.rtt_ms >= 25.0]
    misses = [r for r in checked if r.miss() > args.tolerance]
    bad_tokens = [r for r in rows if not r.same_tokens]
    worst = {c: max((r.miss() for r in rows if r.clock == c and r.rtt_ms >= 25.0), default=0.0) for c in CLOCKS}
    gate_range = max((max(abs(x - 1) for x in r.cycle_ratios + r.e2e_ratios) for r in checked), default=0.0)
    ok = not misses and not bad_tokens
    load_after = os.getloadavg()
    print(f"SUMMARY transport_vs_virtual pair={args.pair} strategies={list(strategies)} rtts={args.rtts} "
          f"repeats={args.repeats}: worst |median real/virtual - 1| at RTT>=25 = "
          f"{', '.join(f'{c} {w:.3f}' for c, w in worst.items())} (gate {args.gate}, target <= {args.tolerance:.2f}; "
          f"its worst single repeat {gate_range:.3f}); overhead floor at RTT 0 (ms/cycle): "
          f"{', '.join(floors) or 'not run'}; tokens identical: {not bad_tokens}; load average (1/5/15 min) before "
          f"{'/'.join(f'{x:.1f}' for x in load_before)}, after {'/'.join(f'{x:.1f}' for x in load_after)} on "
          f"{os.cpu_count()} CPUs; {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
