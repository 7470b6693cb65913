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
Importing this package imports neither torch nor transformers: each name is loaded from its
submodule on first use (:mod:`jointbench.lazy`).
"""

from __future__ import annotations

from jointbench.lazy import lazy_exports

_EXPORTS = {
    "ImageNetNormalised": "image",
    "ModelUnavailable": "errors",
    "PACKAGED": "causal_lm",
    "bf16_copy": "quantize",
    "char_tokenizer": "tiny_lm",
    "convert_gguf_once": "gguf_models",
    "eos_token_ids": "causal_lm",
    "int8_dynamic_copy": "quantize",
    "load_causal_lm": "causal_lm",
    "load_efficientnet_lite0": "image",
    "load_gemma3_270m": "gguf_models",
    "load_hf_local": "causal_lm",
    "load_minilm": "sentence_encoder",
    "load_smollm2": "gguf_models",
    "load_timm_model": "image",
    "require_transformers": "errors",
    "smollm2_gguf_path": "gguf_models",
    "tiny_random_lm": "tiny_lm",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_EXPORTS)
