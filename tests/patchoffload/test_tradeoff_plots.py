"""The patch-offload trade-off plot is registered and drawn from a rank CSV (and only from one)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from jointbench.patchoffload.ianvs_metrics import COST_ALIAS, TOP1_ALIAS
from jointbench.plots import method_plots, plot_rank_file


def _rank(tmp_path: Path) -> Path:
    points = [("server-only", 52.4, 1.0, None), ("crc-aps-gradcam", 52.0, 0.80, 0.0),
              ("crc-aps-gradcam", 50.1, 0.55, 0.3), ("edge-only", 47.6, 0.0, None)]
    rows = [{"rank": i + 1, "algorithm": alg, TOP1_ALIAS: acc, COST_ALIAS: cost, "paradigm": "jointinference",
             "edgemodel-tau": tau, "time": "2026-11-29 22:00:00"} for i, (alg, acc, cost, tau) in enumerate(points)]
    path = tmp_path / "job" / "rank" / "all_rank.csv"
    path.parent.mkdir(parents=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_registered_and_drawn_from_the_rank_csv(tmp_path: Path) -> None:
    assert "patchoffload" in method_plots()
    written = plot_rank_file(str(_rank(tmp_path)), str(tmp_path / "plots"))
    tradeoff = [p for p in written if p.endswith("_patch_tradeoff.png")]
    assert len(tradeoff) == 1 and Path(tradeoff[0]).stat().st_size > 10_000


def test_nothing_drawn_without_the_patch_metrics(tmp_path: Path) -> None:
    """Control: another method's leaderboard gets no patch plot."""
    path = _rank(tmp_path)
    df = pd.read_csv(path).drop(columns=[COST_ALIAS])
    assert method_plots()["patchoffload"](df, str(path), str(tmp_path / "plots"), "job") == []
