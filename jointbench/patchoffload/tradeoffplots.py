"""The patch-offload trade-off drawn from an Ianvs rank CSV: top-1 accuracy against bytes sent.

Each row of the leaderboard is one operating point (an algorithm at one ``tau``, ``alpha``, …).
Rows of one algorithm that differ only in their settings form a curve, sorted by communication
cost; single rows (server-only, edge-only) are drawn as labelled reference points. The same
picture as ``benchmarks/crc_tradeoff.py --plot``, but from whatever grid the job ran.
"""

from __future__ import annotations

import os

import pandas as pd

from jointbench.patchoffload.ianvs_metrics import COST_ALIAS, TOP1_ALIAS
from jointbench.plots import hyperparameter_columns, register_method_plot


def _label(row: pd.Series, knobs: list[str]) -> str:
    return ", ".join(f"{c.split('-', 1)[1]}={row[c]}" for c in knobs if pd.notna(row[c]))


@register_method_plot("patchoffload")
def plot_patch_tradeoff(df: pd.DataFrame, rank_csv: str, out_dir: str, job: str) -> list[str]:
    """Accuracy (%) against communication cost (ratio of raw image bytes), one curve per algorithm.

    The signature of :data:`jointbench.plots.MethodPlot`; ``[]`` when ``df`` lacks the two metrics.

    Returns
    -------
    list of str
        ``[<out_dir>/<job>_patch_tradeoff.png]``, or ``[]``.
    """
    if df.empty or not {TOP1_ALIAS, COST_ALIAS, "algorithm"}.issubset(df.columns):
        return []
    df = df.copy()
    for col in (TOP1_ALIAS, COST_ALIAS):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    df = df.dropna(subset=[TOP1_ALIAS, COST_ALIAS])
    if df.empty:
        return []
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for algorithm, rows in df.groupby("algorithm", sort=True):
        rows = rows.sort_values(COST_ALIAS)
        knobs = hyperparameter_columns(rows)
        if len(rows) > 1:
            ax.plot(rows[COST_ALIAS], rows[TOP1_ALIAS], marker="o", label=str(algorithm))
            for _, row in rows.iterrows():
                ax.annotate(_label(row, knobs), (row[COST_ALIAS], row[TOP1_ALIAS]), fontsize=7,
                            textcoords="offset points", xytext=(4, -10))
        else:
            row = rows.iloc[0]
            ax.scatter([row[COST_ALIAS]], [row[TOP1_ALIAS]], marker="s", s=40, label=str(algorithm), zorder=3)
    ax.set_xlabel("communication cost (bytes sent / raw image bytes)")
    ax.set_ylabel("top-1 accuracy (%)")
    ax.set_title(f"{job}: accuracy vs bytes sent")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{job}_patch_tradeoff.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return [path]
