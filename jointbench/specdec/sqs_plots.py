"""Plots of the SQS leaderboard (``examples/specdec-sqs``), from its rank CSV and case records.

- ``sqs_bits_vs_rejection.png``: uplink bits per draft token against the analytic rejection
  rate, one point per codec, one panel per temperature.
- ``sqs_latency_vs_bandwidth.png``: median latency against uplink bandwidth per codec (lowest
  RTT of the grid), one panel per temperature; where a codec's curve crosses dense fp16's is
  marked (interpolated in log bandwidth) and returned by :func:`crossovers`.
- ``sqs_csqs_beta.png``: C-SQS's threshold ``beta`` and running-mean dropped mass per drafted
  position, each query of the highest temperature (read from the cases' ``records.jsonl``).
- :func:`draw_frontier` (``benchmarks/sqs_bits.py``): C-SQS settings against the K-SQS
  frontier of :mod:`jointbench.specdec.sqs_frontier`, with their gap intervals.
"""

from __future__ import annotations

import ast
import json
import math
import os
from typing import Any

import numpy as np
import pandas as pd

from jointbench.plots import register_method_plot
from jointbench.specdec.sqs_metrics import position_series

BITS = "Uplink per draft token (bit/token)"
REJ = "Rejection analytic TV (%)"
LAT = "Latency P50 (ms)"
COL = {"codec": "edgemodel-codec", "params": "edgemodel-codec_params", "t": "edgemodel-temperature",
       "bw": "edgemodel-bandwidth_mbps", "rtt": "edgemodel-network_rtt_ms"}
BASELINE = "dense_fp16"


def codec_label(row: pd.Series) -> str:
    """``k_sqs k=3``, ``c_sqs alpha=0.1``, ``dense_fp16``: the codec and its parameters."""
    raw = row.get(COL["params"])
    params: dict[str, Any] = {}
    if isinstance(raw, str) and raw.strip():
        params = ast.literal_eval(raw)
    elif isinstance(raw, dict):
        params = raw
    return " ".join([str(row[COL["codec"]]), *(f"{k}={v}" for k, v in params.items())])


def _prepared(df: pd.DataFrame) -> pd.DataFrame:
    out = df[df[COL["codec"]].notna()].copy()
    out["label"] = out.apply(codec_label, axis=1)
    return out


def crossovers(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Bandwidths (Mbit/s) where a codec's median latency crosses dense fp16's, per temperature.

    Uses the lowest RTT of the grid; linear interpolation of the latency difference in
    ``log10(bandwidth)`` between neighbouring grid points.
    """
    d = _prepared(df).dropna(subset=[COL["bw"]])
    if d.empty:
        return []
    d = d[d[COL["rtt"]] == d[COL["rtt"]].min()]
    found = []
    for t, per_t in d.groupby(COL["t"]):
        base = per_t[per_t["label"] == BASELINE].groupby(COL["bw"])[LAT].mean()
        for label, rows in per_t.groupby("label"):
            if label == BASELINE:
                continue
            lat = rows.groupby(COL["bw"])[LAT].mean()
            bws = sorted(set(lat.index) & set(base.index))
            diff = [lat[b] - base[b] for b in bws]
            for (b0, d0), (b1, d1) in zip(zip(bws, diff), zip(bws[1:], diff[1:])):
                if d0 == 0 or d0 * d1 < 0:
                    x0, x1 = math.log10(b0), math.log10(b1)
                    x = x0 if d0 == 0 else x0 + (x1 - x0) * d0 / (d0 - d1)
                    found.append({"temperature": float(t), "codec": label, "bandwidth_mbps": 10 ** x,
                                  "faster_above": bool(d1 < d0)})
    return found


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_bits_vs_rejection(df: pd.DataFrame, path: str) -> str:
    """One panel per temperature: bits per draft token (log x) against analytic rejection (%)."""
    plt = _plt()
    d = _prepared(df)
    temps = sorted(d[COL["t"]].unique())
    fig, axes = plt.subplots(1, len(temps), figsize=(5 * len(temps), 4.2), squeeze=False)
    for ax, t in zip(axes[0], temps):
        per = d[d[COL["t"]] == t].groupby("label")[[BITS, REJ]].mean()
        ax.scatter(per[BITS], per[REJ])
        for label, r in per.iterrows():
            ax.annotate(label, (r[BITS], r[REJ]), fontsize=7, xytext=(3, 3), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("uplink bits per draft token")
        ax.set_ylabel("rejection rate, analytic TV(p, q_hat) (%)")
        ax.set_title(f"T = {t}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_latency_vs_bandwidth(df: pd.DataFrame, path: str) -> str:
    """One panel per temperature: median latency against uplink bandwidth, crossovers marked."""
    plt = _plt()
    d = _prepared(df).dropna(subset=[COL["bw"]])
    d = d[d[COL["rtt"]] == d[COL["rtt"]].min()]
    temps = sorted(d[COL["t"]].unique())
    marks = crossovers(df)
    fig, axes = plt.subplots(1, len(temps), figsize=(5 * len(temps), 4.2), squeeze=False)
    for ax, t in zip(axes[0], temps):
        per_t = d[d[COL["t"]] == t]
        for label, rows in per_t.groupby("label"):
            lat = rows.groupby(COL["bw"])[LAT].mean()
            ax.plot(lat.index, lat.values, "o-" if label == BASELINE else ".-", label=label,
                    lw=2.5 if label == BASELINE else 1)
        base = per_t[per_t["label"] == BASELINE].groupby(COL["bw"])[LAT].mean()
        for m in (m for m in marks if m["temperature"] == t and len(base)):
            y = float(np.interp(math.log10(m["bandwidth_mbps"]), np.log10(base.index.values), base.values))
            ax.plot([m["bandwidth_mbps"]], [y], "kx", ms=8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("uplink = downlink bandwidth (Mbit/s)")
        ax.set_ylabel("median end-to-end latency (ms)")
        ax.set_title(f"T = {t}, RTT {d[COL['rtt']].min():g} ms (x: crosses dense fp16)")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_csqs_beta(df: pd.DataFrame, rank_csv: str, path: str) -> str | None:
    """C-SQS ``beta`` and running-mean dropped mass per query, highest temperature; None without records."""
    d = _prepared(df)
    d = d[d[COL["codec"]] == "c_sqs"]
    if d.empty or "url" not in d.columns:
        return None
    d = d[d[COL["t"]] == d[COL["t"]].max()]
    job_dir = os.path.dirname(os.path.dirname(os.path.abspath(rank_csv)))
    series: dict[str, list[dict[str, Any]]] = {}
    for label, rows in d.groupby("label"):
        case = os.path.join(job_dir, *str(rows.iloc[0]["url"]).rstrip("/").split("/")[-2:], "records.jsonl")
        if os.path.isfile(case):
            with open(case, encoding="utf-8") as fh:
                series[label] = [((json.loads(line).get("result") or {}).get("extras") or {})
                                 for line in fh if line.strip()]
    if not series:
        return None
    return draw_csqs_beta(series, path, float(d[COL["t"]].max()))


def draw_csqs_beta(series: dict[str, list[dict[str, Any]]], path: str, temperature: float) -> str:
    """Two panels: ``beta`` and running-mean dropped mass per drafted position, a line per query.

    ``series`` maps a codec label to its queries' record ``extras`` (with ``codec_stats``).
    """
    plt = _plt()
    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for (label, extras), color in zip(sorted(series.items()), ("tab:blue", "tab:orange", "tab:green", "tab:red")):
        for i, ex in enumerate(extras):
            axes[0].plot(position_series(ex, "beta"), color=color, alpha=0.7, label=label if i == 0 else None)
            drop = np.asarray(position_series(ex, "dropped_mass"))
            if drop.size:
                axes[1].plot(np.cumsum(drop) / np.arange(1, drop.size + 1), color=color, alpha=0.7)
    axes[0].set_ylabel("threshold beta")
    axes[1].set_ylabel("running mean dropped mass")
    axes[1].set_xlabel("drafted position within the query")
    axes[0].legend(fontsize=8)
    axes[0].set_title(f"C-SQS at T = {temperature:g}: beta and long-run dropped mass per query")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw_frontier(ksqs: dict[str, tuple[float, float]], others: dict[str, tuple[float, float, float, float]],
                  path: str, temperature: float) -> str:
    """Bits against rejection: the K-SQS points and frontier, other codecs with their gap intervals.

    ``ksqs`` maps a label to ``(bits, rejection %)``; ``others`` to ``(bits, rejection %,
    lo, hi)`` where ``[lo, hi]`` (%) is the codec's rejection shifted by its gap interval
    (``rej - gap + [gap_lo, gap_hi]``), drawn as an error bar: it lies wholly below the
    frontier exactly when the gap is significantly negative. Labels containing ``rule`` (the
    extended grid chosen on held-out prompts) are drawn as diamonds.
    """
    from jointbench.specdec.sqs_frontier import pareto

    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    kb = np.array([v[0] for v in ksqs.values()])
    kr = np.array([v[1] for v in ksqs.values()])
    front = pareto(kb, kr)
    ax.plot(kb[front], kr[front], "-", color="tab:blue", label="K-SQS frontier (log-bits interpolation)")
    ax.plot(kb, kr, "o", color="tab:blue")
    for label, (b, r) in ksqs.items():
        ax.annotate(label.replace("k-sqs-", "K="), (b, r), fontsize=7, xytext=(3, 3), textcoords="offset points")
    colours = plt.get_cmap("tab20").colors
    for i, (label, (b, r, lo, hi)) in enumerate(others.items()):
        err = None if not (np.isfinite(lo) and np.isfinite(hi)) else [[max(0.0, r - lo)], [max(0.0, hi - r)]]
        ax.errorbar([b], [r], yerr=err, fmt="D" if "rule" in label else "s", ms=5 if "rule" in label else 4,
                    capsize=2, color=colours[(2 * i + i // 10) % len(colours)], label=label)
    ax.set_xscale("log")
    ax.set_xlabel("uplink bits per draft token")
    ax.set_ylabel("rejection, analytic TV (%)")
    ax.set_title(f"T = {temperature:g}: C-SQS against the K-SQS frontier (bars: 95% paired bootstrap)", fontsize=9)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@register_method_plot("specdec-sqs")
def plot_sqs_rank(df: pd.DataFrame, rank_csv: str, out_dir: str, job: str) -> list[str]:
    """The three SQS plots; [] when ``df`` has no SQS metric columns."""
    if BITS not in df.columns or COL["codec"] not in df.columns or LAT not in df.columns:
        return []
    os.makedirs(out_dir, exist_ok=True)
    paths = [plot_bits_vs_rejection(df, os.path.join(out_dir, "sqs_bits_vs_rejection.png"))]
    if COL["bw"] in df.columns and df[COL["bw"]].notna().any():
        paths.append(plot_latency_vs_bandwidth(df, os.path.join(out_dir, "sqs_latency_vs_bandwidth.png")))
    beta = plot_csqs_beta(df, rank_csv, os.path.join(out_dir, "sqs_csqs_beta.png"))
    return paths + ([beta] if beta else [])
