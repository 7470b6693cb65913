"""NASD's one-parameter acceptance estimate (a logit shift of the calibrated profile): it recovers a
synthetic source's shift, corrects a wrong prior within a few cycles, keeps the profile's shape, and
the controller's log records the K the loop ran next to the K asked for."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.specdec.nasd import Nasd
from jointbench.specdec.nasd_model import AcceptanceProfile, best_k_row, predicted_rate
from jointbench.specdec.nasd_shift import ShiftAcceptance
from jointbench.specdec.nasd_sim import draw_accepted, simulate, synthetic_costs
from jointbench.specdec.nasd_table import build_table
from jointbench.specdec.nasd_types import CycleOutcome, LinkAwareState, log_totals

K_MAX = 12
COSTS = synthetic_costs(k_max=K_MAX)
RTT = 100.0
# A calibration profile whose conditionals fall with the position, as measured (not geometric).
PRIOR_C = np.linspace(0.92, 0.6, K_MAX)


def _shifted(delta: float) -> AcceptanceProfile:
    logit = np.log(PRIOR_C) - np.log1p(-PRIOR_C) + delta
    return AcceptanceProfile(tuple(np.cumprod(1.0 / (1.0 + np.exp(-logit)))))


PRIOR = _shifted(0.0)
TRUTH = _shifted(-1.2)  # the session's drafts agree less often at every position


def _feed(est: ShiftAcceptance, truth: AcceptanceProfile, k: int, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(n):
        est.observe(k, draw_accepted(rng.random(K_MAX), k, truth))


def test_shift_converges_to_a_synthetic_sources_true_shift() -> None:
    est = ShiftAcceptance(PRIOR, strength=1.0, discount=1.0)
    _feed(est, TRUTH, 6, 3000)
    assert est.delta == pytest.approx(-1.2, abs=0.08)
    # every position follows, also those no cycle drafted (the shape is the calibration's)
    assert np.max(np.abs(est.profile() - np.asarray(TRUTH.a))) < 0.02


def test_control_a_prior_that_outweighs_the_data_keeps_the_wrong_profile() -> None:
    est = ShiftAcceptance(PRIOR, strength=1e9, discount=1.0)
    _feed(est, TRUTH, 6, 3000)
    assert abs(est.delta) < 1e-3 and np.max(np.abs(est.profile() - np.asarray(TRUTH.a))) > 0.2


def test_a_wrong_prior_is_corrected_within_a_few_cycles() -> None:
    # the per-position posterior moves positions a short draft never reaches only through its pooled level;
    # the shift moves them all after the same few cycles
    est = ShiftAcceptance(PRIOR, strength=2.0, discount=1.0)
    _feed(est, TRUTH, 3, 12, seed=4)
    err0 = float(np.abs(PRIOR.expected_tokens(10) - TRUTH.expected_tokens(10)))
    err = float(np.abs(est.expected()[10] - TRUTH.expected_tokens(10)))
    assert err < 0.35 * err0


def test_map_is_the_stationary_point_of_the_objective() -> None:
    est = ShiftAcceptance(PRIOR, strength=3.0, discount=1.0)
    _feed(est, TRUTH, 5, 40, seed=7)

    def objective(d: float) -> float:
        logit = est.logits + d
        c = 1.0 / (1.0 + np.exp(-logit))
        return float(est.successes @ np.log(c) + (est.trials - est.successes) @ np.log1p(-c)) - 1.5 * d * d

    assert objective(est.delta) >= max(objective(est.delta + h) for h in (-1e-3, 1e-3))
    assert objective(est.delta) > objective(0.0)  # control: the prior mean is not the optimum here


def test_censoring_and_discount() -> None:
    est = ShiftAcceptance(PRIOR, strength=1.0, discount=0.5)
    est.observe(5, 2)
    assert est.trials[:6].tolist() == [1, 1, 1, 0, 0, 0] and est.successes[:6].tolist() == [1, 1, 0, 0, 0, 0]
    est.observe(1, 1)
    assert est.trials[:3].tolist() == [1.5, 0.5, 0.5]
    with pytest.raises(ValueError, match="accepted"):
        est.observe(2, 3)
    with pytest.raises(ValueError, match="shift_strength"):
        ShiftAcceptance(PRIOR, strength=0.0)


def _table(prior: AcceptanceProfile):
    return build_table(prior, COSTS, pair="toy", edge_hardware="e", cloud_hardware="c",
                       rtt_grid_ms=(0.0, 1000.0, 1.0))


def test_shift_nasd_picks_the_true_best_k_under_a_wrong_prior() -> None:
    true_k = int(best_k_row(np.array([RTT]), None, TRUTH, COSTS, "corrected", 1, K_MAX)[0])
    true_rate = {k: predicted_rate(k, RTT, None, TRUTH, COSTS) for k in range(1, K_MAX + 1)}
    table = _table(PRIOR)
    assert table.k_for(RTT) > true_k and true_rate[table.k_for(RTT)] < 0.97 * true_rate[true_k]
    runs = {acc: simulate(Nasd(table, cutoff=False, acceptance=acc), TRUTH, COSTS, lambda t: RTT, 3000, seed=1)
            for acc in ("table", "shift")}
    late = list(runs["shift"].ks[-200:-20])
    modal = max(set(late), key=late.count)
    assert true_rate[modal] >= 0.995 * true_rate[true_k]
    assert set(runs["table"].ks[-200:-20]) == {table.k_for(RTT)}  # control: the table never corrects
    assert runs["shift"].tokens_per_s > runs["table"].tokens_per_s


def test_shift_decision_is_arithmetic_and_resets_with_the_link() -> None:
    ctl = Nasd(_table(PRIOR), cutoff=False, acceptance="shift")
    assert not any(hasattr(v, "forward") or callable(getattr(v, "generate", None)) for v in vars(ctl).values())
    k = ctl.next_k(LinkAwareState(0.0, last_rtt_ms=RTT))
    ctl.update(CycleOutcome(k, 0, 1, 300.0, RTT))
    assert isinstance(ctl.online, ShiftAcceptance) and ctl.online.delta < 0
    ctl.reset_link()
    assert ctl.online.delta == 0.0 and ctl.online.trials.sum() == 0


def test_log_records_the_clipped_k_and_the_k_asked() -> None:
    ctl = Nasd(_table(PRIOR), cutoff=False)
    res = simulate(ctl, PRIOR, COSTS, lambda t: RTT, 41, seed=3)
    assert [c.k for c in ctl.log] == list(res.ks)  # the log adds up to what the driver ran
    assert any(c.k_asked > c.k for c in ctl.log)  # the length limit did clip the last cycle
    assert log_totals(ctl.log)["spec_cycles"] == res.cycles and log_totals(ctl.log)["fallback_cycles"] == 0
    # control: a driver that does not say which K it ran leaves the request in the log, which no longer matches
    ctl2 = Nasd(_table(PRIOR), cutoff=False)
    asked = ctl2.next_k(LinkAwareState(0.0, last_rtt_ms=RTT, remaining=3))
    ctl2.update(CycleOutcome(2, 2, 3, 300.0, RTT))
    assert asked > 2 and ctl2.log[-1].k == asked != 2


def _value(rule, a: np.ndarray, cost: np.ndarray, n_max: int) -> np.ndarray:
    """Exact expected time to commit n = 0..n_max tokens when each cycle drafts ``rule(n)``."""
    a1 = np.concatenate([[1.0], a, [0.0]])
    v = np.zeros(n_max + 1)
    for n in range(1, n_max + 1):
        k = rule(n)
        probs = [a1[m] - (a1[m + 1] if m < k else 0.0) for m in range(k + 1)]
        v[n] = cost[k] + sum(p * v[n - 1 - m] for m, p in enumerate(probs))
    return v


def test_horizon_k_minimises_the_expected_time_to_finish_the_query() -> None:
    from jointbench.specdec.nasd_horizon import horizon_k
    from jointbench.specdec.nasd_online import best_k

    a = np.asarray(PRIOR.a)
    fixed = np.array([COSTS.verify_ms[k] + k * COSTS.draft_ms for k in range(K_MAX + 1)])
    for rtt in (0.0, 100.0, 400.0):
        cost = fixed + rtt
        k_star = best_k(np.concatenate([[1.0], 1.0 + np.cumsum(a)]), fixed, rtt, 1, K_MAX)[0]
        dp = _value(lambda n: horizon_k(a, fixed, rtt, n, 1, K_MAX), a, cost, 20)
        clipped = _value(lambda n: max(0, min(k_star, n - 1)), a, cost, 20)  # the rate argmax, clipped by the loop
        assert np.all(dp <= clipped + 1e-9)
        for k in range(1, K_MAX + 1):  # no fixed K does better either
            assert np.all(dp <= _value(lambda n, k=k: max(0, min(k, n - 1)), a, cost, 20) + 1e-9)
        assert np.any(dp < clipped - 1e-6)  # control: the clipped argmax is not optimal at the end


def test_local_posterior_follows_a_shape_the_shift_cannot() -> None:
    # the session's first position is much worse than the calibration's, the others alike: no single shift fits
    c = PRIOR_C.copy()
    c[0] = 0.4
    truth = AcceptanceProfile(tuple(np.cumprod(c)))
    pure, local = ShiftAcceptance(PRIOR, 1.0, 1.0), ShiftAcceptance(PRIOR, 1.0, 1.0, local=5.0)
    for est in (pure, local):
        _feed(est, truth, 6, 3000, seed=5)
    assert abs(local.conditional()[0] - 0.4) < 0.03
    assert abs(pure.conditional()[0] - 0.4) > 0.15  # control: one shift cannot move position 1 alone
    with pytest.raises(ValueError, match="shift_local"):
        ShiftAcceptance(PRIOR, local=-1.0)


def test_horizon_never_asks_for_a_fallback_step_at_the_last_token() -> None:
    from jointbench.specdec.nasd_horizon import horizon_k

    table = _table(PRIOR)
    ctl = Nasd(table, fallback="cloud_only", cutoff_margin=1e-6, acceptance="shift", horizon=True)
    ks = [ctl.next_k(LinkAwareState(0.0, last_rtt_ms=RTT, remaining=r)) for r in (1, 2, 3, 24)]
    assert min(ks) >= 1 and not ctl.in_cutoff  # 0 would be a fallback step, not a clipped verify cycle
    assert ks[1] == 1 and ks[2] <= 2
    # control: the finite-horizon solution itself is K = 0 at the last token (what the loop runs after its clip)
    assert horizon_k(np.asarray(PRIOR.a), ctl._fixed(None), RTT, 1, 1, K_MAX) == 0
