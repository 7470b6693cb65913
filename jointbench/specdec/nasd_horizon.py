"""The end of the query: the draft length that minimises the expected time to commit the remaining tokens.

NASD's rate model ``E[accepted + 1](K) / cycle(K)`` is the steady-state answer for an unbounded
query. Near ``max_new_tokens`` the loop clips ``K`` to ``remaining - 1`` and a cycle can commit at
most what is left, so the last cycles are priced wrongly: with 6 tokens left and ``K* = 3`` the
rate-optimal cycle commits ~3 tokens and needs another full round trip for the rest, where one
``K = 5`` cycle might finish the query. :func:`horizon_k` solves the finite-horizon problem exactly
by dynamic programming over the tokens left:

    V(0) = 0,   V(n) = min_K [ fixed_ms(K) + RTT + sum_m P_K(m) V(n - m - 1) ],   K <= n - 1

with ``P_K(m)`` = P(exactly ``m`` of ``K`` drafts accepted) = ``a_m - a_{m+1}`` (``m < K``), ``a_K``
(``m = K``), ``a_0 = 1``. It costs ``O(n K_max^2)`` arithmetic, so the controller calls it only for
the last :data:`HORIZON_TOKENS` tokens (before that the clip cannot bind within a couple of cycles
and the rate argmax is the same decision). No model call.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

HORIZON_TOKENS = 24
"""The controller solves the finite horizon when at most this many tokens are left."""


def horizon_k(profile: np.ndarray, fixed_ms: Sequence[float] | np.ndarray, rtt_ms: float, remaining: int,
              k_min: int, k_max: int) -> int:
    """``K`` minimising the expected time to commit ``remaining`` tokens (module docstring).

    Parameters
    ----------
    profile : ndarray, shape (>= k_max,)
        ``a_j`` = P(the first ``j`` drafts are all accepted), ``j = 1..``.
    fixed_ms : sequence of float, shape (>= k_max + 1,)
        Cycle time of each ``K`` without the RTT (ms).
    rtt_ms : float
        RTT estimate (ms; negative taken as 0).
    remaining : int
        Tokens still to commit (>= 1).
    k_min, k_max : int
        Draft lengths allowed (``K`` is also capped at ``remaining - 1``, as the loop clips it).

    Returns
    -------
    int
        Ties go to the smaller ``K``; ``min(k_min, remaining - 1)`` when ``remaining - 1 < k_min``.
    """
    if remaining < 1:
        raise ValueError(f"remaining={remaining}: must be >= 1")
    a = np.concatenate([[1.0], np.asarray(profile[:k_max], dtype=float), [0.0]])
    cost = np.asarray(fixed_ms[:k_max + 1], dtype=float) + max(0.0, float(rtt_ms))
    ks = np.arange(k_max + 1)
    # probs[k, m] = P(exactly m of k drafts accepted), m = 0..k (0 beyond k)
    probs = np.where(ks[None, :] <= ks[:, None], a[None, :-1] - np.where(ks[None, :] < ks[:, None], a[None, 1:], 0.0),
                     0.0)
    values = np.zeros(remaining + 1)
    best = 0
    for n in range(1, remaining + 1):
        hi = min(k_max, n - 1)
        lo = min(k_min, hi)
        window = values[n - 1 - np.minimum(ks, n - 1)]  # V(n - m - 1), m = 0..k_max (m > n - 1 has probability 0)
        v = cost[lo:hi + 1] + probs[lo:hi + 1] @ window
        i = int(np.argmin(v))
        values[n], best = v[i], lo + i
    return best
