"""Every TCP socket of the edge<->cloud path sends small frames at once (TCP_NODELAY: no Nagle wait).

Nagle's algorithm holds a small segment back until the previous one is acknowledged; with the
peer's delayed ACK that can add tens of ms to a verdict of a few bytes, a per-cycle cost the virtual
clock does not model. The client's socket, both legs of the shaping proxy and the service's
per-connection socket must all disable it.
"""

from __future__ import annotations

import socket
import threading

from jointbench.specdec.transport.client import CloudClient
from jointbench.specdec.transport.cloud_server import serve_connection
from jointbench.specdec.transport.frames import FLAG_FINAL, FLAG_REPLY, Frame, MsgType
from jointbench.specdec.transport.shaping import ShapingProxy


def nodelay(sock: socket.socket) -> bool:
    return bool(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


class Echo:
    """A session that answers every request with one empty reply."""

    def handle(self, frame: Frame):
        yield Frame(frame.type, b"", seq=frame.seq, flags=FLAG_REPLY | FLAG_FINAL)


def test_client_proxy_and_service_sockets_disable_nagle() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept_one() -> None:
        conn, _ = listener.accept()
        accepted.append(conn)
        serve_connection(conn, Echo)

    server = threading.Thread(target=accept_one, daemon=True)
    server.start()
    with ShapingProxy({"network_rtt_ms": 0.0}, listener.getsockname()[1]) as proxy:
        client = CloudClient(port=proxy.port, timeout_s=10.0, connect_timeout_s=2.0, attempts=1)
        client.connect()
        assert client.request(MsgType.VERIFY, b"x").type == MsgType.VERIFY  # the path works end to end
        assert client._sock is not None and nodelay(client._sock)
        legs = list(proxy._sockets)
        assert len(legs) == 2 and all(nodelay(s) for s in legs)  # edge-facing and cloud-facing leg
        assert accepted and nodelay(accepted[0])  # the service's connection (set by serve_connection)
        client.close()
    server.join(timeout=10)
    listener.close()


def test_control_a_plain_tcp_socket_has_nagle_on() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    with listener, socket.create_connection(listener.getsockname()) as plain:
        assert not nodelay(plain)  # the check above can fail
