"""The edge's split forward, batched answers, real MC dropout and the uplink message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jointbench.uncertainty.payload import decode_uplink, encode_uplink


def test_trunk_then_tail_equals_the_full_forward(tiny_edge) -> None:
    ids = tiny_edge.prompt_ids("What?\nA. x\nB. y")
    with torch.no_grad():
        full = tiny_edge.lm.model(ids[None]).logits[0]
        split = tiny_edge.lm.logits(tiny_edge.lm.tail(tiny_edge.lm.trunk(ids)))
        # Control: skipping the trunk's block gives different logits.
        h0 = tiny_edge.lm.model.model.embed_tokens(ids)
        skipped = tiny_edge.lm.logits(tiny_edge.lm.tail(h0))
    torch.testing.assert_close(split, full, atol=1e-5, rtol=1e-5)
    assert (skipped - full).abs().max() > 1e-3


def test_answer_is_argmax_of_renormalised_letter_distribution(tiny_edge) -> None:
    q = "Pick one\nA. a\nB. b\nC. c"
    ans = tiny_edge.answer(q, 3)
    with torch.no_grad():
        last = tiny_edge.lm.model(ans.ids[None]).logits[0, -1, tiny_edge.letter_ids[:3]]
    np.testing.assert_allclose(ans.option_probs, torch.softmax(last, -1).numpy(), atol=1e-6)
    assert ans.answer == int(torch.argmax(last))
    assert ans.option_probs.sum() == pytest.approx(1.0)


def test_batched_answers_equal_single_answers(tiny_edge) -> None:
    qs = [(f"Question {'x' * i}?\nA. a\nB. b\nC. c\nD. d", 4) for i in range(7)]
    single = [tiny_edge.answer(*q).answer for q in qs]
    assert tiny_edge.answer_batch(qs, batch=3).tolist() == single


def test_mc_dropout_is_real_seeded_and_removed_afterwards(tiny_edge) -> None:
    ans = tiny_edge.answer("Why?\nA. a\nB. b", 2)
    v0 = tiny_edge.mc_dropout_variance(ans.trunk, passes=4, p=0.0, dropout_layers=1)
    v = tiny_edge.mc_dropout_variance(ans.trunk, passes=6, p=0.3, dropout_layers=1, seed=3)
    assert np.all(v0 < 1e-10)  # control: no dropout, no variance
    assert v.shape == (ans.ids.numel(),) and np.all(v > 0)
    np.testing.assert_array_equal(v, tiny_edge.mc_dropout_variance(ans.trunk, 6, 0.3, 1, seed=3))
    assert not np.array_equal(v, tiny_edge.mc_dropout_variance(ans.trunk, 6, 0.3, 1, seed=4))
    # Hooks are gone: a plain forward is unchanged.
    np.testing.assert_allclose(tiny_edge.answer("Why?\nA. a\nB. b", 2).option_probs, ans.option_probs)


def test_entropy_scores_are_next_token_entropies(tiny_edge) -> None:
    ans = tiny_edge.answer("Why?\nA. a\nB. b", 2)
    h = tiny_edge.entropy_scores(ans.hidden)
    with torch.no_grad():
        p = torch.softmax(tiny_edge.lm.model(ans.ids[None]).logits[0].double(), -1)
    np.testing.assert_allclose(h, -(p * p.log()).sum(-1).numpy(), rtol=1e-6)


def test_uplink_message_roundtrip_and_exact_size() -> None:
    rng = np.random.default_rng(0)
    ids, probs = rng.integers(0, 49152, size=70), np.array([0.1, 0.2, 0.3, 0.4])
    pos = np.array([3, 10, 11, 40, 69])
    feats = rng.normal(size=(5, 576)).astype(np.float32)
    msg = encode_uplink(ids, probs, pos, feats, vocab_size=49152)
    up = decode_uplink(msg)
    assert up.ids.tolist() == ids.tolist() and up.positions.tolist() == pos.tolist()
    np.testing.assert_allclose(up.features, feats, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(up.option_probs, probs, atol=1e-3)
    # 2 header + varints (1 + 1 + 2) + ids 2 B + probs 2 B + index (gaps: 1 + 1 + 5) + 1 + k*d*2
    assert len(msg) == 2 + 4 + 70 * 2 + 4 * 2 + 7 + 1 + 5 * 576 * 2
    small = encode_uplink(ids, probs, pos, feats, vocab_size=49152, feature_format="int8")
    assert len(small) == len(msg) - 5 * 576 + 5 * 2
    q = decode_uplink(small)
    assert np.all(np.abs(q.features - feats) <= np.abs(feats).max(1, keepdims=True) / 127 * 0.51 + 1e-3)
    with pytest.raises(ValueError, match="trailing"):
        decode_uplink(msg + b"x")
