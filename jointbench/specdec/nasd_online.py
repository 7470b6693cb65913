"""NASD's online acceptance estimate and the per-cycle argmax over ``K`` it feeds.

The seed's table is built on the calibration split's acceptance profile. Acceptance differs
per prompt and per task (on the root job's test prompts the smollm2 pair commits 3.2 tokens
per K=5 cycle where the calibration profile predicts 3.9), so ``K*`` from the table can be
the wrong draft length for the session at hand. :class:`OnlineAcceptance` keeps, per draft
position ``j``, the *conditional* acceptance ``c_j`` = P(draft ``j`` accepted | drafts
``1..j-1`` accepted) as a Beta posterior whose prior is the calibration profile
(``prior_strength`` pseudo-cycles at the table's ``c_j`` scaled by a pooled level, see
:meth:`OnlineAcceptance.level`), updated from the session's own cycles:

- a cycle that drafted ``d`` tokens and had ``m`` accepted is a trial at positions
  ``1..min(d, m + 1)`` and a success at ``1..m`` (positions beyond the first rejection, or
  beyond what was drafted, are not observed: a censored sample, hence conditionals);
- with ``discount < 1`` every cycle first multiplies the counts by ``discount``, so the
  estimate follows a prompt whose acceptance differs from the last one (an effective memory
  of ``1 / (1 - discount)`` cycles).

The posterior mean gives ``a_j = prod_{i<=j} c_i`` (non-increasing by construction) and
``E[accepted + 1](K) = 1 + sum_{j<=K} a_j``; :func:`best_k` re-maximises
``E(K) / (fixed_ms(K) + RTT)`` over ``K`` each cycle: ``O(K_max)`` arithmetic, no model call.

Positions never drafted keep the prior's shape, moved by the pooled level of the positions
that were: a prior that *over*-states acceptance draws the controller to long drafts, which
observe those positions and correct them; a session whose tail is relatively better than the
prior's is corrected only where drafts reach (an optimism bonus for that cost up to 5-17 %
on the root job's prompts, so there is none). With ``context=True`` the counts are kept
apart for cycles that follow a fully accepted draft (picked against on a calibration split:
``benchmarks/nasd_tune.py``).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from jointbench.params import check_float
from jointbench.specdec.nasd_model import AcceptanceProfile

ACCEPTANCE_SOURCES: tuple[str, ...] = ("table", "online", "shift")
"""``table``: the calibrated table's ``K*`` (the seed); ``online``: :class:`OnlineAcceptance` + :func:`best_k`;
``shift``: :class:`~jointbench.specdec.nasd_shift.ShiftAcceptance` (one logit shift per session) + :func:`best_k`."""
DEFAULT_PRIOR_STRENGTH = 5.0
DEFAULT_DISCOUNT = 0.98
"""Defaults picked on a calibration split (``benchmarks/nasd_tune.py``: 16 TeleQnA prompts disjoint
from the test set, 30 conditions; 6 would miss the benchmark's targets against the table's 14)."""


def check_cycle(drafted: int, accepted: int) -> None:
    """Raise ``ValueError`` unless ``0 <= accepted <= drafted`` (one verified cycle's counts)."""
    if not 0 <= accepted <= drafted:
        raise ValueError(f"accepted={accepted}, drafted={drafted}: need 0 <= accepted <= drafted")


def fold_censored(trials: np.ndarray, successes: np.ndarray, drafted: int, accepted: int) -> None:
    """Add one verified cycle's censored counts in place: positions ``1..accepted+1`` were tried (the
    first rejection ends what is observed), ``1..accepted`` succeeded; shapes ``(K_max,)``."""
    k_max = trials.size
    trials[:min(drafted, accepted + 1, k_max)] += 1.0
    successes[:min(accepted, k_max)] += 1.0


class SessionProfile:
    """What a per-session acceptance estimate derives from its ``conditional()`` (shared by the estimators).

    Subclasses define ``conditional()`` (shape ``(K_max,)``) and set ``self._expected = None`` whenever it
    changes.
    """

    _expected: np.ndarray | None

    def conditional(self) -> np.ndarray:
        """Conditional acceptance ``c_j`` per draft position, shape ``(K_max,)``."""
        raise NotImplementedError

    def profile(self) -> np.ndarray:
        """``a_j = prod_{i<=j} c_i``, shape ``(K_max,)``, non-increasing."""
        return np.cumprod(self.conditional())

    def expected(self) -> np.ndarray:
        """``E[accepted + 1](K)`` for ``K = 0..K_max``, shape ``(K_max + 1,)`` (cached until the next cycle)."""
        if self._expected is None:
            self._expected = np.concatenate([[1.0], 1.0 + np.cumsum(self.profile())])
        return self._expected


class OnlineAcceptance(SessionProfile):
    """Per-position conditional acceptance, a Beta posterior with the calibration as prior.

    Parameters
    ----------
    prior : AcceptanceProfile
        The calibration profile (``a_j``); its conditionals are the prior means.
    prior_strength : float
        Pseudo-cycles the prior counts for at every position (> 0).
    discount : float
        Factor in (0, 1] applied to the observed counts before each new cycle (1 = no forgetting).
    pooled : bool
        Move every position's prior mean by the pooled :meth:`level` (True) or keep the table's (False).
    context : bool
        Keep separate counts for cycles that follow a fully accepted draft and for the others
        (a run of agreement tends to continue); :meth:`level` pools both.
    """

    def __init__(self, prior: AcceptanceProfile, prior_strength: float = DEFAULT_PRIOR_STRENGTH,
                 discount: float = DEFAULT_DISCOUNT,
                 pooled: bool = True, context: bool = False) -> None:
        if not isinstance(prior, AcceptanceProfile):
            raise TypeError(f"prior: expected an AcceptanceProfile, got {type(prior).__name__}")
        self.prior_strength = check_float("prior_strength", prior_strength, 0.0, lo_open=True)
        self.discount = check_float("discount", discount, 0.0, 1.0, lo_open=True)
        self.prior = prior
        self.prior_c = np.asarray(prior.conditional(), dtype=float)
        """Prior mean of ``c_j``, shape ``(K_max,)``."""
        self.pooled = bool(pooled)
        self.context = bool(context)
        self.reset()

    @property
    def k_max(self) -> int:
        """Positions covered."""
        return int(self.prior_c.size)

    def reset(self) -> None:
        """Forget every observation (back to the prior)."""
        self.counts = np.zeros((2, 2, self.k_max))
        """``counts[context, 0 | 1, j - 1]``: trials / successes at position ``j`` (context 1: after a full accept)."""
        self.state = 0
        self._expected: np.ndarray | None = None

    @property
    def trials(self) -> np.ndarray:
        """Observed trials per position in the current context, shape ``(K_max,)``."""
        return self.counts[self.state, 0]

    @property
    def successes(self) -> np.ndarray:
        """Observed successes per position in the current context, shape ``(K_max,)``."""
        return self.counts[self.state, 1]

    def observe(self, drafted: int, accepted: int) -> None:
        """Fold one verified cycle in: ``drafted`` tokens sent, the first ``accepted`` of them accepted."""
        check_cycle(drafted, accepted)
        if drafted == 0:
            return
        if self.discount < 1.0:
            self.counts *= self.discount
        fold_censored(self.trials, self.successes, drafted, accepted)  # views of this context's counts
        self.state = int(self.context and accepted == drafted)
        self._expected = None

    def level(self) -> float:
        """Pooled ratio of observed to prior-expected acceptances over every position (1 before any data).

        ``(n0 + sum_j s_j) / (n0 + sum_j n_j prior_c_j)``: a session whose acceptance is uniformly lower
        (or higher) than the calibration's moves every position's prior mean, drafted or not.
        """
        n0 = self.prior_strength
        trials, successes = self.counts.sum(axis=0)
        return float((n0 + successes.sum()) / (n0 + float(trials @ self.prior_c)))

    def conditional(self) -> np.ndarray:
        """Posterior mean of ``c_j``, shape ``(K_max,)``; the prior mean is ``min(1, level() prior_c_j)``."""
        n0 = self.prior_strength
        prior = np.minimum(1.0, self.level() * self.prior_c) if self.pooled else self.prior_c
        return (n0 * prior + self.successes) / (n0 + self.trials)


def best_k(expected: np.ndarray, fixed_ms: Sequence[float] | np.ndarray, rtt_ms: float, k_min: int,
           k_max: int) -> tuple[int, float]:
    """``(K*, predicted tokens/s)`` maximising ``expected[K] / (fixed_ms[K] + RTT)`` over ``[k_min, k_max]``.

    Parameters
    ----------
    expected : ndarray, shape (>= k_max + 1,)
        Tokens per cycle of each ``K`` (index = ``K``).
    fixed_ms : sequence of float, shape (>= k_max + 1,)
        Cycle time of each ``K`` without the RTT (ms).
    rtt_ms : float
        RTT estimate (ms; negative taken as 0).
    k_min, k_max : int

    Returns
    -------
    (int, float)
        Ties go to the smaller ``K``.
    """
    e = np.asarray(expected[k_min:k_max + 1], dtype=float)
    t = np.asarray(fixed_ms[k_min:k_max + 1], dtype=float) + max(0.0, float(rtt_ms))
    rates = e / t
    i = int(np.argmax(rates))
    return k_min + i, 1000.0 * float(rates[i])
