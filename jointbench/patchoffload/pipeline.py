"""Online inference of the method (seed Algorithm 2), batched over a test set.

Edge: CNN logits → accept iff π_(1) >= λ̂; otherwise APS set S(x), weights w, Grad-CAM on
``g = Σ w_c z_c`` at the last conv stage, patch scores M̃, keep mask by τ. The uplink message of an
image is its kept patch pixels (uint8) and their indices (:func:`make_messages`); the server ViT
embeds only those patches, with their own positional embeddings (:func:`server_predict`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from jointbench.patchoffload.candidates import aps_candidate_sets, candidate_weights
from jointbench.patchoffload.gradcam import aggregated_gradcam, patch_scores
from jointbench.patchoffload.nets import PatchViT, patchify
from jointbench.patchoffload.training import normalise_uint8, to_tensor

__all__ = ["EdgePass", "Messages", "edge_pass", "make_messages", "predict_logits", "proposed_patch_scores",
           "server_predict", "vit_edge_pass"]


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@torch.no_grad()
def predict_logits(model: nn.Module, images: np.ndarray, batch: int = 500) -> np.ndarray:
    """Logits ``(N, C)`` float64 of uint8 images ``(N, H, W, C)``."""
    model.eval()
    out = [model(to_tensor(images[i:i + batch])).double().numpy() for i in range(0, len(images), batch)]
    return np.concatenate(out) if out else np.zeros((0, 0))


@dataclass(frozen=True)
class EdgePass:
    """Edge outputs on a set of images: logits, softmax, top-1 class and confidence; ``attention`` (N, P)
    is the edge ViT's CLS attention (None for the CNN)."""

    logits: np.ndarray
    probs: np.ndarray
    attention: np.ndarray | None = None

    @property
    def prediction(self) -> np.ndarray:
        """Top-1 class (N,)."""
        return self.probs.argmax(axis=1)

    @property
    def confidence(self) -> np.ndarray:
        """π_(1) (N,)."""
        return self.probs.max(axis=1)


def edge_pass(model: nn.Module, images: np.ndarray) -> EdgePass:
    """Run a classifier edge on all images."""
    logits = predict_logits(model, images)
    return EdgePass(logits, _softmax(logits))


@torch.no_grad()
def vit_edge_pass(model: PatchViT, images: np.ndarray, batch: int = 500) -> EdgePass:
    """Run the ViT edge, keeping its last-layer CLS attention over patches."""
    model.eval()
    logits, attn = [], []
    for i in range(0, len(images), batch):
        logits.append(model(to_tensor(images[i:i + batch])).double().numpy())
        attn.append(model.cls_attention().double().numpy())
    lg = np.concatenate(logits)
    return EdgePass(lg, _softmax(lg), np.concatenate(attn))


def proposed_patch_scores(model: nn.Module, images: np.ndarray, probs: np.ndarray, q_hat: float, grid: int,
                          batch: int = 250) -> tuple[np.ndarray, np.ndarray]:
    """APS-guided Grad-CAM patch scores M̃ ``(N, grid²)`` and APS set sizes ``(N,)``.

    ``model`` must expose its last convolutional stage as ``model.last_conv`` (or be given through
    :func:`aggregated_gradcam` directly for other architectures).
    """
    members = aps_candidate_sets(probs, q_hat)
    weights = candidate_weights(probs, members)
    out = np.zeros((len(images), grid * grid))
    model.eval()
    for i in range(0, len(images), batch):
        x = to_tensor(images[i:i + batch])
        cam = aggregated_gradcam(model, model.last_conv, x, weights[i:i + batch])
        out[i:i + batch] = patch_scores(cam, x.shape[-1], grid)
    return out, members.sum(axis=1)


@dataclass(frozen=True)
class Messages:
    """Uplink payloads of a batch, padded to the largest: patch pixels uint8 ``(N, K, C, p, p)``,
    row-major indices ``(N, K)`` and a validity mask ``(N, K)``."""

    patches: np.ndarray
    index: np.ndarray
    valid: np.ndarray

    @property
    def patches_sent(self) -> np.ndarray:
        """Patches in each image's message (N,)."""
        return self.valid.sum(axis=1)


def make_messages(images: np.ndarray, keep: np.ndarray, patch: int) -> Messages:
    """Cut the kept patches out of uint8 images ``(N, H, W, C)`` (what the edge transmits)."""
    keep = np.asarray(keep, dtype=bool)
    if len(images) and not keep.any(axis=1).all():
        raise ValueError("every offloaded image must send at least one patch")
    chw = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2)
    all_patches = patchify(chw, patch).numpy()
    k = int(keep.sum(axis=1).max()) if len(images) else 0
    order = np.argsort(~keep, axis=1, kind="stable")[:, :k]          # kept indices first, in grid order
    valid = np.take_along_axis(keep, order, axis=1)
    patches = np.take_along_axis(all_patches, order[:, :, None, None, None], axis=1)
    patches = np.where(valid[:, :, None, None, None], patches, 0).astype(np.uint8)
    return Messages(patches, np.where(valid, order, 0), valid)


@torch.no_grad()
def server_predict(server: PatchViT, images: np.ndarray, keep: np.ndarray, batch: int = 250) -> np.ndarray:
    """Server top-1 class of each image from its received patches only (N,)."""
    server.eval()
    preds = []
    for i in range(0, len(images), batch):
        msg = make_messages(images[i:i + batch], keep[i:i + batch], server.patch)
        x = normalise_uint8(torch.from_numpy(msg.patches))
        logits = server.forward_patches(x, torch.from_numpy(msg.index), torch.from_numpy(msg.valid))
        preds.append(logits.argmax(1).numpy())
    return np.concatenate(preds) if preds else np.zeros(0, dtype=np.int64)
