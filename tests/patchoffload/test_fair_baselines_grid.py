"""The baselines' ViT edge on the server's grid, the 8×8 recipes, and the side-by-side comparison
(tiny untrained models, synthetic images)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jointbench.datasets.image_splits import ImageSplits
from jointbench.patchoffload import training as T
from jointbench.patchoffload.experiment import _parse_compare, comparison_table, headline
from jointbench.patchoffload.models import ModelTrio
from jointbench.patchoffload.nets import EdgeCNN, PatchViT
from jointbench.patchoffload.tradeoff import SweepConfig, run_tradeoff

_CFG = SweepConfig(alpha_crc=0.2, alpha_aps=0.2, taus=(0.0, 0.5), k_fractions=(0.5, 1.0),
                   attention_sum_deltas=(1.0,), attention_threshold_deltas=(0.0,))


def _splits() -> ImageSplits:
    rng = np.random.default_rng(0)
    img = lambda n: rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)  # noqa: E731
    lab = lambda n: rng.integers(0, 4, n)  # noqa: E731
    return ImageSplits("synthetic", ("a", "b", "c", "d"), img(8), lab(8), img(40), lab(40), img(24), lab(24))


def _vit(patch: int, embed: str = "linear") -> PatchViT:
    torch.manual_seed(0)
    return PatchViT(image_size=16, patch=patch, in_ch=3, n_classes=4, dim=8, depth=1, heads=2, mlp=8,
                    embed=embed, embed_ch=2).eval()


def test_default_baseline_edge_is_a_hybrid_on_the_server_grid():
    name = T.DEFAULT_RECIPES["edge_vit"]
    vit, server = T.recipe_for("edge_vit", "cifar10"), T.recipe_for("server_vit", "cifar10")
    assert vit.arch["embed"] == server.arch["embed"] != "linear" and vit.teacher == server.teacher and vit.kd > 0
    assert vit.arch["patch"] == server.arch["patch"]                                  # the fair edge
    assert T.recipe_name_for("edge_vit", "cifar10", "vit-tiny") == "vit-tiny" != name   # the old one stays
    assert T.recipe_name_for("edge_vit", "fashion-mnist") == "vit-tiny"                # cached weights kept
    # the finer-grid pair selects at the same granularity: 4-px patches, an 8×8 grid on 32 px
    p4 = [T.recipe_for("server_vit", "cifar10", "hybrid-small-kd-p4"),
          T.recipe_for("edge_vit", "cifar10", "vit-hybrid-kd-p4")]
    assert [r.arch["patch"] for r in p4] == [4, 4]
    net = PatchViT(image_size=32, n_classes=10, **p4[1].arch).eval()
    with torch.no_grad():
        net(torch.zeros(3, 3, 32, 32))
    att = net.cls_attention()
    assert att.shape == (3, 64) and torch.allclose(att.sum(1), torch.ones(3))


@pytest.mark.parametrize("embed", ["linear", "cnn", "canvas"])
def test_mismatched_vit_edge_grid_is_refused(embed):
    edge = EdgeCNN(in_ch=3, n_classes=4, width=4).eval()
    server = _vit(4, embed)
    res = run_tradeoff(_splits(), edge, server, _vit(4, embed), _CFG)          # control: same grid runs
    assert {r["method"] for r in res.rows} >= {"topk", "proposed"}
    with pytest.raises(ValueError, match="patch grid"):
        run_tradeoff(_splits(), edge, server, _vit(8, embed), _CFG)


def test_comparison_rows_side_by_side():
    splits = _splits()
    torch.manual_seed(0)                       # the tiny edge's weights must not depend on earlier tests
    edge = EdgeCNN(in_ch=3, n_classes=4, width=4).eval()
    heads = []
    for patch in (4, 2):
        server, vit = _vit(patch), _vit(patch)
        trio = ModelTrio(splits, *(T.TrainedModel(role, m, {"accuracy_test": 0.5, "recipe_name": f"r{patch}"})
                                   for role, m in (("edge_cnn", edge), ("server_vit", server), ("edge_vit", vit))))
        res = run_tradeoff(splits, edge, server, vit, _CFG)
        heads.append(headline(trio, res, 1.0, f"p{patch}"))
    assert [h["grid"] for h in heads] == [4, 8]
    for h in heads:
        assert h["proposed_within"] is not None and h["cut"] == pytest.approx(1 - h["proposed_within"]["cost"])
        assert h["recipes"]["server_vit"].startswith("r")
    text = comparison_table(heads, 1.0).splitlines()
    assert len(text) == 4 and text[2].startswith("p4") and " 8x8" in text[3]


def test_compare_argument_parsing():
    assert _parse_compare(["server_vit=hybrid-10ep,edge_vit=vit-tiny"]) == [
        {"server_vit": "hybrid-10ep", "edge_vit": "vit-tiny"}]
    assert _parse_compare(None) == []
    with pytest.raises(ValueError, match="--recipe"):
        _parse_compare(["server_vit=hybrid-10ep,edge_vit=nope"])
