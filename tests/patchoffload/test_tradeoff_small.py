"""The trade-off run end to end on tiny untrained models and synthetic images, and the operating points."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jointbench.datasets.image_splits import ImageSplits
from jointbench.patchoffload.nets import EdgeCNN, PatchViT
from jointbench.patchoffload.report import plot_tradeoff, table1, table2
from jointbench.patchoffload.tradeoff import PROPOSED, SERVER_ONLY, SweepConfig, operating_points, run_tradeoff


@pytest.fixture(scope="module")
def result():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    img = lambda n: rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)  # noqa: E731
    lab = lambda n: rng.integers(0, 4, n)  # noqa: E731
    splits = ImageSplits("synthetic", ("a", "b", "c", "d"), img(8), lab(8), img(60), lab(60), img(40), lab(40))
    edge = EdgeCNN(in_ch=3, n_classes=4, width=4).eval()
    server = PatchViT(image_size=16, patch=4, in_ch=3, n_classes=4, dim=16, depth=1, heads=2, mlp=16).eval()
    vit = PatchViT(image_size=16, patch=4, in_ch=3, n_classes=4, dim=8, depth=1, heads=2, mlp=8).eval()
    cfg = SweepConfig(alpha_crc=0.2, alpha_aps=0.2, taus=(0.0, 0.5, 1.0), k_fractions=(0.25, 1.0),
                      attention_sum_deltas=(0.5, 1.0), attention_threshold_deltas=(0.0, 0.1))
    return run_tradeoff(splits, edge, server, vit, cfg)


def test_rows_are_consistent(result):
    server = result.rows_of(SERVER_ONLY)[0]
    assert server["cost"] == pytest.approx(1.0) and server["offload_rate"] == 1.0
    for r in result.rows:
        assert 0.0 <= r["cost"] <= 1.0
        assert r["cost"] == pytest.approx(r["mean_patches"] / 16)
        assert r["latency_ms_8mbps"] == pytest.approx(r["cost"] * 16 * 16 * 3 * 8 / 8000)
        if r["offload_rate"] > 0:
            assert r["mean_patches_offloaded"] >= 1.0          # never an empty upload
    taus = result.rows_of(PROPOSED)
    assert taus[0]["cost"] >= taus[-1]["cost"]                 # τ = 0 sends everything offloaded


def test_operating_points_pick_best_and_cheapest_within_gap():
    rows = [{"method": SERVER_ONLY, "accuracy_pct": 80.0, "cost": 1.0},
            {"method": "m", "accuracy_pct": 79.5, "cost": 0.2},
            {"method": "m", "accuracy_pct": 79.0, "cost": 0.1},
            {"method": "m", "accuracy_pct": 78.9, "cost": 0.05},
            {"method": "m", "accuracy_pct": 79.5, "cost": 0.3}]
    pts = operating_points(rows, 1.0)
    assert pts["m"]["best"]["cost"] == 0.2 and pts["m"]["within"]["cost"] == 0.1


def test_tables_and_plot(result, tmp_path):
    assert "Table 1" in table1(result.rows) and "Table 2" in table2(result.rows)
    assert (tmp_path / "p.png").exists() is False
    plot_tradeoff(result.rows, str(tmp_path / "p.png"))
    assert (tmp_path / "p.png").stat().st_size > 1000
