"""Seeded train / calibration / test splits of the offline image datasets, by name.

``cifar10``: the 10,000 BIG-bench CIFAR-10 test images split 6,000 / 2,000 / 2,000.
``fashion-mnist``: 20,000 of the 60,000 training images for training; the 10,000 test images
split 5,000 calibration / 5,000 test. Splits are a seeded permutation, so a seed fixes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from jointbench.datasets.cifar10_bigbench import CIFAR10_CLASSES, load_cifar10_test
from jointbench.datasets.fashion_mnist import FASHION_MNIST_CLASSES, load_fashion_mnist

__all__ = ["IMAGE_DATASETS", "ImageSplits", "load_image_splits", "split_three"]


@dataclass(frozen=True)
class ImageSplits:
    """Images are (N, H, W, channels) uint8, labels (N,) int64."""

    name: str
    classes: tuple[str, ...]
    x_train: np.ndarray
    y_train: np.ndarray
    x_cal: np.ndarray
    y_cal: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """``(H, W, channels)``."""
        return tuple(self.x_train.shape[1:])  # type: ignore[return-value]


def split_three(n: int, sizes: tuple[int, int, int], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint index sets of the given sizes from a seeded permutation of ``range(n)``."""
    if sum(sizes) > n or min(sizes) < 0:
        raise ValueError(f"split sizes {sizes} do not fit {n} items")
    perm = np.random.default_rng(seed).permutation(n)
    a, b, c = sizes
    return perm[:a], perm[a:a + b], perm[a + b:a + b + c]


def _cifar10(seed: int) -> ImageSplits:
    x, y = load_cifar10_test()
    tr, ca, te = split_three(len(y), (6000, 2000, 2000), seed)
    return ImageSplits("cifar10", CIFAR10_CLASSES, x[tr], y[tr], x[ca], y[ca], x[te], y[te])


def _fashion_mnist(seed: int) -> ImageSplits:
    xtr, ytr = load_fashion_mnist("train")
    xte, yte = load_fashion_mnist("test")
    tr, _, _ = split_three(len(ytr), (20000, 0, 0), seed)
    _, ca, te = split_three(len(yte), (0, 5000, 5000), seed + 1)
    return ImageSplits("fashion-mnist", FASHION_MNIST_CLASSES, xtr[tr], ytr[tr], xte[ca], yte[ca], xte[te], yte[te])


IMAGE_DATASETS: dict[str, Callable[[int], ImageSplits]] = {"cifar10": _cifar10, "fashion-mnist": _fashion_mnist}


def load_image_splits(name: str, seed: int = 0) -> ImageSplits:
    """Train / calibration / test splits of an offline image dataset.

    Parameters
    ----------
    name : {"cifar10", "fashion-mnist"}
    seed : int
        Seed of the split permutation.
    """
    try:
        loader = IMAGE_DATASETS[name]
    except KeyError:
        raise ValueError(f"Unknown image dataset {name!r}. Available: {sorted(IMAGE_DATASETS)}") from None
    return loader(int(seed))
