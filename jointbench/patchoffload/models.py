"""The suite's trained model trio for an offline dataset (edge CNN, server ViT, edge ViT), cached.

``python -m jointbench.patchoffload.models --dataset cifar10 [--retrain] [--threads 1] [--recipe ROLE=NAME]``
trains (or retrains) all three and prints their test accuracies.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

import torch

from jointbench.datasets.image_splits import IMAGE_DATASETS, ImageSplits, load_image_splits
from jointbench.patchoffload.training import RECIPES, TrainedModel, load_or_train

__all__ = ["ModelTrio", "add_recipe_argument", "load_trio", "main", "parse_recipes"]


@dataclass
class ModelTrio:
    """Edge CNN, server patch-ViT and the baselines' ViT edge for one dataset split.

    ``edge_vit`` is None when the caller runs only the method (the Ianvs modules), which needs no
    baseline edge.
    """

    splits: ImageSplits
    edge_cnn: TrainedModel
    server_vit: TrainedModel
    edge_vit: TrainedModel | None

    def models(self) -> list[TrainedModel]:
        """The loaded models, edge CNN first."""
        return [t for t in (self.edge_cnn, self.server_vit, self.edge_vit) if t is not None]

    def accuracies(self) -> dict[str, float]:
        """Test accuracy (%) of each loaded model alone (server on all patches)."""
        return {t.role: 100.0 * t.info["accuracy_test"] for t in self.models()}


def parse_recipes(items: list[str] | None) -> dict[str, str]:
    """``["server_vit=hybrid-10ep", ...]`` → ``{role: recipe name}`` (roles and names checked)."""
    out: dict[str, str] = {}
    for item in items or []:
        role, sep, name = item.partition("=")
        if not sep or role not in RECIPES:
            raise ValueError(f"--recipe {item!r}: expected ROLE=NAME with ROLE one of {sorted(RECIPES)}")
        if name not in RECIPES[role]:
            raise ValueError(f"--recipe {item!r}: unknown recipe {name!r} for {role}. "
                             f"Available: {sorted(RECIPES[role])}")
        out[role] = name
    return out


def load_trio(dataset: str = "cifar10", seed: int = 0, retrain: bool = False, threads: int = 1,
              log: Callable[[str], None] | None = None, recipes: dict[str, str] | None = None,
              with_edge_vit: bool = True) -> ModelTrio:
    """Load (training on a cache miss) the models for ``dataset``; ``threads`` torch threads;
    ``recipes`` maps a role to a named recipe of :data:`~jointbench.patchoffload.training.RECIPES`
    (default: the dataset's default recipes); ``with_edge_vit=False`` skips the baselines' ViT edge."""
    torch.set_num_threads(int(threads))
    splits = load_image_splits(dataset, seed)
    chosen = recipes or {}
    roles = ("edge_cnn", "server_vit", "edge_vit") if with_edge_vit else ("edge_cnn", "server_vit")
    trio = [load_or_train(role, splits, seed, retrain, log, chosen.get(role)) for role in roles]
    return ModelTrio(splits, trio[0], trio[1], trio[2] if with_edge_vit else None)


def add_recipe_argument(ap: argparse.ArgumentParser) -> None:
    """The ``--recipe ROLE=NAME`` option (repeatable) of the CLIs that load the trio."""
    names = "; ".join(f"{role}: {', '.join(sorted(r))}" for role, r in RECIPES.items())
    ap.add_argument("--recipe", action="append", metavar="ROLE=NAME",
                    help=f"train/load a named recipe instead of the default ({names})")


def main(argv: list[str] | None = None) -> int:
    """CLI: train or retrain the trio and print accuracies."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="cifar10", choices=sorted(IMAGE_DATASETS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--retrain", action="store_true", help="ignore cached weights and train again")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core box)")
    add_recipe_argument(ap)
    args = ap.parse_args(argv)
    trio = load_trio(args.dataset, args.seed, args.retrain, args.threads, log=lambda m: print(m, flush=True),
                     recipes=parse_recipes(args.recipe))
    for t in trio.models():
        print(f"{args.dataset} {t.role}: test accuracy {100 * t.info['accuracy_test']:.2f}% "
              f"(recipe {t.info.get('recipe_name', '?')}, {t.info['params']} params, "
              f"trained in {t.info['train_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
