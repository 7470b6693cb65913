"""One simulated message (:class:`Exchange`) and a per-sample sum (:class:`NetworkTally`)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["up", "down"]
DIRECTIONS: tuple[str, ...] = ("up", "down")


@dataclass(frozen=True)
class Exchange:
    """A message sent over a :class:`~jointbench.netsim.link.Link`, with its delay split.

    ``delay_ms = propagation_ms + serialisation_ms + jitter_ms + retransmission_ms``
    and ``arrival_ms = send_ms + delay_ms``.

    Attributes
    ----------
    direction : {"up", "down"}
        Edge→cloud or cloud→edge.
    kind : str
        Payload kind (``"prompt"``, ``"draft"``, ``"verdict"``, ...).
    bytes : int
        Wire bytes of the first transmission: payload + framing + one header per segment.
    payload_bytes : int
        Application payload bytes.
    segments : int
        TCP segments the message was split into.
    send_ms, arrival_ms : float
        Virtual times (ms) the first byte left and the last byte arrived.
    propagation_ms : float
        One-way share of the RTT in effect at ``send_ms``.
    serialisation_ms : float
        Wire bits over the bandwidth, integrated over the trace from ``send_ms``.
    jitter_ms : float
        Jitter draw, clipped at ``-propagation_ms`` (may be negative).
    retransmission_ms : float
        Extra delay from lost segments (RTT / RTO waits plus re-serialisation).
    retransmissions : int
        Segment copies sent again.
    retransmitted_bytes : int
        Wire bytes of those copies (not included in ``bytes``).
    rtt_ms, bandwidth_mbps : float
        RTT and this direction's rate in effect at ``send_ms`` (Mbit/s).
    seq : int
        Index of the message among those sent in this direction on this link.
    """

    direction: str
    kind: str
    bytes: int
    payload_bytes: int
    segments: int
    send_ms: float
    arrival_ms: float
    propagation_ms: float
    serialisation_ms: float
    jitter_ms: float
    retransmission_ms: float
    retransmissions: int
    retransmitted_bytes: int
    rtt_ms: float
    bandwidth_mbps: float
    seq: int

    @property
    def delay_ms(self) -> float:
        """Total one-way delay (ms)."""
        return self.propagation_ms + self.serialisation_ms + self.jitter_ms + self.retransmission_ms

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict (``delay_ms`` added; an unlimited bandwidth becomes ``None``)."""
        # The fields are atoms, so a shallow copy of the instance dict equals ``asdict``
        # (same keys, same order) at a fraction of its cost (one cloud round trip per sample).
        out = dict(self.__dict__)
        out["delay_ms"] = self.delay_ms
        if math.isinf(self.bandwidth_mbps):
            out["bandwidth_mbps"] = None
        return out


@dataclass
class NetworkTally:
    """Sums one sample's exchanges into the network fields of the per-sample record.

    Attributes
    ----------
    bytes_up, bytes_down : int
        Wire bytes per direction (first transmissions).
    network_ms : float
        Sum of the exchanges' delays (ms). Equal to the network share of the
        latency when the exchanges do not overlap in time; a
        :class:`~jointbench.netsim.clock.Timeline` gives the exposed share otherwise.
    retransmissions : int
        Segment copies sent again.
    raw : list of Exchange
        Every exchange, in the order added.
    keep : bool
        Whether :meth:`to_record_fields` lists the exchanges (as dicts); a sweep of
        many cases may keep only the count, since the conversion dominates its time.
    """

    bytes_up: int = 0
    bytes_down: int = 0
    network_ms: float = 0.0
    retransmissions: int = 0
    raw: list[Exchange] = field(default_factory=list)
    keep: bool = True

    @property
    def exchanges(self) -> list[dict[str, Any]]:
        """:meth:`Exchange.to_dict` of every exchange, in the order added."""
        return [e.to_dict() for e in self.raw]

    def add(self, exchange: Exchange) -> Exchange:
        """Count ``exchange`` and return it unchanged."""
        if exchange.direction == "up":
            self.bytes_up += exchange.bytes
        else:
            self.bytes_down += exchange.bytes
        self.network_ms += exchange.delay_ms
        self.retransmissions += exchange.retransmissions
        self.raw.append(exchange)
        return exchange

    def extend(self, exchanges: Iterable[Exchange]) -> None:
        """Count several exchanges."""
        for ex in exchanges:
            self.add(ex)

    def to_record_fields(self) -> dict[str, Any]:
        """Return ``bytes_up``, ``bytes_down``, ``network_ms``, ``retransmissions`` and
        ``exchanges`` (empty unless ``keep``), named as in :class:`jointbench.records.SampleRecord`."""
        return {
            "bytes_up": self.bytes_up,
            "bytes_down": self.bytes_down,
            "network_ms": self.network_ms,
            "retransmissions": self.retransmissions,
            "exchanges": self.exchanges if self.keep else [],
        }
