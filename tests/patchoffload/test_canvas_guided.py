"""The canvas (hybrid) server embedding and saliency-guided patch dropping (tiny models, random images)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from jointbench.datasets.image_splits import ImageSplits
from jointbench.patchoffload import training as T
from jointbench.patchoffload.nets import EdgeCNN, PatchViT


class _Spy(PatchViT):
    """Records the patch indices each training forward keeps."""

    kept: list[torch.Tensor]

    def forward_patches(self, patches, index, valid):
        self.kept.append(index.clone())
        return super().forward_patches(patches, index, valid)


def _net() -> _Spy:
    torch.manual_seed(0)
    net = _Spy(image_size=32, patch=8, in_ch=3, n_classes=10, dim=16, depth=1, heads=2, mlp=16, embed="canvas",
               embed_ch=4)
    net.kept = []
    return net


def _teacher() -> EdgeCNN:
    torch.manual_seed(1)
    return EdgeCNN(in_ch=3, n_classes=10, width=4).eval()


@pytest.mark.parametrize("guided", [1.0, 0.0])
def test_guided_dropping_keeps_the_teachers_most_salient_patches(guided):
    x = torch.randn(6, 3, 32, 32)
    recipe = T.Recipe(arch={}, epochs=1, lr=1e-3, min_keep=0.25, teacher={"width": 4}, kd=0.5, guided=guided)
    net, teacher = _net(), _teacher()
    T._forward_train(net, x, recipe, torch.Generator().manual_seed(3), teacher)
    kept = net.kept[0]
    sal = T.teacher_saliency(teacher, x, 4)
    assert sal.shape == (6, 16) and bool((sal >= 0).all())
    assert 0 < kept.shape[1] < 16
    # every kept patch is at least as salient as every dropped one (ties broken at random)
    follows = [float(s[k].min()) >= float(s[np.setdiff1d(np.arange(16), k.numpy())].max()) for s, k in zip(sal, kept)]
    if guided:
        assert all(follows)
    else:                                   # control: random dropping does not follow the teacher
        assert not all(follows)


def test_teacher_saliency_is_the_gradcam_of_the_aggregated_target():
    teacher, x = _teacher(), torch.randn(3, 3, 32, 32)
    sal = T.teacher_saliency(teacher, x, 4)
    feats = teacher.last_conv(teacher.stem(x)).detach().requires_grad_(True)
    logits = teacher.head(feats.mean(dim=(2, 3)))
    w = logits.softmax(dim=1).detach()
    (grads,) = torch.autograd.grad((w * logits).sum(), feats)
    cam = torch.relu((grads.mean(dim=(2, 3), keepdim=True) * feats).sum(dim=1))     # (3, 4, 4): the grid
    torch.testing.assert_close(sal, cam.detach().flatten(1), rtol=1e-4, atol=1e-6)


def test_guided_recipe_needs_a_teacher_and_dropping(monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, 16).astype(np.int64)
    splits = ImageSplits("cifar10", tuple("abcdefghij"), x, y, x, y, x, y)
    arch = {"patch": 8, "embed": "canvas", "embed_ch": 4, "dim": 16, "depth": 1, "heads": 2, "mlp": 16}
    bad = T.Recipe(arch=arch, epochs=1, lr=1e-3, batch=8, min_keep=0.5, guided=0.5)       # no teacher
    monkeypatch.setitem(T.RECIPES["server_vit"], "bad-guided", bad)
    with pytest.raises(ValueError, match="bad-guided.*teacher"):
        T.train_model("server_vit", splits, recipe_name="bad-guided")
    key = T.recipe_key(dataclasses.replace(bad, teacher={"width": 4, "epochs": 1, "lr": 1e-3}))
    assert key["guided"] == 0.5                                 # a guided recipe is keyed by it


def test_canvas_embedding_needs_a_power_of_two_patch():
    with pytest.raises(ValueError, match="power-of-two"):
        PatchViT(image_size=28, patch=7, embed="canvas")
    with pytest.raises(ValueError, match="Unknown patch embedding"):
        PatchViT(image_size=32, patch=8, embed="canvass")
