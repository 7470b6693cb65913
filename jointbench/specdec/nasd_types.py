"""What a link-aware draft-length policy sees and is told: state, outcome, per-cycle log.

The per-cycle speculative-decoding loop (INTERFACES.md §E) asks a policy
``next_k(state)`` before a cycle and reports ``update(outcome)`` after it. These two
small dataclasses are the fields NASD and the bandit need; the loop's own types map
onto them with a thin adapter. Units: virtual milliseconds, bytes, Mbit/s.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence


@dataclass(frozen=True)
class LinkAwareState:
    """What the policy may look at before a cycle.

    Attributes
    ----------
    t_ms : float
        Virtual time now (ms since the run started).
    last_rtt_ms : float or None
        RTT measured by the most recent cycle that used the link (ms); ``None`` before any.
        Only used to seed the RTT estimate before the first :class:`CycleOutcome` with an RTT.
    last_transmit_ms : float
        Serialisation time of that cycle's messages (ms).
    last_bytes : int
        Wire bytes of that cycle's messages (both directions).
    bandwidth_mbps : float or None
        The loop's bandwidth estimate (Mbit/s); ``None`` = derive it from
        ``last_bytes / last_transmit_ms`` when both are > 0, else unknown.
    remaining : int or None
        Tokens left before ``max_new_tokens`` (informational; the loop clips ``K``).
    generated : int or None
        Tokens the query has generated so far (``None``: not known).
    """

    t_ms: float
    last_rtt_ms: float | None = None
    last_transmit_ms: float = 0.0
    last_bytes: int = 0
    bandwidth_mbps: float | None = None
    remaining: int | None = None
    generated: int | None = None

    def bandwidth_estimate(self) -> float | None:
        """``bandwidth_mbps`` if given, else bytes over transmit time, else ``None``."""
        if self.bandwidth_mbps is not None:
            return float(self.bandwidth_mbps)
        if self.last_bytes > 0 and self.last_transmit_ms > 0:
            return 8.0 * self.last_bytes / (self.last_transmit_ms * 1e3)
        return None


@dataclass(frozen=True)
class CycleOutcome:
    """What happened in the cycle just run.

    Attributes
    ----------
    drafted : int
        Tokens drafted (after clipping / EOS); 0 in a fallback step.
    accepted : int
        Leading drafted tokens the target accepted (``0 .. drafted``).
    committed : int
        Tokens committed by the cycle: ``accepted + 1`` for a verify cycle (fewer only at
        the length limit), the tokens decoded in a fallback step.
    cycle_ms : float
        Virtual time from the decision to the commit (ms), > 0.
    rtt_ms : float or None
        Round trip the cycle measured (ms; propagation, jitter and loss recovery, no
        serialisation); ``None`` when the cycle did not use the link.
    transmit_ms : float
        Serialisation time of the cycle's messages (ms).
    bytes : int
        Wire bytes the cycle sent (both directions).
    k : int or None
        Draft length the cycle ran, after the driver clipped the policy's request to the length
        limit (``None``: the driver did not say; taken as the request).
    stream_rtt_ms : float or None
        A cloud fallback step's round trip as the transport sees it while tokens stream down (ms).
    """

    drafted: int
    accepted: int
    committed: int
    cycle_ms: float
    rtt_ms: float | None = None
    transmit_ms: float = 0.0
    bytes: int = 0
    k: int | None = None
    stream_rtt_ms: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.accepted <= self.drafted:
            raise ValueError(f"accepted={self.accepted}, drafted={self.drafted}: need 0 <= accepted <= drafted")
        if self.committed < 0 or not (self.cycle_ms > 0 and math.isfinite(self.cycle_ms)):
            raise ValueError(f"committed={self.committed}, cycle_ms={self.cycle_ms}: need committed >= 0, "
                             "finite cycle_ms > 0")

    @property
    def network_ms(self) -> float:
        """Time on the link: RTT (if any) plus serialisation (ms)."""
        return (self.rtt_ms or 0.0) + self.transmit_ms


@dataclass(frozen=True)
class CycleLog:
    """One cycle as a policy decided and saw it (NASD's per-cycle log).

    Attributes
    ----------
    cycle : int
        Index within the query.
    t_ms : float
        Virtual time of the decision (ms).
    k : int
        Draft length the cycle ran (after the loop's length-limit clip; equals the record's
        ``k_per_cycle``; 0 for a fallback step).
    rtt_seen_ms : float or None
        Latest raw RTT sample when deciding (ms).
    rtt_est_ms : float or None
        RTT estimate the decision used (raw or smoothed, ms).
    cutoff : bool
        The cutoff was in force at the decision (a probe is a cutoff cycle with ``k > 0``).
    probe : bool
        A speculative cycle run while in cutoff to re-measure the link.
    drafted, accepted, committed : int
    cycle_ms, network_ms : float
        Cycle time and its part on the link (ms).
    overhead_share : float
        ``network_ms / cycle_ms``.
    k_asked : int
        Draft length the policy asked for (0 = a fallback step); ``> k`` only when the loop clipped it.
    """

    cycle: int
    t_ms: float
    k: int
    rtt_seen_ms: float | None
    rtt_est_ms: float | None
    cutoff: bool
    probe: bool
    drafted: int
    accepted: int
    committed: int
    cycle_ms: float
    network_ms: float
    overhead_share: float
    k_asked: int

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable)."""
        return asdict(self)


def log_totals(logs: Sequence[CycleLog]) -> dict[str, float]:
    """Sums over a query's cycle logs.

    Returns
    -------
    dict
        ``cycles``, ``spec_cycles`` (asked ``k > 0``), ``fallback_cycles`` (asked ``k == 0``), ``probes``, ``drafted``,
        ``accepted``, ``committed``, ``fallback_tokens``, ``time_ms``, ``network_ms``,
        ``overhead_share`` (network over time), ``tokens_per_s``.
    """
    time_ms = sum(c.cycle_ms for c in logs)
    network = sum(c.network_ms for c in logs)
    committed = sum(c.committed for c in logs)
    return {
        "cycles": len(logs),
        "spec_cycles": sum(1 for c in logs if c.k_asked > 0),
        "fallback_cycles": sum(1 for c in logs if c.k_asked == 0),
        "probes": sum(1 for c in logs if c.probe),
        "drafted": sum(c.drafted for c in logs),
        "accepted": sum(c.accepted for c in logs),
        "committed": committed,
        "fallback_tokens": sum(c.committed for c in logs if c.k_asked == 0),
        "time_ms": time_ms,
        "network_ms": network,
        "overhead_share": network / time_ms if time_ms > 0 else 0.0,
        "tokens_per_s": 1000.0 * committed / time_ms if time_ms > 0 else 0.0,
    }


def log_fields(logs: Sequence[CycleLog]) -> dict[str, Any]:
    """The seed's per-query logging fields (§6 "New logging fields") from a query's cycle logs.

    Returns
    -------
    dict
        ``nasd_k_per_cycle`` (list of int, 0 = fallback step), ``nasd_rtt_per_cycle`` (RTT
        estimate each decision used, ms), ``nasd_cutoff_triggered`` (bool),
        ``acceptance_rate_per_cycle`` (accepted / drafted, ``None`` for a fallback step),
        ``network_overhead_per_cycle`` (network share of the cycle time).
    """
    return {
        "nasd_k_per_cycle": [c.k for c in logs],
        "nasd_rtt_per_cycle": [c.rtt_est_ms for c in logs],
        "nasd_cutoff_triggered": any(c.cutoff for c in logs),
        "acceptance_rate_per_cycle": [c.accepted / c.drafted if c.drafted else None for c in logs],
        "network_overhead_per_cycle": [c.overhead_share for c in logs],
    }
