"""The speculative-sampling acceptance rule (Leviathan et al. 2023; Chen et al. 2023).

Notation as in Leviathan et al.: ``p`` is the target (cloud) distribution, ``q`` the
draft (edge) distribution. Pure functions on torch tensors (numpy arrays are
accepted and converted); randomness only through an explicit ``torch.Generator``.
"""

from __future__ import annotations

from typing import Any

import torch


def _as_tensor(x: Any, dtype: torch.dtype | None = None) -> torch.Tensor:
    return torch.as_tensor(x, dtype=dtype)


def probs_from_logits(logits: Any, temperature: float) -> torch.Tensor:
    """Softmax of ``logits / temperature`` in float32.

    Parameters
    ----------
    logits : torch.Tensor or numpy.ndarray, shape (..., V)
    temperature : float
        Strictly positive.

    Returns
    -------
    torch.Tensor, shape (..., V), float32
        Rows sum to 1.
    """
    if temperature <= 0:
        raise ValueError("temperature must be > 0 for sampling; use greedy_verify at T=0")
    return torch.softmax(_as_tensor(logits).float() / temperature, dim=-1)


CONFIDENCE_DIGITS = 5
"""Decimal digits kept of a draft token's probability (traces store it; a live draft stop reads the same)."""


def token_confidence(logits: torch.Tensor, token: int) -> float:
    """The draft's probability of ``token`` (softmax of one logits row, shape (V,)), rounded to
    :data:`CONFIDENCE_DIGITS` digits, so a recorded trace and a live drafter see the same number."""
    return round(float(torch.softmax(logits.float(), -1)[int(token)]), CONFIDENCE_DIGITS)


def sample(probs: torch.Tensor, generator: torch.Generator) -> int:
    """Draw one token id from a probability vector of shape (V,)."""
    return int(torch.multinomial(probs, 1, generator=generator).item())


def residual_distribution(p: Any, q: Any) -> torch.Tensor:
    """``norm(max(p - q, 0))``, the distribution to resample from after a rejection.

    Parameters
    ----------
    p, q : array-like, shape (V,)
        Target and draft probabilities at the rejected position.

    Returns
    -------
    torch.Tensor, shape (V,), float32
        Falls back to ``p`` when ``p - q`` has no positive mass (then ``p == q`` up to
        rounding and a rejection has probability zero).
    """
    p_t, q_t = _as_tensor(p).float(), _as_tensor(q).float()
    residual = torch.clamp(p_t - q_t, min=0.0)
    total = residual.sum()
    return residual / total if total > 0 else p_t / p_t.sum()


def greedy_verify(draft_ids: Any, target_logits: Any) -> tuple[int, int]:
    """Temperature-0 verification: longest agreeing prefix, then the target's token.

    Parameters
    ----------
    draft_ids : array-like of int, shape (K,)
        Drafted tokens ``x_1 .. x_K`` (``K`` may be 0).
    target_logits : array-like, shape (K + 1, V)
        Row ``i`` scores the position of ``x_{i+1}`` (row ``K`` is the bonus position).

    Returns
    -------
    num_accepted : int
        ``n`` in ``0 .. K``: drafts ``x_1 .. x_n`` equal the target's argmax.
    next_token : int
        The target's argmax at position ``n + 1`` (correction or bonus token).
    """
    ids = _as_tensor(draft_ids, torch.long).reshape(-1)
    top = _as_tensor(target_logits).argmax(dim=-1).reshape(-1)
    k = ids.numel()
    if top.numel() != k + 1:
        raise ValueError(f"need K+1 = {k + 1} rows of target logits, got {top.numel()}")
    mismatch = (ids != top[:k]).nonzero()
    n = int(mismatch[0, 0]) if mismatch.numel() else k
    return n, int(top[n])


def speculative_verify(
    draft_ids: Any, q: Any, p: Any, generator: torch.Generator
) -> tuple[int, int]:
    """Lossless speculative sampling of one draft block.

    Accept ``x_i`` with probability ``min(1, p_i(x_i) / q_i(x_i))``, in order; on the
    first rejection emit a sample of ``norm(max(p_i - q_i, 0))``; if all ``K`` are
    accepted emit a bonus sample of ``p_{K+1}``. The emitted tokens are distributed
    exactly as if sampled from ``p`` autoregressively.

    Parameters
    ----------
    draft_ids : array-like of int, shape (K,)
        Drafted tokens, ``x_i ~ q_i``.
    q : array-like, shape (K, V)
        Draft probabilities the tokens were sampled from.
    p : array-like, shape (K + 1, V)
        Target probabilities at the K draft positions and the bonus position.
    generator : torch.Generator
        Source of the uniforms and of the correction/bonus sample.

    Returns
    -------
    num_accepted : int
        ``n`` in ``0 .. K``.
    next_token : int
        The resampled (``n < K``) or bonus (``n == K``) token.
    """
    ids = _as_tensor(draft_ids, torch.long).reshape(-1)
    k = ids.numel()
    p_t = _as_tensor(p).float().reshape(k + 1, -1)
    if k == 0:
        return 0, sample(p_t[0], generator)
    q_t = _as_tensor(q).float().reshape(k, -1)
    rows = torch.arange(k)
    ratio = p_t[rows, ids] / q_t[rows, ids]
    uniforms = torch.rand(k, generator=generator)
    rejected = (uniforms > ratio).nonzero()
    if rejected.numel() == 0:
        return k, sample(p_t[k], generator)
    n = int(rejected[0, 0])
    return n, sample(residual_distribution(p_t[n], q_t[n]), generator)


def acceptance_probability(p: Any, q: Any) -> float:
    """``beta = sum_x min(p(x), q(x)) = 1 - TV(p, q)``, for vectors of shape (V,)."""
    return float(torch.minimum(_as_tensor(p).float(), _as_tensor(q).float()).sum())


def expected_tokens_per_cycle(alpha: float, k: int) -> float:
    """``E[tau] = (1 - alpha^(K+1)) / (1 - alpha)``: tokens per cycle, i.i.d. acceptance.

    Counts the accepted drafts plus the correction/bonus token; ``K + 1`` at
    ``alpha = 1``.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError("alpha must be in [0, 1]")
    if alpha == 1.0:
        return float(k + 1)
    return (1.0 - alpha ** (k + 1)) / (1.0 - alpha)
