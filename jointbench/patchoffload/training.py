"""Seeded training of the method's three models, cached on disk through :mod:`jointbench.cache`.

``load_or_train(role, dataset)`` returns the trained model of a role (``edge_cnn``, ``server_vit``,
``edge_vit``) for an offline dataset, training it on the first call (CIFAR-10, one thread: the edge
models in under a minute, the server ViT in several minutes; measured in ``docs/patchoffload.md``) and
reading it back afterwards. The cache key holds every input that decides the weights (role,
architecture, dataset and split seed, training recipe, torch version), so a change retrains.
``python -m jointbench.patchoffload.models --dataset cifar10 --retrain`` retrains on demand.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from jointbench.cache import atomic_write_bytes, cache_dir, cache_key
from jointbench.datasets.image_splits import ImageSplits
from jointbench.patchoffload.nets import EdgeCNN, PatchViT

__all__ = ["DATASET_OVERRIDES", "ROLES", "Recipe", "recipe_for", "TrainedModel", "accuracy", "load_or_train", "normalise_uint8", "to_tensor", "train_model"]

_FORMAT = 1


@dataclass(frozen=True)
class Recipe:
    """Architecture and training recipe of one role (everything that decides the weights)."""

    arch: dict[str, Any]
    epochs: int
    lr: float
    batch: int = 128
    weight_decay: float = 5e-4
    min_keep: float = 1.0      # < 1: train with random patch dropping (keep fraction in [min_keep, 1])
    augment: bool = True       # random crop (pad 2) and horizontal flip for RGB data


ROLES: dict[str, tuple[Callable[..., nn.Module], Recipe]] = {
    "edge_cnn": (EdgeCNN, Recipe(arch={"width": 8}, epochs=3, lr=3e-3)),
    "server_vit": (PatchViT, Recipe(arch={"patch": 8, "embed": "cnn", "dim": 128, "depth": 3, "heads": 4, "mlp": 256},
                                    epochs=10, lr=2e-3, min_keep=0.25)),
    "edge_vit": (PatchViT, Recipe(arch={"patch": 8, "embed": "linear", "dim": 64, "depth": 2, "heads": 2, "mlp": 128},
                                  epochs=6, lr=3e-3)),
}


# Per-dataset changes to a role's recipe (28-px Fashion-MNIST needs 7-px patches for the 4×4 grid; its
# 20,000 training images need fewer epochs for about the same training time).
DATASET_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "fashion-mnist": {"server_vit": {"arch": {"patch": 7}, "epochs": 4},
                      "edge_vit": {"arch": {"patch": 7}, "epochs": 3},
                      "edge_cnn": {"epochs": 2}},
}


def recipe_for(role: str, dataset: str) -> Recipe:
    """The role's recipe with the dataset's overrides applied."""
    try:
        _, recipe = ROLES[role]
    except KeyError:
        raise ValueError(f"Unknown model role {role!r}. Available: {sorted(ROLES)}") from None
    over = DATASET_OVERRIDES.get(dataset, {}).get(role, {})
    fields = asdict(recipe)
    for key, value in over.items():
        fields[key] = {**fields[key], **value} if key == "arch" else value
    return Recipe(**fields)


@dataclass
class TrainedModel:
    """A trained model with its provenance (``accuracy`` on the test split, in [0, 1])."""

    role: str
    model: nn.Module
    info: dict[str, Any] = field(default_factory=dict)


def normalise_uint8(pixels: torch.Tensor) -> torch.Tensor:
    """uint8 pixel values → float in [-1, 1] (the models' input scale), any shape."""
    return pixels.float().div_(127.5).sub_(1.0)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 ``(N, H, W, C)`` → float ``(N, C, H, W)`` in [-1, 1]."""
    return normalise_uint8(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2))


def _augment(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    n, _, h, w = x.shape
    pad = F.pad(x, (2, 2, 2, 2), mode="reflect")
    dy, dx = torch.randint(0, 5, (2,), generator=g).tolist()
    x = pad[:, :, dy:dy + h, dx:dx + w]
    flip = torch.rand(n, generator=g) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def _build(role: str, splits: ImageSplits) -> tuple[nn.Module, Recipe]:
    recipe = recipe_for(role, splits.name)
    ctor = ROLES[role][0]
    h, _, c = splits.image_shape
    n_classes = len(splits.classes)
    if ctor is EdgeCNN:
        return EdgeCNN(in_ch=c, n_classes=n_classes, **recipe.arch), recipe
    return PatchViT(image_size=h, in_ch=c, n_classes=n_classes, **recipe.arch), recipe


def _forward_train(model: nn.Module, x: torch.Tensor, recipe: Recipe, g: torch.Generator) -> torch.Tensor:
    if not isinstance(model, PatchViT) or recipe.min_keep >= 1.0:
        return model(x)
    from jointbench.patchoffload.nets import patchify

    patches = patchify(x, model.patch)
    n, p = patches.shape[:2]
    k = max(1, int(np.ceil(p * (recipe.min_keep + (1 - recipe.min_keep) * float(torch.rand(1, generator=g))))))
    index = torch.rand(n, p, generator=g).argsort(dim=1)[:, :k]
    sub = torch.gather(patches, 1, index[:, :, None, None, None].expand(-1, -1, *patches.shape[2:]))
    return model.forward_patches(sub, index, torch.ones(n, k, dtype=torch.bool))


@torch.no_grad()
def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray, batch: int = 500) -> float:
    """Top-1 accuracy in [0, 1] of ``model`` on uint8 images."""
    model.eval()
    hits = 0
    for i in range(0, len(labels), batch):
        hits += int((model(to_tensor(images[i:i + batch])).argmax(1).numpy() == labels[i:i + batch]).sum())
    return hits / max(len(labels), 1)


def train_model(role: str, splits: ImageSplits, seed: int = 0, log: Callable[[str], None] | None = None) -> TrainedModel:
    """Train ``role`` on ``splits.x_train`` (seeded; AdamW, one-cycle cosine schedule)."""
    torch.manual_seed(seed)
    model, recipe = _build(role, splits)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = recipe.epochs * int(np.ceil(len(splits.y_train) / recipe.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps, pct_start=0.15)
    x_all, y_all = to_tensor(splits.x_train), torch.from_numpy(splits.y_train)
    rgb = x_all.shape[1] == 3
    t0 = time.perf_counter()
    for epoch in range(recipe.epochs):
        model.train()
        perm = torch.randperm(len(y_all), generator=g)
        for i in range(0, len(perm), recipe.batch):
            idx = perm[i:i + recipe.batch]
            x = _augment(x_all[idx], g) if (recipe.augment and rgb) else x_all[idx]
            loss = F.cross_entropy(_forward_train(model, x, recipe, g), y_all[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if log:
            log(f"{role} epoch {epoch + 1}/{recipe.epochs} loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)")
    model.eval()
    info = {"role": role, "dataset": splits.name, "seed": seed, "recipe": asdict(recipe),
            "train_seconds": round(time.perf_counter() - t0, 1), "threads": torch.get_num_threads(),
            "accuracy_test": accuracy(model, splits.x_test, splits.y_test),
            "params": sum(p.numel() for p in model.parameters())}
    return TrainedModel(role, model, info)


def _paths(role: str, splits: ImageSplits, seed: int) -> tuple[Any, Any]:
    recipe = recipe_for(role, splits.name)
    key = cache_key("patchoffload-model", _FORMAT, role=role, dataset=splits.name, seed=seed,
                    recipe=asdict(recipe), shape=list(splits.image_shape), n_train=len(splits.y_train),
                    torch=torch.__version__.split("+")[0])
    base = cache_dir() / "patchoffload" / f"{splits.name}-{role}-{key}"
    return base.with_suffix(".pt"), base.with_suffix(".json")


def load_or_train(role: str, splits: ImageSplits, seed: int = 0, retrain: bool = False,
                  log: Callable[[str], None] | None = None) -> TrainedModel:
    """The cached model of ``role`` for ``splits`` (trained and stored on a miss or with ``retrain``)."""
    if role not in ROLES:
        raise ValueError(f"Unknown model role {role!r}. Available: {sorted(ROLES)}")
    weights, meta = _paths(role, splits, seed)
    if not retrain and weights.is_file() and meta.is_file():
        model, _ = _build(role, splits)
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        return TrainedModel(role, model.eval(), json.loads(meta.read_text()))
    trained = train_model(role, splits, seed, log)
    buf = io.BytesIO()
    torch.save(trained.model.state_dict(), buf)
    atomic_write_bytes(weights, buf.getvalue())
    atomic_write_bytes(meta, json.dumps(trained.info, indent=1).encode())
    return trained
