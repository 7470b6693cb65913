"""Time-varying links: step, oscillating and Markov traces, bandwidth integration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointbench.netsim import Link, LinkConfig, Timeline, parse_trace_spec
from jointbench.netsim.traces import LinkState, StepTrace, transfer_ms

STEP = {
    "type": "step",
    "steps": [
        {"at_ms": 1000, "rtt_ms": 200, "uplink_bandwidth_mbps": 4},
        {"at_ms": 3000, "rtt_ms": 20},
    ],
}


def _link(trace: object, **kw: object) -> Link:
    return Link(
        LinkConfig(
            rtt_ms=20.0,
            uplink_bandwidth_mbps=8.0,
            downlink_bandwidth_mbps=8.0,
            trace=parse_trace_spec(trace),
            **kw,
        )
    )  # type: ignore[arg-type]


def test_stable_trace_is_none() -> None:
    assert parse_trace_spec(None) is None
    assert parse_trace_spec("stable") is None
    assert parse_trace_spec({"type": "stable"}) is None


def test_step_trace_changes_over_time() -> None:
    link = _link(STEP)
    assert link.state_at(0.0) == LinkState(20.0, 8.0, 8.0)
    assert link.state_at(999.9) == LinkState(20.0, 8.0, 8.0)
    assert link.state_at(1000.0) == LinkState(200.0, 4.0, 8.0)
    # a step leaves out a field -> the previous step's value holds
    assert link.state_at(5000.0) == LinkState(20.0, 4.0, 8.0)
    assert link.send("up", 0, t_ms=10.0).propagation_ms == 10.0
    assert link.send("up", 0, t_ms=1500.0).propagation_ms == 100.0


def test_bandwidth_is_integrated_across_a_step() -> None:
    link = _link(STEP)
    # 14600 B payload -> 10 segments -> 15000 wire bytes = 120000 bit;
    # 10 ms at 8 Mbit/s (80000 bit) then 40000 bit at 4 Mbit/s (10 ms)
    ex = link.send("up", 14_600, t_ms=990.0)
    assert ex.bytes == 15_000
    assert ex.serialisation_ms == pytest.approx(20.0, abs=1e-9)
    # propagation and bandwidth are taken at the send time
    assert (ex.rtt_ms, ex.bandwidth_mbps) == (20.0, 8.0)


def test_transfer_over_many_pieces() -> None:
    trace = StepTrace(
        tuple(float(t) for t in range(0, 100, 10)),
        tuple(LinkState(0.0, 1.0 + (i % 2), 1.0) for i in range(10)),
    )
    # alternating 1 and 2 Mbit/s every 10 ms: 30000 bit take 20 ms (10000 + 20000)
    assert transfer_ms(trace, "up", 30_000, 0.0) == pytest.approx(20.0)
    assert transfer_ms(trace, "up", 0, 5.0) == 0.0


def test_oscillating_trace_with_spikes() -> None:
    link = _link(
        {
            "type": "oscillating",
            "rtt_ms": [10, 200],
            "period_ms": 4000,
            "spike_rtt_ms": 600,
            "spike_every_ms": 10_000,
            "spike_duration_ms": 150,
        }
    )
    assert link.state_at(0.0).rtt_ms == 10.0
    assert link.state_at(1999.0).rtt_ms == 10.0
    assert link.state_at(2000.0).rtt_ms == 200.0
    assert link.state_at(4100.0).rtt_ms == 10.0
    # spikes start at half the spike period (5000 ms), then every 10 s
    assert link.state_at(5000.0).rtt_ms == 600.0
    assert link.state_at(5149.0).rtt_ms == 600.0
    assert link.state_at(5150.0).rtt_ms == 10.0
    assert link.state_at(15_100.0).rtt_ms == 600.0
    assert link.trace.next_change_ms(4100.0) == 5000.0
    assert link.trace.next_change_ms(5000.0) == 5150.0
    assert link.trace.next_change_ms(5150.0) == 6000.0


def test_oscillating_bandwidth_pair() -> None:
    link = _link({"type": "oscillating", "uplink_bandwidth_mbps": [8, 2], "period_ms": 100})
    assert link.state_at(10.0).uplink_bandwidth_mbps == 8.0
    assert link.state_at(60.0).uplink_bandwidth_mbps == 2.0
    # from t=10: 40 ms at 8 Mbit/s = 320000 bit, then 20000 bit at 2 Mbit/s = 10 ms
    assert transfer_ms(link.trace, "up", 320_000 + 20_000, 10.0) == pytest.approx(50.0)


def test_markov_trace_two_states_and_switch_rate() -> None:
    link = _link(
        {"type": "markov", "uplink_bandwidth_mbps": [2, 6], "switch_prob": 0.5, "dwell_ms": 100},
        seed=9,
    )
    steps = 10_000
    rates = np.array([link.state_at(100.0 * k + 50).uplink_bandwidth_mbps for k in range(steps)])
    assert set(rates.tolist()) == {2.0, 6.0}
    assert rates[0] == 2.0  # initial_state 0
    switches = (rates[1:] != rates[:-1]).mean()
    assert abs(switches - 0.5) <= 5 * math.sqrt(0.25 / steps)
    # constant within a dwell period
    assert link.state_at(1234.0) == link.state_at(1299.9)


def test_markov_asymmetric_stationary_share() -> None:
    # leave state 0 w.p. 0.1, state 1 w.p. 0.3 -> stationary P(state 1) = 0.1 / 0.4 = 0.25
    link = _link({"type": "markov", "uplink_bandwidth_mbps": [2, 6], "switch_prob": [0.1, 0.3]})
    rates = np.array([link.state_at(100.0 * k).uplink_bandwidth_mbps for k in range(40_000)])
    assert abs((rates == 6.0).mean() - 0.25) < 0.03


def test_markov_is_seeded_and_order_independent() -> None:
    spec = {"type": "markov", "uplink_bandwidth_mbps": [2, 6], "rtt_ms": [20, 80]}
    a, b, c = _link(spec, seed=1), _link(spec, seed=1), _link(spec, seed=2)
    times = [100.0 * k for k in range(3000)]
    b.state_at(299_950.0)  # query the far end first
    seq_a = [a.state_at(t) for t in times]
    assert seq_a == [b.state_at(t) for t in times]
    assert seq_a != [c.state_at(t) for t in times]


def test_named_markov_trace_is_qs_sd_chain() -> None:
    spec = parse_trace_spec("markov")
    assert spec is not None and spec.to_dict()["uplink_bandwidth_mbps"] == [2.0, 6.0]


def test_long_generation_sees_the_link_change() -> None:
    link = Link(
        LinkConfig(
            rtt_ms=20.0,
            uplink_bandwidth_mbps=6.0,
            downlink_bandwidth_mbps=20.0,
            trace=parse_trace_spec({"type": "markov", "uplink_bandwidth_mbps": [2, 6]}),
            seed=3,
        )
    )
    tl = Timeline(link)
    rates = set()
    for _ in range(100):  # 100 draft/verify cycles, ~3 s of virtual time
        tl.compute("edge", 5.0, stage="draft")
        rates.add(tl.send("up", 64, kind="draft").bandwidth_mbps)
        tl.compute("cloud", 3.0, stage="verify")
        tl.send("down", 8, kind="verdict")
    assert tl.now_ms > 2000.0
    assert rates == {2.0, 6.0}


@pytest.mark.parametrize(
    "spec, match",
    [
        ({"type": "wave"}, r"network_trace\.type='wave'.*valid types"),
        ({"type": "markov"}, r"network_trace: a markov trace needs"),
        ({"type": "markov", "uplink_bandwidth_mbps": [2]}, r"network_trace\.uplink_bandwidth_mbps"),
        ({"type": "markov", "uplink_bandwidth_mbps": [2, 0]}, r"uplink_bandwidth_mbps\[1\]=0"),
        ({"type": "markov", "uplink_bandwidth_mbps": [2, 6], "switch_prob": 1.5}, r"switch_prob"),
        (
            {"type": "markov", "uplink_mbps": [2, 6]},
            r"network_trace\.uplink_mbps: unknown trace field",
        ),
        ({"type": "step", "steps": []}, r"network_trace\.steps"),
        (
            {"type": "step", "steps": [{"at_ms": 5, "rtt_ms": 1}, {"at_ms": 5, "rtt_ms": 2}]},
            r"network_trace\.steps\[1\]\.at_ms=5.*increasing",
        ),
        ({"type": "step", "steps": [{"at_ms": 0, "rtt_ms": -1}]}, r"steps\[0\]\.rtt_ms=-1"),
        ({"type": "oscillating", "rtt_ms": [1, 2]}, r"network_trace\.period_ms: required"),
        ({"type": "oscillating", "period_ms": 10, "spike_rtt_ms": 5}, r"spike_every_ms: required"),
        ("bumpy", r"network_trace='bumpy': unknown trace name"),
        (42, r"network_trace=42"),
    ],
)
def test_trace_validation_names_the_key(spec: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        parse_trace_spec(spec)


def test_negative_time_rejected() -> None:
    with pytest.raises(ValueError, match="t_ms"):
        _link(STEP).state_at(-1.0)


def test_link_config_accepts_yaml_form_of_trace() -> None:
    cfg = LinkConfig(rtt_ms=5.0, trace={"type": "step", "steps": [{"at_ms": 10, "rtt_ms": 50}]})
    assert Link(cfg).state_at(20.0).rtt_ms == 50.0
    assert LinkConfig(trace="stable").trace is None
    with pytest.raises(ValueError, match=r"network_trace\.type"):
        LinkConfig(trace={"type": "zigzag"})
