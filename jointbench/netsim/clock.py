"""Virtual time: a clock, and a per-request timeline of compute, network and tokens.

Compute stages report a duration (measured here and scaled by a
:class:`~jointbench.netsim.hardware.HardwareProfile`, or taken from its cost
model); network stages take the link's analytic delay. Nothing sleeps, so a
500 ms RTT costs no wall time and, with cost-model durations, the same seed gives
the same numbers on any machine under any load.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from jointbench.netsim.exchange import Direction, Exchange, NetworkTally
from jointbench.netsim.hardware import HardwareProfile
from jointbench.netsim.roundtrip import RequestResult, Sender

Where = Literal["edge", "cloud"]


class VirtualClock:
    """A clock that only moves when told to.

    Parameters
    ----------
    start_ms : float
        Initial time (ms).
    """

    def __init__(self, start_ms: float = 0.0) -> None:
        self.now_ms = float(start_ms)

    def advance(self, ms: float) -> float:
        """Move forward by ``ms`` (>= 0) and return the new time (ms)."""
        if not ms >= 0.0:
            raise ValueError(f"cannot advance a clock by {ms!r} ms")
        self.now_ms += ms
        return self.now_ms

    def advance_to(self, t_ms: float) -> float:
        """Move to ``max(now, t_ms)`` and return the new time (ms)."""
        self.now_ms = max(self.now_ms, float(t_ms))
        return self.now_ms


@dataclass(frozen=True)
class TimelineEvent:
    """One interval on a timeline.

    Attributes
    ----------
    kind : {"compute", "network", "wait"}
        What occupied the interval.
    where : str
        ``"edge"``/``"cloud"`` for compute, ``"up"``/``"down"`` for network, ``""`` for a wait.
    stage : str
        Label (``"draft"``, ``"verify"``, the payload kind, ...).
    start_ms, end_ms : float
        Virtual interval (ms).
    """

    kind: str
    where: str
    stage: str
    start_ms: float
    end_ms: float

    @property
    def duration_ms(self) -> float:
        """``end_ms - start_ms`` (ms)."""
        return self.end_ms - self.start_ms


class Timeline:
    """The virtual-time history of one request (one sample).

    Every operation starts at the clock's current time (or at ``at_ms`` to overlap
    with earlier work) and moves the clock to its end if that is later.

    Parameters
    ----------
    link : Link, optional
        The link used by :meth:`send` and :meth:`request_response`.
    start_ms : float
        Virtual time the request starts (ms). Give each sample the previous one's
        end to let a trace evolve across samples.
    edge, cloud : HardwareProfile, optional
        Scales applied by :meth:`measure` to compute measured on this machine.
    timer : callable, optional
        Wall clock in seconds used by :meth:`measure` (default ``time.perf_counter``).

    Examples
    --------
    >>> from jointbench.netsim import Link, LinkConfig
    >>> tl = Timeline(Link(LinkConfig(rtt_ms=50.0)))
    >>> _ = tl.compute("edge", 10.0, stage="draft")
    >>> _ = tl.send("up", 16, kind="draft")
    >>> _ = tl.compute("cloud", 30.0, stage="verify")
    >>> _ = tl.send("down", 8, kind="verdict")
    >>> tl.emit(3)
    >>> tl.latency_ms, tl.network_ms, tl.ttft_ms
    (90.0, 50.0, 90.0)
    """

    def __init__(
        self,
        link: Sender | None = None,
        *,
        start_ms: float = 0.0,
        edge: HardwareProfile | None = None,
        cloud: HardwareProfile | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.link = link
        self.start_ms = float(start_ms)
        self.clock = VirtualClock(start_ms)
        self.profiles: dict[str, HardwareProfile | None] = {"edge": edge, "cloud": cloud}
        self.events: list[TimelineEvent] = []
        self.tally = NetworkTally()
        self._token_abs_ms: list[float] = []
        self._timer = timer

    @property
    def now_ms(self) -> float:
        """Current virtual time (ms)."""
        return self.clock.now_ms

    def _start(self, at_ms: float | None) -> float:
        return self.clock.now_ms if at_ms is None else float(at_ms)

    def compute(
        self, where: Where, ms: float, *, stage: str = "compute", at_ms: float | None = None
    ) -> float:
        """Record ``ms`` of compute on ``where`` ("edge"/"cloud"); return its end time (ms)."""
        if where not in ("edge", "cloud"):
            raise ValueError(f"where={where!r}: must be 'edge' or 'cloud'")
        if not (ms >= 0.0 and math.isfinite(ms)):
            raise ValueError(f"compute time must be a finite number of ms >= 0, got {ms!r}")
        start = self._start(at_ms)
        end = start + ms
        self.events.append(TimelineEvent("compute", where, stage, start, end))
        self.clock.advance_to(end)
        return end

    @contextmanager
    def measure(self, where: Where, *, stage: str = "compute") -> Iterator[None]:
        """Time the ``with`` block on this machine and record it as compute on ``where``.

        The measured time is multiplied by the ``edge``/``cloud`` profile's ``scale``
        when one was given. Measured times depend on this machine's load; use the
        profiles' cost models (:meth:`compute` with ``profile.verify_ms(k)`` etc.)
        for load-independent results.
        """
        t0 = self._timer()
        yield
        measured_ms = (self._timer() - t0) * 1e3
        profile = self.profiles.get(where)
        self.compute(where, profile.scaled_ms(measured_ms) if profile else measured_ms, stage=stage)

    def send(
        self,
        direction: Direction,
        nbytes: int,
        *,
        kind: str = "payload",
        at_ms: float | None = None,
    ) -> Exchange:
        """Send a message over the link at the current time (or ``at_ms``) and wait for it."""
        if self.link is None:
            raise ValueError("this Timeline has no link; pass Timeline(link=...)")
        ex = self.link.send(direction, nbytes, kind=kind, t_ms=self._start(at_ms))
        self.events.append(TimelineEvent("network", ex.direction, kind, ex.send_ms, ex.arrival_ms))
        self.tally.add(ex)
        self.clock.advance_to(ex.arrival_ms)
        return ex

    def request_response(
        self,
        up_bytes: int,
        down_bytes: int,
        *,
        server_compute_ms: float = 0.0,
        up_kind: str = "prompt",
        down_kind: str = "answer",
        server_stage: str = "compute",
    ) -> RequestResult:
        """Send up, compute ``server_compute_ms`` on the cloud, send down; all on this timeline."""
        t0 = self.now_ms
        up = self.send("up", up_bytes, kind=up_kind)
        self.compute("cloud", server_compute_ms, stage=server_stage)
        down = self.send("down", down_bytes, kind=down_kind)
        return RequestResult(up, down, t0, down.arrival_ms, server_compute_ms)

    def wait(self, ms: float, *, stage: str = "wait") -> float:
        """Let ``ms`` pass with nothing running (e.g. a poll interval); return the new time."""
        start = self.now_ms
        end = self.clock.advance(ms)
        self.events.append(TimelineEvent("wait", "", stage, start, end))
        return end

    def emit(self, n_tokens: int = 1) -> None:
        """Mark ``n_tokens`` output tokens as delivered to the user at the current time."""
        if n_tokens < 0:
            raise ValueError(f"n_tokens must be >= 0, got {n_tokens}")
        self._token_abs_ms.extend([self.now_ms] * n_tokens)

    # ------------------------------------------------------------------ results

    @property
    def latency_ms(self) -> float:
        """End-to-end latency: current time minus start (ms)."""
        return self.now_ms - self.start_ms

    @property
    def token_times_ms(self) -> list[float]:
        """Delivery time of each output token, relative to the start (ms), shape (tokens_out,)."""
        return [t - self.start_ms for t in self._token_abs_ms]

    @property
    def tokens_out(self) -> int:
        """Tokens emitted."""
        return len(self._token_abs_ms)

    @property
    def ttft_ms(self) -> float | None:
        """Time to first token (ms), ``None`` before any token."""
        return self._token_abs_ms[0] - self.start_ms if self._token_abs_ms else None

    @property
    def inter_token_ms(self) -> list[float]:
        """Gaps between consecutive tokens (ms), shape (tokens_out - 1,); 0 within a burst."""
        t = self._token_abs_ms
        return [b - a for a, b in itertools.pairwise(t)]

    def _compute_sum(self, where: str) -> float:
        return sum(e.duration_ms for e in self.events if e.kind == "compute" and e.where == where)

    @property
    def edge_compute_ms(self) -> float:
        """Total edge compute (ms)."""
        return self._compute_sum("edge")

    @property
    def cloud_compute_ms(self) -> float:
        """Total cloud compute (ms)."""
        return self._compute_sum("cloud")

    @property
    def network_ms(self) -> float:
        """Exposed network time (ms): time some message is in flight and no compute runs.

        For a sequential timeline this is the sum of the exchanges' delays and
        ``latency = edge + cloud + network (+ waits)``.
        """
        net = _merge([(e.start_ms, e.end_ms) for e in self.events if e.kind == "network"])
        busy = _merge([(e.start_ms, e.end_ms) for e in self.events if e.kind == "compute"])
        return _length(net) - _overlap(net, busy)

    @property
    def network_share(self) -> float:
        """``network_ms / latency_ms`` in [0, 1]; 0 for an empty timeline."""
        return self.network_ms / self.latency_ms if self.latency_ms > 0 else 0.0

    def record_fields(self) -> dict[str, Any]:
        """Return the timing and network fields of :class:`jointbench.records.SampleRecord`.

        Returns
        -------
        dict
            ``latency_ms``, ``edge_compute_ms``, ``cloud_compute_ms``, ``network_ms``
            (exposed), ``ttft_ms``, ``tokens_out``, ``bytes_up``, ``bytes_down``,
            ``retransmissions``, ``exchanges``.
        """
        tally = self.tally.to_record_fields()
        tally["network_ms"] = self.network_ms
        return {
            "latency_ms": self.latency_ms,
            "edge_compute_ms": self.edge_compute_ms,
            "cloud_compute_ms": self.cloud_compute_ms,
            "ttft_ms": self.ttft_ms,
            "tokens_out": self.tokens_out,
            **tally,
        }


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _length(merged: list[tuple[float, float]]) -> float:
    return sum(b - a for a, b in merged)


def _overlap(xs: list[tuple[float, float]], ys: list[tuple[float, float]]) -> float:
    total, i, j = 0.0, 0, 0
    while i < len(xs) and j < len(ys):
        lo = max(xs[i][0], ys[j][0])
        hi = min(xs[i][1], ys[j][1])
        if hi > lo:
            total += hi - lo
        if xs[i][1] < ys[j][1]:
            i += 1
        else:
            j += 1
    return total
