"""Virtual clock, timeline (TTFT, per-token times, network share) and hardware profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

from jointbench.netsim import (
    HardwareProfile,
    Link,
    LinkConfig,
    Timeline,
    VirtualClock,
    load_hardware_profiles,
)
from jointbench.netsim.hardware import hardware_profile
from jointbench.records import RECORD_FIELDS

LINK = LinkConfig(rtt_ms=50.0, uplink_bandwidth_mbps=10.0, downlink_bandwidth_mbps=40.0)


def test_virtual_clock() -> None:
    clock = VirtualClock(5.0)
    assert clock.advance(10.0) == 15.0
    assert clock.advance_to(12.0) == 15.0
    assert clock.advance_to(20.0) == 20.0
    with pytest.raises(ValueError):
        clock.advance(-1.0)


def test_sequential_timeline() -> None:
    tl = Timeline(Link(LINK))
    tl.compute("edge", 12.0, stage="prefill")
    tl.emit(1)  # first token from the edge at 12 ms
    tl.compute("edge", 8.0, stage="draft")
    up = tl.send("up", 1220, kind="draft")  # 1260 B -> 1.008 ms at 10 Mbit/s
    tl.compute("cloud", 30.0, stage="verify")
    down = tl.send("down", 460, kind="verdict")  # 500 B -> 0.1 ms at 40 Mbit/s
    tl.emit(3)
    assert up.delay_ms == pytest.approx(26.008) and down.delay_ms == pytest.approx(25.1)
    assert tl.latency_ms == pytest.approx(12 + 8 + 26.008 + 30 + 25.1)
    assert tl.ttft_ms == 12.0
    assert tl.token_times_ms == pytest.approx([12.0, 101.108, 101.108, 101.108])
    assert tl.inter_token_ms == pytest.approx([89.108, 0.0, 0.0])
    assert tl.edge_compute_ms == 20.0 and tl.cloud_compute_ms == 30.0
    assert tl.network_ms == pytest.approx(51.108)
    assert tl.latency_ms == pytest.approx(tl.edge_compute_ms + tl.cloud_compute_ms + tl.network_ms)
    assert tl.network_share == pytest.approx(51.108 / 101.108)


def test_start_offset_and_wait() -> None:
    tl = Timeline(Link(LINK), start_ms=1000.0)
    tl.wait(5.0)
    tl.emit()
    assert tl.ttft_ms == 5.0 and tl.latency_ms == 5.0 and tl.network_ms == 0.0


def test_overlapping_network_is_not_exposed() -> None:
    tl = Timeline(Link(LinkConfig(rtt_ms=20.0)))
    tl.send("up", 0, kind="draft")  # [0, 10]
    tl.compute("edge", 15.0, stage="draft", at_ms=0.0)  # [0, 15] hides the uplink
    tl.send("down", 0, kind="verdict")  # [15, 25]
    assert tl.latency_ms == 25.0
    assert tl.network_ms == 10.0
    assert tl.tally.network_ms == 20.0  # the plain sum of exchange delays


def test_record_fields_match_sample_record() -> None:
    tl = Timeline(Link(LINK))
    tl.compute("edge", 1.0)
    tl.request_response(100, 10, server_compute_ms=4.0)
    tl.emit(2)
    fields = tl.record_fields()
    assert set(fields) <= RECORD_FIELDS
    assert fields["bytes_up"] == 140 and fields["bytes_down"] == 50
    assert fields["tokens_out"] == 2 and len(fields["exchanges"]) == 2
    assert fields["cloud_compute_ms"] == 4.0


class FakeTimer:
    def __init__(self, *readings: float) -> None:
        self.readings = list(readings)

    def __call__(self) -> float:
        return self.readings.pop(0)


def test_measure_scales_by_profile() -> None:
    edge = HardwareProfile("board", scale=4.0)
    tl = Timeline(edge=edge, timer=FakeTimer(1.000, 1.010, 2.0, 2.002))
    with tl.measure("edge", stage="draft"):
        pass
    with tl.measure("cloud", stage="verify"):
        pass
    assert tl.edge_compute_ms == pytest.approx(40.0)
    assert tl.cloud_compute_ms == pytest.approx(2.0)
    assert [e.stage for e in tl.events] == ["draft", "verify"]


def test_send_without_link() -> None:
    with pytest.raises(ValueError, match="no link"):
        Timeline().send("up", 1)


def test_compute_validation() -> None:
    tl = Timeline()
    with pytest.raises(ValueError, match="where"):
        tl.compute("phone", 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="compute time"):
        tl.compute("edge", -1.0)


def test_hardware_profiles_file() -> None:
    profiles = load_hardware_profiles()
    assert profiles["this-cpu"].scale == 1.0
    assert any(p.scale > 1.0 for p in profiles.values())  # a slower edge board
    gpu = profiles["cloud-gpu-7b"]
    assert gpu.verify_ms(4) == pytest.approx(gpu.verify_base_ms + 4 * gpu.verify_ms_per_token)
    assert gpu.prefill_ms(100) == pytest.approx(
        gpu.prefill_base_ms + 100 * gpu.prefill_ms_per_token
    )
    assert gpu.decode_ms(3) == pytest.approx(3 * gpu.decode_ms_per_token)


def test_cost_model_arithmetic_and_missing_fields() -> None:
    hp = HardwareProfile("x", verify_base_ms=10.0, verify_ms_per_token=2.0)
    assert hp.verify_ms(0) == 10.0 and hp.verify_ms(5) == 20.0
    assert hp.scaled_ms(3.0) == 3.0
    with pytest.raises(ValueError, match="'x' has no decode_ms_per_token"):
        hp.decode_ms(1)
    with pytest.raises(ValueError, match="scale"):
        HardwareProfile("y", scale=0.0)


def test_unknown_hardware_profile() -> None:
    with pytest.raises(ValueError, match=r"available: .*this-cpu"):
        hardware_profile("tpu-v9")


def test_bad_hardware_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "hardware_profiles.yaml"
    path.write_text("version: 1\nprofiles:\n  a: {scale: 2, flops: 3}\n")
    with pytest.raises(ValueError, match="unknown field 'flops'") as err:
        load_hardware_profiles(path)
    assert str(path) in str(err.value)
    path.write_text("version: 1\nprofiles:\n  a: {scale: -2}\n")
    with pytest.raises(ValueError, match="scale=-2"):
        load_hardware_profiles(path)
