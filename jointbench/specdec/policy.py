"""Draft-length policies: how many tokens the edge drafts in the next cycle.

The interface follows vLLM's ``DraftLengthPolicy`` and the candidate-generator contract of
Hugging Face transformers (``get_candidates`` / ``update_candidate_strategy``): the loop
(:mod:`~jointbench.specdec.loop`) asks :meth:`~DraftLengthPolicy.next_k` before each cycle
with a :class:`DraftState` that carries the virtual time, what the link did in the last
cycle (RTT, transmit time, bytes), a bandwidth estimate and the acceptance history, and
reports the cycle with :meth:`~DraftLengthPolicy.update`. Network-aware controllers
(NASD, DSD-AWC, …) read the state; they keep no reference to the link.

Policies are registered by name (:func:`jointbench.specdec.parts.register` with
:data:`~jointbench.specdec.parts.POLICY`), one per file in
:mod:`jointbench.specdec.policies`, and built by :func:`make_policy`. The loop, not the
policy, clips ``K`` to ``[0, remaining - 1]`` (as transformers does with
``max_length - cur_len - 1``), so one cycle never overshoots ``max_new_tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, runtime_checkable

from jointbench.specdec.parts import POLICY, lookup

# transformers 5.23 GenerationConfig default (generation/configuration_utils.py,
# ``_get_default_generation_params``): num_assistant_tokens=20.
HF_DEFAULT_NUM_ASSISTANT_TOKENS = 20


@dataclass(frozen=True)
class CycleOutcome:
    """What one draft/verify cycle did, as the edge observes it after the verdict.

    Attributes
    ----------
    k : int
        Draft length asked for (after clipping).
    drafted : int
        Tokens drafted (``<= k``; fewer when the draft emitted EOS).
    accepted : int
        Leading drafted tokens the target accepted (``0 .. drafted``).
    bytes_up, bytes_down : int
        Payload bytes of the draft message and of the verdict (codec's encoded lengths).
    rtt_ms : float or None
        Measured round trip of the cycle without serialisation (propagation, jitter and
        loss recovery of the draft and the verdict, ms); ``None`` when the cycle had no
        edge-cloud round trip (co-located).
    transmit_ms : float or None
        Serialisation time of the draft message on the uplink (ms); ``None`` as above.
    cycle_ms : float
        Virtual time from the start of drafting to the commit (ms).
    end_ms : float
        Virtual time of the commit (ms).
    committed : int or None
        Tokens the cycle committed (``None`` when the caller did not say; then
        ``accepted + 1`` unless the length limit or EOS cut it).
    fallback : {"edge_only", "cloud_only"} or None
        Set for a policy's fallback step (``k == 0``, nothing drafted or verified).
    stream_rtt_ms : float or None
        A cloud fallback step's round trip as the transport sees it while tokens stream down (ms).
    """

    k: int
    drafted: int
    accepted: int
    bytes_up: int = 0
    bytes_down: int = 0
    rtt_ms: float | None = None
    transmit_ms: float | None = None
    cycle_ms: float = 0.0
    end_ms: float = 0.0
    committed: int | None = None
    fallback: str | None = None
    stream_rtt_ms: float | None = None


@dataclass(frozen=True)
class DraftState:
    """What a policy may look at before a cycle.

    Attributes
    ----------
    cycle : int
        Cycles already run for this query (0 before the first).
    generated : int
        Tokens committed so far for this query.
    remaining : int
        Tokens left before ``max_new_tokens``.
    now_ms : float
        Virtual time at which the edge starts drafting (ms; 0 for a live engine run).
    last : CycleOutcome or None
        The previous cycle of this query (its RTT, transmit time, bytes), ``None`` before the first.
    bandwidth_mbps : float or None
        Uplink rate estimate (Mbit/s) from the draft messages measured so far in this session
        (an exponential average of wire bits over serialisation time); ``None`` before any.
    history : tuple of (int, int)
        ``(drafted, accepted)`` of every earlier cycle of this query.
    """

    cycle: int
    generated: int
    remaining: int
    now_ms: float = 0.0
    last: CycleOutcome | None = None
    bandwidth_mbps: float | None = None
    history: tuple[tuple[int, int], ...] = field(default=())


@runtime_checkable
class DraftLengthPolicy(Protocol):
    """Chooses the draft length ``K`` cycle by cycle.

    Attributes
    ----------
    reads_link : bool
        True when :meth:`next_k` reads the link fields of :class:`DraftState` (``now_ms``,
        ``last.rtt_ms``, ``bandwidth_mbps``, …); sampled generations are then cached per
        network and hardware profile too.

    Optional members the loop looks for (``getattr``): ``fallback`` (``"edge_only"`` or
    ``"cloud_only"``; then ``next_k == 0`` asks for one *fallback step* of
    ``fallback_tokens`` tokens instead of a target-only cycle), ``query_log()`` (the
    policy's per-cycle log of the query, a list of dicts, copied into the record) and
    ``bind(pair, edge_hardware, cloud_hardware, compute)`` (called by the session with the
    run's pair, hardware pair and a zero-argument function returning its compute model).
    """

    reads_link: bool

    def reset(self) -> None:
        """Called by the loop at the start of every query."""

    def next_k(self, state: DraftState) -> int:
        """Draft length for the next cycle (``>= 0``; the loop clips it)."""

    def update(self, outcome: CycleOutcome) -> None:
        """Outcome of the cycle just verified."""


def make_policy(name: str, k: int, k_max: int | None = None, transient: bool = False,
                params: Mapping[str, Any] | None = None) -> DraftLengthPolicy:
    """Build the policy registered as ``name``.

    Parameters
    ----------
    name : str
        Registered policy name (``fixed``, ``heuristic``, …).
    k : int
        Fixed ``K`` or the policy's starting ``K``.
    k_max : int, optional
        Upper bound on ``K`` for adaptive policies.
    transient : bool
        Adaptive policies: restart from ``k`` at every query.
    params : mapping, optional
        Policy-specific parameters (the YAML's ``policy_params``), checked by the policy.

    Raises
    ------
    jointbench.registry.UnknownAliasError
        For an unregistered ``name`` (listing the registered ones).
    """
    return lookup(POLICY, name).build(int(k), k_max, bool(transient), dict(params or {}))


def reject_params(policy: str, params: Mapping[str, Any]) -> None:
    """Raise ``TypeError`` naming ``policy_params`` keys a policy does not take."""
    if params:
        raise TypeError(f"policy '{policy}' takes no policy_params, got {sorted(params)}")


def clip_k(k: int, remaining: int) -> int:
    """Clip a requested draft length to ``[0, remaining - 1]``."""
    return max(0, min(int(k), remaining - 1))
