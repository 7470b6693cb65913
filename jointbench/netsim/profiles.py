"""Named network presets (``configs/network_profiles.yaml``) and the hyperparameter entry point."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jointbench.netsim.config import (
    KEY_TO_FIELD,
    PROFILE_KEY,
    LinkConfig,
    check_network_keys,
    link_config_from_mapping,
)
from jointbench.netsim.configfiles import config_dir, read_profiles_file

NETWORK_PROFILES_FILE = "network_profiles.yaml"
_META_KEYS = ("description",)


def network_profiles_path() -> Path:
    """Return the path of the network presets file (under :func:`.configfiles.config_dir`)."""
    return config_dir() / NETWORK_PROFILES_FILE


def load_network_profile_settings(
    path: str | os.PathLike[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Return each preset's raw ``network_*`` settings (``description`` dropped).

    Parameters
    ----------
    path : path-like, optional
        Presets file; default :func:`network_profiles_path`.

    Raises
    ------
    FileNotFoundError, ValueError
        Naming the file (and the profile and key for a bad entry).
    """
    p = Path(path) if path is not None else network_profiles_path()
    raw = read_profiles_file(p)
    out: dict[str, dict[str, Any]] = {}
    for name, body in raw.items():
        settings = {k: v for k, v in body.items() if k not in _META_KEYS}
        for key in settings:
            if key not in KEY_TO_FIELD:
                raise ValueError(
                    f"{p}: profile {name!r}: unknown key {key!r}; valid keys: "
                    f"{', '.join((*_META_KEYS, *KEY_TO_FIELD))}"
                )
        out[name] = settings
    return out


def load_network_profiles(path: str | os.PathLike[str] | None = None) -> dict[str, LinkConfig]:
    """Load and validate every network preset.

    Parameters
    ----------
    path : path-like, optional
        Presets file; default ``<config dir>/network_profiles.yaml``.

    Returns
    -------
    dict of str to LinkConfig
        Preset name to its config, in file order.

    Raises
    ------
    FileNotFoundError, ValueError
        Naming the file, and for a bad value the profile and the key.
    """
    p = Path(path) if path is not None else network_profiles_path()
    out: dict[str, LinkConfig] = {}
    for name, settings in load_network_profile_settings(p).items():
        try:
            out[name] = link_config_from_mapping(settings, profile=name)
        except ValueError as exc:
            raise ValueError(f"{p}: profile {name!r}: {exc}") from exc
    return out


def link_config_from_hyperparameters(
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    profiles_path: str | os.PathLike[str] | None = None,
    **overrides: Any,
) -> LinkConfig:
    """Build a link config from the flat hyperparameters an Ianvs module receives.

    Parameters
    ----------
    hyperparameters : mapping, optional
        The module's ``**kwargs``. ``network_profile: <name>`` selects a preset from
        the presets file; any other ``network_*`` key given here overrides the
        preset's value. Keys not starting with ``network_`` are ignored.
    profiles_path : path-like, optional
        Presets file; default ``$JOINTBENCH_CONFIG_DIR/network_profiles.yaml`` or
        ``<repo>/configs/network_profiles.yaml``. Read only when a profile is named.
    **overrides
        More ``network_*`` keys, applied last.

    Returns
    -------
    LinkConfig

    Raises
    ------
    ValueError
        Naming the key: an unknown ``network_*`` key (listing the valid ones), an
        unknown profile (listing the presets), or a bad value.

    Examples
    --------
    >>> cfg = link_config_from_hyperparameters({"network_profile": "4g", "network_seed": 3})
    >>> cfg.rtt_ms, cfg.seed
    (60.0, 3)
    """
    given = {**(hyperparameters or {}), **overrides}
    check_network_keys(given)
    explicit = {k: v for k, v in given.items() if k in KEY_TO_FIELD}
    name = given.get(PROFILE_KEY)
    if name is None:
        return link_config_from_mapping(explicit)
    presets = load_network_profile_settings(profiles_path)
    if not isinstance(name, str) or name not in presets:
        raise ValueError(
            f"{PROFILE_KEY}={name!r}: unknown profile; available: {', '.join(presets)}"
        )
    return link_config_from_mapping({**presets[name], **explicit}, profile=name)
