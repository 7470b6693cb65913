"""Timeline arithmetic of the strategies on hand-computable cases."""

from __future__ import annotations

import pytest

from jointbench.netsim import HardwareProfile, Link, LinkConfig
from jointbench.specdec import FixedK
from jointbench.specdec.calibrate import Calibration
from jointbench.specdec.compute import ComputeModel
from jointbench.specdec.loop import run_query
from jointbench.specdec.payload import prompt_bytes
from jointbench.specdec.placement import Cycle
from jointbench.specdec.sources import TokenSource
from jointbench.specdec.strategy import Strategy


class _Cycles:
    """Given cycles, whatever K is asked."""

    def __init__(self, n_prompt, cycles):
        self.n_prompt, self.cycles = n_prompt, list(cycles)

    @property
    def done(self):
        return not self.cycles

    def next_cycle(self, k):
        return self.cycles.pop(0)


def _timeline(name, n_prompt, cycles, comp, link=None):
    strategy = Strategy.build(name, FixedK(2))
    if strategy.speculative:
        source = _Cycles(n_prompt, cycles)
        limit = 64
    else:
        source, limit = TokenSource(n_prompt, list(range(cycles))), cycles
    return run_query(strategy, source, comp, link, limit).timeline


def edge_cloud_timeline(n, cycles, comp, link):
    return _timeline("edge_cloud", n, cycles, comp, link)


def colocated_timeline(n, cycles, comp, link):
    return _timeline("colocated", n, cycles, comp, link)


def cloud_only_timeline(n, tokens, comp, link):
    return _timeline("cloud_only", n, tokens, comp, link)


def edge_only_timeline(n, tokens, comp):
    return _timeline("edge_only", n, tokens, comp)


def _compute(prefill_target=0.0, prefill_draft=0.0, draft=0.0, verify=None, edge_scale=1.0, cloud_scale=1.0):
    cal = Calibration({16: prefill_target}, {16: prefill_draft}, draft, verify or {0: 0.0}, 0, 1, 1)
    return ComputeModel(cal, HardwareProfile("e", scale=edge_scale), HardwareProfile("c", scale=cloud_scale))


def _link(rtt=100.0, bw=float("inf")):
    return Link(LinkConfig(rtt_ms=rtt, uplink_bandwidth_mbps=bw, downlink_bandwidth_mbps=bw))


CYCLES = [Cycle(2, 2, 2, (5, 6, 7), 16), Cycle(2, 2, 0, (8,), 16), Cycle(1, 1, 1, (9, 10), 12)]


def test_zero_compute_edge_cloud_costs_one_rtt_per_cycle():
    tl = edge_cloud_timeline(10, CYCLES, _compute(), _link(100.0))
    assert tl.ttft_ms == pytest.approx(100.0)
    assert tl.latency_ms == pytest.approx(300.0)
    assert tl.token_times_ms == pytest.approx([100.0] * 3 + [200.0] + [300.0] * 2)
    assert tl.network_ms == pytest.approx(300.0)


def test_serialisation_of_prompt_draft_and_verdict_at_1_mbps():
    # 1 Mbit/s = 1000 bit/ms; every message carries one 40 B header.
    tl = edge_cloud_timeline(10, CYCLES[:1], _compute(), _link(0.0, 1.0))
    prompt = (prompt_bytes(10) + 40) * 8 / 1000
    draft, verdict = (8 + 4 * 2 + 40) * 8 / 1000, (8 + 40) * 8 / 1000
    # the first draft leaves at 0, the cloud waits for the prompt, then verifies
    assert tl.latency_ms == pytest.approx(max(prompt, draft) + verdict)
    assert tl.tally.bytes_up == prompt_bytes(10) + 40 + 8 + 8 + 40


def test_cloud_only_ttft_is_uplink_prefill_first_downlink():
    comp = _compute(prefill_target=30.0, verify={0: 5.0})
    tl = cloud_only_timeline(12, 5, comp, _link(100.0))
    assert tl.ttft_ms == pytest.approx(50.0 + 30.0 + 50.0)
    # decoding does not wait for the stream: the last token leaves 4 steps later
    assert tl.latency_ms == pytest.approx(130.0 + 4 * 5.0)
    assert tl.tokens_out == 5


def test_edge_only_has_no_network():
    comp = _compute(prefill_draft=12.0, draft=3.0)
    tl = edge_only_timeline(12, 6, comp)
    assert tl.ttft_ms == pytest.approx(12.0)
    assert tl.latency_ms == pytest.approx(12.0 + 5 * 3.0)
    assert tl.network_ms == 0.0 and tl.tally.bytes_up == 0 and tl.tally.bytes_down == 0


def test_edge_cloud_compute_adds_per_cycle():
    comp = _compute(prefill_target=20.0, prefill_draft=10.0, draft=4.0, verify={0: 10.0, 2: 20.0})
    tl = edge_cloud_timeline(16, CYCLES[:2], comp, _link(50.0))
    # cycle 1: draft 8 ms (edge, after its 10 ms prefill) -> up at 18 arrives 43;
    # cloud ready at 25 + 20 = 45 -> verify(2) = 20 -> 65 -> verdict at 90
    assert tl.ttft_ms == pytest.approx(90.0)
    # cycle 2: draft 8 -> 98, up -> 123, verify 20 -> 143, verdict -> 168
    assert tl.latency_ms == pytest.approx(168.0)
    assert tl.edge_compute_ms == pytest.approx(10.0 + 16.0)


def test_colocated_streams_committed_tokens_without_per_cycle_rtt():
    comp = _compute(draft=1.0, verify={0: 10.0, 2: 10.0})
    tl = colocated_timeline(16, CYCLES[:2], comp, _link(100.0))
    # prompt up 50; cycle 1 ends at 50 + 2 + 10, down 50 -> 112; cycle 2 ends 74, arrives 124
    assert tl.ttft_ms == pytest.approx(112.0)
    assert tl.latency_ms == pytest.approx(124.0)


def test_hardware_scale_and_cost_model():
    comp = _compute(draft=10.0, verify={0: 50.0, 4: 90.0}, edge_scale=4.0, cloud_scale=0.5)
    assert comp.draft_ms() == pytest.approx(40.0)
    assert comp.verify_ms(2) == pytest.approx(35.0)
    gpu = ComputeModel(comp.calibration, comp.edge, HardwareProfile(
        "g", scale=0.1, decode_ms_per_token=20.0, verify_base_ms=20.0, verify_ms_per_token=0.5))
    assert gpu.verify_ms(4) == pytest.approx(22.0) and gpu.decode_ms() == pytest.approx(20.0)
