"""Fashion-MNIST (70,000 28×28 grey images) from the Debian package ``dataset-fashion-mnist``.

``apt-get install dataset-fashion-mnist`` puts the four IDX files (gzip) in
``/usr/share/datasets/fashion-mnist`` (``dpkg -L dataset-fashion-mnist``); set
``$JOINTBENCH_FASHION_MNIST_DIR`` to read another copy.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

__all__ = ["FASHION_MNIST_CLASSES", "FASHION_MNIST_DIR_ENV", "fashion_mnist_dir", "load_fashion_mnist", "read_idx"]

FASHION_MNIST_DIR_ENV = "JOINTBENCH_FASHION_MNIST_DIR"
DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker",
                         "bag", "ankle boot")
_FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
          "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def fashion_mnist_dir() -> Path:
    """``$JOINTBENCH_FASHION_MNIST_DIR`` or the Debian package's folder."""
    return Path(os.environ.get(FASHION_MNIST_DIR_ENV) or DEFAULT_DIR)


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Parse one (optionally gzipped) IDX file into an array of its declared dtype and shape."""
    p = Path(path)
    opener = gzip.open if p.suffix == ".gz" else open
    with opener(p, "rb") as fh:
        data = fh.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_DTYPES:
        raise ValueError(f"{p}: not an IDX file (bad magic {data[:4]!r})")
    ndim = data[3]
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    arr = np.frombuffer(data, dtype=_IDX_DTYPES[data[2]], offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{p}: header says shape {dims} but holds {arr.size} values")
    return arr.reshape(dims).astype(arr.dtype.newbyteorder("="))


def load_fashion_mnist(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Images ``(N, 28, 28, 1)`` uint8 and labels ``(N,)`` int64 of ``split`` ("train" 60k / "test" 10k).

    Raises
    ------
    FileNotFoundError
        Names the missing file and the install command.
    """
    if split not in _FILES:
        raise ValueError(f"split: must be one of {sorted(_FILES)}, got {split!r}")
    folder = fashion_mnist_dir()
    paths = [folder / name for name in _FILES[split]]
    for p in paths:
        if not p.is_file():
            raise FileNotFoundError(
                f"Fashion-MNIST file {p} not found. Install the Debian package with "
                f"`apt-get update && apt-get install -y dataset-fashion-mnist`, or set ${FASHION_MNIST_DIR_ENV}.")
    images, labels = read_idx(paths[0]), read_idx(paths[1])
    if images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: {images.shape[0]} images but {labels.shape[0]} labels for split {split!r}")
    return images[..., None].astype(np.uint8), labels.astype(np.int64)
