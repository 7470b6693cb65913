"""Delay-aware UCB over the draft length: a model-free baseline for NASD.

Each arm is a draft length ``K``; the reward of a cycle is its committed tokens per
second of the cycle (the idea of UCB-SpecStop, arXiv 2606.20591: the cycle time
includes the network delay, so the bandit learns the delay's effect on ``K`` without a
model). It is *delay-aware* in two ways: the reward is per second of the whole cycle,
and, with ``rtt_buckets_ms``, one independent bandit runs per bucket of the RTT the
previous cycle measured (a contextual bandit with a discretised delay context).

Per arm the estimate is either the renewal-reward ratio ``sum(tokens) / sum(seconds)``
(``estimator="ratio"``, the default: long-run throughput of always playing that arm)
or the mean of the per-cycle rates (``"mean"``, the literal per-cycle reward). The
index is the empirical-Bernstein bound of UCB-V (Audibert, Munos & Szepesvari 2009),
``estimate + c (sqrt(2 V ln n / n_arm) + 3 b ln n / n_arm)``, with ``V`` the arm's
variance of per-cycle rates and ``b`` the largest per-cycle rate seen in the bucket
(rewards in tokens/s are not in [0, 1]; plain UCB1's range-scaled bonus over-explores
here because the per-cycle rate varies far more than the gaps between arms); unplayed
arms go first, in order. ``discount < 1`` forgets old cycles geometrically (for a
drifting link). The decision is O(#arms) arithmetic, no model call.
"""

from __future__ import annotations

import bisect
import math
from typing import Sequence

import numpy as np

from jointbench.specdec.nasd_types import CycleLog, CycleOutcome, LinkAwareState, log_totals

ESTIMATORS: tuple[str, ...] = ("ratio", "mean")


class _Arms:
    """Discounted statistics of one bucket's arms."""

    def __init__(self, n: int) -> None:
        self.count = np.zeros(n)
        self.tokens = np.zeros(n)
        self.seconds = np.zeros(n)
        self.rate_sum = np.zeros(n)
        self.rate_sq = np.zeros(n)
        self.scale = 0.0

    def decay(self, discount: float) -> None:
        if discount < 1.0:
            for arr in (self.count, self.tokens, self.seconds, self.rate_sum, self.rate_sq):
                arr *= discount


class UcbK:
    """UCB over draft lengths with committed tokens per cycle-second as reward.

    Parameters
    ----------
    ks : sequence of int
        Arms (draft lengths, each >= 1, distinct).
    c : float
        Exploration weight (>= 0; UCB-V uses 1).
    estimator : {"ratio", "mean"}
        Arm estimate (module docstring).
    rtt_buckets_ms : sequence of float
        Ascending RTT bucket edges (ms); empty = one bandit for every RTT.
    discount : float
        Per-cycle forgetting factor in (0, 1]; 1 = stationary.
    """

    def __init__(self, ks: Sequence[int] = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15), c: float = 1.0,
                 estimator: str = "ratio", rtt_buckets_ms: Sequence[float] = (), discount: float = 1.0) -> None:
        arms = [int(k) for k in ks]
        if not arms or len(set(arms)) != len(arms) or min(arms) < 1:
            raise ValueError(f"ks={list(ks)!r}: need distinct draft lengths >= 1")
        if not float(c) >= 0.0:
            raise ValueError(f"c={c!r}: must be >= 0")
        if estimator not in ESTIMATORS:
            raise ValueError(f"estimator={estimator!r}: unknown. Available: {', '.join(ESTIMATORS)}")
        edges = [float(e) for e in rtt_buckets_ms]
        if edges != sorted(edges) or len(set(edges)) != len(edges):
            raise ValueError(f"rtt_buckets_ms={list(rtt_buckets_ms)!r}: must be strictly ascending")
        if not 0.0 < float(discount) <= 1.0:
            raise ValueError(f"discount={discount!r}: must be in (0, 1]")
        self.ks = tuple(arms)
        self.c = float(c)
        self.estimator = estimator
        self.edges = tuple(edges)
        self.discount = float(discount)
        self.reset_link()

    def __repr__(self) -> str:
        return f"UcbK(ks={list(self.ks)}, c={self.c}, estimator={self.estimator}, buckets={list(self.edges)})"

    def reset_link(self) -> None:
        """Forget everything learnt (a fresh bandit)."""
        self.buckets = [_Arms(len(self.ks)) for _ in range(len(self.edges) + 1)]
        self.last_rtt_ms: float | None = None
        self.reset()

    def reset(self) -> None:
        """Start a new query's log; what was learnt carries over (same link)."""
        self.log: list[CycleLog] = []
        self._pending: tuple[float, int, int] | None = None

    def totals(self) -> dict[str, float]:
        """Sums over this query's log."""
        return log_totals(self.log)

    def bucket(self, rtt_ms: float | None) -> int:
        """Index of the RTT bucket (0 when no RTT was measured yet)."""
        return 0 if rtt_ms is None else bisect.bisect_right(self.edges, rtt_ms)

    def estimates(self, bucket: int = 0) -> np.ndarray:
        """Per-arm estimated tokens/s in a bucket (NaN for an unplayed arm), shape ``(len(ks),)``."""
        arms = self.buckets[bucket]
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.estimator == "ratio":
                est = arms.tokens / arms.seconds
            else:
                est = arms.rate_sum / arms.count
        return np.where(arms.count > 0, est, np.nan)

    def next_k(self, state: LinkAwareState) -> int:
        """The arm with the largest upper confidence bound in the current RTT bucket."""
        if self.last_rtt_ms is None and state.last_rtt_ms is not None:
            self.last_rtt_ms = float(state.last_rtt_ms)
        b = self.bucket(self.last_rtt_ms)
        arms = self.buckets[b]
        unplayed = np.flatnonzero(arms.count <= 0)
        if unplayed.size:
            i = int(unplayed[0])
        else:
            log_n = math.log(max(float(arms.count.sum()), 1.0))
            mean = arms.rate_sum / arms.count
            var = np.maximum(arms.rate_sq / arms.count - mean**2, 0.0)
            bonus = self.c * (np.sqrt(2.0 * var * log_n / arms.count) + 3.0 * arms.scale * log_n / arms.count)
            i = int(np.argmax(self.estimates(b) + bonus))
        self._pending = (float(state.t_ms), b, i)
        return self.ks[i]

    def update(self, outcome: CycleOutcome) -> None:
        """Credit the cycle's committed tokens per second to the arm played."""
        if self._pending is None:
            raise RuntimeError("update() called without a preceding next_k()")
        t_ms, b, i = self._pending
        self._pending = None
        arms = self.buckets[b]
        arms.decay(self.discount)
        seconds = outcome.cycle_ms / 1000.0
        rate = outcome.committed / seconds
        arms.count[i] += 1.0
        arms.tokens[i] += outcome.committed
        arms.seconds[i] += seconds
        arms.rate_sum[i] += rate
        arms.rate_sq[i] += rate * rate
        arms.scale = max(arms.scale, rate)
        seen = self.last_rtt_ms
        if outcome.rtt_ms is not None:
            self.last_rtt_ms = float(outcome.rtt_ms)
        network = outcome.network_ms
        k_run = self.ks[i] if outcome.k is None else int(outcome.k)
        self.log.append(CycleLog(len(self.log), t_ms, k_run, seen, seen, False, False, outcome.drafted,
                                 outcome.accepted, outcome.committed, outcome.cycle_ms, network,
                                 network / outcome.cycle_ms, self.ks[i]))
