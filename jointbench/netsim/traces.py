"""Time-varying link conditions: stable, step, oscillating and two-state Markov traces.

A trace maps the virtual time ``t_ms`` (ms since the start of the run) to the
:class:`LinkState` in effect (RTT and the two bandwidths). Every trace is
piecewise constant, so bandwidth can be integrated exactly over a message
(:func:`transfer_ms`). A trace is given in a ``network_trace`` hyperparameter as a
mapping with a ``type`` and the fields below; fields left out keep the link's
base values (``network_rtt_ms`` and the two bandwidths).

- ``stable``: no change.
- ``step``: ``steps: [{at_ms: 0, rtt_ms: 20}, {at_ms: 5000, rtt_ms: 150,
  uplink_bandwidth_mbps: 5}]``; each step holds until the next one.
- ``oscillating``: each of ``rtt_ms``, ``uplink_bandwidth_mbps``,
  ``downlink_bandwidth_mbps`` may be a pair ``[first half, second half]`` of a
  ``period_ms`` square wave; optional RTT spikes of ``spike_rtt_ms`` lasting
  ``spike_duration_ms`` every ``spike_every_ms`` (first one at ``spike_offset_ms``,
  default half of ``spike_every_ms``).
- ``markov``: two states ``[state 0, state 1]`` per field; every ``dwell_ms`` the
  chain leaves state ``s`` with probability ``switch_prob[s]``; starts in
  ``initial_state``. Its path is drawn from the link's seed in fixed blocks, so
  the state at a time does not depend on the order of queries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

import numpy as np

Direction = Literal["up", "down"]
STATE_FIELDS: tuple[str, ...] = ("rtt_ms", "uplink_bandwidth_mbps", "downlink_bandwidth_mbps")
TRACE_TYPES: tuple[str, ...] = ("stable", "step", "oscillating", "markov")
_MAX_PIECES = 1_000_000
_MARKOV_BLOCK = 1024


@dataclass(frozen=True)
class LinkState:
    """Link parameters in effect at one instant.

    Attributes
    ----------
    rtt_ms : float
        Round-trip propagation time (ms), without jitter.
    uplink_bandwidth_mbps, downlink_bandwidth_mbps : float
        Rates edge→cloud and cloud→edge in Mbit/s (1e6 bit/s); ``inf`` = unlimited.
    """

    rtt_ms: float
    uplink_bandwidth_mbps: float
    downlink_bandwidth_mbps: float

    def bandwidth_mbps(self, direction: Direction) -> float:
        """Return the rate (Mbit/s) of ``direction`` ("up" or "down")."""
        return self.uplink_bandwidth_mbps if direction == "up" else self.downlink_bandwidth_mbps


class Trace(Protocol):
    """A piecewise-constant function of virtual time to :class:`LinkState`."""

    def state_at(self, t_ms: float) -> LinkState:
        """Return the state in effect at ``t_ms`` (ms, >= 0)."""
        ...

    def next_change_ms(self, t_ms: float) -> float:
        """Return the first time > ``t_ms`` at which the state may change (``inf`` if never)."""
        ...


def _check_t(t_ms: float) -> float:
    if not t_ms >= 0.0:
        raise ValueError(f"t_ms must be >= 0 (virtual ms since the run started), got {t_ms!r}")
    return float(t_ms)


def _next_multiple(t_ms: float, step_ms: float, offset_ms: float = 0.0) -> float:
    """Smallest ``offset + k*step`` strictly greater than ``t_ms``."""
    k = math.floor((t_ms - offset_ms) / step_ms) + 1
    nxt = offset_ms + k * step_ms
    while nxt <= t_ms:  # guard against floating-point rounding
        k += 1
        nxt = offset_ms + k * step_ms
    return nxt


@dataclass(frozen=True)
class ConstantTrace:
    """A link whose state never changes."""

    state: LinkState

    def state_at(self, t_ms: float) -> LinkState:
        _check_t(t_ms)
        return self.state

    def next_change_ms(self, t_ms: float) -> float:
        return math.inf


@dataclass(frozen=True)
class StepTrace:
    """Piecewise-constant states starting at increasing times ``starts_ms[i]`` (ms)."""

    starts_ms: tuple[float, ...]
    states: tuple[LinkState, ...]

    def _index(self, t_ms: float) -> int:
        idx = int(np.searchsorted(self.starts_ms, _check_t(t_ms), side="right")) - 1
        return max(idx, 0)

    def state_at(self, t_ms: float) -> LinkState:
        return self.states[self._index(t_ms)]

    def next_change_ms(self, t_ms: float) -> float:
        idx = self._index(t_ms) + 1
        while idx < len(self.starts_ms) and self.starts_ms[idx] <= t_ms:
            idx += 1
        return self.starts_ms[idx] if idx < len(self.starts_ms) else math.inf


@dataclass(frozen=True)
class OscillatingTrace:
    """Square wave between two states with optional periodic RTT spikes."""

    first: LinkState
    second: LinkState
    period_ms: float
    spike_rtt_ms: float | None = None
    spike_every_ms: float | None = None
    spike_duration_ms: float = 0.0
    spike_offset_ms: float = 0.0

    def _in_spike(self, t_ms: float) -> bool:
        if self.spike_rtt_ms is None or self.spike_every_ms is None or t_ms < self.spike_offset_ms:
            return False
        return (t_ms - self.spike_offset_ms) % self.spike_every_ms < self.spike_duration_ms

    def state_at(self, t_ms: float) -> LinkState:
        t = _check_t(t_ms)
        state = self.first if (t % self.period_ms) < self.period_ms / 2 else self.second
        if self._in_spike(t):
            assert self.spike_rtt_ms is not None
            state = replace(state, rtt_ms=self.spike_rtt_ms)
        return state

    def next_change_ms(self, t_ms: float) -> float:
        nxt = _next_multiple(t_ms, self.period_ms / 2)
        if self.spike_rtt_ms is not None and self.spike_every_ms is not None:
            if t_ms < self.spike_offset_ms:
                nxt = min(nxt, self.spike_offset_ms)
            else:
                start = _next_multiple(t_ms, self.spike_every_ms, self.spike_offset_ms)
                end = start - self.spike_every_ms + self.spike_duration_ms
                nxt = min(nxt, start, end if end > t_ms else math.inf)
        return nxt


class MarkovTrace:
    """Two-state Markov chain stepped every ``dwell_ms``; seeded, drawn lazily in blocks.

    Parameters
    ----------
    states : pair of LinkState
        The link in state 0 and state 1.
    dwell_ms : float
        Time between transitions (ms).
    switch_prob : pair of float
        Probability of leaving state 0 and state 1 at each transition.
    initial_state : int
        State during ``[0, dwell_ms)``.
    rng : numpy.random.Generator
        The trace's own stream (derived from ``network_seed``).
    """

    def __init__(
        self,
        states: tuple[LinkState, LinkState],
        dwell_ms: float,
        switch_prob: tuple[float, float],
        initial_state: int,
        rng: np.random.Generator,
    ) -> None:
        self.states = states
        self.dwell_ms = dwell_ms
        self.switch_prob = switch_prob
        self._rng = rng
        self._path: list[int] = [initial_state]

    def state_index(self, step: int) -> int:
        """Return the chain state (0 or 1) during ``[step*dwell_ms, (step+1)*dwell_ms)``."""
        while step >= len(self._path):
            draws = self._rng.random(_MARKOV_BLOCK)
            s = self._path[-1]
            for u in draws:
                if u < self.switch_prob[s]:
                    s = 1 - s
                self._path.append(s)
        return self._path[step]

    def state_at(self, t_ms: float) -> LinkState:
        return self.states[self.state_index(int(_check_t(t_ms) // self.dwell_ms))]

    def next_change_ms(self, t_ms: float) -> float:
        return _next_multiple(t_ms, self.dwell_ms)


def transfer_ms(trace: Trace, direction: Direction, bits: float, t_ms: float) -> float:
    """Time to push ``bits`` onto the link from ``t_ms``, integrating a varying rate.

    Parameters
    ----------
    trace : Trace
        The link's trace.
    direction : {"up", "down"}
        Which bandwidth applies.
    bits : float
        Bits on the wire (payload, framing and headers).
    t_ms : float
        Virtual time at which serialisation starts (ms).

    Returns
    -------
    float
        Serialisation time in ms: the smallest ``T`` with
        ``integral_{t}^{t+T} rate(s) ds = bits``, rate in bit/ms = Mbit/s * 1000.
    """
    elapsed = 0.0
    t = t_ms
    remaining = float(bits)
    for _ in range(_MAX_PIECES):
        rate = trace.state_at(t).bandwidth_mbps(direction)
        if math.isinf(rate) or remaining <= 0.0:
            return elapsed
        need = remaining / (rate * 1e3)
        t_next = trace.next_change_ms(t)
        if t + need <= t_next:
            return elapsed + need
        remaining -= (t_next - t) * rate * 1e3
        elapsed += t_next - t
        t = t_next
    raise RuntimeError(f"transfer of {bits} bits spans more than {_MAX_PIECES} trace pieces")
