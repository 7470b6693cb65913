"""TCP-like loss recovery: per-segment loss, RTO with exponential backoff, fast retransmit.

A message of ``n`` segments is modelled as one TCP flight. Each transmission of
a segment is lost independently with probability ``p``, so segment ``i`` is lost
``k_i`` times in a row (geometric). Recovery of segment ``i`` costs, per loss:

- the first loss, when at least 3 segments follow it in the message, is found by
  3 duplicate ACKs: one extra RTT (fast retransmit);
- any other loss (a tail segment, or a fast-retransmitted copy lost again) waits
  for the retransmission timer: ``RTO * 2**b`` where ``b`` counts the timeouts of
  this segment so far (RFC 6298 §5.5 backoff), each capped at 60 s;
- every retransmitted copy is serialised again (its wire bytes at the current rate).

Lost segments are recovered one after another (one hole per RTT, as NewReno),
so their costs add. After 15 losses of one segment (Linux ``tcp_retries2``) the
next copy is taken as delivered instead of aborting the connection.

RTO is RFC 6298's ``max(floor, SRTT + 4*RTTVAR)`` at steady state, with
SRTT = the RTT in effect and RTTVAR = ``network_jitter_ms``; ``floor`` is
``network_rto_floor_ms`` (200 ms as Linux, 1000 ms as the RFC).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

RTO_MAX_MS = 60_000.0
MAX_LOSSES_PER_SEGMENT = 15
DUPACK_THRESHOLD = 3


class LossDraws(Protocol):
    """What :func:`draw_losses` needs from a generator (a numpy Generator, or a test stub)."""

    def geometric(self, p: float, size: int) -> np.ndarray: ...


def rto_ms(rtt_ms: float, rttvar_ms: float, floor_ms: float) -> float:
    """Return the retransmission timeout (ms): ``min(60 s, max(floor, rtt + 4*rttvar))``."""
    return min(RTO_MAX_MS, max(floor_ms, rtt_ms + 4.0 * rttvar_ms))


def segment_payloads(message_bytes: int, mss_bytes: int) -> tuple[int, int, int]:
    """Split a message into MSS segments.

    Returns
    -------
    (n_segments, full_size, last_size) : tuple of int
        ``n_segments = max(1, ceil(message/mss))``; all segments carry ``full_size``
        bytes except the last, which carries ``last_size`` (a 0-byte message is
        one empty segment, like a bare ACK-sized control message).
    """
    n = max(1, math.ceil(message_bytes / mss_bytes))
    return n, mss_bytes, message_bytes - (n - 1) * mss_bytes


def draw_losses(rng: LossDraws, n_segments: int, loss_p: float) -> np.ndarray:
    """Draw how many times in a row each segment is lost.

    Parameters
    ----------
    rng : LossDraws
        The direction's loss stream.
    n_segments : int
        Segments in the message.
    loss_p : float
        Per-transmission loss probability in [0, 1). Zero draws nothing.

    Returns
    -------
    numpy.ndarray of int, shape (n_segments,)
        Consecutive losses per segment, capped at :data:`MAX_LOSSES_PER_SEGMENT`.
    """
    if loss_p <= 0.0:
        return np.zeros(n_segments, dtype=np.int64)
    failures = np.asarray(rng.geometric(1.0 - loss_p, size=n_segments), dtype=np.int64) - 1
    return np.minimum(failures, MAX_LOSSES_PER_SEGMENT)


@dataclass(frozen=True)
class Recovery:
    """Cost of recovering one message's lost segments.

    Attributes
    ----------
    retransmissions : int
        Segment copies sent again.
    delay_ms : float
        Extra delay of the message (ms): waiting (RTT / RTO) plus re-serialisation.
    wait_ms : float
        The waiting part of ``delay_ms`` (ms).
    bytes : int
        Wire bytes of the retransmitted copies.
    """

    retransmissions: int = 0
    delay_ms: float = 0.0
    wait_ms: float = 0.0
    bytes: int = 0


def recovery(
    losses: Sequence[int] | np.ndarray,
    *,
    full_segment_bytes: int,
    last_segment_bytes: int,
    rtt_ms: float,
    rto_ms: float,
    bandwidth_mbps: float,
) -> Recovery:
    """Apply the recovery rules (module docstring) to drawn losses.

    Parameters
    ----------
    losses : sequence of int, shape (n_segments,)
        Consecutive losses of each segment, in send order.
    full_segment_bytes, last_segment_bytes : int
        Wire bytes (payload + header) of every segment but the last, and of the last.
    rtt_ms, rto_ms : float
        RTT and base RTO in effect (ms).
    bandwidth_mbps : float
        Rate for re-serialisation (Mbit/s; ``inf`` costs nothing).

    Returns
    -------
    Recovery
    """
    arr = np.asarray(losses, dtype=np.int64)
    n = arr.size
    count = 0
    wait = 0.0
    nbytes = 0
    for i in np.flatnonzero(arr):
        k = int(arr[i])
        later = n - 1 - int(i)
        timeouts = 0
        for attempt in range(k):
            if attempt == 0 and later >= DUPACK_THRESHOLD:
                wait += rtt_ms
            else:
                wait += min(RTO_MAX_MS, rto_ms * 2.0**timeouts)
                timeouts += 1
        count += k
        nbytes += k * (last_segment_bytes if later == 0 else full_segment_bytes)
    reser = 0.0 if math.isinf(bandwidth_mbps) else nbytes * 8 / (bandwidth_mbps * 1e3)
    return Recovery(count, wait + reser, wait, nbytes)
