"""Serialisation, propagation, headers and segmentation of a single message."""

from __future__ import annotations

import math

import pytest

from jointbench.netsim import Link, LinkConfig


@pytest.mark.parametrize("mbps, expected_ms", [(1.0, 9.92), (10.0, 0.992), (100.0, 0.0992)])
def test_serialisation_exact_at_1_10_100_mbps(mbps: float, expected_ms: float) -> None:
    link = Link(LinkConfig(uplink_bandwidth_mbps=mbps, downlink_bandwidth_mbps=mbps))
    for direction in ("up", "down"):
        ex = link.send(direction, 1200, kind="prompt")
        # 1200 B payload + one 40 B TCP/IP header = 1240 B = 9920 bit
        assert ex.bytes == 1240
        assert ex.serialisation_ms == pytest.approx(expected_ms, abs=1e-12)
        assert ex.delay_ms == pytest.approx(expected_ms, abs=1e-12)


def test_directions_use_their_own_bandwidth() -> None:
    link = Link(LinkConfig(uplink_bandwidth_mbps=2.0, downlink_bandwidth_mbps=8.0))
    up, down = link.send("up", 960), link.send("down", 960)
    assert up.serialisation_ms == pytest.approx(1000 * 8 / 2000, abs=1e-12)
    assert down.serialisation_ms == pytest.approx(1000 * 8 / 8000, abs=1e-12)


def test_segmentation_and_headers() -> None:
    link = Link(LinkConfig(uplink_bandwidth_mbps=10.0))
    ex = link.send("up", 10_000)
    # ceil(10000 / 1460) = 7 segments, one 40 B header each
    assert ex.segments == 7
    assert ex.bytes == 10_000 + 7 * 40
    assert ex.serialisation_ms == pytest.approx(10_280 * 8 / 10_000, abs=1e-12)
    assert ex.payload_bytes == 10_000


def test_framing_is_per_message_before_segmentation() -> None:
    link = Link(LinkConfig(framing_bytes=8, header_bytes=40, mss_bytes=1460))
    ex = link.send("up", 1460)  # 1468 B of stream -> 2 segments
    assert ex.segments == 2
    assert ex.bytes == 1460 + 8 + 2 * 40


def test_empty_message_is_one_header_only_segment() -> None:
    ex = Link(LinkConfig(uplink_bandwidth_mbps=1.0)).send("up", 0)
    assert (ex.segments, ex.bytes) == (1, 40)


def test_custom_mss_and_header() -> None:
    ex = Link(LinkConfig(mss_bytes=1000, header_bytes=66)).send("down", 2500)
    assert (ex.segments, ex.bytes) == (3, 2500 + 3 * 66)


def test_propagation_is_half_rtt_per_direction() -> None:
    link = Link(LinkConfig(rtt_ms=80.0))
    up, down = link.send("up", 100), link.send("down", 100)
    assert up.propagation_ms == 40.0 and down.propagation_ms == 40.0
    assert up.rtt_ms == 80.0


def test_uplink_ratio_splits_rtt() -> None:
    link = Link(LinkConfig(rtt_ms=100.0, uplink_ratio=0.25))
    assert link.send("up", 1).propagation_ms == pytest.approx(25.0)
    assert link.send("down", 1).propagation_ms == pytest.approx(75.0)


def test_delay_is_sum_of_parts_and_arrival_is_send_plus_delay() -> None:
    link = Link(
        LinkConfig(
            rtt_ms=50.0,
            uplink_bandwidth_mbps=5.0,
            jitter_ms=3.0,
            jitter_dist="gauss",
            loss_pct=20.0,
            seed=11,
        )
    )
    for i in range(200):
        ex = link.send("up", 5000, t_ms=10.0 * i)
        parts = ex.propagation_ms + ex.serialisation_ms + ex.jitter_ms + ex.retransmission_ms
        assert ex.delay_ms == parts
        assert ex.arrival_ms == pytest.approx(ex.send_ms + ex.delay_ms, abs=1e-9)
        assert ex.delay_ms >= 0.0


def test_default_link_is_ideal() -> None:
    ex = Link().send("up", 10**6)
    assert ex.delay_ms == 0.0 and ex.retransmissions == 0
    assert ex.to_dict()["bandwidth_mbps"] is None  # inf is not JSON


def test_expected_delay_draws_nothing() -> None:
    cfg = LinkConfig(rtt_ms=30.0, uplink_bandwidth_mbps=10.0, jitter_ms=5.0, seed=4)
    a, b = Link(cfg), Link(cfg)
    assert a.expected_delay_ms("up", 1200) == pytest.approx(15.0 + 0.992)
    assert a.send("up", 1200) == b.send("up", 1200)


def test_exchange_dict_has_record_fields() -> None:
    d = Link(LinkConfig(rtt_ms=10.0)).send("down", 20, kind="verdict").to_dict()
    for key in (
        "direction",
        "kind",
        "bytes",
        "propagation_ms",
        "serialisation_ms",
        "jitter_ms",
        "retransmission_ms",
        "retransmissions",
        "segments",
        "send_ms",
        "arrival_ms",
        "delay_ms",
    ):
        assert key in d
    assert d["direction"] == "down" and d["kind"] == "verdict"


@pytest.mark.parametrize("direction", ["uplink", "UP", ""])
def test_bad_direction(direction: str) -> None:
    with pytest.raises(ValueError, match="direction"):
        Link().send(direction, 1)  # type: ignore[arg-type]


@pytest.mark.parametrize("nbytes", [-1, 1.5, "x", True])
def test_bad_nbytes(nbytes: object) -> None:
    with pytest.raises(ValueError, match="nbytes"):
        Link().send("up", nbytes)  # type: ignore[arg-type]


@pytest.mark.parametrize("t_ms", [-1.0, math.nan, math.inf])
def test_bad_send_time(t_ms: float) -> None:
    with pytest.raises(ValueError, match="t_ms"):
        Link().send("up", 1, t_ms=t_ms)


@pytest.mark.parametrize("bandwidth", [8.0, float("inf")])
def test_exchange_dict_equals_asdict(bandwidth: float) -> None:
    import dataclasses

    ex = Link(LinkConfig(rtt_ms=12.0, uplink_bandwidth_mbps=bandwidth, jitter_ms=2.0, loss_pct=5.0,
                         seed=3)).send("up", 4000, kind="prompt")
    want = dataclasses.asdict(ex)
    want["delay_ms"] = ex.delay_ms
    if math.isinf(want["bandwidth_mbps"]):
        want["bandwidth_mbps"] = None
    got = ex.to_dict()
    assert list(got.items()) == list(want.items())  # same keys, same order, same values
    got["bytes"] += 1  # a fresh dict: the exchange is untouched (control: it now differs)
    assert ex.bytes == want["bytes"] and list(got.items()) != list(want.items())
