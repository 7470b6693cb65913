"""request_response, the per-sample tally, payload sizes, and real-time mode on a fake clock."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from jointbench.netsim import (
    Link,
    LinkConfig,
    NetworkTally,
    RealtimeLink,
    array_bytes,
    request_response,
    text_bytes,
    token_bytes,
)
from jointbench.records import SampleRecord

CFG = LinkConfig(rtt_ms=60.0, uplink_bandwidth_mbps=10.0, downlink_bandwidth_mbps=40.0)


def test_request_response_numbers() -> None:
    rr = request_response(
        Link(CFG), up_bytes=1200, down_bytes=40, t_start_ms=100.0, server_compute_ms=35.0
    )
    up, down = 30.0 + 1240 * 8 / 10_000, 30.0 + 80 * 8 / 40_000
    assert rr.network_ms == pytest.approx(up + down)
    assert rr.total_ms == pytest.approx(up + 35.0 + down)
    assert rr.t_end_ms == pytest.approx(100.0 + up + 35.0 + down)
    assert (rr.bytes_up, rr.bytes_down, rr.retransmissions) == (1240, 80, 0)
    assert [e["direction"] for e in rr.exchanges] == ["up", "down"]
    assert [e["kind"] for e in rr.exchanges] == ["prompt", "answer"]
    assert rr.down.send_ms == pytest.approx(rr.up.arrival_ms + 35.0)
    assert rr.to_dict()["total_ms"] == rr.total_ms


def test_request_response_rejects_negative_compute() -> None:
    with pytest.raises(ValueError, match="server_compute_ms"):
        request_response(Link(CFG), 1, 1, server_compute_ms=-1.0)


def test_tally_feeds_sample_record() -> None:
    link = Link(LinkConfig(rtt_ms=20.0, loss_pct=30.0, seed=2))
    tally = NetworkTally()
    for _ in range(20):
        rr = request_response(link, 3000, 100)
        tally.extend([rr.up, rr.down])
    fields = tally.to_record_fields()
    assert fields["bytes_up"] == 20 * (3000 + 3 * 40)
    assert fields["bytes_down"] == 20 * 140
    assert fields["retransmissions"] == sum(e["retransmissions"] for e in fields["exchanges"]) > 0
    assert fields["network_ms"] == pytest.approx(sum(e["delay_ms"] for e in fields["exchanges"]))
    record = SampleRecord(sample_id="q1", **fields)
    assert record.to_dict()["bytes_up"] == fields["bytes_up"]


def test_text_and_token_bytes() -> None:
    assert text_bytes("hello") == 5
    assert text_bytes("héllo") == 6
    assert text_bytes("日本") == 6
    assert text_bytes("🙂") == 4
    assert token_bytes([1, 2, 3]) == 12
    assert token_bytes(5) == 20
    assert token_bytes(np.arange(7)) == 28
    assert token_bytes([1, 2], bytes_per_id=8) == 16
    assert array_bytes(np.zeros((3, 4), dtype=np.float16)) == 24
    with pytest.raises(TypeError):
        text_bytes(b"bytes")  # type: ignore[arg-type]


def test_token_bytes_torch() -> None:
    torch = pytest.importorskip("torch")
    assert token_bytes(torch.tensor([[1, 2, 3]])) == 12
    assert array_bytes(torch.zeros(5, dtype=torch.float32)) == 20


class FakeClock:
    """A wall clock that only moves when slept on."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def timer(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.sleeps.append(s)
        self.t += s


def test_realtime_send_waits_until_arrival() -> None:
    clock = FakeClock()
    rt = RealtimeLink(Link(CFG), spin_ms=0.0, timer=clock.timer, sleep=clock.sleep)
    ex = rt.send("up", 1200, kind="prompt")
    assert ex.send_ms == 0.0
    assert clock.t * 1e3 == pytest.approx(ex.arrival_ms)
    # a scheduled send first waits for its time
    ex2 = rt.send("down", 40, t_ms=100.0)
    assert ex2.send_ms == pytest.approx(100.0)
    assert clock.t * 1e3 == pytest.approx(ex2.arrival_ms)


def test_realtime_request_response_plays_the_virtual_schedule() -> None:
    clock = FakeClock()
    rt = RealtimeLink(Link(CFG), spin_ms=0.0, timer=clock.timer, sleep=clock.sleep)
    rr = request_response(rt, 1200, 40, server_compute_ms=35.0)
    virtual = request_response(Link(CFG), 1200, 40, server_compute_ms=35.0)
    assert rr.total_ms == pytest.approx(virtual.total_ms)
    assert clock.t * 1e3 == pytest.approx(virtual.total_ms)


def test_realtime_transmit_paces_segments() -> None:
    clock = FakeClock()
    rt = RealtimeLink(Link(CFG), spin_ms=0.0, timer=clock.timer, sleep=clock.sleep)
    got: list[tuple[bytes, float]] = []
    payload = bytes(range(256)) * 40  # 10240 B -> 8 segments
    ex = rt.transmit("up", payload, on_segment=lambda c, t: got.append((c, t)))
    assert b"".join(c for c, _ in got) == payload
    times = [t for _, t in got]
    assert len(times) == ex.segments == 8
    assert all(b > a for a, b in itertools.pairwise(times))
    assert times[0] == pytest.approx(30.0 + ex.serialisation_ms * 1500 / ex.bytes)
    assert times[-1] == pytest.approx(ex.arrival_ms)
