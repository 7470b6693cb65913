"""Adapters between the loop's policy types and the link-aware controllers' (NASD, the bandit).

The loop speaks :class:`~jointbench.specdec.policy.DraftState` /
:class:`~jointbench.specdec.policy.CycleOutcome`; NASD and the bandit
(:mod:`~jointbench.specdec.nasd`, :mod:`~jointbench.specdec.bandit`) speak
:class:`~jointbench.specdec.nasd_types.LinkAwareState` / ``nasd_types.CycleOutcome``.
This module maps one onto the other and checks a policy's ``policy_params`` (declared
names and types; an unknown key is refused by name).
"""

from __future__ import annotations

from typing import Any, Mapping

from jointbench.specdec import nasd_types
from jointbench.specdec.policy import CycleOutcome, DraftState

MIN_CYCLE_MS = 1e-6
"""A cycle the clock placed in zero time (no compute cost configured) still counts as this long (ms)."""


def link_state(state: DraftState) -> nasd_types.LinkAwareState:
    """The link-aware view of the loop's state before a cycle."""
    last = state.last
    if last is None:
        return nasd_types.LinkAwareState(state.now_ms, None, 0.0, 0, state.bandwidth_mbps, state.remaining,
                                         state.generated)
    return nasd_types.LinkAwareState(state.now_ms, last.rtt_ms, float(last.transmit_ms or 0.0),
                                     int(last.bytes_up + last.bytes_down), state.bandwidth_mbps, state.remaining,
                                     state.generated)


def link_outcome(outcome: CycleOutcome) -> nasd_types.CycleOutcome:
    """The link-aware view of a cycle the loop ran (``committed`` from the loop, else ``accepted + 1``)."""
    committed = outcome.committed if outcome.committed is not None else outcome.accepted + 1
    return nasd_types.CycleOutcome(outcome.drafted, outcome.accepted, int(committed),
                                   max(float(outcome.cycle_ms), MIN_CYCLE_MS), outcome.rtt_ms,
                                   float(outcome.transmit_ms or 0.0), int(outcome.bytes_up + outcome.bytes_down),
                                   int(outcome.k), outcome.stream_rtt_ms)


def check_params(policy: str, params: Mapping[str, Any], spec: Mapping[str, tuple[type | tuple[type, ...], Any]]
                 ) -> dict[str, Any]:
    """``params`` merged over the declared defaults, each checked against its declared type.

    Parameters
    ----------
    policy : str
        Policy name (for messages).
    params : mapping
        The YAML's ``policy_params``.
    spec : mapping of str to (type or tuple of types, default)
        Declared parameters. ``float`` accepts ints; ``bool`` is never taken for a number.

    Raises
    ------
    TypeError
        Naming an unknown key (with the valid ones) or a value of the wrong type.
    """
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise TypeError(f"policy '{policy}': unknown policy_params key(s) {unknown}; valid keys: "
                        f"{', '.join(sorted(spec))}")
    out = {k: default for k, (_, default) in spec.items()}
    for key, value in params.items():
        kinds = spec[key][0] if isinstance(spec[key][0], tuple) else (spec[key][0],)
        ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
        if float in kinds and isinstance(value, int) and not isinstance(value, bool):
            ok, value = True, float(value)
        if value is None and type(None) in kinds:
            ok = True
        if not ok:
            names = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
            raise TypeError(f"policy '{policy}': policy_params.{key}: expected {names}, got {value!r}")
        out[key] = value
    return out
