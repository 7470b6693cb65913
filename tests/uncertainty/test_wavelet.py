"""The torch db6 filter bank equals PyWavelets, and the FKD loss backpropagates."""

from __future__ import annotations

import numpy as np
import pytest
import torch

pywt = pytest.importorskip("pywt")

from jointbench.uncertainty.wavelet import dwt1d, highband_l1  # noqa: E402


@pytest.mark.parametrize("n", [5, 16, 17, 40, 101])
@pytest.mark.parametrize("wavelet", ["db6", "db2", "haar"])
def test_dwt_equals_pywt_wavedec_zero_mode(n: int, wavelet: str) -> None:
    x = np.random.default_rng(n).normal(size=(3, n))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pywt warns when J exceeds its recommended level for short inputs
        ref = pywt.wavedec(x, wavelet, mode="zero", level=3, axis=-1)
    low, highs = dwt1d(torch.tensor(x), 3, wavelet)
    np.testing.assert_allclose(low.numpy(), ref[0], atol=1e-12)
    for mine, theirs in zip(highs, ref[:0:-1]):  # ours finest first, pywt coarsest first
        np.testing.assert_allclose(mine.numpy(), theirs, atol=1e-12)


def test_control_other_wavelet_differs() -> None:
    x = np.random.default_rng(0).normal(size=40)
    ref = pywt.wavedec(x, "db6", mode="zero", level=3)
    _, highs = dwt1d(torch.tensor(x), 3, "db4")
    assert highs[0].shape != ref[-1].shape or not np.allclose(highs[0].numpy(), ref[-1])


def test_highband_l1_is_zero_for_equal_inputs_and_has_gradients() -> None:
    t = torch.randn(12, 8, dtype=torch.float64)
    s = t.clone().requires_grad_(True)
    assert float(highband_l1(s, t).detach()) == 0.0
    s2 = (t + 0.1 * torch.randn_like(t)).requires_grad_(True)
    loss = highband_l1(s2, t)
    loss.backward()
    assert float(loss.detach()) > 0 and s2.grad is not None and float(s2.grad.abs().sum()) > 0
    # A constant shift lives in the low band only: the high-band loss ignores most of it.
    shifted = t + 5.0
    assert float(highband_l1(shifted, t)) < 0.5 * float(torch.nn.functional.l1_loss(shifted, t))
