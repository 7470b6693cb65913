"""The headline comparison of the CAb paper: deferral of CAb vs confidence-based deferral.

For each edge-set family (HMS, CP, LCP) and one (alpha, delta), run CbD with the
authors' gamma = 1 - delta, CbD with a threshold tuned on the selection-calibration
split, and CAb, all on the same seeded splits and labels, and report the relative
deferral-rate reduction 1 - DR(CAb) / DR(CbD).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from jointbench.cab.data import CascadeData
from jointbench.cab.experiment import run_experiment
from jointbench.cab.options import CabOptions, Mode


def headline_rows(
    data: CascadeData,
    *,
    alpha: float = 0.2,
    delta: float = 0.25,
    edge_sets: Sequence[str] = ("hms", "cp", "lcp"),
    modes: Sequence[Mode] = ("faithful", "clean"),
    n_trials: int = 200,
    seed: int = 0,
    predictor: str = "logistic",
    features: str = "maxprob",
    sigma: float | str = "auto",
) -> list[dict[str, Any]]:
    """One row per (mode, edge set) with CbD, tuned CbD and CAb metrics.

    LCP rows are skipped when ``data.embeddings`` is None.

    Returns
    -------
    list of dict
        Keys: mode, edge_set, sigma, lcp_ess, cbd_dr, cbd_sr, tuned_dr, tuned_sr,
        cab_dr, cab_dr_std, cab_sr, cab_ni, cab_empty, reduction (vs CbD with
        gamma = 1 - delta), reduction_vs_tuned, options.
    """
    rows = []
    for mode in modes:
        base = CabOptions.from_mode(mode)
        for edge_set in edge_sets:
            if edge_set == "lcp" and data.embeddings is None:
                continue
            kw: dict[str, Any] = dict(
                n_trials=n_trials, seed=seed, predictor=predictor, features=features,
                sigma=sigma,
            )
            arms = [("cbd", edge_set), ("cab", edge_set)]
            main = run_experiment(data, alpha, delta, arms, mode=base, **kw)
            tuned = run_experiment(
                data, alpha, delta, [("cbd", edge_set)],
                mode=replace(base, cbd_rule="val_tuned"), **kw,
            )[f"cbd-{edge_set}"]
            cbd, cab = main[f"cbd-{edge_set}"], main[f"cab-{edge_set}"]
            rows.append({
                "mode": mode,
                "edge_set": edge_set,
                "sigma": cab.get("sigma"),
                "lcp_ess": cab.get("lcp_ess_mean"),
                "cbd_dr": cbd["deferral_rate_mean"],
                "cbd_sr": cbd["sr_mean"],
                "tuned_dr": tuned["deferral_rate_mean"],
                "tuned_sr": tuned["sr_mean"],
                "cab_dr": cab["deferral_rate_mean"],
                "cab_dr_std": cab["deferral_rate_std"],
                "cab_sr": cab["sr_mean"],
                "cab_ni": cab["ni_mean"],
                "cab_acc": cab["accuracy_mean"],
                "cab_empty": cab["empty_mean"],
                "reduction": 1.0 - cab["deferral_rate_mean"] / cbd["deferral_rate_mean"],
                "reduction_vs_tuned": 1.0 - cab["deferral_rate_mean"] / tuned["deferral_rate_mean"],
                "options": cab["options"],
            })
    return rows


def format_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown table of :func:`headline_rows`."""
    head = (
        "| mode | edge set | CbD(1-δ) DR / SR | CbD(tuned) DR / SR | CAb DR ± std / SR / NI "
        "| DR cut vs CbD(1-δ) | vs tuned |\n|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        name = r["edge_set"].upper()
        if r["edge_set"] == "lcp":
            name += f" (σ={r['sigma']:.2f}, ESS {r['lcp_ess']:.0f})"
        lines.append(
            f"| {r['mode']} | {name} | {r['cbd_dr']:.3f} / {r['cbd_sr']:.3f} "
            f"| {r['tuned_dr']:.3f} / {r['tuned_sr']:.3f} "
            f"| {r['cab_dr']:.3f} ± {r['cab_dr_std']:.2f} / {r['cab_sr']:.3f} / {r['cab_ni']:.2f} "
            f"| {100 * r['reduction']:.0f}% | {100 * r['reduction_vs_tuned']:.0f}% |"
        )
    return "\n".join(lines)
