"""CAb plots drawn from an Ianvs rank CSV: deferral vs delta, and SR vs 1 - delta.

Rows are test cases; a *series* is one algorithm with one edge-set family (and any other
setting that varies, except delta), drawn only when it covers at least two deltas. Rows
without a delta (edge-only, cloud-only) become horizontal reference lines. Points are
means over trials with +-1 standard error (std / sqrt(trials)) as error bars; the std
itself is in the CSV.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from jointbench.plots import register_method_plot

DR = "CAb Deferral rate mean (%)"
SR = "CAb SR mean (%)"
TRIALS = "CAb Trials (count)"
DELTA = "hard_example_mining-delta"
EDGE_SET = "edgemodel-edge_set"
_COLOURS = {"hms": "tab:blue", "cp": "tab:orange", "lcp": "tab:green"}
_STYLES = [("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"), ((0, (5, 1)), "v")]


def has_cab_columns(df: pd.DataFrame) -> bool:
    """Whether a rank frame holds the CAb metrics these plots need."""
    return {DR, SR, DELTA}.issubset(df.columns)


def _std_col(mean_col: str) -> str:
    return mean_col.replace(" mean ", " std ")


def _series(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows sorted by delta) per series with >= 2 deltas.

    A series is an algorithm plus the settings that vary inside that algorithm's rows
    (e.g. the edge set); the label names the algorithm, its edge set and those settings.
    """
    rows = df[pd.to_numeric(df[DELTA], errors="coerce").notna()].copy()
    rows[DELTA] = pd.to_numeric(rows[DELTA])
    hps = [c for c in rows.columns if "-" in c and c not in (DELTA, "time", "url") and not c.startswith("CAb")]
    out = []
    for algorithm, alg_rows in rows.groupby("algorithm", sort=False):
        varying = [c for c in hps if alg_rows[c].astype(str).nunique() > 1]
        groups = alg_rows.groupby(varying, sort=False, dropna=False) if varying else [((), alg_rows)]
        for name, group in groups:
            if group[DELTA].nunique() < 2:
                continue
            parts = name if isinstance(name, tuple) else (name,)
            settings = dict(zip(varying, parts))
            edge_set = group[EDGE_SET].iloc[0] if EDGE_SET in group else None
            extra = [f"{k.split('-', 1)[1]}={v}" for k, v in settings.items() if k != EDGE_SET and pd.notna(v)]
            label = str(algorithm) + (f" · {edge_set}" if pd.notna(edge_set) else "")
            out.append((label + (f" ({', '.join(extra)})" if extra else ""), group.sort_values(DELTA)))
    return out


def _style(series: list[tuple[str, pd.DataFrame]], group: pd.DataFrame) -> dict[str, Any]:
    """Line style and marker per algorithm, colour per edge set."""
    algorithms = list(dict.fromkeys(g["algorithm"].iloc[0] for _, g in series))
    ls, marker = _STYLES[algorithms.index(group["algorithm"].iloc[0]) % len(_STYLES)]
    edge_set = str(group[EDGE_SET].iloc[0]) if EDGE_SET in group else ""
    return {"linestyle": ls, "marker": marker, "color": _COLOURS.get(edge_set)}


def _errors(group: pd.DataFrame, mean_col: str) -> np.ndarray | None:
    std = _std_col(mean_col)
    if std not in group or TRIALS not in group:
        return None
    n = pd.to_numeric(group[TRIALS], errors="coerce").clip(lower=1)
    return (pd.to_numeric(group[std], errors="coerce") / np.sqrt(n)).to_numpy()


def _reference_rows(df: pd.DataFrame) -> list[pd.Series]:
    """Rows without a delta (edge-only, cloud-only)."""
    return [row for _, row in df[pd.to_numeric(df[DELTA], errors="coerce").isna()].iterrows()]


def _ran_edge(row: pd.Series) -> bool:
    return str(row.get("edgemodel-run_edge", "")).lower() != "false"


def plot_deferral_vs_delta(df: pd.DataFrame, path: str, title: str) -> str:
    """Deferral rate (%) against delta, one line per series; edge/cloud-only as flat lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.2))
    series = _series(df)
    for label, group in series:
        ax.errorbar(group[DELTA], group[DR], yerr=_errors(group, DR), label=label, capsize=3, lw=1.6,
                    ms=5, alpha=0.9, **_style(series, group))
    refs = {(str(r["algorithm"]), round(float(r[DR]), 6)) for r in _reference_rows(df)}
    for name, value in sorted(refs):
        ax.axhline(value, color="grey", lw=1, ls=(0, (1, 2)))
        ax.annotate(name, (0.5, value), xycoords=("axes fraction", "data"), ha="center", va="bottom",
                    fontsize=8, color="dimgrey")
    ax.set_xlabel("δ (target violation level; CbD threshold γ = 1 − δ)")
    ax.set_ylabel("deferral rate (%, mean over trials ± s.e.)")
    ax.set_ylim(-5, 108)
    ax.set_title(f"{title}: deferral rate vs δ")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_sr_vs_target(df: pd.DataFrame, path: str, title: str) -> str:
    """Satisfaction rate (%) against the target 1 - delta, with the guarantee line y = x."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.2))
    lows, highs = [], []
    series = _series(df)
    for label, group in series:
        target = 100.0 * (1.0 - group[DELTA])
        ax.errorbar(target, group[SR], yerr=_errors(group, SR), label=label, capsize=3, lw=1.6, ms=5,
                    alpha=0.9, **_style(series, group))
        lows.append(min(target.min(), group[SR].min()))
        highs.append(max(target.max(), group[SR].max()))
    # Cloud-only serves nothing at the edge (SR = 100 by convention), so only edge-only is drawn:
    # one dotted line per edge set, in that set's colour.
    refs = [r for r in _reference_rows(df) if _ran_edge(r)]
    for row in refs:
        ax.axhline(float(row[SR]), color=_COLOURS.get(str(row.get(EDGE_SET)), "grey"), lw=1.2,
                   ls=(0, (1, 2)))
        lows.append(float(row[SR]))
    for algorithm in dict.fromkeys(str(r["algorithm"]) for r in refs):
        top = max(float(r[SR]) for r in refs if str(r["algorithm"]) == algorithm)
        ax.annotate(f"{algorithm} (dotted, colour = edge set)", (0.99, top), ha="right", va="bottom",
                    xycoords=("axes fraction", "data"), fontsize=8, color="dimgrey")
    if highs:
        lo, hi = min(lows) - 3, min(max(highs) + 3, 101)
        ax.plot([lo, hi], [lo, hi], color="black", lw=1.2, label="guarantee: SR = 1 − δ")
        ax.fill_between([lo, hi], [lo, lo], [lo, hi], color="red", alpha=0.06, lw=0)
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, 101)
    ax.set_xlabel("target 1 − δ (%)")
    ax.set_ylabel("satisfaction rate of edge-served inputs (%, mean ± s.e.)")
    ax.set_title(f"{title}: SR vs 1 − δ (shaded: below the guarantee)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


@register_method_plot("cab")
def plot_cab_rank(df: pd.DataFrame, rank_csv: str, out_dir: str, job: str) -> list[str]:
    """Both CAb plots of one rank frame (latest run per setting); [] without CAb columns.

    The signature of :data:`jointbench.plots.MethodPlot` (``rank_csv`` is not needed here).

    Returns
    -------
    list of str
        Paths of ``<job>_cab_deferral_vs_delta.png`` and ``<job>_cab_sr_vs_target.png``.
    """
    if not has_cab_columns(df) or df.empty:
        return []
    df = df.copy()
    for col in (DR, SR, _std_col(DR), _std_col(SR), TRIALS):
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce")
    if not _series(df):
        return []
    os.makedirs(out_dir, exist_ok=True)
    return [plot_deferral_vs_delta(df, os.path.join(out_dir, f"{job}_cab_deferral_vs_delta.png"), job),
            plot_sr_vs_target(df, os.path.join(out_dir, f"{job}_cab_sr_vs_target.png"), job)]
