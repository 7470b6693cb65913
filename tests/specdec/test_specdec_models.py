"""Model pairs: registry, offline-only loading errors, drafts derived by quantisation."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

pytest.importorskip("transformers")

from jointbench.specdec.calibrate import Calibration, calibrate  # noqa: E402
from jointbench.specdec.engine import SpecDecoder  # noqa: E402
from jointbench.specdec.models import (  # noqa: E402
    PAIRS,
    PairSpec,
    ModelUnavailableError,
    bf16_copy,
    int8_dynamic_copy,
    load_hf_local,
    load_pair,
)
from jointbench.specdec import FixedK  # noqa: E402
from jointbench.specdec.tiny import tiny_random_lm, tiny_random_pair  # noqa: E402


def test_pairs_are_declared_and_unknown_names_list_the_available():
    assert {"smollm2-135m-int8", "smollm2-135m-bf16", "qwen2.5-0.5b-7b", "tiny-random"} <= set(PAIRS)
    assert PAIRS["qwen2.5-0.5b-7b"].target == "Qwen/Qwen2.5-7B-Instruct"
    with pytest.raises(KeyError, match="Available: .*smollm2-135m-int8"):
        load_pair("no-such-pair")


def test_missing_local_model_names_it(tmp_path):
    missing = "jointbench-tests/no-such-model-0.5B"
    with pytest.raises(ModelUnavailableError, match=missing):
        load_hf_local(missing, torch.bfloat16)
    with pytest.raises(ModelUnavailableError, match="not available locally"):
        load_hf_local(str(tmp_path / "empty-dir"), torch.float32)


def test_tiny_pair_shares_vocab_and_differs():
    pair = load_pair("tiny-random")
    assert pair.target.config.vocab_size == pair.draft.config.vocab_size
    assert pair.eos_token_ids == (0,)
    same = tiny_random_pair(draft_noise=0.0)
    ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        assert torch.equal(same.target(ids).logits, same.draft(ids).logits)
        assert not torch.equal(pair.target(ids).logits, pair.draft(ids).logits)


def test_quantised_and_bf16_drafts_track_the_model():
    model = tiny_random_lm(vocab_size=64, seed=0, hidden_size=64)
    ids = torch.tensor([[5, 9, 2, 7, 1]])
    with torch.no_grad():
        ref = model(ids).logits
        q8 = int8_dynamic_copy(model)
        b16 = bf16_copy(model)
        out8, out16 = q8(ids).logits, b16(ids).logits.float()
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in q8.modules())
    assert next(b16.parameters()).dtype == torch.bfloat16
    assert next(model.parameters()).dtype == torch.float32  # the original is untouched
    for out in (out8, out16):
        assert not torch.equal(out, ref)
        assert (out.argmax(-1) == ref.argmax(-1)).float().mean() >= 0.6


def test_calibration_table_shape():
    pair = tiny_random_pair(vocab_size=64)
    cal = calibrate(pair.target, pair.draft, prompt_lens=(4, 16), ks=(0, 1, 3), context_len=8, repeats=2)
    assert isinstance(cal, Calibration)
    assert set(cal.prefill_target_ms) == set(cal.prefill_draft_ms) == {4, 16}
    assert set(cal.verify_ms) == {0, 1, 3}
    assert all(v > 0 for v in [cal.draft_ms, *cal.verify_ms.values(), *cal.prefill_target_ms.values()])
    assert cal.verify_at(2) == pytest.approx((cal.verify_ms[1] + cal.verify_ms[3]) / 2)
    assert cal.to_dict()["context_len"] == 8


def _save_local_model(path, vocab_size: int, seed: int, words: list[str]) -> str:
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    from transformers import PreTrainedTokenizerFast

    tiny_random_lm(vocab_size=vocab_size, seed=seed).save_pretrained(path)
    backend = Tokenizer(WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", eos_token="<eos>").save_pretrained(path)
    return str(path)


def test_local_directory_pair_with_padded_heads(tmp_path):
    """User checkpoints load from directories; LM heads padded differently still pair up."""
    words = ["<eos>", "<unk>"] + [f"w{i}" for i in range(30)]
    target = _save_local_model(tmp_path / "target", 40, seed=0, words=words)
    draft = _save_local_model(tmp_path / "draft", 36, seed=1, words=words)
    pair = load_pair(PairSpec(target=target, draft=draft))
    assert pair.eos_token_ids == (0,) and pair.name == "custom"
    dec = SpecDecoder(pair.target, pair.draft, pair.eos_token_ids)
    prompt = pair.tokenizer("w1 w2 w3")["input_ids"]
    ref = dec.cloud_only(prompt, 12)
    assert dec.speculative(prompt, 12, FixedK(3)).tokens == ref.tokens
    sampled = SpecDecoder(pair.target, pair.draft, temperature=1.0).speculative(prompt, 6, FixedK(2))
    assert all(c.bytes_up == 8 + 4 * c.drafted * (1 + 36) for c in sampled.cycles if c.drafted)
    other = _save_local_model(tmp_path / "other", 36, seed=1, words=words[::-1])
    with pytest.raises(ValueError, match="tokenizers differ"):
        load_pair(PairSpec(target=target, draft=other))


def test_pairs_file_errors_name_file_pair_and_key(tmp_path):
    from jointbench.specdec.models import load_pairs

    f = tmp_path / "models.yaml"
    f.write_text("version: 1\npairs:\n  mine:\n    target: a/b\n    draft: c/d\n    dtype: float16\n")
    with pytest.raises(ValueError, match=r"models\.yaml: pairs\.mine\.dtype: unknown key"):
        load_pairs(f)
    f.write_text("version: 1\npairs:\n  mine:\n    target: a/b\n    draft: c/d\n    draft_variant: int4\n")
    with pytest.raises(ValueError, match=r"pairs\.mine\.draft_variant"):
        load_pairs(f)
    f.write_text("version: 1\npairs:\n  mine:\n    target: a/b\n    draft: c/d\n")
    assert load_pairs(f)["mine"].draft == "c/d"
