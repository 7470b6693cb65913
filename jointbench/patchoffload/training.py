"""Seeded training of the method's three models, cached on disk through :mod:`jointbench.cache`.

``load_or_train(role, splits)`` returns the trained model of a role (``edge_cnn``, ``server_vit``,
``edge_vit``) for an offline dataset, trained with a named recipe of :data:`RECIPES` (the dataset's
default unless ``recipe_name`` picks one) on the first call and read back afterwards (CIFAR-10 defaults
with 2 threads: the edge CNN 40 s, the server 420 s, the baselines' ViT edge 330 s; measured in
``docs/patchoffload.md``). A
recipe may distil from a CNN teacher (:class:`Recipe`). The cache key holds every input that decides the
weights (role, architecture, dataset and split seed, training recipe, torch version), so a change
retrains. ``python -m jointbench.patchoffload.models --dataset cifar10 --retrain`` retrains on demand.
"""

from __future__ import annotations

import io
import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from jointbench.cache import atomic_write_bytes, cache_dir, cache_key
from jointbench.datasets.image_splits import ImageSplits
from jointbench.patchoffload.gradcam import aggregated_gradcam
from jointbench.patchoffload.nets import EdgeCNN, PatchViT

__all__ = ["DATASET_DEFAULT_RECIPES", "DATASET_OVERRIDES", "DEFAULT_RECIPES", "RECIPES", "ROLES", "Recipe",
           "TrainedModel", "accuracy", "load_or_train", "normalise_uint8", "recipe_for", "recipe_key",
           "recipe_name_for", "teacher_saliency", "to_tensor", "train_model"]

_FORMAT = 1


@dataclass(frozen=True)
class Recipe:
    """Architecture and training recipe of one role (everything that decides the weights).

    ``teacher`` (optional) trains an :class:`EdgeCNN` first (keys: its ``arch`` kwargs, ``epochs``,
    ``lr``) whose softened logits the student also fits: loss = (1 − kd)·CE + kd·T²·KL(teacher‖student)
    at temperature ``kd_temperature`` (Hinton et al. 2015). The teacher sees the whole (augmented) image;
    the student still sees only its kept patches. Its training time counts in the student's.

    ``guided`` (needs a teacher and ``min_keep < 1``): in that share of the batches the kept patches are
    not random but the ones the teacher's Grad-CAM rates highest (on the aggregated target Σ_c p_c z_c,
    pooled to the patch grid), which is how the method selects at test time; the number kept is drawn as
    for random dropping.
    """

    arch: dict[str, Any]
    epochs: int
    lr: float
    batch: int = 128
    weight_decay: float = 5e-4
    min_keep: float = 1.0      # < 1: train with random patch dropping (keep fraction in [min_keep, 1])
    augment: bool = True       # random crop (pad 2) and horizontal flip for RGB data
    teacher: dict[str, Any] | None = None
    kd: float = 0.0
    kd_temperature: float = 2.0
    guided: float = 0.0        # share of patch-dropping batches that keep the teacher's most salient patches


# Fields added after format 1 shipped: left out of the cache key at these defaults, so the weights of
# recipes that do not use them keep their keys (a recipe that sets them gets a new key).
_KEY_DEFAULTS = {"teacher": None, "kd": 0.0, "kd_temperature": 2.0, "guided": 0.0}

_NETS: dict[str, Callable[..., nn.Module]] = {"edge_cnn": EdgeCNN, "server_vit": PatchViT, "edge_vit": PatchViT}

_HYBRID = {"patch": 8, "embed": "cnn", "dim": 128, "depth": 3, "heads": 4, "mlp": 256}
_HYBRID_SMALL = {"patch": 8, "embed": "cnn", "embed_ch": 8, "dim": 96, "depth": 2, "heads": 4, "mlp": 192}
_VIT_TINY = {"patch": 8, "embed": "linear", "dim": 64, "depth": 2, "heads": 2, "mlp": 128}
_VIT_HYBRID = {"patch": 8, "embed": "cnn", "embed_ch": 8, "dim": 64, "depth": 2, "heads": 2, "mlp": 128}
_TEACHER16 = {"width": 16, "epochs": 4, "lr": 3e-3}
_TEACHER32 = {"width": 32, "epochs": 30, "lr": 3e-3}
_CANVAS = {"patch": 8, "embed": "canvas", "embed_ch": 32, "dim": 128, "depth": 2, "heads": 4, "mlp": 256}
_VIT_CANVAS = {"patch": 8, "embed": "canvas", "embed_ch": 32, "dim": 64, "depth": 2, "heads": 2, "mlp": 128}

# Named recipes of each role (measured in docs/patchoffload.md). ``cnn-w8`` and ``hybrid-10ep`` are the
# first pair; ``cnn-w8-6ep`` and ``hybrid-small-kd`` (a lighter hybrid distilled from a width-16 CNN teacher)
# the second; ``cnn-w12-6ep`` with ``hybrid-kd-20ep`` a stronger variant of it. Those edges were tiny (16-36 k
# parameters, 3-6 epochs); the CIFAR-10 defaults now train longer and wider: the edge ``cnn-w16-30ep`` (61 k
# parameters, 30 epochs) and the ``canvas`` servers (a CNN stem over the received patches on an empty canvas,
# then a transformer over their tokens; distilled from a width-32, 30-epoch CNN), ``-guided`` keeping the
# teacher's most salient patches in half of the dropping batches. The baselines' ViT edge defaults to
# ``vit-canvas16-kd`` (a half-width canvas stem and the server's teacher, no dropping; 2.55 pp above the edge
# CNN, so the baselines are not handicapped; ``vit-hybrid-kd`` and ``vit-tiny`` went with the older pairs).
# The ``-p4`` recipes use 4-px patches (an 8×8 grid on 32 px); the baselines' ViT edge must use the server's
# patch size.
RECIPES: dict[str, dict[str, Recipe]] = {
    "edge_cnn": {"cnn-w8": Recipe(arch={"width": 8}, epochs=3, lr=3e-3),
                 "cnn-w8-6ep": Recipe(arch={"width": 8}, epochs=6, lr=3e-3),
                 "cnn-w12-6ep": Recipe(arch={"width": 12}, epochs=6, lr=3e-3),
                 "cnn-w16-30ep": Recipe(arch={"width": 16}, epochs=30, lr=3e-3),
                 "cnn-w32-30ep": Recipe(arch={"width": 32}, epochs=30, lr=3e-3)},
    "server_vit": {
        "hybrid-10ep": Recipe(arch=_HYBRID, epochs=10, lr=2e-3, min_keep=0.25),
        "hybrid-small-kd": Recipe(arch=_HYBRID_SMALL, epochs=12, lr=3e-3, min_keep=0.25,
                                  teacher=_TEACHER16, kd=0.5),
        "hybrid-kd-20ep": Recipe(arch=_HYBRID, epochs=20, lr=2e-3, min_keep=0.25,
                                 teacher={"width": 32, "epochs": 6, "lr": 3e-3}, kd=0.5),
        "hybrid-small-kd-p4": Recipe(arch={**_HYBRID_SMALL, "patch": 4}, epochs=12, lr=3e-3, min_keep=0.25,
                                     teacher=_TEACHER16, kd=0.5),
        "canvas-kd": Recipe(arch=_CANVAS, epochs=30, lr=2e-3, min_keep=0.25, teacher=_TEACHER32, kd=0.7),
        "canvas-kd05": Recipe(arch=_CANVAS, epochs=30, lr=2e-3, min_keep=0.25, teacher=_TEACHER32, kd=0.5),
        "canvas-kd-keep50": Recipe(arch=_CANVAS, epochs=30, lr=2e-3, min_keep=0.5, teacher=_TEACHER32, kd=0.7),
        "canvas-kd-guided": Recipe(arch=_CANVAS, epochs=30, lr=2e-3, min_keep=0.25, teacher=_TEACHER32, kd=0.7,
                                   guided=0.5),
        "canvas-kd-guided-15ep": Recipe(arch=_CANVAS, epochs=15, lr=2e-3, min_keep=0.25,
                                        teacher={**_TEACHER32, "epochs": 15}, kd=0.7, guided=0.5),
        "canvas-kd-guided-p4": Recipe(arch={**_CANVAS, "patch": 4}, epochs=30, lr=2e-3, min_keep=0.25,
                                      teacher=_TEACHER32, kd=0.7, guided=0.5),
    },
    "edge_vit": {"vit-tiny": Recipe(arch=_VIT_TINY, epochs=6, lr=3e-3),
                 "vit-hybrid-kd": Recipe(arch=_VIT_HYBRID, epochs=12, lr=3e-3, teacher=_TEACHER16, kd=0.5),
                 "vit-hybrid-kd-8ep": Recipe(arch=_VIT_HYBRID, epochs=8, lr=3e-3, teacher=_TEACHER16, kd=0.5),
                 "vit-hybrid-kd-p4": Recipe(arch={**_VIT_HYBRID, "patch": 4}, epochs=12, lr=3e-3, teacher=_TEACHER16,
                                            kd=0.5),
                 "vit-canvas-kd": Recipe(arch=_VIT_CANVAS, epochs=30, lr=2e-3, teacher=_TEACHER32, kd=0.7),
                 "vit-canvas16-kd": Recipe(arch={**_VIT_CANVAS, "embed_ch": 16}, epochs=30, lr=2e-3,
                                           teacher=_TEACHER32, kd=0.7)},
}
ROLES = tuple(_NETS)

DEFAULT_RECIPES: dict[str, str] = {"edge_cnn": "cnn-w16-30ep", "server_vit": "canvas-kd-guided",
                                   "edge_vit": "vit-canvas16-kd"}

# Per-dataset changes: the default recipe name of a role, and field overrides of a role's recipe
# (28-px Fashion-MNIST needs 7-px patches for the 4×4 grid; its 20,000 training images need fewer epochs).
DATASET_DEFAULT_RECIPES: dict[str, dict[str, str]] = {
    "fashion-mnist": {"server_vit": "hybrid-10ep", "edge_cnn": "cnn-w8", "edge_vit": "vit-tiny"}}
DATASET_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "fashion-mnist": {"server_vit": {"arch": {"patch": 7}, "epochs": 4},
                      "edge_vit": {"arch": {"patch": 7}, "epochs": 3},
                      "edge_cnn": {"epochs": 2}},
}


def recipe_name_for(role: str, dataset: str, name: str | None = None) -> str:
    """The recipe name used for ``role`` on ``dataset`` (``name`` if given, checked)."""
    if role not in RECIPES:
        raise ValueError(f"Unknown model role {role!r}. Available: {sorted(RECIPES)}")
    chosen = name or DATASET_DEFAULT_RECIPES.get(dataset, {}).get(role) or DEFAULT_RECIPES[role]
    if chosen not in RECIPES[role]:
        raise ValueError(f"Unknown recipe {chosen!r} for role {role!r}. Available: {sorted(RECIPES[role])}")
    return chosen


def recipe_for(role: str, dataset: str, name: str | None = None) -> Recipe:
    """The role's recipe (default or ``name``) with the dataset's overrides applied."""
    recipe = RECIPES[role][recipe_name_for(role, dataset, name)]
    over = DATASET_OVERRIDES.get(dataset, {}).get(role, {})
    fields = asdict(recipe)
    for key, value in over.items():
        fields[key] = {**fields[key], **value} if key == "arch" else value
    return Recipe(**fields)


def recipe_key(recipe: Recipe) -> dict[str, Any]:
    """The recipe as it enters the cache key (later fields left out at their defaults)."""
    return {k: v for k, v in asdict(recipe).items() if not (k in _KEY_DEFAULTS and v == _KEY_DEFAULTS[k])}


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


def _build(role: str, splits: ImageSplits, recipe: Recipe) -> nn.Module:
    h, _, c = splits.image_shape
    n_classes = len(splits.classes)
    if _NETS[role] is EdgeCNN:
        return EdgeCNN(in_ch=c, n_classes=n_classes, **recipe.arch)
    return PatchViT(image_size=h, in_ch=c, n_classes=n_classes, **recipe.arch)


def teacher_saliency(teacher: EdgeCNN, x: torch.Tensor, grid: int) -> torch.Tensor:
    """Grad-CAM of ``teacher`` at its last conv stage on the aggregated target Σ_c p_c z_c (p its own
    softmax; :func:`~jointbench.patchoffload.gradcam.aggregated_gradcam`), average-pooled to a
    ``grid × grid`` patch grid: ``(N, grid²)``, row-major, ≥ 0."""
    with torch.no_grad():
        p = teacher(x).softmax(dim=1)
    cam = aggregated_gradcam(teacher, teacher.last_conv, x.detach(), p)
    return F.adaptive_avg_pool2d(cam[:, None], grid).flatten(1)


def _forward_train(model: nn.Module, x: torch.Tensor, recipe: Recipe, g: torch.Generator,
                   teacher: nn.Module | None = None) -> torch.Tensor:
    if not isinstance(model, PatchViT) or recipe.min_keep >= 1.0:
        return model(x)
    from jointbench.patchoffload.nets import patchify

    patches = patchify(x, model.patch)
    n, p = patches.shape[:2]
    k = max(1, int(np.ceil(p * (recipe.min_keep + (1 - recipe.min_keep) * float(torch.rand(1, generator=g))))))
    order = torch.rand(n, p, generator=g)
    if recipe.guided > 0 and isinstance(teacher, EdgeCNN) and float(torch.rand(1, generator=g)) < recipe.guided:
        sal = teacher_saliency(teacher, x, model.grid)
        order = -(sal / sal.amax(dim=1, keepdim=True).clamp_min(1e-12)) - 1e-3 * order   # random among ties
    index = order.argsort(dim=1)[:, :k]
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


def _fit(model: nn.Module, splits: ImageSplits, recipe: Recipe, g: torch.Generator,
         teacher: nn.Module | None, log: Callable[[str], None] | None, name: str) -> None:
    """AdamW with a one-cycle schedule; optional distillation from ``teacher`` (see :class:`Recipe`)."""
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    steps = recipe.epochs * int(np.ceil(len(splits.y_train) / recipe.batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=steps, pct_start=0.15)
    x_all, y_all = to_tensor(splits.x_train), torch.from_numpy(splits.y_train)
    rgb = x_all.shape[1] == 3
    t_kd = recipe.kd_temperature
    t0 = time.perf_counter()
    for epoch in range(recipe.epochs):
        model.train()
        perm = torch.randperm(len(y_all), generator=g)
        for i in range(0, len(perm), recipe.batch):
            idx = perm[i:i + recipe.batch]
            x = _augment(x_all[idx], g) if (recipe.augment and rgb) else x_all[idx]
            out = _forward_train(model, x, recipe, g, teacher)
            loss = F.cross_entropy(out, y_all[idx], label_smoothing=0.05)
            if teacher is not None:
                with torch.no_grad():
                    soft = F.softmax(teacher(x) / t_kd, dim=1)
                kl = F.kl_div(F.log_softmax(out / t_kd, dim=1), soft, reduction="batchmean")
                loss = (1.0 - recipe.kd) * loss + recipe.kd * t_kd ** 2 * kl
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        if log:
            log(f"{name} epoch {epoch + 1}/{recipe.epochs} loss {loss.item():.3f} ({time.perf_counter() - t0:.0f} s)")
    model.eval()


def _teacher(splits: ImageSplits, spec: dict[str, Any], g: torch.Generator,
             log: Callable[[str], None] | None) -> tuple[nn.Module, float]:
    arch = {k: v for k, v in spec.items() if k not in ("epochs", "lr")}
    try:
        recipe = Recipe(arch=arch, epochs=int(spec["epochs"]), lr=float(spec["lr"]))
    except KeyError as exc:
        raise ValueError(f"recipe teacher {spec} lacks {exc.args[0]!r} (needs the EdgeCNN arch, epochs, lr)") from None
    teacher = EdgeCNN(in_ch=splits.image_shape[2], n_classes=len(splits.classes), **arch)
    _fit(teacher, splits, recipe, g, None, log, "teacher")
    return teacher, accuracy(teacher, splits.x_test, splits.y_test)


def train_model(role: str, splits: ImageSplits, seed: int = 0, log: Callable[[str], None] | None = None,
                recipe_name: str | None = None) -> TrainedModel:
    """Train ``role`` on ``splits.x_train`` with its (default or named) recipe; seeded."""
    name = recipe_name_for(role, splits.name, recipe_name)
    recipe = recipe_for(role, splits.name, name)
    if recipe.guided and (not recipe.teacher or recipe.min_keep >= 1.0 or not 0.0 < recipe.guided <= 1.0):
        raise ValueError(f"recipe {name!r}: guided={recipe.guided} needs 0 < guided <= 1, a teacher and min_keep < 1")
    torch.manual_seed(seed)
    model = _build(role, splits, recipe)
    g = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    teacher, teacher_acc = _teacher(splits, recipe.teacher, g, log) if recipe.teacher else (None, None)
    _fit(model, splits, recipe, g, teacher, log, role)
    info = {"role": role, "dataset": splits.name, "seed": seed, "recipe_name": name, "recipe": asdict(recipe),
            "train_seconds": round(time.perf_counter() - t0, 1), "threads": torch.get_num_threads(),
            "load_average": [round(v, 2) for v in os.getloadavg()],
            "accuracy_test": accuracy(model, splits.x_test, splits.y_test),
            "params": sum(p.numel() for p in model.parameters())}
    if teacher_acc is not None:
        info["teacher_accuracy_test"] = teacher_acc
    return TrainedModel(role, model, info)


def _paths(role: str, splits: ImageSplits, seed: int, recipe: Recipe) -> tuple[Any, Any]:
    key = cache_key("patchoffload-model", _FORMAT, role=role, dataset=splits.name, seed=seed,
                    recipe=recipe_key(recipe), shape=list(splits.image_shape), n_train=len(splits.y_train),
                    torch=torch.__version__.split("+")[0])
    base = cache_dir() / "patchoffload" / f"{splits.name}-{role}-{key}"
    return base.with_suffix(".pt"), base.with_suffix(".json")


def load_or_train(role: str, splits: ImageSplits, seed: int = 0, retrain: bool = False,
                  log: Callable[[str], None] | None = None, recipe_name: str | None = None) -> TrainedModel:
    """The cached model of ``role`` for ``splits`` (trained and stored on a miss or with ``retrain``);
    ``recipe_name`` picks a named recipe of :data:`RECIPES` (default: the dataset's default)."""
    recipe = recipe_for(role, splits.name, recipe_name_for(role, splits.name, recipe_name))
    weights, meta = _paths(role, splits, seed, recipe)
    if not retrain and weights.is_file() and meta.is_file():
        model = _build(role, splits, recipe)
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        info = json.loads(meta.read_text())
        # the key is the recipe's content; its name is a label that may have changed since training
        info["recipe_name"] = recipe_name_for(role, splits.name, recipe_name)
        return TrainedModel(role, model.eval(), info)
    trained = train_model(role, splits, seed, log, recipe_name)
    buf = io.BytesIO()
    torch.save(trained.model.state_dict(), buf)
    atomic_write_bytes(weights, buf.getvalue())
    atomic_write_bytes(meta, json.dumps(trained.info, indent=1).encode())
    return trained
