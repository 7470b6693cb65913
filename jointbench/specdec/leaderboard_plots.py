"""Plots and the reversal RTT of the speculative-decoding leaderboard, from its rank CSV.

``python -m jointbench.specdec.leaderboard_plots <workspace job dir or all_rank.csv> [out_dir]``
writes the PNGs (default ``docs/img``) and prints the reversal RTT per hardware pair.

The reversal RTT of a hardware pair and bandwidth is the round-trip time at which the
best edge-cloud speculative strategy (over the fixed K and the heuristic) stops
beating cloud-only in median throughput; it is interpolated linearly between grid
points. ``status`` says whether it crosses, never wins (slower even at RTT 0) or
always wins (still faster at the largest RTT).
"""

from __future__ import annotations

import ast
import glob
import math
import os
import re
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd

from jointbench.plots import register_method_plot
from jointbench.specdec.parts import PLACEMENT, available
from jointbench.specdec.placement import make_placement
from jointbench.specdec.policy import make_policy
from jointbench.specdec.sqs_plots import codec_label

TPS = "Throughput P50 (tokens/s)"
TTFT = "TTFT P50 (ms)"
ACC_CYCLE = "Accepted per cycle (tokens)"
ACC_RATE = "Acceptance rate (%)"
COLS = {"strategy": "edgemodel-strategy", "policy": "edgemodel-policy", "k": "edgemodel-k",
        "hardware": "edgemodel-hardware", "rtt": "edgemodel-network_rtt_ms",
        "bw": "edgemodel-bandwidth_mbps", "profile": "edgemodel-network_profile", "codec": "edgemodel-codec",
        "params": "edgemodel-policy_params", "jitter": "edgemodel-network_jitter_ms",
        "loss": "edgemodel-network_loss_pct", "codec_params": "edgemodel-codec_params",
        "temperature": "edgemodel-temperature"}
BASELINE_POLICIES = ("fixed", "heuristic")
"""Policies whose edge-cloud rows decide the reversal RTT (the README's baseline definition)."""


def policy_params(row: pd.Series) -> dict[str, Any]:
    """The row's ``policy_params`` (the rank CSV holds ``str(dict)``), ``{}`` when absent."""
    v = _cell(row, "params")
    if v is None or v == "None":
        return {}
    return dict(ast.literal_eval(str(v))) if isinstance(v, str) else dict(v)


def _cell(row: pd.Series, col: str) -> Any:
    v = row.get(COLS[col])
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def strategy_label(row: pd.Series) -> str:
    """Short label from the registered parts' own labels.

    ``cloud-only``, ``edge-only``, ``co-located K=3``, ``edge-cloud K=5``, ``edge-cloud HF-heuristic``;
    a codec other than ``ids_only`` is appended with its parameters (``edge-cloud K=3 k_sqs k=3``,
    :func:`~jointbench.specdec.sqs_plots.codec_label`), and a sampling temperature above 0 (``T=0.5``).
    """
    placement = make_placement(str(_cell(row, "strategy")))
    label = placement.label
    if placement.speculative:
        k = _cell(row, "k")
        policy = make_policy(str(_cell(row, "policy") or "fixed"), int(float(k)) if k is not None else 1,
                             params=policy_params(row))
        label = f"{placement.label} {policy.label()}"
        if _cell(row, "codec") not in (None, "ids_only"):
            label = f"{label} {codec_label(row)}"
    t = _cell(row, "temperature")
    return f"{label} T={float(t):g}" if t is not None and float(t) > 0 else label


def _distinct_labels(df: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """``labels``, made distinct where rows of different settings share one.

    A label names only a policy's and codec's main parameters; two rows that differ elsewhere (say only
    in ``probe_interval_ms``, or K-SQS's ``codec_params``) would otherwise count as reruns of one setting
    and all but one would be dropped. Such labels get the algorithm's name (before ``@``) appended, or,
    when one algorithm holds several of the settings, the hyperparameters that differ; a warning names them.
    """
    cols = [c for c in (COLS["strategy"], COLS["policy"], COLS["k"], COLS["codec"], COLS["params"],
                        COLS["codec_params"]) if c in df.columns]
    setting = pd.Series(["|".join(map(str, t)) for t in df[cols].itertuples(index=False)], index=df.index)
    algo = pd.Series([str(a).split("@")[0] for a in df["algorithm"]] if "algorithm" in df.columns
                     else [""] * len(df), index=df.index)
    out = labels.copy()
    for label, idx in labels.groupby(labels).groups.items():
        settings = list(dict.fromkeys(setting.loc[idx]))
        if len(settings) < 2:
            continue
        names = {st: sorted(set(algo.loc[idx][setting.loc[idx] == st])) for st in settings}
        by_name = all(len(v) == 1 and v[0] for v in names.values()) and \
            len({v[0] for v in names.values()}) == len(settings)
        varying = [c for c in cols if df.loc[idx, c].map(str).nunique() > 1]
        for st in settings:
            rows = idx[setting.loc[idx] == st]
            first = df.loc[rows[0]]
            tag = names[st][0] if by_name else ", ".join(f"{c.split('-', 1)[-1]}={first[c]}" for c in varying)
            out.loc[rows] = f"{label} [{tag}]"
        warnings.warn(f"leaderboard: label {label!r} names {len(settings)} different settings; they are told "
                      f"apart as {sorted(set(out.loc[idx]))}", stacklevel=3)
    return out


def load_rank(path: str) -> pd.DataFrame:
    """Read ``all_rank.csv`` (a file, or a job workspace containing ``rank/all_rank.csv``).

    Adds ``label`` (:func:`strategy_label`) and ``grid`` (False for preset profiles such as
    ``oscillating`` and for rows with jitter or loss keys); when the file holds several runs,
    keeps the latest row per setting.
    """
    if os.path.isdir(path):
        found = sorted(glob.glob(os.path.join(path, "**", "all_rank.csv"), recursive=True))
        if not found:
            raise FileNotFoundError(f"no all_rank.csv under {path}")
        path = found[0]
    df = pd.read_csv(path)
    for c in COLS.values():
        if c not in df.columns:
            df[c] = np.nan
    df["label"] = _distinct_labels(df, df.apply(strategy_label, axis=1))

    def absent(col: str) -> pd.Series:
        return df[COLS[col]].isna() | (df[COLS[col]].astype(str) == "nan")

    df["grid"] = absent("profile") & absent("jitter") & absent("loss")
    # all_rank.csv accumulates over runs of the same job (as in Ianvs): keep each setting's latest row.
    if "time" in df.columns:
        df = df.sort_values("time", kind="stable")
    keys = ["label", COLS["hardware"], COLS["rtt"], COLS["bw"], COLS["profile"], COLS["jitter"], COLS["loss"]]
    return df.drop_duplicates(subset=[k for k in keys if k in df.columns], keep="last").reset_index(drop=True)


def _crossing(rtts: np.ndarray, sd: np.ndarray, cloud: np.ndarray) -> dict[str, Any]:
    diff = sd - cloud
    if diff[0] < 0:
        return {"rtt_ms": 0.0, "status": "never wins"}
    for i in range(1, len(rtts)):
        if diff[i] < 0:
            r0, r1, d0, d1 = rtts[i - 1], rtts[i], diff[i - 1], diff[i]
            return {"rtt_ms": float(r0 + (r1 - r0) * d0 / (d0 - d1)), "status": "crosses"}
    return {"rtt_ms": None, "status": "always wins"}


def reversal_rtt(rank: str | pd.DataFrame) -> pd.DataFrame:
    """Reversal RTT per hardware pair and bandwidth.

    Returns
    -------
    pandas.DataFrame
        Columns ``hardware``, ``bandwidth_mbps``, ``rtt_ms`` (ms, ``None`` when it
        always wins, 0 when it never wins), ``status``, ``best_sd_at_0`` (label of the
        best edge-cloud strategy at the smallest RTT).
    """
    df = load_rank(rank) if isinstance(rank, str) else rank
    grid = df[df["grid"]]
    rows = []
    for (hw, bw), g in grid.groupby([COLS["hardware"], COLS["bw"]]):
        g = g.assign(rtt=g[COLS["rtt"]].astype(float))
        cloud = g[g[COLS["strategy"]] == "cloud_only"].set_index("rtt")[TPS].sort_index()
        policy = g[COLS["policy"]].astype(str).replace("nan", "fixed")
        sd = g[(g[COLS["strategy"]] == "edge_cloud") & policy.isin(BASELINE_POLICIES)]
        if cloud.empty or sd.empty:
            continue
        best = sd.groupby("rtt")[TPS].max().reindex(cloud.index)
        res = _crossing(cloud.index.to_numpy(float), best.to_numpy(float), cloud.to_numpy(float))
        at0 = sd[sd["rtt"] == cloud.index.min()].sort_values(TPS, ascending=False)["label"].iloc[0]
        rows.append({"hardware": hw, "bandwidth_mbps": float(bw), **res, "best_sd_at_0": at0})
    return pd.DataFrame(rows)


def _order(labels: list[str]) -> list[str]:
    """Placements in their registered order, then labels naturally sorted (K=5 before K=10)."""
    rank = {make_placement(n).label: make_placement(n).order for n in available(PLACEMENT)}

    def key(label: str) -> tuple[int, list[Any]]:
        head = label.split(" ")[0]
        parts = [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", label)]
        return (rank.get(head, len(rank)), [(0, p) if isinstance(p, int) else (1, p) for p in parts])

    return sorted(set(labels), key=key)


def plot_specdec(rank_csv: str, out_dir: str) -> list[str]:
    """Write the leaderboard's plots; return their paths.

    - ``specdec_tps_vs_rtt.png``: median tokens/s vs RTT per strategy, one panel per
      hardware pair and bandwidth, reversal RTT marked.
    - ``specdec_ttft.png``: median TTFT per strategy at RTT 50 ms, 10 Mbit/s.
    - ``specdec_accepted_per_k.png``: accepted tokens per cycle and acceptance rate per K.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = load_rank(rank_csv)
    os.makedirs(out_dir, exist_ok=True)
    grid = df[df["grid"]].copy()
    grid["rtt"] = grid[COLS["rtt"]].astype(float)
    grid["bw"] = grid[COLS["bw"]].astype(float)
    hws = sorted(grid[COLS["hardware"]].unique())
    bws = sorted(grid["bw"].unique(), reverse=True)
    labels = _order(list(grid["label"]))
    colors = {lab: plt.get_cmap("tab10")(i % 10) for i, lab in enumerate(labels)}
    rev = reversal_rtt(df)
    paths = []

    fig, axes = plt.subplots(len(hws), len(bws), figsize=(4.6 * len(bws), 3.4 * len(hws)), squeeze=False,
                             sharex=True)
    for i, hw in enumerate(hws):
        for j, bw in enumerate(bws):
            ax = axes[i][j]
            g = grid[(grid[COLS["hardware"]] == hw) & (grid["bw"] == bw)]
            lossless = g[g["label"] != "edge-only"][TPS]
            top = 1.15 * float(lossless.max()) if lossless.notna().any() else 1.0
            for lab in labels:
                s = g[g["label"] == lab].sort_values("rtt")
                if s.empty:
                    continue
                style = "--" if lab in ("cloud-only", "edge-only") else "-"
                ax.plot(s["rtt"], s[TPS], style, marker="o", ms=3, lw=1.4, color=colors[lab], label=lab)
                if lab == "edge-only" and float(s[TPS].max()) > top:
                    # Edge-only is lossy and can dwarf the lossless strategies: keep it off scale.
                    ax.text(0.02, 0.97, f"edge-only {float(s[TPS].median()):.0f} tok/s (off scale)",
                            transform=ax.transAxes, ha="left", va="top", fontsize=8, color=colors[lab])
            ax.set_ylim(0, top)
            r = rev[(rev["hardware"] == hw) & (rev["bandwidth_mbps"] == bw)] if len(rev) else rev  # no cloud-only
            if not r.empty and r["status"].iloc[0] == "crosses":
                x = float(r["rtt_ms"].iloc[0])
                ax.axvline(x, color="k", lw=1, ls=":")
                ax.annotate(f"reversal {x:.0f} ms", (x, 0), xytext=(4, 6), textcoords="offset points",
                            fontsize=8)
            elif not r.empty:
                ax.text(0.5, 0.28, f"edge-cloud SD {r['status'].iloc[0]}", transform=ax.transAxes,
                        ha="center", va="bottom", fontsize=8, bbox={"fc": "white", "alpha": 0.85, "lw": 0})
            ax.set_xscale("symlog", linthresh=10)
            ax.set_xticks([0, 10, 25, 50, 100, 200, 500])
            ax.set_xticklabels(["0", "10", "25", "50", "100", "200", "500"], fontsize=8)
            ax.set_title(f"{hw}, {bw:g} Mbit/s", fontsize=9)
            ax.grid(alpha=0.3)
            if j == 0:
                ax.set_ylabel("tokens/s (P50)")
            if i == len(hws) - 1:
                ax.set_xlabel("RTT (ms)")
    handles, labs = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labs, loc="lower center", ncol=min(5, len(labs)), fontsize=9, frameon=False)
    fig.suptitle("Throughput vs RTT per strategy (edge/cloud hardware, symmetric bandwidth)", fontsize=11)
    fig.tight_layout(rect=(0, 0.07, 1, 0.97))
    paths.append(os.path.join(out_dir, "specdec_tps_vs_rtt.png"))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    ref = grid[(grid["rtt"] == 50) & (grid["bw"] == 10)]
    fig, ax = plt.subplots(figsize=(10, 4))
    width = 0.8 / max(1, len(hws))
    for i, hw in enumerate(hws):
        s = ref[ref[COLS["hardware"]] == hw].set_index("label").reindex(labels)
        ax.bar(np.arange(len(labels)) + i * width, s[TTFT], width, label=hw)
    ax.set_xticks(np.arange(len(labels)) + width * (len(hws) - 1) / 2)
    ax.set_xticklabels(labels, rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("TTFT P50 (ms)")
    ax.set_title("Time to first token per strategy (RTT 50 ms, 10 Mbit/s)")
    ax.legend(fontsize=8, title="edge/cloud hardware", title_fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "specdec_ttft.png"))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    sd = grid[(grid[COLS["strategy"]] == "edge_cloud")]
    per = sd.groupby("label")[[ACC_CYCLE, ACC_RATE]].median()
    per = per.reindex([lab for lab in labels if lab in per.index])
    fig, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(per))
    ax.bar(x, per[ACC_CYCLE], color="tab:blue", label="accepted tokens / cycle")
    ax.set_ylabel("accepted tokens per cycle")
    ax.set_xticks(x)
    ax.set_xticklabels([lab.replace("edge-cloud ", "") for lab in per.index], fontsize=9)
    ax2 = ax.twinx()
    ax2.plot(x, per[ACC_RATE], "o-", color="tab:red", label="acceptance rate")
    ax2.set_ylabel("acceptance rate (%)")
    ax2.set_ylim(0, 100)
    ax.set_ylim(0, 1.3 * float(per[ACC_CYCLE].max()))
    ax.set_title("Accepted length per draft length K (edge-cloud)")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8, ncol=2)
    fig.tight_layout()
    paths.append(os.path.join(out_dir, "specdec_accepted_per_k.png"))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


@register_method_plot("specdec")
def plot_specdec_rank(df: pd.DataFrame, rank_csv: str, out_dir: str, job: str) -> list[str]:
    """:func:`plot_specdec` under the suite's method-plot signature; [] without SD columns."""
    return plot_specdec(rank_csv, out_dir) if TPS in df.columns else []


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m jointbench.specdec.leaderboard_plots <rank csv or job dir> [out_dir]``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(__doc__)
        return 2
    out = argv[1] if len(argv) > 1 else "docs/img"
    for p in plot_specdec(argv[0], out):
        print(p)
    with pd.option_context("display.width", 160):
        print(reversal_rtt(argv[0]).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
