"""Grad-CAM on g = Σ w_c z_c equals the w-weighted sum of the per-class Grad-CAM maps (before the ReLU;
after it, the ReLU of that sum), checked against captum per class and an independent hook version."""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import LayerGradCam

from jointbench.patchoffload.candidates import aps_candidate_sets, candidate_weights
from jointbench.patchoffload.gradcam import aggregated_gradcam, minmax, patch_scores
from jointbench.patchoffload.nets import EdgeCNN


def _setup():
    torch.manual_seed(0)
    model = EdgeCNN(in_ch=3, n_classes=6, width=4).eval()
    x = torch.randn(5, 3, 32, 32)
    rng = np.random.default_rng(0)
    w = rng.random((5, 6)) * (rng.random((5, 6)) < 0.6)
    w[:, 0] += 0.1
    return model, x, w / w.sum(1, keepdims=True)


def _per_class(model, x, c):
    return LayerGradCam(model, model.last_conv).attribute(x, target=c, relu_attributions=False).detach()[:, 0]


def _hook_gradcam(model, x, w):
    store = {}
    handle = model.last_conv.register_forward_hook(lambda m, i, o: store.__setitem__("a", o))
    try:
        g = (model(x) * torch.as_tensor(w, dtype=x.dtype)).sum()
        a = store["a"]
        grad, = torch.autograd.grad(g, a)
    finally:
        handle.remove()
    beta = grad.mean(dim=(2, 3), keepdim=True)
    return (beta * a).sum(1).detach()


def test_aggregated_map_is_weighted_sum_of_class_maps():
    model, x, w = _setup()
    agg = aggregated_gradcam(model, model.last_conv, x, w, relu=False)
    per = torch.stack([_per_class(model, x, c) for c in range(6)], dim=1)        # (N, C, h, w)
    weighted = (torch.as_tensor(w, dtype=x.dtype)[:, :, None, None] * per).sum(1)
    torch.testing.assert_close(agg, weighted, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(aggregated_gradcam(model, model.last_conv, x, w), weighted.clamp_min(0),
                               rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(agg, _hook_gradcam(model, x, w), rtol=1e-4, atol=1e-6)


def test_control_other_weights_give_another_map():
    model, x, w = _setup()
    agg = aggregated_gradcam(model, model.last_conv, x, w, relu=False)
    other = aggregated_gradcam(model, model.last_conv, x, w[:, ::-1].copy(), relu=False)
    assert not torch.allclose(agg, other, rtol=1e-3, atol=1e-5)


def test_candidate_weights_sum_to_one_on_the_aps_set():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(8), size=50)
    members = aps_candidate_sets(p, 0.7)
    w = candidate_weights(p, members)
    np.testing.assert_allclose(w.sum(1), 1.0)
    assert np.all((w > 0) == members)
    # k* = min{k : cumsum_k > q}: the set's mass exceeds q, and without its last class it does not
    mass = (p * members).sum(1)
    last = np.where(members, p, np.inf).min(1)
    assert np.all(mass > 0.7) and np.all(mass - last <= 0.7)


def test_patch_scores_are_normalised_on_the_grid():
    cam = torch.rand(3, 4, 4)
    cam[2] = 0.0                                                   # constant map: every patch scores 1
    s = patch_scores(cam, 32, 8)
    assert s.shape == (3, 64)
    assert np.allclose(s[:2].max(1), 1.0) and np.allclose(s[:2].min(1), 0.0)
    assert np.all(s[2] == 1.0)
    assert torch.all(minmax(torch.zeros(1, 5)) == 1)
