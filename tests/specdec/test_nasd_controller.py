"""NASD controller: K from the table, the cutoff's exact firing rule, hysteresis, probing, logs."""

from __future__ import annotations

import numpy as np
import pytest

from jointbench.netsim.traces import LinkState, StepTrace
from jointbench.specdec.nasd import Nasd
from jointbench.specdec.nasd_rtt import RttEstimator
from jointbench.specdec.nasd_sim import simulate, synthetic_costs, trace_rtt
from jointbench.specdec.nasd_table import AcceptanceProfile, NasdTable, build_table
from jointbench.specdec.nasd_types import CycleOutcome, LinkAwareState, log_fields

K_MAX = 16
ACC = AcceptanceProfile.geometric(0.8, K_MAX)
COSTS = synthetic_costs(k_max=K_MAX)


def _table() -> NasdTable:
    return build_table(ACC, COSTS, pair="toy", edge_hardware="e", cloud_hardware="c",
                       rtt_grid_ms=(0.0, 3000.0, 0.5))


TABLE = _table()
CLOUD_RATE = 1000.0 / COSTS.decode_ms


def _best_rate(rtt: float) -> float:
    return TABLE.rate(TABLE.k_for(rtt), rtt)


def _crossover(level: float) -> float:
    """RTT (ms) at which the best predicted rate falls to ``level`` (bisection on the table)."""
    lo, hi = 0.0, 3000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _best_rate(mid) >= level else (lo, mid)
    return (lo + hi) / 2


def _cycle(ctl: Nasd, t: float, rtt: float | None) -> int:
    k = ctl.next_k(LinkAwareState(t_ms=t))
    if k > 0:
        ctl.update(CycleOutcome(k, 0, 1, 100.0, rtt))
    else:
        ctl.update(CycleOutcome(0, 0, ctl.fallback_tokens, 100.0, None))
    return k


def test_rtt_estimator_follows_rfc6298() -> None:
    est = RttEstimator("srtt")
    est.update(100.0)
    assert (est.srtt, est.rttvar) == (100.0, 50.0)
    est.update(200.0)
    assert est.srtt == pytest.approx(112.5) and est.rttvar == pytest.approx(0.75 * 50 + 0.25 * 100)
    raw = RttEstimator("raw")
    raw.update(100.0)
    raw.update(200.0)
    assert raw.value == 200.0
    med = RttEstimator("median3")
    values = []
    for r in (20.0, 20.0, 600.0, 20.0, 20.0, 200.0, 200.0):
        med.update(r)
        values.append(med.value)
    assert values == [20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 200.0]  # a spike ignored, a step followed after two
    with pytest.raises(ValueError, match="rtt_mode"):
        RttEstimator("ewma")


def test_k_follows_the_table_and_the_first_decision_uses_the_state_rtt() -> None:
    ctl = Nasd(TABLE, rtt_mode="raw", cutoff=False)
    assert ctl.next_k(LinkAwareState(0.0, last_rtt_ms=200.0)) == TABLE.k_for(200.0)
    ctl.update(CycleOutcome(TABLE.k_for(200.0), 2, 3, 300.0, 20.0))
    assert ctl.next_k(LinkAwareState(300.0)) == TABLE.k_for(20.0)


def test_cutoff_fires_exactly_when_its_condition_holds() -> None:
    r_star = _crossover(CLOUD_RATE)
    assert 20.0 < r_star < 200.0
    for rtt, fires in ((r_star - 0.5, False), (r_star + 0.5, True)):
        ctl = Nasd(TABLE, rtt_mode="raw", fallback="cloud_only", enter_after=1)
        _cycle(ctl, 0.0, rtt)
        assert ctl.condition(rtt, None) is fires
        assert (_cycle(ctl, 100.0, rtt) == 0) is fires
    rng = np.random.default_rng(0)
    for _ in range(30):
        ctl = Nasd(TABLE, rtt_mode="raw", fallback="cloud_only", enter_after=1, probe_interval_ms=1e9)
        rtts = rng.uniform(0.0, 1.3 * r_star, 40)
        prev = None
        for i, r in enumerate(rtts):
            k = _cycle(ctl, 100.0 * i, r)
            expected_fire = prev is not None and _best_rate(prev) < CLOUD_RATE
            if expected_fire:
                assert k == 0 and ctl.in_cutoff
                break
            assert k == TABLE.k_for(prev if prev is not None else 0.0) > 0
            prev = r


def test_enter_after_is_a_hysteresis_on_entry_and_srtt_absorbs_one_spike() -> None:
    spike = 3.0 * _crossover(CLOUD_RATE)  # SRTT after one spike from 0 ms: spike / 8, below the crossover
    for mode, enter_after, spike_fires in (("raw", 1, True), ("raw", 2, False), ("srtt", 1, False)):
        ctl = Nasd(TABLE, rtt_mode=mode, fallback="cloud_only", enter_after=enter_after)
        ks = [_cycle(ctl, 100.0 * i, r) for i, r in enumerate([0.0] * 10 + [spike] + [0.0] * 5)]
        assert (0 in ks) is spike_fires, (mode, enter_after)
    # control: a sustained bad link does fire with every setting
    for mode, enter_after in (("raw", 2), ("srtt", 1)):
        ctl = Nasd(TABLE, rtt_mode=mode, fallback="cloud_only", enter_after=enter_after)
        ks = [_cycle(ctl, 100.0 * i, r) for i, r in enumerate([20.0] * 5 + [600.0] * 30)]
        assert 0 in ks


def test_release_needs_release_after_probes_above_the_hysteresis_level() -> None:
    enter, release = CLOUD_RATE, 1.2 * CLOUD_RATE
    r_enter, r_release = _crossover(enter), _crossover(release)
    between = (r_enter + r_release) / 2  # above the enter level, below the release level
    ctl = Nasd(TABLE, rtt_mode="raw", fallback="cloud_only", hysteresis=0.2, release_after=3,
               probe_interval_ms=1000.0)
    _cycle(ctl, 0.0, 500.0)
    t = 100.0
    assert _cycle(ctl, t, 500.0) == 0 and ctl.in_cutoff
    # No probe before the interval; probes at the interval, each a real speculative cycle.
    ks = []
    while t < 5000.0:
        t += 100.0
        ks.append(_cycle(ctl, t, between))
    assert ctl.in_cutoff  # never above the release level: no release, however long
    probes = [c for c in ctl.log if c.probe]
    assert len(probes) == 4 and all(c.k == TABLE.k_for(500.0) or c.k > 0 for c in probes)
    assert sum(1 for k in ks if k > 0) == len(probes)
    # Good probes: re-probe at once and release after exactly release_after of them.
    t += 1000.0
    decisions = []
    for _ in range(3):
        decisions.append(_cycle(ctl, t, r_release - 5.0))
        t += 100.0
    assert all(k > 0 for k in decisions) and not ctl.in_cutoff
    assert [c.probe for c in ctl.log[-3:]] == [True, True, True]
    # Control: with release_after=4 the same three probes would not have released it.
    ctl4 = Nasd(TABLE, rtt_mode="raw", fallback="cloud_only", hysteresis=0.2, release_after=4)
    _cycle(ctl4, 0.0, 500.0)
    _cycle(ctl4, 100.0, 500.0)
    for i in range(3):
        _cycle(ctl4, 2000.0 + 100.0 * i, r_release - 5.0)
    assert ctl4.in_cutoff


def _step_trace(levels: list[tuple[float, float]]) -> StepTrace:
    return StepTrace(tuple(a for a, _ in levels), tuple(LinkState(r, np.inf, np.inf) for _, r in levels))


@pytest.mark.parametrize("mode", ["raw", "srtt"])
def test_probing_resumes_speculation_when_the_link_recovers(mode: str) -> None:
    trace = _step_trace([(0.0, 20.0), (5000.0, 800.0), (15000.0, 20.0)])

    def run(probe_interval_ms: float) -> tuple[Nasd, list[tuple[float, int]]]:
        ctl = Nasd(TABLE, rtt_mode=mode, fallback="cloud_only", probe_interval_ms=probe_interval_ms)
        simulate(ctl, ACC, COSTS, trace_rtt(trace), 3000, fallback="cloud_only", seed=3)
        return ctl, [(c.t_ms, c.k) for c in ctl.log]

    ctl, decisions = run(2000.0)
    bad = [k for t, k in decisions if 6000.0 <= t < 15000.0]
    assert bad.count(0) > 0.6 * len(bad)  # in cutoff while the link is bad, probing now and then
    assert 0 < len([k for k in bad if k > 0]) <= 9000.0 / 2000.0 + 1
    # Speculating again after recovery: from the first probe that sees the good link (at most a
    # probe interval after the last bad probe ended) every cycle is a probe until the release.
    late = [k for t, k in decisions if t >= 15000.0 + 1100.0 + 2000.0]
    assert late and all(k > 0 for k in late)
    released = [c.t_ms for c in ctl.log if c.t_ms >= 15000.0 and not c.cutoff]
    assert released  # the cutoff itself releases too (SRTT takes ~20 probes to forget 800 ms)
    # Control: without probing (interval beyond the run) it never resumes.
    _, never = run(1e12)
    assert all(k == 0 for t, k in never if t >= 15000.0)


def test_edge_only_fallback_with_margin_one_fires_at_any_rtt_when_the_draft_is_faster() -> None:
    # 1/t_draft = 66.7 tok/s beats the best speculative rate (< 30 tok/s) even at RTT 0.
    assert TABLE.fallback_rate("edge_only") > _best_rate(0.0)
    ctl = Nasd(TABLE, rtt_mode="raw", fallback="edge_only")
    assert _cycle(ctl, 0.0, 0.0) == 0 and ctl.lossy
    margin = 0.5 * _best_rate(100.0) / TABLE.fallback_rate("edge_only")
    ctl = Nasd(TABLE, rtt_mode="raw", fallback="edge_only", cutoff_margin=margin)
    assert _cycle(ctl, 0.0, 0.0) > 0 and not ctl.lossy


@pytest.mark.parametrize("fallback", ["edge_only", "cloud_only"])
def test_per_cycle_logs_add_up_to_the_run_totals(fallback: str) -> None:
    trace = _step_trace([(0.0, 30.0), (3000.0, 400.0), (6000.0, 10.0), (9000.0, 250.0), (12000.0, 40.0)])
    margin = 1.0 if fallback == "cloud_only" else 0.3
    ctl = Nasd(TABLE, rtt_mode="srtt", fallback=fallback, cutoff_margin=margin, probe_interval_ms=400.0)
    res = simulate(ctl, ACC, COSTS, trace_rtt(trace), 1500, jitter_ms=10.0, fallback=fallback, seed=7)
    tot = ctl.totals()
    assert res.fallback_cycles > 0 and res.cycles - res.fallback_cycles > 0  # both kinds happened
    assert tot["cycles"] == res.cycles and tot["fallback_cycles"] == res.fallback_cycles
    assert tot["committed"] == res.tokens == 1500
    assert (tot["drafted"], tot["accepted"]) == (res.drafted, res.accepted)
    assert tot["time_ms"] == pytest.approx(res.time_ms) and tot["network_ms"] == pytest.approx(res.network_ms)
    assert tot["overhead_share"] == pytest.approx(res.network_ms / res.time_ms)
    assert tot["tokens_per_s"] == pytest.approx(res.tokens_per_s)
    done, clipped = 0, []
    for c in ctl.log:  # the driver clips K to the tokens left, as the loop will
        clipped.append(min(c.k, 1500 - done - 1, K_MAX))
        done += c.committed
    assert clipped == list(res.ks)
    for c in ctl.log:
        assert c.overhead_share == pytest.approx(c.network_ms / c.cycle_ms)
        assert (c.k == 0) == (c.drafted == 0 and c.network_ms == 0.0)
    fields = log_fields(ctl.log)
    assert fields["nasd_cutoff_triggered"] and len(fields["nasd_k_per_cycle"]) == res.cycles
    rates = [r for r in fields["acceptance_rate_per_cycle"] if r is not None]
    assert len(rates) == res.cycles - res.fallback_cycles and all(0.0 <= r <= 1.0 for r in rates)
    # per-query reset: the log restarts, the link estimate carries over
    srtt = ctl.rtt.value
    ctl.reset()
    assert ctl.log == [] and ctl.rtt.value == srtt


def test_constructor_validates_and_names_the_key() -> None:
    for kwargs, key in (({"rtt_mode": "x"}, "rtt_mode"), ({"fallback": "x"}, "fallback"),
                        ({"enter_after": 0}, "enter_after"), ({"hysteresis": -1.0}, "hysteresis"),
                        ({"probe_interval_ms": 0.0}, "probe_interval_ms"), ({"cutoff": "yes"}, "cutoff")):
        with pytest.raises(ValueError, match=key):
            Nasd(TABLE, **kwargs)
    with pytest.raises(RuntimeError, match="next_k"):
        Nasd(TABLE).update(CycleOutcome(1, 0, 1, 10.0, 5.0))


@pytest.mark.parametrize("stream_rtt", [True, False])
def test_stream_rtt_releases_the_cloud_cutoff_without_a_probe(stream_rtt: bool) -> None:
    # cutoff at a long RTT (cloud-only faster), then the stream shows a short one: with stream_rtt the
    # controller releases after release_after good samples; without it (control) it waits for a probe
    ctl = Nasd(TABLE, rtt_mode="raw", fallback="cloud_only", release_after=2, probe_interval_ms=1e9,
               stream_rtt=stream_rtt)
    assert ctl.next_k(LinkAwareState(0.0, last_rtt_ms=5000.0)) == 0 and ctl.in_cutoff
    for t in (100.0, 200.0):
        ctl.update(CycleOutcome(0, 0, 8, 100.0, None, stream_rtt_ms=5.0))
        ctl.next_k(LinkAwareState(t))
    assert ctl.in_cutoff is not stream_rtt
    assert (ctl.rtt.value == 5.0) is stream_rtt
