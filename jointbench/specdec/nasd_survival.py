"""Answer-length survival for NASD's answer end: how likely an answer is to go on past a position.

The draft stop (:mod:`~jointbench.specdec.nasd_stop`) weighs the ``l``-th token drafted after ``g``
generated ones by ``S(g+l) / S(g+l-1)``, the chance the target does not end the answer at that
token's position, where ``S(x)`` = P(answer length > ``x``) is estimated on the calibration answers
(Kaplan-Meier, answers cut by ``max_new_tokens`` censored).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


def length_survival(lengths: Sequence[int], ended: Sequence[bool], max_new_tokens: int) -> tuple[float, ...]:
    """Kaplan-Meier estimate of ``S(x)`` = P(answer length > ``x``), ``x = 0..max_new_tokens``.

    Parameters
    ----------
    lengths : sequence of int, shape (n,)
        Generated tokens of each answer, its EOS included (``1..max_new_tokens``).
    ended : sequence of bool, shape (n,)
        True when the answer ended with EOS; False when ``max_new_tokens`` cut it (censored:
        known only to be at least ``lengths`` tokens long).
    max_new_tokens : int

    Returns
    -------
    tuple of float, length ``max_new_tokens + 1``
        Non-increasing, ``S(0) = 1``.
    """
    n = np.asarray(lengths, dtype=int)
    e = np.asarray(ended, dtype=bool)
    if n.ndim != 1 or n.shape != e.shape or n.size == 0:
        raise ValueError(f"length_survival: need matching non-empty 1-D lengths and ended, got {n.shape}, {e.shape}")
    if np.any(n < 1) or np.any(n > max_new_tokens):
        raise ValueError(f"length_survival: lengths must be in 1..{max_new_tokens}")
    out = [1.0]
    s = 1.0
    for x in range(1, max_new_tokens + 1):
        at_risk = int(np.sum(n >= x))
        if at_risk:
            s *= 1.0 - int(np.sum((n == x) & e)) / at_risk
        out.append(s)
    return tuple(out)


def continuation(survival: Sequence[float], generated: int, k: int) -> np.ndarray:
    """Chance the target does not end the answer at each of the next ``k`` positions, given it has not yet.

    Returns
    -------
    ndarray, shape (k + 1,)
        Index ``l`` (1..k): ``S(g+l) / S(g+l-1)`` for the ``l``-th token drafted after ``g = generated``
        tokens; 1.0 past the end of ``survival``, where ``S`` reaches 0, or when ``survival`` is empty.
        Index 0 is 1.0 (unused).
    """
    out = np.ones(k + 1)
    for l in range(1, k + 1):
        x = generated + l
        if x < len(survival) and survival[x - 1] > 0.0:
            out[l] = survival[x] / survival[x - 1]
    return out
