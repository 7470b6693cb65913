"""Which patches an offloaded image sends: the proposed τ rule and the Im et al. (2024) rules.

All rules return a boolean ``(N, P)`` keep mask with at least one True per row.

- Proposed (seed Eqs. 24–25): ``{p : M̃_p >= τ}``, or ``{argmax_p M̃_p}`` when that is empty.
- Im et al. (``iil-postech/semantic-attention``, ``engine/patch_selection.py``), on the edge ViT's
  last-layer CLS attention (mean over heads, normalised to sum 1):
  ``random`` (k patches uniformly without replacement), ``topk`` (k highest), ``attention_threshold``
  (a_p >= δ) and ``attention_sum`` (sort descending, keep while the cumulative attention <= δ). The two
  threshold rules get the same non-empty fallback (the top patch), so the server never receives nothing.
- Im et al.'s offload gate: the edge keeps its answer iff the min-entropy ``−log2 max π < η``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

__all__ = ["BASELINE_RULES", "min_entropy_bits", "min_entropy_accept", "select_attention_sum",
           "select_attention_threshold", "select_random_k", "select_tau", "select_topk", "ensure_nonempty"]


def ensure_nonempty(keep: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Rows of ``keep`` with no True get their highest-scoring patch."""
    keep = np.asarray(keep, dtype=bool).copy()
    empty = ~keep.any(axis=1)
    if empty.any():
        keep[np.nonzero(empty)[0], np.asarray(scores)[empty].argmax(axis=1)] = True
    return keep


def select_tau(scores: np.ndarray, tau: float) -> np.ndarray:
    """Proposed rule: patches with ``M̃_p >= τ``, argmax fallback (NaN scores count as never >= τ)."""
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64), nan=-np.inf)
    return ensure_nonempty(s >= float(tau), s)


def select_topk(attn: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` highest-attention patches (k clipped to [1, P])."""
    a = np.asarray(attn, dtype=np.float64)
    k = int(np.clip(k, 1, a.shape[1]))
    top = np.argsort(-a, axis=1, kind="stable")[:, :k]
    keep = np.zeros(a.shape, dtype=bool)
    np.put_along_axis(keep, top, True, axis=1)
    return keep


def select_random_k(attn: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` patches uniformly at random per image (attention ignored; only its shape is used)."""
    n, p = np.asarray(attn).shape
    k = int(np.clip(k, 1, p))
    pick = np.argsort(rng.random((n, p)), axis=1)[:, :k]
    keep = np.zeros((n, p), dtype=bool)
    np.put_along_axis(keep, pick, True, axis=1)
    return keep


def select_attention_threshold(attn: np.ndarray, delta: float) -> np.ndarray:
    """Patches with attention ``>= δ``, top-patch fallback."""
    a = np.asarray(attn, dtype=np.float64)
    return ensure_nonempty(a >= float(delta), a)


def select_attention_sum(attn: np.ndarray, delta: float) -> np.ndarray:
    """Sort descending and keep patches while the cumulative attention ``<= δ``; top-patch fallback."""
    a = np.asarray(attn, dtype=np.float64)
    order = np.argsort(-a, axis=1, kind="stable")
    cum = np.cumsum(np.take_along_axis(a, order, axis=1), axis=1)
    keep = np.zeros(a.shape, dtype=bool)
    np.put_along_axis(keep, order, cum <= float(delta), axis=1)
    return ensure_nonempty(keep, a)


BASELINE_RULES: dict[str, Callable[..., np.ndarray]] = {
    "random": select_random_k,
    "topk": select_topk,
    "attention_threshold": select_attention_threshold,
    "attention_sum": select_attention_sum,
}


def min_entropy_bits(probs: np.ndarray) -> np.ndarray:
    """``−log2 max_c π_c`` per row (bits)."""
    return -np.log2(np.asarray(probs, dtype=np.float64).max(axis=1))


def min_entropy_accept(probs: np.ndarray, eta: float) -> np.ndarray:
    """Im et al.'s gate: True (edge answers) iff min-entropy ``< η`` (η = 0.8 ⇔ max π > 0.574)."""
    return min_entropy_bits(probs) < float(eta)
