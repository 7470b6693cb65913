"""Edge and cloud as two processes over loopback TCP: tokens, shaping, a cloud killed mid-session."""

from __future__ import annotations

import pytest

from jointbench.specdec.engine import SpecDecoder
from jointbench.specdec.policies.fixed import FixedK
from jointbench.specdec.policy import CycleOutcome, DraftState
from jointbench.specdec.transport.client import CloudClient, CloudUnavailable
from jointbench.specdec.transport.edge import remote_cloud_only, remote_speculative
from jointbench.specdec.transport.lifecycle import cloud_service
from jointbench.specdec.transport.shaping import ShapingProxy

from transport_helpers import PROMPT, process_gone

N_NEW = 24


@pytest.fixture(scope="module")
def reference(tiny_pair) -> list[int]:
    return SpecDecoder(tiny_pair.target, None, tiny_pair.eos_token_ids).cloud_only(PROMPT, N_NEW).tokens


def test_two_process_greedy_sd_equals_cloud_only(tiny_cloud, tiny_pair, reference) -> None:
    with CloudClient(port=tiny_cloud.port, timeout_s=60.0) as client:
        out = remote_speculative(tiny_pair.draft, tiny_pair.eos_token_ids, client, PROMPT, N_NEW, FixedK(3))
        assert out.error is None
        assert out.tokens == reference
        assert any(c.accepted < c.drafted for c in out.cycles)  # the draft really disagrees sometimes
        assert all(c.bytes_up == 8 + 4 * c.drafted and c.bytes_down == 8 for c in out.cycles)
        streamed = remote_cloud_only(client, PROMPT, N_NEW)
        assert streamed.error is None and streamed.tokens == reference
        assert len(streamed.token_times_ms) == N_NEW
    # control: a different prompt gives different tokens (the comparison can fail)
    with CloudClient(port=tiny_cloud.port, timeout_s=60.0) as client:
        assert remote_cloud_only(client, PROMPT[::-1], N_NEW).tokens != reference


def test_shaped_session_keeps_tokens_and_prices_every_frame(tiny_cloud, tiny_pair, reference) -> None:
    net = {"network_rtt_ms": 6.0, "network_jitter_ms": 1.0, "network_uplink_bandwidth_mbps": 20.0,
           "network_downlink_bandwidth_mbps": 20.0, "network_seed": 3}
    with ShapingProxy(net, tiny_cloud.port) as proxy:
        with CloudClient(port=proxy.port, timeout_s=60.0) as client:
            out = remote_speculative(tiny_pair.draft, tiny_pair.eos_token_ids, client, PROMPT, N_NEW, FixedK(3))
        schedule = list(proxy.schedule)
    assert out.error is None and out.tokens == reference
    kinds = [(m.direction, m.kind) for m in schedule]
    assert kinds[0] == ("up", "PREFILL")
    assert kinds.count(("up", "VERIFY")) == kinds.count(("down", "VERIFY")) == len(out.cycles)
    for m in schedule:
        assert m.exchange.send_ms == m.received_ms and m.due_ms >= m.exchange.arrival_ms
        if m.delivered_ms is not None:  # the CLOSE reply may be cut by the disconnect
            assert m.delivered_ms >= m.due_ms - 0.01  # never early (timer resolution aside)
            assert m.delivered_ms - m.due_ms < 2000.0  # a generous bound, not a timing test
    # every verdict took at least the modelled round trip (propagation both ways)
    assert all(c.round_trip_ms >= 6.0 - 2 * 1.0 for c in out.cycles)


class KillAfter:
    """FixedK(2) that SIGKILLs the cloud before cycle ``n``."""

    def __init__(self, svc, n: int) -> None:
        self.svc, self.n, self.inner = svc, n, FixedK(2)

    def reset(self) -> None:
        self.inner.reset()

    def next_k(self, state: DraftState) -> int:
        if state.cycle == self.n:
            self.svc.kill()
        return self.inner.next_k(state)

    def update(self, outcome: CycleOutcome) -> None:
        self.inner.update(outcome)


def test_cloud_killed_mid_session_fails_the_case_cleanly(tiny_pair, reference) -> None:
    with cloud_service("tiny-random", ready_timeout_s=180.0) as svc:
        pid = svc.pid
        assert not process_gone(pid)  # control: the check sees a live process
        client = CloudClient(port=svc.port, timeout_s=5.0, connect_timeout_s=1.0, attempts=2, backoff_s=0.02)
        out = remote_speculative(tiny_pair.draft, tiny_pair.eos_token_ids, client, PROMPT, N_NEW,
                                 KillAfter(svc, 2))
        assert out.failed and "CloudUnavailable" in out.error
        assert len(out.cycles) == 2 and out.tokens == reference[: len(out.tokens)]
        failed = [r for r in client.log if r.error]
        assert failed and failed[-1].type == "VERIFY" and failed[-1].attempts == 2
        with pytest.raises(CloudUnavailable):
            remote_cloud_only(client, PROMPT, 4, raise_errors=True)
        # where the policy says so, the draft finishes the query alone instead
        rescued = remote_speculative(tiny_pair.draft, tiny_pair.eos_token_ids, client, PROMPT, N_NEW, FixedK(2),
                                     fallback_edge_only=True)
        edge_alone = SpecDecoder(tiny_pair.draft, None, tiny_pair.eos_token_ids).cloud_only(PROMPT, N_NEW).tokens
        assert rescued.fell_back and not rescued.failed and "CloudUnavailable" in rescued.error
        assert rescued.tokens == edge_alone != reference  # edge-only quality, and it shows
        client.disconnect()
    assert process_gone(pid)
