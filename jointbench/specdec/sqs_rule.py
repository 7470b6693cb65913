"""A stated rule that picks C-SQS parameters so that its threshold can adapt (issue 11).

Why a rule. C-SQS keeps ``{x : q(x) >= beta}`` (plus the argmax, at most ``K_max`` tokens)
and moves ``beta <- clip(beta - eta (dropped - alpha))``. A threshold shared by all positions
is the allocation of a *total* support budget that keeps the most draft mass, so C-SQS should
beat top-K at the same mean support, but only where ``beta`` settles at a value that decides
the support. With a flat draft (T = 1.5 here) a target ``alpha`` below the dropped-mass floor
of top-``K_max`` can never be met: ``beta`` runs to 0 and the cap decides (a K-SQS point).

The rule, per cap ``K_max``, from draft distributions of *held-out* prompts (never the judged
ones). ``tops[i]`` are the largest probabilities of position ``i``, sorted descending, at least
``K_max + 1`` of them; the cap binds at ``beta`` exactly when ``tops[i, K_max] >= beta``.

1. ``beta* =`` just above the ``1 - cap_rate`` quantile (numpy's ``"higher"``) of
   ``tops[:, K_max]``: the cap binds on at most ``cap_rate`` of the positions (and, one order
   statistic lower, on more).
2. ``alpha =`` the mean dropped mass of the kept set at ``beta*`` (so ``beta*`` is the update's
   fixed point in expectation: ``alpha`` is reachable by construction).
3. ``beta_1 = beta*`` (a query starts at the equilibrium; ``beta`` resets per query).
4. ``eta = move * beta* / sd(dropped at beta*)``: a one-standard-deviation miss of the dropped
   mass moves ``beta`` by ``move`` (a fraction) of its own scale, i.e. the step is on the scale of
   the probabilities ``beta`` is compared with (the issue's ``eta = 0.02`` is ~100x that at
   T = 1.5). Clipped to ``(0, 1]`` (the long-run bound's range).

The update rule itself is unchanged; the long-run bound of
:class:`~jointbench.specdec.sqs_support.ConformalThreshold` holds for any ``eta`` in (0, 1].

:func:`position_terms` evaluates a sparse codec on one recorded position from its largest draft
probabilities and the target's at the same ids (``benchmarks/sqs_paired.py``: every codec on the
same positions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jointbench.specdec import enumcode as ec
from jointbench.specdec import lattice as lt
from jointbench.specdec.sqs_support import check_float_in


@dataclass(frozen=True)
class RuleParams:
    """What the rule chose for one cap, and the held-out statistics behind it.

    Attributes
    ----------
    k_max : int
        Support cap.
    alpha, eta, beta1 : float
        C-SQS parameters (``beta1`` = the threshold ``beta*``, a probability).
    support_mean : float
        Mean kept support at ``beta*`` on the held-out positions (tokens).
    cap_pct : float
        Held-out positions whose support is cut by the cap at ``beta*`` (%).
    dropped_sd : float
        Standard deviation of the dropped mass at ``beta*`` over held-out positions.
    positions : int
        Held-out positions used.
    """

    k_max: int
    alpha: float
    eta: float
    beta1: float
    support_mean: float
    cap_pct: float
    dropped_sd: float
    positions: int

    def codec_params(self) -> dict[str, float | int]:
        """``codec_params`` of the ``c_sqs`` loop codec (floats rounded to 4 significant digits)."""
        return {"alpha": float(f"{self.alpha:.4g}"), "eta": float(f"{self.eta:.4g}"),
                "beta1": float(f"{self.beta1:.4g}"), "k_max": int(self.k_max)}


def kept_at(tops: np.ndarray, beta: float, k_max: int) -> tuple[np.ndarray, np.ndarray]:
    """Support size and dropped mass per position of ``{q >= beta}`` + argmax, cut at ``k_max``.

    Parameters
    ----------
    tops : numpy.ndarray, shape (n, m)
        Each position's ``m`` largest probabilities, descending (``m > k_max``); the rest of the
        mass (``1 - sum``) lies below ``tops[:, -1]``.
    beta : float
        Threshold (probability).
    k_max : int
        Cap.

    Returns
    -------
    sizes : numpy.ndarray, shape (n,), int
    dropped : numpy.ndarray, shape (n,), float
    """
    tops = np.asarray(tops, dtype=np.float64)
    if tops.ndim != 2 or tops.shape[1] <= k_max:
        raise ValueError(f"tops: need shape (n, m) with m > k_max = {k_max}, got {tops.shape}")
    sizes = np.clip((tops >= beta).sum(axis=1), 1, k_max)
    cums = np.cumsum(tops, axis=1)
    dropped = np.clip(1.0 - cums[np.arange(len(tops)), sizes - 1], 0.0, 1.0)
    return sizes, dropped


def choose(tops: np.ndarray, k_max: int, cap_rate: float = 0.05, move: float = 0.1) -> RuleParams:
    """Apply the module's rule to held-out ``tops`` (shape (n, m), ``m > k_max``) for cap ``k_max``.

    Raises
    ------
    ValueError
        When ``cap_rate``/``move`` are out of range, ``tops`` is too narrow, or the threshold
        would not decide (``beta* <= 0`` or no spread of the dropped mass).
    """
    check_float_in("cap_rate", cap_rate, 0.0, 1.0)
    check_float_in("move", move, 0.0, 1.0, low_open=True)
    tops = np.asarray(tops, dtype=np.float64)
    if tops.ndim != 2 or tops.shape[1] <= k_max or not len(tops):
        raise ValueError(f"tops: need shape (n, m) with n >= 1 and m > k_max = {k_max}, got {tops.shape}")
    edge = np.quantile(tops[:, k_max], 1.0 - cap_rate, method="higher")
    beta = float(np.nextafter(edge, np.inf))
    sizes, dropped = kept_at(tops, beta, k_max)
    sd = float(dropped.std())
    if not beta > 0 or not sd > 0:
        raise ValueError(f"held-out tops give beta*={beta:g}, sd(dropped)={sd:g}: the threshold cannot decide")
    alpha = float(np.clip(dropped.mean(), np.finfo(float).tiny, 1.0))
    eta = float(min(1.0, move * beta / sd))
    cap = 100.0 * float(np.mean(tops[:, k_max] >= beta))
    return RuleParams(int(k_max), alpha, eta, beta, float(sizes.mean()), cap, sd, int(len(tops)))


def position_terms(q: np.ndarray, p: np.ndarray, n: int, vocab: int,
                   k_max: int | None = None) -> tuple[float, float, int]:
    """``(TV(q, q_hat), TV(p, q_hat), bits)`` of the sparse codecs keeping the top ``n`` ids of one position.

    Parameters
    ----------
    q : numpy.ndarray, shape (m,)
        The position's ``m >= n`` largest draft probabilities, descending (the rest of the mass is
        ``1 - sum(q)``).
    p : numpy.ndarray, shape (m,)
        The target's probabilities at the same ids, in the same order.
    n : int
        Support size (the top ``n``, as both K-SQS and C-SQS keep).
    vocab : int
        Vocabulary size ``V``.
    k_max : int, optional
        C-SQS's cap: adds its gamma size code to the bits; ``None`` for K-SQS.

    Returns
    -------
    tv_q, tv_p : float
        ``TV(q, q_hat)`` (dropped mass + quantisation) and ``TV(p, q_hat)`` (the rejection
        probability), with the suite's lattice ``ell = max(16, 2 n)``.
    bits : int
        The position's bits as the codecs write them (support, lattice point, token index
        [, size code]).
    """
    ell = lt.resolution(lt.ELL_FLOOR, lt.ELL_PER_TOKEN, n)
    kept = q[:n]
    q_hat = lt.nearest_type(kept / kept.sum(), ell) / ell
    tv_q = 0.5 * (float(np.abs(kept - q_hat).sum()) + max(0.0, 1.0 - float(kept.sum())))
    tv_p = 0.5 * (float(np.abs(p[:n] - q_hat).sum()) + max(0.0, 1.0 - float(p[:n].sum())))
    bits = ec.subset_bits(vocab, n) + lt.lattice_bits(n, ell) + ec.index_bits(n)
    return tv_q, tv_p, bits + (ec.size_code_bits(n, k_max, "gamma") if k_max else 0)


__all__ = ["RuleParams", "choose", "kept_at", "position_terms"]
