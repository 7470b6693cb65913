"""Why NASD misses a condition of ``benchmarks/nasd_vs_oracle.py``: the model's rate per K against the replay's.

For each (hardware pair, network) condition it prints, side by side on the same 16 test prompts:

- ``real``: tokens/s of every fixed K in 1..12 replayed (total tokens over total latency, as
  the oracle), divided by the best one;
- ``model``: the run table's predicted rate of every K at the condition's RTT and 10 Mbit/s
  (calibration acceptance, the run's costs), divided by its best;
- ``E real/model``: committed tokens per cycle of fixed K on the *test* prompts against the
  calibration profile's ``1 + sum a_j``;
- ``cyc real/model``: mean cycle time (ms) of fixed K in the replay against the model's
  ``K t_draft + t_tx + RTT + t_verify(K)``;
- NASD's K per cycle (histogram) for the controller variant chosen (``--nasd table|online|shift``).

    JOINTBENCH_CACHE=... python benchmarks/nasd_diagnose.py [--hw edge-npu-4x/this-cpu] [--rtt 0 200] [--trace markov] [--nasd shift]
"""

from __future__ import annotations

import argparse
import collections
import sys
from typing import Any

from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from nasd_vs_oracle import NASDS, ORACLE_KS, VARIANTS, run  # type: ignore[import-not-found]  # noqa: E402

from jointbench.specdec.session import SpecDecSession  # noqa: E402


def _run_table(hw: str, params: dict[str, Any]) -> Any:
    s = SpecDecSession("edge_cloud", policy="nasd", k=3, policy_params=params, hardware=hw, bandwidth_mbps=10.0)
    return s.strategy.policy._ready().table  # type: ignore[union-attr]


def _cycles(recs: list[dict[str, Any]]) -> tuple[float, float]:
    """Mean committed tokens per speculative cycle and mean cycle time (ms)."""
    tok, ms = [], []
    for r in recs:
        for c in r["extras"].get("cycle_log") or []:
            tok.append(c["committed"])
            ms.append(c["cycle_ms"])
        if not r["extras"].get("cycle_log"):
            tok += list(r["extras"]["committed_per_cycle"])
    return float(np.mean(tok)), float(np.mean(ms)) if ms else float("nan")


def diagnose(hw: str, net: dict[str, Any], rtt_for_model: float, variant: str, bw: float | None,
             nasd_name: str = "table") -> None:
    """Print the side-by-side lines for one condition (``nasd_name``: a key of ``nasd_vs_oracle.NASDS``)."""
    params = {**VARIANTS[variant], **NASDS[nasd_name]}
    table = _run_table(hw, params)
    real = {k: run("fixed", k, None, hw, net, bw) for k in ORACLE_KS}
    rates = {k: v[0] for k, v in real.items()}
    model = {k: table.rate(k, rtt_for_model, 10.0) for k in ORACLE_KS}
    kr, km = max(rates, key=rates.get), max(model, key=model.get)
    nasd, recs = run("nasd", 3, params, hw, net, bw)
    ks = collections.Counter(c["k"] for r in recs for c in r["extras"]["cycle_log"])
    print(f"== {hw} {net}  real K*={kr} ({rates[kr]:.3f} tok/s)  model K*={km}  NASD {nasd:.3f} "
          f"= {nasd / rates[kr]:.3f} x oracle; NASD K histogram {dict(sorted(ks.items()))}")
    cost = table.costs
    for k in ORACLE_KS:
        e_real, _ = _cycles(real[k][1])
        cyc = [sum(r["latency_ms"] - r["ttft_ms"] for r in real[k][1]) / max(1, sum(r["cycles"] for r in real[k][1]))]
        m_cyc = k * cost.draft_ms + cost.transmit_ms(k, 10.0) + rtt_for_model + cost.verify_ms[k]
        print(f"  K={k:2d} real {rates[k] / rates[kr]:6.3f}  model {model[k] / model[km]:6.3f}   "
              f"E real/model {e_real:5.2f}/{table.acceptance.expected_tokens(k):5.2f}   "
              f"cyc real/model {cyc[0]:7.1f}/{m_cyc:7.1f} ms")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hw", nargs="+", default=["this-cpu/this-cpu", "edge-npu-4x/this-cpu"])
    ap.add_argument("--rtt", nargs="*", type=int, default=[0, 200])
    ap.add_argument("--trace", nargs="*", default=[])
    ap.add_argument("--variant", choices=sorted(VARIANTS), default="nocutoff")
    ap.add_argument("--nasd", choices=sorted(NASDS), default="table", help="which NASD of nasd_vs_oracle.NASDS")
    args = ap.parse_args(argv)
    for hw in args.hw:
        for rtt in args.rtt:
            diagnose(hw, {"network_rtt_ms": rtt, "network_seed": 0}, rtt, args.variant, 10.0, args.nasd)
        for prof in args.trace:
            diagnose(hw, {"network_profile": prof, "network_seed": 0}, 50.0, args.variant, None, args.nasd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
