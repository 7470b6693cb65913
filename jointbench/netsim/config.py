"""The link configuration and its ``network_*`` hyperparameter keys.

Key names follow Ianvs's ``NetworkSimulator`` (``network_rtt_ms``,
``network_uplink_bandwidth_mbps``, ``network_downlink_bandwidth_mbps``,
``network_jitter_ms``, ``network_uplink_ratio``, ``network_seed``); the rest are
the suite's extensions. Units: ms, Mbit/s (1e6 bit/s), bytes, percent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from jointbench.netsim.jitter import JITTER_DISTS
from jointbench.netsim.trace_specs import TraceSpec, parse_trace_spec
from jointbench.netsim.traces import LinkState
from jointbench.netsim.validate import as_number

# hyperparameter key -> LinkConfig field
KEY_TO_FIELD: dict[str, str] = {
    "network_rtt_ms": "rtt_ms",
    "network_uplink_bandwidth_mbps": "uplink_bandwidth_mbps",
    "network_downlink_bandwidth_mbps": "downlink_bandwidth_mbps",
    "network_jitter_ms": "jitter_ms",
    "network_jitter_dist": "jitter_dist",
    "network_loss_pct": "loss_pct",
    "network_rto_floor_ms": "rto_floor_ms",
    "network_mss_bytes": "mss_bytes",
    "network_header_bytes": "header_bytes",
    "network_framing_bytes": "framing_bytes",
    "network_uplink_ratio": "uplink_ratio",
    "network_seed": "seed",
    "network_trace": "trace",
}
FIELD_TO_KEY: dict[str, str] = {v: k for k, v in KEY_TO_FIELD.items()}
PROFILE_KEY = "network_profile"
VALID_KEYS: tuple[str, ...] = (PROFILE_KEY, *KEY_TO_FIELD)


@dataclass(frozen=True)
class LinkConfig:
    """A validated link description. Defaults are an ideal link (no delay, no loss).

    Attributes
    ----------
    rtt_ms : float
        Round-trip propagation time (ms, >= 0). ``network_rtt_ms``.
    uplink_bandwidth_mbps, downlink_bandwidth_mbps : float
        Edge→cloud and cloud→edge rates (Mbit/s, > 0; ``inf`` = unlimited).
    jitter_ms : float
        Jitter scale ``j`` per one-way message (ms, >= 0); see :mod:`~jointbench.netsim.jitter`.
    jitter_dist : {"uniform", "gauss", "lognormal"}
        Jitter law; ``uniform`` as in Ianvs.
    loss_pct : float
        Per-segment loss probability in percent, in [0, 100).
    rto_floor_ms : float
        Lower bound of the retransmission timeout (ms, > 0): 200 (Linux) or 1000 (RFC 6298).
    mss_bytes : int
        TCP maximum segment size (payload bytes per segment, >= 1).
    header_bytes : int
        Header bytes added to every segment (>= 0); 40 = IPv4 + TCP without options.
    framing_bytes : int
        Application framing added once per message before segmentation (>= 0).
    uplink_ratio : float
        Share of the RTT spent edge→cloud, in [0, 1]; Ianvs's ``network_uplink_ratio``.
    seed : int
        Seed of the link's random streams (>= 0).
    trace : TraceSpec, mapping, str or None
        Time variation of RTT / bandwidth (:mod:`~jointbench.netsim.traces`); a
        mapping or name is parsed with :func:`~jointbench.netsim.trace_specs.parse_trace_spec`.
        ``None`` = stable.
    profile : str or None
        Name of the preset this config came from, for the record.
    """

    rtt_ms: float = 0.0
    uplink_bandwidth_mbps: float = math.inf
    downlink_bandwidth_mbps: float = math.inf
    jitter_ms: float = 0.0
    jitter_dist: str = "uniform"
    loss_pct: float = 0.0
    rto_floor_ms: float = 200.0
    mss_bytes: int = 1460
    header_bytes: int = 40
    framing_bytes: int = 0
    uplink_ratio: float = 0.5
    seed: int = 0
    trace: TraceSpec | None = None
    profile: str | None = None

    def __post_init__(self) -> None:
        if self.trace is not None:
            # accept the YAML form (mapping or name) as well as a parsed spec
            object.__setattr__(self, "trace", parse_trace_spec(self.trace, "network_trace"))
        _validate(self)

    @property
    def loss_p(self) -> float:
        """Per-segment loss probability in [0, 1)."""
        return self.loss_pct / 100.0

    @property
    def base_state(self) -> LinkState:
        """RTT and bandwidths before any trace applies."""
        return LinkState(self.rtt_ms, self.uplink_bandwidth_mbps, self.downlink_bandwidth_mbps)

    def to_hyperparameters(self) -> dict[str, Any]:
        """Return the flat ``network_*`` mapping that rebuilds this config.

        Returns
        -------
        dict
            Every key of :data:`KEY_TO_FIELD` (``network_trace`` as a mapping or
            ``None``), plus ``network_profile`` when the config came from a preset.
        """
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "profile":
                continue
            value = getattr(self, f.name)
            if f.name == "trace" and value is not None:
                value = value.to_dict()
            out[FIELD_TO_KEY[f.name]] = value
        if self.profile is not None:
            out[PROFILE_KEY] = self.profile
        return out


def _integer(key: str, value: Any) -> int:
    x = as_number(key, value)
    if not math.isfinite(x) or x != int(x):
        raise ValueError(f"{key}={value!r}: expected an integer")
    return int(x)


def _coerce(key: str, value: Any) -> Any:
    """Convert a raw hyperparameter value to the field's type, naming ``key`` on failure."""
    name = KEY_TO_FIELD[key]
    if name == "trace":
        return parse_trace_spec(value, key)
    if name == "jitter_dist":
        if not isinstance(value, str):
            raise ValueError(f"{key}={value!r}: expected one of {', '.join(JITTER_DISTS)}")
        return value
    if name in ("mss_bytes", "header_bytes", "framing_bytes", "seed"):
        return _integer(key, value)
    return as_number(key, value)


def _validate(cfg: LinkConfig) -> None:
    def bad(name: str, rule: str) -> ValueError:
        key = FIELD_TO_KEY[name]
        return ValueError(f"{key}={getattr(cfg, name)!r}: {rule}")

    for name in ("rtt_ms", "jitter_ms"):
        v = getattr(cfg, name)
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
            raise bad(name, "must be a finite number >= 0")
    for name in ("uplink_bandwidth_mbps", "downlink_bandwidth_mbps"):
        v = getattr(cfg, name)
        if not (isinstance(v, (int, float)) and v > 0):
            raise bad(name, "must be > 0 (Mbit/s; use .inf for an unlimited link)")
    if cfg.jitter_dist not in JITTER_DISTS:
        raise bad("jitter_dist", f"valid values: {', '.join(JITTER_DISTS)}")
    if not (isinstance(cfg.loss_pct, (int, float)) and 0 <= cfg.loss_pct < 100):
        raise bad("loss_pct", "must be in [0, 100)")
    if not (
        isinstance(cfg.rto_floor_ms, (int, float))
        and math.isfinite(cfg.rto_floor_ms)
        and cfg.rto_floor_ms > 0
    ):
        raise bad("rto_floor_ms", "must be a finite number > 0")
    for name, low in (("mss_bytes", 1), ("header_bytes", 0), ("framing_bytes", 0), ("seed", 0)):
        v = getattr(cfg, name)
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise bad(name, f"must be an integer >= {low}")
    if not (isinstance(cfg.uplink_ratio, (int, float)) and 0 <= cfg.uplink_ratio <= 1):
        raise bad("uplink_ratio", "must be in [0, 1]")


def check_network_keys(keys: Any) -> None:
    """Raise ``ValueError`` for a ``network_*`` key that is not in :data:`VALID_KEYS`."""
    for key in keys:
        if isinstance(key, str) and key.startswith("network_") and key not in VALID_KEYS:
            raise ValueError(f"unknown network key {key!r}; valid keys: {', '.join(VALID_KEYS)}")


def network_kwargs(owner: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The one guard of a module that takes ``network_*`` hyperparameters through ``**network``.

    Parameters
    ----------
    owner : str
        The module's name (ClassFactory alias), named in the error.
    params : mapping
        The keyword arguments the module collected.

    Returns
    -------
    dict
        ``params`` as a dict, every key a valid ``network_*`` key.

    Raises
    ------
    TypeError
        A key that does not start with ``network_`` (a misspelt hyperparameter).
    ValueError
        A ``network_*`` key that is not in :data:`VALID_KEYS` (listing the valid ones).
    """
    unknown = sorted(k for k in params if not (isinstance(k, str) and k.startswith("network_")))
    if unknown:
        raise TypeError(f"{owner}: unknown hyperparameter(s) {unknown}; besides its declared parameters it "
                        f"takes only network_* keys ({', '.join(VALID_KEYS)})")
    check_network_keys(params)
    return dict(params)


def link_config_from_mapping(
    values: Mapping[str, Any], *, profile: str | None = None
) -> LinkConfig:
    """Build a :class:`LinkConfig` from ``network_*`` keys, without preset lookup.

    Parameters
    ----------
    values : mapping
        Flat hyperparameters; keys not starting with ``network_`` are ignored,
        ``network_profile`` too (see
        :func:`~jointbench.netsim.profiles.link_config_from_hyperparameters`).
    profile : str, optional
        Preset name stored in :attr:`LinkConfig.profile`.

    Raises
    ------
    ValueError
        Naming the key: an unknown ``network_*`` key (listing the valid ones) or a bad value.
    """
    check_network_keys(values)
    kwargs = {KEY_TO_FIELD[k]: _coerce(k, v) for k, v in values.items() if k in KEY_TO_FIELD}
    return LinkConfig(**kwargs, profile=profile)
