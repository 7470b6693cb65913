"""Validate the network simulator's real-time mode against its configuration.

Drives :class:`jointbench.netsim.RealtimeLink` (which really sleeps and
throttles) and prints, side by side, configured vs measured:

- RTT of an empty request-response (pass: mean within +/-5 ms, and every round
  trip within +/-5 ms of the configured RTT);
- jitter standard deviation of one-way delays for each jitter law (pass: within 10%);
- bandwidth of a 1 MB throttled transfer each way (pass: within 5%);
- the simulator's own cost: microseconds per virtual exchange, and how late
  real-time deliveries are compared with the model.

A benchmark, not a test: it takes ~40 s of wall time and its numbers depend on
the machine. Usage::

    python benchmarks/netsim_realtime.py [--seed N] [--quick]

Exit status 1 if a check fails.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jointbench.netsim import (
    Link,
    LinkConfig,
    RealtimeLink,
    jitter_moments,
    link_config_from_hyperparameters,
    request_response,
)

RESULTS: list[tuple[str, str, str, str, bool]] = []


def check(name: str, configured: str, measured: str, rule: str, ok: bool) -> None:
    RESULTS.append((name, configured, measured, rule, ok))
    print(
        f"  {name:<34} configured {configured:>12}   measured {measured:>12}   "
        f"{rule:<14} {'PASS' if ok else 'FAIL'}",
        flush=True,
    )


def bench_rtt(seed: int, scale: float) -> list[float]:
    print("RTT of an empty request-response (0-byte payloads, no jitter), sequential:")
    late_us: list[float] = []
    for rtt, n in ((20.0, int(100 * scale)), (100.0, int(20 * scale))):
        rt = RealtimeLink(
            Link(
                LinkConfig(
                    rtt_ms=rtt,
                    uplink_bandwidth_mbps=1000.0,
                    downlink_bandwidth_mbps=1000.0,
                    seed=seed,
                )
            )
        )
        walls = []
        for _ in range(n):
            t0 = time.perf_counter()
            rr = request_response(rt, 0, 0, t_start_ms=rt.now_ms())
            walls.append((time.perf_counter() - t0) * 1e3)
            late_us.append((walls[-1] - rr.total_ms) * 1e3)
        mean = statistics.fmean(walls)
        p99 = float(np.percentile(np.abs(np.array(walls) - rtt), 99))
        check(
            f"RTT {rtt:g} ms (n={n}, p99 |err| {p99:.3f} ms)",
            f"{rtt:.3f} ms",
            f"{mean:.3f} ms",
            "+/-5 ms",
            abs(mean - rtt) <= 5.0,
        )
    return late_us


def _one_way(cfg: LinkConfig, n: int, out: list[tuple[float, float]]) -> None:
    rt = RealtimeLink(Link(cfg), spin_ms=0.0)  # sleep only: many threads must not spin
    for _ in range(n):
        t0 = time.perf_counter()
        ex = rt.send("up", 0)
        out.append(((time.perf_counter() - t0) * 1e3, ex.delay_ms))


def bench_jitter(seed: int, scale: float, threads: int) -> list[float]:
    print(
        f"Jitter: std of one-way delays (0-byte messages, {threads} concurrent links, "
        "each with its own seed):"
    )
    late_us: list[float] = []
    cases = (
        ("uniform", 12.0, 6.0, int(800 * scale)),
        ("gauss", 24.0, 3.0, int(400 * scale)),
        ("lognormal", 2.0, 3.0, int(1200 * scale)),
    )
    for dist, rtt, j, n in cases:
        out: list[tuple[float, float]] = []
        workers = [
            threading.Thread(
                target=_one_way,
                args=(
                    LinkConfig(
                        rtt_ms=rtt,
                        jitter_ms=j,
                        jitter_dist=dist,
                        seed=seed * 1000 + k,
                        uplink_bandwidth_mbps=1000.0,
                    ),
                    n,
                    out,
                ),
            )
            for k in range(threads)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        walls = np.array([w for w, _ in out])
        model = np.array([m for _, m in out])
        late_us.extend(((walls - model) * 1e3).tolist())
        _, sd = jitter_moments(dist, j)
        sd_meas = float(walls.std(ddof=1))
        check(
            f"{dist} j={j:g} ms (n={walls.size}; draws {model.std(ddof=1):.3f})",
            f"{sd:.3f} ms",
            f"{sd_meas:.3f} ms",
            "within 10%",
            abs(sd_meas - sd) <= 0.10 * sd,
        )
    return late_us


def bench_bandwidth(seed: int, scale: float) -> None:
    print("Bandwidth: 1 MB throttled transfer (wire bits / (time - propagation)):")
    payload = bytes(1_000_000)
    cfg = LinkConfig(
        rtt_ms=2.0, uplink_bandwidth_mbps=20.0, downlink_bandwidth_mbps=100.0, seed=seed
    )
    rt = RealtimeLink(Link(cfg))
    for direction, rate, n in (
        ("up", 20.0, max(1, int(3 * scale))),
        ("down", 100.0, max(1, int(5 * scale))),
    ):
        rates = []
        for _ in range(n):
            t0 = time.perf_counter()
            ex = rt.transmit(direction, payload)  # type: ignore[arg-type]
            wall = (time.perf_counter() - t0) * 1e3
            rates.append(ex.bytes * 8 / ((wall - ex.propagation_ms) * 1e3))
        meas = statistics.fmean(rates)
        check(
            f"{direction}link {rate:g} Mbit/s (n={n})",
            f"{rate:.3f} Mb/s",
            f"{meas:.3f} Mb/s",
            "within 5%",
            abs(meas - rate) <= 0.05 * rate,
        )


def bench_overhead(seed: int, scale: float) -> None:
    print("Simulator cost per virtual exchange (no sleeping):")
    for profile, size in (("lan", 64), ("4g", 1200), ("lossy", 20_000), ("markov", 1200)):
        link = Link(
            link_config_from_hyperparameters({"network_profile": profile, "network_seed": seed})
        )
        n = int(30_000 * scale)
        t0 = time.perf_counter()
        t = 0.0
        for _ in range(n):
            t = link.send("up", size, t_ms=t).arrival_ms
        us = (time.perf_counter() - t0) / n * 1e6
        print(f"  {profile:<10} payload {size:>6} B: {us:7.2f} us/exchange")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a tenth of the samples (noisier)")
    parser.add_argument(
        "--threads", type=int, default=16, help="concurrent links for the jitter runs"
    )
    args = parser.parse_args()
    scale = 0.1 if args.quick else 1.0
    print(
        f"netsim real-time validation on {platform.node()} "
        f"({platform.processor() or platform.machine()}), "
        f"Python {platform.python_version()}, numpy {np.__version__}, seed {args.seed}"
    )
    start = time.perf_counter()
    late_seq = bench_rtt(args.seed, scale)
    late_thr = bench_jitter(args.seed, scale, args.threads)
    bench_bandwidth(args.seed, scale)
    bench_overhead(args.seed, scale)
    print("Real-time lateness (wall time - modelled time, us):")
    for label, values in (
        ("sleep + 1.5 ms spin, sequential", late_seq),
        ("sleep only, concurrent threads", late_thr),
    ):
        late = np.array(values)
        print(
            f"  {label:<32} mean {late.mean():8.1f}  median {np.median(late):8.1f}  "
            f"p99 {np.percentile(late, 99):8.1f}  max {late.max():8.1f}  (n={late.size})"
        )
    failed = [r[0] for r in RESULTS if not r[4]]
    print(
        f"{len(RESULTS) - len(failed)}/{len(RESULTS)} checks passed in "
        f"{time.perf_counter() - start:.1f} s"
        + (f"; FAILED: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
