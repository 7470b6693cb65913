"""Grad-CAM on the APS-aggregated target ``g = Σ_{c∈S} w_c z_c`` (seed Eqs. 20–23), via captum.

captum's :class:`~captum.attr.LayerGradCam` computes ``Σ_c' mean_uv(∂g/∂A_c'uv) · A_c'`` at a layer
(optionally ReLU'd); the target here is the scalar ``g`` built by a wrapper forward whose output is
``(logits * w).sum(1)`` with the weights ``w`` held constant. Because β is linear in the target, the
pre-ReLU map of ``g`` equals ``Σ w_c`` × the pre-ReLU map of ``z_c`` (tested).

Patch scores: bilinear upsampling to the image size, min–max normalisation, adaptive average
pooling to the server's ``grid × grid`` patch grid, min–max again (Eq. 23). A constant map (e.g. all
zero after the ReLU) has no ranking; its patch scores are all 1, i.e. every patch is sent.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import LayerGradCam
from torch import nn
from torch.nn import functional as F

__all__ = ["aggregated_gradcam", "minmax", "patch_scores"]

_EPS = 1e-12


def aggregated_gradcam(model: nn.Module, layer: nn.Module, x: torch.Tensor, weights: torch.Tensor | np.ndarray,
                       relu: bool = True) -> torch.Tensor:
    """Grad-CAM maps at ``layer``'s resolution for the aggregated target of each image.

    Parameters
    ----------
    model : nn.Module
        Classifier returning logits ``(N, C)`` (in eval mode).
    layer : nn.Module
        The last convolutional stage; its output is ``A`` ``(N, C', h, w)``.
    x : (N, ...) tensor
        Inputs.
    weights : (N, C)
        Per-image class weights (rows of :func:`~jointbench.patchoffload.candidates.candidate_weights`).
    relu : bool
        Apply the ReLU of Eq. 22 (False gives the linear pre-ReLU map).

    Returns
    -------
    (N, h, w) tensor
        Detached maps.
    """
    w = torch.as_tensor(np.asarray(weights) if not torch.is_tensor(weights) else weights, dtype=x.dtype).detach()
    if w.shape[0] != x.shape[0]:
        raise ValueError(f"weights has {w.shape[0]} rows for {x.shape[0]} images")

    def target(inp: torch.Tensor) -> torch.Tensor:
        return (model(inp) * w).sum(dim=1, keepdim=True)

    cam = LayerGradCam(target, layer).attribute(x, target=0, relu_attributions=relu)
    return cam.detach()[:, 0]


def minmax(m: torch.Tensor) -> torch.Tensor:
    """Per-image min–max normalisation of ``(N, ...)`` maps to [0, 1]; constant maps become all 1."""
    flat = m.reshape(m.shape[0], -1)
    lo, hi = flat.min(dim=1, keepdim=True).values, flat.max(dim=1, keepdim=True).values
    span = hi - lo
    out = torch.where(span > _EPS, (flat - lo) / span.clamp_min(_EPS), torch.ones_like(flat))
    return out.reshape(m.shape)


def patch_scores(cam: torch.Tensor, image_size: int, grid: int) -> np.ndarray:
    """Patch-level importance M̃ in [0, 1]: ``(N, grid*grid)`` in row-major patch order."""
    up = F.interpolate(cam[:, None], size=(image_size, image_size), mode="bilinear", align_corners=False)
    m = minmax(up)
    pooled = F.adaptive_avg_pool2d(m, grid)[:, 0]
    return minmax(pooled).reshape(cam.shape[0], grid * grid).numpy()
