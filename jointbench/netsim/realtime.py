"""Real-time mode: the same link, but the caller really waits for each message.

:class:`RealtimeLink` prices a message with the analytic model of its
:class:`~jointbench.netsim.link.Link` at the current wall time (ms since the
RealtimeLink's epoch, which drives the trace), then blocks until the modelled
arrival. :meth:`RealtimeLink.transmit` additionally throttles a real payload:
it hands the receiver each segment at the time its last byte arrives. Waits use
``time.sleep`` for the bulk and a ``perf_counter`` busy-wait for the last
``spin_ms``, which keeps the error in the tens of microseconds. Use it for
validation (``benchmarks/netsim_realtime.py``) and demos; results are not
reproducible under load, unlike the virtual clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from jointbench.netsim.exchange import Direction, Exchange
from jointbench.netsim.link import Link


def sleep_until(
    deadline_s: float,
    *,
    spin_s: float = 0.0015,
    timer: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Block until ``timer() >= deadline_s``: coarse sleep, then busy-wait the last ``spin_s``."""
    while True:
        left = deadline_s - timer()
        if left <= 0.0:
            return
        if left > spin_s:
            sleep(left - spin_s)


class RealtimeLink:
    """A :class:`Link` whose messages take real time.

    Parameters
    ----------
    link : Link
        The model; its random streams advance as with the virtual clock.
    spin_ms : float
        Final part of every wait spent busy-waiting (ms); 0 to only sleep.
    timer, sleep : callable, optional
        Wall clock in seconds and sleep function (for tests: a fake clock).
    """

    def __init__(
        self,
        link: Link,
        *,
        spin_ms: float = 1.5,
        timer: Callable[[], float] = time.perf_counter,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.link = link
        self.spin_s = spin_ms / 1e3
        self._timer = timer
        self._sleep = sleep
        self.epoch_s = timer()

    def now_ms(self) -> float:
        """Wall time since the epoch (ms): the virtual time a message sent now gets."""
        return (self._timer() - self.epoch_s) * 1e3

    def restart_clock(self) -> None:
        """Set the epoch to now (the trace starts over; the random streams do not)."""
        self.epoch_s = self._timer()

    def _wait_until_ms(self, t_ms: float) -> None:
        sleep_until(
            self.epoch_s + t_ms / 1e3, spin_s=self.spin_s, timer=self._timer, sleep=self._sleep
        )

    def send(
        self, direction: Direction, nbytes: int, *, kind: str = "payload", t_ms: float | None = None
    ) -> Exchange:
        """Send a message and return once it has arrived.

        Parameters
        ----------
        direction, nbytes, kind
            As :meth:`Link.send`.
        t_ms : float, optional
            Scheduled send time on this link's clock (ms since the epoch); the call
            first waits until then. ``None`` or a time already past sends now.

        Returns
        -------
        Exchange
            Priced with ``send_ms`` = the actual send time; the call returns at
            ``arrival_ms`` (plus the wait's error).
        """
        if t_ms is not None and t_ms > self.now_ms():
            self._wait_until_ms(t_ms)
        ex = self.link.send(direction, nbytes, kind=kind, t_ms=max(self.now_ms(), 0.0))
        self._wait_until_ms(ex.arrival_ms)
        return ex

    def transmit(
        self,
        direction: Direction,
        payload: bytes,
        *,
        kind: str = "payload",
        on_segment: Callable[[bytes, float], None] | None = None,
    ) -> Exchange:
        """Send real bytes, delivering them segment by segment at the throttled rate.

        Segment ``i`` (payload bytes ``[i*mss, (i+1)*mss)``) is delivered at
        ``send + propagation + jitter + serialisation * w_i / w``, where ``w_i`` is
        the wire bytes up to and including segment ``i`` and ``w`` the message's; a
        message's retransmission delay is added before its last segment.

        Parameters
        ----------
        direction, kind
            As :meth:`Link.send`.
        payload : bytes
            The data; its length is the payload size.
        on_segment : callable, optional
            Called as ``on_segment(chunk, t_ms)`` when each chunk is delivered.

        Returns
        -------
        Exchange
        """
        cfg = self.link.config
        ex = self.link.send(direction, len(payload), kind=kind, t_ms=max(self.now_ms(), 0.0))
        view = memoryview(payload)
        mss = cfg.mss_bytes
        wire_done = cfg.framing_bytes
        head = ex.send_ms + ex.propagation_ms + ex.jitter_ms
        for i in range(ex.segments):
            chunk = bytes(view[i * mss : (i + 1) * mss])
            wire_done += len(chunk) + cfg.header_bytes
            at = head + ex.serialisation_ms * min(1.0, wire_done / ex.bytes)
            if i == ex.segments - 1:
                at = ex.arrival_ms
            self._wait_until_ms(at)
            if on_segment is not None:
                on_segment(chunk, self.now_ms())
        return ex
