"""NASD's online acceptance estimate: it converges to the true per-position acceptance, a wrong
prior is corrected and then picks the true best K, and the decision is arithmetic (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.specdec.nasd import Nasd
from jointbench.specdec.nasd_model import AcceptanceProfile, best_k_row, predicted_rate
from jointbench.specdec.nasd_online import OnlineAcceptance, best_k
from jointbench.specdec.nasd_sim import draw_accepted, simulate, synthetic_costs
from jointbench.specdec.nasd_table import build_table
from jointbench.specdec.nasd_types import CycleOutcome, LinkAwareState

K_MAX = 12
TRUTH = AcceptanceProfile.geometric(0.55, K_MAX)
WRONG = AcceptanceProfile.geometric(0.9, K_MAX)  # the calibration over-states acceptance
COSTS = synthetic_costs(k_max=K_MAX)
RTT = 100.0


def _feed(est: OnlineAcceptance, truth: AcceptanceProfile, k: int, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        est.observe(k, draw_accepted(rng.random(K_MAX), k, truth))


def test_estimate_converges_to_the_true_per_position_acceptance() -> None:
    est = OnlineAcceptance(WRONG, prior_strength=20.0, discount=1.0)
    assert np.max(np.abs(est.profile() - np.asarray(TRUTH.a))) > 0.3  # starts at the wrong prior
    _feed(est, TRUTH, K_MAX, 4000)
    # Positions a long draft reaches often enough are estimated closely (censoring thins the tail).
    assert np.max(np.abs(est.profile()[:6] - np.asarray(TRUTH.a[:6]))) < 0.03


def test_control_a_prior_that_outweighs_the_data_does_not_converge() -> None:
    est = OnlineAcceptance(WRONG, prior_strength=1e9, discount=1.0)
    _feed(est, TRUTH, K_MAX, 4000)
    assert np.max(np.abs(est.profile()[:6] - np.asarray(TRUTH.a[:6]))) > 0.2


def test_discount_follows_a_change_of_acceptance() -> None:
    forgetful, steady = OnlineAcceptance(TRUTH, 5.0, discount=0.98), OnlineAcceptance(TRUTH, 5.0, discount=1.0)
    for est in (forgetful, steady):
        _feed(est, WRONG, K_MAX, 2000, seed=2)  # a long stretch of easy prompts ...
        _feed(est, TRUTH, K_MAX, 400, seed=3)  # ... then hard ones
    err = {n: float(np.max(np.abs(e.profile()[:4] - np.asarray(TRUTH.a[:4]))))
           for n, e in (("forgetful", forgetful), ("steady", steady))}
    assert err["forgetful"] < 0.1
    assert err["steady"] > 0.1  # control: without forgetting the old stretch still dominates


def test_pooled_level_moves_positions_never_drafted() -> None:
    pooled, plain = OnlineAcceptance(WRONG, 20.0), OnlineAcceptance(WRONG, 20.0, pooled=False)
    for est in (pooled, plain):
        _feed(est, TRUTH, 2, 500)  # only positions 1..2 are ever drafted
    assert pooled.level() < 0.8
    assert pooled.conditional()[6] < 0.8 * WRONG.conditional()[6]
    assert plain.conditional()[6] == pytest.approx(WRONG.conditional()[6])  # control: no pooling, no move


def test_censoring_counts_only_positions_the_cycle_reached() -> None:
    est = OnlineAcceptance(WRONG, 1.0, discount=1.0)
    est.observe(5, 2)  # positions 1, 2 accepted, 3 rejected, 4..5 not observed
    assert list(est.trials[:6]) == [1, 1, 1, 0, 0, 0] and list(est.successes[:6]) == [1, 1, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="accepted"):
        est.observe(2, 3)


def test_context_splits_counts_after_a_full_accept() -> None:
    est = OnlineAcceptance(WRONG, 1.0, discount=1.0, context=True)
    est.observe(3, 3)
    assert est.state == 1 and est.trials.sum() == 0  # the next cycle reads the after-full-accept counts
    est.observe(3, 0)
    assert est.state == 0 and est.counts[1, 0, 0] == 1 and est.counts[0, 0, :3].tolist() == [1, 1, 1]


def test_best_k_maximises_the_rate() -> None:
    expected = np.array([1.0, 1.8, 2.4, 2.8, 3.0])
    fixed = np.array([50.0, 60.0, 70.0, 80.0, 90.0])
    k, rate = best_k(expected, fixed, 100.0, 1, 4)
    rates = expected[1:] / (fixed[1:] + 100.0)
    assert k == 1 + int(np.argmax(rates)) and rate == pytest.approx(1000.0 * rates.max())


def _table(prior: AcceptanceProfile):
    return build_table(prior, COSTS, pair="toy", edge_hardware="e", cloud_hardware="c",
                       rtt_grid_ms=(0.0, 1000.0, 1.0))


def test_online_corrects_a_wrong_prior_and_picks_the_true_best_k() -> None:
    true_k = int(best_k_row(np.array([RTT]), None, TRUTH, COSTS, "corrected", 1, K_MAX)[0])
    true_rate = {k: predicted_rate(k, RTT, None, TRUTH, COSTS) for k in range(1, K_MAX + 1)}
    table = _table(WRONG)
    assert table.k_for(RTT) > true_k and true_rate[table.k_for(RTT)] < 0.95 * true_rate[true_k]
    runs = {}
    for acc in ("table", "online"):
        ctl = Nasd(table, cutoff=False, acceptance=acc)
        runs[acc] = simulate(ctl, TRUTH, COSTS, lambda t: RTT, 3000, seed=1)
    late = list(runs["online"].ks[-200:-20])  # the last cycles are clipped by the length limit
    modal = max(set(late), key=late.count)
    assert true_rate[modal] >= 0.99 * true_rate[true_k]  # the true best K or a near-tie (K=2: -0.2 %)
    assert set(runs["table"].ks[-200:-20]) == {table.k_for(RTT)}  # control: the table never corrects
    assert runs["online"].tokens_per_s > 1.02 * runs["table"].tokens_per_s


def test_control_with_the_true_prior_online_changes_nothing_material() -> None:
    table = _table(TRUTH)
    runs = {acc: simulate(Nasd(table, cutoff=False, acceptance=acc), TRUTH, COSTS, lambda t: RTT, 3000, seed=1)
            for acc in ("table", "online")}
    assert runs["online"].tokens_per_s == pytest.approx(runs["table"].tokens_per_s, rel=0.02)


def test_decision_is_arithmetic_only() -> None:
    # The controller holds no model: a decision reads the table's costs and the counts, nothing else.
    ctl = Nasd(_table(WRONG), cutoff=False, acceptance="online")
    assert not any(hasattr(v, "forward") or callable(getattr(v, "generate", None)) for v in vars(ctl).values())
    k = ctl.next_k(LinkAwareState(0.0, last_rtt_ms=RTT))
    ctl.update(CycleOutcome(k, 1, 2, 300.0, RTT))
    assert ctl.online is not None and ctl.online.trials[:2].tolist() == [1.0, 1.0]
    ctl.reset_link()
    assert ctl.online.trials.sum() == 0  # a fresh controller forgets the session's acceptance too


def test_cutoff_keeps_the_tables_prediction_while_k_follows_the_session() -> None:
    table = _table(WRONG)
    cloud_rate = 1000.0 / COSTS.decode_ms
    rtts = np.arange(0.0, 1000.0, 1.0)
    r_star = float(next(r for r in rtts if table.rate(table.k_for(r), r) < cloud_rate))  # the table crossover
    for rtt, fires in ((r_star - 1.0, False), (r_star, True)):
        ctl = Nasd(table, rtt_mode="raw", fallback="cloud_only", acceptance="online", enter_after=3)
        ks = []
        for i in range(2):  # two cycles that accept nothing: the online estimate drops
            k = ctl.next_k(LinkAwareState(100.0 * i, last_rtt_ms=rtt))
            ks.append(k)
            ctl.update(CycleOutcome(k, 0, 1, 100.0, rtt))
        assert ctl.condition(rtt, None) is fires  # the same crossover as the table's
        assert ctl.best(rtt, None)[0] < table.k_for(rtt)  # control: K did follow the bad session
