"""A one-parameter online acceptance estimate: the calibrated profile moved by a common logit shift.

:class:`~jointbench.specdec.nasd_online.OnlineAcceptance` learns one Beta posterior per draft
position. A query runs some 15-30 cycles and deep positions are rarely observed, so most of
its ``K_max`` posteriors stay near their prior. :class:`ShiftAcceptance` learns a single number
per session instead: the conditional acceptance of draft position ``j`` is

    c_j(delta) = sigmoid(logit(c0_j) + delta)

with ``c0_j`` the calibration profile's conditionals (:meth:`AcceptanceProfile.conditional`) and
``delta`` the session's shift (``delta < 0``: the session's drafts agree less often than the
calibration's, at every position, by the same factor on the odds). The profile's *shape* (how
acceptance falls with the position) is the calibration's; its *level* is the session's.

``delta`` is the maximum a-posteriori estimate from the censored per-cycle counts (a cycle that
drafted ``d`` and had ``m`` accepted is a success at positions ``1..m`` and a failure at ``m + 1``
when ``m < d``; positions beyond are not observed) under a Gaussian prior ``N(0, 1/strength)``:

    maximise  sum_j [s_j log c_j(delta) + (n_j - s_j) log(1 - c_j(delta))] - strength delta^2 / 2.

The objective is concave in ``delta`` (a logistic likelihood with fixed offsets), so a few Newton
steps from the previous estimate converge; each step is ``O(K_max)`` arithmetic, no model call.
With ``discount < 1`` the counts decay by that factor per observed cycle (memory ~ ``1 / (1 -
discount)`` cycles), as in the per-position estimate.

With ``local`` set, the shifted profile becomes the prior mean of a per-position Beta posterior
(``local`` pseudo-cycles per position): ``c_j = (local c_j(delta) + s_j) / (local + n_j)``, so
positions observed often follow their own counts and the others follow the shift.
"""

from __future__ import annotations

import numpy as np

from jointbench.params import check_float
from jointbench.specdec.nasd_model import AcceptanceProfile
from jointbench.specdec.nasd_online import SessionProfile, check_cycle, fold_censored

DEFAULT_SHIFT_STRENGTH = 2.0
"""Prior precision of ``delta`` (1 / variance, in units of the Fisher information of about one
cycle). Picked on a calibration split (``benchmarks/nasd_tune.py``)."""
DEFAULT_SHIFT_DISCOUNT = 0.98
DELTA_LIMIT = 8.0
"""``|delta|`` is kept below this (logit units): the odds move by at most ``e^8``."""
EPS = 1e-4
"""Prior conditionals are clipped to ``[EPS, 1 - EPS]`` so every logit is finite."""
NEWTON_STEPS = 4


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class ShiftAcceptance(SessionProfile):
    """Calibration profile moved by one logit shift, estimated per session (module docstring).

    Parameters
    ----------
    prior : AcceptanceProfile
        The calibration profile; its conditionals fix the shape.
    strength : float
        Prior precision of the shift (> 0; larger = trusts the calibration longer).
    discount : float
        Factor in (0, 1] applied to the counts before each new cycle (1 = no forgetting).
    local : float or None
        Pseudo-cycles per position of a Beta posterior around the shifted profile (> 0); ``None``:
        the shifted profile itself.
    """

    def __init__(self, prior: AcceptanceProfile, strength: float = DEFAULT_SHIFT_STRENGTH,
                 discount: float = DEFAULT_SHIFT_DISCOUNT, local: float | None = None) -> None:
        if not isinstance(prior, AcceptanceProfile):
            raise TypeError(f"prior: expected an AcceptanceProfile, got {type(prior).__name__}")
        self.strength = check_float("shift_strength", strength, 0.0, lo_open=True)
        self.discount = check_float("discount", discount, 0.0, 1.0, lo_open=True)
        self.local = None if local is None else check_float("shift_local", local, 0.0, lo_open=True)
        self.prior = prior
        c0 = np.clip(np.asarray(prior.conditional(), dtype=float), EPS, 1.0 - EPS)
        self.logits = np.log(c0) - np.log1p(-c0)
        """``logit(c0_j)``, shape ``(K_max,)``."""
        self.reset()

    @property
    def k_max(self) -> int:
        """Positions covered."""
        return int(self.logits.size)

    def reset(self) -> None:
        """Forget every observation (``delta = 0``: the calibration profile)."""
        self.trials = np.zeros(self.k_max)
        """Observed (discounted) trials per position, shape ``(K_max,)``."""
        self.successes = np.zeros(self.k_max)
        """Observed (discounted) successes per position, shape ``(K_max,)``."""
        self.delta = 0.0
        self._expected: np.ndarray | None = None

    def observe(self, drafted: int, accepted: int) -> None:
        """Fold one verified cycle in (``drafted`` sent, the first ``accepted`` accepted) and re-fit ``delta``."""
        check_cycle(drafted, accepted)
        if drafted == 0:
            return
        if self.discount < 1.0:
            self.trials *= self.discount
            self.successes *= self.discount
        fold_censored(self.trials, self.successes, drafted, accepted)
        self.delta = self.fit()
        self._expected = None

    def fit(self) -> float:
        """MAP ``delta`` of the current counts (Newton's method on a concave objective)."""
        d = self.delta
        for _ in range(NEWTON_STEPS):
            p = _sigmoid(self.logits + d)
            grad = float(self.successes.sum() - self.trials @ p) - self.strength * d
            hess = -float(self.trials @ (p * (1.0 - p))) - self.strength
            d = float(np.clip(d - grad / hess, -DELTA_LIMIT, DELTA_LIMIT))
        return d

    def conditional(self) -> np.ndarray:
        """``c_j(delta)`` (or its per-position posterior mean with ``local``), shape ``(K_max,)``."""
        shifted = _sigmoid(self.logits + self.delta)
        if self.local is None:
            return shifted
        return (self.local * shifted + self.successes) / (self.local + self.trials)
