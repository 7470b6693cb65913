"""Validate the virtual clock against a real-time run of edge-cloud speculative decoding.

One prompt runs live: the engine drafts and verifies with the real models on this
machine, and every message (prompt, draft blocks, verdicts) really waits on a
:class:`~jointbench.netsim.RealtimeLink`. The same query is then replayed from its
trace on the virtual clock with this machine's calibration (``this-cpu`` on both
sides). Both run the stages one after another (one process), so the virtual
timeline is composed sequentially here too.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/specdec_realtime.py --rtt 50 --k 3
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", default="smollm2-135m-int8")
    parser.add_argument("--rtt", type=float, default=50.0, help="RTT (ms)")
    parser.add_argument("--bw", type=float, default=10.0, help="bandwidth both ways (Mbit/s)")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    args = parser.parse_args()
    torch.set_num_threads(1)

    from jointbench.netsim import Link, LinkConfig, RealtimeLink
    from jointbench.specdec.engine import SpecDecoder
    from jointbench.specdec import FixedK
    from jointbench.specdec.compute import compute_model
    from jointbench.specdec.loop import run_query
    from jointbench.specdec.payload import prompt_bytes
    from jointbench.specdec.session import get_calibration
    from jointbench.specdec.sources import TraceSource
    from jointbench.specdec.strategy import Strategy
    from jointbench.specdec.tracestore import encode_prompt, get_pair, record_query

    cfg = LinkConfig(rtt_ms=args.rtt, uplink_bandwidth_mbps=args.bw, downlink_bandwidth_mbps=args.bw)
    pair = get_pair(args.pair)
    prompt = encode_prompt(pair, "What does a base station do in a cellular network? Answer in two sentences.")
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids, draft_feed="token")
    dec.speculative(prompt, 4, FixedK(args.k))  # warm-up

    rt = RealtimeLink(Link(cfg))
    t0 = time.perf_counter()
    rt.restart_clock()
    rt.send("up", prompt_bytes(len(prompt)), kind="prompt")
    marks: list[float] = []

    def on_cycle(rec) -> None:
        rt.send("up", rec.bytes_up, kind="draft")
        rt.send("down", rec.bytes_down, kind="verdict")
        marks.append((time.perf_counter() - t0) * 1e3)

    live = dec.speculative(prompt, args.max_new_tokens, FixedK(args.k), on_cycle=on_cycle)
    live_e2e = (time.perf_counter() - t0) * 1e3

    comp = compute_model(get_calibration(args.pair)[0])
    trace = record_query(pair, prompt, args.max_new_tokens)
    strategy = Strategy.build("edge_cloud", FixedK(args.k))
    out = run_query(strategy, TraceSource(trace.greedy, strategy.codec, args.max_new_tokens), comp, Link(cfg),
                    args.max_new_tokens)
    cycles, first, t = out.cycles, out.timeline.ttft_ms, out.timeline.latency_ms
    print(f"pair {args.pair}, K={args.k}, RTT {args.rtt:g} ms, {args.bw:g} Mbit/s, "
          f"{len(live.tokens)} tokens, {len(live.cycles)} cycles")
    print(f"live (real models, real waits): TTFT {marks[0]:.0f} ms, E2E {live_e2e:.0f} ms")
    print(f"virtual clock (trace + calibration): TTFT {first:.0f} ms, E2E {t:.0f} ms "
          f"({100 * (t - live_e2e) / live_e2e:+.1f}% vs live)")
    same = [c.tokens for c in cycles] == [tuple(c.tokens) for c in live.cycles]
    print(f"replayed cycles identical to the live run: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
