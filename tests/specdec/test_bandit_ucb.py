"""Delay-aware UCB over K: converges to the best arm on stationary problems; per-bucket learning."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from jointbench.netsim.traces import LinkState, StepTrace
from jointbench.specdec.bandit import UcbK
from jointbench.specdec.nasd_sim import simulate, synthetic_costs, trace_rtt
from jointbench.specdec.nasd_table import AcceptanceProfile, predicted_rate
from jointbench.specdec.nasd_types import CycleOutcome, LinkAwareState

ARMS = (1, 3, 6, 12)
ACC = AcceptanceProfile.geometric(0.8, 12)
COSTS = synthetic_costs(k_max=12)


def _true_rates(rtt: float) -> dict[int, float]:
    return {k: predicted_rate(k, rtt, None, ACC, COSTS) for k in ARMS}


@pytest.mark.parametrize(("rtt", "estimator"), [(0.0, "ratio"), (800.0, "ratio"), (800.0, "mean")])
def test_bandit_converges_to_the_best_arm_on_a_stationary_problem(rtt: float, estimator: str) -> None:
    rates = _true_rates(rtt)
    best = max(rates, key=rates.__getitem__)
    runner_up = sorted(rates.values())[-2]
    assert rates[best] > 1.05 * runner_up  # a clear best arm: the test can tell
    bandit = UcbK(ARMS, c=1.0, estimator=estimator)
    res = simulate(bandit, ACC, COSTS, lambda t: rtt, 30000, seed=11)
    n = len(res.ks)
    first, last = Counter(res.ks[: n // 4]), Counter(res.ks[3 * n // 4:])
    assert last.most_common(1)[0][0] == best
    assert last[best] > 0.8 * sum(last.values())
    assert last[best] / sum(last.values()) > first[best] / sum(first.values())  # still converging
    est = bandit.estimates(0)
    assert est[ARMS.index(best)] == pytest.approx(rates[best], rel=0.05)


def test_best_arm_differs_between_the_two_problems() -> None:
    # control for the convergence test: the right answer moves with the delay
    low, high = _true_rates(0.0), _true_rates(800.0)
    assert max(low, key=low.__getitem__) != max(high, key=high.__getitem__)


def test_rtt_buckets_learn_one_best_arm_per_delay() -> None:
    levels = [(0.0, 0.0)] + [(float(i) * 20000.0, 800.0 if i % 2 else 0.0) for i in range(1, 40)]
    trace = StepTrace(tuple(a for a, _ in levels), tuple(LinkState(r, np.inf, np.inf) for _, r in levels))
    bandit = UcbK(ARMS, rtt_buckets_ms=(100.0,))
    simulate(bandit, ACC, COSTS, trace_rtt(trace), 40000, seed=5)
    for bucket, rtt in ((0, 0.0), (1, 800.0)):
        rates = _true_rates(rtt)
        played = bandit.buckets[bucket].count
        assert ARMS[int(np.argmax(played))] == max(rates, key=rates.__getitem__)


def test_reward_is_committed_tokens_per_cycle_second_and_logs_add_up() -> None:
    bandit = UcbK((2, 4), c=0.0)  # no exploration bonus: unplayed arms first, then the best estimate
    played = []
    for i, (accepted, ms) in enumerate([(2, 100.0), (4, 400.0), (0, 50.0), (1, 200.0)]):
        k = bandit.next_k(LinkAwareState(t_ms=100.0 * i, last_rtt_ms=20.0))
        played.append(k)
        bandit.update(CycleOutcome(k, min(accepted, k), min(accepted, k) + 1, ms, 20.0))
    # 2: 3 tokens / 0.1 s = 30/s beats 4: 5 / 0.4 = 12.5/s; then 2 again: 4 / 0.15 s = 26.7/s
    assert played == [2, 4, 2, 2]
    arms = bandit.buckets[0]
    assert list(arms.tokens) == [6.0, 5.0] and list(arms.seconds) == pytest.approx([0.35, 0.4])
    assert bandit.estimates(0) == pytest.approx([6.0 / 0.35, 12.5])
    assert bandit.totals()["committed"] == 11 and bandit.totals()["time_ms"] == 750.0


def test_constructor_validates() -> None:
    for kwargs, key in (({"ks": (1, 1)}, "ks"), ({"c": -1.0}, "c"), ({"estimator": "x"}, "estimator"),
                        ({"rtt_buckets_ms": (5.0, 1.0)}, "rtt_buckets_ms"), ({"discount": 0.0}, "discount")):
        with pytest.raises(ValueError, match=key):
            UcbK(**kwargs)
