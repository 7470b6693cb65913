"""Trainable subsets start as a no-op and fine-tuning moves the answer toward the pseudo-label."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jointbench.uncertainty.update import FinetuneConfig, TrainExample, finetune, make_trainable, sample_loss


@pytest.mark.parametrize("subset", ["lora", "norms"])
def test_subset_is_in_the_tail_and_starts_as_identity(tiny_edge, subset: str) -> None:
    q = "Which?\nA. a\nB. b\nC. c\nD. d"
    before = tiny_edge.answer(q, 4).option_probs
    params = make_trainable(tiny_edge.lm, subset)
    assert params and all(p.requires_grad for p in params.values())
    assert all(".layers.0." not in k for k in params)  # the trunk stays frozen (and cacheable)
    frozen = [n for n, p in tiny_edge.lm.model.named_parameters() if not p.requires_grad]
    assert frozen and not set(frozen) & set(params)
    np.testing.assert_allclose(tiny_edge.answer(q, 4).option_probs, before, atol=1e-6)


@pytest.mark.parametrize("loss", ["ce", "ce+mse", "ce+mse+wavelet"])
def test_finetune_raises_the_pseudo_label_probability(tiny_edge, loss: str) -> None:
    q = "Which?\nA. a\nB. b\nC. c\nD. d"
    ans = tiny_edge.answer(q, 4)
    target = int(np.argmin(ans.option_probs))
    params = make_trainable(tiny_edge.lm, "lora")
    pos = np.arange(0, ans.ids.numel(), 3)
    ex = TrainExample(ans.trunk, tiny_edge.letter_ids[target], pos, ans.hidden[torch.as_tensor(pos)].detach())
    parts = finetune(tiny_edge.lm, params, [ex] * 4, FinetuneConfig(loss=loss, epochs=3, batch=2, lr=5e-2))
    assert "ce" in parts
    assert ("mse" in parts) == ("mse" in loss) and ("wavelet" in parts) == ("wavelet" in loss)
    after = tiny_edge.answer(q, 4).option_probs
    assert after[target] > ans.option_probs[target]


def test_feature_terms_are_zero_at_the_uploaded_features(tiny_edge) -> None:
    ans = tiny_edge.answer("Which?\nA. a\nB. b", 2)
    make_trainable(tiny_edge.lm, "lora")
    pos = np.arange(ans.ids.numel())
    ex = TrainExample(ans.trunk, tiny_edge.letter_ids[0], pos, ans.hidden.detach())
    _, parts = sample_loss(tiny_edge.lm, ex, FinetuneConfig(loss="ce+mse+wavelet"))
    assert parts["mse"] < 1e-10 and parts["wavelet"] < 1e-6
    moved = TrainExample(ans.trunk, tiny_edge.letter_ids[0], pos, ans.hidden.detach() + 0.5)
    _, parts2 = sample_loss(tiny_edge.lm, moved, FinetuneConfig(loss="ce+mse+wavelet"))
    assert parts2["mse"] == pytest.approx(0.25, rel=1e-4)  # control: a shifted target costs 0.5**2


def test_unknown_subset_and_loss_are_named() -> None:
    with pytest.raises(ValueError, match="Unknown loss 'kl'"):
        FinetuneConfig(loss="kl")


def test_fresh_lm_restores_the_pristine_edge() -> None:
    from jointbench.uncertainty.edge import EdgeLM
    from jointbench.uncertainty.lm import fresh_lm

    model, tok = fresh_lm("tiny-random")
    edge = EdgeLM(model, tok, tail_layers=1, disk_cache=False)
    q = "Which?\nA. a\nB. b\nC. c\nD. d"
    before = edge.answer(q, 4).option_probs
    params = make_trainable(edge.lm, "norms")
    with torch.no_grad():
        for p in params.values():
            p.mul_(1.5)
    assert not np.allclose(edge.answer(q, 4).option_probs, before)  # control: the edge changed
    model2, _ = fresh_lm("tiny-random")
    assert model2 is model
    np.testing.assert_allclose(EdgeLM(model2, tok, 1, disk_cache=False).answer(q, 4).option_probs, before)
    make_trainable(EdgeLM(model2, tok, 1, disk_cache=False).lm, "lora")
    fresh_lm("tiny-random")
    assert not any("lora" in n for n, _ in model.named_parameters())
