"""The simulator's link, applied in real time to the edge<->cloud socket path.

A :class:`ShapingProxy` listens on loopback between the edge's client and the cloud
service and forwards whole frames. Each frame is priced when its last byte reaches the
proxy (its send time) by the same :class:`~jointbench.netsim.Link` the virtual clock
uses, built from the same ``network_*`` keys and traces: propagation, serialisation,
jitter and TCP-like loss recovery give its arrival time, and the proxy hands it on
then. Frames of one direction are delivered in order (a frame is not delivered before
an earlier one), as on the virtual clock's token stream. The link prices the frame's
payload bytes, the quantity the virtual clock counts.

Why a proxy and not shaping inside the client: client and service stay unaware of the
network (one code path, shaped or not); both directions are shaped where the bytes flow,
so a cloud that streams tokens while decoding (cloud-only) keeps computing while earlier
tokens are still "in flight", exactly as on the virtual timeline; and the schedule of
every frame is recorded (:attr:`ShapingProxy.schedule`) for tests and benchmarks. It runs
as threads in the edge process: waits sleep (``spin_ms`` of busy-wait at most), readers
block in ``recv``, so it holds the GIL only briefly. Cost: one extra loopback hop per
frame (tens of microseconds), part of the overhead floor the benchmark measures at RTT 0.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from jointbench.netsim import Link, LinkConfig
from jointbench.netsim.exchange import Direction, Exchange
from jointbench.netsim.realtime import sleep_until
from jointbench.specdec.transport.frames import FrameError, read_frame


@dataclass
class ScheduledMessage:
    """One frame that crossed the proxy.

    Attributes
    ----------
    direction : {"up", "down"}
    kind : str
        Message type name.
    payload_bytes : int
    received_ms : float
        When the proxy had the whole frame (ms since the shaper's epoch): its send time.
    due_ms : float
        Scheduled delivery: ``max(exchange.arrival_ms, previous due_ms of this direction)``.
    delivered_ms : float or None
        When it was handed on (``None`` if the connection ended first).
    exchange : Exchange
        The link's pricing of the frame (``send_ms == received_ms``).
    seq : int
        The frame's request number (replies echo it); -1 when not given.
    """

    direction: Direction
    kind: str
    payload_bytes: int
    received_ms: float
    due_ms: float
    exchange: Exchange
    delivered_ms: float | None = None
    seq: int = -1


class LinkShaper:
    """Prices frames on a :class:`Link` at wall-clock time and keeps each direction in order.

    Thread-safe; knows no sockets (tests check its schedule without timing anything).

    Parameters
    ----------
    link : Link, LinkConfig or mapping of ``network_*`` keys
    timer : callable
        Wall clock in seconds (``time.perf_counter``; a fake one in tests).
    """

    def __init__(self, link: Link | LinkConfig | Mapping[str, Any],
                 timer: Callable[[], float] = time.perf_counter) -> None:
        self.link = link if isinstance(link, Link) else Link(link)
        self._timer = timer
        self._lock = threading.Lock()
        self._last_due: dict[str, float] = {"up": 0.0, "down": 0.0}
        self.epoch_s = timer()
        self.schedule: list[ScheduledMessage] = []

    def now_ms(self) -> float:
        """Milliseconds since the epoch: the link's (trace's) time axis."""
        return (self._timer() - self.epoch_s) * 1e3

    def restart_clock(self) -> None:
        """Set the epoch to now (a trace starts over; the random streams do not)."""
        with self._lock:
            self.epoch_s = self._timer()
            self._last_due = {"up": 0.0, "down": 0.0}

    def price(self, direction: Direction, nbytes: int, kind: str, t_ms: float | None = None,
              seq: int = -1) -> ScheduledMessage:
        """Price one frame sent at ``t_ms`` (default: now) and append it to :attr:`schedule`."""
        with self._lock:
            t = max(self.now_ms() if t_ms is None else float(t_ms), 0.0)
            ex = self.link.send(direction, nbytes, kind=kind, t_ms=t)
            due = max(ex.arrival_ms, self._last_due[direction])
            self._last_due[direction] = due
            entry = ScheduledMessage(direction, kind, int(nbytes), t, due, ex, seq=int(seq))
            self.schedule.append(entry)
            return entry


_END = None  # queue sentinel: the reader saw EOF


class ShapingProxy:
    """A loopback TCP proxy that delays every frame by the link (see the module docstring).

    Parameters
    ----------
    link : Link, LinkConfig or mapping of ``network_*`` keys
    upstream_port : int
        Port of the cloud service on ``upstream_host``.
    upstream_host : str
        Loopback address of the cloud service.
    spin_ms : float
        Busy-wait at the end of each delivery wait (ms); 0 only sleeps.

    Attributes
    ----------
    port : int
        Where the proxy listens (127.0.0.1), after :meth:`start`.
    shaper : LinkShaper
        Holds the schedule of every frame.
    """

    def __init__(self, link: Link | LinkConfig | Mapping[str, Any], upstream_port: int,
                 upstream_host: str = "127.0.0.1", spin_ms: float = 0.5) -> None:
        self.shaper = LinkShaper(link)
        self.upstream = (upstream_host, int(upstream_port))
        self.spin_s = max(0.0, float(spin_ms)) / 1e3
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def schedule(self) -> list[ScheduledMessage]:
        """Every frame priced so far, in pricing order."""
        return self.shaper.schedule

    def start(self) -> ShapingProxy:
        """Listen on 127.0.0.1 (free port) and accept connections in a daemon thread."""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.shaper.restart_clock()
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def _track(self, sock: socket.socket) -> socket.socket:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # listener closed by stop()
            self._track(client)
            try:
                upstream = self._track(socket.create_connection(self.upstream, timeout=5.0))
                upstream.settimeout(None)
            except OSError:
                self._close(client)  # the edge sees EOF at once: the cloud is gone
                continue
            for src, dst, direction in ((client, upstream, "up"), (upstream, client, "down")):
                q: queue.Queue[tuple[bytes, ScheduledMessage] | None] = queue.Queue()
                threading.Thread(target=self._read, args=(src, q, direction), daemon=True).start()
                threading.Thread(target=self._deliver, args=(dst, q, src), daemon=True).start()

    def _read(self, src: socket.socket, q: queue.Queue[Any], direction: Direction) -> None:
        try:
            while True:
                frame = read_frame(src)
                entry = self.shaper.price(direction, len(frame.payload), frame.type.name, seq=frame.seq)
                q.put((frame.encode(), entry))
        except (OSError, FrameError):
            pass
        q.put(_END)

    def _deliver(self, dst: socket.socket, q: queue.Queue[Any], src: socket.socket) -> None:
        while True:
            item = q.get()
            if item is _END:
                try:
                    dst.shutdown(socket.SHUT_WR)  # pass the EOF on, after every pending frame
                except OSError:
                    pass
                return
            data, entry = item
            sleep_until(self.shaper.epoch_s + entry.due_ms / 1e3, spin_s=self.spin_s)
            try:
                dst.sendall(data)
            except OSError:
                self._close(src)
                self._close(dst)
                return
            entry.delivered_ms = self.shaper.now_ms()

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        try:
            sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv on it
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def stop(self) -> None:
        """Stop accepting and close every connection (idempotent)."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            socks = list(self._sockets)
        for sock in socks:
            self._close(sock)

    def __enter__(self) -> ShapingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
