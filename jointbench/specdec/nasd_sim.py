"""A synthetic driver for link-aware draft-length policies (tests and the preview benchmark).

It stands in for the per-cycle loop: per cycle it asks the policy for ``K``, draws the
accepted length from per-position acceptance rates (``P(draft j accepted | 1..j-1
accepted) = a_j / a_{j-1}``), and prices the cycle with the same terms as the NASD
model -- ``K t_draft + t_transmit(K) + RTT(t) + t_verify(K)`` -- where ``RTT(t)``
comes from a :mod:`jointbench.netsim` trace at the time the draft is sent (after the
``K`` draft steps), plus
optional Gaussian jitter. A ``K = 0`` decision runs one fallback step of
``fallback_tokens`` tokens (edge-only: draft steps, no link; cloud-only: target steps).
Randomness comes from one seeded generator per run, drawn in a fixed order (one
uniform per draft position up to ``max_k``, one normal for jitter), so two policies on
the same seed see the same acceptance and jitter draws cycle by cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from jointbench.netsim import Link, LinkConfig
from jointbench.specdec.nasd_model import AcceptanceProfile, CycleCosts
from jointbench.specdec.nasd_types import CycleOutcome, LinkAwareState

RttFn = Callable[[float], float]
"""Virtual time (ms) -> RTT (ms) in effect."""


def synthetic_costs(draft_ms: float = 15.0, verify_base_ms: float = 60.0, verify_per_k_ms: float = 2.0,
                    decode_ms: float = 55.0, token_bytes: int = 4, k_max: int = 20,
                    link_config: LinkConfig | None = None) -> CycleCosts:
    """Illustrative costs: ``t_verify(K) = base + per_k K`` (ms), wire sizes from a netsim link.

    Defaults are methods-llm.md §4.2's analytic example (t_d 15 ms, t_v 60-100 ms, cloud AR
    55 ms); ``token_bytes`` is the payload per drafted token (4: ids only, T = 0; ``4 V``:
    a float32 distribution).
    """
    link = Link(link_config or LinkConfig())
    return CycleCosts(draft_ms, tuple(verify_base_ms + verify_per_k_ms * k for k in range(k_max + 1)),
                      decode_ms, tuple(link.wire_bytes(8 + token_bytes * k)[0] for k in range(k_max + 1)),
                      link.wire_bytes(8)[0])


class FixedLinkK:
    """Always ``k`` (the fixed-K baseline with the link-aware interface)."""

    def __init__(self, k: int) -> None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k: must be an int >= 1, got {k!r}")
        self.k = k

    def __repr__(self) -> str:
        return f"FixedLinkK({self.k})"

    def reset(self) -> None:
        """Nothing to reset."""

    def next_k(self, state: LinkAwareState) -> int:
        """Return ``k``."""
        return self.k

    def update(self, outcome: CycleOutcome) -> None:
        """Ignore the outcome."""


class LinkAwarePolicy(Protocol):
    """``reset()``, ``next_k(state) -> int``, ``update(outcome)``."""

    def reset(self) -> None:
        """Start a query."""

    def next_k(self, state: LinkAwareState) -> int:
        """Draft length (0 = fallback step)."""

    def update(self, outcome: CycleOutcome) -> None:
        """Outcome of the cycle."""


@dataclass(frozen=True)
class SimResult:
    """Totals the driver itself accumulated (independent of any policy log).

    Attributes
    ----------
    tokens, drafted, accepted, cycles, fallback_cycles : int
    time_ms, network_ms : float
    ks : tuple of int
        Decision per cycle.
    rtts_ms : tuple of float
        RTT in effect per cycle (NaN for a fallback step).
    """

    tokens: int
    drafted: int
    accepted: int
    cycles: int
    fallback_cycles: int
    time_ms: float
    network_ms: float
    ks: tuple[int, ...]
    rtts_ms: tuple[float, ...]

    @property
    def tokens_per_s(self) -> float:
        """Committed tokens per second of virtual time."""
        return 1000.0 * self.tokens / self.time_ms if self.time_ms > 0 else 0.0


def draw_accepted(u: np.ndarray, k: int, acceptance: AcceptanceProfile) -> int:
    """Leading accepted drafts of ``k`` given uniforms ``u`` (``len(u) >= k``)."""
    cond = acceptance.conditional()
    n = 0
    while n < k and u[n] < cond[n]:
        n += 1
    return n


def trace_rtt(trace: Any) -> RttFn:
    """An :data:`RttFn` from a netsim trace (``state_at(t_ms).rtt_ms``)."""
    return lambda t_ms: float(trace.state_at(t_ms).rtt_ms)


def simulate(policy: LinkAwarePolicy, acceptance: AcceptanceProfile, costs: CycleCosts, rtt_at: RttFn,
             n_tokens: int, *, bandwidth_mbps: float | None = None, jitter_ms: float = 0.0,
             fallback: str = "edge_only", fallback_tokens: int = 8, seed: int = 0,
             start_ms: float = 0.0) -> SimResult:
    """Run ``policy`` until ``n_tokens`` are committed; return the driver's totals.

    Parameters
    ----------
    policy : LinkAwarePolicy
        Reset first; a ``K <= 0`` runs a fallback step; ``K`` is clipped to ``[0, min(remaining - 1, max K of the profiles)]``.
    acceptance : AcceptanceProfile
    costs : CycleCosts
    rtt_at : callable
        RTT (ms) in effect at a virtual time (ms).
    n_tokens : int
        Tokens to commit (> 0).
    bandwidth_mbps : float, optional
        Both directions; ``None`` = unlimited. Passed to the policy as its estimate.
    jitter_ms : float
        Standard deviation of Gaussian jitter added to each RTT (clipped at 0).
    fallback : {"edge_only", "cloud_only"}
        What a ``K = 0`` step runs.
    fallback_tokens : int
        Tokens of one fallback step.
    seed : int
    start_ms : float
        Virtual time at the start (ms).
    """
    if n_tokens < 1:
        raise ValueError(f"n_tokens={n_tokens}: must be >= 1")
    rng = np.random.default_rng(seed)
    k_cap = min(acceptance.k_max, costs.k_max)
    policy.reset()
    t, done, drafted_sum, accepted_sum, network_sum, n_fallback = float(start_ms), 0, 0, 0, 0.0, 0
    ks: list[int] = []
    rtts: list[float] = []
    last_rtt: float | None = None
    last_tx, last_bytes = 0.0, 0
    while done < n_tokens:
        remaining = n_tokens - done
        state = LinkAwareState(t, last_rtt, last_tx, last_bytes, bandwidth_mbps, remaining, done)
        asked = int(policy.next_k(state))
        k = max(0, min(asked, remaining - 1, k_cap))
        u = rng.random(k_cap)
        noise = float(rng.normal()) * jitter_ms
        if asked <= 0:
            n = min(fallback_tokens, remaining)
            step = costs.draft_ms if fallback == "edge_only" else costs.decode_ms
            outcome = CycleOutcome(0, 0, n, n * step, None)
            n_fallback += 1
            rtts.append(float("nan"))
        else:
            accepted = draw_accepted(u, k, acceptance)
            rtt = max(0.0, rtt_at(t + k * costs.draft_ms) + noise)  # in effect when the draft is sent
            tx = costs.transmit_ms(k, bandwidth_mbps)
            cycle = k * costs.draft_ms + tx + rtt + costs.verify_ms[k]
            wire = costs.up_wire_bytes[k] + costs.down_wire_bytes
            outcome = CycleOutcome(k, accepted, min(accepted + 1, remaining), cycle, rtt, tx, wire, k)
            last_rtt, last_tx, last_bytes = rtt, tx, wire
            network_sum += rtt + tx
            rtts.append(rtt)
        policy.update(outcome)
        ks.append(k)
        t += outcome.cycle_ms
        done += outcome.committed
        drafted_sum += outcome.drafted
        accepted_sum += outcome.accepted
    return SimResult(done, drafted_sum, accepted_sum, len(ks), n_fallback, t - start_ms, network_sum,
                     tuple(ks), tuple(rtts))

