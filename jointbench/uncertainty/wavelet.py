"""A differentiable 1-D wavelet analysis filter bank (torch ``conv1d``) and CD-CCA's FKD loss.

PyWavelets computes on numpy and cannot backpropagate, so the decomposition is rebuilt here as
a strided convolution with PyWavelets' own decomposition filters (``pywt.Wavelet(name).dec_lo``
/ ``dec_hi``); ``tests/uncertainty/test_wavelet.py`` checks it equals ``pywt.wavedec`` in
``mode="zero"`` (the padding ``pytorch_wavelets.DWT1DForward`` uses by default).

One level, for a signal ``x`` of length ``N`` and a filter ``h`` of length ``L``: the full
convolution ``x * h`` (length ``N + L - 1``) kept at odd indices, i.e.
``floor((N + L - 1) / 2)`` coefficients.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

__all__ = ["dwt1d", "filters", "highband_l1"]


@functools.lru_cache(maxsize=8)
def filters(wavelet: str = "db6") -> tuple[tuple[float, ...], tuple[float, ...]]:
    """PyWavelets' decomposition filters ``(dec_lo, dec_hi)`` of ``wavelet``."""
    import pywt

    w = pywt.Wavelet(wavelet)
    return tuple(w.dec_lo), tuple(w.dec_hi)


def _analysis(x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One filter branch: ``(x * h)[1::2]`` with zero padding; ``x`` is (M, 1, N)."""
    taps = h.numel()
    padded = F.pad(x, (taps - 1, taps - 1))[..., 1:]
    return F.conv1d(padded, h.flip(0).view(1, 1, -1), stride=2)


def dwt1d(x: torch.Tensor, levels: int = 3, wavelet: str = "db6") -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Multi-level DWT along the last axis.

    Parameters
    ----------
    x : torch.Tensor, shape (..., N)
    levels : int
        Decomposition levels J.
    wavelet : str
        A PyWavelets discrete wavelet name.

    Returns
    -------
    low : torch.Tensor, shape (..., N_J)
        The approximation after ``levels`` levels.
    highs : list of torch.Tensor
        The detail bands, finest first (level 1 .. J), like ``pytorch_wavelets`` (PyWavelets'
        ``wavedec`` lists them coarsest first).
    """
    if levels < 1:
        raise ValueError(f"levels: must be >= 1, got {levels}")
    lo, hi = filters(wavelet)
    h_lo = torch.tensor(lo, dtype=x.dtype, device=x.device)
    h_hi = torch.tensor(hi, dtype=x.dtype, device=x.device)
    lead = x.shape[:-1]
    cur = x.reshape(-1, 1, x.shape[-1])
    highs = []
    for _ in range(levels):
        highs.append(_analysis(cur, h_hi).reshape(*lead, -1))
        cur = _analysis(cur, h_lo)
    return cur.reshape(*lead, -1), highs


def highband_l1(student: torch.Tensor, teacher: torch.Tensor, levels: int = 3, wavelet: str = "db6") -> torch.Tensor:
    """CD-CCA's FKD term: ``sum_j mean|H_j(teacher) - H_j(student)|`` over the detail bands.

    Parameters
    ----------
    student, teacher : torch.Tensor, shape (T, C)
        Hidden states of the same T tokens; the transform runs along the token axis per channel
        (CD-CCA transposes ``[B, L, C]`` to ``[B, C, L]``). The low band is ignored.
    """
    if student.shape != teacher.shape:
        raise ValueError(f"highband_l1: shapes differ, {tuple(student.shape)} vs {tuple(teacher.shape)}")
    _, hs = dwt1d(student.transpose(-1, -2), levels, wavelet)
    _, ht = dwt1d(teacher.transpose(-1, -2), levels, wavelet)
    return sum(F.l1_loss(a, b) for a, b in zip(hs, ht))
