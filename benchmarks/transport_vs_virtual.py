"""Real time across two processes vs the virtual clock: cloud-only and edge-cloud fixed K.

For each RTT, every prompt is served twice, side by side in one run:

- **real**: the cloud service runs as its own process (``jointbench.specdec.transport.cloud_server``),
  the edge drafts in this process, and every frame crosses a loopback
  :class:`~jointbench.specdec.transport.shaping.ShapingProxy` that applies the link in real time;
- **virtual**: the same query's cycles (drafted/accepted counts, taken from the real run)
  placed on the virtual clock by the SD loop's placements (:mod:`jointbench.specdec.placements`) with a fresh link of
  the same config (same seed: the same draws as the proxy's link), twice:
  ``calibrated`` uses the pair's calibration (measured in this run by default), the
  suite's virtual clock as is; ``measured`` uses the compute times of this very run
  (edge drafting as timed on the edge, cloud verify/decode as the cloud reports them in
  each reply), so its ratio isolates what the transport itself adds (sockets, proxy,
  scheduling) from compute that differs from the calibration under machine load.

It prints, per strategy and RTT, the ratio real / virtual of the mean per-cycle time
(edge-cloud: commit to commit; cloud-only: token to token) and of the end-to-end
latency for both virtual clocks, checks the tokens are identical (real SD = real
cloud-only = one-process greedy), prints a summary line last and exits 1 when a ratio
at RTT >= 25 ms is off by more than ``--tolerance`` (``--gate``: both clocks, or only
``measured``) or tokens differ. At RTT 0 it reports the overhead floor (real - virtual,
ms per cycle) instead.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transport_vs_virtual.py            # SmolLM2 pair
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/transport_vs_virtual.py --pair tiny-random  # smoke

With the tiny random pair a cycle is a few ms of compute, so the transport's own
overhead (thread wake-ups on a loaded machine) is a large share; with SmolLM2 it is not.

The per-cycle loop with its ``transport: inprocess | tcp`` switch will replace the
minimal edge loop used here (:mod:`jointbench.specdec.transport.edge`).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass
from typing import Any

PROMPTS = (
    "What does a base station do in a cellular network? Answer in two sentences.",
    "Explain the difference between uplink and downlink bandwidth.",
    "Name three causes of packet loss on a wireless link.",
)


@dataclass
class Row:
    strategy: str
    clock: str
    rtt_ms: float
    cycle_ratio: float
    e2e_ratio: float
    floor_ms: float
    same_tokens: bool


class MeasuredCompute:
    """Duck-typed ComputeModel answering with one query's measured stage times, in call order.

    Prefills not measured on their side fall back to ``calibrated``. Per cycle the
    timeline asks ``draft_ms()`` (if it drafted) then ``verify_ms(k)``, which advances.
    """

    def __init__(self, calibrated: Any, edge_prefill_ms: float | None = None,
                 draft_ms: list[float] | None = None, verify_ms: list[float] | None = None,
                 first_token_ms: float | None = None, decode_ms: float | None = None) -> None:
        self.calibrated, self._edge_prefill, self._first = calibrated, edge_prefill_ms, first_token_ms
        self._draft, self._verify, self._decode, self._i = draft_ms or [], verify_ms or [], decode_ms, 0

    def edge_prefill_ms(self, n: int) -> float:
        return self._edge_prefill if self._edge_prefill is not None else self.calibrated.edge_prefill_ms(n)

    def cloud_prefill_ms(self, n: int) -> float:
        return self._first if self._first is not None else self.calibrated.cloud_prefill_ms(n)

    def draft_ms(self) -> float:
        return self._draft[self._i]

    def verify_ms(self, k: int) -> float:
        self._i += 1
        return self._verify[self._i - 1]

    def decode_ms(self) -> float:
        return self._decode if self._decode is not None else self.calibrated.decode_ms()


def _mean_gap(times: list[float]) -> float:
    """Mean time between consecutive commits (ms): ``(last - first) / (n - 1)``.

    A mean, not a median: the measured virtual clock of cloud-only decodes with the mean
    measured step, and a median of the real gaps would drop exactly the stalls that clock
    includes.
    """
    return (times[-1] - times[0]) / (len(times) - 1) if len(times) > 1 else float("nan")


def _cycle_times(token_times: list[float], cycle_sizes: list[int]) -> list[float]:
    """Commit time of each cycle from per-token times and tokens per cycle."""
    out, i = [], 0
    for n in cycle_sizes:
        i += n
        out.append(token_times[i - 1])
    return out


def _overheads(sent: list[Any], out: Any, strategy: str, acc: dict[str, list[float]]) -> None:
    """Where real time goes beyond compute and the link, from the proxy's schedule.

    ``proxy late``: delivery after the scheduled time; ``cloud``: time in the cloud process
    beyond the compute it reports (reading, decoding, encoding, scheduling); ``edge``:
    verdict delivered -> next draft block received by the proxy, beyond drafting.
    """
    acc["proxy late"].extend(m.delivered_ms - m.due_ms for m in sent if m.delivered_ms is not None)
    up = [m for m in sent if m.direction == "up" and m.kind in ("VERIFY", "DECODE")]
    down = [m for m in sent if m.direction == "down"]
    if strategy == "cloud_only":
        if up and down and up[0].delivered_ms is not None:
            acc["cloud"].append(down[0].received_ms - up[0].delivered_ms - out.cloud_ms[0])
        acc["cloud"].extend(b.received_ms - a.received_ms - c for a, b, c in zip(down, down[1:], out.cloud_ms[1:]))
        return
    for u, d, c in zip(up, down, out.cycles):
        if u.delivered_ms is not None:
            acc["cloud"].append(d.received_ms - u.delivered_ms - c.cloud_ms)
    for d, u_next, c_next in zip(down, up[1:], out.cycles[1:]):
        if d.delivered_ms is not None:
            acc["edge"].append(u_next.received_ms - d.delivered_ms - c_next.edge_ms)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="smollm2-135m-int8")
    parser.add_argument("--rtts", default="0,25,100", help="comma-separated RTTs (ms)")
    parser.add_argument("--bw", type=float, default=100.0, help="bandwidth both ways (Mbit/s)")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--prompts", type=int, default=2)
    parser.add_argument("--tolerance", type=float, default=0.10, help="allowed |ratio - 1| at RTT >= 25 ms")
    parser.add_argument("--gate", choices=("both", "measured"), default="both",
                        help="which virtual clock's ratios must meet the tolerance")
    parser.add_argument("--cached-calibration", action="store_true",
                        help="use the suite's cached calibration instead of measuring it in this run")
    args = parser.parse_args()

    import os

    import torch

    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    from jointbench.netsim import Link, LinkConfig
    from jointbench.specdec.calibrate import calibrate
    from jointbench.specdec.compute import CALIBRATION_KS, cached_calibration, compute_model
    from jointbench.specdec.engine import SpecDecoder
    from jointbench.specdec.placement import Cycle, make_placement, new_timeline
    from jointbench.specdec.policies.fixed import FixedK

    def virtual(placement: str, n_prompt: int, cycles: list[Any], model: Any, link: Any) -> Any:
        """The query on the virtual clock: the same placement code the in-process strategies use."""
        tl = new_timeline(link, 0.0)
        query = make_placement(placement).begin(tl, n_prompt, model)
        for i, cycle in enumerate(cycles):
            query.place(cycle, i)
        return tl
    from jointbench.specdec.tracestore import encode_prompt, get_pair
    from jointbench.specdec.transport import CloudClient, ShapingProxy, cloud_service
    from jointbench.specdec.transport.edge import remote_cloud_only, remote_speculative

    pair = get_pair(args.pair)
    vocab = min(int(m.config.get_text_config().vocab_size) for m in (pair.target, pair.draft))
    prompts = [encode_prompt(pair, text) for text in PROMPTS[: args.prompts]]
    if args.cached_calibration:
        calibration, _ = cached_calibration(pair)
    else:
        lens = sorted({8, 16, 32, 64, *(len(p) for p in prompts), *(max(1, len(p) - 1) for p in prompts)})
        calibration = calibrate(pair.target, pair.draft, prompt_lens=lens, ks=CALIBRATION_KS, repeats=5)
    compute = compute_model(calibration)
    reference = {i: SpecDecoder(pair.target, None, pair.eos_token_ids).cloud_only(p, args.max_new_tokens).tokens
                 for i, p in enumerate(prompts)}

    rows: list[Row] = []
    with cloud_service(args.pair, threads=1, ready_timeout_s=300.0) as svc:
        with CloudClient(port=svc.port, timeout_s=120.0) as warm:  # first forwards are slow
            remote_cloud_only(warm, prompts[0], 4)
        for rtt in (float(x) for x in args.rtts.split(",")):
            cfg = LinkConfig(rtt_ms=rtt, uplink_bandwidth_mbps=args.bw, downlink_bandwidth_mbps=args.bw)
            for strategy in ("cloud_only", "edge_cloud"):
                real_cycle, real_e2e, same = [], [], True
                virt: dict[str, tuple[list[float], list[float]]] = {"calibrated": ([], []), "measured": ([], [])}
                overheads: dict[str, list[float]] = {"proxy late": [], "cloud": [], "edge": []}

                def serve(client: CloudClient, prompt: list[int], n: int) -> Any:
                    if strategy == "cloud_only":
                        return remote_cloud_only(client, prompt, n, raise_errors=True)
                    return remote_speculative(pair.draft, pair.eos_token_ids, client, prompt, n,
                                              FixedK(args.k), vocab_limit=vocab, raise_errors=True)

                # One proxy and connection per (RTT, strategy); a warm-up query first, so that
                # connection set-up (accept, upstream connect, threads) is not in any timing.
                # The link is constant, so its draws do not depend on the warm-up's messages.
                with ShapingProxy(Link(cfg), svc.port) as proxy, \
                        CloudClient(port=proxy.port, timeout_s=120.0) as client:
                    serve(client, prompts[0], 4)
                    for i, prompt in enumerate(prompts):
                        first = len(proxy.schedule)
                        out = serve(client, prompt, args.max_new_tokens)
                        sent = proxy.schedule[first:]
                        _overheads(sent, out, strategy, overheads)
                        same &= out.tokens == reference[i]
                        if strategy == "cloud_only":
                            steps = out.cloud_ms[1:]
                            measured = MeasuredCompute(compute, first_token_ms=out.cloud_ms[0],
                                                       decode_ms=sum(steps) / len(steps) if steps else None)
                            real_times = out.token_times_ms
                        else:
                            cycles = [Cycle(c.k, c.drafted, c.accepted, c.tokens, c.bytes_up) for c in out.cycles]
                            measured = MeasuredCompute(compute, edge_prefill_ms=out.edge_prefill_ms,
                                                       draft_ms=[c.edge_ms / max(1, c.drafted) for c in out.cycles],
                                                       verify_ms=[c.cloud_ms for c in out.cycles])
                            real_times = [c.done_ms for c in out.cycles]
                        real_cycle.append(_mean_gap(real_times))
                        real_e2e.append(out.latency_ms)
                        for clock, model in (("calibrated", compute), ("measured", measured)):
                            if strategy == "cloud_only":
                                steps = [Cycle(0, 0, 0, (t,)) for t in out.tokens]
                                tl = virtual("cloud_only", len(prompt), steps, model, Link(cfg))
                                virt_times = tl.token_times_ms
                            else:
                                tl = virtual("edge_cloud", len(prompt), cycles, model, Link(cfg))
                                virt_times = _cycle_times(tl.token_times_ms, [len(c.tokens) for c in cycles])
                            virt[clock][0].append(_mean_gap(virt_times))
                            virt[clock][1].append(tl.latency_ms)
                rc = statistics.mean(real_cycle)
                for clock, (v_cycle, v_e2e) in virt.items():
                    vc = statistics.mean(v_cycle)
                    row = Row(strategy, clock, rtt, rc / vc, sum(real_e2e) / sum(v_e2e), rc - vc, same)
                    rows.append(row)
                    print(f"{strategy:10s} RTT {rtt:5.0f} ms vs {clock:10s}: per-cycle real {rc:7.2f} / virtual "
                          f"{vc:7.2f} ms = {row.cycle_ratio:.3f}; end-to-end {sum(real_e2e):8.1f} / "
                          f"{sum(v_e2e):8.1f} ms = {row.e2e_ratio:.3f}; floor {row.floor_ms:+.2f} ms/cycle; "
                          f"tokens identical: {same}", flush=True)
                print(f"{strategy:10s} RTT {rtt:5.0f} ms transport overhead per message (median / mean ms): "
                      + "; ".join(f"{k} {statistics.median(v):.2f} / {statistics.mean(v):.2f}"
                                  for k, v in overheads.items() if v), flush=True)

    gated = [r for r in rows if args.gate == "both" or r.clock == "measured"]
    checked = [r for r in gated if r.rtt_ms >= 25.0]
    misses = [r for r in checked
              if abs(r.cycle_ratio - 1) > args.tolerance or abs(r.e2e_ratio - 1) > args.tolerance]
    bad_tokens = [r for r in rows if not r.same_tokens]
    floors = [f"{r.strategy}/{r.clock} {r.floor_ms:+.2f}" for r in rows if r.rtt_ms == 0.0]
    worst = max((max(abs(r.cycle_ratio - 1), abs(r.e2e_ratio - 1)) for r in checked), default=0.0)
    ok = not misses and not bad_tokens
    print(f"SUMMARY transport_vs_virtual pair={args.pair} K={args.k}: worst |real/virtual - 1| at RTT>=25 ({args.gate}) = "
          f"{worst:.3f} (target <= {args.tolerance:.2f}); overhead floor at RTT 0 (ms/cycle): "
          f"{', '.join(floors) or 'not run'}; tokens identical: {not bad_tokens}; load average "
          f"{load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
