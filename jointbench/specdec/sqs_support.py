"""Support selection of the sparse draft schemes: top-K, and C-SQS's conformal threshold.

:func:`top_ids` is the one ordering rule of every support (probability descending, lower
id first on ties). :func:`conformal_support` is C-SQS's kept set, and
:class:`ConformalThreshold` the online update of its threshold with the long-run
dropped-mass guarantee.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


def top_ids(q: np.ndarray, k: int) -> np.ndarray:
    """Ids of the ``k`` largest entries of ``q`` (ties: lower id first), in that order."""
    return np.lexsort((np.arange(q.size), -q))[:k]


def check_float_in(name: str, value: object, low: float, high: float, low_open: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a real number in the range."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or not (low < value <= high if low_open else low <= value <= high):
        bracket = "(" if low_open else "["
        raise ValueError(f"{name}: must be a float in {bracket}{low}, {high}], got {value!r}")


#: The threshold's default step size ``eta`` (the controller, the scheme and the loop codec share it).
DEFAULT_ETA: float = 0.02


@dataclass
class ConformalThreshold:
    """Online threshold of C-SQS: ``beta <- clip(beta - eta (dropped - alpha), beta_min, beta_max)``.

    Long-run guarantee. For any sequence of draft distributions, if the kept set is
    ``{x : q(x) >= beta}`` (plus anything else, e.g. the argmax) and is never cut by a cap,
    then after ``T`` updates

        (1/T) sum_t dropped_t <= alpha + (beta_1 - beta_{T+1}) / (eta T)
                              <= alpha + (|beta_1| + 1 + eta alpha) / (eta T).

    Derivation (adaptive conformal inference, Gibbs & Candes 2021; the bound quoted in the
    methods notes §2.2): without clipping, ``beta_{t+1} = beta_t - eta (dropped_t - alpha)``
    telescopes to ``eta sum_t (dropped_t - alpha) = beta_1 - beta_{T+1}``. Clipping from
    above only lowers ``beta_{t+1}``, so ``eta (dropped_t - alpha) <= beta_t - beta_{t+1}``
    still holds and the telescoped sum stays an upper bound. From below: if ``beta_t <= 0`` every
    token is kept, ``dropped_t = 0`` and ``beta`` rises by ``eta alpha``; if ``beta_t > 0``,
    ``beta_{t+1} >= -eta (1 - alpha)``. So ``beta`` never falls below
    ``min(beta_1, -eta (1 - alpha))`` and the lower clip never acts when
    ``beta_min <= -eta (1 - alpha)`` (the default ``beta_min = -eta`` ensures it). Hence
    ``beta_1 - beta_{T+1} <= |beta_1| + eta (1 - alpha) <= |beta_1| + 1 + eta alpha`` for
    ``eta <= 1``. A lower clip at 0 (as the notes first suggested) voids the guarantee: an
    adversary who puts almost all mass just under ``beta = eta alpha`` gets dropped mass
    about 1/2 on average (tested). A cap ``K_max`` voids it too when ``q`` spreads over
    more than ``K_max`` tokens and mass ``> alpha`` (also tested).
    """

    alpha: float = 0.1
    eta: float = DEFAULT_ETA
    beta1: float = 0.05
    beta_min: float | None = None
    beta_max: float = 1.0
    beta: float = field(init=False)

    def __post_init__(self) -> None:
        check_float_in("alpha", self.alpha, 0.0, 1.0, low_open=True)
        check_float_in("eta", self.eta, 0.0, 1.0, low_open=True)
        if self.beta_min is None:
            self.beta_min = -self.eta
        check_float_in("beta_min", self.beta_min, -1.0, 0.0)
        check_float_in("beta_max", self.beta_max, 0.0, 1.0, low_open=True)
        check_float_in("beta1", self.beta1, self.beta_min, self.beta_max)
        self.beta = float(self.beta1)

    def update(self, dropped: float) -> float:
        """Apply one step with the realised dropped mass; returns the new ``beta``."""
        self.beta = float(np.clip(self.beta - self.eta * (dropped - self.alpha), self.beta_min, self.beta_max))
        return self.beta

    def reset(self) -> None:
        """Back to ``beta_1``."""
        self.beta = float(self.beta1)

    def bound(self, steps: int) -> float:
        """``alpha + (|beta_1| + 1 + eta alpha) / (eta T)``, the quoted bound after ``T`` steps."""
        return self.alpha + (abs(self.beta1) + 1.0 + self.eta * self.alpha) / (self.eta * steps)


def conformal_support(q: np.ndarray, beta: float, k_max: int) -> np.ndarray:
    """``{x : q(x) >= beta}`` plus the argmax; the ``k_max`` most probable if larger. Ids ascending."""
    keep = q >= beta
    keep[top_ids(q, 1)[0]] = True
    support = np.flatnonzero(keep)
    if support.size > k_max:
        support = support[top_ids(q[support], k_max)]
    return np.sort(support)
