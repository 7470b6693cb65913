"""``ucb``: the delay-aware bandit over ``K`` (:mod:`~jointbench.specdec.bandit`) as a loop policy.

Reward: committed tokens per second of the whole cycle (network included), so the bandit
learns the delay's effect on ``K`` without a model (UCB-SpecStop's idea, arXiv 2606.20591).
What it learnt carries over between queries (same link) unless ``transient``.
"""

from __future__ import annotations

from typing import Any, Mapping

from jointbench.specdec.bandit import ESTIMATORS, UcbK
from jointbench.specdec.parts import POLICY, register
from jointbench.specdec.policies.link_adapter import check_params, link_outcome, link_state
from jointbench.specdec.policy import CycleOutcome, DraftState

DEFAULT_ARMS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 10, 12, 15)
UCB_PARAMS: dict[str, tuple[Any, Any]] = {
    "ks": (list, list(DEFAULT_ARMS)),
    "c": (float, 1.0),
    "estimator": (str, "ratio"),
    "rtt_buckets_ms": (list, []),
    "discount": (float, 1.0),
}
"""Declared ``policy_params`` of ``ucb``: name -> (type, default). See :class:`~jointbench.specdec.bandit.UcbK`."""


@register(POLICY, "ucb")
class UcbPolicy:
    """UCB over draft lengths behind the loop's policy interface.

    Parameters
    ----------
    params : mapping
        Checked ``policy_params`` (:data:`UCB_PARAMS`).
    k_max : int, optional
        Arms above it are dropped.
    transient : bool
        Forget what was learnt at every query.
    """

    reads_link = True

    def __init__(self, params: Mapping[str, Any] | None = None, k_max: int | None = None,
                 transient: bool = False) -> None:
        p = check_params("ucb", dict(params or {}), UCB_PARAMS)
        for key in ("ks", "rtt_buckets_ms"):
            bad = [v for v in p[key] if isinstance(v, bool) or not isinstance(v, (int, float))
                   or (key == "ks" and not isinstance(v, int))]
            if bad:
                raise TypeError(f"policy 'ucb': policy_params.{key}: expected a list of "
                                f"{'ints' if key == 'ks' else 'numbers'}, got {p[key]!r}")
        if p["estimator"] not in ESTIMATORS:
            raise ValueError(f"policy 'ucb': policy_params.estimator={p['estimator']!r}: unknown. "
                             f"Available: {', '.join(ESTIMATORS)}")
        ks = [k for k in p["ks"] if k_max is None or k <= k_max]
        if not ks:
            raise ValueError(f"policy 'ucb': no arm of policy_params.ks={p['ks']!r} is <= k_max={k_max}")
        self.params = p
        self.transient = bool(transient)
        try:
            self.bandit = UcbK(ks, c=p["c"], estimator=p["estimator"], rtt_buckets_ms=p["rtt_buckets_ms"],
                               discount=p["discount"])
        except ValueError as exc:
            raise ValueError(f"policy 'ucb': policy_params: {exc}") from exc

    @classmethod
    def build(cls, k: int, k_max: int | None, transient: bool, params: Mapping[str, Any]) -> UcbPolicy:
        """From the session's hyperparameters (``k`` unused: the arms decide)."""
        return cls(params, k_max, transient)

    def label(self) -> str:
        """Short label for tables and plots."""
        return "UCB" if not self.params["rtt_buckets_ms"] else "UCB-ctx"

    def reset(self) -> None:
        """New query: keep what was learnt unless ``transient``."""
        if self.transient:
            self.bandit.reset_link()
        else:
            self.bandit.reset()

    def next_k(self, state: DraftState) -> int:
        """The arm with the largest upper confidence bound."""
        return self.bandit.next_k(link_state(state))

    def update(self, outcome: CycleOutcome) -> None:
        """Credit the cycle's committed tokens per second to the arm played."""
        self.bandit.update(link_outcome(outcome))

    def query_log(self) -> list[dict[str, Any]]:
        """The bandit's per-cycle log of this query."""
        return [c.to_dict() for c in self.bandit.log]

    def __repr__(self) -> str:
        return f"UcbPolicy({self.bandit!r})"
