"""The NASD ÷ oracle plot draws a job without the root grid's 10 Mbit/s conditions (it used to crash)."""

from __future__ import annotations

import pandas as pd
import pytest

from jointbench.specdec.leaderboard_plots import COLS
from jointbench.specdec.nasd_plots import plot_nasd


def _rank(tmp_path, bandwidths: list[float]) -> str:
    rows = []
    for bw in bandwidths:
        for rtt, fixed, nasd in ((25, 11.5, 10.5), (500, 3.9, 7.6)):
            for policy, tps in (("fixed", fixed), ("nasd", nasd)):
                rows.append({"rank": 1, "algorithm": f"a-{policy}", "Throughput P50 (tokens/s)": tps,
                             "Lossy queries (%)": 0.0, COLS["strategy"]: "edge_cloud", COLS["policy"]: policy,
                             COLS["k"]: 3, COLS["hardware"]: "this-cpu/this-cpu", COLS["rtt"]: rtt, COLS["bw"]: bw,
                             COLS["params"]: "{'fallback': 'cloud_only'}" if policy == "nasd" else None})
    path = tmp_path / "all_rank.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("bandwidths", [[100.0], [10.0, 100.0]])
def test_nasd_vs_oracle_is_drawn_at_the_jobs_bandwidth(tmp_path, bandwidths) -> None:
    paths = plot_nasd(_rank(tmp_path, bandwidths), str(tmp_path / "plots"))
    assert any(p.endswith("nasd_vs_oracle.png") for p in paths)
    oracle = pd.read_csv(tmp_path / "plots" / "oracle.csv")
    assert set(oracle["condition"]) == {f"rtt{r}_bw{b:g}" for r in (25, 500) for b in bandwidths}
    ratio = [c for c in oracle.columns if c.endswith(" / oracle")]
    assert len(ratio) == 1 and oracle[ratio[0]].round(3).tolist().count(round(7.6 / 3.9, 3)) == len(bandwidths)


def test_control_a_job_without_nasd_rows_draws_nothing(tmp_path) -> None:
    df = pd.read_csv(_rank(tmp_path, [100.0]))
    df = df[df[COLS["policy"]] == "fixed"]
    df.to_csv(tmp_path / "fixed.csv", index=False)
    assert plot_nasd(str(tmp_path / "fixed.csv"), str(tmp_path / "plots")) == []
