"""TCP-like loss recovery: RTO rule, backoff, fast retransmit, counts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointbench.netsim import Link, LinkConfig
from jointbench.netsim.loss import (
    MAX_LOSSES_PER_SEGMENT,
    RTO_MAX_MS,
    draw_losses,
    recovery,
    rto_ms,
    segment_payloads,
)

SEG = 1500  # wire bytes of a full segment (1460 + 40)


def _rec(
    losses: list[int],
    *,
    rtt: float = 50.0,
    rto: float = 200.0,
    mbps: float = math.inf,
    last: int = SEG,
):
    return recovery(
        np.array(losses),
        full_segment_bytes=SEG,
        last_segment_bytes=last,
        rtt_ms=rtt,
        rto_ms=rto,
        bandwidth_mbps=mbps,
    )


class StubLosses:
    """Loss stream returning prepared geometric draws (trials until first success)."""

    def __init__(self, *draws: list[int]) -> None:
        self.draws = list(draws)

    def geometric(self, p: float, size: int) -> np.ndarray:
        out = np.array(self.draws.pop(0))
        assert out.size == size
        return out


def test_rto_rule() -> None:
    assert rto_ms(50.0, 0.0, 200.0) == 200.0  # floor (Linux)
    assert rto_ms(50.0, 0.0, 1000.0) == 1000.0  # floor (RFC 6298)
    assert rto_ms(300.0, 10.0, 200.0) == 340.0  # SRTT + 4 RTTVAR
    assert rto_ms(50_000.0, 10_000.0, 200.0) == RTO_MAX_MS


def test_segment_payloads() -> None:
    assert segment_payloads(0, 1460) == (1, 1460, 0)
    assert segment_payloads(1460, 1460) == (1, 1460, 1460)
    assert segment_payloads(1461, 1460) == (2, 1460, 1)


def test_no_loss_no_cost() -> None:
    r = _rec([0, 0, 0, 0, 0])
    assert (r.retransmissions, r.delay_ms, r.bytes) == (0, 0.0, 0)


def test_lost_tail_costs_one_rto() -> None:
    r = _rec([1])
    assert (r.retransmissions, r.wait_ms, r.delay_ms) == (1, 200.0, 200.0)


def test_resend_is_serialised_again() -> None:
    r = _rec([0, 1], mbps=10.0, last=1240)
    assert r.wait_ms == 200.0
    assert r.delay_ms == pytest.approx(200.0 + 1240 * 8 / 10_000, abs=1e-12)
    assert r.bytes == 1240


def test_consecutive_losses_double_the_rto() -> None:
    assert _rec([2]).wait_ms == 200.0 + 400.0
    assert _rec([3]).wait_ms == 200.0 + 400.0 + 800.0
    assert _rec([3]).retransmissions == 3


def test_backoff_capped_at_60_s() -> None:
    assert _rec([2], rto=40_000.0).wait_ms == 40_000.0 + RTO_MAX_MS


def test_mid_stream_loss_costs_one_rtt() -> None:
    r = _rec([1, 0, 0, 0, 0])  # 4 later segments -> 3 dupacks
    assert (r.retransmissions, r.wait_ms) == (1, 50.0)


def test_fast_retransmit_needs_three_later_segments() -> None:
    assert _rec([1, 0, 0, 0]).wait_ms == 50.0  # 3 later: fast retransmit
    assert _rec([0, 1, 0, 0]).wait_ms == 200.0  # 2 later: timeout
    assert _rec([0, 0, 0, 1]).wait_ms == 200.0  # tail


def test_lost_fast_retransmission_falls_back_to_rto() -> None:
    assert _rec([2, 0, 0, 0, 0]).wait_ms == 50.0 + 200.0
    assert _rec([3, 0, 0, 0, 0]).wait_ms == 50.0 + 200.0 + 400.0


def test_holes_add_up() -> None:
    r = _rec([1, 0, 0, 0, 0, 1])
    assert (r.retransmissions, r.wait_ms) == (2, 50.0 + 200.0)


def test_draw_losses_cap_and_zero_p() -> None:
    assert draw_losses(StubLosses([1, 1]), 2, 0.0).tolist() == [0, 0]  # p=0 draws nothing
    assert draw_losses(StubLosses([1, 3, 99]), 3, 0.5).tolist() == [0, 2, MAX_LOSSES_PER_SEGMENT]


def _link_with_stub(cfg: LinkConfig, *draws: list[int]) -> Link:
    link = Link(cfg)
    link._rng["up_loss"] = StubLosses(*draws)  # type: ignore[assignment]
    return link


def test_link_forced_tail_loss_costs_exactly_one_rto() -> None:
    cfg = LinkConfig(rtt_ms=50.0, uplink_bandwidth_mbps=10.0, loss_pct=1.0, rto_floor_ms=200.0)
    ex = _link_with_stub(cfg, [1, 1, 2]).send("up", 3000)  # 3 segments, the last lost once
    assert ex.retransmissions == 1
    last_wire = 3000 - 2 * 1460 + 40
    assert ex.retransmission_ms == pytest.approx(200.0 + last_wire * 8 / 10_000, abs=1e-12)
    assert ex.retransmitted_bytes == last_wire
    assert ex.delay_ms == pytest.approx(
        25.0 + ex.bytes * 8 / 10_000 + ex.retransmission_ms, abs=1e-12
    )


def test_link_consecutive_losses_double() -> None:
    cfg = LinkConfig(rtt_ms=50.0, loss_pct=1.0, rto_floor_ms=1000.0)
    ex = _link_with_stub(cfg, [3]).send("up", 100)
    assert (ex.retransmissions, ex.retransmission_ms) == (2, 1000.0 + 2000.0)


def test_link_mid_stream_loss_costs_one_rtt() -> None:
    cfg = LinkConfig(rtt_ms=50.0, loss_pct=1.0)
    ex = _link_with_stub(cfg, [1, 2, 1, 1, 1, 1]).send("up", 6 * 1460)
    assert (ex.retransmissions, ex.retransmission_ms) == (1, 50.0)


def test_link_rto_uses_jitter_as_rttvar() -> None:
    cfg = LinkConfig(rtt_ms=100.0, jitter_ms=50.0, loss_pct=1.0)
    link = _link_with_stub(cfg, [2])
    assert link.rto_ms() == 300.0
    assert link.send("up", 10).retransmission_ms == 300.0


def test_zero_loss_never_retransmits() -> None:
    link = Link(LinkConfig(rtt_ms=20.0, uplink_bandwidth_mbps=10.0, jitter_ms=5.0))
    exs = [link.send("up", 50_000) for _ in range(300)]
    assert sum(e.retransmissions for e in exs) == 0
    assert all(e.retransmission_ms == 0.0 for e in exs)


def test_retransmission_rate_matches_p() -> None:
    p, n = 0.10, 20_000
    link = Link(LinkConfig(rtt_ms=20.0, loss_pct=100 * p, seed=5))
    exs = [link.send("down", 100) for _ in range(n)]  # one segment each
    lost = np.array([e.retransmissions for e in exs])
    frac = (lost > 0).mean()
    assert abs(frac - p) <= 5 * math.sqrt(p * (1 - p) / n)
    # E[consecutive losses] = p / (1 - p); every single loss of a 1-segment message is an RTO
    expected = p / (1 - p)
    sd = math.sqrt(p) / (1 - p)
    assert abs(lost.mean() - expected) <= 5 * sd / math.sqrt(n)
    once = [e for e in exs if e.retransmissions == 1]
    assert once and all(e.retransmission_ms == 200.0 for e in once)


def test_loss_free_link_prices_exactly_as_the_general_recovery_and_draws_nothing():
    from jointbench.netsim.config import LinkConfig
    from jointbench.netsim.link import Link
    from jointbench.netsim.loss import draw_losses, recovery, rto_ms, segment_payloads

    link = Link(LinkConfig(rtt_ms=40.0, uplink_bandwidth_mbps=2.0, jitter_ms=5.0, loss_pct=0.0, seed=3))
    state = {name: g.bit_generator.state for name, g in link._rng.items() if name.endswith("loss")}
    cfg = link.config
    for nbytes in (0, 100, 5000, 70_000):
        ex = link.send("up", nbytes, t_ms=3.0)
        n_seg, full, last = segment_payloads(nbytes + cfg.framing_bytes, cfg.mss_bytes)
        general = recovery(draw_losses(None, n_seg, 0.0), full_segment_bytes=full + cfg.header_bytes,
                           last_segment_bytes=last + cfg.header_bytes, rtt_ms=40.0,
                           rto_ms=rto_ms(40.0, cfg.jitter_ms, cfg.rto_floor_ms), bandwidth_mbps=2.0)
        assert (ex.retransmission_ms, ex.retransmissions, ex.retransmitted_bytes) == (
            general.delay_ms, general.retransmissions, general.bytes) == (0.0, 0, 0)
    assert state == {name: g.bit_generator.state for name, g in link._rng.items() if name.endswith("loss")}
    lossy = Link(LinkConfig(rtt_ms=40.0, uplink_bandwidth_mbps=2.0, loss_pct=30.0, seed=3))  # control
    assert sum(lossy.send("up", 70_000, t_ms=0.0).retransmissions for _ in range(5)) > 0
