"""Compute-time profiles of devices (``configs/hardware_profiles.yaml``).

A profile turns work into virtual milliseconds in one of two ways:

- ``scale``: multiply a compute time measured on this machine (``scale`` > 1 is
  a slower device, e.g. an edge board 4x slower than this CPU);
- a cost model for one model on that device (all in ms):
  ``prefill_ms(n) = prefill_base_ms + prefill_ms_per_token * n``,
  ``decode_ms(n) = decode_ms_per_token * n``,
  ``verify_ms(K) = verify_base_ms + verify_ms_per_token * K`` (one target forward
  over K drafted tokens). The model makes timings independent of machine load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from jointbench.netsim.configfiles import config_dir, read_profiles_file

HARDWARE_PROFILES_FILE = "hardware_profiles.yaml"
_COST_FIELDS = (
    "prefill_base_ms",
    "prefill_ms_per_token",
    "decode_ms_per_token",
    "verify_base_ms",
    "verify_ms_per_token",
)


@dataclass(frozen=True)
class HardwareProfile:
    """How long work takes on one device.

    Attributes
    ----------
    name : str
        Profile name.
    description : str
        What device (and model, for a cost model) the numbers describe.
    scale : float
        Multiplier applied to compute time measured on this machine (> 0).
    prefill_base_ms, prefill_ms_per_token : float or None
        Prefill cost: fixed part (ms) and per prompt token (ms/token).
    decode_ms_per_token : float or None
        Autoregressive decoding cost per generated token (ms/token).
    verify_base_ms, verify_ms_per_token : float or None
        Cost of verifying K drafted tokens in one forward: ``a + b*K`` (ms, ms/token).
    """

    name: str
    description: str = ""
    scale: float = 1.0
    prefill_base_ms: float | None = None
    prefill_ms_per_token: float | None = None
    decode_ms_per_token: float | None = None
    verify_base_ms: float | None = None
    verify_ms_per_token: float | None = None

    def __post_init__(self) -> None:
        if not (isinstance(self.scale, (int, float)) and 0 < self.scale < float("inf")):
            raise ValueError(
                f"hardware profile {self.name!r}: scale={self.scale!r}: must be a finite number > 0"
            )
        for f in _COST_FIELDS:
            v = getattr(self, f)
            if v is not None and not (isinstance(v, (int, float)) and 0 <= v < float("inf")):
                raise ValueError(
                    f"hardware profile {self.name!r}: {f}={v!r}: must be a finite number >= 0"
                )

    def scaled_ms(self, measured_ms: float) -> float:
        """Return ``measured_ms * scale``: a time measured here, moved to this device (ms)."""
        return measured_ms * self.scale

    def _need(self, *names: str) -> tuple[float, ...]:
        values = tuple(getattr(self, n) for n in names)
        if any(v is None for v in values):
            missing = [n for n, v in zip(names, values, strict=True) if v is None]
            raise ValueError(
                f"hardware profile {self.name!r} has no {', '.join(missing)}; "
                "measure the stage and use scaled_ms(), or add the field to "
                f"{HARDWARE_PROFILES_FILE}"
            )
        return values

    def prefill_ms(self, n_tokens: int) -> float:
        """Return the prefill time (ms) of a prompt of ``n_tokens`` tokens."""
        base, per = self._need("prefill_base_ms", "prefill_ms_per_token")
        return base + per * n_tokens

    def decode_ms(self, n_tokens: int = 1) -> float:
        """Return the time (ms) to decode ``n_tokens`` tokens one by one."""
        (per,) = self._need("decode_ms_per_token")
        return per * n_tokens

    def verify_ms(self, k: int) -> float:
        """Return the time (ms) to verify ``k`` drafted tokens in one forward: ``a + b*k``."""
        base, per = self._need("verify_base_ms", "verify_ms_per_token")
        return base + per * k


def hardware_profiles_path() -> Path:
    """Return the path of the hardware presets file."""
    return config_dir() / HARDWARE_PROFILES_FILE


def load_hardware_profiles(
    path: str | os.PathLike[str] | None = None,
) -> dict[str, HardwareProfile]:
    """Load every hardware profile.

    Parameters
    ----------
    path : path-like, optional
        Presets file; default ``<config dir>/hardware_profiles.yaml``.

    Returns
    -------
    dict of str to HardwareProfile

    Raises
    ------
    FileNotFoundError, ValueError
        Naming the file, and for a bad entry the profile and the field.
    """
    p = Path(path) if path is not None else hardware_profiles_path()
    valid = [f.name for f in fields(HardwareProfile) if f.name != "name"]
    out: dict[str, HardwareProfile] = {}
    for name, body in read_profiles_file(p).items():
        for key in body:
            if key not in valid:
                raise ValueError(
                    f"{p}: profile {name!r}: unknown field {key!r}; "
                    f"valid fields: {', '.join(valid)}"
                )
        try:
            out[name] = HardwareProfile(name=name, **_numbers(body))
        except ValueError as exc:
            raise ValueError(f"{p}: {exc}") from exc
    return out


def hardware_profile(name: str, path: str | os.PathLike[str] | None = None) -> HardwareProfile:
    """Return one hardware profile by name; a ``ValueError`` lists the available ones."""
    profiles = load_hardware_profiles(path)
    if name not in profiles:
        raise ValueError(f"hardware profile {name!r}: unknown; available: {', '.join(profiles)}")
    return profiles[name]


def _numbers(body: dict[str, Any]) -> dict[str, Any]:
    out = dict(body)
    for k, v in body.items():
        if k != "description" and isinstance(v, int) and not isinstance(v, bool):
            out[k] = float(v)
    return out
