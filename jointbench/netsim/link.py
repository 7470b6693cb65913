"""The simulated edge-cloud link: analytic one-way delays on a virtual clock.

Delay of a message of ``b`` payload bytes sent at virtual time ``t`` in direction ``d``:

- wire bytes ``w = b + framing + n_seg * header``, ``n_seg = max(1, ceil((b + framing) / mss))``;
- propagation ``RTT(t) * r`` up and ``RTT(t) * (1 - r)`` down (``r`` = uplink ratio, 0.5);
- serialisation ``w * 8 / rate`` (rate integrated over the trace from ``t``);
- jitter: one draw per message from the direction's jitter stream, clipped at
  ``-propagation`` (:mod:`~jointbench.netsim.jitter`);
- retransmission: per-segment losses from the direction's loss stream
  (:mod:`~jointbench.netsim.loss`), with RTT and rate as in effect at ``t``.

Messages do not queue behind each other: each is priced as if it had the link
to itself. The link holds four independent random streams (jitter and loss per
direction) and the trace's, all derived from ``network_seed``, so the n-th uplink
message of two strategies sees the same jitter draw whatever else they send.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from jointbench.netsim.config import LinkConfig
from jointbench.netsim.exchange import DIRECTIONS, Direction, Exchange
from jointbench.netsim.jitter import draw_jitter_ms
from jointbench.netsim.loss import Recovery, draw_losses, recovery, rto_ms, segment_payloads
from jointbench.netsim.traces import ConstantTrace, LinkState, Trace, transfer_ms

# spawn keys of the link's streams under SeedSequence(network_seed)
_STREAMS: dict[str, int] = {
    "up_jitter": 0,
    "down_jitter": 1,
    "up_loss": 2,
    "down_loss": 3,
    "trace": 4,
}


#: A message's recovery on a loss-free link.
_NO_RECOVERY = Recovery()


def _stream(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_STREAMS[name],)))


class Link:
    """A seeded, stateless-in-time link model (see the module docstring for the formulas).

    Parameters
    ----------
    config : LinkConfig or mapping, optional
        A config, or flat hyperparameters passed to
        :func:`~jointbench.netsim.profiles.link_config_from_hyperparameters`.
        Default: an ideal link.

    Examples
    --------
    >>> link = Link(LinkConfig(rtt_ms=40.0, uplink_bandwidth_mbps=10.0))
    >>> ex = link.send("up", 1200, kind="prompt", t_ms=0.0)
    >>> round(ex.delay_ms, 3)    # 20 ms + (1200 + 40) * 8 bit / 10 Mbit/s
    20.992
    """

    def __init__(self, config: LinkConfig | Mapping[str, Any] | None = None) -> None:
        if config is None:
            config = LinkConfig()
        elif not isinstance(config, LinkConfig):
            from jointbench.netsim.profiles import link_config_from_hyperparameters

            config = link_config_from_hyperparameters(config)
        self.config: LinkConfig = config
        self.reset()

    def reset(self) -> None:
        """Return every random stream and message counter to its state right after construction."""
        cfg = self.config
        self._rng = {name: _stream(cfg.seed, name) for name in _STREAMS if name != "trace"}
        self._seq = {d: 0 for d in DIRECTIONS}
        if cfg.trace is None:
            self.trace: Trace = ConstantTrace(cfg.base_state)
        else:
            self.trace = cfg.trace.build(cfg.base_state, _stream(cfg.seed, "trace"))

    def fork(self) -> Link:
        """Return an independent copy in the same state: it makes the same draws from here on."""
        twin = object.__new__(Link)
        twin.config = self.config
        twin._rng = {name: copy.deepcopy(g) for name, g in self._rng.items()}
        twin._seq = dict(self._seq)
        twin.trace = copy.deepcopy(self.trace)
        return twin

    def state_at(self, t_ms: float) -> LinkState:
        """Return the RTT and bandwidths in effect at virtual time ``t_ms`` (no draw)."""
        return self.trace.state_at(t_ms)

    def rto_ms(self, t_ms: float = 0.0) -> float:
        """Return the base RTO at ``t_ms``: ``max(floor, RTT + 4*jitter)`` (ms)."""
        cfg = self.config
        return rto_ms(self.trace.state_at(t_ms).rtt_ms, cfg.jitter_ms, cfg.rto_floor_ms)

    def wire_bytes(self, nbytes: int) -> tuple[int, int]:
        """Return ``(wire bytes, segments)`` of a ``nbytes`` payload (framing and headers added)."""
        cfg = self.config
        message = nbytes + cfg.framing_bytes
        n_seg, _, _ = segment_payloads(message, cfg.mss_bytes)
        return message + n_seg * cfg.header_bytes, n_seg

    def propagation_ms(self, direction: Direction, t_ms: float = 0.0) -> float:
        """Return the one-way propagation delay (ms) of ``direction`` at ``t_ms``."""
        rtt = self.trace.state_at(t_ms).rtt_ms
        ratio = self.config.uplink_ratio
        return rtt * ratio if direction == "up" else rtt * (1.0 - ratio)

    def expected_delay_ms(self, direction: Direction, nbytes: int, *, t_ms: float = 0.0) -> float:
        """Return propagation + serialisation (ms) of a message, drawing nothing.

        Useful to policies that plan with the link's nominal state (e.g. a draft
        length chosen from the current RTT and uplink rate).
        """
        direction = _direction(direction)
        wire, _ = self.wire_bytes(_nbytes(nbytes))
        return self.propagation_ms(direction, t_ms) + transfer_ms(
            self.trace, direction, wire * 8, t_ms
        )

    def send(
        self, direction: Direction, nbytes: int, *, kind: str = "payload", t_ms: float = 0.0
    ) -> Exchange:
        """Send one message and return its :class:`Exchange`.

        Parameters
        ----------
        direction : {"up", "down"}
            ``"up"`` = edge→cloud, ``"down"`` = cloud→edge.
        nbytes : int
            Payload bytes (>= 0), e.g. from :func:`~jointbench.netsim.payloads.text_bytes`.
        kind : str
            Payload kind recorded in the exchange.
        t_ms : float
            Virtual send time (ms since the run started, >= 0); selects the trace state.

        Returns
        -------
        Exchange
            With ``arrival_ms = t_ms + delay_ms``.
        """
        direction = _direction(direction)
        nbytes = _nbytes(nbytes)
        if not t_ms >= 0.0 or math.isinf(t_ms):
            raise ValueError(f"t_ms must be a finite virtual time >= 0, got {t_ms!r}")
        cfg = self.config
        state = self.trace.state_at(t_ms)
        rate = state.bandwidth_mbps(direction)
        message = nbytes + cfg.framing_bytes
        n_seg, full, last = segment_payloads(message, cfg.mss_bytes)
        wire = message + n_seg * cfg.header_bytes

        prop = state.rtt_ms * (cfg.uplink_ratio if direction == "up" else 1.0 - cfg.uplink_ratio)
        ser = transfer_ms(self.trace, direction, wire * 8, t_ms)
        jitter = draw_jitter_ms(self._rng[f"{direction}_jitter"], cfg.jitter_dist, cfg.jitter_ms)
        jitter = max(float(jitter), -prop)
        if cfg.loss_p <= 0.0:  # what draw_losses + recovery give without loss, drawing nothing
            rec = _NO_RECOVERY
        else:
            rec = recovery(
                draw_losses(self._rng[f"{direction}_loss"], n_seg, cfg.loss_p),
                full_segment_bytes=full + cfg.header_bytes,
                last_segment_bytes=last + cfg.header_bytes,
                rtt_ms=state.rtt_ms,
                rto_ms=rto_ms(state.rtt_ms, cfg.jitter_ms, cfg.rto_floor_ms),
                bandwidth_mbps=rate,
            )
        seq = self._seq[direction]
        self._seq[direction] = seq + 1
        delay = prop + ser + jitter + rec.delay_ms
        return Exchange(
            direction=direction,
            kind=str(kind),
            bytes=wire,
            payload_bytes=nbytes,
            segments=n_seg,
            send_ms=float(t_ms),
            arrival_ms=float(t_ms) + delay,
            propagation_ms=prop,
            serialisation_ms=ser,
            jitter_ms=jitter,
            retransmission_ms=rec.delay_ms,
            retransmissions=rec.retransmissions,
            retransmitted_bytes=rec.bytes,
            rtt_ms=state.rtt_ms,
            bandwidth_mbps=rate,
            seq=seq,
        )

    def __repr__(self) -> str:
        cfg = self.config
        return (
            f"Link(profile={cfg.profile!r}, rtt={cfg.rtt_ms:g} ms, "
            f"up={cfg.uplink_bandwidth_mbps:g} Mbit/s, "
            f"down={cfg.downlink_bandwidth_mbps:g} Mbit/s, "
            f"jitter={cfg.jitter_ms:g} ms {cfg.jitter_dist}, loss={cfg.loss_pct:g}%, "
            f"seed={cfg.seed})"
        )


def _direction(direction: str) -> Direction:
    if direction not in DIRECTIONS:
        raise ValueError(
            f"direction={direction!r}: must be 'up' (edge→cloud) or 'down' (cloud→edge)"
        )
    return direction  # type: ignore[return-value]


def _nbytes(nbytes: Any) -> int:
    if isinstance(nbytes, bool):
        raise ValueError(f"nbytes={nbytes!r}: expected an integer byte count >= 0")
    try:
        n = int(nbytes)
    except (TypeError, ValueError):
        raise ValueError(f"nbytes={nbytes!r}: expected an integer byte count >= 0") from None
    if n != nbytes or n < 0:
        raise ValueError(f"nbytes={nbytes!r}: expected an integer byte count >= 0")
    return n
