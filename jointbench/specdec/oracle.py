"""The oracle baseline: the best fixed draft length per condition, from the same replays.

Given a function that evaluates tokens/s of a fixed ``K`` under a condition (by
replaying the recorded traces on the virtual clock, or by a synthetic simulation), the
oracle is ``argmax_K`` per condition: what a controller that knew the condition in
advance, but could not adapt within it, would pick. A time-varying condition (an
oscillating trace) has one oracle ``K`` for the whole run, which an adaptive controller
can beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, Mapping, Sequence, TypeVar

C = TypeVar("C", bound=Hashable)


@dataclass(frozen=True)
class OracleChoice:
    """The best fixed ``K`` of one condition.

    Attributes
    ----------
    k : int
        Best draft length (ties to the smaller ``K``).
    tokens_per_s : float
        Its throughput.
    by_k : dict of int to float
        Throughput of every ``K`` evaluated.
    """

    k: int
    tokens_per_s: float
    by_k: Mapping[int, float]


def best_fixed_k(evaluate: Callable[[int, C], float], ks: Sequence[int], condition: C) -> OracleChoice:
    """Evaluate every ``K`` of ``ks`` on ``condition`` and keep the fastest.

    Parameters
    ----------
    evaluate : callable (k, condition) -> float
        Tokens/s of fixed ``K`` under the condition (deterministic: the same replays).
    ks : sequence of int
        Candidate draft lengths (non-empty).
    condition : hashable
        Whatever ``evaluate`` understands (e.g. ``(rtt_ms, bandwidth_mbps)`` or a trace name).
    """
    if not ks:
        raise ValueError("ks: need at least one draft length")
    by_k = {int(k): float(evaluate(int(k), condition)) for k in ks}
    best = max(sorted(by_k), key=lambda k: (by_k[k], -k))
    return OracleChoice(best, by_k[best], by_k)


def oracle_table(evaluate: Callable[[int, C], float], ks: Sequence[int],
                 conditions: Iterable[C]) -> dict[C, OracleChoice]:
    """:func:`best_fixed_k` for every condition."""
    return {cond: best_fixed_k(evaluate, ks, cond) for cond in conditions}


def ratio_to_oracle(tokens_per_s: Mapping[C, float], oracle: Mapping[C, OracleChoice]) -> dict[C, float]:
    """Per condition, a strategy's tokens/s over the oracle's (conditions of ``tokens_per_s``)."""
    missing = [c for c in tokens_per_s if c not in oracle]
    if missing:
        raise KeyError(f"no oracle for condition(s) {missing!r}")
    return {c: float(v) / oracle[c].tokens_per_s for c, v in tokens_per_s.items()}
