"""NASD's throughput model: per-position acceptance, cycle costs, predicted rate and its argmax.

Per cycle with draft length ``K`` the edge drafts ``K`` tokens, sends them up, the
cloud verifies them in one pass and sends a verdict down. With ``a_j`` = P(the first
``j`` drafts are all accepted) (non-increasing in ``j``), the committed tokens per
cycle are ``E[accepted + 1](K) = 1 + sum_{j<=K} a_j`` and the predicted throughput is

    rate(K, RTT, B) = E[accepted + 1](K) / (K t_draft + t_transmit(K, B) + RTT + t_verify(K))

with ``t_transmit(K, B)`` the serialisation of the draft message (wire bytes, so
headers and segmentation included) up and the verdict down at ``B`` Mbit/s. The
seed's formula (``formula="seed"``) leaves ``t_transmit`` out of the argmax although
its own cycle time has it (methods-llm.md §4.1); ``"corrected"`` keeps it. Both use the
measured ``t_verify(K)`` (on a CPU it grows with ``K``) and per-position ``a_j``
(a single ``alpha`` hides that acceptance falls with the draft position).

``K*(RTT)`` is non-decreasing whenever ``E[.](K)`` is (always, for ``a_j >= 0``), whatever the
costs: a ``K' > K`` with ``c_K' <= c_K`` (``c`` = compute + transmit) dominates ``K`` at every
RTT, and among the undominated draft lengths both ``E`` and ``c`` increase, so the ratio
``rate(K')/rate(K) = (E_K'/E_K)(c_K+RTT)/(c_K'+RTT)`` grows with RTT: once a longer draft
wins it keeps winning. (A non-monotone ``E`` -- e.g. per-``K`` means measured on too few
cycles -- can break this; :func:`argmax_rate` shows it.) The transmit term does not
always shorten ``K``: its per-message part (headers) acts like extra RTT and lengthens
it, its per-token part (distributions at T > 0) shortens it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

FORMULAS: tuple[str, ...] = ("seed", "corrected")
FALLBACKS: tuple[str, ...] = ("edge_only", "cloud_only")
Formula = Literal["seed", "corrected"]
Fallback = Literal["edge_only", "cloud_only"]


@dataclass(frozen=True)
class AcceptanceProfile:
    """Per-position acceptance: ``a[j-1]`` = P(the first ``j`` drafts are all accepted).

    Parameters
    ----------
    a : tuple of float, length K_max
        Non-increasing values in [0, 1].
    n_positions : int
        Committed positions the estimate was taken over (0 for a synthetic profile).
    """

    a: tuple[float, ...]
    n_positions: int = 0

    def __post_init__(self) -> None:
        arr = np.asarray(self.a, dtype=float)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"acceptance a: expected a non-empty 1-D sequence, got {self.a!r}")
        if np.any(arr < 0.0) or np.any(arr > 1.0) or np.any(np.diff(arr) > 1e-12):
            raise ValueError(f"acceptance a: must be non-increasing values in [0, 1], got {list(arr)}")

    @property
    def k_max(self) -> int:
        """Longest draft the profile covers."""
        return len(self.a)

    @classmethod
    def geometric(cls, alpha: float, k_max: int) -> AcceptanceProfile:
        """The seed's i.i.d. model: ``a_j = alpha ** j``."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha={alpha!r}: must be in [0, 1]")
        return cls(tuple(float(alpha) ** j for j in range(1, k_max + 1)))

    def expected_tokens(self, k: int) -> float:
        """``E[accepted + 1](K) = 1 + sum_{j<=K} a_j`` (tokens per cycle)."""
        if not 0 <= k <= self.k_max:
            raise ValueError(f"k={k}: must be in [0, {self.k_max}]")
        return 1.0 + float(sum(self.a[:k]))

    def conditional(self) -> tuple[float, ...]:
        """P(draft ``j`` accepted | drafts ``1..j-1`` accepted), ``j = 1..K_max`` (0 where undefined)."""
        prev = (1.0,) + self.a[:-1]
        return tuple(x / p if p > 0 else 0.0 for x, p in zip(self.a, prev))


@dataclass(frozen=True)
class CycleCosts:
    """Compute and message sizes of one draft/verify cycle, per ``K = 0..K_max``.

    Parameters
    ----------
    draft_ms : float
        One draft step on the edge (ms); also the time of one edge-only token.
    verify_ms : tuple of float, length K_max + 1
        ``t_verify(K)``: one target pass over ``K + 1`` tokens in the cloud (ms).
    decode_ms : float
        One target decoding step in the cloud (ms): the cloud-only time per token.
    up_wire_bytes : tuple of int, length K_max + 1
        Wire bytes (payload, framing, headers) of a draft message with ``K`` tokens.
    down_wire_bytes : int
        Wire bytes of the verdict.
    """

    draft_ms: float
    verify_ms: tuple[float, ...]
    decode_ms: float
    up_wire_bytes: tuple[int, ...]
    down_wire_bytes: int

    def __post_init__(self) -> None:
        if not self.draft_ms > 0 or not self.decode_ms > 0:
            raise ValueError(f"draft_ms={self.draft_ms!r}, decode_ms={self.decode_ms!r}: must be > 0")
        if len(self.verify_ms) != len(self.up_wire_bytes) or len(self.verify_ms) < 2:
            raise ValueError("verify_ms and up_wire_bytes: need one entry per K = 0..K_max (K_max >= 1)")
        if min(self.verify_ms) < 0 or min(self.up_wire_bytes) < 0 or self.down_wire_bytes < 0:
            raise ValueError("verify_ms, up_wire_bytes, down_wire_bytes: must be >= 0")

    @property
    def k_max(self) -> int:
        """Longest draft the costs cover."""
        return len(self.verify_ms) - 1

    def transmit_ms(self, k: int, bandwidth_mbps: float | None) -> float:
        """Serialisation of the draft up and the verdict down at ``bandwidth_mbps`` both ways (ms).

        ``None`` or ``inf`` means unlimited (0 ms).
        """
        if bandwidth_mbps is None or math.isinf(bandwidth_mbps):
            return 0.0
        if not bandwidth_mbps > 0:
            raise ValueError(f"bandwidth_mbps={bandwidth_mbps!r}: must be > 0 (None = unlimited)")
        bits = 8.0 * (self.up_wire_bytes[k] + self.down_wire_bytes)
        return bits / (bandwidth_mbps * 1e3)

    def fallback_rate(self, fallback: str) -> float:
        """Steady-state tokens/s of the fallback: edge-only ``1/t_draft``, cloud-only ``1/t_decode``."""
        if fallback == "edge_only":
            return 1000.0 / self.draft_ms
        if fallback == "cloud_only":
            return 1000.0 / self.decode_ms
        raise ValueError(f"fallback={fallback!r}: unknown. Available: {', '.join(FALLBACKS)}")


def cycle_ms(k: int, rtt_ms: float, bandwidth_mbps: float | None, costs: CycleCosts, formula: str) -> float:
    """Predicted cycle time (ms) of the ``formula``'s denominator."""
    if formula not in FORMULAS:
        raise ValueError(f"formula={formula!r}: unknown. Available: {', '.join(FORMULAS)}")
    tx = costs.transmit_ms(k, bandwidth_mbps) if formula == "corrected" else 0.0
    return k * costs.draft_ms + tx + max(0.0, rtt_ms) + costs.verify_ms[k]


def predicted_rate(k: int, rtt_ms: float, bandwidth_mbps: float | None, acceptance: AcceptanceProfile,
                   costs: CycleCosts, formula: str = "corrected") -> float:
    """Predicted throughput (tokens/s) of draft length ``k`` at ``rtt_ms`` and ``bandwidth_mbps``."""
    return 1000.0 * acceptance.expected_tokens(k) / cycle_ms(k, rtt_ms, bandwidth_mbps, costs, formula)


def argmax_rate(expected: np.ndarray, fixed_ms: np.ndarray, rtts_ms: np.ndarray) -> np.ndarray:
    """Index of the largest ``expected[i] / (fixed_ms[i] + RTT)`` per RTT (ties to the smaller index).

    Parameters
    ----------
    expected : ndarray, shape (n_k,)
        Tokens per cycle of each candidate ``K``.
    fixed_ms : ndarray, shape (n_k,)
        Its cycle time without the RTT (ms).
    rtts_ms : ndarray, shape (n_rtt,)

    Returns
    -------
    ndarray of int, shape (n_rtt,)
    """
    rates = np.asarray(expected, float)[None, :] / (
        np.asarray(fixed_ms, float)[None, :] + np.maximum(np.asarray(rtts_ms, float), 0.0)[:, None])
    return np.argmax(rates, axis=1)


def best_k_row(rtts_ms: np.ndarray, bandwidth_mbps: float | None, acceptance: AcceptanceProfile,
               costs: CycleCosts, formula: str, k_min: int, k_max: int) -> np.ndarray:
    """``K*`` per RTT of ``rtts_ms`` (ties to the smaller ``K``), shape ``(len(rtts_ms),)``."""
    ks = range(k_min, k_max + 1)
    expected = np.array([acceptance.expected_tokens(k) for k in ks])
    fixed = np.array([cycle_ms(k, 0.0, bandwidth_mbps, costs, formula) for k in ks])
    return k_min + argmax_rate(expected, fixed, rtts_ms)
