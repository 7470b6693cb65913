"""The one place that loads models, offline.

* language models: :func:`load_causal_lm` (packaged GGUF names, local Hugging Face
  directories or cache entries, ``"tiny-random"``), :func:`smollm2_gguf_path`,
  :func:`tiny_random_lm`, :func:`int8_dynamic_copy`, :func:`bf16_copy`;
* the sentence encoder of CAb's localized CP: :func:`load_minilm`;
* one error, :class:`ModelUnavailable`, whose message names the model and the fix.

Converted models are cached through :mod:`jointbench.cache`. Image models for the CRC+APS
method are to land here too (they are built in ``jointbench/patchoffload/`` for now).
Importing this package imports torch but not transformers.
"""

from __future__ import annotations

from jointbench.models.causal_lm import PACKAGED, eos_token_ids, load_causal_lm, load_hf_local
from jointbench.models.errors import ModelUnavailable, require_transformers
from jointbench.models.gguf_models import convert_gguf_once, load_gemma3_270m, load_smollm2, smollm2_gguf_path
from jointbench.models.quantize import bf16_copy, int8_dynamic_copy
from jointbench.models.sentence_encoder import load_minilm
from jointbench.models.tiny_lm import char_tokenizer, tiny_random_lm

__all__ = [
    "PACKAGED",
    "ModelUnavailable",
    "bf16_copy",
    "char_tokenizer",
    "convert_gguf_once",
    "eos_token_ids",
    "int8_dynamic_copy",
    "load_causal_lm",
    "load_gemma3_270m",
    "load_hf_local",
    "load_minilm",
    "load_smollm2",
    "require_transformers",
    "smollm2_gguf_path",
    "tiny_random_lm",
]
