"""Validated ``network_trace`` settings (the config side of :mod:`jointbench.netsim.traces`).

A spec is parsed from YAML by :func:`parse_trace_spec` and later built into a
:class:`~jointbench.netsim.traces.Trace` for a link's base state and seeded RNG.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from jointbench.netsim.traces import (
    STATE_FIELDS,
    TRACE_TYPES,
    ConstantTrace,
    LinkState,
    MarkovTrace,
    OscillatingTrace,
    StepTrace,
    Trace,
)
from jointbench.netsim.validate import as_number

def _num(
    key: str, value: Any, *, minimum: float = 0.0, strict: bool = False, allow_inf: bool = False
) -> float:
    x = as_number(key, value)
    if math.isinf(x) and not allow_inf:
        raise ValueError(f"{key}={value!r}: must be finite")
    if x < minimum or (strict and x == minimum):
        op = ">" if strict else ">="
        raise ValueError(f"{key}={value!r}: must be {op} {minimum:g}")
    return x


def _field_value(key: str, name: str, value: Any) -> float:
    if name == "rtt_ms":
        return _num(key, value)
    return _num(key, value, strict=True, allow_inf=True)


def _pair(key: str, name: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValueError(f"{key}={value!r}: expected a pair [state 0, state 1]")
    return (_field_value(f"{key}[0]", name, value[0]), _field_value(f"{key}[1]", name, value[1]))


def _check_keys(key: str, body: Mapping[str, Any], allowed: Sequence[str]) -> None:
    for k in body:
        if k not in allowed:
            raise ValueError(f"{key}.{k}: unknown trace field; valid fields: {', '.join(allowed)}")


Overrides = tuple[tuple[str, float], ...]


def _apply(base: LinkState, overrides: Overrides) -> LinkState:
    return replace(base, **dict(overrides)) if overrides else base


@dataclass(frozen=True)
class StableTraceSpec:
    """Validated ``network_trace: {type: stable}``."""

    def build(self, base: LinkState, rng: np.random.Generator) -> Trace:
        """Return the trace for a link whose base state is ``base``."""
        return ConstantTrace(base)

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as the mapping it was parsed from."""
        return {"type": "stable"}


@dataclass(frozen=True)
class StepTraceSpec:
    """Validated ``network_trace: {type: step, steps: [...]}``."""

    steps: tuple[tuple[float, Overrides], ...]

    def build(self, base: LinkState, rng: np.random.Generator) -> Trace:
        starts = [0.0]
        states = [base]
        for at_ms, overrides in self.steps:
            state = _apply(states[-1], overrides)
            if at_ms == 0.0:
                states[0] = state
            else:
                starts.append(at_ms)
                states.append(state)
        return StepTrace(tuple(starts), tuple(states))

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "step",
            "steps": [{"at_ms": at, **dict(ov)} for at, ov in self.steps],
        }


@dataclass(frozen=True)
class OscillatingTraceSpec:
    """Validated ``network_trace: {type: oscillating, ...}``."""

    pairs: tuple[tuple[str, tuple[float, float]], ...]
    period_ms: float
    spike_rtt_ms: float | None = None
    spike_every_ms: float | None = None
    spike_duration_ms: float = 0.0
    spike_offset_ms: float | None = None

    def build(self, base: LinkState, rng: np.random.Generator) -> Trace:
        first = _apply(base, tuple((n, p[0]) for n, p in self.pairs))
        second = _apply(base, tuple((n, p[1]) for n, p in self.pairs))
        offset = self.spike_offset_ms
        if offset is None:
            offset = (self.spike_every_ms or 0.0) / 2
        return OscillatingTrace(
            first,
            second,
            self.period_ms,
            self.spike_rtt_ms,
            self.spike_every_ms,
            self.spike_duration_ms,
            offset,
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "oscillating", "period_ms": self.period_ms}
        out.update({n: list(p) for n, p in self.pairs})
        if self.spike_rtt_ms is not None:
            out.update(
                spike_rtt_ms=self.spike_rtt_ms,
                spike_every_ms=self.spike_every_ms,
                spike_duration_ms=self.spike_duration_ms,
            )
            if self.spike_offset_ms is not None:
                out["spike_offset_ms"] = self.spike_offset_ms
        return out


@dataclass(frozen=True)
class MarkovTraceSpec:
    """Validated ``network_trace: {type: markov, ...}``."""

    pairs: tuple[tuple[str, tuple[float, float]], ...]
    dwell_ms: float = 100.0
    switch_prob: tuple[float, float] = (0.5, 0.5)
    initial_state: int = 0

    def build(self, base: LinkState, rng: np.random.Generator) -> Trace:
        s0 = _apply(base, tuple((n, p[0]) for n, p in self.pairs))
        s1 = _apply(base, tuple((n, p[1]) for n, p in self.pairs))
        return MarkovTrace((s0, s1), self.dwell_ms, self.switch_prob, self.initial_state, rng)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "markov",
            "dwell_ms": self.dwell_ms,
            "switch_prob": list(self.switch_prob),
            "initial_state": self.initial_state,
        }
        out.update({n: list(p) for n, p in self.pairs})
        return out


TraceSpec = StableTraceSpec | StepTraceSpec | OscillatingTraceSpec | MarkovTraceSpec

# The QS-SD uplink: {2, 6} Mbit/s with a 0.5/0.5 transition matrix.
_MARKOV_DEFAULT_UPLINK = (2.0, 6.0)


def parse_trace_spec(value: Any, key: str = "network_trace") -> TraceSpec | None:
    """Validate a ``network_trace`` value.

    Parameters
    ----------
    value : None, str or mapping
        ``None`` or ``"stable"`` for no trace; a type name (``"markov"`` gives the
        QS-SD 2↔6 Mbit/s uplink chain, ``"oscillating"`` 10↔200 ms RTT every 4 s);
        or a mapping with ``type`` and the type's fields (module docstring).
    key : str
        Name used in error messages.

    Returns
    -------
    TraceSpec or None
        ``None`` when the link is stable.

    Raises
    ------
    ValueError
        Naming ``key`` (and the offending field) on an unknown type, unknown field
        or bad value.
    """
    if isinstance(value, (StableTraceSpec, StepTraceSpec, OscillatingTraceSpec, MarkovTraceSpec)):
        return None if isinstance(value, StableTraceSpec) else value
    if value is None:
        return None
    if isinstance(value, str):
        defaults: dict[str, dict[str, Any]] = {
            "stable": {"type": "stable"},
            "oscillating": {"type": "oscillating", "rtt_ms": [10.0, 200.0], "period_ms": 4000.0},
            "markov": {"type": "markov", "uplink_bandwidth_mbps": list(_MARKOV_DEFAULT_UPLINK)},
        }
        if value not in defaults:
            raise ValueError(
                f"{key}={value!r}: unknown trace name; valid names: {', '.join(defaults)} "
                f"(a 'step' trace needs a mapping with 'steps')"
            )
        value = defaults[value]
    if not isinstance(value, Mapping):
        raise ValueError(f"{key}={value!r}: expected a mapping with 'type' or a trace name")
    kind = value.get("type")
    if kind not in TRACE_TYPES:
        raise ValueError(
            f"{key}.type={kind!r}: unknown trace type; valid types: {', '.join(TRACE_TYPES)}"
        )
    body = {k: v for k, v in value.items() if k != "type"}
    if kind == "stable":
        _check_keys(key, body, ())
        return None
    if kind == "step":
        _check_keys(key, body, ("steps",))
        return _parse_step(key, body.get("steps"))
    if kind == "oscillating":
        allowed = (
            *STATE_FIELDS,
            "period_ms",
            "spike_rtt_ms",
            "spike_every_ms",
            "spike_duration_ms",
            "spike_offset_ms",
        )
        _check_keys(key, body, allowed)
        pairs = tuple((n, _pair(f"{key}.{n}", n, body[n])) for n in STATE_FIELDS if n in body)
        if "period_ms" not in body:
            raise ValueError(f"{key}.period_ms: required for an oscillating trace")
        period = _num(f"{key}.period_ms", body["period_ms"], strict=True)
        spike_keys = ("spike_rtt_ms", "spike_every_ms", "spike_duration_ms")
        given = [k for k in spike_keys if k in body]
        if given and len(given) != len(spike_keys):
            missing = [k for k in spike_keys if k not in body]
            raise ValueError(f"{key}.{missing[0]}: required when {given[0]} is given")
        spec = OscillatingTraceSpec(pairs, period)
        if given:
            every = _num(f"{key}.spike_every_ms", body["spike_every_ms"], strict=True)
            dur = _num(f"{key}.spike_duration_ms", body["spike_duration_ms"])
            if dur >= every:
                raise ValueError(
                    f"{key}.spike_duration_ms={dur:g}: must be < spike_every_ms={every:g}"
                )
            offset = (
                _num(f"{key}.spike_offset_ms", body["spike_offset_ms"])
                if "spike_offset_ms" in body
                else None
            )
            spec = OscillatingTraceSpec(
                pairs, period, _num(f"{key}.spike_rtt_ms", body["spike_rtt_ms"]), every, dur, offset
            )
        return spec
    allowed = (*STATE_FIELDS, "dwell_ms", "switch_prob", "initial_state")
    _check_keys(key, body, allowed)
    pairs = tuple((n, _pair(f"{key}.{n}", n, body[n])) for n in STATE_FIELDS if n in body)
    if not pairs:
        raise ValueError(
            f"{key}: a markov trace needs at least one of {', '.join(STATE_FIELDS)} as a pair"
        )
    dwell = _num(f"{key}.dwell_ms", body.get("dwell_ms", 100.0), strict=True)
    sp = body.get("switch_prob", 0.5)
    sp_pair = tuple(sp) if isinstance(sp, (list, tuple)) else (sp, sp)
    if len(sp_pair) != 2:
        raise ValueError(f"{key}.switch_prob={sp!r}: expected a probability or a pair of them")
    probs = tuple(_num(f"{key}.switch_prob", p) for p in sp_pair)
    if any(p > 1.0 for p in probs):
        raise ValueError(f"{key}.switch_prob={sp!r}: probabilities must be in [0, 1]")
    init = body.get("initial_state", 0)
    if init not in (0, 1) or isinstance(init, bool):
        raise ValueError(f"{key}.initial_state={init!r}: must be 0 or 1")
    return MarkovTraceSpec(pairs, dwell, (probs[0], probs[1]), int(init))


def _parse_step(key: str, steps: Any) -> StepTraceSpec:
    if not isinstance(steps, (list, tuple)) or not steps:
        raise ValueError(
            f"{key}.steps={steps!r}: expected a non-empty list of {{at_ms: ..., <field>: ...}}"
        )
    parsed: list[tuple[float, Overrides]] = []
    last = -math.inf
    for i, step in enumerate(steps):
        k = f"{key}.steps[{i}]"
        if not isinstance(step, Mapping) or "at_ms" not in step:
            raise ValueError(f"{k}={step!r}: expected a mapping with 'at_ms'")
        _check_keys(k, step, ("at_ms", *STATE_FIELDS))
        at = _num(f"{k}.at_ms", step["at_ms"])
        if at <= last:
            raise ValueError(f"{k}.at_ms={at:g}: steps must have increasing at_ms")
        last = at
        overrides = tuple(
            (n, _field_value(f"{k}.{n}", n, step[n])) for n in STATE_FIELDS if n in step
        )
        parsed.append((at, overrides))
    return StepTraceSpec(tuple(parsed))
