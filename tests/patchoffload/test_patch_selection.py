"""No selection rule ever sends zero patches, and the server reads only the patches it receives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from jointbench.patchoffload.nets import PatchViT
from jointbench.patchoffload.pipeline import make_messages, server_predict
from jointbench.patchoffload.selection import (
    BASELINE_RULES, min_entropy_accept, select_attention_sum, select_tau, select_topk)


def _hard_scores(rng, n=40, p=16):
    s = rng.random((n, p))
    s[0] = 0.0                    # constant
    s[1] = np.nan                 # broken saliency
    s[2, :] = np.nan
    s[2, 3] = 0.2
    return s


@pytest.mark.parametrize("tau", [-1.0, 0.0, 0.5, 0.99, 1.0, 1.01, 5.0, np.inf])
def test_tau_rule_never_sends_nothing(tau):
    s = _hard_scores(np.random.default_rng(0))
    keep = select_tau(s, tau)
    assert keep.any(axis=1).all()
    assert keep[2, 3]                                             # the only finite score is the fallback


def test_control_threshold_alone_would_send_nothing():
    s = _hard_scores(np.random.default_rng(0))
    assert not (s >= 1.01).any(axis=1).all()


@pytest.mark.parametrize("rule,values", [("random", [0, 1, 7, 99]), ("topk", [0, 1, 7, 99]),
                                         ("attention_threshold", [0.0, 0.5, 2.0]),
                                         ("attention_sum", [0.0, 0.01, 0.5, 1.0])])
def test_baseline_rules_never_send_nothing(rule, values):
    rng = np.random.default_rng(1)
    attn = rng.dirichlet(np.ones(16) * 0.3, size=30)
    for v in values:
        args = (attn, v, rng) if rule == "random" else (attn, v)
        assert BASELINE_RULES[rule](*args).any(axis=1).all()


def test_baseline_rules_match_their_definitions():
    attn = np.array([[0.5, 0.3, 0.15, 0.05]])
    assert select_topk(attn, 2).tolist() == [[True, True, False, False]]
    assert select_attention_sum(attn, 0.8).tolist() == [[True, True, False, False]]   # 0.5, 0.8 <= 0.8
    assert select_attention_sum(attn, 0.1).tolist() == [[True, False, False, False]]  # fallback
    # min-entropy gate: eta = 0.8 bit <=> max prob > 2**-0.8 = 0.574
    p = np.array([[0.58, 0.42], [0.57, 0.43]])
    assert min_entropy_accept(p, 0.8).tolist() == [True, False]


def test_messages_refuse_an_empty_selection():
    imgs = np.zeros((2, 8, 8, 3), np.uint8)
    keep = np.zeros((2, 4), bool)
    keep[0, 1] = True
    with pytest.raises(ValueError, match="at least one patch"):
        make_messages(imgs, keep, 4)


@pytest.mark.parametrize("embed", ["linear", "cnn", "canvas"])
def test_server_sees_only_received_patches(embed):
    torch.manual_seed(0)
    server = PatchViT(image_size=16, patch=4, in_ch=3, n_classes=5, dim=16, depth=2, heads=2, mlp=32, embed=embed,
                      embed_ch=4).eval()
    rng = np.random.default_rng(2)
    imgs = rng.integers(0, 256, size=(6, 16, 16, 3), dtype=np.uint8)
    keep = rng.random((6, 16)) < 0.4
    keep[:, 0] = True
    msg = make_messages(imgs, keep, 4)
    assert msg.patches_sent.tolist() == keep.sum(1).tolist()
    # scrambling the pixels of unsent patches changes nothing on the server
    scrambled = imgs.copy()
    for i in range(6):
        for p in np.nonzero(~keep[i])[0]:
            r, c = divmod(p, 4)
            scrambled[i, 4 * r:4 * r + 4, 4 * c:4 * c + 4] = rng.integers(0, 256, (4, 4, 3))
    with torch.no_grad():
        def logits(images):
            m = make_messages(images, keep, 4)
            x = torch.from_numpy(m.patches).float() / 127.5 - 1
            return server.forward_patches(x, torch.from_numpy(m.index), torch.from_numpy(m.valid))
        torch.testing.assert_close(logits(imgs), logits(scrambled))
        # and equals the masked full-image forward
        full = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 127.5 - 1
        torch.testing.assert_close(logits(imgs), server(full, torch.from_numpy(keep)), rtol=1e-4, atol=1e-5)
        # control: scrambling a *sent* patch does change the output
        changed = imgs.copy()
        changed[:, 0:4, 0:4] = 255 - changed[:, 0:4, 0:4]
        assert not torch.allclose(logits(imgs), logits(changed))
    assert server_predict(server, imgs, keep).shape == (6,)
