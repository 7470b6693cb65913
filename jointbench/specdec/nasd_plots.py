"""NASD on the root leaderboard: the oracle, NASD ÷ oracle, tail latency under loss, K per cycle.

``python -m jointbench.specdec.nasd_plots <workspace job dir or all_rank.csv> [out_dir]`` writes
``oracle.csv`` next to the plots (default ``docs/img``) and prints it.

**The oracle is a leaderboard-level computation**: per condition (hardware pair × stable RTT ×
bandwidth, × time-varying trace, × RTT × jitter × loss) it is the fixed-K edge-cloud row with
the highest median tokens/s among the leaderboard's fixed K, replayed on the same traces and
the same virtual clock as every other row (:func:`jointbench.specdec.oracle.best_fixed_k`).
A time-varying condition has one oracle K for the whole run, which an adaptive controller
can beat. Ratios of lossy strategies (edge-only fallback) to the lossless oracle are printed
but flagged ``lossy``.
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import numpy as np
import pandas as pd

from jointbench.plots import register_method_plot
from jointbench.specdec.leaderboard_plots import COLS, TPS, load_rank
from jointbench.specdec.oracle import best_fixed_k

LOSSY = "Lossy queries (%)"
P95, P99 = "Latency P95 (ms)", "Latency P99 (ms)"
ADAPTIVE = ("nasd", "ucb", "heuristic")


def _conditions(df: pd.DataFrame) -> pd.DataFrame:
    """Adds ``condition`` (a readable key of the network setting) and ``family`` (stable/trace/jitter-loss)."""
    def cond(row: pd.Series) -> tuple[str, str]:
        prof = row.get(COLS["profile"])
        if isinstance(prof, str) and prof != "nan":
            return "trace", prof
        jit, loss = row.get(COLS["jitter"]), row.get(COLS["loss"])
        rtt, bw = float(row[COLS["rtt"]]), float(row[COLS["bw"]])
        if not (isinstance(jit, float) and math.isnan(jit)) and jit is not None:
            return "jitter-loss", f"rtt{rtt:g}_j{float(jit):g}_l{float(loss):g}"
        return "stable", f"rtt{rtt:g}_bw{bw:g}"

    fam = df.apply(cond, axis=1)
    return df.assign(family=[f for f, _ in fam], condition=[c for _, c in fam])


def oracle_table(rank: str | pd.DataFrame) -> pd.DataFrame:
    """Per hardware pair and condition: the oracle fixed K and every adaptive strategy's ratio to it.

    Returns
    -------
    pandas.DataFrame
        ``hardware``, ``family``, ``condition``, ``oracle_k``, ``oracle_tps`` (tokens/s), then per
        adaptive label ``<label>`` (tokens/s) and ``<label> / oracle``; ``lossy_labels`` lists the
        labels with lossy queries in that condition.
    """
    df = _conditions(load_rank(rank) if isinstance(rank, str) else rank)
    policy = df[COLS["policy"]].astype(str)
    rows: list[dict[str, Any]] = []
    for (hw, fam, cond), g in df.groupby([COLS["hardware"], "family", "condition"]):
        fixed = g[(g[COLS["strategy"]] == "edge_cloud") & (policy.loc[g.index] == "fixed")]
        if fixed.empty:
            continue
        by_k = {int(float(k)): float(t) for k, t in zip(fixed[COLS["k"]], fixed[TPS])}
        best = best_fixed_k(lambda k, _c: by_k[k], sorted(by_k), cond)
        row: dict[str, Any] = {"hardware": hw, "family": fam, "condition": cond, "oracle_k": best.k,
                               "oracle_tps": best.tokens_per_s}
        lossy = []
        for _, r in g[policy.loc[g.index].isin(ADAPTIVE)].iterrows():
            row[r["label"]] = float(r[TPS])
            row[f"{r['label']} / oracle"] = float(r[TPS]) / best.tokens_per_s
            if LOSSY in r and float(r[LOSSY] or 0) > 0:
                lossy.append(r["label"])
        row["lossy_labels"] = ",".join(sorted(lossy))
        rows.append(row)
    return pd.DataFrame(rows)


def _plot_stable_ratios(plt: Any, stable: pd.DataFrame, ratio_cols: list[str], bw: float, out_dir: str) -> str:
    """``nasd_vs_oracle.png``: each adaptive policy ÷ the oracle per stable RTT, a panel per hardware pair."""
    hws = sorted(stable["hardware"].unique())
    fig, axes = plt.subplots(1, max(1, len(hws)), figsize=(4.8 * max(1, len(hws)), 3.6), squeeze=False, sharey=True)
    for ax, hw in zip(axes[0], hws):
        g = stable[stable["hardware"] == hw].sort_values("rtt")
        for col in ratio_cols:
            if g[col].notna().any():
                lossy = g["lossy_labels"].str.contains(col.split(" / ")[0], regex=False).any()
                ax.plot(g["rtt"], g[col], "--" if lossy else "-", marker="o", ms=3,
                        label=col.replace(" / oracle", "") + (" (lossy)" if lossy else ""))
        ax.axhline(1.0, color="k", lw=0.8)
        for y, ls in ((0.99, ":"), (0.96, "-.")):
            ax.axhline(y, color="grey", lw=0.8, ls=ls)
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlim(0, 600)
        ax.set_xticks([0, 10, 25, 50, 100, 200, 500])
        ax.set_xticklabels(["0", "10", "25", "50", "100", "200", "500"], fontsize=8)
        ax.set_title(f"{hw}, {bw:g} Mbit/s", fontsize=9)
        ax.set_xlabel("RTT (ms)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("tokens/s ÷ oracle fixed K")
    axes[0][0].set_yscale("log")
    h, lab = axes[0][0].get_legend_handles_labels()
    fig.legend(h, lab, loc="lower center", ncol=min(4, len(lab)), fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    path = os.path.join(out_dir, "nasd_vs_oracle.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_nasd(rank_csv: str, out_dir: str) -> list[str]:
    """``nasd_vs_oracle.png`` (NASD ÷ oracle per stable RTT, one panel per hardware pair, at 10 Mbit/s or, when the
    job has no 10 Mbit/s conditions, at its most common bandwidth)
    and ``specdec_tail_vs_loss.png`` (P95/P99 latency against loss per strategy, RTT 50/200 ms)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    df = _conditions(load_rank(rank_csv))
    if not (df[COLS["policy"]].astype(str) == "nasd").any():
        return []
    table = oracle_table(df)
    if table.empty:  # no fixed-K rows in this job: no oracle to compare with
        return []
    os.makedirs(out_dir, exist_ok=True)
    table.to_csv(os.path.join(out_dir, "oracle.csv"), index=False)
    paths = []
    stable = table[table["family"] == "stable"].copy()
    stable["rtt"] = stable["condition"].str.extract(r"rtt([\d.]+)_")[0].astype(float)
    stable["bw"] = stable["condition"].str.extract(r"_bw([\d.]+)$")[0].astype(float)
    if not stable.empty:  # 10 Mbit/s, the root grid's middle; else the bandwidth with the most conditions
        bw = 10.0 if (stable["bw"] == 10.0).any() else float(stable["bw"].value_counts().idxmax())
        stable = stable[stable["bw"] == bw]
    ratio_cols = [c for c in table.columns if c.endswith(" / oracle")]
    if not stable.empty and stable[ratio_cols].notna().any().any():
        paths.append(_plot_stable_ratios(plt, stable, ratio_cols, bw, out_dir))

    jl = df[df["family"] == "jitter-loss"].copy()
    if not jl.empty:
        jl["loss"] = jl[COLS["loss"]].astype(float)
        jl["rtt"] = jl[COLS["rtt"]].astype(float)
        jl = jl[(jl[COLS["jitter"]].astype(float) == 0) & (jl[COLS["hardware"]] == "this-cpu/this-cpu")]
        rtts = sorted(jl["rtt"].unique())
        fig, axes = plt.subplots(2, len(rtts), figsize=(5.2 * len(rtts), 6.4), squeeze=False, sharex=True)
        for j, rtt in enumerate(rtts):
            g = jl[jl["rtt"] == rtt]
            for i, col in enumerate((P95, P99)):
                ax = axes[i][j]
                for n, (lab, s) in enumerate(g.groupby("label")):
                    s = s.sort_values("loss")
                    ax.plot(s["loss"], s[col] / 1000.0, marker="os^Dv"[n % 5], ms=3, lw=1.2,
                            color=plt.get_cmap("tab20")(n % 20), label=lab)
                ax.set_title(f"{col.split(' (')[0]}, RTT {rtt:g} ms (this-cpu)", fontsize=9)
                ax.set_ylabel("s")
                ax.grid(alpha=0.3)
                if i == 1:
                    ax.set_xlabel("segment loss (%)")
        h, lab = axes[0][0].get_legend_handles_labels()
        fig.legend(h, lab, loc="lower center", ncol=4, fontsize=7, frameon=False)
        fig.tight_layout(rect=(0, 0.14, 1, 1))
        paths.append(os.path.join(out_dir, "specdec_tail_vs_loss.png"))
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


def plot_k_per_cycle(records: dict[str, list[dict[str, Any]]], path: str) -> str:
    """K per cycle with the RTT each decision saw beneath, one column per network condition.

    Parameters
    ----------
    records : dict of str to list of dict
        Per condition label, the records of one session (in order); each carries
        ``extras.cycle_log`` (NASD's per-cycle log: ``t_ms``, ``k``, ``rtt_seen_ms``, ``cutoff``, and
        ``drafted``, drawn as dots where a draft stop ended a draft before ``k``).
    path : str
        PNG to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, len(records), figsize=(5.5 * len(records), 4.6), squeeze=False, sharex="col",
                             gridspec_kw={"height_ratios": [2, 1]})
    for j, (name, recs) in enumerate(records.items()):
        log = [c for r in recs for c in r["extras"]["cycle_log"]]
        t = np.array([c["t_ms"] for c in log]) / 1000.0
        k = np.array([c["k"] for c in log])
        drafted = np.array([c.get("drafted", c["k"]) for c in log])
        rtt = np.array([np.nan if c["rtt_seen_ms"] is None else c["rtt_seen_ms"] for c in log])
        axes[0][j].step(t, k, where="post", lw=1.0, label="K asked")
        if np.any(drafted < k):  # a draft stop ended drafts early: show where
            axes[0][j].plot(t, drafted, ".", ms=3, color="tab:green", label="drafted")
        cut = np.array([c["cutoff"] for c in log], dtype=bool)
        axes[0][j].plot(t[cut], k[cut], "x", color="tab:red", ms=4, label="cutoff in force")
        axes[0][j].set_ylabel("K (0 = fallback step)")
        axes[0][j].set_title(name, fontsize=9)
        axes[0][j].grid(alpha=0.3)
        axes[1][j].plot(t, rtt, ".", ms=2, color="tab:gray")
        axes[1][j].set_ylabel("RTT seen (ms)")
        axes[1][j].set_xlabel("virtual time (s)")
        axes[1][j].grid(alpha=0.3)
        if cut.any() or np.any(drafted < k):
            axes[0][j].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@register_method_plot("nasd")
def plot_nasd_rank(df: pd.DataFrame, rank_csv: str, out_dir: str, job: str) -> list[str]:
    """:func:`plot_nasd` under the suite's method-plot signature; [] without NASD rows."""
    return plot_nasd(rank_csv, out_dir) if TPS in df.columns and COLS["policy"] in df.columns else []


def main(argv: list[str] | None = None) -> int:
    """CLI: ``python -m jointbench.specdec.nasd_plots <rank csv or job dir> [out_dir]``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        print(__doc__)
        return 2
    out = argv[1] if len(argv) > 1 else "docs/img"
    for p in plot_nasd(argv[0], out):
        print(p)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(oracle_table(argv[0]).round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
