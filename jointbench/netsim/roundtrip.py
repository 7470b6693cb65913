"""Request-response latency over a link: the cascade's "send this, get that back"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from jointbench.netsim.exchange import Exchange


class Sender(Protocol):
    """Anything with :meth:`Link.send`'s signature (a Link, or a RealtimeLink)."""

    def send(
        self, direction: Any, nbytes: int, *, kind: str = ..., t_ms: float = ...
    ) -> Exchange: ...


@dataclass(frozen=True)
class RequestResult:
    """Timing and accounting of one request-response.

    Attributes
    ----------
    up, down : Exchange
        The request and the response.
    t_start_ms, t_end_ms : float
        Virtual times the request left and the response fully arrived (ms).
    server_compute_ms : float
        Time the server spent between receiving the request and replying (ms).
    """

    up: Exchange
    down: Exchange
    t_start_ms: float
    t_end_ms: float
    server_compute_ms: float

    @property
    def network_ms(self) -> float:
        """Delay on the link, both ways (ms)."""
        return self.up.delay_ms + self.down.delay_ms

    @property
    def total_ms(self) -> float:
        """``t_end_ms - t_start_ms``: network plus server compute (ms)."""
        return self.t_end_ms - self.t_start_ms

    @property
    def bytes_up(self) -> int:
        """Wire bytes of the request."""
        return self.up.bytes

    @property
    def bytes_down(self) -> int:
        """Wire bytes of the response."""
        return self.down.bytes

    @property
    def retransmissions(self) -> int:
        """Segments sent again, both ways."""
        return self.up.retransmissions + self.down.retransmissions

    @property
    def exchanges(self) -> list[dict[str, Any]]:
        """The two exchanges as dicts, request first."""
        return [self.up.to_dict(), self.down.to_dict()]

    def to_dict(self) -> dict[str, Any]:
        """Return the result's summary fields and its exchanges as a plain dict."""
        return {
            "t_start_ms": self.t_start_ms,
            "t_end_ms": self.t_end_ms,
            "network_ms": self.network_ms,
            "server_compute_ms": self.server_compute_ms,
            "total_ms": self.total_ms,
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "retransmissions": self.retransmissions,
            "exchanges": self.exchanges,
        }


def request_response(
    link: Sender,
    up_bytes: int,
    down_bytes: int,
    *,
    t_start_ms: float = 0.0,
    server_compute_ms: float = 0.0,
    up_kind: str = "prompt",
    down_kind: str = "answer",
) -> RequestResult:
    """Send a request up, let the server compute, send the response down.

    Parameters
    ----------
    link : Link or RealtimeLink
        The link (its streams advance by one message each way).
    up_bytes, down_bytes : int
        Payload bytes of the request and of the response.
    t_start_ms : float
        Virtual time the request is sent (ms).
    server_compute_ms : float
        Server time between the request's arrival and the response's send (ms, >= 0).
    up_kind, down_kind : str
        Payload kinds recorded in the exchanges.

    Returns
    -------
    RequestResult
        ``total_ms = up.delay_ms + server_compute_ms + down.delay_ms``.
    """
    if not server_compute_ms >= 0.0:
        raise ValueError(f"server_compute_ms must be >= 0, got {server_compute_ms!r}")
    up = link.send("up", up_bytes, kind=up_kind, t_ms=t_start_ms)
    down = link.send("down", down_bytes, kind=down_kind, t_ms=up.arrival_ms + server_compute_ms)
    return RequestResult(up, down, up.send_ms, down.arrival_ms, server_compute_ms)
