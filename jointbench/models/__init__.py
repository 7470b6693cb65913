"""The one place that loads models, offline.

* language models: :func:`load_causal_lm` (packaged GGUF names, local Hugging Face
  directories or cache entries, ``"tiny-random"``), :func:`smollm2_gguf_path`,
  :func:`tiny_random_lm`, :func:`int8_dynamic_copy`, :func:`bf16_copy`;
* the sentence encoder of CAb's localized CP: :func:`load_minilm`;
* image models: :func:`load_efficientnet_lite0` (packaged ImageNet CNN), :func:`load_timm_model`
  (``timm`` architectures from local weights), :class:`ImageNetNormalised`;
* one error, :class:`ModelUnavailable`, whose message names the model and the fix.

Converted models are cached through :mod:`jointbench.cache`. The small image models the CRC+APS
method trains itself live with that method (``jointbench/patchoffload/nets.py``).
Importing this package imports torch but not transformers.
"""

from __future__ import annotations

from jointbench.models.causal_lm import PACKAGED, eos_token_ids, load_causal_lm, load_hf_local
from jointbench.models.errors import ModelUnavailable, require_transformers
from jointbench.models.image import ImageNetNormalised, load_efficientnet_lite0, load_timm_model
from jointbench.models.gguf_models import convert_gguf_once, load_gemma3_270m, load_smollm2, smollm2_gguf_path
from jointbench.models.quantize import bf16_copy, int8_dynamic_copy
from jointbench.models.sentence_encoder import load_minilm
from jointbench.models.tiny_lm import char_tokenizer, tiny_random_lm

__all__ = [
    "PACKAGED",
    "ImageNetNormalised",
    "ModelUnavailable",
    "bf16_copy",
    "char_tokenizer",
    "convert_gguf_once",
    "eos_token_ids",
    "int8_dynamic_copy",
    "load_causal_lm",
    "load_efficientnet_lite0",
    "load_gemma3_270m",
    "load_hf_local",
    "load_minilm",
    "load_smollm2",
    "load_timm_model",
    "require_transformers",
    "smollm2_gguf_path",
    "tiny_random_lm",
]
