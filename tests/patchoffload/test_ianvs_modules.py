"""The Ianvs edge / HEM / cloud modules and metric shims on a tiny injected model trio (no training)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from jointbench.datasets.image_splits import ImageSplits
from jointbench.patchoffload import session
from jointbench.patchoffload.costs import latency_ms_closed_form
from jointbench.patchoffload.models import ModelTrio
from jointbench.patchoffload.nets import EdgeCNN, PatchViT
from jointbench.patchoffload.training import TrainedModel

ROOT = Path(__file__).resolve().parents[2]
SEED = 777


def _load(rel):
    name = Path(rel).stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / rel)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def modules():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    img = lambda n: rng.integers(0, 256, (n, 16, 16, 3), dtype=np.uint8)  # noqa: E731
    lab = lambda n: rng.integers(0, 4, n)  # noqa: E731
    splits = ImageSplits("cifar10", ("a", "b", "c", "d"), img(4), lab(4), img(80), lab(80), img(30), lab(30))
    edge = EdgeCNN(in_ch=3, n_classes=4, width=4).eval()
    server = PatchViT(image_size=16, patch=4, in_ch=3, n_classes=4, dim=16, depth=1, heads=2, mlp=16).eval()
    # No baselines' ViT edge, as session.trio_for loads it: the modules must not need one.
    trio = ModelTrio(splits, *(TrainedModel(r, m, {"accuracy_test": 0.0}) for r, m in
                               (("edge_cnn", edge), ("server_vit", server))), None)
    session._TRIOS[("cifar10", SEED)] = trio
    yield (_load("testalgorithms/crc_patch_offload/cpo_edge_model.py"),
           _load("testalgorithms/crc_patch_offload/cpo_hard_example_mining.py"),
           _load("testalgorithms/crc_patch_offload/cpo_cloud_model.py"),
           _load("testenv/jb_patch_metrics.py"), trio)
    session._TRIOS.pop(("cifar10", SEED), None)


def _run(modules, policy, tau=0.5):
    edge_mod, hem_mod, cloud_mod, _, trio = modules
    edge = edge_mod.CRCPatchEdgeModel(split_seed=SEED, alpha_crc=0.3, alpha_aps=0.1, tau=tau, policy=policy)
    hem = hem_mod.CRCAcceptanceMining(alpha_crc=0.3)
    cloud = cloud_mod.PatchViTCloudModel(split_seed=SEED)
    xs = [{"dataset": "cifar10", "split_seed": SEED, "index": i} for i in range(30)]
    edge.check_dataset(xs, trio.splits.y_test.tolist())
    y_pred = []
    for x in xs:                                            # Ianvs inference-then-mining (contract C20)
        e = edge.predict(x)
        hard = hem(e)
        c = cloud.inference(x) if hard else None
        y_pred.append([hard, c if hard else e, e, c])
    return y_pred, trio.splits.y_test.tolist(), edge


def test_method_metrics_are_consistent(modules):
    metrics = modules[3]
    y_pred, y_true, edge = _run(modules, "crc")
    hard = [p[0] for p in y_pred]
    assert 0 < sum(hard) <= 30
    patches = [p[3]["extras"]["patches_sent"] if p[0] else 0 for p in y_pred]
    assert all(n >= 1 for n, h in zip(patches, hard) if h)
    cost = metrics.patch_comm_cost(y_true, y_pred)
    assert cost == pytest.approx(sum(patches) / (30 * 16))
    assert metrics.patch_mean_patches(y_true, y_pred) == pytest.approx(np.mean(patches))
    assert metrics.patch_latency_8(y_true, y_pred) == pytest.approx(latency_ms_closed_form(cost, 16 * 16 * 3, 8.0))
    assert metrics.patch_offload_rate(y_true, y_pred) == pytest.approx(100 * sum(hard) / 30)
    wrong_accepted = sum(not p[0] and p[2]["prediction"] != y for p, y in zip(y_pred, y_true))
    assert metrics.patch_accept_wrong(y_true, y_pred) == pytest.approx(100 * wrong_accepted / 30)
    cov = np.mean([y in p[2]["extras"]["aps_set"] for p, y in zip(y_pred, y_true)])
    assert metrics.patch_aps_coverage(y_true, y_pred) == pytest.approx(100 * cov)
    assert 1 <= metrics.patch_aps_set_size(y_true, y_pred) <= 4
    top1 = np.mean([int(p[1]["prediction"]) == y for p, y in zip(y_pred, y_true)])
    assert metrics.patch_top1(y_true, y_pred) == pytest.approx(100 * top1)
    assert "calibration" in edge.provenance()


def test_server_only_and_edge_only_policies(modules):
    metrics = modules[3]
    y_pred, y_true, _ = _run(modules, "server_only")
    assert metrics.patch_comm_cost(y_true, y_pred) == pytest.approx(1.0)
    y_pred, y_true, _ = _run(modules, "edge_only")
    assert metrics.patch_comm_cost(y_true, y_pred) == 0.0 and metrics.patch_offload_rate(y_true, y_pred) == 0.0
    assert math.isnan(metrics.patch_comm_cost(y_true, []))


@pytest.mark.parametrize("key,value", [("tau", 1.5), ("alpha_crc", 0.0), ("alpha_aps", "x"), ("policy", "both"),
                                       ("dataset", "imagenet"), ("split_seed", -1), ("threads", 0)])
def test_edge_constructor_names_bad_key(modules, key, value):
    with pytest.raises(ValueError, match=key):
        modules[0].CRCPatchEdgeModel(**{key: value})


def test_cloud_without_edge_message_explains_mode(modules):
    cloud = modules[2].PatchViTCloudModel(split_seed=SEED)
    with pytest.raises(RuntimeError, match="inference-then-mining"):
        cloud.inference({"dataset": "cifar10", "split_seed": SEED, "index": 3})
    with pytest.raises(ValueError, match="uplink_mbps"):
        modules[2].PatchViTCloudModel(uplink_mbps=0)


def test_hem_checks_record_and_alpha(modules):
    hem = modules[1].CRCAcceptanceMining(alpha_crc=0.05)
    with pytest.raises(ValueError, match="inference-then-mining"):
        hem({"extras": {}})
    with pytest.raises(ValueError, match="alpha_crc"):
        hem({"extras": {"accept": True, "alpha_crc": 0.1}})
    assert hem({"extras": {"accept": False, "alpha_crc": 0.05}}) is True


def test_the_modules_load_no_baseline_vit_edge(monkeypatch):
    from jointbench.patchoffload import models

    asked: list[str] = []

    def fake_load(role, splits, seed, retrain, log, recipe):
        asked.append(role)
        return TrainedModel(role, torch.nn.Identity(), {"accuracy_test": 0.5})

    monkeypatch.setattr(models, "load_image_splits", lambda dataset, seed: None)
    monkeypatch.setattr(models.torch, "set_num_threads", lambda n: None)  # keep this process's threads
    monkeypatch.setattr(models, "load_or_train", fake_load)
    trio = session.trio_for("cifar10", 12345)
    session._TRIOS.pop(("cifar10", 12345), None)
    assert asked == ["edge_cnn", "server_vit"] and trio.edge_vit is None
    assert set(trio.accuracies()) == {"edge_cnn", "server_vit"}
    asked.clear()
    full = models.load_trio("cifar10", 0)  # control: the benchmark's trio has all three
    assert asked == ["edge_cnn", "server_vit", "edge_vit"] and full.edge_vit is not None
