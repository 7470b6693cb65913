"""The shaping layer: its computed schedule equals the netsim link's pricing, delivered in order."""

from __future__ import annotations

import socket
import threading

import pytest

from jointbench.netsim import Link, LinkConfig
from jointbench.specdec.transport.client import CloudClient, CloudUnavailable
from jointbench.specdec.transport.frames import FLAG_FINAL, FLAG_REPLY, Frame, MsgType, read_frame, write_frame
from jointbench.specdec.transport.shaping import LinkShaper, ShapingProxy

NET = {"network_rtt_ms": 40.0, "network_jitter_ms": 5.0, "network_jitter_dist": "gauss",
       "network_uplink_bandwidth_mbps": 2.0, "network_downlink_bandwidth_mbps": 8.0,
       "network_loss_pct": 20.0, "network_seed": 11}


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_schedule_is_the_links_pricing_at_the_receive_time() -> None:
    clock = FakeClock()
    shaper = LinkShaper(NET, timer=clock)
    twin = Link(NET)
    sends = [("up", 3000, 0.0), ("down", 8, 70.0), ("up", 20, 500.0), ("down", 8, 900.0), ("up", 20, 1400.0)]
    last = {"up": 0.0, "down": 0.0}
    for direction, nbytes, at in sends:
        clock.t = shaper.epoch_s + at / 1e3
        entry = shaper.price(direction, nbytes, "VERIFY")
        ex = twin.send(direction, nbytes, kind="VERIFY", t_ms=entry.received_ms)
        assert entry.received_ms == pytest.approx(at)
        assert entry.exchange == ex  # the same draws: jitter, loss, serialisation
        last[direction] = max(last[direction], ex.arrival_ms)  # in order per direction
        assert entry.due_ms == last[direction]
    assert any(m.exchange.retransmission_ms > 0 for m in shaper.schedule)  # loss was exercised
    other = LinkShaper({**NET, "network_seed": 12}, timer=clock)
    clock.t = other.epoch_s
    assert other.price("up", 3000, "VERIFY").exchange != shaper.schedule[0].exchange  # control


def test_a_frame_is_never_delivered_before_an_earlier_one() -> None:
    clock = FakeClock()
    shaper = LinkShaper({"network_rtt_ms": 10.0, "network_uplink_bandwidth_mbps": 1.0}, timer=clock)
    big = shaper.price("up", 100_000, "VERIFY", t_ms=0.0)  # ~800 ms of serialisation at 1 Mbit/s
    small = shaper.price("up", 10, "VERIFY", t_ms=1.0)
    down = shaper.price("down", 10, "VERIFY", t_ms=1.0)
    assert small.exchange.arrival_ms < big.exchange.arrival_ms  # would overtake on its own
    assert small.due_ms == big.due_ms  # held back behind the big one
    assert down.due_ms == pytest.approx(down.exchange.arrival_ms)  # control: other direction untouched


def test_a_trace_changes_the_delay_with_the_wall_clock() -> None:
    trace = {"type": "step", "steps": [{"at_ms": 0, "rtt_ms": 20}, {"at_ms": 100, "rtt_ms": 200}]}
    clock = FakeClock()
    shaper = LinkShaper(LinkConfig(trace=trace), timer=clock)
    clock.t = shaper.epoch_s + 0.05
    before = shaper.price("up", 8, "VERIFY")
    clock.t = shaper.epoch_s + 0.15
    after = shaper.price("up", 8, "VERIFY")
    assert before.due_ms - before.received_ms == pytest.approx(10.0)
    assert after.due_ms - after.received_ms == pytest.approx(100.0)


def echo_server(replies: int) -> tuple[socket.socket, threading.Thread]:
    """A frame echo service that answers ``replies`` requests on one connection, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        conn, _ = listener.accept()
        with conn:
            for _ in range(replies):
                f = read_frame(conn)
                write_frame(conn, Frame(f.type, f.payload[::-1], seq=f.seq, flags=FLAG_REPLY | FLAG_FINAL))
        listener.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return listener, t


def test_proxy_forwards_frames_no_earlier_than_scheduled_and_passes_eof_on() -> None:
    listener, thread = echo_server(replies=2)
    net = {"network_rtt_ms": 30.0, "network_uplink_bandwidth_mbps": 10.0}
    with ShapingProxy(net, listener.getsockname()[1], spin_ms=0.0) as proxy:
        client = CloudClient(port=proxy.port, timeout_s=10.0, connect_timeout_s=1.0, attempts=1)
        for payload in (b"abc", bytes(range(200))):
            reply = client.request(MsgType.VERIFY, payload)
            assert reply.payload == payload[::-1]
        thread.join(timeout=10)
        with pytest.raises(CloudUnavailable):  # the service closed: EOF passed on, no hang
            client.request(MsgType.VERIFY, b"x")
        client.disconnect()
    done = [m for m in proxy.schedule if m.delivered_ms is not None]
    assert [(m.direction, m.payload_bytes) for m in done] == [("up", 3), ("down", 3), ("up", 200), ("down", 200)]
    for m in done:
        assert m.delivered_ms >= m.due_ms - 0.01
        assert m.delivered_ms - m.due_ms < 2000.0  # generous: the machine may be loaded
        assert m.due_ms - m.received_ms >= 15.0  # half the RTT at least
    for log in client.log[:2]:
        assert (log.done_s - log.sent_s) * 1e3 >= 30.0  # a reply cannot beat the round trip
